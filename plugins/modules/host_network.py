#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: host_network
short_description: Converge a host's whole link topology in one call, one plan, one rollback
version_added: 0.2.0
description:
  - Takes every bond, team, VLAN, bridge, VXLAN, macvlan and VM NIC of a host at once and
    converges them through one netlink session and one ordered plan, instead of one module
    call (and one Python start-up, one full read of the host) per link.
  - Each item takes exactly the options of its single module and is validated by the same
    argument spec; see the module named in each option below for the reference. C(netns)
    and the commit-confirmed options belong to the whole call, not to an item.
  - Every problem of every item is reported at once, each prefixed with the item's kind and
    name, before anything is touched.
  - Items may depend on each other. A VLAN a bridge lists in its ports, a VXLAN or a VM NIC
    attached to a bridge the same call creates, a VLAN on a bond of the same call are
    resolved in that order (bonds, teams, vlans, bridges, vxlans, veths, macvlans, vm_nics), and
    check mode on an empty host predicts the whole topology without failing.
  - One undo journal covers the whole call; a failure in any item rolls back every change
    of the call.
  - Links the call creates are marked with the interface alias C(kvmnet:host_network)
    (C(ip link show) prints it). Links that existed before are marked only for the
    sections named in O(purge), and never when they carry an alias of their own, so
    applying a host's links as they are (adoption) changes nothing. O(purge) removes
    marked links that the call does not list. Links not listed are otherwise left alone,
    as with the single modules.
  - Only the links the items name and their relatives (ports, parents, masters) are read,
    each once per read phase, so the time of a run grows with the request, not the host.
author:
  - kvmnet.hostnet developers (@kvmnet)
requirements:
  - pyroute2 on the target
extends_documentation_fragment:
  - kvmnet.hostnet.attributes
