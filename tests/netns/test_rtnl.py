"""core/rtnl.py, the lean netlink path, against pyroute2 on real kernel bytes.

Every attribute the lean decoder covers must come out as pyroute2 decodes the same
message, and what it does not cover must still be there (through pyroute2); the
writes it encodes must build what pyroute2's requests build.
"""

import errno
import json
import pwd

import pytest

from netlab import _without_timers, ip_json, run

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import compat, rtnl
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import NetlinkSession

from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.ndmsg import ndmsg


def host(netns):
    """A namespace with one link of each kind the lean path decodes, and FDB entries."""
    ns = netns('rtnl')
    for argv in (
            ['ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1'],
            ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'u0'],
            ['ip', 'link', 'set', 'u0', 'up', 'mtu', '9000'],
            ['ip', 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '1', 'forward_delay', '700',
             'hello_time', '300', 'max_age', '1500', 'ageing_time', '12345', 'priority', '4096',
             'mcast_snooping', '0'],
            ['ip', 'link', 'add', 'vx1', 'type', 'vxlan', 'id', '4242', 'dstport', '4790',
             'local', '192.0.2.1', 'dev', 'u0', 'ttl', '7', 'tos', '3', 'nolearning',
             'udpcsum'],
            ['ip', 'link', 'add', 'vx2', 'type', 'vxlan', 'id', '7', 'group', '239.1.1.1',
             'dev', 'u0', 'dstport', '4789'],
            ['ip', 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap', 'user', 'nobody',
             'multi_queue', 'vnet_hdr'],
            ['ip', 'link', 'set', 'vx1', 'master', 'br0', 'alias', 'kvmnet:test'],
            ['ip', 'link', 'set', 'tap0', 'master', 'br0', 'address', 'fe:54:00:12:34:56'],
            ['bridge', 'link', 'set', 'dev', 'tap0', 'cost', '77', 'priority', '9', 'isolated',
             'on', 'learning', 'off', 'flood', 'off', 'hairpin', 'on'],
            ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx1', 'dst', '192.0.2.2'],
            ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx1', 'dst', '192.0.2.3'],
            ['bridge', 'fdb', 'add', '52:54:00:aa:bb:cc', 'dev', 'vx1', 'dst', '192.0.2.9',
             'port', '4000', 'vni', '99'],
            ['ip', 'link', 'add', 'mv0', 'link', 'u0', 'type', 'macvlan', 'mode', 'bridge'],
            ['ip', 'link', 'add', 'mvs0', 'link', 'u0', 'type', 'macvlan', 'mode', 'source'],
            ['ip', 'link', 'set', 'mvs0', 'type', 'macvlan', 'macaddr', 'add', '02:00:00:00:0a:01'],
            ['ip', 'link', 'set', 'mvs0', 'type', 'macvlan', 'macaddr', 'add', '02:00:00:00:0a:02']):
        run(argv, netns=ns)
    return ns


def lean_socket(ns):
    with compat.inside(ns):
        return rtnl.Socket()


def pyroute2_view(msg, names):
    return dict((name, msg.get(name)) for name in names)


def comparable(value):
    """A nested attribute (source MACs) by its entries; pyroute2's carries a header too."""
    if value is not None and not isinstance(value, (int, str)) and 'attrs' in value:
        return [tuple(entry) for entry in value['attrs']]
    return value


