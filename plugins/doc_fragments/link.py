# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """Options every kvmnet.hostnet link module takes."""

    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check mode and return the planned operations without changing the host.
    support: full
  diff_mode:
    description: Returns the before and after state of every managed attribute.
    support: full
  platform:
    description: Target operating systems.
    support: full
    platforms: linux
options:
  name:
    description: Interface name, at most 15 characters, no spaces, C(/) or C(:).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the link, V(absent) removes it.
      - A link of another kind with the same name is never removed or changed.
    type: str
    choices: [present, absent]
    default: present
  netns:
    description:
      - Name of a network namespace (as in C(ip netns list)) to work in.
      - A missing namespace is an error; it is never created.
    type: str
  mtu:
    description: MTU of the link.
    type: int
  mac:
    description: MAC address of the link.
    type: str
  up:
    description: Whether the link is administratively up.
    type: bool
    default: true
'''
