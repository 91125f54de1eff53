#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: diagnose
short_description: Find what breaks VM networking on a KVM host, with evidence and the fix
version_added: 0.2.0
description:
  - Reads the host's network state once (links, addresses, routes, neighbours, bridge and
    VXLAN forwarding databases, sysctls, iptables and nftables rules, teamd) and returns
    one finding per problem that loses or will lose VM traffic.
  - Each finding names its subject, the values read (C(evidence)), why it breaks traffic,
    and the module call or command that removes it.
  - Read-only; never reports C(changed). The only packets it sends are ARP probes for the
    IPv4 addresses of bridges (duplicate address detection) and for the gateways of
    O(expect.vm_gateways), see O(arp_probe).
  - The findings and their fixes are listed in the collection's C(docs/diagnosis.md).
author:
  - kvmnet.hostnet developers (@kvmnet)
requirements:
  - pyroute2 on the target
  - iptables-save and/or nft to judge the firewall, teamdctl for teams
options:
  netns:
    description: Diagnose inside this named network namespace instead of the host's.
    type: str
  peers:
    description:
      - The other VXLAN tunnel endpoints, typically built from the inventory. Used to find
        a UDP port that differs from the peers', peers missing from a head-end replication
        list, and reverse-path filtering that drops their packets.
    type: list
    elements: dict
    suboptions:
      address:
        description: The peer's underlay IPv4 address.
        type: str
        required: true
      dstport:
        description: The UDP port the peer's VTEP listens on.
        type: int
      vni:
        description: The VNI the peer carries; omitted means every VNI of this host.
        type: int
  expect:
    description: What the host cannot tell by itself about how it is meant to work.
    type: dict
    default: {}
    suboptions:
      vm_ports:
        description:
          - Bridge ports that are VM NICs besides taps and libvirt C(vnetN)/C(macvtapN)
            devices (a veth into a container). Every other port is an uplink.
        type: list
        elements: str
      vm_macs:
        description: Guest MAC -> the bridge port it must be learned on.
        type: dict
      parent_reaches_guests:
        description:
          - Macvlan/macvtap parents through which the host itself must reach its guests.
        type: list
        elements: str
      routed_bridges:
        description:
          - Bridges whose address is the VMs' gateway, so the host routes for them. Without
            it, a bridge with an address counts when the host has NAT rules, or when VM ports
            sit behind it while the default route leaves through another interface.
        type: list
        elements: str
      vm_gateways:
        description:
          - The gateways the VMs use, beyond those of the host's own routes.
          - With O(expect.vm_gateways[].bridge), the gateway is ARP-probed on that bridge, so
            it is checked even when the host has no address there.
        type: list
        elements: dict
        suboptions:
          address:
            description: The gateway's IPv4 address.
            type: str
            required: true
          bridge:
            description: The bridge the VMs reach it through.
            type: str
  arp_probe:
    description:
      - Probe every IPv4 address of a bridge with ARP (sender 0.0.0.0, so no cache learns
        anything) to find another machine that uses it, and the gateways of
        O(expect.vm_gateways) that name a bridge to see that they answer. All probes share
        one quarter-second wait.
    type: bool
    default: true
extends_documentation_fragment:
  - kvmnet.hostnet.attributes.read_only
'''

EXAMPLES = r'''
- name: Diagnose the hypervisor, telling it where the VXLAN peers are
  kvmnet.hostnet.diagnose:
    peers: "{{ groups['hypervisors'] | difference([inventory_hostname])
               | map('extract', hostvars, 'underlay_ip')
               | map('community.general.dict_kv', 'address') }}"
  register: diagnosis

- name: Fail on errors, show every finding
  ansible.builtin.assert:
    that: diagnosis.counts.error == 0
    fail_msg: "{{ diagnosis.findings | map(attribute='explanation') | list }}"

- name: The host must reach its macvtap guests through eth1
  kvmnet.hostnet.diagnose:
    expect:
      parent_reaches_guests: [eth1]
'''

RETURN = r'''
findings:
  description: One entry per problem, errors first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: What kind of problem (the table in docs/diagnosis.md).
      type: str
      sample: bridged-traffic-dropped
    severity:
      description: C(error) traffic is lost now, C(warning) it will be, C(info) worth knowing.
      type: str
      sample: error
    subject:
      description: The interface, address or peer the finding is about.
      type: str
      sample: br0
    evidence:
      description: The values read that prove it.
      type: dict
      sample: {"net.bridge.bridge-nf-call-iptables": 1, "dropped_by": ["iptables filter: chain FORWARD policy DROP"]}
    explanation:
      description: Why this loses traffic.
      type: str
    fix:
      description:
        - C(summary); C(module) and C(args), a kvmnet.hostnet module call to run as a task;
          C(commands), argument lists to run on the host (after the module call when both).
      type: dict
      sample: {"summary": "accept what is bridged within br0",
               "commands": [["iptables", "-I", "FORWARD", "-i", "br0", "-o", "br0", "-j", "ACCEPT"]]}
counts:
  description: Number of findings per severity.
  returned: always
  type: dict
  sample: {"error": 1, "warning": 0, "info": 0}
skipped:
  description: What could not be checked, and why (a missing program).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import NetlinkSession
from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.checks import counts, diagnose


def main():
    module = AnsibleModule(
        argument_spec=dict(
            netns=dict(type='str'),
            peers=dict(type='list', elements='dict', options=dict(
                address=dict(type='str', required=True),
                dstport=dict(type='int'),
                vni=dict(type='int'),
            )),
            expect=dict(type='dict', default={}, options=dict(
                vm_ports=dict(type='list', elements='str'),
                vm_macs=dict(type='dict'),
                parent_reaches_guests=dict(type='list', elements='str'),
                routed_bridges=dict(type='list', elements='str'),
                vm_gateways=dict(type='list', elements='dict', options=dict(
                    address=dict(type='str', required=True),
                    bridge=dict(type='str'),
                )),
            )),
            arp_probe=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        with NetlinkSession(params['netns']) as net:
            findings, skipped = diagnose(net, params['netns'], params['peers'],
                                         params['expect'], params['arp_probe'])
    except NetError as error:
        module.fail_json(msg=error.message, problems=error.problems)
    module.exit_json(changed=False, findings=findings, counts=counts(findings), skipped=skipped)


if __name__ == '__main__':
    main()
