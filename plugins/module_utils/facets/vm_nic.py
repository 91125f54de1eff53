# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM's NIC on the host: its deterministic name and MACs, and its libvirt XML.

Pure functions, the same on every host and every run: a VM keeps its device name
and MAC wherever it is (re)defined, so operators map VM to tap by MAC (seed 001).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import re
from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import Facet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import (
    IFNAMSIZ, mac_problem, normalize_mac)

MAX_INDEX = 255
# The QEMU/KVM OUI that libvirt also uses for generated guest MACs.
GUEST_OUI = '52:54:00'
# libvirt gives the host side of a tap the guest MAC with its first byte set to FE:
# the highest possible first byte, so a bridge that follows the lowest port MAC
# never takes a tap's, and host and guest MACs never collide on the segment.
HOST_SIDE_FIRST_BYTE = 'fe'
_PLAIN_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
_NOT_SLUG = re.compile(r'[^a-z0-9]+')
HASH_LENGTH = 5


def _digest(text):
    return hashlib.sha1(text.encode('utf-8')).hexdigest()


def nic_name(vm, index):
    """The default device name of NIC ``index`` of ``vm`` (at most 15 characters).

    ``<vm>-<index>`` when that fits and ``vm`` is letters, digits, ``_.-`` (not first)
    (``web01-0``). Otherwise a readable prefix of the VM name (lower case, other
    characters as ``-``), five hex digits of SHA-1 of the VM name, and the index:
    ``databas-3f2a1-0``.
    """
    suffix = '-%d' % index
    plain = vm + suffix
    if _PLAIN_NAME.match(vm) and len(plain) <= IFNAMSIZ:
        return plain
    slug = _NOT_SLUG.sub('-', vm.lower()).strip('-')
    room = IFNAMSIZ - len(suffix) - HASH_LENGTH - 1
    prefix = slug[:room].rstrip('-')
    tag = _digest(vm)[:HASH_LENGTH]
    return '%s-%s%s' % (prefix, tag, suffix) if prefix else tag + suffix


def guest_mac(vm, index):
    """52:54:00:xx:xx:xx from SHA-1 of the VM name and NIC index."""
    tail = _digest('%s\0%d' % (vm, index))[:6]
    return '%s:%s:%s:%s' % (GUEST_OUI, tail[0:2], tail[2:4], tail[4:6])


def host_side_mac(mac):
    """The tap device's own MAC for a guest MAC (libvirt's rule: first byte FE)."""
    return HOST_SIDE_FIRST_BYTE + mac[2:]


def _attr(value):
    """A single-quoted XML attribute value, as libvirt writes its own XML."""
    return "'%s'" % _escape(str(value))


def libvirt_interface_xml(nic_type, device, mac, parent=None, mode=None, mtu=None):
    """A libvirt ``<interface>`` element that uses the pre-created device."""
    lines = []
    if nic_type == 'macvtap':
        lines.append("<interface type='direct'>")
        lines.append('  <mac address=%s/>' % _attr(mac))
        lines.append('  <source dev=%s mode=%s/>' % (_attr(parent or ''), _attr(mode or 'bridge')))
    else:
        lines.append("<interface type='ethernet'>")
        lines.append('  <mac address=%s/>' % _attr(mac))
        lines.append("  <target dev=%s managed='no'/>" % _attr(device))
    lines.append("  <model type='virtio'/>")
    if mtu and mtu != 1500:
        lines.append("  <mtu size='%d'/>" % mtu)
    lines.append('</interface>')
    return '\n'.join(lines) + '\n'


class NicRequest(Facet):
    """The VM-level part of a request: who the NIC belongs to, and its guest MAC.

    It manages nothing on the host; it reports the request's own problems together
    with every other facet's, and shows the VM, index and guest MAC in the diff.
    """

    title = 'nic'

    def __init__(self, vm, index, nic_type, name, mac, problems=()):
        self.vm = vm
        self.index = index
        self.nic_type = nic_type
        self.name = name
        self.mac = mac
        self.problems = list(problems)

    def validate(self):
        problems = list(self.problems)
        if not self.vm or not self.vm.strip():
            problems.append('vm must name the virtual machine, got an empty string')
        if not 0 <= self.index <= MAX_INDEX:
            problems.append('index must be between 0 and %d, got %d' % (MAX_INDEX, self.index))
        if self.mac is not None:
            problem = mac_problem('mac', self.mac)
            if problem:
                problems.append(problem)
            elif self.nic_type == 'tap' and normalize_mac(self.mac).startswith(HOST_SIDE_FIRST_BYTE):
                problems.append('mac %s starts with fe, which is reserved for the host side of a '
                                'tap (the tap device gets the guest MAC with its first byte set '
                                'to fe): choose a guest MAC such as 52:54:00:xx:xx:xx' % self.mac)
        return problems

    def read(self, net):
        return OrderedDict([('vm', self.vm), ('index', self.index), ('type', self.nic_type),
                            ('device', self.name), ('mac', normalize_mac(self.mac))])


# xml.sax.saxutils would do, but it imports urllib and http.client with it: a tenth of
# the module's start-up, for five replacements.
_XML_ENTITIES = (('&', '&amp;'), ('<', '&lt;'), ('>', '&gt;'), ("'", '&apos;'), ('"', '&quot;'))


def _escape(text):
    for char, entity in _XML_ENTITIES:
        text = text.replace(char, entity)
    return text
