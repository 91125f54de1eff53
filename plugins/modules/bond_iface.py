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
  - kvmnet.hostnet.link
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: linux
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
  bridge:
    description:
      - Attach the bond to this bridge as a port, with optional port options
        C(hairpin), C(learning), C(unicast_flood), C(cost), C(priority), C(isolated).
      - The bridge must exist (M(kvmnet.hostnet.linux_bridge)).
      - Refused for modes that are unsafe under a VM bridge unless O(switch_configured=true).
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
  switch_configured:
    description:
      - Says that the switch side aggregates the members of this bond (static
        aggregation or LACP), which makes the load-balancing modes safe under a bridge.
    type: bool
    default: false
notes:
  - With O(state=absent) the bond is removed; the kernel releases its members, which are
    left down and never deleted.
  - The guardrail also applies when the bond is already a port of a bridge and O(mode)
    changes to an unsafe mode.
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

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import Facet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import InvalidRequest
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import (
    BRIDGE_ATTACHMENT_OPTION, link_argument_spec, run_module)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import (
    BridgePorts, PortSpec)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.bond import (
    KERNEL_DEFAULT_MODE, NEEDS_DOWN, NEEDS_NO_MEMBERS, BondKind, BondMembers, bridge_mode_problem)

KIND = BondKind()


class BridgeGuard(Facet):
    """The VM-safety guardrail with the mode the bond will have after this run.

    BridgePorts checks a port's current mode; a bond created or re-moded in this run
    is checked here, and so is a bond that already is a bridge port.
    """

    title = 'guard'

    def __init__(self, name, mode, bridge, switch_configured):
        self.name = name
        self.mode = mode
        self.bridge = bridge
        self.switch_configured = switch_configured

    def validate(self):
        if self.bridge and self.mode:
            problem = bridge_mode_problem(self.name, self.mode, self.switch_configured)
            return [problem] if problem else []
        return []

    def read(self, net):
        return None

    def check(self, net, current):
        state = net.link(self.name)
        if state is not None and state.kind != 'bond':
            return []  # LinkFacet reports the kind clash
        master = net.link_by_index(state.master) if state is not None and state.master else None
        under_bridge = self.bridge or (master is not None and master.kind == 'bridge')
        if not under_bridge or (self.bridge and self.mode):
            return []  # nothing to guard, or validate() did it
        mode = self.mode
        if mode is None:
            mode = KIND.options['mode'].codec.decode(state.data.get('IFLA_BOND_MODE')) \
                if state is not None else KERNEL_DEFAULT_MODE
        problem = bridge_mode_problem(self.name, mode, self.switch_configured)
        return [problem] if problem else []


def build_facets(params):
    name = params['name']
    if params['state'] == 'absent':
        return [LinkFacet(KIND, name, state='absent', title='bond')]
    options = dict((key, params[key]) for key in KIND.options)
    problems = []
    ports = params['ports']
    if params['primary'] and ports is not None and params['primary'] not in ports:
        problems.append('primary %s is not one of ports (%s)' % (params['primary'], ', '.join(ports)))
    link = LinkFacet(KIND, name, options=options, mtu=params['mtu'], mac=params['mac'],
                     up=params['up'], title='bond')
    facets = [BridgeGuard(name, params['mode'], (params['bridge'] or {}).get('name'),
                          params['switch_configured']),
              link,
              BondMembers(name, ports, link, down_options=NEEDS_DOWN,
                          empty_options=NEEDS_NO_MEMBERS)]
    bridge = params['bridge']
    if bridge:
        port = PortSpec(name, **dict((k, v) for k, v in bridge.items() if k != 'name'))
        # The guardrail runs in BridgeGuard with the mode this run sets; BridgePorts
        # would judge the bond by the mode it has now.
        facets.append(BridgePorts(bridge['name'], [port], title='bridge', created_here=[name],
                                  switch_configured=True))
    if problems:
        problems.extend(p for facet in facets for p in facet.validate() if p not in problems)
        raise InvalidRequest(problems)
    return facets


def summarize(after):
    bond = after.get('bond')
    if bond is None:
        return None
    interface = dict(bond)
    interface['ports'] = (after.get('members') or {}).get('ports', [])
    ports = after.get('bridge')
    if ports is not None:
        entry = dict(ports.get(bond['name']) or {})
        entry['name'] = entry.get('master')
        interface['bridge'] = entry
    return interface


def load_bonding(module):
    """Load bonding when it is not there yet: not every kernel autoloads it."""
    if module.params['state'] == 'present' and not module.check_mode \
            and not os.path.isdir('/sys/module/bonding'):
        # A failure shows up as the kernel's "no support for bond links" error.
        module.run_command(['modprobe', 'bonding'])


def main():
    module = AnsibleModule(
        argument_spec=link_argument_spec(
            mode=dict(type='str', choices=['balance-rr', 'active-backup', 'balance-xor',
                                           'broadcast', '802.3ad', 'balance-tlb', 'balance-alb']),
            miimon=dict(type='int'),
            updelay=dict(type='int'),
            downdelay=dict(type='int'),
            lacp_rate=dict(type='str', choices=['slow', 'fast']),
            xmit_hash_policy=dict(type='str', choices=['layer2', 'layer3+4', 'layer2+3',
                                                       'encap2+3', 'encap3+4', 'vlan+srcmac']),
            primary=dict(type='str'),
            ad_select=dict(type='str', choices=['stable', 'bandwidth', 'count']),
            ports=dict(type='list', elements='str'),
            bridge=BRIDGE_ATTACHMENT_OPTION,
            switch_configured=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    load_bonding(module)
    run_module(module, build_facets, summarize)


if __name__ == '__main__':
    main()
