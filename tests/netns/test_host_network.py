"""kvmnet.hostnet.host_network against the real kernel: a whole topology in one call.

Two namespaces play hypervisors joined by an underlay veth (u0). Each gets, in one
call, a bridge with a VXLAN (head-end replication to the other) listed as its port, two
VM taps on the bridge, and a macvlan on the underlay. A veth whose peer lives in a "VM"
namespace is the bridge port that carries the VM's packets across the overlay.
"""

import re

from netlab import ip_json, link, ping, run, snapshot, veth

MODULE = 'kvmnet.hostnet.host_network'
UNDERLAY = '192.0.2.%d'
OVERLAY = '198.51.100.%d'
MACNET = '203.0.113.%d'


class Hypervisor:
    def __init__(self, netns, number):
        self.number = number
        self.ns = netns('hv%d' % number)
        self.vm = netns('vm%d' % number)
        self.ip = UNDERLAY % number
        self.vm_ip = OVERLAY % number
        # The VM's NIC: vnet0 here (a bridge port the topology lists), eth0 in the VM.
        veth(self.ns, 'vnet0', self.vm, 'eth0')
        run(['ip', 'addr', 'add', self.vm_ip + '/24', 'dev', 'eth0'], netns=self.vm)


def two_hypervisors(netns):
    hvs = [Hypervisor(netns, 1), Hypervisor(netns, 2)]
    run(['ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0', 'netns', hvs[1].ns],
        netns=hvs[0].ns)
    for hv in hvs:
        run(['ip', 'addr', 'add', hv.ip + '/24', 'dev', 'u0'], netns=hv.ns)
        run(['ip', 'link', 'set', 'u0', 'up'], netns=hv.ns)
    return hvs


def topology(hv, peer, **extra):
    """The host_network arguments of one hypervisor."""
    args = dict(
        netns=hv.ns,
        # vx42 is created by this same call and listed as a port: check mode must cope.
        bridges=[dict(name='br0', stp=False, forward_delay=0, ports=['vx42', 'vnet0'])],
        vxlans=[dict(name='vx42', vni=42, dev='u0', local=hv.ip, remotes=[peer.ip])],
        vm_nics=[dict(vm='web%d' % hv.number, bridge='br0'),
                 dict(vm='db%d' % hv.number, bridge='br0', port_options={'isolated': True})],
        macvlans=[dict(name='mv0', parent='u0', mode='bridge')],
    )
    args.update(extra)
    return {MODULE: args}


def configured(ns):
    """The namespace's links, addresses, routes and FDB, minus what is random per creation
    (ifindex, kernel-chosen MACs and the ids built from them, port numbers) and the marker
    (host_network's alias)."""
    fdb = [e for e in ip_json(ns, 'bridge', 'fdb', 'show')
           if e.get('state') == 'permanent' and 'dst' in e]
    state = dict(snapshot(ns), fdb=fdb)
    return _scrub(state)


# Port numbers and ids follow the order ports joined: not configuration.
_RANDOM = frozenset(('ifindex', 'ifalias', 'bridge_id', 'root_id', 'designated_root',
                     'designated_bridge', 'designated_port', 'port_id', 'port_no', 'no',
                     'link_index', 'link_netnsid'))
_KERNEL_MAC = re.compile(r'^(?!fe:54:00)[0-9a-f]{2}(:[0-9a-f]{2}){5}$')


def _scrub(value):
    if isinstance(value, dict):
        # A bridge port's "id" is text (0x8002); a VXLAN's "id" is its VNI, a number.
        return dict((k, _scrub(v)) for k, v in value.items()
                    if k not in _RANDOM and not (k == 'id' and isinstance(v, str)))
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str) and _KERNEL_MAC.match(value) and value != 'ff:ff:ff:ff:ff:ff':
        return 'MAC'
    return value