def test_links_decode_as_pyroute2_decodes_them(netns):
    ns = host(netns)
    sock = lean_socket(ns)
    try:
        messages = sock.dump(rtnl.link_dump(), rtnl.decode_link)
    finally:
        sock.close()
    by_name = dict((m.get('IFLA_IFNAME'), m) for m in messages)
    assert set(('u0', 'br0', 'vx1', 'vx2', 'tap0', 'mv0', 'lo')) <= set(by_name)
    compared = 0
    for name, lean in by_name.items():
        full = ifinfmsg(lean.raw)
        full.decode()
        for key in ('index', 'flags', 'ifi_type', 'family'):
            assert lean[key] == full[key], (name, key)
        for nla, _fmt in rtnl.LINK_ATTRS.values():
            assert lean.get(nla) == full.get(nla), (name, nla, lean.get(nla), full.get(nla))
            compared += 1
        info, full_info = lean.get('IFLA_LINKINFO'), full.get('IFLA_LINKINFO')
        if full_info is None:
            assert info is None, name
            continue
        for key in ('IFLA_INFO_KIND', 'IFLA_INFO_SLAVE_KIND'):
            assert info.get(key) == full_info.get(key), (name, key)
        for key, tables in (('IFLA_INFO_DATA', rtnl.KIND_DATA),
                            ('IFLA_INFO_SLAVE_DATA', rtnl.SLAVE_DATA)):
            kind = info.get('IFLA_INFO_KIND' if key == 'IFLA_INFO_DATA' else 'IFLA_INFO_SLAVE_KIND')
            data, full_data = info.get(key), full_info.get(key)
            if full_data is None:
                continue
            for nla, _fmt in tables.get(kind, {}).values():
                assert comparable(data.get(nla)) == comparable(full_data.get(nla)), (
                    name, nla, data.get(nla), full_data.get(nla))
                compared += 1
            # An attribute the lean decoder leaves out still reads as pyroute2 gives it.
            for nla, value in full_data['attrs']:
                if not isinstance(value, (dict, list)) and value is not None:
                    assert data.get(nla) == value, (name, nla)
    assert compared > 100
    # The values themselves, in the units the engine compares.
    br0 = by_name['br0'].get('IFLA_LINKINFO').get('IFLA_INFO_DATA')
    assert (br0.get('IFLA_BR_STP_STATE'), br0.get('IFLA_BR_PRIORITY'),
            br0.get('IFLA_BR_MCAST_SNOOPING')) == (1, 4096, 0)
    vx1 = by_name['vx1'].get('IFLA_LINKINFO').get('IFLA_INFO_DATA')
    assert (vx1.get('IFLA_VXLAN_ID'), vx1.get('IFLA_VXLAN_PORT'), vx1.get('IFLA_VXLAN_LOCAL'),
            vx1.get('IFLA_VXLAN_TTL'), vx1.get('IFLA_VXLAN_LEARNING')) == (4242, 4790, '192.0.2.1', 7, 0)
    assert by_name['vx1'].get('IFLA_IFALIAS') == 'kvmnet:test'
    assert by_name['vx2'].get('IFLA_LINKINFO').get('IFLA_INFO_DATA').get('IFLA_VXLAN_GROUP') == '239.1.1.1'
    tap = by_name['tap0']
    assert tap.get('IFLA_ADDRESS') == 'fe:54:00:12:34:56'
    port = tap.get('IFLA_LINKINFO').get('IFLA_INFO_SLAVE_DATA')
    assert (port.get('IFLA_BRPORT_COST'), port.get('IFLA_BRPORT_PRIORITY'),
            port.get('IFLA_BRPORT_ISOLATED'), port.get('IFLA_BRPORT_LEARNING'),
            port.get('IFLA_BRPORT_UNICAST_FLOOD'), port.get('IFLA_BRPORT_MODE')) == (77, 9, 1, 0, 0, 1)
    tun = tap.get('IFLA_LINKINFO').get('IFLA_INFO_DATA')
    assert tun.get('IFLA_TUN_OWNER') == pwd.getpwnam('nobody').pw_uid
    assert (tun.get('IFLA_TUN_MULTI_QUEUE'), tun.get('IFLA_TUN_VNET_HDR'), tun.get('IFLA_TUN_TYPE')) == (1, 1, 2)
    # A macvlan's mode and flags by the names pyroute2 gives them; what the lean decoder
    # leaves out (source MACs) is still decoded by pyroute2, on demand.
    macvlan = by_name['mv0'].get('IFLA_LINKINFO').get('IFLA_INFO_DATA')
    assert (macvlan.get_attr('IFLA_MACVLAN_MODE'), macvlan.get('IFLA_MACVLAN_FLAGS')) == ('bridge', 'none')
    assert macvlan.get('IFLA_MACVLAN_MACADDR_COUNT') == 0
    source = by_name['mvs0'].get('IFLA_LINKINFO').get('IFLA_INFO_DATA')
    assert source.get('IFLA_MACVLAN_MACADDR_DATA')['attrs'] == [
        ('IFLA_MACVLAN_MACADDR', '02:00:00:00:0a:02'), ('IFLA_MACVLAN_MACADDR', '02:00:00:00:0a:01')]


