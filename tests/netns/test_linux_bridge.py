"""kvmnet.hostnet.linux_bridge against the real kernel, in throwaway namespaces."""

import pytest

from netlab import ip_json, link, ping, run, snapshot, veth

MODULE = 'kvmnet.hostnet.linux_bridge'


def bridge_data(ns, name):
    return link(ns, name)['linkinfo']['info_data']


def port_data(ns, name):
    return link(ns, name)['linkinfo']['info_slave_data']


def test_create_then_second_run_changes_nothing(play, netns):
    ns = netns()
    veth(ns, 'eth1')
    args = dict(name='br0', netns=ns, stp=False, forward_delay=0, ageing_time=120,
                ports=['eth1'], addresses=['192.0.2.1/24'])
    first, second = play({MODULE: args}, {MODULE: args})

    assert first['changed'] and not first.get('failed'), first
    assert second['changed'] is False, second['plan']
    assert second['plan'] == []
    data = bridge_data(ns, 'br0')
    assert data['stp_state'] == 0 and data['forward_delay'] == 0 and data['ageing_time'] == 12000
    assert link(ns, 'eth1')['master'] == 'br0'
    assert 'UP' in link(ns, 'br0')['flags']
    assert first['interface']['addresses'] == ['192.0.2.1/24']


def test_every_option_changes_in_place(play, netns):
    ns = netns()
    veth(ns, 'eth1')
    play.one(MODULE, name='br0', netns=ns, ports=['eth1'])
    ifindex = link(ns, 'br0')['ifindex']

    changed = dict(name='br0', netns=ns, stp=True, forward_delay=4, hello_time=1, max_age=8,
                   ageing_time=60, priority=4096, multicast_snooping=False, mtu=1400,
                   mac='52:54:00:aa:bb:01', up=True,
                   ports=[{'name': 'eth1', 'hairpin': True, 'learning': False,
                           'unicast_flood': False, 'cost': 7, 'priority': 5, 'isolated': True}])
    first, second = play({MODULE: changed, 'diff': True}, {MODULE: changed})

    assert first['changed'] and not first.get('failed'), first
    assert first['recreated'] is False
    assert second['changed'] is False, second['plan']
    bridge = link(ns, 'br0')
    data = bridge['linkinfo']['info_data']
    assert bridge['ifindex'] == ifindex, 'a bridge option change must not recreate the bridge'
    assert (data['stp_state'], data['forward_delay'], data['hello_time'], data['max_age']) == \
        (1, 400, 100, 800)
    assert (data['ageing_time'], data['priority'], data['mcast_snooping']) == (6000, 4096, 0)
    assert bridge['mtu'] == 1400 and bridge['address'] == '52:54:00:aa:bb:01'
    port = port_data(ns, 'eth1')
    assert (port['hairpin'], port['learning'], port['flood'], port['cost'], port['priority'],
            port['isolated']) == (True, False, False, 7, 5, True)
    assert '"forward_delay": 4.0' in first['diff']['after']
    assert '"forward_delay": 4.0' not in first['diff']['before']


def test_jiffies_rounding_is_not_a_change(play, netns):
    ns = netns()
    args = dict(name='br0', netns=ns, stp=False, forward_delay=1.23, ageing_time=33.33)
    first, second = play({MODULE: args}, {MODULE: args})
    assert first['changed']
    assert second['changed'] is False, second['plan']


def test_check_mode_changes_nothing_and_predicts_the_change(play, netns):
    ns = netns()
    veth(ns, 'eth1')
    play.one(MODULE, name='br0', netns=ns, stp=False)
    before = snapshot(ns)

    result = play.one(MODULE, check=True, name='br0', netns=ns, stp=False, priority=100,
                      ports=['eth1'], addresses=['192.0.2.1/24'])

    assert result['changed'] is True
    assert 'attach eth1 to bridge br0' in result['plan']
    assert '"priority": 100' in result['diff']['after']
    assert snapshot(ns) == before


def test_unlisted_ports_such_as_a_vm_tap_survive(play, netns):
    ns = netns()
    veth(ns, 'eth1')
    run(['ip', 'tuntap', 'add', 'dev', 'vnet0', 'mode', 'tap'], netns=ns)
    play.one(MODULE, name='br0', netns=ns, ports=['eth1'])
    run(['ip', 'link', 'set', 'vnet0', 'master', 'br0'], netns=ns)
    tap_index = link(ns, 'vnet0')['ifindex']

    result = play.one(MODULE, name='br0', netns=ns, ports=['eth1'], stp=False, priority=7)

    assert result['changed']
    assert link(ns, 'vnet0')['master'] == 'br0'
    assert link(ns, 'vnet0')['ifindex'] == tap_index


