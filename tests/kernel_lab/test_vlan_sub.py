"""kvmnet.hostnet.vlan_sub in a real kernel with 802.1Q: seed 001's VLAN bridges.

Two "hosts" (namespaces) share one trunk veth; each has eth1.10 -> brvlan-10 and
eth1.20 -> brvlan-20 and one "VM" (a veth into its own namespace) per VLAN. All
four VMs sit in one IPv4 subnet, so only the 802.1Q tags keep VLAN 10 and 20 apart.
"""

import json

from netlab import link, ping, run, snapshot, veth

VLANS = (10, 20)
# Same subnet for both VLANs on purpose: isolation has to come from the tags.
VM_ADDRESS = {(1, 10): '192.0.2.11', (2, 10): '192.0.2.12',
              (1, 20): '192.0.2.21', (2, 20): '192.0.2.22'}


def namespace(netns):
    """A kernel-lab namespace without IPv6: DAD and router solicitations would make
    snapshots differ by themselves and are not under test."""
    name = netns().name
    for key in ('all', 'default'):
        run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % key], netns=name)
    return name


def host_tasks(host):
    tasks = []
    for vid in VLANS:
        tasks.append({'kvmnet.hostnet.linux_bridge': {
            'name': 'brvlan-%d' % vid, 'netns': host, 'stp': False, 'forward_delay': 0,
            'ports': ['vnet%d' % vid]}})
        tasks.append({'kvmnet.hostnet.vlan_sub': {
            'parent': 'eth1', 'vlan_id': vid, 'netns': host,
            'bridge': {'name': 'brvlan-%d' % vid}}})
    return tasks


