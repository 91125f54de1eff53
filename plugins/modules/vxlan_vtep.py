#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: vxlan_vtep
short_description: Manage a VXLAN tunnel endpoint, its flooding peers and static FDB over netlink
version_added: 0.1.0
description:
  - Creates, changes or removes a VXLAN link through netlink (pyroute2), idempotently, in
    point-to-point (O(remote)), multicast (O(group) with O(dev)) or unicast head-end
    replication (O(remotes)) mode, optionally as a port of a Linux bridge so the VMs on
    that bridge share the overlay with the other hypervisors.
  - Reads the current state, plans only what differs, applies it, reads it back and fails
    naming any value the kernel did not keep. A failed run rolls back what it did.
  - Every problem in the request is reported at once, before anything is touched.
  - The kernel cannot change O(vni), O(dstport) or O(udp_csum) on a live link. A change
    of one of them deletes and recreates the link; it is re-attached to its bridge with
    its port options, its O(remotes) and O(fdb) entries are added again, and the result
    says RV(recreated=true). Traffic through the tunnel stops for that moment.
  - IPv4 underlays only.
author:
  - kvmnet.hostnet developers (@kvmnet)
requirements:
  - pyroute2 on the target
extends_documentation_fragment:
  - kvmnet.hostnet.attributes
  - kvmnet.hostnet.link
  - kvmnet.hostnet.bridge_attachment
options:
  mtu:
    description:
      - MTU of the VXLAN link.
      - When omitted and O(dev) is given, the MTU of O(dev) minus 50 bytes (outer
        Ethernet, IPv4, UDP and VXLAN headers), so a full-size overlay frame never needs
        fragmenting on the underlay; it follows O(dev) on every run. Without O(dev) the
        kernel's value is left alone.
      - A value larger than the MTU of O(dev) minus 50 is refused.
    type: int
  vni:
    description:
      - VXLAN network identifier, 1 to 16777215. Required with O(state=present).
      - Cannot change in place; a new value recreates the link.
    type: int
  dstport:
    description:
      - UDP destination port of the tunnel.
      - Defaults to the IANA port 4789. The Linux kernel's own default is 8472 (the
        pre-standard port), which does not interoperate with other VTEPs; this module
        therefore always sets the port.
      - Cannot change in place; a new value recreates the link.
    type: int
    default: 4789
  local:
    description: Source IPv4 address of the tunnel packets (an address of this host).
    type: str
  remote:
    description:
      - The one peer VTEP (unicast IPv4) of a point-to-point tunnel.
      - Mutually exclusive with O(group) and with O(remotes).
    type: str
  group:
    description:
      - Multicast group (IPv4, 224.0.0.0/4) the VTEPs of this VNI join; broadcast and
        unknown unicast traffic is flooded to it. Needs O(dev).
      - Mutually exclusive with O(remote) and with O(remotes).
    type: str
  dev:
    description:
      - Underlay interface the tunnel packets leave through (C(vxlan_link)). Required
        with O(group). Its MTU sets the default O(mtu).
    type: str
  remotes:
    description:
      - Unicast head-end replication for underlays without multicast. The exact set of
        peer VTEPs (IPv4) that broadcast, unknown unicast and multicast frames are
        copied to, one all-zero FDB entry (C(00:00:00:00:00:00 dst PEER)) each.
      - Entries for peers not listed are removed on every run; V([]) removes them all.
        When omitted, the all-zero entries are left alone.
      - Mutually exclusive with O(remote) and O(group). The list replaces the link's
        default destination, so a O(remote) or O(group) the link still has from an
        earlier run is cleared.
    type: list
    elements: str
  fdb:
    description:
      - The exact set of static FDB entries, each a VM MAC and the VTEP (IPv4) behind
        which it lives. Static entries not listed are removed. Entries learned from
        traffic are never touched. When omitted, static entries are left alone.
      - A MAC may appear once.
    type: list
    elements: dict
    suboptions:
      mac:
        description: Unicast MAC address of the VM.
        type: str
        required: true
      dst:
        description: IPv4 address of the VTEP the MAC lives behind.
        type: str
        required: true
  learning:
    description: Learn remote MAC to VTEP mappings from received traffic.
    type: bool
  ttl:
    description: TTL of the tunnel packets, 0 to 255 (V(0) lets the route decide).
    type: int
  tos:
    description: TOS of the tunnel packets, 0 to 255 (V(1) inherits the inner packet's).
    type: int
  udp_csum:
    description:
      - Compute UDP checksums of the tunnel packets (IPv4).
      - Cannot change in place; a new value recreates the link.
    type: bool
notes:
  - With O(state=absent) the link and its FDB are removed; the bridge stays.
  - In O(remotes) mode keep C(learning) on (the default) or list the VM MACs in O(fdb),
    so unicast between VMs does not keep flooding to every peer.
seealso:
  - module: kvmnet.hostnet.linux_bridge
'''

EXAMPLES = r'''
- name: Point to point VXLAN 42 to the other hypervisor, as a port of br-vm
  kvmnet.hostnet.vxlan_vtep:
    name: vxlan42
    vni: 42
    local: 192.0.2.1
    remote: 192.0.2.2
    dev: eth1
    bridge:
      name: br-vm

- name: Multicast flooding (the underlay must route 239.1.1.1)
  kvmnet.hostnet.vxlan_vtep:
    name: vxlan42
    vni: 42
    group: 239.1.1.1
    dev: eth1
    bridge:
      name: br-vm

- name: No multicast in the underlay - replicate to every other hypervisor
  kvmnet.hostnet.vxlan_vtep:
    name: vxlan42
    vni: 42
    local: 192.0.2.1
    dev: eth1
    remotes: "{{ groups['hypervisors'] | map('extract', hostvars, 'underlay_ip')
                 | reject('equalto', '192.0.2.1') | list }}"
    fdb:
      - mac: "52:54:00:aa:00:02"
        dst: 192.0.2.2
    bridge:
      name: br-vm

- name: Remove the tunnel
  kvmnet.hostnet.vxlan_vtep:
    name: vxlan42
    state: absent
'''

RETURN = r'''
interface:
  description: The VXLAN link after the run (predicted in check mode), null when absent.
  returned: always
  type: dict
  sample:
    name: vxlan42
    kind: vxlan
    ifindex: 9
    mtu: 1450
    mac: "5a:1e:4c:00:12:34"
    up: true
    vni: 42
    dstport: 4789
    local: 192.0.2.1
    remote: null
    group: null
    dev: eth1
    learning: true
    ttl: 0
    tos: 0
    udp_csum: true
    remotes: ["192.0.2.2", "192.0.2.3"]
    fdb: [{mac: "52:54:00:aa:00:02", dst: 192.0.2.2}]
    bridge: {master: br-vm, up: true, learning: true}
plan:
  description: The operations applied (or that would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create vxlan vxlan42 (vni=42, dstport=4789, dev=eth1)", "attach vxlan42 to bridge br-vm",
           "bring vxlan42 up", "add flood to peer 192.0.2.2 on vxlan42"]
recreated:
  description: Whether the link was deleted and created again (a change of vni, dstport or udp_csum).
  returned: always
  type: bool
'''

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import run_module
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vxlan import MODULE


def main():
    run_module(MODULE)


if __name__ == '__main__':
    main()
