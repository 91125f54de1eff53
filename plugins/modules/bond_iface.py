#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: bond_iface
short_description: Manage a Linux bond, its members and its bridge attachment over netlink
version_added: 0.1.0
description:
  - Creates, changes or removes a Linux bonding interface through netlink (pyroute2),
    idempotently, with the exact set of its member links and, optionally, as a port of a
    bridge that carries VMs.
  - Reads the current state, plans only what differs, applies it, reads it back and fails
    naming any attribute the kernel did not keep. A failed run rolls back what it did.
  - Every problem in the request is reported at once, before anything is touched.
  - The kernel changes the mode only on a bond without members that is down, and
    O(ad_select) only on a bond that is down. Such a change releases every member, takes
    the bond down, sets the options, adds the members back and brings the bond up again;
    the plan says so. The bond keeps its ifindex, its bridge membership and the VLANs on
    top of it, but traffic stops for a moment.
  - VM safety. A bond in a mode that sends a VM's frames out of more than one member
    (balance-rr, broadcast, balance-tlb, balance-alb, balance-xor) under a bridge makes
    the switch flood them back in on another member; the bridge then learns the VM's MAC
    on the uplink and the VM loses its network. Such a bond is refused under a bridge
    unless O(switch_configured=true). V(active-backup) needs no switch change; V(802.3ad)
    negotiates with the switch (LACP).
  - When the kernel has no bonding support loaded the module tries C(modprobe bonding)
    once and otherwise fails saying so.
author:
  - kvmnet.hostnet developers (@kvmnet)
requirements:
  - pyroute2 on the target
extends_documentation_fragment:
  - kvmnet.hostnet.attributes
  - kvmnet.hostnet.link
  - kvmnet.hostnet.bridge_attachment
options:
  mode:
    description:
      - The bonding mode. A new bond without O(mode) gets the kernel default,
        V(balance-rr).
    type: str
    choices: [balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb]
  miimon:
    description: MII link monitoring interval in milliseconds; V(0) disables it.
    type: int
  updelay:
    description:
      - Milliseconds to wait before using a member whose link came up. Needs O(miimon)
        and must be a multiple of it.
    type: int
  downdelay:
    description:
      - Milliseconds to wait before dropping a member whose link went down. Needs
        O(miimon) and must be a multiple of it.
    type: int
  lacp_rate:
    description: How often the LACP partner is asked to send LACPDUs (V(802.3ad) only).
    type: str
    choices: [slow, fast]
  xmit_hash_policy:
    description: How balancing modes pick the member for a flow.
    type: str
    choices: [layer2, layer3+4, layer2+3, encap2+3, encap3+4, vlan+srcmac]
  primary:
    description:
      - The member preferred as the active one (V(active-backup), V(balance-tlb),
        V(balance-alb) only). It must be one of O(ports) when O(ports) is given.
    type: str
  ad_select:
    description: The 802.3ad aggregator selection policy (V(802.3ad) only).
    type: str
    choices: [stable, bandwidth, count]
  ports:
    description:
      - The exact set of member links. Links not listed are released; a released member
        is left down (the kernel closes it) and is never deleted.
      - Members are taken down to be enslaved (the kernel requires it); the bond brings
        them up.
      - A link that is a port of another bond or a bridge is an error, never moved.
      - When omitted, membership is left alone.
    type: list
    elements: str
  switch_configured:
    description:
      - Says that the switch side aggregates the members of this bond (static
        aggregation or LACP), which makes the load-balancing modes safe under a bridge.
    type: bool
    default: false
notes:
  - O(bridge) is refused for modes that are unsafe under a VM bridge unless
    O(switch_configured=true).
  - With O(state=absent) the bond is removed; the kernel releases its members, which are
    left down and never deleted.
  - The guardrail also applies without O(bridge) when the bond already is a port of a
    bridge; the mode the run leaves it in must be safe, or O(switch_configured=true).
seealso:
  - module: kvmnet.hostnet.linux_bridge
  - module: kvmnet.hostnet.vlan_sub
'''

EXAMPLES = r'''
- name: VM bridge over an active-backup bond (no switch configuration needed)
  kvmnet.hostnet.linux_bridge:
    name: br-vm
    stp: false
    forward_delay: 0

- name: bond0 over eth1 and eth2 into br-vm
  kvmnet.hostnet.bond_iface:
    name: bond0
    mode: active-backup
    miimon: 100
    updelay: 200
    primary: eth1
    ports: [eth1, eth2]
    bridge:
      name: br-vm

- name: LACP bond with VLANs on top
  kvmnet.hostnet.bond_iface:
    name: bond1
    mode: 802.3ad
    miimon: 100
    lacp_rate: fast
    xmit_hash_policy: layer3+4
    ports: [eth3, eth4]
    mtu: 9000

- name: balance-xor under a bridge, the switch has a static port channel for eth5+eth6
  kvmnet.hostnet.bond_iface:
    name: bond2
    mode: balance-xor
    ports: [eth5, eth6]
    bridge:
      name: br-lab
    switch_configured: true
'''

RETURN = r'''
interface:
  description: The bond after the run (predicted in check mode), null when absent.
  returned: always
  type: dict
  sample:
    name: bond0
    kind: bond
    ifindex: 8
    mtu: 1500
    mac: "52:54:00:12:34:56"
    up: true
    mode: active-backup
    miimon: 100
    updelay: 200
    downdelay: 0
    lacp_rate: slow
    xmit_hash_policy: layer2
    primary: eth1
    ad_select: stable
    active_port: eth1
    ports: [eth1, eth2]
    bridge: {name: br-vm, master: br-vm, up: true, learning: true}
plan:
  description: The operations applied (or that would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create bond bond0 (mode=active-backup, miimon=100)", "add eth1 to bond bond0",
           "add eth2 to bond bond0", "attach bond0 to bridge br-vm", "bring bond0 up"]
recreated:
  description: Whether the bond was deleted and created again (never; mode changes in place).
  returned: always
  type: bool
'''

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import run_module
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.bond import MODULE


def main():
    run_module(MODULE)


if __name__ == '__main__':
    main()
