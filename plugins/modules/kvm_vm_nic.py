#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: kvm_vm_nic
short_description: Pre-create a KVM guest's NIC (a persistent tap on a bridge, or a macvtap)
version_added: 0.1.0
description:
  - Creates, checks or removes the host side of one virtual machine NIC through netlink
    (pyroute2), idempotently, and returns a libvirt C(<interface>) element that uses it.
  - O(type=tap) makes a persistent tap owned by O(owner)/O(group) and attaches it to
    O(bridge). O(type=macvtap) makes a macvtap on O(parent).
  - The device name and guest MAC derive from O(vm) and O(index), the same on every run and
    every host, so a VM is always found by its MAC (never by a C(vnetN) number).
  - A run against a tap that a running VM holds never recreates it. Changes that would
    need a recreate (O(owner), O(group), O(multi_queue)) are refused with a message while
    it is in use; MTU, MAC, bridge and port options change in place. Nothing else disturbs
    the VM (same ifindex, carrier stays up).
  - Every problem in the request is reported at once, before anything is touched.
author:
  - kvmnet.hostnet developers (@kvmnet)
requirements:
  - pyroute2 on the target
extends_documentation_fragment:
  - kvmnet.hostnet.attributes
  - kvmnet.hostnet.link
  - kvmnet.hostnet.bridge_attachment