def test_fdb_entries_decode_as_pyroute2_decodes_them(netns):
    ns = host(netns)
    sock = lean_socket(ns)
    try:
        index = dict((m.get('IFLA_IFNAME'), m['index'])
                     for m in sock.dump(rtnl.link_dump(), rtnl.decode_link))['vx1']
        filtered = sock.dump(rtnl.fdb_dump(index), rtnl.decode_neigh)
        everything = sock.dump(rtnl.fdb_dump(0), rtnl.decode_neigh)
    finally:
        sock.close()
    assert sock.strict, 'kernels since 4.20 filter the dump by ifindex'
    assert filtered and all(m['ifindex'] == index for m in filtered)
    assert len(everything) > len(filtered)
    pairs = set()
    for lean in filtered:
        full = ndmsg(lean.raw)
        full.decode()
        for key in ('ifindex', 'state', 'flags', 'family'):
            assert lean[key] == full[key]
        for nla, _fmt in rtnl.NEIGH_ATTRS.values():
            assert lean.get(nla) == full.get_attr(nla), (nla, lean.get(nla), full.get_attr(nla))
        pairs.add((lean.get('NDA_LLADDR'), lean.get('NDA_DST'), lean.get('NDA_PORT'),
                   lean.get('NDA_VNI')))
    assert ('00:00:00:00:00:00', '192.0.2.2', None, None) in pairs
    assert ('52:54:00:aa:bb:cc', '192.0.2.9', 4000, 99) in pairs


def scrubbed(ns):
    links = _without_timers(ip_json(ns, 'link', 'show'))
    drop = ('ifindex', 'link_index', 'address', 'bridge_id', 'root_id', 'designated_root',
            'designated_bridge', 'port_id', 'port_no', 'no', 'id')

    def scrub(value):
        if isinstance(value, dict):
            return dict((k, scrub(v)) for k, v in value.items()
                        if k not in drop or (k == 'id' and isinstance(v, int)))
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value
    addresses = [(entry['ifname'], scrub(entry['addr_info']))
                 for entry in ip_json(ns, 'address', 'show')]
    return json.dumps(dict(links=sorted((scrub(link) for link in links), key=lambda l: l['ifname']),
                           addresses=sorted(addresses)), sort_keys=True, indent=1)


