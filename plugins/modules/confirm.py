#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: confirm
short_description: Confirm or roll back a pending commit-confirmed change of kvmnet.hostnet
version_added: 0.2.0
description:
  - A kvmnet.hostnet link module run with O(kvmnet.hostnet.linux_bridge#module:confirm_timeout)
    applies its change and leaves a watchdog on the host that undoes it at the deadline.
    This module tells the watchdog to stand down (V(confirm)) or to undo the change now
    (V(rollback)), and reports what was pending.
  - Run it over a new connection after probing that the host is still reachable; the
    C(kvmnet.hostnet.hypervisor_network) role does this in its confirm stage.
  - A rollback reads the state back and fails when it differs from the state before the
    checkpoint, listing the differences.
  - A confirmation that arrives after the deadline fails and says the change was rolled back.
author:
  - kvmnet.hostnet developers (@kvmnet)
attributes:
  check_mode:
    description: Reports what is pending without confirming or rolling back.
    support: full
  diff_mode:
    description: Nothing to show; the module changes no configuration of its own.
    support: none
  platform:
    description: Target operating systems.
    support: full
    platforms: linux
options:
  action:
    description:
      - V(confirm) keeps the pending change; files staged by the change are written now.
      - V(rollback) undoes it now instead of at the deadline.
      - V(status) changes nothing; it reports what is pending and, in RV(guarded), the
        interfaces whose change can cut the host off.
    type: str
    choices: [confirm, rollback, status]
    default: confirm
  checkpoint:
    description:
      - The checkpoint this confirmation is for (the modules' O(kvmnet.hostnet.linux_bridge#module:confirm_checkpoint)).
      - When given, a different pending checkpoint is an error and is left alone, and a
        confirmation of this checkpoint after it was rolled back fails.
    type: str
  netns:
    description: Network namespace of the checkpoint; the host's when omitted.
    type: str
  wait:
    description: Seconds to wait for the watchdogs to finish confirming or rolling back.
    type: int
    default: 60
  extend:
    description:
      - With O(action=status), move the deadline of the pending checkpoint to at least
        this many seconds from now; V(0) leaves it alone. Never shortens it, and a
        checkpoint already past its deadline (rolling back) is not touched.
      - For the controller that has just reached the host over a new connection; its
        probes then get a whole window, however long the change and the reconnection
        took on a loaded controller. A host that is cut off cannot be reached to extend.
      - In check mode nothing is moved.
    type: int
    default: 0
  targets:
    description:
      - With O(action=status), addresses to compute full-size probes for in RV(paths), the
        largest ping that leaves the host without fragmenting, from the MTU of the route
        the kernel picks for each.
    type: list
    elements: str
    default: []
  overlays:
    description:
      - With O(action=status), VXLAN interfaces whose peers get full-size probes in
        RV(paths); each peer (the VXLAN's remote and its static FDB destinations) must
        carry a packet of the VXLAN's MTU plus its encapsulation (50 bytes over IPv4,
        70 over IPv6) without fragmenting.
      - A name that does not exist (any more) is left out; one that is no VXLAN is an error.
    type: list
    elements: str
    default: []
'''

EXAMPLES = r'''
- name: Take the uplink into br0; the host undoes it in 120 s unless confirmed
  kvmnet.hostnet.linux_bridge:
    name: br0
    takeover_from: eth0
    confirm_timeout: 120
    confirm_checkpoint: site-run

- name: A new SSH connection, not the multiplexed one that carried the change
  ansible.builtin.meta: reset_connection

- name: The gateway answers from the host
  ansible.builtin.command:
    argv: [ping, -c1, -W2, 192.0.2.1]
  changed_when: false

- name: Keep the change
  kvmnet.hostnet.confirm:
    checkpoint: site-run
'''

RETURN = r'''
pending:
  description: What was pending when the module ran (none when nothing was).
  returned: always
  type: dict
  sample: {id: site-run, state: pending, deadline: "2026-11-30T04:00:00Z", seconds_left: 97,
           modules: [linux_bridge], plan: ["create bridge br0", "attach eth0 to bridge br0"]}
result:
  description:
    - How the checkpoint ended, from the host's record; for V(rollback) whether the state
      equals the one before the checkpoint (C(equal)) and any C(differences).
    - When nothing was pending, the last recorded result (none if there is none).
  returned: always
  type: dict
  sample: {id: site-run, outcome: rolled_back, reason: requested, equal: true, differences: []}
guarded:
  description:
    - With O(action=status), the interfaces that carry a default route (C(default_route)),
      the default gateways (C(gateways)), the interface holding the address this SSH
      connection reached (C(connection)), and all of those with their masters, ports and
      lower devices (C(interfaces)).
  returned: when O(action=status)
  type: dict
  sample: {default_route: [br0], gateways: [192.0.2.1], connection: [br0], interfaces: [br0, eth0]}
paths:
  description:
    - With O(action=status), the full-size probes of the default gateways, of O(targets)
      and of the peers of O(overlays), one per address and kind (C(gateway), C(target),
      C(overlay)); C(size) is the ping payload (C(ping -M do -s SIZE)) that fills
      C(mtu) exactly, C(why) says where C(mtu) comes from.
    - An address without a route gets C(size) 0 and C(why) saying so.
  returned: when O(action=status)
  type: list
  elements: dict
  sample: [{kind: gateway, target: 192.0.2.1, size: 1472, mtu: 1500, why: "MTU of br0"},
           {kind: overlay, target: 192.0.2.12, size: 1472, mtu: 1500,
            why: "MTU 1450 of vx9 plus 50 bytes of VXLAN over IPv4"}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.checkpoint import (
    CheckpointStore, connection_address, current, describe, extend_deadline, guarded_interfaces,
    read_result, settle)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import InvalidRequest, NetError
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import NetlinkSession


def outcome_problem(action, checkpoint, pending, result):
    """Why the run failed, or None."""
    if pending is None:
        if checkpoint and result and result.get('id') == checkpoint \
                and result.get('outcome') != 'confirmed' and action == 'confirm':
            return ('checkpoint %s cannot be confirmed: it ended %s at %s (%s)' % (
                checkpoint, result.get('outcome'), result.get('finished'),
                result.get('message') or 'its deadline passed before the confirmation'))
        if checkpoint and action == 'confirm' and (not result or result.get('id') != checkpoint):
            return ('no checkpoint %s is pending and none was recorded: the change it guarded '
                    'did not run, or the host rebooted (which drops unconfirmed changes)' % checkpoint)
        return None
    if result is None:
        return 'checkpoint %s finished but left no result' % pending['id']
    if action == 'confirm' and result.get('outcome') != 'confirmed':
        return ('checkpoint %s reached its deadline (%s) before the confirmation and was rolled '
                'back' % (pending['id'], pending['deadline']))
    if result.get('file_errors'):
        return ('checkpoint %s was confirmed, but persisting it failed: %s; the running state is '
                'kept, the host may boot into the state before it' % (
                    pending['id'], '; '.join(result['file_errors'])))
    if result.get('outcome') == 'rolled_back' and not result.get('equal', False):
        return ('checkpoint %s was rolled back, but the state differs from before it: %s%s' % (
            pending['id'], '; '.join(result.get('differences') or []),
            '; not undone: ' + '; '.join(result['leftovers']) if result.get('leftovers') else ''))
    return None


# Ping payload = packet - IP header - ICMP header (8).
IP_HEADER = {4: 20, 6: 40}
# A VXLAN frame on the underlay: inner Ethernet header, VXLAN and UDP headers, outer IP.
VXLAN_OVERHEAD = 14 + 8 + 8


def _family(address):
    return 6 if ':' in address else 4


def _route_mtu(net, address):
    """(MTU toward ``address``, where it comes from), or (None, why not)."""
    route = net.route_to(address)
    if route is None:
        return None, 'no route to %s' % address
    metrics = route.get('RTA_METRICS')
    link = net.link_by_index(route.get('RTA_OIF')) if route.get('RTA_OIF') else None
    if metrics and metrics.get('RTAX_MTU'):
        return metrics.get('RTAX_MTU'), 'route MTU via %s' % (link.name if link else '?')
    if link is None:
        return None, 'the route to %s has no interface' % address
    return link.mtu, 'MTU of %s' % link.name


def _overlay_peers(link, fdb):
    peers = []
    group = link.data.get('IFLA_VXLAN_GROUP') or link.data.get('IFLA_VXLAN_GROUP6')
    if group and not _multicast(group):
        peers.append(group)
    for entry in fdb:
        if entry['ifindex'] == link.index and entry['dst'] and not _multicast(entry['dst']):
            peers.append(entry['dst'])
    return sorted(set(peers))


def _multicast(address):
    if _family(address) == 6:
        return address.lower().startswith('ff')
    return 224 <= int(address.split('.')[0]) <= 239


def probe_paths(net, gateways, targets, overlays):
    """The full-size probes (see RETURN paths)."""
    paths = []
    for kind, address in [('gateway', g) for g in gateways] + [('target', t) for t in targets]:
        mtu, why = _route_mtu(net, address)
        header = IP_HEADER[_family(address)] + 8
        paths.append(dict(kind=kind, target=address, mtu=mtu, why=why,
                          size=max(0, mtu - header) if mtu else 0))
    fdb = net.bridge_fdb() if overlays else []  # one dump for every overlay
    for name in overlays:
        link = net.link(name)
        if link is None:
            continue
        if link.kind != 'vxlan':
            raise InvalidRequest(['overlays: %s is not a VXLAN interface of this host' % name])
        for peer in _overlay_peers(link, fdb):
            header = IP_HEADER[_family(peer)]
            mtu = link.mtu + VXLAN_OVERHEAD + header
            paths.append(dict(kind='overlay', target=peer, mtu=mtu, size=mtu - header - 8,
                              why='MTU %d of %s plus %d bytes of VXLAN over IPv%d' % (
                                  link.mtu, name, VXLAN_OVERHEAD + header, _family(peer))))
    return paths


def report(module, store):
    """What is pending, the last result, what must not be cut; changes no configuration."""
    with store.locked():
        record, warnings = current(store)
        if record is not None and module.params['action'] == 'status' and not module.check_mode:
            extend_deadline(store, record, module.params['extend'])
    for warning in warnings:
        module.warn(warning)
    result = dict(changed=record is not None and module.params['action'] != 'status',
                  pending=describe(record) if record else None,
                  result=None if record else read_result(store))
    if module.params['action'] == 'status':
        with NetlinkSession(module.params['netns']) as net:
            result['guarded'] = guarded_interfaces(net, connection_address())
            result['paths'] = probe_paths(net, result['guarded']['gateways'],
                                          module.params['targets'], module.params['overlays'])
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type='str', default='confirm', choices=['confirm', 'rollback', 'status']),
            checkpoint=dict(type='str'),
            netns=dict(type='str'),
            wait=dict(type='int', default=60),
            extend=dict(type='int', default=0),
            targets=dict(type='list', elements='str', default=[]),
            overlays=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    store = CheckpointStore(params['netns'])
    try:
        if module.check_mode or params['action'] == 'status':
            report(module, store)
        with store.locked():
            record, _warnings = current(store)
        if record is not None and params['checkpoint'] and record['id'] != params['checkpoint']:
            module.fail_json(msg='checkpoint %s is pending, not %s; it was left alone'
                             % (record['id'], params['checkpoint']), pending=describe(record))
        pending, result, warnings = settle(store, params['action'], params['wait'])
    except NetError as error:
        module.fail_json(msg=error.message)
    for warning in warnings:
        module.warn(warning)
    problem = outcome_problem(params['action'], params['checkpoint'], pending, result)
    if problem:
        module.fail_json(msg=problem, pending=pending, result=result)
    module.exit_json(changed=pending is not None, pending=pending, result=result)


if __name__ == '__main__':
    main()