def test_mac_is_pinned_to_the_first_port_and_does_not_drift(play, netns):
    ns = netns()
    veth(ns, 'eth1')
    run(['ip', 'link', 'set', 'eth1', 'address', '52:54:00:00:00:50'], netns=ns)
    run(['ip', 'link', 'add', 'eth2', 'address', '02:00:00:00:00:01', 'type', 'veth',
         'peer', 'name', 'eth2p'], netns=ns)

    play.one(MODULE, name='br0', netns=ns, ports=['eth1'])
    assert link(ns, 'br0')['address'] == '52:54:00:00:00:50'

    # eth2 has the lower MAC: an unpinned bridge would switch to it.
    grown = play.one(MODULE, name='br0', netns=ns, ports=['eth1', 'eth2'])
    assert grown['changed']
    assert link(ns, 'br0')['address'] == '52:54:00:00:00:50'
    again = play.one(MODULE, name='br0', netns=ns, ports=['eth1', 'eth2'])
    assert again['changed'] is False, again['plan']


def test_addresses_are_an_exact_set_and_gateway_is_set(play, netns):
    ns = netns()
    play.one(MODULE, name='br0', netns=ns, addresses=['192.0.2.1/24', '198.51.100.1/24'])
    result = play.one(MODULE, name='br0', netns=ns, addresses=['198.51.100.1/24', '203.0.113.1/24'],
                      gateway='203.0.113.254')

    assert result['changed']
    addresses = sorted('%s/%s' % (a['local'], a['prefixlen'])
                       for entry in ip_json(ns, 'address', 'show', 'dev', 'br0')
                       for a in entry['addr_info'] if a['family'] == 'inet')
    assert addresses == ['198.51.100.1/24', '203.0.113.1/24']
    default = ip_json(ns, 'route', 'show', 'default')
    assert [(r['gateway'], r['dev']) for r in default] == [('203.0.113.254', 'br0')]


