# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keyfile settings per link kind, one small file each (nmstate's nm/settings/<kind>).

Each kind file declares ``NM_TYPE``, ``ALWAYS`` (options written even when the user
left them to the kernel, because NetworkManager's default differs) and
``settings(options)`` -> (sections, gaps): the keyfile sections for the link's
kind options, and the options NetworkManager cannot hold (the boot-time restore
re-applies those).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.nm import (
    bond, bridge, macvlan, team, vlan, vxlan)

RENDERERS = {
    'bond': bond,
    'bridge': bridge,
    'macvlan': macvlan,
    'macvtap': macvlan,
    'team': team,
    'vlan': vlan,
    'vxlan': vxlan,
}
