# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistent tap devices for VMs (IFLA_INFO_KIND "tun", IFLA_TUN_TYPE tap).

The kernel has no netlink "newlink" or "changelink" for tun/tap: pyroute2 creates
the device through /dev/net/tun (kind "tuntap") and makes it persistent, and it
ignores the MTU and MAC given at creation. So ``TapLink`` sets both right after
creating, and every tun option (owner, group, queues, vnet header) needs the device
recreated, which is refused while a process (a running VM) holds the tap.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import pwd
from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import Operation, PHASE_SET
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.options import Option
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import (
    BRIDGE_ATTACHMENT_OPTION, LinkModule, bridge_attachment, link_argument_spec, link_summary,
    parse_bridge_attachment)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import (
    Codec, Flag, ifname_problem, normalize_mac)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import PORT_OPTION_SPEC
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet, mac_holder_problems
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.vm_nic import (
    MAX_INDEX, guest_mac, host_side_mac, libvirt_interface_xml, nic_name, NicRequest)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.base import KindOption, LinkKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.macvlan import (
    DEFAULT_MODE, MACVTAP_KIND, MODES as MACVLAN_MODES, MacvlanLink)

IFF_TUN = 1
IFF_TAP = 2
# What the kernel gives a new tap: no need to set it after creation.
TAP_DEFAULT_MTU = 1500


class Account(Codec):
    """A user or group given by name or id; the kernel keeps the id."""

    ansible_type = 'str'

    def __init__(self, database):
        super(Account, self).__init__()
        self.database = database

    def _lookup(self, name):
        try:
            if self.database == 'user':
                return pwd.getpwnam(name).pw_uid
            return grp.getgrnam(name).gr_gid
        except KeyError:
            return None

    def resolve(self, value):
        """The numeric id of a name or id, or None when there is no such account."""
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        return self._lookup(text)

    def encode(self, value):
        return self.resolve(value)

    def decode(self, value):
        try:
            if self.database == 'user':
                return pwd.getpwuid(value).pw_name
            return grp.getgrgid(value).gr_name
        except KeyError:
            return value

    def same(self, wanted, actual):
        return actual is not None and self.resolve(wanted) == self.resolve(actual)

    def check(self, name, value):
        if self.resolve(value) is None:
            return ('%s %s: no such %s on this host; create it first, or give a numeric id '
                    '(%s)' % (name, value, self.database,
                              'getent passwd' if self.database == 'user' else 'getent group'))
        return None


def in_use(state):
    """Whether a process (a running VM) has the tap open: the kernel then sets carrier."""
    return bool(state.msg.get('IFLA_CARRIER')) or bool(state.data.get('IFLA_TUN_NUM_QUEUES'))


class TapKind(LinkKind):
    kind = 'tun'
    options = OrderedDict([
        ('owner', KindOption('IFLA_TUN_OWNER', Account('user'), in_place=False)),
        ('group', KindOption('IFLA_TUN_GROUP', Account('group'), in_place=False)),
        ('multi_queue', KindOption('IFLA_TUN_MULTI_QUEUE', Flag(), in_place=False)),
        ('vnet_hdr', KindOption('IFLA_TUN_VNET_HDR', Flag(), in_place=False)),
    ])

    def check(self, net, wanted, state):
        if state is not None and state.data.get('IFLA_TUN_TYPE') == IFF_TUN:
            return ['%s is a tun (layer 3) device, not a tap: a VM NIC needs a tap; choose another '
                    'name or remove it first' % state.name]
        return []

    def extra_view(self, net, state):
        return OrderedDict([
            ('persistent', bool(state.data.get('IFLA_TUN_PERSIST'))),
            ('in_use', in_use(state)),
        ])

    def create_arguments(self, net, wanted):
        ifr = {'no_pi': 1,
               'vnet_hdr': 0 if wanted.get('vnet_hdr') is False else 1,
               'multi_queue': 1 if wanted.get('multi_queue') else 0}
        arguments = dict(kind='tuntap', mode='tap', ifr=ifr)
        for key, keyword in (('owner', 'uid'), ('group', 'gid')):
            if wanted.get(key) is not None:
                arguments[keyword] = self.options[key].codec.encode(wanted[key])
        return arguments


