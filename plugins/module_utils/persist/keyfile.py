# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetworkManager keyfiles: the sections of one profile, rendered and parsed.

Written in the form every NetworkManager of the fleet reads: ``master=`` and
``slave-type=`` (a port keyfile with ``controller=``/``port-type=`` turns into a
standalone DHCP profile before 1.46), values as GKeyFile text.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import uuid
from collections import OrderedDict

PROFILE_PREFIX = 'kvmnet-'
# uuid5 namespace of this collection's profiles: the same link always gets the same
# UUID, so a rewritten profile is the same connection to NetworkManager.
PROFILE_NAMESPACE = uuid.UUID('6b766d6e-6574-4e68-9f73-746e65740001')


def profile_id(ifname):
    return PROFILE_PREFIX + ifname


def profile_filename(ifname):
    return profile_id(ifname) + '.nmconnection'


def whole_seconds(value, low, high):
    """The value as NetworkManager's integer seconds, or None when it cannot hold it."""
    if value is None or int(value) != value or not low <= value <= high:
        return None
    return int(value)


def value_text(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return '%s' % (value,)


class Profile:
    """One connection profile: ordered sections of ordered keys."""

    def __init__(self, ifname, nm_type):
        self.ifname = ifname
        self.sections = OrderedDict()
        self.set('connection', 'id', profile_id(ifname))
        self.set('connection', 'uuid', str(uuid.uuid5(PROFILE_NAMESPACE, ifname)))
        self.set('connection', 'type', nm_type)
        self.set('connection', 'interface-name', ifname)

    @property
    def nm_type(self):
        return self.sections['connection']['type']

    def set(self, section, key, value):
        if value is not None:
            self.sections.setdefault(section, OrderedDict())[key] = value_text(value)

    def update(self, sections):
        for section, keys in sections.items():
            for key, value in keys.items():
                self.set(section, key, value)

    def port_of(self, master, slave_type):
        self.set('connection', 'master', master)
        self.set('connection', 'slave-type', slave_type)

    @property
    def is_port(self):
        return 'master' in self.sections['connection']

    def render(self):
        if not self.is_port:
            for family in ('ipv4', 'ipv6'):
                self.sections.setdefault(family, OrderedDict()).setdefault(
                    'method', 'disabled' if family == 'ipv4' else 'ignore')
        lines = []
        for section, keys in self.sections.items():
            if lines:
                lines.append('')
            lines.append('[%s]' % section)
            lines.extend('%s=%s' % item for item in keys.items())
        return '\n'.join(lines) + '\n'


def ip_settings(addresses, gateway):
    """[ipv4]/[ipv6] sections for an exact address set and default gateway.

    The gateway rides on the family's first address (``address1=ip/len,gw``), the
    form every keyfile reader of the fleet knows.
    """
    sections = OrderedDict()
    gateway_family = 'ipv%d' % ipaddress.ip_address(u'%s' % gateway).version if gateway else None
    for text in addresses or []:
        interface = ipaddress.ip_interface(u'%s' % text)
        family = 'ipv%d' % interface.version
        keys = sections.setdefault(family, OrderedDict([('method', 'manual')]))
        value = str(interface)
        if len(keys) == 1 and family == gateway_family:
            value += ',' + gateway
        keys['address%d' % len(keys)] = value
    return sections


def route_settings(routes, address_sections):
    """``routeN=dst,gateway,metric`` keys for the main-table routes a takeover moved, in
    the families ``address_sections`` (from ip_settings) configure; returns the sections
    and the routes a keyfile of that link cannot hold (another table, no address of
    their family)."""
    sections, unwritten = OrderedDict(), []
    for route in routes or []:
        family = 'ipv%d' % ipaddress.ip_network(u'%s' % route['dst'], strict=False).version
        if route.get('table', 254) != 254 or family not in address_sections:
            unwritten.append(route['dst'])
            continue
        keys = sections.setdefault(family, OrderedDict())
        value = '%s,%s' % (route['dst'], route.get('gateway') or ('0.0.0.0' if family == 'ipv4' else '::'))
        if route.get('priority') is not None:
            value += ',%d' % route['priority']
        keys['route%d' % (len(keys) + 1)] = value
    return sections, unwritten


def parse(text):
    """Sections of a keyfile as {section: {key: value}}; comments and blanks dropped."""
    sections = OrderedDict()
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('[') and line.endswith(']'):
            current = sections.setdefault(line[1:-1], OrderedDict())
        elif '=' in line and current is not None:
            key, value = line.split('=', 1)
            current[key.strip()] = value.strip()
    return sections