options:
  netns:
    description:
      - Name of a network namespace (as in C(ip netns list)) the whole call works in.
      - A missing namespace is an error; it is never created.
      - An item may repeat it; an item naming another namespace is an error.
    type: str
  bonds:
    description: Bonds; each item takes the options of M(kvmnet.hostnet.bond_iface).
    type: list
    elements: dict
    default: []
  teams:
    description: Teams; each item takes the options of M(kvmnet.hostnet.team_iface).
    type: list
    elements: dict
    default: []
  vlans:
    description: VLAN sub-interfaces; each item takes the options of M(kvmnet.hostnet.vlan_sub).
    type: list
    elements: dict
    default: []
  bridges:
    description: Bridges; each item takes the options of M(kvmnet.hostnet.linux_bridge).
    type: list
    elements: dict
    default: []
  vxlans:
    description: VXLAN tunnel endpoints; each item takes the options of M(kvmnet.hostnet.vxlan_vtep).
    type: list
    elements: dict
    default: []
  veths:
    description: veth pairs; each item takes the options of M(kvmnet.hostnet.veth_pair).
    type: list
    elements: dict
    default: []
  macvlans:
    description:
      - Macvlans and macvtaps; each item takes the options of M(kvmnet.hostnet.macvlan_iface).
      - An item with C(target_netns) is managed from another namespace; use
        M(kvmnet.hostnet.macvlan_iface) for it.
    type: list
    elements: dict
    default: []
  vm_nics:
    description: VMs' taps and macvtaps; each item takes the options of M(kvmnet.hostnet.kvm_vm_nic).
    type: list
    elements: dict
    default: []
  purge:
    description:
      - Sections whose unlisted links are removed. For each section named, every link of its
        kinds (bonds C(bond), teams C(team), vlans C(vlan), bridges C(bridge), vxlans
        C(vxlan), veths C(veth), macvlans C(macvlan) and C(macvtap), vm_nics C(tun) and C(macvtap)) that
        carries the alias C(kvmnet:host_network) and is not listed by any item is removed.
      - Links without the marker (made by hand, by libvirt, by another tool) are never
        removed. A tap a running VM holds open fails the call instead of being removed.
      - Removals run last, after everything else of the call succeeded; a removed link cannot
        be rolled back.
    type: list
    elements: str
    choices: [bonds, teams, vlans, bridges, vxlans, veths, macvlans, vm_nics]
    default: []
  report:
    description:
      - Which items the result's RV(items) lists. V(all) lists every item with its interface, as
        its single module returns it (a VM NIC's C(libvirt_xml) included).
      - V(changed) lists only the items that change (or would, in check mode), and counts the
        others in RV(unchanged). A large topology's no-op then leaves out a megabyte of
        unchanged interfaces that Ansible would check, copy and send to the controller.
    type: str
    choices: [all, changed]
    default: all
  persist:
    description:
      - Keep every link of the call across a reboot, as O(kvmnet.hostnet.linux_bridge#module:persist)
        does for one link (see docs/persistence.md), for the whole call. An item may repeat it.
      - V(auto) is V(networkmanager) when NetworkManager runs, else V(restore); V(networkmanager)
        writes a NetworkManager profile per link plus the stored state the boot-time restore unit
        replays for what profiles cannot hold; V(restore) keeps the stored state for the unit only.
      - V(none) writes nothing, but still removes the persisted files of items with
        C(state=absent) and of links O(purge) removes.
    type: str
    choices: [auto, networkmanager, restore, none]
    default: none
  confirm_timeout:
    description:
      - Commit-confirmed apply of the whole call, as for the single modules (see
        M(kvmnet.hostnet.confirm)); off when omitted.
    type: int
  confirm_checkpoint:
    description: Name of the checkpoint to create or join; needs O(confirm_timeout).
    type: str
  confirm_wait:
    description: Seconds to wait for a pending checkpoint of the namespace to end first.
    type: int
    default: 0
  confirm_when:
    description:
      - With O(confirm_timeout), V(always) arms the checkpoint for every call that changes
        something.
      - V(guarded) arms it only when an item that changes (its link, its takeover_from,
        parent, underlay device, ports or bridge), or a link O(purge) removes, is an interface
        whose change can cut the host off (see RV(guarded)); any other change is applied
        without a checkpoint, and RV(armed) is false.
    type: str
    choices: [always, guarded]
    default: always
notes:
  - The single modules stay for playbooks that manage one link; M(kvmnet.hostnet.host_network)
    builds the same links with the same values (besides the alias marker).
seealso:
  - module: kvmnet.hostnet.linux_bridge
  - module: kvmnet.hostnet.vxlan_vtep
  - module: kvmnet.hostnet.kvm_vm_nic
'''

EXAMPLES = r'''
- name: Two tenant networks, each a bridge with a VXLAN (head-end replication) and two VM taps
  kvmnet.hostnet.host_network:
    bridges:
      - {name: br-t1, stp: false, forward_delay: 0}
      - {name: br-t2, stp: false, forward_delay: 0}
    vxlans:
      - {name: vx1001, vni: 1001, dev: eth0, local: 192.0.2.11, remotes: [192.0.2.12], bridge: {name: br-t1}}
      - {name: vx1002, vni: 1002, dev: eth0, local: 192.0.2.11, remotes: [192.0.2.12], bridge: {name: br-t2}}
    vm_nics:
      - {vm: web01, bridge: br-t1}
      - {vm: web02, bridge: br-t1}
      - {vm: db01, bridge: br-t2}
      - {vm: db02, bridge: br-t2}

- name: VLAN bridges on a bond, and remove managed bridges and VLANs no longer listed
  kvmnet.hostnet.host_network:
    bonds:
      - {name: bond0, mode: active-backup, miimon: 100, ports: [eth1, eth2]}
    vlans:
      - {parent: bond0, vlan_id: 10}
      - {parent: bond0, vlan_id: 20}
    bridges:
      - {name: br10, ports: [bond0.10]}
      - {name: br20, ports: [bond0.20]}
    purge: [vlans, bridges]
'''

RETURN = r'''
changed:
  description: Whether any item changed (or, in check mode, would change).
  returned: always
  type: bool
plan:
  description: Every operation of the call, in the order it runs (or would run).
  returned: always
  type: list
  elements: str
  sample: ["create bridge br-t1", "create vxlan vx1001 (vni=1001)", "attach vx1001 to bridge br-t1"]
recreated:
  description: Whether any item's link was deleted and created again.
  returned: always
  type: bool
items:
  description:
    - One entry per item (with O(report=changed), per item that changes), in build order
      (bonds, teams, vlans, bridges, vxlans, veths, macvlans, vm_nics), each with the return
      values of its single module.
  returned: always
  type: list
  elements: dict
  contains:
    section:
      description: The option the item was listed under.
      type: str
      sample: bridges
    name:
      description: The item's link name.
      type: str
      sample: br-t1
    changed:
      description: Whether this item changed.
      type: bool
    plan:
      description: This item's operations.
      type: list
      elements: str
    recreated:
      description: Whether this item's link was recreated.
      type: bool
    interface:
      description: The item's state after the run (predicted in check mode), as its module returns it.
      type: dict
    diff:
      description: Before and after views of the item, in diff mode.
      type: dict
      returned: in diff mode
unchanged:
  description: How many items did not change (would not, in check mode).
  returned: always
  type: int
  sample: 0
purged:
  description: Links removed by O(purge) (to be removed, in check mode).
  returned: always
  type: list
  elements: str
  sample: [br-old]
checkpoint:
  description: The pending checkpoint after this run, with O(confirm_timeout); see M(kvmnet.hostnet.confirm).
  returned: always
  type: dict
armed:
  description: Whether this call armed (or joined) the checkpoint; only then is there something to confirm.
  returned: always
  type: bool
guarded:
  description:
    - With O(confirm_when=guarded) and a change, the interfaces whose change can cut the host
      off (C(interfaces), from C(default_route) and C(connection)), the default C(gateways),
      and the ones this call C(touched).
  returned: with O(confirm_when=guarded), when something changes
  type: dict
  sample: {default_route: [eth0], gateways: [192.0.2.1], connection: [], interfaces: [eth0], touched: [eth0]}
'''

import gc
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.checkpoint import (
    CONFIRM_OPTIONS, named_interfaces, run_confirmed)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import InvalidRequest, NetError
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.topology import (
    SECTIONS, Purge, listed_links, needed_kernel_modules, parse_topology)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.run import (
    PERSIST_OPTION, file_diffs, topology_persistence)


def argument_spec():
    spec = dict(netns=dict(type='str'), persist=PERSIST_OPTION,
                report=dict(type='str', choices=['all', 'changed'], default='all'),
                purge=dict(type='list', elements='str', choices=list(SECTIONS), default=[]))
    for section in SECTIONS:
        spec[section] = dict(type='list', elements='dict', default=[])
    spec.update(CONFIRM_OPTIONS)
    return spec


def load_kernel_modules(module, items):
    if module.check_mode:
        return
    for name in needed_kernel_modules(items):
        if not os.path.isdir('/sys/module/%s' % name):
            # A failure shows up as the kernel's "no support for <kind> links" error.
            module.run_command(['modprobe', name])


def touched_interfaces(items, purge):
    """Interfaces the planned part of the call names: those of the items that change, and
    the links purge removes (for confirm_when: guarded)."""
    names = set(state.name for _section, state in (purge.found if purge is not None else []))
    for item in items:
        if item.operations:
            names.update(named_interfaces(item.params))
    return sorted(names)


def main():
    # One short process that builds tens of thousands of objects for a large topology
    # and frees them by reference counting: the cycle collector's passes over them
    # cost more than 10% of a run (measured on 2,000 links).
    gc.disable()
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        items, problems = parse_topology(params)
        if problems:
            raise InvalidRequest(problems)
        load_kernel_modules(module, items)
        for item in items:
            item.claims = item.section in params['purge']
        facets = list(items)
        purge = Purge(params['purge'], listed_links(items)) if params['purge'] else None
        if purge is not None:
            facets.append(purge)
        persisted = topology_persistence(module, items, params['netns'])
        outcome, confirmation = run_confirmed(module, 'host_network', facets, params['netns'],
                                              touched=lambda planned: touched_interfaces(items, purge))
        outcome = persisted(outcome, outcome.before['purge'] if purge is not None else ())
    except NetError as error:
        module.fail_json(msg=error.message, problems=error.problems)
    reported = [item for item in items if params['report'] == 'all' or item.operations]
    results = [item.result(outcome.before[item.title], outcome.after[item.title], module._diff)
               for item in reported]
    result = dict(changed=outcome.changed, plan=outcome.plan, recreated=outcome.recreated,
                  items=results, unchanged=sum(1 for item in items if not item.operations),
                  purged=outcome.before['purge'] if purge is not None else [])
    result.update(confirmation)
    if module._diff:
        result['diff'] = [dict(before_header=entry['section'] + ' ' + entry['name'],
                               after_header=entry['section'] + ' ' + entry['name'],
                               **entry['diff'])
                          for entry in results if entry['changed']] + file_diffs(outcome)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