class TapLink(LinkFacet):
    """A tap's link facet: MTU and MAC set after creation, VMs never cut off.

    ``mtu_from``: a bridge whose MTU the tap takes when no MTU was given, so that
    attaching the tap never lowers the bridge's MTU.
    """

    def __init__(self, link_kind, name, mtu_from=None, **kwargs):
        super(TapLink, self).__init__(link_kind, name, **kwargs)
        self.mtu_from = mtu_from

    def _create_arguments(self, net, values):
        arguments = dict(ifname=self.name)
        arguments.update(self.link_kind.create_arguments(net, values))
        return arguments

    def _creator(self, values, mac, mtu):
        # /dev/net/tun takes neither MTU nor MAC (set right after) nor an ifindex.
        create = super(TapLink, self)._creator(values, None, None)
        return lambda net, index=None: create(net)

    def resolve(self, net, current):
        super(TapLink, self).resolve(net, current)
        if self.state == 'absent':
            return
        if self.mtu is None and self.mtu_from:
            bridge = net.link(self.mtu_from)
            if bridge is not None:
                self.mtu = bridge.mtu
        state = self.current_state
        if state is not None and state.kind == self.link_kind.kind and in_use(state):
            # The process that opens a tap sets its vnet header flag (QEMU turns it on),
            # so on a tap in use it is that process's, not ours.
            self.wanted.pop('vnet_hdr', None)

    def check(self, net, current):
        problems = super(TapLink, self).check(net, current)
        if problems or self.state == 'absent':
            return problems
        problems.extend(mac_holder_problems(net, self.name, self.mac))
        state = self.current_state
        if state is None or not in_use(state):
            return problems
        for key, (wanted, actual) in self.differences(current).items():
            if key in self.link_kind.options:
                problems.append(
                    '%s is in use (a VM has it open): changing %s from %s to %s needs the tap '
                    'recreated, which would cut the VM off; stop the VM first, or leave %s as it is'
                    % (self.name, key, actual, wanted, key))
        return problems

    def _create_ops(self, net):
        return super(TapLink, self)._create_ops(net) + self._after_create_ops()

    def _recreate_ops(self, net, current):
        return super(TapLink, self)._recreate_ops(net, current) + self._after_create_ops()

    def _after_create_ops(self):
        operations = []
        mtu = self.mtu if self.mtu != TAP_DEFAULT_MTU else None
        for key, keyword, value in (('mtu', 'mtu', mtu), ('mac', 'address', self.mac)):
            if value is None:
                continue

            def do(net, keyword=keyword, value=value, key=key):
                net.call('setting %s %s to %s' % (self.name, key, value), 'link', 'set',
                         index=net.index(self.name), **{keyword: value})

            # Undoing the creation removes the tap, and these values with it.
            operations.append(Operation(PHASE_SET, 'set %s %s %s' % (self.name, key, value), do,
                                        lambda net: None, batch=True))
        return operations


KIND = TapKind()
TAP_ONLY = ('bridge', 'port_options', 'owner', 'group', 'multi_queue', 'vnet_hdr')


def build_facets(params):
    problems = []
    vm = params['vm']
    index = params['index']
    nic_type = params['type']
    name = params['name'] or nic_name(vm, index)
    mac = params['mac'] if params['mac'] is not None else guest_mac(vm, index)
    if nic_type == 'macvtap' and params['mode'] == 'passthru' and params['mac'] is None:
        # The endpoint has its parent's MAC: a derived one would change the parent's.
        mac = None
    if nic_type == 'macvtap':
        for key in TAP_ONLY:
            if params[key] is not None:
                problems.append('%s applies to type tap only; remove it for a macvtap' % key)
        if params['state'] == 'present' and not params['parent']:
            problems.append('type macvtap needs parent: the lower device (a NIC) the macvtap is '
                            'created on')
    elif params['parent']:
        problems.append('parent applies to type macvtap only; a tap is attached with bridge')
    bridge = None
    if nic_type == 'tap':
        bridge, _options, bridge_problems = parse_bridge_attachment(params['bridge'])
        problems.extend(bridge_problems)
        if params['bridge'] is None and params['port_options']:
            problems.append('port_options need bridge: name the bridge the tap is a port of')
    request = NicRequest(vm, index, nic_type, name, mac, problems)
    guest = normalize_mac(mac)

    if nic_type == 'macvtap':
        return [request] + _macvtap_facets(params, name, guest)
    if params['state'] == 'absent':
        return [request, TapLink(KIND, name, state='absent', title='tap')]
    options = dict((key, params[key]) for key in KIND.options)
    facets = [request, TapLink(KIND, name, options=options, mtu=params['mtu'],
                               mac=host_side_mac(guest) if guest else None, up=params['up'],
                               title='tap', mtu_from=bridge)]
    # An invalid name is reported once, by the tap facet.
    if bridge and not ifname_problem('name', name):
        facets.append(bridge_attachment(name, params['bridge'], bring_up=params['up'],
                                        port_options=params['port_options']))
    return facets


def _macvtap_facets(params, name, mac):
    kind = MACVTAP_KIND
    if params['state'] == 'absent':
        return [MacvlanLink(kind, name, state='absent', origin=params['netns'], title='tap')]
    return [MacvlanLink(kind, name, options=dict(parent=params['parent'], mode=params['mode']),
                        mtu=params['mtu'], mac=mac, up=params['up'], title='tap',
                        origin=params['netns'])]


summarize = link_summary('tap')


def extra_results(after):
    nic = after['nic']
    tap = after.get('tap')
    # A passthru macvtap has its parent's MAC, read from the device.
    mac = nic['mac'] or (tap or {}).get('mac')
    result = dict(name=nic['device'], mac=mac, ifindex=None, libvirt_xml=None)
    if tap is not None:
        result['ifindex'] = tap.get('ifindex')
        # A macvtap's view carries its parent and mode; a tap has neither.
        result['libvirt_xml'] = libvirt_interface_xml(
            nic['type'], nic['device'], mac, parent=tap.get('parent'),
            mode=tap.get('mode'), mtu=tap.get('mtu'))
    return result


MODULE = LinkModule(
    'kvm_vm_nic',
    link_argument_spec(
        KIND,
        name=Option('str'),  # derived from vm and index when left out
        vm=Option('str', required=True),
        index=Option('int', default=0, minimum=0, maximum=MAX_INDEX),
        type=Option('str', default='tap', choices=['tap', 'macvtap']),
        bridge=BRIDGE_ATTACHMENT_OPTION,
        port_options=dict(type='dict', options=PORT_OPTION_SPEC),
        parent=MACVTAP_KIND.options['parent'],
        # source mode filters by sender MAC: it has no use for a VM's own NIC.
        mode=Option('str', default=DEFAULT_MODE, choices=[m for m in MACVLAN_MODES if m != 'source']),
    ),
    build_facets, summarize, extra_results=extra_results)