def build_two_hosts(netns):
    hosts = {1: namespace(netns), 2: namespace(netns)}
    run(['ip', 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', hosts[2]],
        netns=hosts[1])
    for host in hosts.values():
        run(['ip', 'link', 'set', 'eth1', 'up'], netns=host)
    vms = {}
    for (number, vid), address in VM_ADDRESS.items():
        vm = namespace(netns)
        vms[number, vid] = vm
        veth(hosts[number], 'vnet%d' % vid, vm, 'eth0')
        run(['ip', 'address', 'add', address + '/24', 'dev', 'eth0'], netns=vm)
    return hosts, vms


def test_seed_001_vlan_bridges_isolate_vlans_and_join_hosts(play, netns):
    hosts, vms = build_two_hosts(netns)
    tasks = host_tasks(hosts[1]) + host_tasks(hosts[2])

    first = play(*tasks)
    for result in first:
        assert not result.get('failed'), result.get('msg')
        assert result['changed'] is True
    vlan = first[1]['interface']
    assert (vlan['name'], vlan['parent'], vlan['vlan_id'], vlan['protocol']) == \
        ('eth1.10', 'eth1', 10, '802.1Q')
    assert vlan['bridge']['name'] == 'brvlan-10'
    details = link(hosts[2], 'eth1.20')
    assert details['linkinfo']['info_data']['id'] == 20
    assert details['master'] == 'brvlan-20'

    # Same VLAN across the trunk talks; the other VLAN, same subnet, does not.
    assert ping(vms[1, 10], VM_ADDRESS[2, 10], count=3)
    assert ping(vms[1, 20], VM_ADDRESS[2, 20], count=3)
    assert not ping(vms[1, 10], VM_ADDRESS[2, 20], count=2, timeout=1)
    assert not ping(vms[1, 10], VM_ADDRESS[1, 20], count=2, timeout=1)
    assert not ping(vms[2, 20], VM_ADDRESS[2, 10], count=2, timeout=1)

    before = [snapshot(hosts[1]), snapshot(hosts[2])]
    second = play(*tasks)
    assert [(bool(r.get('failed')), r['changed']) for r in second] == [(False, False)] * len(tasks), \
        [r.get('plan') or r.get('msg') for r in second]
    assert [snapshot(hosts[1]), snapshot(hosts[2])] == before

    # Check mode: a third VLAN is planned, nothing is made.
    checked = play.one('kvmnet.hostnet.vlan_sub', check=True, parent='eth1', vlan_id=30,
                       netns=hosts[1], bridge={'name': 'brvlan-10'})
    assert checked['changed'] is True and not checked.get('failed'), checked.get('msg')
    assert checked['plan'][0].startswith('create vlan eth1.30')
    assert [snapshot(hosts[1]), snapshot(hosts[2])] == before


def test_options_in_place_and_recreate_keeps_bridge_membership(play, netns):
    host = namespace(netns)
    veth(host, 'eth1', name_b='eth1p')
    run(['ip', 'link', 'add', 'br0', 'type', 'bridge'], netns=host)
    run(['ip', 'link', 'set', 'br0', 'up'], netns=host)
    args = dict(name='uplink', parent='eth1', vlan_id=10, netns=host, gvrp=True,
                reorder_hdr=False, egress_qos_map={1: 3, 4: 5}, ingress_qos_map=['2:6'],
                bridge={'name': 'br0', 'cost': 7})

    made = play.one('kvmnet.hostnet.vlan_sub', **args)
    assert made['changed'] is True and not made.get('failed'), made.get('msg')
    again = play.one('kvmnet.hostnet.vlan_sub', **args)
    assert again['changed'] is False, again['plan']
    have = again['interface']
    assert (have['gvrp'], have['reorder_hdr'], have['mvrp'], have['loose_binding']) == \
        (True, False, False, False)
    assert have['egress_qos_map'] == {'1': 3, '4': 5}
    assert have['ingress_qos_map'] == {'2': 6}
    old_index = have['ifindex']

    # In place: flags and an exact QoS set (1:3 goes, 4 changes, 7 comes).
    args.update(gvrp=False, egress_qos_map=['4:6', '7:1'])
    changed = play.one('kvmnet.hostnet.vlan_sub', **args)
    assert changed['changed'] is True and changed['recreated'] is False, changed.get('msg')
    assert changed['interface']['ifindex'] == old_index
    assert changed['interface']['egress_qos_map'] == {'4': 6, '7': 1}
    assert changed['interface']['gvrp'] is False

    # A new VLAN id recreates the link; it comes back in br0 with its port cost.
    args.update(vlan_id=11)
    before = snapshot(host)
    checked = play.one('kvmnet.hostnet.vlan_sub', check=True, **args)
    assert checked['changed'] is True and checked['recreated'] is True
    assert snapshot(host) == before
    recreated = play.one('kvmnet.hostnet.vlan_sub', **args)
    assert recreated['recreated'] is True, recreated.get('msg')
    # Journaled step by step: the plan tells the operator the link goes back into br0.
    assert 're-attach uplink to br0 with its port options' in recreated['plan'], recreated['plan']
    details = link(host, 'uplink')
    assert details['ifindex'] != old_index
    assert details['linkinfo']['info_data']['id'] == 11
    assert details['master'] == 'br0'
    assert details['linkinfo']['info_slave_data']['cost'] == 7
    assert recreated['interface']['egress_qos_map'] == {'4': 6, '7': 1}
    assert play.one('kvmnet.hostnet.vlan_sub', **args)['changed'] is False

    removed = play.one('kvmnet.hostnet.vlan_sub', name='uplink', netns=host, state='absent')
    assert removed['changed'] is True and link(host, 'uplink') is None
    assert link(host, 'eth1') is not None


def test_bad_requests_fail_with_their_reason_and_touch_nothing(play, netns):
    host = namespace(netns)
    veth(host, 'eth1', name_b='eth1p')
    run(['ip', 'link', 'add', 'br0', 'type', 'bridge'], netns=host)
    run(['ip', 'link', 'add', 'br1', 'type', 'bridge'], netns=host)
    run(['ip', 'link', 'add', 'eth1.5', 'link', 'eth1', 'type', 'vlan', 'id', '5'], netns=host)
    run(['ip', 'link', 'set', 'eth1.5', 'master', 'br0'], netns=host)
    before = snapshot(host)

    cases = [
        (dict(parent='eth1', vlan_id=4095), ['vlan_id must be between 1 and 4094, got 4095']),
        (dict(parent='nosuch0', vlan_id=10), ['parent nosuch0 does not exist']),
        (dict(parent='enp129s0f1np1', vlan_id=100),
         ['enp129s0f1np1.100', 'at most 15', 'set name']),
        (dict(parent='eth1', vlan_id=10, mtu=9000),
         ['mtu 9000 is above the MTU of the parent eth1 (1500)']),
        (dict(parent='eth1', vlan_id=5, bridge={'name': 'br1'}),
         ['eth1.5 is already a port of br0']),
        (dict(parent='eth1', vlan_id=10, egress_qos_map=['1:9']), ['"to" 0-7']),
        # Every problem at once.
        (dict(parent='eth1', vlan_id=0, egress_qos_map=['x'], mac='zz'),
         ['3 problems', 'vlan_id must be between 1 and 4094', 'not "from:to"',
          'is not a MAC address']),
    ]
    results = play(*[{'kvmnet.hostnet.vlan_sub': dict(netns=host, **args)} for args, _message in cases])
    for (args, expected), result in zip(cases, results):
        assert result.get('failed') is True, (args, result)
        for text in expected:
            assert text in result['msg'], (args, result['msg'])
    assert snapshot(host) == before


def _vlans_built(host, lean):
    """VLANs with flags, 802.1ad and QoS maps, written through the lean codec or pyroute2;
    what ip -d -j shows of them, and what a session reads back as the kind's view."""
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import NetlinkSession
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vlan import VlanKind

    kind = VlanKind()
    run(['ip', 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth2'], netns=host)
    requests = {
        'v10': dict(parent='eth1', vlan_id=10),
        'v20': dict(parent='eth1', vlan_id=20, gvrp=True, reorder_hdr=False, loose_binding=True),
        'v30': dict(parent='eth1', vlan_id=30, protocol='802.1ad', mvrp=True),
        'v40': dict(parent='eth1', vlan_id=40, egress_qos_map={1: 3, 6: 5}, ingress_qos_map=['2:7']),
    }
    with NetlinkSession(host) as net:
        if not lean:
            net._lean_write = lambda *args: False  # everything through pyroute2
        for name, options in requests.items():
            facet = LinkFacet(kind, name, options=options)
            net.call('c', 'link', 'add', **facet._create_arguments(net, facet.wanted))
        net.call('s', 'link', 'set', index=net.index('v10'), kind='vlan',
                 **LinkFacet(kind, 'v10', options=dict(gvrp=True))._encode(net, {'gvrp': True}))
        views = {}
        for name in requests:
            view = LinkFacet(kind, name).view(net, net.link(name))
            views[name] = dict((key, value) for key, value in view.items() if key not in ('ifindex', 'mac'))
    # Without what differs between two namespaces anyway (ifindexes, the veth's random MAC).
    shown = [dict((key, value) for key, value in entry.items()
                  if key not in ('ifindex', 'address', 'link_index', 'broadcast'))
             for entry in json.loads(run(['ip', '-d', '-j', 'link', 'show', 'type', 'vlan'],
                                         netns=host).stdout)]
    return sorted(json.dumps(entry, sort_keys=True) for entry in shown), views


def test_lean_vlan_writes_and_reads_match_pyroute2(netns):
    """The lean codec writes VLANs as pyroute2 does, and reads every option back the same."""
    lean_shown, lean_views = _vlans_built(namespace(netns), lean=True)
    full_shown, full_views = _vlans_built(namespace(netns), lean=False)
    assert lean_shown == full_shown
    assert lean_views == full_views
    assert lean_views['v10']['gvrp'] is True and lean_views['v30']['protocol'] == '802.1ad'
    assert lean_views['v40']['egress_qos_map'] == {1: 3, 6: 5}
    assert lean_views['v20']['reorder_hdr'] is False and lean_views['v20']['loose_binding'] is True
    assert len(lean_shown) == 4
