#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: host_network_info
short_description: Read a host's links back as the hypervisor_network role's variables
version_added: 0.2.0
description:
  - Reads every link of the host (or of O(netns)) and returns it in this collection's
    vocabulary, the variables of the C(kvmnet.hostnet.hypervisor_network) role
    (C(hypervisor_network_bonds), C(_teams), C(_vlans), C(_bridges), C(_vxlans),
    C(_macvlans), C(_vm_nics)), each item with the options of its module.
  - Applying the result to the same host changes nothing, so an existing hypervisor can
    be adopted before the collection manages it (C(playbooks/adopt.yml)).
  - Leaves out what the collection does not manage and lists it in RV(left_out) with the
    reason, namely libvirt's C(vnetN)/C(macvtapN) devices, Docker's bridges and veths, NICs
    (they appear as ports and parents), kinds the role has no variable for (veth), and
    taps whose name does not tell their VM.
  - Read-only.
author:
  - kvmnet.hostnet developers (@kvmnet)
requirements:
  - pyroute2 on the target
  - teamdctl for teams
options:
  netns:
    description: Read this named network namespace instead of the host's.
    type: str
extends_documentation_fragment:
  - kvmnet.hostnet.attributes.read_only
'''

EXAMPLES = r'''
- name: Read the host as role variables
  kvmnet.hostnet.host_network_info:
  register: host_network

- name: Apply them with the role (plans nothing on this host)
  ansible.builtin.include_role:
    name: kvmnet.hostnet.hypervisor_network
  vars: "{{ host_network.role_vars }}"
'''

RETURN = r'''
role_vars:
  description: The hypervisor_network role's variables, one list per stage.
  returned: always
  type: dict
  sample:
    hypervisor_network_bonds: []
    hypervisor_network_teams: []
    hypervisor_network_vlans: [{name: eth1.10, parent: eth1, vlan_id: 10, protocol: 802.1Q, mtu: 1500}]
    hypervisor_network_bridges: [{name: br10, stp: false, forward_delay: 0, mtu: 1500,
                                  mac: "52:54:00:12:34:56", ports: [{name: eth1.10, learning: true}]}]
    hypervisor_network_vxlans: [{name: vx42, vni: 42, dstport: 4789, dev: eth0,
                                 remotes: [192.0.2.12], bridge: {name: brvx}}]
    hypervisor_network_macvlans: []
    hypervisor_network_vm_nics: [{vm: web01, index: 0, bridge: br10, mtu: 1500}]
left_out:
  description: The links not described, each with C(name), C(kind) and C(why).
  returned: always
  type: list
  elements: dict
  sample: [{name: vnet0, kind: tun, why: "libvirt creates and removes its VMs' devices itself"}]
notes:
  description: What to know before applying the result (kept as it is, but risky).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import NetlinkSession
from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.inventory import HostInventory


def main():
    module = AnsibleModule(argument_spec=dict(netns=dict(type='str')), supports_check_mode=True)
    try:
        with NetlinkSession(module.params['netns']) as net:
            inventory = HostInventory(net)
            role_vars = inventory.read()
    except NetError as error:
        module.fail_json(msg=error.message, problems=error.problems)
    module.exit_json(changed=False, role_vars=role_vars, left_out=inventory.left_out,
                     notes=inventory.notes)


if __name__ == '__main__':
    main()
