#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: linux_bridge
short_description: Manage a Linux bridge, its ports, addresses and default route over netlink
version_added: 0.1.0
description:
  - Creates, changes or removes a Linux bridge through netlink (pyroute2), idempotently.
  - Reads the current state, plans only what differs, applies it, reads it back and fails
    naming any attribute the kernel did not keep. A failed run rolls back what it did.
  - Every problem in the request is reported at once, before anything is touched.
  - Ports not listed in O(ports) are left alone, so a libvirt C(vnetN) tap on the bridge
    survives every run.
author:
  - kvmnet.hostnet developers (@kvmnet)
requirements:
  - pyroute2 on the target
extends_documentation_fragment:
  - kvmnet.hostnet.attributes
  - kvmnet.hostnet.link
options:
  mac:
    description:
      - MAC address of the bridge. Setting it pins it.
      - When omitted and O(ports) or O(takeover_from) are given, the bridge keeps a
        stable MAC instead of following the lowest port MAC. A new bridge takes its first
        port's MAC (the O(takeover_from) NIC's when given); an existing one keeps its own.
    type: str
  stp:
    description: Enable the spanning tree protocol.
    type: bool
  forward_delay:
    description:
      - Forward delay in seconds (like C(brctl setfd)). V(0) needs O(stp=false); with STP
        on the kernel accepts 2 to 30.
    type: float
  hello_time:
    description: STP hello time in seconds, 1 to 10.
    type: float
  max_age:
    description: STP maximum message age in seconds, 6 to 40.
    type: float
  ageing_time:
    description: How long a learned MAC stays in the forwarding database, in seconds.
    type: float
  priority:
    description: Bridge priority for STP root election, 0 to 65535.
    type: int
  multicast_snooping:
    description: Enable IGMP/MLD snooping.
    type: bool
  ports:
    description:
      - Interfaces to attach to the bridge, each a name or a dict with C(name) and port
        options C(hairpin), C(learning), C(unicast_flood), C(cost) (1-65535),
        C(priority) (0-63), C(isolated). Options left out are not changed.
      - Only the listed ports are managed; other ports of the bridge stay as they are.
      - A port that is a member of another bridge or bond is an error, never moved.
      - Listed ports are brought up.
    type: list
    elements: raw
  addresses:
    description:
      - The exact set of IPv4/IPv6 addresses (CIDR) on the bridge. Others are removed.
      - IPv6 link-local addresses are the kernel's and are ignored unless listed.
      - When omitted, the bridge's addresses are left alone.
    type: list
    elements: str
  gateway:
    description: Default route via this gateway on the bridge (replaces the current one).
    type: str
  takeover_from:
    description:
      - A NIC whose addresses and routes move to the bridge as it becomes a port (the
        bridged-uplink setup). It is added to O(ports) when not listed.
      - The order never leaves the host without a default route. On a second run the
        NIC has nothing left to move and nothing changes.
    type: str
  switch_configured:
    description:
      - Says that the switch side aggregates the members of the bond or team ports
        of this bridge (static aggregation or LACP).
      - Without it, a bond or team port in a mode that can deliver a VM's frames back
        in on another member (balance-rr/roundrobin, broadcast, balance-tlb,
        balance-alb, balance-xor/loadbalance) is refused, because the bridge would
        learn the VM's MAC on the uplink and the VM would lose its network.
    type: bool
    default: false
notes:
  - With O(state=absent) the bridge is removed and its ports are released, never deleted.
seealso:
  - module: kvmnet.hostnet.vxlan_vtep
  - module: kvmnet.hostnet.kvm_vm_nic
'''

EXAMPLES = r'''
- name: Bridged uplink - move eth0's address and default route to br0
  kvmnet.hostnet.linux_bridge:
    name: br0
    stp: false
    forward_delay: 0
    takeover_from: eth0

- name: VM bridge with a hairpin port, pinned MAC and an address
  kvmnet.hostnet.linux_bridge:
    name: br-vm
    mac: "52:54:00:00:00:01"
    ports:
      - eth1
      - name: vnet0
        hairpin: true
        cost: 10
    addresses:
      - 192.0.2.10/24
    gateway: 192.0.2.1

- name: Remove a bridge (its ports are released, not deleted)
  kvmnet.hostnet.linux_bridge:
    name: br-old
    state: absent
'''

RETURN = r'''
interface:
  description: The bridge after the run (predicted in check mode), null when absent.
  returned: always
  type: dict
  sample:
    name: br0
    kind: bridge
    ifindex: 7
    mtu: 1500
    mac: "52:54:00:00:00:01"
    up: true
    stp: false
    forward_delay: 0.0
    ports:
      eth1: {master: br0, up: true, hairpin: false, learning: true}
    addresses: ["192.0.2.10/24"]
    gateway: 192.0.2.1
plan:
  description: The operations applied (or that would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create bridge br0 (stp=False)", "attach eth1 to bridge br0", "bring br0 up"]
recreated:
  description: Whether the bridge had to be deleted and created again (never for bridges).
  returned: always
  type: bool
'''

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import run_module
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.bridge import MODULE


def main():
    run_module(MODULE)


if __name__ == '__main__':
    main()
