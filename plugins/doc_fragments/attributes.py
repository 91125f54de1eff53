# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The attributes of the collection's modules: one wording for all of them."""

    # Modules that change links.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check mode and return the planned operations without changing the host.
    support: full
  diff_mode:
    description: Returns the before and after state of what the module manages.
    support: full
  platform:
    description: Target operating systems.
    support: full
    platforms: linux
'''

    # Modules that only read the host.
    READ_ONLY = r'''
attributes:
  check_mode:
    description: Runs the same in check mode; it never changes anything.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  platform:
    description: Target operating systems.
    support: full
    platforms: linux
'''
