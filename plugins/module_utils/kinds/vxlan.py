# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VXLAN tunnel endpoint (IFLA_INFO_KIND "vxlan").

The kernel cannot change a VNI, the UDP port or UDP checksumming on a live link:
those recreate it. ``remote`` (unicast) and ``group`` (multicast) are one and the
same attribute, IFLA_VXLAN_GROUP; which of the two a value is depends on the address.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.options import Option
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import (
    BRIDGE_ATTACHMENT_OPTION, LinkModule, bridge_attachment, link_argument_spec, link_summary,
    module_link)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import Codec, Flag, ipv4_problem
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.fdb import VxlanFdb
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.base import KindOption, LinkKind

VNI_RANGE = (1, 16777215)
IANA_VXLAN_PORT = 4789
# Outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8: what the underlay MTU must leave room for.
VXLAN_OVERHEAD = 50
# IFLA_VXLAN_GROUP set to "any" clears the default destination.
NO_ADDRESS = '0.0.0.0'


class IPv4Address(Codec):
    """An IPv4 address; ``multicast`` True/False limits which ones this option shows.

    ``remote`` and ``group`` share IFLA_VXLAN_GROUP: each decodes only its own
    kind of address, so a VTEP in multicast mode has no ``remote`` and vice versa.
    """

    ansible_type = 'str'

    def __init__(self, multicast=None):
        super(IPv4Address, self).__init__()
        self.multicast = multicast

    def decode(self, value):
        if value in (None, NO_ADDRESS):
            return None
        if self.multicast is not None and ipaddress.IPv4Address(u'%s' % value).is_multicast \
                != self.multicast:
            return None
        return value

    def same(self, wanted, actual):
        # NO_ADDRESS means "no default destination", which reads back as nothing.
        return (None if wanted == NO_ADDRESS else wanted) == actual

    def check(self, name, value):
        if value == NO_ADDRESS and self.multicast is False:
            return None
        return ipv4_problem(name, value, self.multicast)


class VxlanKind(LinkKind):
    kind = 'vxlan'
    options = OrderedDict([
        ('vni', KindOption('IFLA_VXLAN_ID', Codec(*VNI_RANGE), in_place=False)),
        ('dstport', KindOption('IFLA_VXLAN_PORT', Codec(1, 65535), in_place=False,
                               default=IANA_VXLAN_PORT)),
        ('local', KindOption('IFLA_VXLAN_LOCAL', IPv4Address())),
        ('remote', KindOption('IFLA_VXLAN_GROUP', IPv4Address(multicast=False))),
        ('group', KindOption('IFLA_VXLAN_GROUP', IPv4Address(multicast=True))),
        ('dev', KindOption('IFLA_VXLAN_LINK', link_ref=True)),
        ('learning', KindOption('IFLA_VXLAN_LEARNING', Flag())),
        ('ttl', KindOption('IFLA_VXLAN_TTL', Codec(0, 255))),
        ('tos', KindOption('IFLA_VXLAN_TOS', Codec(0, 255))),
        ('udp_csum', KindOption('IFLA_VXLAN_UDP_CSUM', Flag(), in_place=False)),
    ])

    def validate(self, wanted):
        problems = []
        if wanted.get('remote') not in (None, NO_ADDRESS) and 'group' in wanted:
            problems.append('remote and group are mutually exclusive: remote is one unicast peer, '
                            'group a multicast group; give one of them')
        if 'group' in wanted and 'dev' not in wanted:
            problems.append('group %s needs dev, the underlay interface that joins the multicast '
                            'group' % wanted['group'])
        return problems


class VxlanLinkFacet(LinkFacet):
    """A VXLAN link whose MTU defaults to the underlay's MTU minus the VXLAN overhead.

    ``drop_remote``: a list of flooding peers replaces the default destination, so a
    ``remote`` or ``group`` the link still has is cleared.
    """

    def __init__(self, *args, **kwargs):
        self.drop_remote = kwargs.pop('drop_remote', False)
        super(VxlanLinkFacet, self).__init__(*args, **kwargs)

    def validate(self):
        problems = super(VxlanLinkFacet, self).validate()
        # Presence is a property of the request; the kind only sees values that are valid.
        if self.state == 'present' and 'vni' not in self.wanted:
            problems.append('vni is required with state present (%d-%d)' % VNI_RANGE)
        return problems

    def resolve(self, net, current):
        super(VxlanLinkFacet, self).resolve(net, current)
        if self.state == 'absent':
            return
        if self.drop_remote and current is not None:
            for key in ('remote', 'group'):
                if current.get(key):
                    self.wanted[key] = NO_ADDRESS
        underlay = self._underlay(net)
        if underlay is not None and self.mtu is None:
            self.mtu = underlay.mtu - VXLAN_OVERHEAD

    def _underlay(self, net):
        dev_name = self.wanted.get('dev')
        return net.link(dev_name) if dev_name and self.state == 'present' else None

    def check(self, net, current):
        problems = super(VxlanLinkFacet, self).check(net, current)
        if self.state == 'absent' or problems:
            return problems
        local = self.wanted.get('local')
        if local and local not in host_addresses(net):
            problems.append('local %s is not an address of this host%s: the tunnel would send '
                            'from an address nobody answers; give one of its own addresses (ip '
                            'address show) or add it first'
                            % (local, ' (namespace %s)' % net.netns if net.netns else ''))
        underlay = self._underlay(net)
        room = underlay.mtu - VXLAN_OVERHEAD if underlay is not None else None
        if room is not None and self.mtu > room:
            problems.append('mtu %d does not fit: dev %s has MTU %d and VXLAN needs %d bytes of it, '
                            'so at most %d; raise the MTU of %s or lower mtu'
                            % (self.mtu, underlay.name, underlay.mtu, VXLAN_OVERHEAD, room,
                               underlay.name))
        return problems


def host_addresses(net):
    """Every local address of the session's namespace, as text."""
    return net.derived('host addresses', lambda: set(
        msg.get('IFA_LOCAL') or msg.get('IFA_ADDRESS')
        for msg in net.call('reading addresses', 'addr', 'dump')))


KIND = VxlanKind()


def build_facets(params):
    name = params['name']
    link = module_link(params, KIND, 'vxlan', VxlanLinkFacet,
                       drop_remote=params['remotes'] is not None)
    if params['state'] == 'absent':
        return [link]
    facets = [link]
    attachment = bridge_attachment(name, params['bridge'])
    if attachment:
        facets.append(attachment)
    if params['remotes'] is not None or params['fdb'] is not None or params['group']:
        facets.append(VxlanFdb(name, link, remotes=params['remotes'], entries=params['fdb'],
                               clear_remotes=bool(params['group'])))
    return facets


def _with_fdb(interface, after):
    if after.get('fdb'):
        interface.update(after['fdb'])


summarize = link_summary('vxlan', _with_fdb)


MODULE = LinkModule(
    'vxlan_vtep',
    link_argument_spec(
        KIND,
        remotes=Option('list', elements='str'),
        fdb=Option('list', elements='dict', suboptions=OrderedDict([
            ('mac', Option('str', required=True)),
            ('dst', Option('str', required=True)),
        ])),
        bridge=BRIDGE_ATTACHMENT_OPTION,
    ),
    build_facets, summarize)
