"""Every change request of a vlan_sub, bond_iface and team_iface run fails once.

The same harness as the namespace tier (tests/faults.py), for the kinds only this
kernel has: after each failed run the namespace is byte-identical to the snapshot
taken before it, and the message names the failed step and says "rolled back" only
when that is true. One small scenario per module keeps the tier's time.
"""

import pytest

from faults import FaultInjector, every_fault_rolls_back
from netlab import run

SCENARIOS = {
    'vlan-recreate-with-address-on-a-bridge': (
        'vlan_sub',
        [['ip', 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1x'],
         ['ip', 'link', 'set', 'eth1', 'up'],
         ['ip', 'link', 'add', 'brv', 'type', 'bridge'],
         ['ip', 'link', 'set', 'brv', 'up'],
         ['ip', 'link', 'add', 'link', 'eth1', 'name', 'uplink', 'type', 'vlan', 'id', '10'],
         ['ip', 'link', 'set', 'uplink', 'mtu', '1400', 'master', 'brv', 'up'],
         ['ip', 'address', 'add', '10.60.0.2/24', 'dev', 'uplink']],
        dict(name='uplink', parent='eth1', vlan_id=20)),
    'bond-create-with-members-on-a-bridge': (
        'bond_iface',
        [['ip', 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1x'],
         ['ip', 'link', 'add', 'eth2', 'type', 'veth', 'peer', 'name', 'eth2x'],
         ['ip', 'link', 'set', 'eth1', 'up'],
         ['ip', 'link', 'add', 'brb', 'type', 'bridge'],
         ['ip', 'link', 'set', 'brb', 'up']],
        dict(name='bond0', mode='active-backup', miimon=100, ports=['eth1', 'eth2'],
             bridge=dict(name='brb'))),
    'team-create-with-ports': (
        'team_iface',
        [['ip', 'link', 'add', 'a1', 'type', 'veth', 'peer', 'name', 'a1x'],
         ['ip', 'link', 'add', 'a2', 'type', 'veth', 'peer', 'name', 'a2x']],
        dict(name='team0', runner='activebackup', ports=['a1', 'a2'])),
}
# teamd names its pid file and socket after the team: one team0 per host at a time.
REMOVE = {'team-create-with-ports': dict(name='team0', state='absent')}


def build(netns, name):
    ns = netns().name
    for key in ('all', 'default'):
        run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % key], netns=ns)
    for argv in SCENARIOS[name][1]:
        run(argv, netns=ns)
    return ns


@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_every_failing_kernel_call_leaves_the_namespace_as_it_was(name, netns, monkeypatch):
    module, _setup, args = SCENARIOS[name]
    pairs, problems = every_fault_rolls_back(lambda: build(netns, name), module, args,
                                             FaultInjector(monkeypatch), REMOVE.get(name))
    print('\nfault injection: %s: %d (scenario, k) pairs' % (name, pairs))
    assert not problems, '\n'.join(problems)
