"""VXLAN rules and FDB planning that need no kernel: validation and what gets planned."""

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import PHASE_FDB
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.fdb import ALL_ZEROS, VxlanFdb
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vxlan import (
    IPv4Address, VxlanKind, VxlanLinkFacet)

KIND = VxlanKind()


def link_facet(**options):
    options.setdefault('vni', 42)
    return VxlanLinkFacet(KIND, 'vx42', options=options)


def fdb_facet(have=(), recreated=False, link_exists=True, **kwargs):
    link = link_facet()
    link._recreate_reasons = ['vni'] if recreated else []
    facet = VxlanFdb('vx42', link, **kwargs)
    facet.have = set(have)
    return facet, ({} if link_exists else None)


def summaries(facet, current):
    operations = facet.plan(None, current)
    assert all(op.phase == PHASE_FDB for op in operations)
    return [op.summary for op in operations]


def test_remote_and_group_share_one_attribute_but_show_apart():
    assert IPv4Address(multicast=False).decode('192.0.2.2') == '192.0.2.2'
    assert IPv4Address(multicast=True).decode('192.0.2.2') is None
    assert IPv4Address(multicast=True).decode('239.1.1.1') == '239.1.1.1'
    assert IPv4Address(multicast=False).decode('239.1.1.1') is None


def test_cleared_remote_reads_back_as_none():
    assert IPv4Address(multicast=False).same('0.0.0.0', None)


def test_cross_option_problems_come_together():
    problems = link_facet(remote='192.0.2.2', group='239.1.1.1').validate()
    assert any('mutually exclusive' in p for p in problems)
    assert any('needs dev' in p for p in problems)


def test_vni_zero_and_missing_vni_are_refused():
    assert link_facet(vni=0).validate() == ['vni must be between 1 and 16777215, got 0']
    facet = VxlanLinkFacet(KIND, 'vx42', options={'remote': '192.0.2.2'})
    assert facet.validate() == ['vni is required with state present (1-16777215)']


def test_remotes_conflict_with_remote_and_group():
    link = link_facet(remote='192.0.2.2')
    assert 'remotes and remote are mutually exclusive' in VxlanFdb('vx42', link, remotes=[]).validate()[0]
    link = link_facet(group='239.1.1.1', dev='eth0')
    assert 'remotes and group are mutually exclusive' in VxlanFdb('vx42', link, remotes=[]).validate()[0]


def test_bad_peers_and_entries_are_all_reported():
    facet = VxlanFdb('vx42', link_facet(), remotes=['192.0.2.2', '192.0.2.2', '239.1.1.1', 'x'],
                     entries=[{'mac': '01:00:5e:00:00:01', 'dst': '192.0.2.2'},
                              {'mac': '52:54:00:00:00:01', 'dst': '192.0.2.300'}])
    problems = facet.validate()
    assert len(problems) == 5, problems
    assert 'remotes lists 192.0.2.2 twice' in problems


def test_peers_are_added_and_dropped_exactly():
    facet, current = fdb_facet(have=[(ALL_ZEROS, '192.0.2.2'), (ALL_ZEROS, '192.0.2.3')],
                               remotes=['192.0.2.2', '192.0.2.4'])
    assert summaries(facet, current) == ['add flood to peer 192.0.2.4 on vx42',
                                         'remove flood to peer 192.0.2.3 from vx42']


def test_unmanaged_part_of_the_table_is_left_alone():
    facet, current = fdb_facet(have=[(ALL_ZEROS, '192.0.2.9'), ('52:54:00:00:00:01', '192.0.2.2')],
                               entries=[])
    assert summaries(facet, current) == ['remove entry 52:54:00:00:00:01 dst 192.0.2.2 from vx42']


def test_a_moved_mac_is_replaced_not_removed():
    facet, current = fdb_facet(have=[('52:54:00:00:00:01', '192.0.2.2')],
                               entries=[{'mac': '52:54:00:00:00:01', 'dst': '192.0.2.3'}])
    assert summaries(facet, current) == ['move entry 52:54:00:00:00:01 on vx42 dst 192.0.2.2 -> 192.0.2.3']


def test_a_recreate_carries_the_entries_over_so_nothing_is_planned_again():
    have = [(ALL_ZEROS, '192.0.2.2'), ('52:54:00:00:00:01', '192.0.2.2')]
    wanted = dict(remotes=['192.0.2.2'], entries=[{'mac': '52:54:00:00:00:01', 'dst': '192.0.2.2'}])
    facet, current = fdb_facet(have=have, **wanted)
    assert summaries(facet, current) == []
    facet, current = fdb_facet(have=have, recreated=True, **wanted)
    assert summaries(facet, current) == []
    facet, current = fdb_facet(link_exists=False, **wanted)
    assert len(summaries(facet, current)) == 2


def test_mac_case_does_not_count_as_a_change():
    facet, current = fdb_facet(have=[('52:54:00:00:00:0a', '192.0.2.2')],
                               entries=[{'mac': '52:54:00:00:00:0A', 'dst': '192.0.2.2'}])
    assert summaries(facet, current) == []
    assert facet.mismatches(facet.predict(current)) == []
