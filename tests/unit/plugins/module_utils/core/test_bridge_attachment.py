"""The bridge option every link module takes: a bridge name or a dict with port options."""

import pytest

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import (
    bridge_attachment, parse_bridge_attachment)

NOT_A_BRIDGE = 'bridge must be a bridge name, or a dict with name and port options'


@pytest.mark.parametrize('value', ['br0', {'name': 'br0'}])
def test_a_name_or_a_dict_names_the_bridge(value):
    assert parse_bridge_attachment(value) == ('br0', {}, [])
    facet = bridge_attachment('vx42', value)
    assert facet.bridge == 'br0' and [port.name for port in facet.ports] == ['vx42']
    assert facet.validate() == []


def test_port_options_are_converted_like_module_options():
    facet = bridge_attachment('vx42', {'name': 'br0', 'cost': '7', 'hairpin': 'yes'})
    assert dict(facet.ports[0].options) == {'hairpin': True, 'cost': 7}
    assert facet.validate() == []


def test_no_bridge_is_no_facet():
    assert bridge_attachment('vx42', None) is None


@pytest.mark.parametrize('value, message', [
    (5, NOT_A_BRIDGE),
    ({'cost': 3}, NOT_A_BRIDGE),
    ({'name': ''}, NOT_A_BRIDGE),
    ({'name': 'br0', 'hairpn': True}, 'unknown option(s) hairpn'),
    ({'name': 'br0', 'cost': 'x'}, 'port vx42 cost must be a int'),
    ({'name': 'br0', 'priority': 64}, 'port vx42 priority must be between 0 and 63'),
])
def test_a_bad_value_is_a_problem_of_the_request(value, message):
    problems = bridge_attachment('vx42', value).validate()
    assert any(message in problem for problem in problems), problems
