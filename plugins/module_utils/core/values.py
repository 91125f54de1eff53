# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Codecs between the values operators write and the values netlink carries.

A codec knows three things about one attribute: how to encode the user's value for
the kernel, how to decode what the kernel reports, and when two user values are the
same (the kernel rounds some of them).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re

IFNAMSIZ = 15
_IFNAME_BAD = re.compile(r'[\s/:]')
_MAC = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')


class Codec:
    """Identity codec for integers; subclasses change units or vocabulary.

    ``ansible_type`` is the type users write the value in (the argument spec's).
    """

    ansible_type = 'int'

    def __init__(self, minimum=None, maximum=None, unit=''):
        self.minimum = minimum
        self.maximum = maximum
        self.unit = unit

    def encode(self, value):
        return value

    def decode(self, value):
        return value

    def same(self, wanted, actual):
        return wanted == actual

    def check(self, name, value):
        """Return a problem string, or None when ``value`` is acceptable."""
        if self.minimum is not None and value < self.minimum or \
                self.maximum is not None and value > self.maximum:
            return '%s must be between %s and %s%s, got %s' % (
                name, number(self.minimum), number(self.maximum), self.unit, number(value))
        return None


def number(value):
    """1.0 -> '1', 1.25 -> '1.25': how people write numbers in messages."""
    return '%g' % value if isinstance(value, float) else str(value)


class Flag(Codec):
    """A kernel u8 0/1 shown to users as a boolean."""

    ansible_type = 'bool'

    def encode(self, value):
        return 1 if value else 0

    def decode(self, value):
        return bool(value)

    def check(self, name, value):
        return None


class Choice(Codec):
    """A kernel enum shown to users by name; ``names`` is (name, value) pairs in order."""

    ansible_type = 'str'

    def __init__(self, names):
        super(Choice, self).__init__()
        self.choices = [name for name, _value in names]
        self.names = dict(names)
        self.values = dict((v, k) for k, v in self.names.items())

    def encode(self, value):
        return self.names[value]

    def decode(self, value):
        return self.values.get(value, value)

    def check(self, name, value):
        if value not in self.names:
            return '%s must be one of %s, got %s' % (name, ', '.join(sorted(self.names)), value)
        return None


class Centiseconds(Codec):
    """Seconds for users (like brctl), clock_t centiseconds for netlink.

    The kernel stores jiffies, so a value can read back up to one centisecond off
    (123 cs reads 122 with HZ=250); that rounding is not a change.
    """

    ansible_type = 'float'

    def __init__(self, minimum=None, maximum=None):
        super(Centiseconds, self).__init__(minimum, maximum, unit=' s')

    def encode(self, value):
        return int(round(float(value) * 100))

    def decode(self, value):
        return round(value / 100.0, 2)

    def same(self, wanted, actual):
        return wanted is not None and actual is not None and \
            abs(self.encode(wanted) - self.encode(actual)) <= 1


def ifname_problem(option, name):
    """Why ``name`` cannot be an interface name, or None."""
    if not name:
        return '%s must not be empty' % option
    if len(name) > IFNAMSIZ:
        return ('%s %r is %d characters long; Linux interface names have at most %d' %
                (option, name, len(name), IFNAMSIZ))
    if name in ('.', '..') or _IFNAME_BAD.search(name):
        return '%s %r is not a valid interface name (no spaces, "/" or ":")' % (option, name)
    return None


def normalize_mac(value):
    """Lower-case colon form, or None when ``value`` is not a MAC address."""
    if value is None:
        return None
    mac = str(value).strip().lower().replace('-', ':')
    return mac if _MAC.match(mac) else None


def mac_problem(option, value):
    mac = normalize_mac(value)
    if mac is None:
        return '%s %r is not a MAC address (write it as 52:54:00:12:34:56)' % (option, value)
    if int(mac[:2], 16) & 1:
        return '%s %s is a multicast address; an interface needs a unicast MAC' % (option, mac)
    if mac == '00:00:00:00:00:00':
        return '%s must not be all zeros' % option
    return None


def parse_interface_address(option, value):
    """``192.0.2.1/24`` -> ip_interface; raises ValueError with an operator message."""
    text = str(value)
    if '/' not in text:
        raise ValueError('%s %r needs a prefix length, e.g. %s/24' % (option, text, text))
    try:
        return ipaddress.ip_interface(u'%s' % text)
    except ValueError:
        raise ValueError('%s %r is not a valid IPv4 or IPv6 address with prefix (CIDR)' % (option, text))


def parse_ip(option, value):
    try:
        return ipaddress.ip_address(u'%s' % value)
    except ValueError:
        raise ValueError('%s %r is not a valid IPv4 or IPv6 address' % (option, value))


def ipv4_problem(option, value, multicast=None):
    """Why ``value`` cannot be used as ``option``, or None."""
    try:
        address = ipaddress.IPv4Address(u'%s' % value)
    except ValueError:
        return '%s %r is not a valid IPv4 address (IPv6 underlays are not supported yet)' % (
            option, value)
    if multicast is True and not address.is_multicast:
        return '%s %s is not a multicast address (224.0.0.0/4); for one peer use remote' % (
            option, value)
    if multicast is False and address.is_multicast:
        return ('%s %s is a multicast address; use group (with dev) for multicast' % (option, value))
    if multicast is False and address.is_unspecified:
        return '%s must not be 0.0.0.0' % option
    return None
