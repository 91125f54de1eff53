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
      - Attach the link to this bridge as a port. Either the bridge's name (V(br0)), or a
        dict with C(name) and port options.
      - 'Port options: C(hairpin) (bool) sends frames back out of the port they came in on
        (reflective relay); C(learning) (bool) learns source MACs on this port;
        C(unicast_flood) (bool) floods unknown unicast to this port; C(cost) (int) is the
        STP path cost, 1 to 65535; C(priority) (int) is the STP port priority, 0 to 63;
        C(isolated) (bool) lets the port talk only to non-isolated ports.'
      - Port options left out are not changed. When O(bridge) is omitted, bridge
        membership is left alone.
      - The bridge must exist (M(kvmnet.hostnet.linux_bridge)); other ports of the bridge
        are never touched. A link that is a port of another bridge or a bond is an error,
        never moved.
    type: raw
'''
