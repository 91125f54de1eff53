"""kvmnet.hostnet.vxlan_vtep against the real kernel: namespaces play hypervisors and VMs.

Each hypervisor namespace has an underlay interface, a bridge ``br0`` and a "VM": a
veth whose peer lives in its own namespace with an overlay address. Traffic between
VMs crosses the underlay only inside the VXLAN tunnel under test.
"""

import json

from netlab import ip_json, link, ping, run, snapshot, veth

MODULE = 'kvmnet.hostnet.vxlan_vtep'
UNDERLAY = '192.0.2.%d'
OVERLAY = '198.51.100.%d'
ZERO = '00:00:00:00:00:00'


class Hypervisor:
    def __init__(self, number, ns, vm):
        self.number = number
        self.ns = ns
        self.vm = vm
        self.ip = UNDERLAY % number
        self.vm_ip = OVERLAY % number


def add_vm_and_bridge(netns, hv_ns, number):
    """br0 in the hypervisor, a VM namespace with eth0 attached to it through a veth."""
    vm = netns('vm%d' % number)
    run(['ip', 'link', 'add', 'br0', 'type', 'bridge'], netns=hv_ns)
    run(['ip', 'link', 'set', 'br0', 'up'], netns=hv_ns)
    veth(hv_ns, 'vnet0', vm, 'eth0')
    run(['ip', 'link', 'set', 'vnet0', 'master', 'br0'], netns=hv_ns)
    run(['ip', 'addr', 'add', OVERLAY % number + '/24', 'dev', 'eth0'], netns=vm)
    return vm


def two_hypervisors(netns):
    """hv1 and hv2 joined by one veth (the underlay, u0 on each side)."""
    hvs = []
    for number in (1, 2):
        ns = netns('hv%d' % number)
        hvs.append(Hypervisor(number, ns, add_vm_and_bridge(netns, ns, number)))
    # Same name on both ends: create the peer directly in the other namespace.
    run(['ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0', 'netns', hvs[1].ns],
        netns=hvs[0].ns)
    for hv in hvs:
        run(['ip', 'addr', 'add', hv.ip + '/24', 'dev', 'u0'], netns=hv.ns)
        run(['ip', 'link', 'set', 'u0', 'up'], netns=hv.ns)
    return hvs


def switched_hypervisors(netns, count):
    """``count`` hypervisors whose u0 plug into a bridge in a switch namespace."""
    switch = netns('sw')
    run(['ip', 'link', 'add', 'sw0', 'type', 'bridge'], netns=switch)
    run(['ip', 'link', 'set', 'sw0', 'up'], netns=switch)
    hvs = []
    for number in range(1, count + 1):
        ns = netns('hv%d' % number)
        hv = Hypervisor(number, ns, add_vm_and_bridge(netns, ns, number))
        veth(switch, 'p%d' % number, ns, 'u0')
        run(['ip', 'link', 'set', 'p%d' % number, 'master', 'sw0'], netns=switch)
        run(['ip', 'addr', 'add', hv.ip + '/24', 'dev', 'u0'], netns=ns)
        hvs.append(hv)
    return hvs


def vtep(hv, **options):
    args = dict(name='vx42', netns=hv.ns, vni=42, local=hv.ip, dev='u0', bridge={'name': 'br0'})
    args.update(options)
    return {MODULE: args}


def fdb_of(ns, dev='vx42'):
    """(mac, dst) of the VTEP's own permanent entries, as ``bridge -j fdb`` shows them."""
    entries = ip_json(ns, 'bridge', 'fdb', 'show', 'dev', dev)
    return sorted((e['mac'], e['dst']) for e in entries
                  if 'dst' in e and 'self' in e.get('flags', []) and e.get('state') == 'permanent')


def vxlan_data(ns, name='vx42'):
    return link(ns, name)['linkinfo']['info_data']


def full_snapshot(ns):
    return dict(snapshot(ns), fdb=ip_json(ns, 'bridge', 'fdb', 'show'))


# ---- point to point and multicast ------------------------------------------------------

