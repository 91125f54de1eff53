"""Keyfile rendering: what each kind writes, what it cannot hold, the port form."""

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.addresses import Addresses
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import BridgePorts, PortSpec
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.fdb import VxlanFdb
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.bond import BondKind, BondMembers
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.bridge import BridgeKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.macvlan import MacvlanKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.tap import TapKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.team import TeamKind, Teamd
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vlan import VlanKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vxlan import VxlanKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.keyfile import (
    ip_settings, parse, whole_seconds)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.profiles import render


def nics(*names):
    return lambda name: name in names


def sections(rendered, ifname):
    return parse(rendered.profile(ifname).render())


def test_bridge_always_says_stp_and_keeps_zero_delay_for_the_restore():
    bridge = LinkFacet(BridgeKind(), 'br0', options=dict(stp=False, forward_delay=0, hello_time=2.0,
                                                         multicast_snooping=False),
                       mac='52:54:00:00:00:01')
    rendered = render([('linux_bridge@br0', [bridge])])
    keys = sections(rendered, 'br0')
    assert keys['bridge'] == OrderedDict([('stp', 'false'), ('hello-time', '2'),
                                          ('multicast-snooping', 'false')])
    assert keys['ethernet']['cloned-mac-address'] == '52:54:00:00:00:01'
    assert keys['ipv4'] == {'method': 'disabled'} and keys['ipv6'] == {'method': 'ignore'}
    # NetworkManager's forward delay is 2-30 s: 0 is re-applied at boot instead.
    assert rendered.gaps['linux_bridge@br0'] == ['forward_delay of br0']


def test_takeover_nic_becomes_a_port_and_the_bridge_gets_the_addresses():
    bridge = LinkFacet(BridgeKind(), 'br0', options=dict(stp=False))
    ports = BridgePorts('br0', [PortSpec('eth0'), PortSpec('vnet3', isolated=True, cost=10)])
    addresses = Addresses('br0', ['192.0.2.10/24', '2001:db8::10/64'], '192.0.2.1', 'eth0')
    rendered = render([('linux_bridge@br0', [bridge, ports, addresses])], nic=nics('eth0'))
    port = sections(rendered, 'eth0')
    assert port['connection']['type'] == 'ethernet'
    assert (port['connection']['master'], port['connection']['slave-type']) == ('br0', 'bridge')
    assert 'controller' not in port['connection'] and 'ipv4' not in port
    keys = sections(rendered, 'br0')
    assert keys['ipv4'] == OrderedDict([('method', 'manual'), ('address1', '192.0.2.10/24,192.0.2.1')])
    assert keys['ipv6'] == OrderedDict([('method', 'manual'), ('address1', '2001:db8::10/64')])
    # vnet3 is no NIC and no link of ours: no profile; its isolation is the restore's.
    assert rendered.profile('vnet3') is None
    assert rendered.gaps['linux_bridge@br0'] == ['isolated vnet3', 'port vnet3 of br0']


def test_vlan_flags_are_one_number_and_qos_maps_sorted():
    vlan = LinkFacet(VlanKind(), 'eth1.10', options=OrderedDict([
        ('parent', 'eth1'), ('vlan_id', 10), ('protocol', '802.1ad'), ('reorder_hdr', True),
        ('gvrp', False), ('mvrp', True), ('loose_binding', False),
        ('egress_qos_map', {'5': 3, '1': 2})]))
    attach = BridgePorts('brvlan-10', [PortSpec('eth1.10', hairpin=True)])
    keys = sections(render([('vlan_sub@eth1.10', [vlan, attach])]), 'eth1.10')
    assert keys['vlan'] == OrderedDict([('parent', 'eth1'), ('id', '10'), ('flags', '9'),
                                        ('egress-priority-map', '1:2;5:3'), ('protocol', '802.1ad')])
    assert keys['bridge-port'] == {'hairpin-mode': 'true'}
    assert keys['connection']['master'] == 'brvlan-10'


def test_bond_members_and_team_ports_get_port_profiles():
    bond = LinkFacet(BondKind(), 'bond0', options=dict(mode='active-backup', miimon=100))
    members = BondMembers('bond0', ['eth2', 'eth3'])
    team = LinkFacet(TeamKind(), 'team0')
    teamd = Teamd('team0', {'runner': {'name': 'activebackup'}, 'ports': {'eth4': {'prio': 10}}})
    rendered = render([('bond_iface@bond0', [bond, members]), ('team_iface@team0', [team, teamd])],
                      nic=nics('eth2', 'eth3', 'eth4'))
    assert sections(rendered, 'bond0')['bond'] == {'mode': 'active-backup', 'miimon': '100'}
    assert sections(rendered, 'eth3')['connection']['slave-type'] == 'bond'
    assert sections(rendered, 'team0')['team'] == {'config': '{"runner":{"name":"activebackup"}}'}
    assert sections(rendered, 'eth4')['team-port'] == {'config': '{"prio":10}'}


def test_vxlan_her_list_and_missing_remote_are_gaps_and_port_is_written():
    vxlan = LinkFacet(VxlanKind(), 'vx100', options=dict(vni=100, dstport=4789, dev='br0',
                                                         learning=False, ttl=0, tos=0))
    fdb = VxlanFdb('vx100', vxlan, remotes=['192.0.2.1', '192.0.2.3'])
    rendered = render([('vxlan_vtep@vx100', [vxlan, fdb])])
    keys = sections(rendered, 'vx100')
    assert keys['vxlan']['destination-port'] == '4789' and keys['vxlan']['learning'] == 'false'
    assert rendered.gaps['vxlan_vtep@vx100'] == ['remote of vx100', 'fdb of vx100']


def test_macvtap_is_a_macvlan_with_tap_and_vm_taps_get_no_profile():
    options = dict(parent='eth5', mode='vepa', nopromisc=True)
    macvtap = LinkFacet(MacvlanKind(tap=True), 'mvt0', options=options)
    tap = LinkFacet(TapKind(), 'web1-0')
    rendered = render([('macvlan_iface@mvt0', [macvtap]), ('x@web1-0', [tap])])
    assert sections(rendered, 'mvt0')['macvlan'] == OrderedDict([
        ('parent', 'eth5'), ('mode', '1'), ('promiscuous', 'false'), ('tap', 'true')])
    assert rendered.profile('web1-0') is None
    assert rendered.gaps['x@web1-0'] == ['tun link web1-0']


def test_values_and_parsing():
    assert whole_seconds(15.0, 2, 30) == 15
    assert whole_seconds(0.5, 0, 30) is None and whole_seconds(0, 2, 30) is None
    assert list(ip_settings(['192.0.2.1/24'], '2001:db8::1')) == ['ipv4']
    assert parse('# c\n[a]\nk = v\n\n[b]\nx=1=2\n') == {'a': {'k': 'v'}, 'b': {'x': '1=2'}}
