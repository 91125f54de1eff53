"""Codecs and validators: units, rounding, and the messages operators read."""

import pytest

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import values


def test_centiseconds_encode_seconds_for_netlink():
    codec = values.Centiseconds(0, 30)
    assert codec.encode(1.5) == 150
    assert codec.decode(150) == 1.5


@pytest.mark.parametrize('wanted, kernel_reads', [(1.23, 122), (33.33, 3332), (4, 400)])
def test_jiffies_rounding_of_one_centisecond_is_the_same_value(wanted, kernel_reads):
    codec = values.Centiseconds()
    assert codec.same(wanted, codec.decode(kernel_reads))


def test_a_real_difference_is_not_rounding():
    codec = values.Centiseconds()
    assert not codec.same(1.23, codec.decode(120))


def test_range_messages_write_numbers_as_people_do():
    assert values.Centiseconds(1, 10).check('hello_time', 20.0) == \
        'hello_time must be between 1 and 10 s, got 20'
    assert values.Codec(0, 63).check('priority', 5) is None


@pytest.mark.parametrize('name, fragment', [
    ('a' * 16, '16 characters long'),
    ('', 'must not be empty'),
    ('br 0', 'not a valid interface name'),
    ('br/0', 'not a valid interface name'),
])
def test_interface_names(name, fragment):
    assert fragment in values.ifname_problem('name', name)


def test_valid_interface_name():
    assert values.ifname_problem('name', 'brvlan-10') is None


@pytest.mark.parametrize('mac, fragment', [
    ('52:54:00:zz:00:01', 'is not a MAC address'),
    ('01:00:5e:00:00:01', 'multicast'),
    ('00:00:00:00:00:00', 'all zeros'),
])
def test_mac_problems(mac, fragment):
    assert fragment in values.mac_problem('mac', mac)


def test_mac_is_normalised():
    assert values.normalize_mac('52-54-00-AA-BB-CC') == '52:54:00:aa:bb:cc'


def test_interface_address_needs_a_prefix():
    with pytest.raises(ValueError, match='needs a prefix length'):
        values.parse_interface_address('address', '192.0.2.1')
    assert str(values.parse_interface_address('address', '2001:db8::1/64')) == '2001:db8::1/64'