options:
  vm:
    description: Name of the virtual machine the NIC belongs to.
    type: str
    required: true
  index:
    description: Number of the NIC within the VM, 0 to 255.
    type: int
    default: 0
  name:
    description:
      - Name of the host device, at most 15 characters.
      - When omitted, C(<vm>-<index>) (V(web01-0)) if that fits in 15 characters and O(vm)
        is made of letters, digits, C(_), C(.) and C(-) starting with a letter or digit.
        Otherwise the first characters of O(vm) in lower case (other characters as C(-)),
        C(-), five hex digits of the SHA-1 of O(vm), C(-<index>)
        (V(database-primary-prod) -> V(databas-f78ce-0)).
    type: str
    required: false
  type:
    description:
      - V(tap) a persistent tap for QEMU/libvirt C(type='ethernet'), attached to O(bridge).
      - V(macvtap) a macvtap on O(parent) (libvirt C(type='direct')).
    type: str
    choices: [tap, macvtap]
    default: tap
  mac:
    description:
      - The MAC address the B(guest) uses, returned as RV(mac) and put into RV(libvirt_xml).
      - Default C(52:54:00:xx:xx:xx) where C(xx:xx:xx) are the first three bytes of the
        SHA-1 of O(vm), a NUL byte and O(index).
      - For a tap, the tap device itself gets this MAC with its first byte set to C(fe)
        (as libvirt does), so the host side never equals the guest's, and a bridge that follows
        its lowest port MAC never takes a tap's. So a guest MAC starting with C(fe) is refused.
      - For a macvtap, the device has the guest MAC itself.
    type: str
  mtu:
    description:
      - MTU of the device. When omitted, a tap takes the MTU of O(bridge) (so attaching it
        never lowers the bridge's MTU), a macvtap its parent's.
    type: int
  port_options:
    description:
      - Bridge port options of the tap on O(bridge), the same as those O(bridge) takes in its
        dict form; options left out are not changed. O(bridge) wins where both give one.
    type: dict
    suboptions:
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
        description: STP path cost, 1 to 65535.
        type: int
      priority:
        description: STP port priority, 0 to 63.
        type: int
      isolated:
        description: Isolated ports only talk to non-isolated ports.
        type: bool
  parent:
    description: For O(type=macvtap), the lower device the macvtap is created on. Required then.
    type: str
  mode:
    description: For O(type=macvtap), the macvtap mode.
    type: str
    choices: [bridge, vepa, private, passthru]
    default: bridge
  owner:
    description:
      - For O(type=tap), the user (name or uid) allowed to open the tap, e.g. V(libvirt-qemu)
        or V(qemu). An unknown user is an error.
      - When omitted, a new tap has no owner (only root may open it) and an existing one keeps
        its owner.
    type: str
  group:
    description: For O(type=tap), the group (name or gid) allowed to open the tap, e.g. V(kvm).
    type: str
  multi_queue:
    description:
      - For O(type=tap), create a multi-queue tap (QEMU C(queues=N) with N > 1; a
        single-queue QEMU cannot open a multi-queue tap, nor the reverse).
      - When omitted, a new tap is single-queue and an existing one is left as it is.
    type: bool
  vnet_hdr:
    description:
      - For O(type=tap), create the tap with the virtio-net header (offloads).
      - The process that opens a tap sets this flag itself (QEMU turns it on), so it is
        compared only while the tap is not in use. When omitted, a new tap has it on.
    type: bool
notes:
  - O(bridge) and O(port_options) apply to O(type=tap) only; a macvtap is attached to its
    O(parent).
  - O(state=absent) removes the device only (the bridge stays), even when a VM holds it.
  - A tap keeps C(NO-CARRIER) until a process opens it; the result's C(interface.in_use) tells.
seealso:
  - module: kvmnet.hostnet.linux_bridge
'''

EXAMPLES = r'''
- name: Tap for VM web01 on br0, for libvirt-qemu
  kvmnet.hostnet.kvm_vm_nic:
    vm: web01
    bridge: br0
    owner: libvirt-qemu
    group: kvm
  register: nic

- name: Plug it into the domain XML
  ansible.builtin.debug:
    msg: "{{ nic.libvirt_xml }}"

- name: Second NIC of the same VM, hairpin port, jumbo frames
  kvmnet.hostnet.kvm_vm_nic:
    vm: web01
    index: 1
    bridge:
      name: br-storage
      hairpin: true
    mtu: 9000
    multi_queue: true

- name: macvtap on eth1 in bridge mode
  kvmnet.hostnet.kvm_vm_nic:
    vm: db01
    type: macvtap
    parent: eth1
    mode: bridge

- name: Remove the tap (the bridge stays)
  kvmnet.hostnet.kvm_vm_nic:
    vm: web01
    state: absent
'''

RETURN = r'''
name:
  description: The host device name.
  returned: always
  type: str
  sample: web01-0
mac:
  description: The MAC the guest uses (put into the domain's C(<mac address=.../>)).
  returned: always
  type: str
  sample: "52:54:00:9f:9e:38"
ifindex:
  description: The device's ifindex; null when absent, or not created yet in check mode.
  returned: always
  type: int
  sample: 12
libvirt_xml:
  description:
    - A libvirt C(<interface>) element using the device; null with O(state=absent).
    - Tap - C(type='ethernet') with C(<target dev='NAME' managed='no'/>); macvtap -
      C(type='direct') with C(<source dev='PARENT' mode='MODE'/>). Both with a virtio model.
  returned: always
  type: str
  sample: |
    <interface type='ethernet'>
      <mac address='52:54:00:9f:9e:38'/>
      <target dev='web01-0' managed='no'/>
      <model type='virtio'/>
    </interface>
interface:
  description:
    - The device after the run (predicted in check mode), null when absent.
    - For a tap, C(mac) is the host side (C(fe:...)), C(in_use) tells whether a process
      (a VM) has it open, C(persistent) whether it outlives that process.
  returned: always
  type: dict
  sample:
    name: web01-0
    kind: tun
    ifindex: 12
    mtu: 1500
    mac: "fe:54:00:9f:9e:38"
    up: true
    owner: libvirt-qemu
    group: kvm
    multi_queue: false
    vnet_hdr: true
    persistent: true
    in_use: false
    bridge: {master: br0, up: true}
plan:
  description: The operations applied (or that would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create tun web01-0", "set web01-0 mac fe:54:00:9f:9e:38", "attach web01-0 to bridge br0"]
recreated:
  description: Whether the device was deleted and created again (never while a VM holds it).
  returned: always
  type: bool
'''

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import run_module
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.tap import MODULE


def main():
    run_module(MODULE)


if __name__ == '__main__':
    main()
