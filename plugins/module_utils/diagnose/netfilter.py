# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""br_netfilter and the firewall: bridged VM traffic dropped in FORWARD; ip_forward off."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.finding import (
    command_fix, finding)


def check(host, request):
    found = []
    for bridge in host.of_kind('bridge'):
        if host.ports_of(bridge):
            found.extend(_bridged_traffic_dropped(host, bridge))
    found.extend(_ip_forward(host, request))
    return found


def accept_fix(host, reason, summary, iptables_match, nft_match):
    """Commands that insert an accept rule in front of what drops the packet.

    ``reason`` is the (table label, chain) that drops it; Docker's DOCKER-USER chain is
    the place for iptables rules on hosts that run Docker (Docker rewrites FORWARD).
    """
    label, chain = reason
    if label.startswith('iptables'):
        if 'DOCKER-USER' in host.firewall.chain_names(label):
            chain = 'DOCKER-USER'
        command = ['iptables', '-I', chain] + iptables_match + ['-j', 'ACCEPT']
    else:
        _nft, family, table = label.split(' ', 2)
        command = ['nft', 'insert', 'rule', family, table, chain] + nft_match + ['accept']
    return command_fix(summary + '; make it persistent in the firewall configuration', command)


def _bridged_traffic_dropped(host, bridge):
    nf_call = host.sysctl('net.bridge.bridge-nf-call-iptables')
    packet = dict(iif=bridge.name, oif=bridge.name, bridged=True)
    # Without bridge-nf-call the ip/inet hooks never see bridged frames; bridge tables always do.
    drops = host.firewall.dropped('forward', packet,
                                  families=None if nf_call else ('bridge',))
    if not drops:
        return []
    evidence = OrderedDict([('net.bridge.bridge-nf-call-iptables', nf_call),
                            ('dropped_by', [why for _where, why in drops]),
                            ('ports', [port.name for port in host.ports_of(bridge)])])
    return [finding(
        'bridged-traffic-dropped', 'error', bridge.name, evidence,
        'frames bridged between the ports of %s (VM to VM, VM to uplink) are dropped by the '
        'firewall: %s%s (seed 002; Docker and firewalld set this up)'
        % (bridge.name, '; '.join(why for _where, why in drops),
           ' - br_netfilter (bridge-nf-call-iptables = 1) hands bridged IP traffic to the '
           'iptables/nftables FORWARD hook' if nf_call else ''),
        accept_fix(host, drops[0][0], 'accept what is bridged within %s' % bridge.name,
                   ['-m', 'physdev', '--physdev-is-bridged', '-i', bridge.name, '-o', bridge.name],
                   ['iifname', bridge.name, 'oifname', bridge.name]))]


def routing_reason(host, bridge, routed, default_oifs):
    """Why the host routes for the VMs on ``bridge``, or None."""
    if bridge.name in routed:
        return 'listed in routed_bridges'
    if host.firewall.nat_rules:
        return 'NAT rules'
    guests = [port for port in host.ports_of(bridge)
              if host.is_vm_port(port) or (port.kind == 'veth' and port.link_netnsid is not None)]
    if guests and default_oifs and bridge.index not in default_oifs:
        return 'VMs behind it (%s), the default route elsewhere' % ', '.join(p.name for p in guests)
    return None


def _ip_forward(host, request):
    if host.sysctl('net.ipv4.ip_forward') != 0:
        return []
    routed = list(request.get('routed_bridges') or [])
    default_oifs = set(route.get('RTA_OIF') for route in host.routes
                       if route['dst_len'] == 0 and route['type'] == 1)
    gateways = OrderedDict()
    for bridge in host.of_kind('bridge'):
        if host.ipv4_of(bridge) and (not routed or bridge.name in routed):
            reason = routing_reason(host, bridge, routed, default_oifs)
            if reason:
                gateways[bridge.name] = OrderedDict([('addresses', host.ipv4_of(bridge)),
                                                     ('why_routed', reason)])
    if not gateways:
        return []
    evidence = OrderedDict([('net.ipv4.ip_forward', 0), ('vm_gateways', gateways),
                            ('nat_rules', host.firewall.nat_rules)])
    return [finding(
        'ip-forward-off', 'error', ', '.join(gateways), evidence,
        'this host is the gateway of its VM networks (%s), but net.ipv4.ip_forward is 0: '
        'nothing a VM sends beyond its own subnet is routed, NAT or not'
        % '; '.join('%s %s: %s' % (name, ', '.join(v['addresses']), v['why_routed'])
                    for name, v in gateways.items()),
        command_fix('turn routing on (persist it in /etc/sysctl.d/)',
                    ['sysctl', '-w', 'net.ipv4.ip_forward=1']))]