def test_point_to_point_vms_talk_across_the_overlay(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    assert not ping(hv1.vm, hv2.vm_ip), 'the VMs must not reach each other before the tunnel'

    tasks = [vtep(hv1, remote=hv2.ip), vtep(hv2, remote=hv1.ip)]
    before = full_snapshot(hv1.ns)
    checked = play(*[dict(task, check_mode=True, diff=True) for task in tasks])
    assert all(r['changed'] and not r.get('failed') for r in checked), checked
    assert full_snapshot(hv1.ns) == before, 'check mode must not touch anything'
    assert checked[0]['interface']['vni'] == 42
    assert 'create vxlan vx42' in checked[0]['plan'][0]

    first = play(*tasks)
    second = play(*tasks)
    assert all(r['changed'] and not r.get('failed') for r in first), first
    assert [r['changed'] for r in second] == [False, False], [r['plan'] for r in second]

    data = vxlan_data(hv1.ns)
    assert (data['id'], data['port'], data['remote'], data['local'], data['link']) == \
        (42, 4789, hv2.ip, hv1.ip, 'u0')
    assert link(hv1.ns, 'vx42')['master'] == 'br0'
    assert first[0]['interface']['bridge']['master'] == 'br0'
    assert ping(hv1.vm, hv2.vm_ip, count=2)
    assert ping(hv2.vm, hv1.vm_ip)


def test_multicast_group_vms_talk_across_the_overlay(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    tasks = [vtep(hv1, group='239.1.1.1'), vtep(hv2, group='239.1.1.1')]
    first = play(*tasks)
    second = play(*tasks)
    assert all(r['changed'] and not r.get('failed') for r in first), first
    assert [r['changed'] for r in second] == [False, False], [r['plan'] for r in second]
    data = vxlan_data(hv1.ns)
    assert data['group'] == '239.1.1.1' and data['link'] == 'u0' and data['port'] == 4789
    assert first[0]['interface']['group'] == '239.1.1.1'
    assert first[0]['interface']['remote'] is None
    assert ping(hv1.vm, hv2.vm_ip, count=2)


def test_mtu_defaults_to_underlay_minus_50_proved_with_df_pings(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    for hv in (hv1, hv2):
        run(['ip', 'link', 'set', 'u0', 'mtu', '1400'], netns=hv.ns)
    tasks = [vtep(hv1, remote=hv2.ip), vtep(hv2, remote=hv1.ip)]
    first = play(*tasks)
    assert all(not r.get('failed') for r in first), first
    assert link(hv1.ns, 'vx42')['mtu'] == 1350
    # IP 1350 = ICMP payload 1322 + 28 header bytes; with DF nothing may fragment.
    assert ping(hv1.vm, hv2.vm_ip, size=1322, dont_fragment=True, count=2)
    assert not ping(hv1.vm, hv2.vm_ip, size=1323, dont_fragment=True)

    # The underlay grows: the next run follows it (the kernel alone would not).
    for hv in (hv1, hv2):
        run(['ip', 'link', 'set', 'u0', 'mtu', '1500'], netns=hv.ns)
    grown, again = play(*tasks), play(*tasks)
    assert [r['changed'] for r in grown] == [True, True], grown
    assert 'set vx42 mtu 1350 -> 1450' in grown[0]['plan']
    assert [r['changed'] for r in again] == [False, False]
    assert link(hv1.ns, 'vx42')['mtu'] == 1450
    assert ping(hv1.vm, hv2.vm_ip, size=1422, dont_fragment=True, count=2)
    assert not ping(hv1.vm, hv2.vm_ip, size=1423, dont_fragment=True)


def test_vni_change_recreates_and_keeps_bridge_membership(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    port = {'name': 'br0', 'cost': 7}
    play(vtep(hv1, remote=hv2.ip, bridge=port), vtep(hv2, remote=hv1.ip))
    old_index = link(hv1.ns, 'vx42')['ifindex']

    changed = [vtep(hv1, remote=hv2.ip, vni=4242, bridge=port), vtep(hv2, remote=hv1.ip, vni=4242)]
    before = full_snapshot(hv1.ns)
    checked = play(*[dict(task, check_mode=True) for task in changed])
    assert full_snapshot(hv1.ns) == before
    assert checked[0]['recreated'] is True and checked[0]['changed'] is True

    recreated = play(*[dict(task, diff=True) for task in changed])
    assert all(r['changed'] and r['recreated'] for r in recreated), recreated
    diff = recreated[0]['diff']
    assert json.loads(diff['before'])['vxlan']['vni'] == 42
    assert json.loads(diff['after'])['vxlan']['vni'] == 4242
    vx = link(hv1.ns, 'vx42')
    assert vx['ifindex'] != old_index
    assert vx['linkinfo']['info_data']['id'] == 4242
    assert vx['master'] == 'br0', 'a recreate must keep bridge membership'
    assert vx['linkinfo']['info_slave_data']['cost'] == 7
    assert ping(hv1.vm, hv2.vm_ip, count=2)

    again = play(*changed)
    assert [r['changed'] for r in again] == [False, False]

    # dstport too cannot change in place.
    moved = play(vtep(hv1, remote=hv2.ip, vni=4242, dstport=4790, bridge=port))[0]
    assert moved['recreated'] is True and vxlan_data(hv1.ns)['port'] == 4790


# ---- unicast head-end replication across three hypervisors ----------------------------

def all_pairs_reach(hvs):
    return dict(((a.number, b.number), ping(a.vm, b.vm_ip))
                for a in hvs for b in hvs if a is not b)


def her_tasks(hvs, peers_of, **options):
    return [vtep(hv, remotes=[UNDERLAY % n for n in peers_of[hv.number]], learning=False,
                 **options) for hv in hvs]


def test_remotes_replicate_to_every_peer_and_stay_in_sync(play, netns):
    hvs = switched_hypervisors(netns, 3)
    hv1, hv2, hv3 = hvs
    everyone = {1: [2, 3], 2: [1, 3], 3: [1, 2]}
    first = play(*her_tasks(hvs, everyone))
    second = play(*her_tasks(hvs, everyone))
    assert all(r['changed'] and not r.get('failed') for r in first), first
    assert [r['changed'] for r in second] == [False] * 3, [r['plan'] for r in second]
    assert fdb_of(hv1.ns) == [(ZERO, hv2.ip), (ZERO, hv3.ip)]
    assert first[0]['interface']['remotes'] == [hv2.ip, hv3.ip]
    reach = all_pairs_reach(hvs)
    assert all(reach.values()), reach

    # hv1 drops hv3: its entry goes, and hv1's VM no longer reaches hv3's.
    without_3 = dict(everyone)
    without_3[1] = [2]
    dropped = play(*her_tasks(hvs, without_3))
    assert [r['changed'] for r in dropped] == [True, False, False]
    assert dropped[0]['plan'] == ['remove flood to peer %s from vx42' % hv3.ip]
    assert fdb_of(hv1.ns) == [(ZERO, hv2.ip)]
    assert not ping(hv1.vm, hv3.vm_ip), 'traffic to a dropped peer must stop'
    assert ping(hv1.vm, hv2.vm_ip)

    # An entry deleted by hand comes back on the next run, then nothing changes.
    run(['bridge', 'fdb', 'del', ZERO, 'dev', 'vx42', 'dst', hv2.ip], netns=hv1.ns)
    assert not ping(hv1.vm, hv2.vm_ip)
    restored = play(*her_tasks(hvs, without_3))
    assert [r['changed'] for r in restored] == [True, False, False]
    assert restored[0]['plan'] == ['add flood to peer %s on vx42' % hv2.ip]
    assert fdb_of(hv1.ns) == [(ZERO, hv2.ip)]
    assert ping(hv1.vm, hv2.vm_ip)
    settled = play(*her_tasks(hvs, without_3))
    assert [r['changed'] for r in settled] == [False] * 3


def test_recreate_puts_remotes_and_static_entries_back(play, netns):
    hvs = switched_hypervisors(netns, 3)
    everyone = {1: [2, 3], 2: [1, 3], 3: [1, 2]}
    static = [{'mac': '52:54:00:00:00:02', 'dst': UNDERLAY % 2}]
    play(*her_tasks(hvs, everyone))
    play(*her_tasks(hvs[:1], everyone, fdb=static))
    expected = [(ZERO, UNDERLAY % 2), (ZERO, UNDERLAY % 3), ('52:54:00:00:00:02', UNDERLAY % 2)]
    assert fdb_of(hvs[0].ns) == sorted(expected)

    before = full_snapshot(hvs[0].ns)
    tasks = her_tasks(hvs[:1], everyone, vni=7, fdb=static)
    checked = play(*[dict(task, check_mode=True) for task in tasks])[0]
    assert full_snapshot(hvs[0].ns) == before
    # The recreate carries the three entries over in one step; nothing is added again.
    carried = [step for step in checked['plan'] if step.startswith('carry over FDB entries')]
    assert len(carried) == 1 and carried[0].count(' dst ') == 1 and carried[0].count('flood to') == 2
    assert not [step for step in checked['plan'] if step.startswith('add ')], checked['plan']

    moved = play(*her_tasks(hvs, everyone, vni=7, fdb=static))
    assert all(r['recreated'] and not r.get('failed') for r in moved), moved
    assert fdb_of(hvs[0].ns) == sorted(expected), 'entries must survive a recreate'
    assert link(hvs[0].ns, 'vx42')['master'] == 'br0'
    reach = all_pairs_reach(hvs)
    assert all(reach.values()), reach
    again = play(*her_tasks(hvs, everyone, vni=7, fdb=static))
    assert [r['changed'] for r in again] == [False] * 3, [r['plan'] for r in again]


def test_static_fdb_is_an_exact_set_and_leaves_other_entries(play, netns):
    ns = netns()
    veth(ns, 'u0')
    run(['ip', 'link', 'add', 'br0', 'type', 'bridge'], netns=ns)
    hv = Hypervisor(1, ns, None)
    # local must be an address of the host.
    run(['ip', 'addr', 'add', hv.ip + '/24', 'dev', 'u0'], netns=ns)
    # Not managed by the task below: a flooding peer added by hand stays.
    play(vtep(hv))
    run(['bridge', 'fdb', 'append', ZERO, 'dev', 'vx42', 'dst', '192.0.2.9'], netns=ns)
    entries = [{'mac': '52:54:00:00:00:0A', 'dst': '192.0.2.2'},
               {'mac': '52:54:00:00:00:0b', 'dst': '192.0.2.3'}]
    first, second = play(vtep(hv, fdb=entries), vtep(hv, fdb=entries))
    assert first['changed'] and not second['changed'], (first, second)
    assert fdb_of(ns) == [(ZERO, '192.0.2.9'), ('52:54:00:00:00:0a', '192.0.2.2'),
                          ('52:54:00:00:00:0b', '192.0.2.3')]

    moved = [{'mac': '52:54:00:00:00:0a', 'dst': '192.0.2.4'}]
    changed = play(dict(vtep(hv, fdb=moved), diff=True))[0]
    assert changed['changed'] and not changed.get('failed'), changed
    assert fdb_of(ns) == [(ZERO, '192.0.2.9'), ('52:54:00:00:00:0a', '192.0.2.4')]
    assert '192.0.2.4' in changed['diff']['after'] and '192.0.2.3' in changed['diff']['before']


def test_remotes_take_over_from_a_single_remote(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    play(vtep(hv1, remote=hv2.ip), vtep(hv2, remote=hv1.ip))
    first, second = play(vtep(hv1, remotes=[hv2.ip]), vtep(hv1, remotes=[hv2.ip]))
    assert first['changed'] and not first.get('failed'), first
    assert second['changed'] is False, second['plan']
    assert 'remote' not in vxlan_data(hv1.ns)
    assert fdb_of(hv1.ns) == [(ZERO, hv2.ip)]
    assert ping(hv1.vm, hv2.vm_ip, count=2)


# ---- removal and bad input ------------------------------------------------------------------

def test_absent_removes_the_link_and_leaves_the_bridge(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    play(vtep(hv1, remote=hv2.ip))
    gone, again = play({MODULE: dict(name='vx42', netns=hv1.ns, state='absent')},
                       {MODULE: dict(name='vx42', netns=hv1.ns, state='absent')})
    assert gone['changed'] and not again['changed']
    assert link(hv1.ns, 'vx42') is None and link(hv1.ns, 'br0') is not None


def test_bad_input_fails_with_its_message_and_touches_nothing(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    play(vtep(hv1, remote=hv2.ip, remotes=None))
    before = full_snapshot(hv1.ns)
    cases = [
        (dict(vni=0), 'vni must be between 1 and 16777215, got 0'),
        (dict(vni=None), 'vni is required'),
        (dict(group='239.1.1.1', dev=None), 'group 239.1.1.1 needs dev'),
        (dict(remote=hv2.ip, group='239.1.1.1'), 'remote and group are mutually exclusive'),
        (dict(remote=hv2.ip, remotes=[hv2.ip]), 'remotes and remote are mutually exclusive'),
        (dict(group='239.1.1.1', remotes=[hv2.ip]), 'remotes and group are mutually exclusive'),
        (dict(remote='192.0.2.300'), "remote '192.0.2.300' is not a valid IPv4 address"),
        (dict(local='not-an-ip'), "local 'not-an-ip' is not a valid IPv4 address"),
        (dict(group='192.0.2.7'), 'group 192.0.2.7 is not a multicast address'),
        (dict(remotes=['198.51.100.x']), "remotes entry '198.51.100.x' is not a valid IPv4"),
        (dict(fdb=[{'mac': 'zz', 'dst': hv2.ip}]), "fdb mac 'zz' is not a MAC address"),
        (dict(name='vxlan-name-is-16'), 'at most 15'),
        (dict(dev='nosuchdev'), 'dev nosuchdev does not exist'),
        (dict(bridge={'name': 'nobr'}), 'bridge nobr does not exist'),
        (dict(mtu=1460), 'mtu 1460 does not fit'),
    ]
    tasks = []
    for options, _message in cases:
        options = dict(options)
        options.setdefault('remote', hv2.ip if 'group' not in options and 'remotes' not in options
                           else None)
        options.setdefault('vni', 4242)
        tasks.append(vtep(hv1, **options))
    # Several problems at once: all of them are reported.
    tasks.append(vtep(hv1, remote=hv2.ip, dev='nosuchdev', bridge={'name': 'nobr'}))
    results = play(*tasks)
    for (options, message), result in zip(cases, results):
        assert result.get('failed'), (options, result)
        assert message in result['msg'], (options, result['msg'])
    combined = results[-1]
    assert combined.get('failed') and len(combined['problems']) >= 2, combined
    assert 'dev nosuchdev does not exist' in combined['msg'] and 'bridge nobr' in combined['msg']
    assert full_snapshot(hv1.ns) == before, 'a refused request must not change anything'
