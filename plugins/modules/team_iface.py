#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: team_iface
short_description: Manage a team device, its teamd runner and ports, optionally as a bridge port
version_added: 0.1.0
description:
  - Creates, changes or removes a team device (netlink, pyroute2) and the C(teamd) daemon
    that runs it, idempotently.
  - The device is made over netlink and C(teamd) takes it over (C(teamd -d -o -N)), so
    restarting C(teamd) keeps the device, its MAC and its bridge membership.
  - Idempotence compares the running C(teamd) config (C(teamdctl NAME config dump actual))
    with the request. Only the values given are compared; C(teamd) fills in its defaults.
  - Ports are added and removed live with C(teamdctl). A change of the runner, its
    options or the link watch restarts C(teamd) (it cannot change them live); the ports
    leave and rejoin, and the result says RV(recreated=true).
  - Every problem in the request is reported at once, before anything is touched.
  - Refuses, as a bridge port, the runners that break VMs on that bridge unless the
    switch aggregates the members (see O(switch_configured)).
author:
  - kvmnet.hostnet developers (@kvmnet)
requirements:
  - pyroute2 on the target
  - C(teamd) and C(teamdctl) on the target (package libteam-utils on Debian/Ubuntu,
    teamd on RHEL/Fedora/SUSE)
  - the kernel module C(team) and the C(team_mode_*) module of the runner
extends_documentation_fragment:
  - kvmnet.hostnet.attributes
  - kvmnet.hostnet.link
  - kvmnet.hostnet.bridge_attachment
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: linux
options:
  mac:
    description:
      - MAC address of the team. Without it the team takes its first port's MAC.
    type: str
  runner:
    description:
      - The C(teamd) runner. V(activebackup) needs no switch configuration; V(lacp)
        needs an LACP group on the switch; the others need static aggregation on the
        switch when the team is a bridge port.
    type: str
    choices: [roundrobin, activebackup, loadbalance, lacp, broadcast, random]
    default: activebackup
  hwaddr_policy:
    description:
      - V(activebackup) only. V(same_all) gives every port the team's MAC,
        V(by_active) gives the team the active port's MAC, V(only_active) gives only the
        active port the team's MAC.
    type: str
    choices: [same_all, by_active, only_active]
  tx_hash:
    description: V(loadbalance) and V(lacp) only. Packet fields hashed to choose a port.
    type: list
    elements: str
    choices: [eth, vlan, ipv4, ipv6, ip, l3, tcp, udp, sctp, l4]
  tx_balancer:
    description: V(loadbalance) and V(lacp) only. The C(basic) transmit balancer.
    type: dict
    suboptions:
      balancing_interval:
        description: Rebalancing period in tenths of a second.
        type: int
  lacp:
    description: V(lacp) only. LACP runner options.
    type: dict
    suboptions:
      active:
        description: Send LACPDUs actively (otherwise only in answer).
        type: bool
      fast_rate:
        description: Ask the partner for LACPDUs every second instead of every 30.
        type: bool
      sys_prio:
        description: System priority, 0 to 65535.
        type: int
      min_ports:
        description: Fewest ports that must be up for the aggregate to be up, 1 to 1024.
        type: int
      agg_select_policy:
        description: How the aggregator is chosen.
        type: str
        choices: [lacp_prio, lacp_prio_stable, bandwidth, count, port_config]
  link_watch:
    description:
      - How port link state is watched (C(teamd) defaults to V(ethtool)).
      - Values are milliseconds, except C(missed_max) (a count).
    type: dict
    suboptions:
      name:
        description: The link watcher.
        type: str
        required: true
        choices: [ethtool, arp_ping, nsna_ping]
      delay_up:
        description: V(ethtool) only. Wait this long before a link counts as up.
        type: int
      delay_down:
        description: V(ethtool) only. Wait this long before a link counts as down.
        type: int
      interval:
        description: V(arp_ping)/V(nsna_ping). Time between probes.
        type: int
      init_wait:
        description: V(arp_ping)/V(nsna_ping). Delay before the first probe.
        type: int
      missed_max:
        description: V(arp_ping)/V(nsna_ping). Missed replies before the link counts as down.
        type: int
      source_host:
        description: V(arp_ping) only. IPv4 source address of the ARP probes.
        type: str
      target_host:
        description: V(arp_ping) (IPv4) or V(nsna_ping) (IPv6). Address to probe; required for them.
        type: str
      validate_active:
        description: V(arp_ping) only. Check that replies arrive on active ports.
        type: bool
      validate_inactive:
        description: V(arp_ping) only. Check that replies arrive on inactive ports.
        type: bool
      send_always:
        description: V(arp_ping) only. Probe from inactive ports too.
        type: bool
  ports:
    description:
      - The exact set of team ports, each a name or a dict with C(name) and optional
        C(prio) (higher wins the active role in V(activebackup)) and C(sticky) (an active
        port stays active when a higher C(prio) port comes back).
      - Ports not listed are removed from the team (released and left down, never deleted).
      - A port that belongs to another team, bond or bridge is an error, never moved.
      - Ports are set down before they join (the kernel requires it); C(teamd) brings
        them up.
    type: list
    elements: raw
    default: []
  switch_configured:
    description:
      - Says that the switch aggregates the team's ports (static aggregation for
        V(roundrobin), V(loadbalance), V(broadcast), V(random)).
      - Without it those runners are refused with O(bridge), and also without O(bridge)
        when the team already is a port of a bridge, because the switch floods
        a VM's broadcast, sent out of one member, back in on the other; the bridge then
        learns the VM's MAC on the team port and the VM loses its network.
        V(activebackup) and V(lacp) are always accepted.
    type: bool
    default: false
