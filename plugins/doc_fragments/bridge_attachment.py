# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The ``bridge`` option of modules whose link can be a bridge port."""

    DOCUMENTATION = r'''
options:
  bridge:
    description:
      - Attach the link to this bridge as a port, with optional port options.
      - The bridge must exist (M(kvmnet.hostnet.linux_bridge)); other ports of the
        bridge are never touched.
      - Port options left out are not changed.
    type: dict
    suboptions:
      name:
        description: The bridge.
        type: str
        required: true
      hairpin:
        description: Send frames back out of the port they came in on (reflective relay).
        type: bool
      learning:
        description: Learn source MACs on this port.
        type: bool
      unicast_flood:
        description: Flood unknown unicast to this port.
        type: bool
      cost:
        description: STP path cost, 1-65535.
        type: int
      priority:
        description: STP port priority, 0-63.
        type: int
      isolated:
        description: Isolated ports talk only to non-isolated ports.
        type: bool
'''
