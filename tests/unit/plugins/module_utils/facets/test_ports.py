"""The port-list rules every master (bridge, bond, team) applies, in one wording."""

import pytest

from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.ports import port_list_problems
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.bond import BondMembers


def test_a_clean_list_has_no_problem():
    assert port_list_problems(['eth1', 'eth2'], 'bond0') == []


def test_repeats_bad_names_and_the_master_itself_are_all_reported():
    assert port_list_problems(['eth1', 'eth1', 'bad name', 'bond0'], 'bond0') == [
        'port eth1 is listed twice',
        'port name \'bad name\' is not a valid interface name (no spaces, "/" or ":")',
        'bond0 cannot be a port of itself',
    ]


@pytest.mark.parametrize('ports', [['eth1', 'eth1'], ['bond0']])
def test_a_bond_reports_them_before_reading_the_host(ports):
    assert BondMembers('bond0', ports).validate() == port_list_problems(ports, 'bond0') != []
