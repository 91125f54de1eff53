# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A diagnosis: gather the host once, run every group of checks on that one view."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose import (
    addresses, aggregation, bridge, macvlan, netfilter, vxlan)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.finding import SEVERITIES
from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.host import HostState

# Causes before symptoms: a firewall drop explains a FAILED neighbour, not the reverse.
GROUPS = (netfilter, bridge, aggregation, macvlan, vxlan, addresses)


def diagnose(net, netns=None, peers=None, expect=None, arp_probe=True):
    """(findings, skipped) for the namespace ``net`` works in.

    ``expect`` holds what the host cannot tell by itself: vm_ports, vm_macs,
    parent_reaches_guests, routed_bridges, vm_gateways.
    """
    request = dict(expect or {})
    request['peers'] = peers or []
    gateways = [(item['address'], item['bridge']) for item in request.get('vm_gateways') or []
                if item.get('bridge')]
    host = HostState(net, netns=netns, arp_probe=arp_probe, vm_ports=request.get('vm_ports') or (),
                     gateways=gateways)
    findings = []
    for group in GROUPS:
        findings.extend(group.check(host, request))
    order = dict((severity, rank) for rank, severity in enumerate(SEVERITIES))
    findings.sort(key=lambda item: order[item['severity']])
    return findings, host.skipped


def counts(findings):
    return OrderedDict((severity, sum(1 for f in findings if f['severity'] == severity))
                       for severity in SEVERITIES)
