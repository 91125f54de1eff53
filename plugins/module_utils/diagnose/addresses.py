# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address findings: an IPv4 address someone else also uses; a VM gateway that never answers ARP."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.finding import (
    command_fix, finding, module_fix)

NUD_INCOMPLETE = 0x01
NUD_FAILED = 0x20


def check(host, request):
    return _conflicts(host) + _failed_gateways(host, request)


def learned_port(host, mac, bridge):
    for entry in host.fdb:
        if entry['mac'] == mac and entry['master'] == bridge.index:
            return host.name_of(entry['ifindex'])
    return None


def _conflicts(host):
    found = []
    for (name, address), mac in sorted(host.conflicts.items()):
        bridge = host.by_name[name]
        mine = host.ipv4_of(bridge)
        conflicting = [cidr for cidr in mine if cidr.split('/')[0] == address]
        found.append(finding(
            'ipv4-address-conflict', 'error', name,
            OrderedDict([('address', address), ('answered_by', mac),
                         ('seen_on_port', learned_port(host, mac, bridge))]),
            '%s is also used by %s (it answered an ARP probe for it): the neighbours\' ARP caches '
            'flip between the two, and connections to %s break at random' % (address, mac, address),
            module_fix(host, 'linux_bridge', 'take %s off %s, then give one of the two machines a '
                       'free address' % (address, name),
                       name=name, addresses=[cidr for cidr in mine if cidr not in conflicting])))
    return found


def _gateways(host, request):
    """{gateway address: bridge} for routes through a bridge and the gateways named."""
    bridges = dict((link.index, link) for link in host.of_kind('bridge'))
    gateways = OrderedDict()
    for route in host.routes:
        if route.get('RTA_GATEWAY') and route.get('RTA_OIF') in bridges:
            gateways[route.get('RTA_GATEWAY')] = bridges[route.get('RTA_OIF')]
    for item in request.get('vm_gateways') or []:
        bridge = host.by_name.get(item.get('bridge') or '')
        if bridge is None:
            route = host.route_to(item['address'])
            bridge = bridges.get(route.get('RTA_OIF')) if route is not None else None
        if bridge is not None:
            gateways.setdefault(item['address'], bridge)
    return gateways


def _unanswered(host, gateways):
    """{gateway: how we know} for gateways that did not answer ARP."""
    found = OrderedDict()
    for entry in host.neighbours:
        bridge = gateways.get(entry['dst'])
        if bridge is not None and entry['ifindex'] == bridge.index \
                and entry['state'] & (NUD_FAILED | NUD_INCOMPLETE):
            found[entry['dst']] = 'neighbour entry %s' % (
                'FAILED' if entry['state'] & NUD_FAILED else 'INCOMPLETE')
    for bridge_name, address in host.probed_gateways:
        if (bridge_name, address) not in host.gateway_answers:
            found.setdefault(address, 'no answer to an ARP probe on %s' % bridge_name)
    return found


def _failed_gateways(host, request):
    gateways = _gateways(host, request)
    found = []
    for address, how in _unanswered(host, gateways).items():
        bridge = gateways[address]
        uplinks = host.uplinks(bridge)
        down = [port.name for port in uplinks if not host.carrier(port)]
        evidence = OrderedDict([('bridge', bridge.name), ('arp', how),
                                ('uplinks', OrderedDict((p.name, 'up' if host.carrier(p) else 'down')
                                                        for p in uplinks))])
        if not uplinks:
            why, fix = ('%s has no uplink port' % bridge.name,
                        command_fix('attach the uplink NIC/bond/VLAN to %s (kvmnet.hostnet.'
                                    'linux_bridge ports)' % bridge.name))
        elif down:
            why, fix = ('its uplink %s is down' % ', '.join(down),
                        command_fix('bring the uplink up (without carrier: cable or switch port)',
                                    *[['ip', 'link', 'set', 'dev', name, 'up'] for name in down]))
        else:
            why, fix = ('the uplinks are up, so the gateway is not on this segment or VLAN',
                        command_fix('check the switch port VLAN of %s and the gateway address'
                                    % ', '.join(p.name for p in uplinks)))
        found.append(finding(
            'gateway-arp-failed', 'error', address, evidence,
            'the gateway %s on %s does not answer ARP (%s; %s): VMs on %s cannot leave their '
            'subnet' % (address, bridge.name, how, why, bridge.name), fix))
    return found