def build(ns, lean):
    """The same links, values and FDB, through the lean encoder or through pyroute2."""
    run(['ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1'], netns=ns)
    run(['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'u0'], netns=ns)
    with NetlinkSession(ns) as net:
        if not lean:
            net._lean_write = lambda *args: False  # everything through pyroute2
        net.begin_batch()
        net.call('c', 'link', 'add', ifname='br0', kind='bridge', br_stp_state=0,
                 br_forward_delay=0, br_priority=100, br_mcast_snooping=0, mtu=1400,
                 address='02:00:00:00:00:01')
        net.call('c', 'link', 'add', ifname='vx1', kind='vxlan', vxlan_id=42, vxlan_port=4789,
                 vxlan_local='192.0.2.1', vxlan_link=net.index('u0'), vxlan_ttl=5,
                 vxlan_learning=0, vxlan_udp_csum=1)
        net.call('c', 'link', 'add', ifname='tap0', kind='tuntap', mode='tap',
                 ifr={'no_pi': 1, 'vnet_hdr': 1, 'multi_queue': 0}, uid=0)
        net.call('c', 'link', 'add', ifname='mv0', kind='macvlan', link=net.index('u0'),
                 macvlan_mode=1)
        net.call('c', 'link', 'add', ifname='mvs0', kind='macvlan', link=net.index('u0'),
                 macvlan_mode=16)
        net.call('c', 'link', 'add', ifname='mvt0', kind='macvtap', link=net.index('u0'),
                 macvtap_mode=4, address='02:00:00:00:00:02')
        net.call('c', 'link', 'add', ifname='ve0', kind='veth', mtu=1400,
                 peer={'ifname': 've1', 'mtu': 1300})
        net.end_batch()
        net.keep_indexes()
        net.begin_batch()
        for name in ('vx1', 'tap0'):
            net.call('a', 'link', 'set', index=net.index(name), master=net.index('br0'))
        net.call('m', 'link', 'set', index=net.index('tap0'), address='fe:54:00:00:00:01', mtu=1400)
        net.call('o', 'brport', 'set', index=net.index('tap0'), cost=33, priority=5, isolated=1,
                 learning=0, unicast_flood=0, mode=1)
        net.call('k', 'link', 'set', index=net.index('vx1'), kind='vxlan', vxlan_ttl=9,
                 vxlan_tos=4)
        net.call('k', 'link', 'set', index=net.index('br0'), kind='bridge', br_hello_time=300,
                 br_max_age=1200, br_ageing_time=4000)
        net.call('l', 'link', 'set', index=net.index('vx1'), ifalias='kvmnet:host_network')
        for mode, mac in ((0, '02:00:00:00:0b:01'), (0, '02:00:00:00:0b:02'), (1, '02:00:00:00:0b:01')):
            net.call('s', 'link', 'set', index=net.index('mvs0'), kind='macvlan',
                     macvlan_macaddr_mode=mode, macvlan_macaddr=mac)
        net.call('a', 'addr', 'add', index=net.index('br0'), address='198.51.100.1', prefixlen=24)
        net.call('a', 'addr', 'replace', index=net.index('br0'), address='198.51.100.1',
                 prefixlen=24)
        net.call('a', 'addr', 'add', index=net.index('ve0'), address='203.0.113.1', prefixlen=28)
        net.call('a', 'addr', 'del', index=net.index('ve0'), address='203.0.113.1', prefixlen=28)
        for name in ('br0', 'vx1', 'tap0'):
            net.call('u', 'link', 'set', index=net.index(name), state='up')
        for peer in ('192.0.2.2', '192.0.2.3', '192.0.2.4'):
            net.call('f', 'fdb', 'append', ifindex=net.index('vx1'), lladdr='00:00:00:00:00:00',
                     dst=peer, state=0x80 | 0x40, flags=0x02)
        net.call('f', 'fdb', 'replace', ifindex=net.index('vx1'), lladdr='52:54:00:00:00:09',
                 dst='192.0.2.9', state=0x80 | 0x40, flags=0x02)
        net.call('f', 'fdb', 'del', ifindex=net.index('vx1'), lladdr='00:00:00:00:00:00',
                 dst='192.0.2.3', state=0x80 | 0x40, flags=0x02)
        net.end_batch()
        assert net.settled == [] or all(outcome is None for _owner, outcome in net.settled)
    fdb = sorted(json.dumps(e, sort_keys=True) for e in ip_json(ns, 'bridge', 'fdb', 'show', 'dev', 'vx1')
                 if e.get('state') == 'permanent' and 'dst' in e)
    return scrubbed(ns), fdb


def test_lean_writes_build_what_pyroute2_builds(netns):
    lean, reference = netns('lean'), netns('pyr2')
    built, fdb = build(lean, True)
    expected, expected_fdb = build(reference, False)
    assert built == expected
    assert fdb == expected_fdb
    assert len(fdb) == 3
    assert '"isolated": true' in built and '"ifalias": "kvmnet:host_network"' in built
    for made in ('"ifname": "mvt0"', '"ifname": "ve1"', '"local": "198.51.100.1"',
                 '"mode": "private"', '"02:00:00:00:0b:02"'):
        assert made in built
    assert '203.0.113.1' not in built and '02:00:00:00:0b:01' not in built


def test_a_batch_reports_each_refusal_and_applies_the_rest(netns):
    ns = netns('rtnl')
    sock = lean_socket(ns)
    try:
        requests = [rtnl.encode('link', ('add',), dict(ifname=name, kind='bridge'))
                    for name in ('b1', 'b2', 'b1', 'b3')]
        outcomes = sock.transact(requests)
        missing = sock.get_links([rtnl.link_get('b3'), rtnl.link_get('nope')])
    finally:
        sock.close()
    assert [o.code if o else None for o in outcomes] == [None, None, errno.EEXIST, None]
    assert missing[0].get('IFLA_IFNAME') == 'b3' and missing[1] is None
    assert 'b3' in [link['ifname'] for link in ip_json(ns, 'link', 'show')]


def test_an_ipv6_address_is_sent_as_pyroute2_sends_it():
    # IFA_ADDRESS only (IFA_LOCAL is for IPv4); the namespaces here have IPv6 off.
    request = rtnl.encode('addr', ('replace',), dict(index=7, address='2001:db8::1', prefixlen=64))
    header = rtnl._IFADDR.unpack_from(request.body)
    assert header == (10, 64, 0, 0, 7)
    assert [kind for kind, _start, _end in rtnl.attributes(request.body, rtnl._IFADDR.size,
                                                           len(request.body))] == [1]


@pytest.mark.parametrize('call', [
    ('link', ('add',), dict(ifname='x', kind='bond', bond_mode=1)),  # a kind it does not encode
    ('link', ('add',), dict(ifname='x', kind='vlan', vlan_id=3, link=1,  # a VLAN QoS map
                            vlan_egress_qos={'attrs': [('IFLA_VLAN_QOS_MAPPING', {'from': 1, 'to': 3})]})),
    ('link', ('set',), dict(index=3, net_ns_fd='other')),
    ('route', ('add',), dict(dst='10.0.0.0/8')),
    ('link', ('set',), dict(ifname='renamed')),
])
def test_requests_it_does_not_cover_go_to_pyroute2(call):
    assert rtnl.encode(*call) is None


def test_addresses_decode_as_pyroute2_decodes_them(netns):
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
    ns = host(netns)
    run(['ip', 'addr', 'add', '198.51.100.7/25', 'brd', '+', 'dev', 'br0', 'label', 'br0:x'],
        netns=ns)
    sock = lean_socket(ns)
    try:
        messages = sock.dump(rtnl.addr_dump(), rtnl.decode_addr)
    finally:
        sock.close()
    seen = set()
    for lean in messages:
        full = ifaddrmsg(lean.raw)
        full.decode()
        for key in ('family', 'prefixlen', 'flags', 'scope', 'index'):
            assert lean[key] == full[key], key
        for nla, _fmt in rtnl.ADDR_ATTRS.values():
            assert lean.get(nla) == full.get_attr(nla), (nla, lean.get(nla), full.get_attr(nla))
        assert lean.get('IFA_CACHEINFO') == full.get_attr('IFA_CACHEINFO'), 'read by pyroute2'
        seen.add('%s/%s' % (lean.get('IFA_ADDRESS'), lean['prefixlen']))
    assert {'192.0.2.1/24', '198.51.100.7/25', '127.0.0.1/8'} <= seen


def test_going_through_all_options_sees_what_pyroute2_sees(netns):
    """A snapshot compares every option of a link: the lean view must list them all."""
    ns = host(netns)
    with NetlinkSession(ns) as net:
        br0, tap = net.link('br0'), net.link('tap0')
        assert isinstance(br0.msg, rtnl.Message)
        for state, nest in ((br0, 'IFLA_INFO_DATA'), (tap, 'IFLA_INFO_SLAVE_DATA')):
            full = ifinfmsg(state.msg.raw)
            full.decode()
            expected = dict(full.get('IFLA_LINKINFO').get(nest)['attrs'])
            got = state.data if nest == 'IFLA_INFO_DATA' else state.slave_data
            assert sorted(got) == sorted(expected)
            assert len(got) == len(expected) > 10
        assert 'IFLA_BRPORT_STATE' in tap.slave_data and tap.slave_data['IFLA_BRPORT_STATE'] == \
            dict(full.get('IFLA_LINKINFO').get('IFLA_INFO_SLAVE_DATA')['attrs'])['IFLA_BRPORT_STATE']


def test_a_kind_without_data_needs_no_pyroute2(netns):
    ns = host(netns)
    sock = lean_socket(ns)
    try:
        u0 = [m for m in sock.dump(rtnl.link_dump(kind='veth'), rtnl.decode_link)
              if m.get('IFLA_IFNAME') == 'u0'][0]
    finally:
        sock.close()
    info = u0.get('IFLA_LINKINFO')
    assert info.get('IFLA_INFO_KIND') == 'veth' and info.get('IFLA_INFO_DATA') is None
    assert info.get('IFLA_INFO_SLAVE_DATA') is None
    assert u0._full is None, 'answered without decoding the message with pyroute2'