notes:
  - C(teamd) is started as a daemon and is not made persistent across reboots; use
    NetworkManager or the distribution's network scripts for boot-time configuration.
  - C(teamd) keeps its pid file and control socket in C(/var/run/teamd/NAME.*) for every
    network namespace, so a team name must be unique on the host.
  - With O(state=absent) C(teamd) is stopped and the team removed; its ports are
    released (left down), never deleted.
seealso:
  - module: kvmnet.hostnet.linux_bridge
'''

EXAMPLES = r'''
- name: Active-backup uplink for the VM bridge (no switch change needed)
  kvmnet.hostnet.team_iface:
    name: team0
    runner: activebackup
    link_watch:
      name: ethtool
      delay_up: 2000
    ports:
      - name: eno1
        prio: 100
        sticky: true
      - eno2
    bridge:
      name: br-vm

- name: LACP with the switch ports in an LACP group
  kvmnet.hostnet.team_iface:
    name: team1
    runner: lacp
    tx_hash: [eth, ipv4, ipv6]
    lacp:
      active: true
      fast_rate: true
    ports: [eno3, eno4]

- name: Round-robin under a bridge, the switch aggregates both ports statically
  kvmnet.hostnet.team_iface:
    name: team2
    runner: roundrobin
    ports: [eno5, eno6]
    bridge:
      name: br-vm2
    switch_configured: true

- name: Remove a team (teamd stops, its ports are released)
  kvmnet.hostnet.team_iface:
    name: team0
    state: absent
'''

RETURN = r'''
interface:
  description: The team after the run (predicted in check mode), null when absent.
  returned: always
  type: dict
  sample:
    name: team0
    kind: team
    ifindex: 9
    mtu: 1500
    mac: "52:54:00:00:00:01"
    up: true
    running: true
    pid: 1234
    runner: activebackup
    runner_options: {hwaddr_policy: same_all}
    link_watch: {name: ethtool, delay_up: 2000}
    ports:
      eno1: {prio: 100, sticky: true}
      eno2: {}
    active_port: eno1
    bridge: {master: br-vm, up: true, learning: true}
plan:
  description: The operations applied (or that would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create team team0", "start teamd for team0 (runner activebackup, ports eno1, eno2)",
           "attach team0 to bridge br-vm", "bring team0 up"]
recreated:
  description: Whether teamd was restarted (a change of runner, runner options or link watch).
  returned: always
  type: bool
'''

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import run_module
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.team import MODULE


def main():
    run_module(MODULE)


if __name__ == '__main__':
    main()
