"""Bridge option rules that the kernel does not enforce, or enforces in a bad order."""

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import BridgePorts, PortSpec
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.bridge import BridgeKind

KIND = BridgeKind()


def test_forward_delay_zero_with_stp_on_is_refused():
    problems = KIND.validate({'stp': True, 'forward_delay': 0})
    assert problems == ['forward_delay 0 needs stp: false; with stp: true the kernel accepts 2 to 30 seconds']


def test_forward_delay_zero_with_stp_off_is_fine():
    assert KIND.validate({'stp': False, 'forward_delay': 0}) == []


def test_stp_off_goes_before_a_short_forward_delay():
    changes = OrderedDict([('forward_delay', (0, 15.0)), ('stp', (False, True))])
    assert [list(stage) for stage in KIND.stages(changes, None)] == [['stp'], ['forward_delay']]


def test_stp_on_goes_after_the_new_timers():
    changes = OrderedDict([('stp', (True, False)), ('forward_delay', (4, 0.0))])
    assert [list(stage) for stage in KIND.stages(changes, None)] == [['forward_delay'], ['stp']]


def test_port_dicts_convert_like_module_options():
    port = PortSpec.parse({'name': 'eth1', 'hairpin': 'yes', 'cost': '7'})
    assert port.options == OrderedDict([('hairpin', True), ('cost', 7)])


def test_port_problems_are_all_reported():
    ports = BridgePorts('br0', [{'name': 'eth1', 'hairpn': True}, {'name': 'eth2', 'cost': 0},
                                'br0', 'eth2', {'name': 'eth3', 'learning': 'perhaps'}])
    problems = ports.validate()
    assert any('unknown option(s) hairpn' in p for p in problems)
    assert any('port eth2 cost must be between 1 and 65535' in p for p in problems)
    assert any('br0 cannot be a port of itself' in p for p in problems)
    assert any('port eth2 is listed twice' in p for p in problems)
    assert any('port eth3 learning must be a bool' in p for p in problems)
