"""Pure logic of the macvlan kind and the source-MAC facet (no kernel)."""

from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.macvlan import (
    MacvlanKind, MacvlanLink, MacvlanMode, NoPromisc, SourceMacs)


def test_mode_codec_reads_names_and_numbers():
    codec = MacvlanMode()
    assert codec.encode('bridge') == 4 and codec.encode('vepa') == 2
    assert codec.decode('source') == 'source' and codec.decode(8) == 'passthru'
    assert 'must be one of' in codec.check('mode', 'bogus')


def test_nopromisc_reads_pyroute2_names_and_bits():
    codec = NoPromisc()
    assert codec.decode('nopromisc') is True and codec.decode('none') is False
    assert codec.decode(3) is True and codec.decode(2) is False
    assert codec.encode(True) == 1 and codec.encode(False) == 0


def test_only_passthru_transitions_recreate():
    kind = MacvlanKind()
    assert kind.changes_in_place('mode', 'bridge', 'vepa')
    assert kind.changes_in_place('mode', 'source', 'private')
    assert not kind.changes_in_place('mode', 'passthru', 'bridge')
    assert not kind.changes_in_place('mode', 'bridge', 'passthru')
    assert not kind.changes_in_place('parent', 'eth1', 'eth0')
    assert kind.changes_in_place('nopromisc', True, False)


def test_macvtap_uses_its_own_attribute_names():
    tap = MacvlanKind(tap=True)
    assert tap.kind == 'macvtap'
    assert tap.options['mode'].keyword == 'macvtap_mode'
    assert tap.macaddr_keywords(0, 'x') == {'macvtap_macaddr_mode': 0, 'macvtap_macaddr': 'x'}


def test_all_problems_reported_together():
    link = MacvlanLink(MacvlanKind(), 'a-name-of-16-chr', mac='01:00:5e:00:00:01',
                       options=dict(parent='eth0', mode='vepa', nopromisc=True))
    problems = link.validate()
    assert any('at most 15' in p for p in problems)
    assert any('multicast' in p for p in problems)
    assert any('nopromisc only applies to mode passthru' in p for p in problems)


def test_passthru_refuses_a_mac():
    link = MacvlanLink(MacvlanKind(), 'pt0', mac='02:00:00:00:00:01',
                       options=dict(parent='eth0', mode='passthru'))
    assert any('mac cannot be set with mode passthru' in p for p in link.validate())


def test_target_equal_to_origin_is_no_move():
    link = MacvlanLink(MacvlanKind(), 'mv0', origin='ns1', target='ns1',
                       options=dict(parent='eth0'))
    assert link.target is None


class _Link:
    name = 'src0'
    link_kind = MacvlanKind()
    recreated = False


def test_source_macs_plan_is_the_set_difference():
    facet = SourceMacs(_Link(), ['02:00:00:00:00:0B', '02:00:00:00:00:0c'], 'source')
    assert facet.validate() == []
    plan = [op.summary for op in facet.plan(None, ['02:00:00:00:00:0a', '02:00:00:00:00:0b'])]
    assert plan == ['remove source MAC 02:00:00:00:00:0a from src0',
                    'add source MAC 02:00:00:00:00:0c to src0']
    assert facet.plan(None, ['02:00:00:00:00:0c', '02:00:00:00:00:0b']) == []
    assert facet.mismatches(['02:00:00:00:00:0c', '02:00:00:00:00:0b']) == []


def test_source_macs_need_mode_source_and_valid_macs():
    problems = SourceMacs(_Link(), ['zz'], 'bridge').validate()
    assert any('only applies to mode source' in p for p in problems)
    assert any("'zz' is not a MAC address" in p for p in problems)
