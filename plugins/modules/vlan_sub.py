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
  - kvmnet.hostnet.link
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: linux
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
  bridge:
    description:
      - Attach the VLAN link to this bridge as a port, with optional port options
        C(hairpin), C(learning), C(unicast_flood), C(cost), C(priority), C(isolated).
      - The bridge must exist (M(kvmnet.hostnet.linux_bridge)). A link that is a port of
        another bridge or a bond is an error, never moved.
    type: dict
    suboptions:
      name:
        description: The bridge.
        type: str
        required: true
      hairpin:
        description: Reflect frames back out of the port they came in on.
        type: bool
      learning:
        description: Learn source MACs on this port.
        type: bool
      unicast_flood:
        description: Flood unknown unicast to this port.
        type: bool
      cost:
        description: STP path cost, 1-65535.
        type: int
      priority:
        description: STP port priority, 0-63.
        type: int
      isolated:
        description: Isolated ports talk only to non-isolated ports.
        type: bool
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

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import BridgePorts, PortSpec
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import InvalidRequest
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vlan import (
    VlanKind, VlanLinkFacet, default_name, default_name_problem, parse_qos_map)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import (
    BRIDGE_ATTACHMENT_OPTION, link_argument_spec, run_module)

KIND = VlanKind()
QOS_LIMITS = {'ingress_qos_map': (7, 0xffffffff), 'egress_qos_map': (0xffffffff, 7)}


def link_name(params):
    """(interface name or None, problems)."""
    if params['name']:
        return params['name'], []
    if not params['parent'] or params['vlan_id'] is None:
        return None, ['name is required unless parent and vlan_id are given '
                      '(the default name is <parent>.<vlan_id>)']
    problem = default_name_problem(params['parent'], params['vlan_id'])
    if problem:
        return None, [problem]
    return default_name(params['parent'], params['vlan_id']), []


def build_facets(params):
    name, problems = link_name(params)
    if params['state'] == 'absent':
        if problems:
            raise InvalidRequest(problems)
        return [VlanLinkFacet(KIND, name, state='absent', title='vlan')]
    if not params['parent']:
        problems.append('parent is required with state: present')
    if params['vlan_id'] is None:
        problems.append('vlan_id is required with state: present (1-4094)')
    options = dict((key, params[key]) for key in KIND.options)
    for key, (from_max, to_max) in QOS_LIMITS.items():
        if options[key] is not None:
            mapping, found = parse_qos_map(key, options[key], from_max, to_max)
            problems.extend(found)
            options[key] = mapping
    # A placeholder name lets the facets' own checks run when the name is the problem.
    facets = [VlanLinkFacet(KIND, name or 'unnamed', options=options, mtu=params['mtu'],
                            mac=params['mac'], up=params['up'], title='vlan')]
    bridge = params['bridge']
    if bridge:
        port = PortSpec(name or 'unnamed', **dict((k, v) for k, v in bridge.items() if k != 'name'))
        facets.append(BridgePorts(bridge['name'], [port], title='bridge', created_here=[name]))
    if problems:
        # With the pure checks of every facet, so that all problems are told at once.
        problems.extend(p for facet in facets for p in facet.validate() if p not in problems)
        raise InvalidRequest(problems)
    return facets


def summarize(after):
    vlan = after.get('vlan')
    if vlan is None:
        return None
    interface = dict(vlan)
    for key in QOS_LIMITS:
        if interface.get(key) is not None:
            # JSON object keys are strings; "from" is a number either way.
            interface[key] = dict((str(k), v) for k, v in sorted(interface[key].items()))
    ports = after.get('bridge')
    if ports is not None:
        entry = dict(ports.get(vlan['name']) or {})
        entry['name'] = entry.get('master')
        interface['bridge'] = entry
    return interface


def load_8021q(module):
    """Load 8021q when it is not there yet: not every kernel autoloads it."""
    if module.params['state'] == 'present' and not module.check_mode \
            and not os.path.isdir('/sys/module/8021q'):
        # A failure shows up as the kernel's "no support for vlan links" error.
        module.run_command(['modprobe', '8021q'])


def main():
    module = AnsibleModule(
        argument_spec=link_argument_spec(
            name=dict(type='str'),
            parent=dict(type='str'),
            vlan_id=dict(type='int'),
            protocol=dict(type='str', choices=['802.1Q', '802.1ad']),
            reorder_hdr=dict(type='bool'),
            gvrp=dict(type='bool'),
            mvrp=dict(type='bool'),
            loose_binding=dict(type='bool'),
            ingress_qos_map=dict(type='raw'),
            egress_qos_map=dict(type='raw'),
            bridge=BRIDGE_ATTACHMENT_OPTION,
        ),
        supports_check_mode=True,
    )
    load_8021q(module)
    run_module(module, build_facets, summarize)


if __name__ == '__main__':
    main()
