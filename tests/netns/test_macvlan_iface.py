"""kvmnet.hostnet.macvlan_iface against the real kernel: each mode's reachability matrix.

Topology (all namespaces made by the test):

    [hostns] up0 (192.0.2.1) ----veth---- swp0 \
                                                br0 [switch]
    [peer1]  eth0 (192.0.2.101) --veth--- swp1 /
    [peer2]  eth0 (192.0.2.102) --veth--- swp2 /

Macvlans are created by the module on up0 in ``hostns`` with ``target_netns`` into
their own namespaces (ns_a, ns_b) and get 192.0.2.11 / .12 there.
"""

import pytest

from netlab import ip_json, link, ping, run, snapshot, veth

M = 'kvmnet.hostnet.macvlan_iface'
PEER1_MAC = '02:00:00:00:01:01'
PEER2_MAC = '02:00:00:00:01:02'


class Lab:
    def __init__(self, netns, play):
        self.play = play
        self.host = netns('mvh')
        self.switch = netns('mvs')
        self.peer1 = netns('mvp')
        self.peer2 = netns('mvp')
        self.ns_a = netns('mva')
        self.ns_b = netns('mvb')
        veth(self.host, 'up0', self.switch, 'swp0')
        veth(self.peer1, 'eth0', self.switch, 'swp1')
        veth(self.peer2, 'eth0', self.switch, 'swp2')
        run(['ip', 'link', 'set', 'eth0', 'address', PEER1_MAC], netns=self.peer1)
        run(['ip', 'link', 'set', 'eth0', 'address', PEER2_MAC], netns=self.peer2)
        run(['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'up0'], netns=self.host)
        run(['ip', 'addr', 'add', '192.0.2.101/24', 'dev', 'eth0'], netns=self.peer1)
        run(['ip', 'addr', 'add', '192.0.2.102/24', 'dev', 'eth0'], netns=self.peer2)

    def switch_task(self, hairpin=False):
        return {'kvmnet.hostnet.linux_bridge': {
            'name': 'br0', 'netns': self.switch, 'stp': False, 'forward_delay': 0,
            'ports': [{'name': 'swp0', 'hairpin': hairpin}, 'swp1', 'swp2']}}

    def macvlan(self, name, target, **args):
        args = dict(args)
        args.setdefault('parent', 'up0')
        return {M: dict(name=name, netns=self.host, target_netns=target, **args), 'diff': True}

    def address(self, ns, name, address):
        run(['ip', 'addr', 'replace', address, 'dev', name], netns=ns)


@pytest.fixture
def lab(netns, play):
    return Lab(netns, play)


def ok(result):
    assert not result.get('failed'), result.get('msg', result)
    return result


def failed_with(result, *fragments):
    assert result.get('failed'), result
    for fragment in fragments:
        assert fragment in result['msg'], result['msg']


def macvlan_data(ns, name):
    entry = link(ns, name)
    assert entry is not None, '%s missing in %s' % (name, ns)
    return entry, entry['linkinfo']['info_data']


def test_bridge_mode_siblings_talk_parent_cannot(lab, play):
    first = play(lab.switch_task(),
                 lab.macvlan('mva', lab.ns_a, mode='bridge'),
                 lab.macvlan('mvb', lab.ns_b, mode='bridge'),
                 lab.macvlan('mva', lab.ns_a, mode='bridge'),
                 lab.macvlan('mvb', lab.ns_b, mode='bridge'))
    for result in first:
        ok(result)
    assert first[1]['changed'] and first[2]['changed']
    assert not first[3]['changed'] and not first[4]['changed'], (first[3]['plan'], first[4]['plan'])
    assert first[1]['interface']['parent'] == 'up0'
    assert first[1]['interface']['netns'] == lab.ns_a
    assert 'diff' in first[1] and '"mode": "bridge"' in first[1]['diff']['after']

    entry, data = macvlan_data(lab.ns_a, 'mva')
    assert data['mode'] == 'bridge'
    up0 = link(lab.host, 'up0')
    assert entry['link_index'] == up0['ifindex'] and 'link_netnsid' in entry
    assert link(lab.host, 'mva') is None, 'the macvlan must live only in its target namespace'

    lab.address(lab.ns_a, 'mva', '192.0.2.11/24')
    lab.address(lab.ns_b, 'mvb', '192.0.2.12/24')
    assert ping(lab.ns_a, '192.0.2.12'), 'bridge-mode siblings must reach each other'
    assert ping(lab.ns_a, '192.0.2.101'), 'a macvlan must reach a host on the switch'
    # The trap: the parent's own address is unreachable from its macvlans.
    assert not ping(lab.ns_a, '192.0.2.1'), 'a macvlan reached its parent: bridge mode broken?'
    assert not ping(lab.host, '192.0.2.11')


def test_vepa_needs_hairpin_private_never(lab, play):
    results = play(lab.switch_task(hairpin=False),
                   lab.macvlan('mva', lab.ns_a, mode='vepa'),
                   lab.macvlan('mvb', lab.ns_b, mode='vepa'),
                   lab.macvlan('mva', lab.ns_a, mode='vepa'))
    for result in results:
        ok(result)
    assert not results[3]['changed'], results[3]['plan']
    lab.address(lab.ns_a, 'mva', '192.0.2.11/24')
    lab.address(lab.ns_b, 'mvb', '192.0.2.12/24')
    assert ping(lab.ns_a, '192.0.2.101'), 'vepa endpoint must reach a host on the switch'
    assert not ping(lab.ns_a, '192.0.2.12'), 'vepa siblings met without hairpin'

    ok(play(lab.switch_task(hairpin=True))[0])
    assert ip_json(lab.switch, 'link', 'show', 'swp0')[0]['linkinfo']['info_slave_data']['hairpin']
    assert ping(lab.ns_a, '192.0.2.12', count=2), 'vepa siblings must meet via a hairpin port'

    # vepa -> private changes in place (same ifindex), and isolates even with hairpin.
    index_before = link(lab.ns_a, 'mva')['ifindex']
    results = play(lab.macvlan('mva', lab.ns_a, mode='private'),
                   lab.macvlan('mvb', lab.ns_b, mode='private'),
                   lab.macvlan('mvb', lab.ns_b, mode='private'))
    for result in results:
        ok(result)
    assert results[0]['changed'] and not results[0]['recreated']
    assert not results[2]['changed']
    assert link(lab.ns_a, 'mva')['ifindex'] == index_before
    assert macvlan_data(lab.ns_a, 'mva')[1]['mode'] == 'private'
    # Private mode drops a sibling's broadcasts (so ARP never resolves), not unicast
    # that a hairpin switch reflects: neighbour caches from the vepa phase must go.
    for namespace in (lab.ns_a, lab.ns_b):
        run(['ip', 'neigh', 'flush', 'all'], netns=namespace)
    assert ping(lab.ns_a, '192.0.2.101'), 'private endpoint must reach a host on the switch'
    assert not ping(lab.ns_a, '192.0.2.12'), 'private siblings met through a hairpin port'


def test_passthru_takes_parent_alone(lab, play):
    results = play(lab.switch_task(),
                   lab.macvlan('pt0', lab.ns_a, mode='passthru', nopromisc=True),
                   lab.macvlan('pt0', lab.ns_a, mode='passthru', nopromisc=True),
                   lab.macvlan('mvb', lab.ns_b, mode='bridge'))
    for result in results[:3]:
        ok(result)
    assert results[1]['changed'] and not results[2]['changed'], results[2]['plan']
    entry, data = macvlan_data(lab.ns_a, 'pt0')
    assert data['mode'] == 'passthru' and data.get('nopromisc') is True
    assert entry['address'] == link(lab.host, 'up0')['address'], 'passthru must take the parent MAC'
    failed_with(results[3], 'taken by passthru endpoint pt0')
    assert link(lab.ns_b, 'mvb') is None

    lab.address(lab.ns_a, 'pt0', '192.0.2.11/24')
    assert ping(lab.ns_a, '192.0.2.101'), 'the passthru endpoint must reach a host on the switch'

    # nopromisc changes in place.
    result = ok(play.one(M, name='pt0', netns=lab.host, target_netns=lab.ns_a, parent='up0',
                         mode='passthru', nopromisc=False))
    assert result['changed'] and not result['recreated']
    assert not macvlan_data(lab.ns_a, 'pt0')[1].get('nopromisc')


def test_source_mode_filters_by_sender_and_list_changes(lab, play):
    results = play(lab.switch_task(),
                   lab.macvlan('src0', lab.ns_a, mode='source', source_macs=[PEER1_MAC.upper()]),
                   lab.macvlan('src0', lab.ns_a, mode='source', source_macs=[PEER1_MAC]))
    for result in results:
        ok(result)
    assert not results[2]['changed'], results[2]['plan']
    assert results[1]['interface']['source_macs'] == [PEER1_MAC]
    assert macvlan_data(lab.ns_a, 'src0')[1]['macaddr_data'] == [PEER1_MAC]
    lab.address(lab.ns_a, 'src0', '192.0.2.11/24')
    assert ping(lab.peer1, '192.0.2.11'), 'a listed sender must get in'
    assert not ping(lab.peer2, '192.0.2.11'), 'an unlisted sender got in'

    # Swap the list: add peer2, remove peer1; the exact set reads back (kernel order differs).
    extra = '02:00:00:00:0f:0f'
    results = play(lab.macvlan('src0', lab.ns_a, mode='source', source_macs=[PEER2_MAC, extra]),
                   lab.macvlan('src0', lab.ns_a, mode='source', source_macs=[extra, PEER2_MAC]))
    ok(results[0])
    ok(results[1])
    assert results[0]['changed'] and not results[0]['recreated']
    assert sorted(results[0]['plan']) == sorted([
        'remove source MAC %s from src0' % PEER1_MAC, 'add source MAC %s to src0' % PEER2_MAC,
        'add source MAC %s to src0' % extra])
    assert not results[1]['changed'], results[1]['plan']
    assert sorted(macvlan_data(lab.ns_a, 'src0')[1]['macaddr_data']) == sorted([PEER2_MAC, extra])
    for ns in (lab.peer1, lab.peer2):
        run(['ip', 'neigh', 'flush', 'all'], netns=ns)
    assert ping(lab.peer2, '192.0.2.11'), 'a newly listed sender must get in'
    assert not ping(lab.peer1, '192.0.2.11'), 'a removed sender still gets in'

    # An empty list removes them all.
    result = ok(play.one(M, name='src0', netns=lab.host, target_netns=lab.ns_a, parent='up0',
                         mode='source', source_macs=[]))
    assert result['changed'] and result['interface']['source_macs'] == []
    assert macvlan_data(lab.ns_a, 'src0')[1]['macaddr_count'] == 0


def test_check_mode_diff_and_recreate_on_parent_change(lab, play):
    veth(lab.host, 'up1', lab.switch, 'swp3')
    before = (snapshot(lab.host), snapshot(lab.ns_a))
    checked = ok(play.one(M, check=True, name='mva', netns=lab.host, target_netns=lab.ns_a,
                          parent='up0', mode='vepa', tap=True))
    assert checked['changed'] and checked['plan']
    assert '"mode": "vepa"' in checked['diff']['after'] and '"macvlan": null' in checked['diff']['before']
    assert (snapshot(lab.host), snapshot(lab.ns_a)) == before, 'check mode touched the host'

    created = ok(play.one(M, name='mva', netns=lab.host, target_netns=lab.ns_a, parent='up0',
                          mode='vepa', tap=True, mtu=1400))
    entry, data = macvlan_data(lab.ns_a, 'mva')
    assert entry['linkinfo']['info_kind'] == 'macvtap' and entry['mtu'] == 1400
    assert created['interface']['tap_device'] == '/dev/tap%d' % entry['ifindex']
    mac = entry['address']

    # Check mode of a recreate predicts it and changes nothing.
    before = (snapshot(lab.host), snapshot(lab.ns_a))
    checked = ok(play.one(M, check=True, name='mva', netns=lab.host, target_netns=lab.ns_a,
                          parent='up1', mode='vepa', tap=True, mtu=1400))
    assert checked['changed'] and checked['recreated']
    assert (snapshot(lab.host), snapshot(lab.ns_a)) == before

    results = play(lab.macvlan('mva', lab.ns_a, parent='up1', mode='vepa', tap=True, mtu=1400),
                   lab.macvlan('mva', lab.ns_a, parent='up1', mode='vepa', tap=True, mtu=1400),
                   lab.macvlan('mva', lab.ns_a, parent='up1', mode='passthru', tap=True, mtu=1400),
                   lab.macvlan('mva', lab.ns_a, parent='up1', mode='bridge', tap=True, mtu=1400))
    for result in results:
        ok(result)
    assert results[0]['changed'] and results[0]['recreated']
    assert '"parent": "up1"' in results[0]['diff']['after']
    assert not results[1]['changed'], results[1]['plan']
    entry = link(lab.ns_a, 'mva')
    assert entry['link_index'] == link(lab.host, 'up1')['ifindex']
    assert results[2]['recreated'] and results[3]['recreated'], 'to/from passthru must recreate'
    entry = link(lab.ns_a, 'mva')
    assert entry['address'] != link(lab.host, 'up1')['address'], \
        'leaving passthru must not keep the parent MAC'
    assert macvlan_data(lab.ns_a, 'mva')[1]['mode'] == 'bridge'
    assert entry['mtu'] == 1400 and 'UP' in entry['flags']
    del mac

    removed = play(lab.macvlan('mva', lab.ns_a, state='absent', tap=True),
                   lab.macvlan('mva', lab.ns_a, state='absent', tap=True))
    assert ok(removed[0])['changed'] and not ok(removed[1])['changed']
    assert link(lab.ns_a, 'mva') is None


def test_bad_input_fails_with_message_and_touches_nothing(lab, play):
    ok(play(lab.switch_task(), lab.macvlan('mvb', lab.ns_b, mode='bridge'))[1])
    before = (snapshot(lab.host), snapshot(lab.ns_a), snapshot(lab.ns_b))
    results = play(
        lab.macvlan('mva', lab.ns_a, parent='nosuch0'),
        lab.macvlan('mva', lab.ns_a, mode='passthru'),
        lab.macvlan('mva', lab.ns_a, mode='bridge', source_macs=[PEER1_MAC]),
        lab.macvlan('mva', lab.ns_a, mode='vepa', nopromisc=True),
        lab.macvlan('a-name-of-16-chr', lab.ns_a),
        lab.macvlan('mva', lab.ns_a, mac='02:00:00:zz:00:01'),
        lab.macvlan('mva', lab.ns_a, mode='source', source_macs=['not-a-mac']),
        lab.macvlan('mva', lab.ns_a, mode='vepa', nopromisc=True, mac='01:00:5e:00:00:01',
                    source_macs=[PEER1_MAC]),
    )
    failed_with(results[0], 'parent nosuch0 does not exist')
    failed_with(results[1], 'passthru', 'mvb')
    failed_with(results[2], 'source_macs only applies to mode source')
    failed_with(results[3], 'nopromisc only applies to mode passthru')
    failed_with(results[4], 'a-name-of-16-chr', 'at most 15')
    failed_with(results[5], 'is not a MAC address')
    failed_with(results[6], "source_macs[0] 'not-a-mac' is not a MAC address")
    failed_with(results[7], '3 problems')
    assert (snapshot(lab.host), snapshot(lab.ns_a), snapshot(lab.ns_b)) == before


def test_same_namespace_default_mode_mac_and_parent_change(lab, play):
    """Without target_netns the link lives beside its parent; mode defaults to bridge."""
    veth(lab.host, 'up1', lab.switch, 'swp3')
    mac = '02:00:00:00:0a:01'
    task = {M: dict(name='mvl', netns=lab.host, parent='up0', mac=mac, mtu=1400)}
    moved = {M: dict(name='mvl', netns=lab.host, parent='up1', mac=mac, mtu=1400)}
    results = play(task, task, moved, moved,
                   {M: dict(name='mvt', netns=lab.host, parent='up0', mode='vepa', tap=True)},
                   {M: dict(name='mvt', netns=lab.host, parent='up0', mode='vepa')})
    for result in results[:5]:
        ok(result)
    assert results[0]['changed'] and not results[1]['changed'], results[1]['plan']
    assert results[2]['recreated'] and not results[3]['changed'], results[3]['plan']
    entry, data = macvlan_data(lab.host, 'mvl')
    assert data['mode'] == 'bridge', 'mode must default to bridge, not the kernel vepa'
    assert entry['address'] == mac and entry['mtu'] == 1400 and 'UP' in entry['flags']
    assert entry['link'] == 'up1' and 'link_netnsid' not in entry
    tap = link(lab.host, 'mvt')
    assert results[4]['interface']['tap_device'] == '/dev/tap%d' % tap['ifindex']
    failed_with(results[5], 'mvt exists but is a macvtap link, not a macvlan')
    assert link(lab.host, 'mvt')['linkinfo']['info_kind'] == 'macvtap'
