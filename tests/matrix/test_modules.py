"""Every module this kernel supports, on every matrix row, through ansible-playbook.

One hypervisor namespace (hv) holds what the modules build: a bridge with an address,
a VXLAN VTEP on it, a macvlan, a VM tap and a veth pair whose peer is in another
namespace. A VM namespace hangs off the bridge and a peer hypervisor ends the overlay,
so pings prove that the bridge forwards, the veth pair reaches its peer namespace and
the VTEP reaches its peer. Each phase is one playbook with every module in it: create;
run again (unchanged, with host_network_info and diagnose reading) then check mode
with changes (predicted, not made); a change in place (same ifindex); absent.
vlan/bond/team need the kernel lab (tests/kernel_lab; scripts/matrix runs it with the
3.6 row's interpreter).
"""

from matrixlab import each_row, row_play  # noqa: F401 pylint: disable=unused-import
from netlab import link, ping, run, snapshot, veth

BRIDGE = 'kvmnet.hostnet.linux_bridge'
VXLAN = 'kvmnet.hostnet.vxlan_vtep'
MACVLAN = 'kvmnet.hostnet.macvlan_iface'
VM_NIC = 'kvmnet.hostnet.kvm_vm_nic'
VETH = 'kvmnet.hostnet.veth_pair'
MODULES = (BRIDGE, VXLAN, MACVLAN, VM_NIC, VETH)
CREATED = ('br0', 'vx42', 'mv0', 'web01-0', 'vm2')
# Read-only modules: run with the second, unchanged pass.
READERS = ('kvmnet.hostnet.host_network_info', 'kvmnet.hostnet.diagnose')
HV_IP, VM_IP, PEER_VM_IP, VM2_IP = '192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'
UNDERLAY_HV, UNDERLAY_PEER = '198.51.100.1', '198.51.100.2'


def lab(netns):
    """hv with a VM behind vnet0, an underlay u0 to a peer VTEP, a macvlan parent."""
    hv, vm, peer = netns('mxhv'), netns('mxvm'), netns('mxpeer')
    veth(hv, 'vnet0', vm, 'eth0')
    run(['ip', 'addr', 'add', VM_IP + '/24', 'dev', 'eth0'], netns=vm)
    veth(hv, 'u0', peer, 'u0p')
    run(['ip', 'addr', 'add', UNDERLAY_HV + '/24', 'dev', 'u0'], netns=hv)
    run(['ip', 'addr', 'add', UNDERLAY_PEER + '/24', 'dev', 'u0p'], netns=peer)
    run(['ip', 'link', 'add', 'vx42', 'type', 'vxlan', 'id', '42', 'local', UNDERLAY_PEER,
         'remote', UNDERLAY_HV, 'dstport', '4789', 'dev', 'u0p'], netns=peer)
    run(['ip', 'addr', 'add', PEER_VM_IP + '/24', 'dev', 'vx42'], netns=peer)
    run(['ip', 'link', 'set', 'vx42', 'up'], netns=peer)
    veth(hv, 'eth2')
    vm2 = netns('mxvm')  # veth_pair puts its peer here
    return hv, vm, peer, vm2


def tasks(hv, vm2, state='present', changed=False, check=False):
    """One task per module; ``changed`` alters one option of each, in place."""
    if state == 'absent':
        args = [dict(name='vm2', state='absent'), dict(vm='web01', state='absent'),
                dict(name='mv0', state='absent'), dict(name='vx42', state='absent'),
                dict(name='br0', state='absent')]
        modules = (VETH, VM_NIC, MACVLAN, VXLAN, BRIDGE)
    else:
        args = [
            dict(name='br0', stp=False, forward_delay=0, ports=['vnet0'],
                 ageing_time=60 if changed else 120, addresses=[HV_IP + '/24']),
            dict(name='vx42', vni=42, local=UNDERLAY_HV, dev='u0', remote=UNDERLAY_PEER,
                 bridge={'name': 'br0'}, ttl=32 if changed else 16),
            dict(name='mv0', parent='eth2', mode='bridge', mtu=1300 if changed else 1400),
            dict(vm='web01', bridge='br0', port_options={'learning': not changed}),
            dict(name='vm2', peer='eth0', peer_netns=vm2, bridge={'name': 'br0'},
                 mtu=1400 if changed else 1500),
        ]
        modules = MODULES
    return [{module: dict(arguments, netns=hv), 'check_mode': check, 'diff': True}
            for module, arguments in zip(modules, args)]


def ifindexes(ns):
    return dict((name, (link(ns, name) or {}).get('ifindex')) for name in CREATED)


def problems(results, changed):
    """Tasks that failed or whose changed flag is not ``changed``, as readable lines."""
    found = []
    for result in results:
        name = result.get('invocation', {}).get('module_args', {}).get('name') or result
        if result.get('failed'):
            found.append('%s failed: %s %s' % (name, result.get('msg'),
                                               result.get('module_stderr', '')[-1500:]))
        elif result.get('changed') is not changed:
            found.append('%s: changed=%s, expected %s; plan %s' % (
                name, result.get('changed'), changed, result.get('plan')))
    return found


@each_row()
def test_every_module_create_rerun_check_change_absent(row_play, row, netns):
    play = row_play(row)
    hv, _vm, _peer, vm2 = lab(netns)

    assert problems(play(*tasks(hv, vm2)), changed=True) == []
    created = ifindexes(hv)
    assert None not in created.values(), created
    run(['ip', 'addr', 'add', VM2_IP + '/24', 'dev', 'eth0'], netns=vm2)
    assert ping(hv, VM_IP), 'the bridge does not forward to the VM namespace'
    assert ping(hv, VM2_IP), 'the veth pair does not reach its peer namespace'
    assert ping(hv, PEER_VM_IP), 'the VTEP does not reach its peer over the underlay'

    # One playbook: the second run and the readers change nothing, check mode predicts
    # changes and makes none, so the namespace is as it was.
    before = snapshot(hv)
    readers = [{module: {'netns': hv}} for module in READERS]
    unchanged = tasks(hv, vm2) + readers
    results = play(*(unchanged + tasks(hv, vm2, changed=True, check=True)))
    assert problems(results[:len(unchanged)], changed=False) == []
    assert problems(results[len(unchanged):], changed=True) == []
    assert snapshot(hv) == before, 'a second run or check mode changed the host'

    assert problems(play(*tasks(hv, vm2, changed=True)), changed=True) == []
    assert ifindexes(hv) == created, 'a change in place recreated a link'
    assert link(hv, 'br0')['linkinfo']['info_data']['ageing_time'] == 6000
    assert link(hv, 'vx42')['linkinfo']['info_data']['ttl'] == 32
    assert link(hv, 'mv0')['mtu'] == 1300
    assert link(hv, 'web01-0')['linkinfo']['info_slave_data']['learning'] is False
    assert link(hv, 'vm2')['mtu'] == 1400
    assert ping(hv, PEER_VM_IP), 'the overlay broke after the change'

    assert problems(play(*tasks(hv, vm2, state='absent')), changed=True) == []
    assert [name for name in CREATED if link(hv, name)] == []
    assert link(hv, 'vnet0') and link(hv, 'eth2') and link(hv, 'u0'), 'absent removed a parent'
