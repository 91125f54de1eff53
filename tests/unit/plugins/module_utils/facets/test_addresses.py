"""Address removals planned around the kernel's primary/secondary rule (pure logic)."""

from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.addresses import Addresses


def removals(order, wanted):
    return [op.summary for op in Addresses('br0')._removal_ops(order, set(wanted))]


def test_removing_a_primary_removes_its_subnet_last_first_and_adds_back_what_stays():
    assert removals(['10.0.0.10/24', '10.0.0.11/24'], ['10.0.0.11/24']) == [
        'remove address 10.0.0.11/24 from br0',
        'remove address 10.0.0.10/24 from br0',
        'add address 10.0.0.11/24 to br0 again (the kernel drops it with 10.0.0.10/24)']


def test_a_secondary_in_the_middle_takes_only_the_tail_after_it():
    order = ['10.0.0.1/24', '10.0.0.2/24', '10.0.0.3/24', '10.0.0.4/24']
    assert removals(order, ['10.0.0.1/24', '10.0.0.3/24', '10.0.0.4/24']) == [
        'remove address 10.0.0.4/24 from br0',
        'remove address 10.0.0.3/24 from br0',
        'remove address 10.0.0.2/24 from br0',
        'add address 10.0.0.3/24 to br0 again (the kernel drops it with 10.0.0.2/24)',
        'add address 10.0.0.4/24 to br0 again (the kernel drops it with 10.0.0.2/24)']


def test_other_subnets_and_ipv6_are_left_alone():
    order = ['10.0.0.1/24', '10.1.0.1/24', '2001:db8::1/64', '2001:db8::2/64']
    assert removals(order, ['10.0.0.1/24', '2001:db8::1/64']) == [
        'remove address 10.1.0.1/24 from br0', 'remove address 2001:db8::2/64 from br0']
    assert removals(order, order) == []
