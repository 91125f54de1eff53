# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry of link kinds, one small file each.

Imports are static on purpose: Ansible ships only the module_utils it can see imported.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.bond import BondKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.bridge import BridgeKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.macvlan import MacvlanKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.tap import TapKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.team import TeamKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vlan import VlanKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vxlan import VxlanKind

KINDS = dict((kind.kind, kind) for kind in (
    BondKind(),
    BridgeKind(),
    MacvlanKind(), MacvlanKind(tap=True),
    TapKind(),
    TeamKind(),
    VlanKind(),
    VxlanKind(),
))


def kind_named(name):
    """The LinkKind for an IFLA_INFO_KIND, or None for kinds we do not manage."""
    return KINDS.get(name)
