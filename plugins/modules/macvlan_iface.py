#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: macvlan_iface
short_description: Manage a macvlan or macvtap interface over netlink
version_added: 0.1.0
description:
  - Creates, changes or removes a macvlan (or, with O(tap=true), a macvtap for a VM)
    on a parent device through netlink (pyroute2), idempotently.
  - Reads the current state, plans only what differs, applies it, reads it back and fails
    naming any attribute the kernel did not keep. A failed run rolls back what it did.
  - Every problem in the request is reported at once, before anything is touched.
  - A change of O(parent), or a change of O(mode) to or from V(passthru), cannot be made
    on a live link; the link is deleted and created again and the result says
    C(recreated=true). Other mode changes are made in place.
  - B(The host cannot reach its own macvlans through their parent.) Frames from a
    macvlan in mode V(bridge), V(vepa) or V(private) never come up the parent's own
    stack, so a ping from the parent's address to a macvlan (or to a VM on a macvtap)
    fails. Give the host its own macvlan on the same parent when it must talk to them.
author:
  - kvmnet.hostnet developers (@kvmnet)
requirements:
  - pyroute2 on the target
extends_documentation_fragment:
  - kvmnet.hostnet.attributes
  - kvmnet.hostnet.link
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: linux
options:
  netns:
    description:
      - Name of a network namespace (as in C(ip netns list)) where O(parent) lives and,
        without O(target_netns), where the link is managed.
      - A missing namespace is an error; it is never created.
    type: str
  mac:
    description:
      - MAC address of the link. When omitted the kernel picks a random one at creation
        and it is kept afterwards (also across a recreate, unless passthru is involved).
      - Not allowed with O(mode=passthru), where the endpoint takes its parent's MAC.
    type: str
  parent:
    description:
      - The lower device the link is created on, in O(netns) (or the host).
      - Required with O(state=present). Changing it recreates the link.
    type: str
  mode:
    description:
      - V(bridge) - endpoints on the same parent reach each other directly.
      - V(vepa) - every frame goes out to the switch; siblings reach each other only
        when the switch port sends frames back (hairpin / reflective relay).
      - V(private) - like vepa, but frames between siblings are dropped even when the
        switch sends them back.
      - V(passthru) - one endpoint takes the whole parent (and its MAC); the parent must
        carry no other macvlan or macvtap.
      - V(source) - only frames whose source MAC is in O(source_macs) are received.
      - B(The default here is V(bridge)), unlike the kernel and C(ip link), whose
        default is V(vepa); an existing link in another mode is changed to V(bridge) when
        O(mode) is omitted.
      - Changing to or from V(passthru) recreates the link; the others change in place.
    type: str
    choices: [bridge, vepa, private, passthru, source]
    default: bridge
  nopromisc:
    description:
      - With O(mode=passthru), do not put the parent into promiscuous mode
        (MACVLAN_FLAG_NOPROMISC). Changes in place.
      - V(true) with any other mode is an error.
    type: bool
  source_macs:
    description:
      - With O(mode=source), the exact list of source MACs whose frames reach the
        endpoint. MACs not listed are removed; V([]) removes all.
      - Omitted, the list is left as it is. Given with any other mode, an error.
    type: list
    elements: str
  tap:
    description:
      - Create a macvtap (a macvlan with a character device for a VM or a vhost
        process) instead of a macvlan. The result's C(tap_device) is its
        C(/dev/tapN), where N is the ifindex.
      - An existing link of the other kind is an error; it is never replaced.
    type: bool
    default: false
  target_netns:
    description:
      - Network namespace the link lives in, when it differs from its parent's
        (O(netns) or the host). The link is created on the parent directly inside this
        namespace, and is found, compared and changed there on every run.
      - In that namespace the kernel reports the parent as an ifindex of another
        namespace (IFLA_LINK with IFLA_LINK_NETNSID). The parent is verified by matching
        that namespace id against the id O(target_netns) has for O(netns) (or the host);
        a parent in any other namespace counts as a different parent and recreates the
        link.
      - A link of that name left in O(netns) but missing here is an error; it is never
        moved or deleted.
      - With O(state=absent) the link is removed from this namespace.
    type: str
notes:
  - pyroute2 silently ignores unknown or misspelled netlink keywords; every value is read
    back after the change, so one that did not take fails the run.
  - O(nopromisc) rewrites IFLA_MACVLAN_FLAGS, so a MACVLAN_FLAG_NODST set by other tools
    is cleared when O(nopromisc) changes.
  - Before creating an endpoint, the module looks for the parent's other macvlans and
    macvtaps in the host and in every named namespace (C(ip netns list)), to refuse
    passthru on a shared parent, or a second endpoint on a passthru parent. Ones in
    unnamed namespaces (containers) are not seen; the kernel then refuses and the run is
    rolled back.
seealso:
  - module: kvmnet.hostnet.linux_bridge
'''

EXAMPLES = r'''
- name: A macvlan in bridge mode on eth1
  kvmnet.hostnet.macvlan_iface:
    name: mv0
    parent: eth1

- name: A macvtap for a VM in vepa mode (the switch port needs hairpin / reflective relay)
  kvmnet.hostnet.macvlan_iface:
    name: macvtap0
    parent: eth1
    mode: vepa
    tap: true
  register: tap
- ansible.builtin.debug:
    msg: "qemu ... -netdev tap,id=n0,fd=3 3<>{{ tap.interface.tap_device }}"

- name: Give all of eth2 to one endpoint, without making eth2 promiscuous
  kvmnet.hostnet.macvlan_iface:
    name: pt0
    parent: eth2
    mode: passthru
    nopromisc: true

- name: Only frames from these senders get in
  kvmnet.hostnet.macvlan_iface:
    name: src0
    parent: eth1
    mode: source
    source_macs:
      - "52:54:00:aa:00:01"
      - "52:54:00:aa:00:02"

- name: A macvlan on the host's eth1, living in namespace tenant1
  kvmnet.hostnet.macvlan_iface:
    name: mv-t1
    parent: eth1
    target_netns: tenant1
    mtu: 1400
'''

RETURN = r'''
interface:
  description: The link after the run (predicted in check mode), null when absent.
  returned: always
  type: dict
  sample:
    name: mv0
    kind: macvlan
    ifindex: 12
    mtu: 1500
    mac: "52:54:00:12:34:56"
    up: true
    parent: eth1
    mode: bridge
    nopromisc: false
    netns: tenant1
    source_macs: []
  contains:
    parent:
      description:
        - The parent's name, or C(ifindex N in another namespace (netnsid M)) when the
          parent is not in O(netns) (or the host).
      type: str
    netns:
      description: The namespace the link lives in (null for the host).
      type: str
    source_macs:
      description: The source-MAC list, sorted; only when O(source_macs) was given.
      type: list
      elements: str
    tap_device:
      description: The character device of a macvtap (C(/dev/tapN), N is the ifindex).
      returned: when O(tap=true) and the link exists
      type: str
      sample: /dev/tap12
plan:
  description: The operations applied (or that would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create macvlan mv0 (parent=eth1, mode=bridge)", "bring mv0 up"]
recreated:
  description: Whether the link was deleted and created again (parent changed, or mode
    changed to or from passthru).
  returned: always
  type: bool
'''

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import run_module
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.macvlan import MODULE


def main():
    run_module(MODULE)


if __name__ == '__main__':
    main()
