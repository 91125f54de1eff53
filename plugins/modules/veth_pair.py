#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: veth_pair
short_description: Manage a veth pair over netlink, its peer possibly in another namespace
version_added: 0.2.0
description:
  - Creates, changes or removes a virtual Ethernet pair through netlink (pyroute2),
    idempotently. O(name) is the end in O(netns); O(peer) is the other end, in
    O(peer_netns) when given, else next to it.
  - A different O(peer) or O(peer_netns) recreates the pair (the kernel cannot rename
    or move the peer of a live pair for this module); RV(recreated) says so.
  - Both ends are brought up, or only this one is taken down, as O(up) says.
  - Every problem in the request is reported at once, before anything is touched.
    A failed run rolls back what it did.
author:
  - kvmnet.hostnet developers (@kvmnet)
requirements:
  - pyroute2 on the target
extends_documentation_fragment:
  - kvmnet.hostnet.attributes
  - kvmnet.hostnet.link
  - kvmnet.hostnet.bridge_attachment
options:
  peer:
    description:
      - Name of the other end. Required with O(state=present).
    type: str
  peer_netns:
    description:
      - Network namespace (as in C(ip netns list)) the other end is created in. It must
        exist; it is never created. When omitted, the peer is in O(netns).
    type: str
notes:
  - O(mtu) and O(mac) apply to this end; the peer keeps the kernel's defaults.
  - With O(state=absent) this end is removed, and the kernel removes its peer with it.
seealso:
  - module: kvmnet.hostnet.linux_bridge
'''

EXAMPLES = r'''
- name: A container's link to the host bridge - one end on br0, the other in netns web
  kvmnet.hostnet.veth_pair:
    name: vweb
    peer: eth0
    peer_netns: web
    bridge: br0

- name: Remove the pair (both ends go)
  kvmnet.hostnet.veth_pair:
    name: vweb
    state: absent
'''

RETURN = r'''
interface:
  description: This end after the run (predicted in check mode), null when absent.
  returned: always
  type: dict
  sample:
    name: vweb
    kind: veth
    ifindex: 12
    mtu: 1500
    mac: "42:0b:7c:1d:e3:90"
    up: true
    peer: eth0
    peer_netns: web
    peer_up: true
    bridge: {master: br0, up: true}
plan:
  description: The operations applied (or that would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create veth vweb (peer=eth0, peer_netns=web)", "attach vweb to bridge br0",
           "bring vweb up", "bring peer eth0 up in namespace web"]
recreated:
  description: Whether the pair was deleted and created again (another peer or peer_netns).
  returned: always
  type: bool
'''

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import run_module
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.veth import MODULE


def main():
    run_module(MODULE)


if __name__ == '__main__':
    main()