def make_uplink(netns):
    """A host whose eth0 reaches a gateway namespace, with address and default route."""
    host, gateway = netns('kt-host'), netns('kt-gw')
    veth(host, 'eth0', gateway, 'gw0')
    run(['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'gw0'], netns=gateway)
    run(['ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'gw0'], netns=gateway)
    run(['ip', 'addr', 'add', '192.0.2.10/24', 'dev', 'eth0'], netns=host)
    run(['ip', 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'eth0'], netns=host)
    run(['ip', 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.1', 'dev', 'eth0', 'metric', '7'],
        netns=host)
    return host, gateway


def test_takeover_moves_address_and_routes_and_traffic_keeps_flowing(play, netns):
    host, _gateway = make_uplink(netns)
    eth0_mac = link(host, 'eth0')['address']
    assert ping(host, '192.0.2.1') and ping(host, '198.51.100.1')

    args = dict(name='br0', netns=host, stp=False, forward_delay=0, takeover_from='eth0')
    first, second = play({MODULE: args}, {MODULE: args})

    assert first['changed'] and not first.get('failed'), first
    assert second['changed'] is False, second['plan']
    assert link(host, 'eth0')['master'] == 'br0'
    assert link(host, 'br0')['address'] == eth0_mac, 'the LAN knows the uplink MAC: keep it'
    on_eth0 = [a for e in ip_json(host, 'address', 'show', 'dev', 'eth0') for a in e['addr_info']
               if a['family'] == 'inet']
    assert on_eth0 == []
    routes = dict((r['dst'], r) for r in ip_json(host, 'route', 'show'))
    assert routes['default']['dev'] == 'br0' and routes['default']['gateway'] == '192.0.2.1'
    assert routes['198.51.100.0/24']['dev'] == 'br0' and routes['198.51.100.0/24']['metric'] == 7
    # The default route and the static route both carry packets through the bridge.
    assert ping(host, '192.0.2.1') and ping(host, '198.51.100.1')


def test_takeover_in_check_mode_touches_nothing(play, netns):
    host, _gateway = make_uplink(netns)
    before = snapshot(host)
    result = play.one(MODULE, check=True, name='br0', netns=host, takeover_from='eth0')
    assert result['changed']
    assert 'remove address 192.0.2.10/24 from eth0' in result['plan']
    assert snapshot(host) == before
    assert ping(host, '192.0.2.1')


@pytest.mark.parametrize('args, message', [
    (dict(name='br-sixteen-chars'), 'is 16 characters long; Linux interface names have at most 15'),
    (dict(name='br0', ports=['nosuchport']), 'port nosuchport does not exist'),
    (dict(name='br0', stp=True, forward_delay=0), 'forward_delay 0 needs stp: false'),
    (dict(name='br0', addresses=['192.0.2.300/24']), 'is not a valid IPv4 or IPv6 address'),
    (dict(name='br0', addresses=['192.0.2.1']), 'needs a prefix length'),
    (dict(name='br0', hello_time=20), 'hello_time must be between 1 and 10'),
    (dict(name='br0', ports=[{'name': 'eth1', 'cost': 0}]), 'port eth1 cost must be between 1'),
    (dict(name='br0', ports=[{'name': 'eth1', 'hairpn': True}]), 'unknown option(s) hairpn'),
    (dict(name='br0', addresses=['192.0.2.1/24'], gateway='198.51.100.1'),
     'gateway 198.51.100.1 is not inside any subnet of br0'),
    (dict(name='br0', mac='01:00:5e:00:00:01'), 'is a multicast address'),
])
def test_bad_input_fails_with_its_message_and_touches_nothing(play, netns, args, message):
    ns = netns()
    veth(ns, 'eth1')
    play.one(MODULE, name='br0', netns=ns, stp=True, addresses=['203.0.113.1/24'])
    before = snapshot(ns)

    result = play.one(MODULE, netns=ns, **args)

    assert result.get('failed'), result
    assert message in result['msg'], result['msg']
    assert snapshot(ns) == before


def test_all_problems_are_reported_at_once(play, netns):
    ns = netns()
    result = play.one(MODULE, name='br0', netns=ns, stp=True, forward_delay=0,
                      addresses=['nonsense/24'], ports=['ghost'])
    assert result.get('failed')
    assert len(result['problems']) == 2, result['problems']  # ports are checked after validation
    result = play.one(MODULE, name='br0', netns=ns, ports=['ghost', 'phantom'])
    assert len(result['problems']) == 2, result['problems']


def test_forward_delay_zero_is_refused_when_the_existing_bridge_runs_stp(play, netns):
    ns = netns()
    play.one(MODULE, name='br0', netns=ns, stp=True)
    before = snapshot(ns)
    result = play.one(MODULE, name='br0', netns=ns, forward_delay=0)
    assert result.get('failed') and 'needs stp: false' in result['msg']
    assert snapshot(ns) == before


def test_missing_namespace_is_an_error_never_created(play):
    result = play.one(MODULE, name='br0', netns='kt-does-not-exist')
    assert result.get('failed')
    assert "network namespace 'kt-does-not-exist' does not exist" in result['msg']
    assert 'kt-does-not-exist' not in run(['ip', 'netns', 'list']).stdout


def test_port_of_another_bridge_is_not_stolen(play, netns):
    ns = netns()
    veth(ns, 'eth1')
    play.one(MODULE, name='br-a', netns=ns, ports=['eth1'])
    before = snapshot(ns)
    result = play.one(MODULE, name='br-b', netns=ns, ports=['eth1'])
    assert result.get('failed') and 'eth1 is already a port of br-a' in result['msg']
    assert snapshot(ns) == before


def test_a_layer3_port_is_refused_before_anything_is_touched(play, netns):
    # Kernel refusals in the middle of a run, and their rollback, are provoked one by
    # one in test_fault_injection.py.
    ns = netns()
    veth(ns, 'eth1')
    # The kernel will not bridge an L3 tun device (EINVAL): said before trying.
    run(['ip', 'tuntap', 'add', 'dev', 'tun0', 'mode', 'tun'], netns=ns)
    before = snapshot(ns)

    result = play.one(MODULE, name='br0', netns=ns, ports=['eth1', 'tun0'],
                      addresses=['192.0.2.1/24'])

    assert result.get('failed'), result
    assert 'port tun0 is not an Ethernet device (a tun, layer 3 only)' in result['msg']
    assert 'rolled back' not in result['msg']
    assert link(ns, 'br0') is None
    assert snapshot(ns) == before


def test_absent_removes_the_bridge_and_keeps_its_ports(play, netns):
    ns = netns()
    veth(ns, 'eth1')
    play.one(MODULE, name='br0', netns=ns, ports=['eth1'])
    first, second = play({MODULE: dict(name='br0', netns=ns, state='absent')},
                         {MODULE: dict(name='br0', netns=ns, state='absent')})
    assert first['changed'] and second['changed'] is False
    assert link(ns, 'br0') is None
    assert link(ns, 'eth1') is not None and 'master' not in link(ns, 'eth1')


def test_absent_refuses_to_remove_a_link_of_another_kind(play, netns):
    ns = netns()
    veth(ns, 'eth1')
    result = play.one(MODULE, name='eth1', netns=ns, state='absent')
    assert result.get('failed') and 'is a veth link, not a bridge' in result['msg']
    assert link(ns, 'eth1') is not None


def test_traffic_crosses_the_bridge_between_two_endpoints(play, netns):
    host, vm1, vm2 = netns('kt-host'), netns('kt-vm'), netns('kt-vm')
    veth(host, 'vnet1', vm1, 'eth0')
    veth(host, 'vnet2', vm2, 'eth0')
    run(['ip', 'addr', 'add', '192.0.2.11/24', 'dev', 'eth0'], netns=vm1)
    run(['ip', 'addr', 'add', '192.0.2.12/24', 'dev', 'eth0'], netns=vm2)
    assert not ping(vm1, '192.0.2.12'), 'no bridge yet: the endpoints must not reach each other'

    play.one(MODULE, name='br0', netns=host, stp=False, forward_delay=0, ports=['vnet1', 'vnet2'])
    # The unanswered ping above left a failed ARP entry: resolve afresh, and give a loaded
    # machine more than one echo to answer.
    run(['ip', 'neigh', 'flush', 'all'], netns=vm1)
    assert ping(vm1, '192.0.2.12', count=3)

    # isolated ports cannot talk to each other: proves the port option reaches the data path
    play.one(MODULE, name='br0', netns=host, ports=[{'name': 'vnet1', 'isolated': True},
                                                    {'name': 'vnet2', 'isolated': True}])
    run(['ip', 'neigh', 'flush', 'all'], netns=vm1)
    assert not ping(vm1, '192.0.2.12')
