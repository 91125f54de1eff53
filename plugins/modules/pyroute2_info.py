#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: pyroute2_info
short_description: Tell whether the interpreter Ansible uses on the target can run the netlink modules
version_added: 0.2.0
description:
  - Looks for pyroute2 the way every kvmnet.hostnet module does (the interpreter's own
    paths, then the private path that the kvmnet.hostnet.pyroute2 role fills) and reports
    which version it found, whether it is usable, and if not why and how to fix it.
  - Never fails because pyroute2 is missing, unimportable or too old; it reports that
    in RV(usable) and RV(problem). The kvmnet.hostnet.pyroute2 role decides from it.
author:
  - kvmnet.hostnet developers (@kvmnet)
options: {}
attributes:
  check_mode:
    description: Reads only; check mode runs it unchanged.
    support: full
  diff_mode:
    description: Nothing to show as a diff.
    support: none
'''

EXAMPLES = r'''
- name: Can the netlink modules run here?
  kvmnet.hostnet.pyroute2_info:
  register: pyroute2

- name: Say why not
  ansible.builtin.debug:
    msg: "{{ pyroute2.problem }}"
  when: not pyroute2.usable
'''

RETURN = r'''
usable:
  description: Whether the modules can run (pyroute2 imports and is new enough).
  returned: always
  type: bool
version:
  description: The pyroute2 version the modules import, or the one installed but not importable.
  returned: always
  type: str
  sample: 0.8.1
location:
  description: Directory of the pyroute2 package found, if any.
  returned: always
  type: str
problem:
  description: Why the modules cannot run and how to fix it; empty when they can.
  returned: always
  type: str
minimum:
  description: The oldest pyroute2 the collection supports.
  returned: always
  type: str
  sample: 0.7.3
newest_for_python:
  description: The newest pyroute2 series this Python can import (C(0.8.1) below Python 3.9), empty when it is the newest.
  returned: always
  type: str
python:
  description: The interpreter Ansible runs modules with on this target.
  returned: always
  type: dict
  contains:
    executable:
      description: Its path.
      type: str
    version:
      description: Its version, C(major.minor.micro).
      type: str
    private_path:
      description: Where the kvmnet.hostnet.pyroute2 role installs pyroute2 for it.
      type: str
    distribution_interpreter:
      description:
        - Whether it is the system's own interpreter (not a virtual environment and under
          C(/usr/bin) or C(/usr/libexec)), for which the distribution's package installs.
      type: bool
'''

import os
import sys

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import compat


def distribution_interpreter():
    in_venv = getattr(sys, 'base_prefix', sys.prefix) != sys.prefix
    executable = os.path.realpath(sys.executable or '')
    return not in_venv and executable.startswith(('/usr/bin/', '/usr/libexec/'))


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    compat.load()
    problem = compat.problem()
    version = compat.found_version()
    location = os.path.dirname(compat.pyroute2.__file__) if compat.pyroute2 else ''
    if version is None:
        installed = compat.installed_distributions()
        version = compat.parse_version(installed[0][0]) if installed else None
        location = installed[0][1] if installed else ''
    module.exit_json(
        changed=False,
        usable=problem is None,
        version=compat.version_text(version) if version else '',
        location=location,
        problem=problem or '',
        minimum=compat.version_text(compat.MINIMUM),
        newest_for_python=(compat.NEWEST_FOR_OLD_PYTHON if sys.version_info[:2] < (3, 9)
                           else ''),
        python=dict(executable=sys.executable,
                    version='%d.%d.%d' % sys.version_info[:3],
                    private_path=compat.private_path(),
                    distribution_interpreter=distribution_interpreter()))


if __name__ == '__main__':
    main()