def test_whole_topology_in_one_call_passes_packets_and_is_idempotent(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    assert not ping(hv1.vm, hv2.vm_ip), 'the VMs must not reach each other before the overlay'
    tasks = [topology(hv1, hv2), topology(hv2, hv1)]

    first = play(*tasks)
    assert [r.get('failed', False) for r in first] == [False, False], first
    assert all(r['changed'] for r in first)
    again = play(*tasks)
    assert [r['changed'] for r in again] == [False, False], [r['plan'] for r in again]

    # One result per item, in build order, each with its module's return values.
    items = first[0]['items']
    assert [(i['section'], i['name']) for i in items] == [
        ('bridges', 'br0'), ('vxlans', 'vx42'), ('macvlans', 'mv0'),
        ('vm_nics', 'web1-0'), ('vm_nics', 'db1-0')]
    assert items[1]['interface']['remotes'] == [hv2.ip]
    assert items[3]['libvirt_xml'].count("<target dev='web1-0'") == 1

    # The VMs reach each other across the VXLAN; the macvlans across the underlay.
    assert ping(hv1.vm, hv2.vm_ip, count=2)
    for hv in (hv1, hv2):
        run(['ip', 'addr', 'add', MACNET % hv.number + '/24', 'dev', 'mv0'], netns=hv.ns)
    assert ping(hv1.ns, MACNET % 2, count=2)
    for tap in ('web1-0', 'db1-0'):
        assert link(hv1.ns, tap)['master'] == 'br0'
        assert link(hv1.ns, tap)['mtu'] == 1450, 'a tap takes the MTU its bridge ends with'
    assert link(hv1.ns, 'db1-0')['linkinfo']['info_slave_data']['isolated'] is True
    assert link(hv1.ns, 'br0').get('ifalias') == 'kvmnet:host_network'


def test_check_mode_on_an_empty_host_predicts_every_change_and_touches_nothing(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    before = configured(hv1.ns)
    checked = play(dict(topology(hv1, hv2), check_mode=True, diff=True))[0]
    assert not checked.get('failed'), checked.get('msg')
    assert configured(hv1.ns) == before, 'check mode must not touch anything'
    assert checked['changed'] and all(item['changed'] for item in checked['items'])
    assert [d['before_header'] for d in checked['diff']] == [
        'bridges br0', 'vxlans vx42', 'macvlans mv0', 'vm_nics web1-0', 'vm_nics db1-0']

    applied = play(topology(hv1, hv2))[0]
    assert not applied.get('failed'), applied.get('msg')
    # The prediction is the plan the real run carried out, step for step.
    assert checked['plan'] == applied['plan']
    assert [i['interface'] for i in checked['items']][1]['mtu'] == link(hv1.ns, 'vx42')['mtu']


def test_bad_items_fail_together_before_anything_is_touched(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    before = configured(hv1.ns)
    task = topology(hv1, hv2)
    args = task[MODULE]
    args['vxlans'][0]['vni'] = 'forty-two'
    args['bridges'][0]['ports'].append('eth9')
    args['vm_nics'].append(dict(vm='web3', bridge='br0', colour='blue'))
    result = play(task)[0]
    assert result.get('failed')
    problems = result['problems']
    assert any(p.startswith('vxlan vx42: ') and 'vni' in p for p in problems), problems
    assert any(p.startswith('vm_nic web3: ') and 'colour' in p for p in problems), problems
    assert configured(hv1.ns) == before

    # A problem only the host reveals (a missing port) also stops the whole call.
    args['vxlans'][0]['vni'] = 42
    args['vm_nics'].pop()
    result = play(task)[0]
    assert result.get('failed')
    assert any(p.startswith('bridge br0: ') and 'eth9' in p for p in result['problems']), result
    assert configured(hv1.ns) == before


def single_module_tasks(hv, peer):
    """The same topology as one task per item with the single modules, in build order."""
    args = topology(hv, peer)[MODULE]
    tasks = []
    for section, module in (('bridges', 'linux_bridge'), ('vxlans', 'vxlan_vtep'),
                            ('macvlans', 'macvlan_iface'), ('vm_nics', 'kvm_vm_nic')):
        for item in args[section]:
            tasks.append({'kvmnet.hostnet.' + module: dict(item, netns=hv.ns)})
    # Run one after the other, the bridge cannot list a VXLAN that does not exist yet:
    # the VXLAN joins it with its own bridge option, as 0.1.0's role did.
    tasks[0]['kvmnet.hostnet.linux_bridge']['ports'] = ['vnet0']
    tasks[1]['kvmnet.hostnet.vxlan_vtep']['bridge'] = {'name': 'br0'}
    return tasks


def differences(one, other, path=''):
    """Paths where two parsed ``ip -j`` structures differ, with both values."""
    if isinstance(one, dict) and isinstance(other, dict):
        return [found for key in sorted(set(one) | set(other))
                for found in differences(one.get(key), other.get(key), path + '/' + str(key))]
    if isinstance(one, list) and isinstance(other, list) and len(one) == len(other):
        return [found for n, pair in enumerate(zip(one, other))
                for found in differences(pair[0], pair[1], '%s[%d]' % (path, n))]
    return [] if one == other else ['%s: %r != %r' % (path, one, other)]


def test_results_are_those_of_the_single_modules(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    twin = Hypervisor(netns, 1)  # a second hv1, built by the single modules
    run(['ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1'], netns=twin.ns)
    run(['ip', 'addr', 'add', hv1.ip + '/24', 'dev', 'u0'], netns=twin.ns)
    run(['ip', 'link', 'set', 'u0', 'up'], netns=twin.ns)
    run(['ip', 'link', 'set', 'u1', 'up'], netns=twin.ns)
    hv_ns = twin.ns

    results = play(*(single_module_tasks(twin, hv2) + [topology(hv1, hv2)]))
    assert not any(r.get('failed') for r in results), [r.get('msg') for r in results]

    def links_of(ns):
        return dict((entry['ifname'], entry) for entry in configured(ns)['links']
                    if entry['ifname'] not in ('u0', 'u1', 'lo'))

    built_by_one, built_by_each = links_of(hv1.ns), links_of(hv_ns)
    assert sorted(built_by_one) == sorted(built_by_each)
    assert differences(built_by_one, built_by_each) == []
    assert configured(hv1.ns)['fdb'] == configured(hv_ns)['fdb']
    # And host_network, run over what the single modules built, only adds its marker.
    adopted = play(topology(twin, hv2))[0]
    assert all(step.startswith('mark ') for step in adopted['plan']), adopted['plan']


def test_purge_removes_only_marked_links_no_item_lists(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    old = dict(name='br-old', stp=False, forward_delay=0)
    task = topology(hv1, hv2)
    task[MODULE]['bridges'].append(old)
    assert not play(task)[0].get('failed')
    run(['ip', 'link', 'add', 'br-hand', 'type', 'bridge'], netns=hv1.ns)  # not ours

    # Not listed any more, but purge is off: left alone, as with the single modules.
    task[MODULE]['bridges'].remove(old)
    kept = play(task)[0]
    assert not kept['changed'] and link(hv1.ns, 'br-old') is not None

    checked = play(dict(topology(hv1, hv2, purge=['bridges']), check_mode=True))[0]
    assert checked['purged'] == ['br-old'] and link(hv1.ns, 'br-old') is not None
    purged = play(topology(hv1, hv2, purge=['bridges']))[0]
    assert purged['purged'] == ['br-old'] and 'purge bridge br-old' in purged['plan']
    assert link(hv1.ns, 'br-old') is None
    assert link(hv1.ns, 'br-hand') is not None, 'a link without the marker is never purged'
    assert link(hv1.ns, 'br0') is not None


def tenant_profile(ns, count):
    """``count`` tenant networks: a bridge, a VXLAN with head-end replication in it and
    VM taps on it (4 links each, the benchmark's profile), with some variety."""
    bridges, vxlans, nics = [], [], []
    for n in range(1, count + 1):
        bridge = 'brt%d' % n
        bridges.append(dict(name=bridge, stp=False, forward_delay=0, ageing_time=60 + n % 7))
        vxlans.append(dict(name='vxt%d' % n, vni=1000 + n, dev='u0', local='192.0.2.1',
                           remotes=['192.0.2.2'] + (['192.0.2.3'] if n % 3 == 0 else []),
                           bridge=dict(name=bridge, learning=n % 2 == 0)))
        nics.append(dict(vm='t%da' % n, bridge=bridge))
        nics.append(dict(vm='t%db' % n, index=n % 2, bridge=bridge,
                         port_options={'isolated': True} if n % 4 == 0 else None))
    return dict(netns=ns, bridges=bridges, vxlans=vxlans, vm_nics=nics)


def underlay(ns):
    run(['ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1'], netns=ns)
    run(['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'u0'], netns=ns)
    run(['ip', 'link', 'set', 'u0', 'up'], netns=ns)


def test_a_large_profile_in_one_call_is_what_the_single_modules_build(netns):
    from inprocess import run_module
    one, each = netns('big1'), netns('bigs')
    for ns in (one, each):
        underlay(ns)
    count = 100  # 400 links, the 2,000-link profile's shape
    built = run_module(MODULE, tenant_profile(one, count))
    assert not built.get('failed'), built.get('msg')
    assert built['changed'] and len(built['items']) == 4 * count

    single = tenant_profile(each, count)
    for section, module in (('bridges', 'linux_bridge'), ('vxlans', 'vxlan_vtep'),
                            ('vm_nics', 'kvm_vm_nic')):
        for item in single[section]:
            result = run_module('kvmnet.hostnet.' + module, dict(item, netns=each))
            assert not result.get('failed'), (module, item, result.get('msg'))

    def links_of(ns):
        return dict((entry['ifname'], entry) for entry in configured(ns)['links']
                    if entry['ifname'] not in ('u0', 'u1', 'lo'))

    by_one, by_each = links_of(one), links_of(each)
    assert len(by_one) == 4 * count and sorted(by_one) == sorted(by_each)
    assert differences(by_one, by_each) == []
    fdb = configured(one)['fdb']
    assert sorted(fdb, key=str) == sorted(configured(each)['fdb'], key=str)
    assert len(fdb) == count + count // 3, 'one flooding entry per peer'
    # Every link is marked, and a second run changes nothing.
    assert all(link(one, name).get('ifalias') == 'kvmnet:host_network' for name in ('brt1', 'vxt7', 't9a-0'))
    again = run_module(MODULE, tenant_profile(one, count))
    assert not again.get('failed') and not again['changed'], again.get('plan', [])[:5]
    # report: changed lists the items that change and only counts the others.
    quiet = run_module(MODULE, dict(tenant_profile(one, count), report='changed'))
    assert not quiet['changed'] and quiet['items'] == [] and quiet['unchanged'] == 4 * count
    moved = tenant_profile(one, count)
    moved['bridges'][4]['ageing_time'] = 1234
    moved['vm_nics'][0]['port_options'] = {'hairpin': True}
    moved['report'] = 'changed'
    changed = run_module(MODULE, moved)
    assert [(entry['section'], entry['name']) for entry in changed['items']] == [
        ('bridges', 'brt5'), ('vm_nics', 't1a-0')], changed['plan']
    assert changed['unchanged'] == 4 * count - 2
    assert changed['items'][0]['interface']['ageing_time'] == 1234


def mixed_profile(ns, count):
    """``count`` units of another shape (8 links each): a bridge with an address, a VXLAN
    with two remotes and port options, a macvlan on the underlay, a veth pair with one
    end in the bridge, and three VM taps with an MTU and port options."""
    bridges, vxlans, macvlans, veths, nics = [], [], [], [], []
    for n in range(1, count + 1):
        bridge = 'brm%d' % n
        bridges.append(dict(name=bridge, stp=False, forward_delay=0, mtu=1450,
                            addresses=['10.9.%d.1/24' % n]))
        vxlans.append(dict(name='vxm%d' % n, vni=5000 + n, dev='u0', local='192.0.2.1',
                           remotes=['192.0.2.2', '192.0.2.3'], learning=False,
                           bridge=dict(name=bridge, isolated=True, cost=7)))
        macvlans.append(dict(name='mvm%d' % n, parent='u0', mode='bridge' if n % 2 else 'private'))
        veths.append(dict(name='vem%d' % n, peer='vpm%d' % n, mtu=1450, bridge=bridge))
        nics.extend(dict(vm='m%dv%d' % (n, k), bridge=bridge, mtu=1450,
                         port_options=dict(cost=20 + k, learning=k != 1)) for k in range(3))
    return dict(netns=ns, bridges=bridges, vxlans=vxlans, macvlans=macvlans, veths=veths,
                vm_nics=nics)


def test_a_mixed_profile_in_one_call_is_what_the_single_modules_build(netns):
    # Addresses, macvlans sharing a parent and veth pairs are read and created by other
    # paths than the tenant profile's; each is shared by every item of the call.
    from inprocess import run_module
    one, each = netns('mix1'), netns('mixs')
    for ns in (one, each):
        underlay(ns)
    count = 25  # 200 links
    built = run_module(MODULE, mixed_profile(one, count))
    assert not built.get('failed'), built.get('msg')
    assert built['changed'] and len(built['items']) == 7 * count

    single = mixed_profile(each, count)
    for section, module in (('bridges', 'linux_bridge'), ('vxlans', 'vxlan_vtep'),
                            ('macvlans', 'macvlan_iface'), ('veths', 'veth_pair'),
                            ('vm_nics', 'kvm_vm_nic')):
        for item in single[section]:
            result = run_module('kvmnet.hostnet.' + module, dict(item, netns=each))
            assert not result.get('failed'), (module, item, result.get('msg'))

    def by_name(ns):
        # Listed in ifindex order, which follows the order of creation.
        state = configured(ns)
        return dict(links=dict((e['ifname'], e) for e in state['links']),
                    addresses=dict((e['ifname'], e) for e in state['addresses']),
                    routes=sorted(state['routes'], key=str), fdb=sorted(state['fdb'], key=str))

    state_one = by_name(one)
    assert len(state_one['links']) == 8 * count + 3  # and lo, u0, u1
    assert differences(state_one, by_name(each)) == []
    assert len(state_one['fdb']) == 2 * count
    assert [a['local'] for a in state_one['addresses']['brm3']['addr_info']
            if a['family'] == 'inet'] == ['10.9.3.1']
    again = run_module(MODULE, mixed_profile(one, count))
    assert not again.get('failed') and not again['changed'], again.get('plan', [])[:5]
