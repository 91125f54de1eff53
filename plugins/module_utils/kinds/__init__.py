# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry of link kinds and of the modules built on them, one small file each.

Imports are static on purpose: Ansible ships only the module_utils it can see imported.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import (
    bond, bridge, macvlan, tap, team, veth, vlan, vxlan)

KINDS = dict((kind.kind, kind) for kind in (
    bond.KIND,
    bridge.KIND,
    macvlan.MACVLAN_KIND, macvlan.MACVTAP_KIND,
    tap.KIND,
    team.KIND,
    veth.KIND,
    vlan.KIND,
    vxlan.KIND,
))

# Every link module, in the order a host is built: aggregates first, then what
# sits on them (VLANs), the bridges, then the links attached to bridges.
MODULES = OrderedDict((module.name, module) for module in (
    bond.MODULE,
    team.MODULE,
    vlan.MODULE,
    bridge.MODULE,
    vxlan.MODULE,
    veth.MODULE,
    macvlan.MODULE,
    tap.MODULE,
))


def kind_named(name):
    """The LinkKind for an IFLA_INFO_KIND, or None for kinds we do not manage."""
    return KINDS.get(name)
