"""A failed run leaves the namespace as it was: every kernel call of every plan fails once.

For each scenario (create, change in place, recreate, takeover, FDB sync, across the
modules this kernel supports) the module runs once cleanly to count its kernel calls
(N), then, in a namespace rebuilt the same way, once per k in 1..N with the k-th call
failing. After every failed run the namespace (links with kind and port options,
addresses, routes of every table, FDB) must be byte-identical to the snapshot taken
before it, the message must name the step that failed, and it may say "rolled back"
only because it is true (the snapshot comparison is what makes it true).

The modules run in this process (see inprocess.py) so that hundreds of runs stay
within seconds; the faults alternate between a kernel refusal and an unexpected
exception (a bug between two calls), which must roll back the same way.
"""

import pytest

from faults import FaultInjector, every_fault_rolls_back
from netlab import run

# (module, setup commands run in the namespace, module arguments)
SCENARIOS = {
    'bridge-create-ports-addresses-gateway': (
        'linux_bridge',
        [['ip', 'link', 'add', 'p1', 'type', 'veth', 'peer', 'name', 'p1x'],
         ['ip', 'link', 'add', 'p2', 'type', 'veth', 'peer', 'name', 'p2x']],
        dict(name='brf', stp=False, forward_delay=0, ports=['p1', dict(name='p2', cost=7)],
             addresses=['10.20.0.1/24', '10.20.0.2/24'], gateway='10.20.0.254')),
    'bridge-change-in-place': (
        'linux_bridge',
        [['ip', 'link', 'add', 'brf', 'type', 'bridge', 'stp_state', '1'],
         ['ip', 'link', 'add', 'p1', 'type', 'veth', 'peer', 'name', 'p1x'],
         ['ip', 'link', 'set', 'p1', 'master', 'brf'],
         ['ip', 'link', 'set', 'brf', 'up'],
         ['ip', 'addr', 'add', '10.20.0.1/24', 'dev', 'brf'],
         ['ip', 'addr', 'add', '10.20.0.2/24', 'dev', 'brf'],
         ['ip', 'addr', 'add', '10.20.0.3/24', 'dev', 'brf']],
        dict(name='brf', stp=False, forward_delay=0, mtu=1400,
             ports=[dict(name='p1', hairpin=True, cost=9)],
             addresses=['10.20.0.2/24', '10.20.0.3/24', '10.21.0.1/16'])),
    'bridge-takeover': (
        'linux_bridge',
        [['ip', 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'nic0x'],
         ['ip', 'link', 'set', 'nic0', 'up'],
         ['ip', 'link', 'set', 'nic0x', 'up'],
         ['ip', 'addr', 'add', '10.30.0.5/24', 'dev', 'nic0'],
         ['ip', 'route', 'add', 'default', 'via', '10.30.0.1', 'dev', 'nic0', 'metric', '100'],
         ['ip', 'route', 'add', '10.99.0.0/16', 'via', '10.30.0.1', 'dev', 'nic0']],
        dict(name='brt', stp=False, forward_delay=0, takeover_from='nic0')),
    'vxlan-create-remotes-bridge': (
        'vxlan_vtep',
        [['ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0x'],
         ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'u0'],
         ['ip', 'link', 'set', 'u0', 'up'],
         ['ip', 'link', 'add', 'brv', 'type', 'bridge'],
         ['ip', 'link', 'set', 'brv', 'up']],
        dict(name='vxf', vni=42, local='192.0.2.1', dev='u0', remotes=['192.0.2.2', '192.0.2.3'],
             fdb=[dict(mac='52:54:00:00:00:02', dst='192.0.2.2')],
             bridge=dict(name='brv', learning=False))),
    'vxlan-recreate-keeps-everything': (
        'vxlan_vtep',
        [['ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0x'],
         ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'u0'],
         ['ip', 'link', 'set', 'u0', 'up'],
         ['ip', 'link', 'add', 'brv', 'type', 'bridge'],
         ['ip', 'link', 'set', 'brv', 'up'],
         ['ip', 'link', 'add', 'vxf', 'type', 'vxlan', 'id', '42', 'local', '192.0.2.1',
          'dev', 'u0', 'dstport', '4789', 'ttl', '9'],
         ['ip', 'link', 'set', 'vxf', 'mtu', '1400', 'address', '02:00:00:00:42:01'],
         ['ip', 'link', 'set', 'vxf', 'master', 'brv'],
         ['bridge', 'link', 'set', 'dev', 'vxf', 'learning', 'off', 'cost', '33'],
         ['ip', 'link', 'set', 'vxf', 'up'],
         ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vxf', 'dst', '192.0.2.2'],
         ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vxf', 'dst', '192.0.2.3'],
         ['bridge', 'fdb', 'add', '52:54:00:00:00:09', 'dev', 'vxf', 'dst', '192.0.2.3'],
         ['bridge', 'fdb', 'add', '52:54:00:00:00:0a', 'dev', 'vxf', 'master', 'static']],
        dict(name='vxf', vni=43, local='192.0.2.1', dev='u0', mtu=1400,
             bridge=dict(name='brv'))),
    'vxlan-fdb-sync': (
        'vxlan_vtep',
        [['ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0x'],
         ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'u0'],
         ['ip', 'link', 'set', 'u0', 'up'],
         ['ip', 'link', 'add', 'vxf', 'type', 'vxlan', 'id', '42', 'local', '192.0.2.1',
          'dev', 'u0', 'dstport', '4789'],
         ['ip', 'link', 'set', 'vxf', 'mtu', '1450', 'up'],
         ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vxf', 'dst', '192.0.2.2'],
         ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vxf', 'dst', '192.0.2.3'],
         ['bridge', 'fdb', 'add', '52:54:00:00:00:09', 'dev', 'vxf', 'dst', '192.0.2.3']],
        dict(name='vxf', vni=42, local='192.0.2.1', dev='u0',
             remotes=['192.0.2.3', '192.0.2.4', '192.0.2.5'],
             fdb=[dict(mac='52:54:00:00:00:09', dst='192.0.2.4'),
                  dict(mac='52:54:00:00:00:0b', dst='192.0.2.5')])),
    'macvlan-create': (
        'macvlan_iface',
        [['ip', 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'nic0x'],
         ['ip', 'link', 'set', 'nic0', 'up']],
        dict(name='mvf', parent='nic0', mode='bridge', mtu=1400)),
    'macvlan-recreate-on-another-parent': (
        'macvlan_iface',
        [['ip', 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'nic0x'],
         ['ip', 'link', 'add', 'nic1', 'type', 'veth', 'peer', 'name', 'nic1x'],
         ['ip', 'link', 'set', 'nic0', 'up'],
         ['ip', 'link', 'set', 'nic1', 'up'],
         ['ip', 'link', 'add', 'link', 'nic0', 'name', 'mvf', 'type', 'macvlan', 'mode', 'vepa'],
         ['ip', 'link', 'set', 'mvf', 'mtu', '1300', 'up'],
         ['ip', 'addr', 'add', '10.40.0.2/24', 'dev', 'mvf'],
         ['ip', 'addr', 'add', '10.40.0.3/24', 'dev', 'mvf'],
         ['ip', 'route', 'add', '10.41.0.0/16', 'via', '10.40.0.1', 'dev', 'mvf', 'table', '7']],
        dict(name='mvf', parent='nic1', mode='vepa')),
    'macvlan-source-mode-recreate': (
        'macvlan_iface',
        [['ip', 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'nic0x'],
         ['ip', 'link', 'add', 'nic1', 'type', 'veth', 'peer', 'name', 'nic1x'],
         ['ip', 'link', 'add', 'link', 'nic0', 'name', 'mvs', 'type', 'macvlan', 'mode', 'source'],
         ['ip', 'link', 'set', 'link', 'dev', 'mvs', 'type', 'macvlan', 'macaddr', 'add',
          '52:54:00:00:00:31'],
         ['ip', 'link', 'set', 'link', 'dev', 'mvs', 'type', 'macvlan', 'macaddr', 'add',
          '52:54:00:00:00:32']],
        dict(name='mvs', parent='nic1', mode='source',
             source_macs=['52:54:00:00:00:32', '52:54:00:00:00:33'])),
    'tap-on-bridge': (
        'kvm_vm_nic',
        [['ip', 'link', 'add', 'brk', 'type', 'bridge'],
         ['ip', 'link', 'set', 'brk', 'mtu', '1400', 'up']],
        dict(vm='fault01', index=0, bridge=dict(name='brk', isolated=True))),
    'macvtap-create': (
        'kvm_vm_nic',
        [['ip', 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'nic0x'],
         ['ip', 'link', 'set', 'nic0', 'up']],
        dict(vm='fault02', index=1, type='macvtap', parent='nic0')),
}


def build(netns, name):
    ns = netns('fi')
    for argv in SCENARIOS[name][1]:
        run(argv, netns=ns)
    return ns


TOTAL = {'pairs': 0}


@pytest.fixture(scope='module', autouse=True)
def report_pairs():
    yield
    print('\nfault injection: %d (scenario, k) pairs ran over %d scenarios'
          % (TOTAL['pairs'], len(SCENARIOS)))


@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_every_failing_kernel_call_leaves_the_namespace_as_it_was(name, netns, monkeypatch):
    module, _setup, args = SCENARIOS[name]
    pairs, problems = every_fault_rolls_back(lambda: build(netns, name), module, args,
                                             FaultInjector(monkeypatch))
    TOTAL['pairs'] += pairs
    assert not problems, '\n'.join(problems)
