# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Linux bridge (IFLA_INFO_KIND "bridge"): every option changes in place."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.options import Option
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import (
    SWITCH_CONFIGURED, LinkModule, link_argument_spec, link_summary, module_link)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import Centiseconds, Codec, Flag, number
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.addresses import Addresses
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import BridgePorts, PortSpec
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.base import KindOption, LinkKind

# With STP on, the kernel (and 802.1D) accept only these forward delays.
STP_FORWARD_DELAY = (2, 30)


class BridgeKind(LinkKind):
    kind = 'bridge'
    options = OrderedDict([
        ('stp', KindOption('IFLA_BR_STP_STATE', Flag())),
        ('forward_delay', KindOption('IFLA_BR_FORWARD_DELAY', Centiseconds(0, 30))),
        ('hello_time', KindOption('IFLA_BR_HELLO_TIME', Centiseconds(1, 10))),
        ('max_age', KindOption('IFLA_BR_MAX_AGE', Centiseconds(6, 40))),
        ('ageing_time', KindOption('IFLA_BR_AGEING_TIME', Centiseconds(0, 1000000))),
        ('priority', KindOption('IFLA_BR_PRIORITY', Codec(0, 65535))),
        ('multicast_snooping', KindOption('IFLA_BR_MCAST_SNOOPING', Flag())),
    ])

    def validate(self, wanted):
        if wanted.get('stp') and 'forward_delay' in wanted:
            return self._stp_delay_problems(wanted['forward_delay'], 'stp: true')
        return []

    def check(self, net, wanted, state):
        # stp not given: the bridge keeps its current STP state, so check against it.
        if 'stp' not in wanted and 'forward_delay' in wanted and state is not None \
                and state.data.get('IFLA_BR_STP_STATE'):
            return self._stp_delay_problems(wanted['forward_delay'], 'STP is on for %s' % state.name)
        return []

    @staticmethod
    def _stp_delay_problems(delay, why):
        low, high = STP_FORWARD_DELAY
        if low <= delay <= high:
            return []
        return ['forward_delay %s needs stp: false; with %s the kernel accepts %s to %s seconds'
                % (number(delay), why, low, high)]

    def stages(self, changes, state):
        """STP off must precede a forward delay below 2 s; STP on must follow new timers.

        The kernel applies IFLA_BR_FORWARD_DELAY before IFLA_BR_STP_STATE within one
        message, and clamps the delay into 2-30 s when STP starts.
        """
        if 'stp' not in changes:
            return [changes]
        stp = OrderedDict([('stp', changes['stp'])])
        rest = OrderedDict((key, value) for key, value in changes.items() if key != 'stp')
        return [stp, rest] if not changes['stp'][0] else [rest, stp]


def random_local_mac():
    """A random unicast, locally administered MAC, as the kernel makes one."""
    octets = bytearray(os.urandom(6))
    octets[0] = (octets[0] & 0xfe) | 0x02
    return ':'.join('%02x' % octet for octet in octets)


def stable_mac(port_names):
    """A mac_policy that stops the bridge MAC from drifting as ports come and go.

    Unpinned, a bridge takes the lowest MAC of its ports, so adding or removing a
    port can change it and break DHCP leases and ARP caches (seed 001). A new or
    port-less bridge takes its first port's MAC; a bridge that has ports keeps its
    MAC, pinned again whenever this run adds a port.
    """
    def policy(net, state):
        if not port_names:
            # A new bridge gets a MAC of its own: one the kernel picks would follow
            # the first port attached later (a VM's tap) and change again with it.
            return (random_local_mac() if state is None else None), False
        members = net.links_of_master(state.index) if state is not None else []
        if not members:
            first = net.link(port_names[0])
            return (first.mac if first else None), False
        member_names = set(member.name for member in members)
        adding = any(name not in member_names for name in port_names)
        return state.mac, adding
    return policy


KIND = BridgeKind()


def build_facets(params):
    name = params['name']
    if params['state'] == 'absent':
        return [module_link(params, KIND, 'bridge')]
    ports = [PortSpec.parse(item) for item in params['ports'] or []]
    takeover = params['takeover_from']
    if takeover and takeover not in [port.name for port in ports]:
        ports.insert(0, PortSpec(takeover))
    port_names = [port.name for port in ports]
    if takeover:  # the LAN knows the uplink's MAC: keep it
        port_names = [takeover] + [p for p in port_names if p != takeover]
    facets = [module_link(params, KIND, 'bridge',
                          mac_policy=stable_mac(port_names) if params['mac'] is None else None)]
    if ports:
        facets.append(BridgePorts(name, ports, created_here=[name],
                                  switch_configured=params['switch_configured']))
    if params['addresses'] is not None or params['gateway'] or takeover:
        facets.append(Addresses(name, params['addresses'], params['gateway'], takeover))
    return facets


def _with_ports_and_addresses(interface, after):
    if 'ports' in after:
        interface['ports'] = after['ports']
    if 'addresses' in after:
        interface.update(after['addresses'])


summarize = link_summary('bridge', _with_ports_and_addresses, attached=False)


MODULE = LinkModule(
    'linux_bridge',
    link_argument_spec(
        KIND,
        ports=Option('list', elements='raw'),
        addresses=Option('list', elements='str'),
        gateway=Option('str'),
        takeover_from=Option('str'),
        switch_configured=SWITCH_CONFIGURED,
    ),
    build_facets, summarize)
