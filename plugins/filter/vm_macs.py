# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""duplicate_vm_macs: VM NIC MACs used more than once across an inventory."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import normalize_mac
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.vm_nic import guest_mac

VM_NICS = 'hypervisor_network_vm_nics'


def nic_mac(nic):
    """The guest MAC a kvm_vm_nic item gets: its mac, or the one derived from vm and index."""
    if nic.get('mac'):
        return normalize_mac(nic['mac']) or str(nic['mac'])
    return guest_mac(str(nic.get('vm', '')), int(nic.get('index', 0) or 0))


def duplicate_vm_macs(hostvars, hosts, variable=VM_NICS):
    """One line per MAC that more than one VM NIC of ``hosts`` would use, naming them all.

    The derived MACs carry 24 bits of a hash: in a fleet of thousands of VMs on one
    overlay two of them meet, so the whole inventory is checked at once.
    """
    holders = {}
    for host in hosts:
        for nic in hostvars[host].get(variable) or []:
            if nic.get('state', 'present') == 'absent':
                continue
            holders.setdefault(nic_mac(nic), []).append('%s NIC %s on %s' % (
                nic.get('vm'), nic.get('index', 0), host))
    return ['%s is used by %s' % (mac, ', '.join(names))
            for mac, names in sorted(holders.items()) if len(names) > 1]


class FilterModule(object):
    def filters(self):
        return {'duplicate_vm_macs': duplicate_vm_macs}
