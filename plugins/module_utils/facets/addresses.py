# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Addresses of an interface, its default route, and taking both over from a NIC.

The takeover order (seed 001, a NIC's IP moving to the bridge it joins) never leaves
the host without a default route: addresses are added to the bridge first, routes are
*replaced* onto the bridge (one atomic netlink request each), and only then are the
addresses removed from the NIC, which drops its last connected routes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import socket
from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import (
    Facet, Operation, PHASE_ADDRESS, PHASE_CLEANUP, PHASE_ROUTE)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import family_of
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import (
    ifname_problem, parse_interface_address, parse_ip)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.snapshot import route_arguments

RTPROT_KERNEL = 2
RT_SCOPE_LINK = 253


def _is_auto(interface):
    """Link-local IPv6 addresses are the kernel's, not the operator's."""
    return interface.version == 6 and interface.ip.is_link_local


class Addresses(Facet):
    """The exact address set of ``link`` (when given), its gateway, and a takeover."""

    title = 'addresses'

    def __init__(self, link, addresses=None, gateway=None, takeover_from=None):
        self.link = link
        self.addresses_given = addresses
        self.gateway_given = gateway
        self.takeover_from = takeover_from
        self.wanted = None
        self.gateway = None
        self.moved = []        # addresses of the NIC being taken over
        self.moved_routes = []
        self.kernel_order = []  # addresses of the link in the kernel's order

    def validate(self):
        problems = []
        if self.addresses_given is not None:
            self.wanted = []
            for item in self.addresses_given:
                try:
                    interface = parse_interface_address('address', item)
                except ValueError as error:
                    problems.append(str(error))
                    continue
                if interface not in self.wanted:
                    self.wanted.append(interface)
        if self.gateway_given:
            try:
                self.gateway = parse_ip('gateway', self.gateway_given)
            except ValueError as error:
                problems.append(str(error))
        if self.takeover_from is not None:
            problem = ifname_problem('takeover_from', self.takeover_from)
            if problem:
                problems.append(problem)
            elif self.takeover_from == self.link:
                problems.append('takeover_from must name another interface than %s' % self.link)
        return problems

    # ---- reading ----------------------------------------------------------------
    def read(self, net):
        state = net.link(self.link)
        view = OrderedDict([('addresses', []), ('gateway', None)])
        if state is None:
            return view
        self.kernel_order = self._addresses(net, state.index)
        view['addresses'] = sorted(self.kernel_order, key=_sort_key)
        versions = (self.gateway.version,) if self.gateway else (4, 6)
        for version in versions:
            view['gateway'] = self._gateway_via(net, state.index, version)
            if view['gateway']:
                break
        return view

    def _addresses(self, net, index):
        keep_link_local = any(_is_auto(a) for a in (self.wanted or []))
        found = []
        for text, _family, _scope, _msg in net.addresses(index):
            interface = ipaddress.ip_interface(u'%s' % text)
            if _is_auto(interface) and not keep_link_local:
                continue
            found.append(str(interface))
        return found

    def _gateway_via(self, net, index, version):
        family = socket.AF_INET if version == 4 else socket.AF_INET6
        for route in net.default_routes(family):
            if route.get('RTA_OIF') == index and route.get('RTA_GATEWAY'):
                return route.get('RTA_GATEWAY')
        return None

    def resolve(self, net, current):
        """What a takeover moves: the NIC's addresses and its routes, as they are now."""
        nic = net.link(self.takeover_from) if self.takeover_from else None
        if nic is None:
            return
        self.moved = self._addresses(net, nic.index)
        self.moved_routes = [r for r in net.routes(oif=nic.index) if r['proto'] != RTPROT_KERNEL]
        for route in net.routes(oif=nic.index, family=socket.AF_INET6):
            if route['proto'] != RTPROT_KERNEL and route not in self.moved_routes:
                self.moved_routes.append(route)

    def check(self, net, current):
        problems = []
        if self.takeover_from:
            nic = net.link(self.takeover_from)
            if nic is None:
                problems.append('takeover_from %s does not exist' % self.takeover_from)
            elif self.wanted is not None:
                missing = [a for a in self.moved if ipaddress.ip_interface(u'%s' % a) not in self.wanted]
                if missing:
                    problems.append('takeover_from %s would move %s, which addresses does not list: '
                                    'add them to addresses or remove them from %s first'
                                    % (self.takeover_from, ', '.join(missing), self.takeover_from))
        if self.gateway is not None and not (self.gateway.version == 6 and self.gateway.is_link_local):
            # A link-local gateway (fe80::1) is on every link; any other needs a subnet.
            final = self._final_addresses(current)
            if not any(self.gateway in a.network for a in final if a.version == self.gateway.version):
                problems.append('gateway %s is not inside any subnet of %s (%s): the kernel cannot '
                                'reach it; add an address in its subnet' % (
                                    self.gateway, self.link,
                                    ', '.join(str(a) for a in final) or 'no addresses'))
        return problems

    def _final_addresses(self, current):
        if self.wanted is not None:
            return list(self.wanted)
        addresses = [ipaddress.ip_interface(u'%s' % a) for a in current['addresses']]
        return addresses + [ipaddress.ip_interface(u'%s' % a) for a in self.moved
                            if ipaddress.ip_interface(u'%s' % a) not in addresses]

    # ---- planning -----------------------------------------------------------------
    def _wanted_strings(self, current):
        return sorted(set(str(a) for a in self._final_addresses(current)), key=_sort_key)

    def plan(self, net, current):
        operations = []
        have = set(current['addresses'])
        wanted = self._wanted_strings(current)
        for address in wanted:
            if address not in have:
                operations.append(self._address_op(self.link, address, add=True, phase=PHASE_ADDRESS))
        for route in self.moved_routes:
            operations.append(self._move_route_op(route))
        if self.gateway is not None and current['gateway'] != str(self.gateway):
            operations.append(self._gateway_op(net))
        if self.wanted is not None:
            added = [address for address in wanted if address not in have]
            operations.extend(self._removal_ops(self.kernel_order + added, set(wanted)))
        for address in self.moved:
            operations.append(self._address_op(self.takeover_from, address, add=False,
                                               phase=PHASE_CLEANUP))
        return operations

    def predict(self, current):
        view = OrderedDict(current)
        view['addresses'] = self._wanted_strings(current)
        if self.gateway is not None:
            view['gateway'] = str(self.gateway)
        return view

    def mismatches(self, actual):
        found = []
        if self.wanted is not None:
            wanted = set(str(a) for a in self.wanted)
            have = set(actual['addresses'])
            if wanted != have:
                found.append('%s addresses: wanted %s, the kernel has %s' % (
                    self.link, sorted(wanted), sorted(have)))
        if self.gateway is not None and actual['gateway'] != str(self.gateway):
            found.append('default route via %s on %s is missing' % (self.gateway, self.link))
        return found

    def _removal_ops(self, order, wanted):
        """Remove what is not wanted without losing what is, nor the order of the rest.

        The kernel removes an IPv4 primary address with every secondary of its subnet,
        and appends what is added back at the end of the subnet's list. So in each
        subnet, everything from the first unwanted address on is removed (last first)
        and the wanted ones among it are added back in order: the kernel keeps them,
        and a rollback, undoing newest first, rebuilds the original order exactly.
        """
        operations = []
        for group in _subnet_groups(order):
            unwanted = [number for number, address in enumerate(group) if address not in wanted]
            if not unwanted:
                continue
            tail = group[unwanted[0]:]
            for address in reversed(tail):
                operations.append(self._address_op(self.link, address, add=False,
                                                   phase=PHASE_CLEANUP))
            for address in tail:
                if address in wanted:
                    operation = self._address_op(self.link, address, add=True, phase=PHASE_CLEANUP)
                    operation.summary += ' again (the kernel drops it with %s)' % group[unwanted[0]]
                    operations.append(operation)
        return operations

    # ---- operations ---------------------------------------------------------------
    @staticmethod
    def _address_op(link, address, add, phase):
        interface = ipaddress.ip_interface(u'%s' % address)
        arguments = dict(address=str(interface.ip), prefixlen=interface.network.prefixlen)

        def change(adding):
            def do(net):
                verb = 'replace' if adding else 'del'
                net.call('%s address %s on %s' % ('adding' if adding else 'removing', address, link),
                         'addr', verb, index=net.index(link), **arguments)
            return do

        summary = '%s address %s %s %s' % ('add' if add else 'remove', address,
                                           'to' if add else 'from', link)
        return Operation(phase, summary, change(add), change(not add))

    def _move_route_op(self, route):
        base = route_arguments(route)

        def via(link):
            def do(net):
                net.call('moving route %s to %s' % (base['dst'], link), 'route', 'replace',
                         oif=net.index(link), **base)
            return do

        summary = 'move route %s%s from %s to %s' % (
            base['dst'], ' via %s' % base['gateway'] if 'gateway' in base else '',
            self.takeover_from, self.link)
        return Operation(PHASE_ROUTE, summary, via(self.link), via(self.takeover_from))

    def _gateway_op(self, net):
        """Point the default route in use at the gateway, keeping its metric.

        The kernel replaces a route with the same destination and metric; a default
        route with another metric would stay beside the new one, so the one in use
        (the lowest metric) is the one replaced, and put back by the undo.
        """
        gateway = str(self.gateway)
        family = family_of(gateway)
        routes = sorted(net.default_routes(family), key=lambda r: r.get('RTA_PRIORITY') or 0)
        in_use = dict(route_arguments(routes[0]), oif=routes[0].get('RTA_OIF')) if routes else None
        route = dict(dst='0.0.0.0/0' if family == socket.AF_INET else '::/0', family=family,
                     gateway=gateway)
        if in_use and in_use.get('priority'):
            route['priority'] = in_use['priority']

        def replace(net):
            net.call('setting the default route via %s on %s' % (gateway, self.link), 'route',
                     'replace', oif=net.index(self.link), **route)

        def restore(net):
            if in_use:
                net.call('restoring the previous default route', 'route', 'replace', **in_use)
            else:
                net.call('removing the default route again', 'route', 'del', **route)

        return Operation(PHASE_ROUTE, 'set default route via %s dev %s%s' % (
            gateway, self.link, ' metric %s' % route['priority'] if 'priority' in route else ''),
            replace, restore)


def _subnet_groups(order):
    """Addresses grouped as the kernel chains them: IPv4 by subnet, IPv6 one by one."""
    groups = OrderedDict()
    for text in order:
        interface = ipaddress.ip_interface(u'%s' % text)
        key = interface.network if interface.version == 4 else interface
        groups.setdefault(key, []).append(text)
    return list(groups.values())


def _sort_key(text):
    interface = ipaddress.ip_interface(u'%s' % text)
    return (interface.version, interface)
