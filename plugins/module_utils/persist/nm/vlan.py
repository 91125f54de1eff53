# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""[vlan]: the flag bits travel as one number; 802.1ad needs NetworkManager 1.42."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

NM_TYPE = 'vlan'
# NetworkManager's flags default to reorder_hdr alone, the kernel's may differ.
ALWAYS = ('reorder_hdr', 'gvrp', 'loose_binding', 'mvrp')

# nm-settings-nmcli(5): vlan.flags
FLAG_BITS = OrderedDict([('reorder_hdr', 1), ('gvrp', 2), ('loose_binding', 4), ('mvrp', 8)])


def priority_map(mapping):
    if not mapping:
        return None
    pairs = sorted((int(key), int(value)) for key, value in mapping.items())
    return ';'.join('%d:%d' % pair for pair in pairs)


def settings(options):
    keys = OrderedDict([('parent', options.get('parent')), ('id', options.get('vlan_id'))])
    if any(options.get(flag) is not None for flag in FLAG_BITS):
        keys['flags'] = sum(bit for flag, bit in FLAG_BITS.items() if options.get(flag))
    keys['ingress-priority-map'] = priority_map(options.get('ingress_qos_map'))
    keys['egress-priority-map'] = priority_map(options.get('egress_qos_map'))
    if options.get('protocol') == '802.1ad':
        keys['protocol'] = '802.1ad'
    return OrderedDict([('vlan', keys)]), []
