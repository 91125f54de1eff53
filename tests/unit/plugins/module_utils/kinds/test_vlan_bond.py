"""Pure logic of the vlan and bond kinds: QoS maps, flag bits, names, the guardrail."""

from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import bond, vlan
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet


def test_qos_map_accepts_dict_and_list_and_drops_zero_targets():
    assert vlan.parse_qos_map('m', {'1': 3, 4: '5', 6: 0}, 7, 7) == ({1: 3, 4: 5}, [])
    assert vlan.parse_qos_map('m', ['1:3', ' 4 : 5 '], 7, 7) == ({1: 3, 4: 5}, [])


def test_qos_map_reports_every_bad_entry():
    mapping, problems = vlan.parse_qos_map('egress_qos_map', ['1:9', 'x', 'a:b', '2:1', '2:3'],
                                           0xffffffff, 7)
    assert mapping == {2: 1}
    assert len(problems) == 4, problems
    assert any('"to" 0-7' in p for p in problems)
    assert any('maps 2 twice' in p for p in problems)


def test_exact_qos_set_zeroes_unwanted_entries_and_undo_zeroes_added_ones():
    kind = vlan.VlanKind()
    stage, = kind.stages({'egress_qos_map': ({1: 3}, {2: 5})}, None)
    forward, backward = stage['egress_qos_map']
    assert dict(forward) == {1: 3, 2: 0}
    assert dict(backward) == {2: 5, 1: 0}
    codec = kind.options['egress_qos_map'].codec
    sent = codec.encode(forward)['attrs']
    assert ('IFLA_VLAN_QOS_MAPPING', {'from': 2, 'to': 0}) in sent


def test_flag_bits_share_one_attribute_with_a_mask():
    kind = vlan.VlanKind()
    facet = LinkFacet(kind, 'v', options={'gvrp': True, 'reorder_hdr': False, 'mvrp': None})
    arguments = facet._encode(None, facet.wanted)
    assert arguments == {'vlan_flags': {'flags': vlan.VLAN_FLAG_GVRP,
                                        'mask': vlan.VLAN_FLAG_GVRP | vlan.VLAN_FLAG_REORDER_HDR}}
    decoded = kind.options['reorder_hdr'].codec.decode({'flags': 3, 'mask': 0xffffffff})
    assert decoded is True


def test_default_name_must_fit_ifnamsiz():
    assert vlan.default_name_problem('eth0', 10) is None
    problem = vlan.default_name_problem('enp129s0f1np1', 100)
    assert 'enp129s0f1np1.100' in problem and 'set name' in problem


def test_guardrail_names_the_cause_and_the_safe_choices():
    for mode in ('balance-rr', 'broadcast', 'balance-tlb', 'balance-alb', 'balance-xor'):
        problem = bond.bridge_mode_problem('bond0', mode, False)
        assert 'learns the VM\'s MAC on the uplink' in problem
        assert 'active-backup' in problem and '802.3ad' in problem
        assert 'switch_configured: true' in problem
        assert bond.bridge_mode_problem('bond0', mode, True) is None
    assert bond.bridge_mode_problem('bond0', 'active-backup', False) is None
    assert bond.bridge_mode_problem('bond0', '802.3ad', False) is None


def test_bond_option_combinations():
    kind = bond.BondKind()
    assert kind.validate({'mode': '802.3ad', 'lacp_rate': 'fast', 'miimon': 100,
                          'updelay': 200}) == []
    problems = kind.validate({'mode': 'active-backup', 'lacp_rate': 'fast', 'miimon': 100,
                              'updelay': 150, 'downdelay': 0})
    assert len(problems) == 2, problems
    assert 'lacp_rate applies only to mode 802.3ad' in problems[0]
    assert 'round it down to 100' in problems[1]
    assert kind.validate({'miimon': 0, 'updelay': 100}) == [
        'updelay needs link monitoring: set miimon (e.g. miimon: 100)']
    assert 'primary applies only' in kind.validate({'mode': 'balance-rr', 'primary': 'eth0'})[0]
