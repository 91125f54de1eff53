#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: vlan_sub
short_description: Manage an 802.1Q/802.1ad VLAN sub-interface over netlink
version_added: 0.1.0
description:
  - Creates, changes or removes a VLAN sub-interface of a parent link (C(eth0.10)) through
    netlink (pyroute2), idempotently, and optionally attaches it to a bridge, the
    one-bridge-per-VLAN setup of a KVM host (C(eth0.10) in C(brvlan-10)).
  - Reads the current state, plans only what differs, applies it, reads it back and fails
    naming any attribute the kernel did not keep. A failed run rolls back what it did.
  - Every problem in the request is reported at once, before anything is touched.
  - The kernel cannot change the VLAN id, the protocol or the parent of a live VLAN link
    (it silently ignores a new id), so a change of any of them deletes and creates the
    link again; it is re-attached to its bridge with its port options and RV(recreated)
    is true.
  - When the kernel has no 802.1Q support loaded the module tries C(modprobe 8021q) once
    and otherwise fails saying so.
author:
  - kvmnet.hostnet developers (@kvmnet)
requirements:
  - pyroute2 on the target
extends_documentation_fragment:
  - kvmnet.hostnet.attributes
  - kvmnet.hostnet.link
  - kvmnet.hostnet.bridge_attachment
options:
  name:
    description:
      - Interface name, at most 15 characters.
      - Defaults to C(<parent>.<vlan_id>); when that is longer than 15 characters the
        module fails asking for O(name).
      - With a custom name, changing O(vlan_id) recreates this link; with the default
        name a new O(vlan_id) names a new link and the old one is left alone.
    type: str
    required: false
  parent:
    description: The link that carries the tagged frames (a NIC, a bond, a team).
    type: str
  vlan_id:
    description: The VLAN id, 1 to 4094.
    type: int
  protocol:
    description: The tag protocol; V(802.1ad) is the outer tag of QinQ.
    type: str
    choices: ['802.1Q', '802.1ad']
  mtu:
    description: MTU of the link; it cannot be above the parent's MTU.
    type: int
  reorder_hdr:
    description:
      - Hand frames to the stack with the VLAN header removed (the kernel default is on).
    type: bool
  gvrp:
    description: Register the VLAN with GVRP.
    type: bool
  mvrp:
    description: Register the VLAN with MVRP.
    type: bool
  loose_binding:
    description: Do not follow the parent's operational state.
    type: bool
  ingress_qos_map:
    description:
      - The exact set of mappings from a received frame's 802.1p priority (0-7) to the
        Linux packet priority. Mappings not listed are removed; V({}) removes all.
      - 'A dict C({from: to}) or a list of C("from:to") strings. A mapping to 0 is the
        kernel''s "no mapping".'
      - When omitted, the mappings are left alone.
    type: raw
  egress_qos_map:
    description:
      - The exact set of mappings from the Linux packet priority to the 802.1p priority
        (0-7) of sent frames. Same forms and rules as O(ingress_qos_map).
    type: raw
notes:
  - With O(state=absent) only O(name) (or O(parent) and O(vlan_id) for the default name)
    is needed; a link of another kind with that name is never removed.
seealso:
  - module: kvmnet.hostnet.linux_bridge
  - module: kvmnet.hostnet.bond_iface
'''

EXAMPLES = r'''
- name: VLAN bridges of a KVM host - one bridge per VLAN on a trunk NIC
  kvmnet.hostnet.linux_bridge:
    name: "brvlan-{{ item }}"
    stp: false
    forward_delay: 0
  loop: [10, 20]

- name: eth1.10 and eth1.20 into their bridges
  kvmnet.hostnet.vlan_sub:
    parent: eth1
    vlan_id: "{{ item }}"
    bridge:
      name: "brvlan-{{ item }}"
  loop: [10, 20]

- name: A long parent name needs an explicit name; map packet priorities to 802.1p
  kvmnet.hostnet.vlan_sub:
    name: uplink.100
    parent: enp129s0f1np1
    vlan_id: 100
    egress_qos_map:
      - "0:0"
      - "5:5"
    mtu: 9000

- name: QinQ outer tag
  kvmnet.hostnet.vlan_sub:
    name: svlan300
    parent: bond0
    vlan_id: 300
    protocol: 802.1ad

- name: Remove eth1.20
  kvmnet.hostnet.vlan_sub:
    parent: eth1
    vlan_id: 20
    state: absent
'''

RETURN = r'''
interface:
  description: The VLAN link after the run (predicted in check mode), null when absent.
  returned: always
  type: dict
  sample:
    name: eth1.10
    kind: vlan
    ifindex: 9
    mtu: 1500
    mac: "52:54:00:12:34:56"
    up: true
    parent: eth1
    vlan_id: 10
    protocol: 802.1Q
    reorder_hdr: true
    gvrp: false
    mvrp: false
    loose_binding: false
    ingress_qos_map: null
    egress_qos_map: {"5": 5}
    bridge: {name: brvlan-10, master: brvlan-10, up: true, learning: true}
plan:
  description: The operations applied (or that would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create vlan eth1.10 (parent=eth1, vlan_id=10)", "attach eth1.10 to bridge brvlan-10",
           "bring eth1.10 up"]
recreated:
  description: Whether the link was deleted and created again (new vlan_id, protocol or parent).
  returned: always
  type: bool
'''

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import run_module
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vlan import MODULE


def main():
    run_module(MODULE)


if __name__ == '__main__':
    main()
