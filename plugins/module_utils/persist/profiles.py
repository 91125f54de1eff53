# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetworkManager profiles from stored desired state, read through the facets.

Every record (a module name and its params) is turned into the same facets the module
runs; the profiles follow from them: a LinkFacet is a profile of its kind, a bridge
port, bond or team member is ``master=``/``slave-type=`` on the member's profile (an
ethernet profile for a NIC), an address set is [ipv4]/[ipv6]. Rendering all records
at once lets a bridge module name a bond another module made as its port.
What a facet asks for that no keyfile can say is returned as the record's gaps.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.addresses import Addresses
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import BridgePorts
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.fdb import VxlanFdb
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.bond import BondMembers
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.macvlan import SourceMacs
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.team import Teamd
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.keyfile import Profile, ip_settings, route_settings
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.nm import RENDERERS
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.nm.team import team_config

# Bridge port options a [bridge-port] setting holds, by keyfile key; the rest
# (learning, unicast_flood, isolated) exist in no NetworkManager version.
BRIDGE_PORT_KEYS = OrderedDict([('priority', 'priority'), ('cost', 'path-cost'),
                                ('hairpin', 'hairpin-mode')])


# Kind options that name the link a link sits on.
LOWER_OPTIONS = ('parent', 'dev')


def is_nic(name):
    """A physical NIC (it has a device behind it), which gets an ethernet port profile."""
    return os.path.exists('/sys/class/net/%s/device' % name)


class Rendered:
    """Profiles by interface name, and per record what only the restore can apply."""

    def __init__(self):
        self.profiles = OrderedDict()
        self.gaps = OrderedDict()
        # NICs our links sit on (a VLAN's parent, a VTEP's dev): NetworkManager must
        # bring them up without running DHCP on them.
        self.lower_nics = []
        self._ports = []
        self._addresses = []

    def profile(self, ifname):
        return self.profiles.get(ifname)


def render(entries, nic=is_nic, routes=None):
    """Profiles for ``entries``, a list of (record key, facets) in build order;
    ``routes``: {record key: the routes a takeover moved onto its link}."""
    rendered = Rendered()
    for key, facets in entries:
        rendered.gaps[key] = gaps = []
        for facet in facets:
            gaps.extend(_render_facet(rendered, key, facet))
    for key, port, master, slave_type, sections in rendered._ports:
        profile = rendered.profiles.get(port)
        if profile is None and nic(port):
            profile = rendered.profiles[port] = Profile(port, 'ethernet')
        if profile is None:
            rendered.gaps[key].append('port %s of %s' % (port, master))
            continue
        profile.port_of(master, slave_type)
        profile.update(sections)
    for key, facets in entries:
        for facet in facets:
            if isinstance(facet, LinkFacet) and facet.state == 'present':
                for option in LOWER_OPTIONS:
                    lower = facet.wanted.get(option)
                    if lower and lower not in rendered.profiles and nic(lower) \
                            and lower not in rendered.lower_nics:
                        rendered.lower_nics.append(lower)
    for key, link, sections in rendered._addresses:
        profile = rendered.profiles.get(link)
        if profile is None or profile.is_port:
            rendered.gaps[key].append('addresses of %s' % link)
            continue
        profile.update(sections)
        extra, unwritten = route_settings((routes or {}).get(key), sections)
        profile.update(extra)
        rendered.gaps[key].extend('route %s of %s' % (route, link) for route in unwritten)
    return rendered


def _render_facet(rendered, key, facet):
    """Add what ``facet`` asks for; return what no keyfile can hold."""
    if isinstance(facet, LinkFacet):
        return _render_link(rendered, facet)
    if isinstance(facet, BridgePorts):
        gaps = []
        for spec in facet.ports:
            keys = OrderedDict((nm_key, spec.options[option])
                               for option, nm_key in BRIDGE_PORT_KEYS.items() if option in spec.options)
            gaps.extend('%s %s' % (option, spec.name) for option in spec.options
                        if option not in BRIDGE_PORT_KEYS)
            sections = OrderedDict([('bridge-port', keys)]) if keys else OrderedDict()
            rendered._ports.append((key, spec.name, facet.bridge, 'bridge', sections))
        return gaps
    if isinstance(facet, BondMembers):
        for member in facet.ports or []:
            rendered._ports.append((key, member, facet.bond, 'bond', OrderedDict()))
        return []
    if isinstance(facet, Teamd):
        if facet.state != 'present' or not facet.wanted:
            return []
        config, ports = team_config(facet.wanted)
        rendered.profiles[facet.team].set('team', 'config', config)
        for port, port_config in ports.items():
            rendered._ports.append((key, port, facet.team, 'team',
                                    OrderedDict([('team-port', OrderedDict([('config', port_config)]))])))
        return []
    if isinstance(facet, Addresses):
        settings = ip_settings(facet.addresses_given, facet.gateway_given)
        rendered._addresses.append((key, facet.link, settings))
        return []
    if isinstance(facet, VxlanFdb):
        return ['fdb of %s' % facet.name] if facet.remotes or facet.entries else []
    if isinstance(facet, SourceMacs):
        return ['source_macs of %s' % facet.link.name] if facet.wanted else []
    return []


def _render_link(rendered, facet):
    if facet.state != 'present':
        return []
    kind = facet.link_kind.kind
    renderer = RENDERERS.get(kind)
    if renderer is None or getattr(facet, 'target', None):
        return ['%s link %s' % (kind, facet.name)]
    profile = rendered.profiles[facet.name] = Profile(facet.name, renderer.NM_TYPE)
    if kind == 'macvtap':
        sections, gaps = renderer.settings(facet.wanted, tap=True)
    else:
        sections, gaps = renderer.settings(facet.wanted)
    profile.update(sections)
    if kind in ('bridge', 'bond', 'team'):
        # Ports come up with their master, also when NetworkManager re-activates it.
        profile.set('connection', 'autoconnect-slaves', 1)
    profile.set('ethernet', 'mtu', facet.mtu)
    profile.set('ethernet', 'cloned-mac-address', facet.mac)
    if not facet.up:
        profile.set('connection', 'autoconnect', False)
    return ['%s of %s' % (option, facet.name) for option in gaps]
