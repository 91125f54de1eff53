# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module options declared once; the Ansible argument spec derives from the declaration.

A kind's options are ``KindOption``s (kinds/base.py), which add the netlink side to
an ``Option``; options that are not link attributes (ports, addresses, an FDB) are
plain ``Option``s next to the code that uses them. The module documentation is
checked against the derived spec by a unit test, so neither can drift.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict


class Option:
    """One option: its Ansible type, choices, default, range and suboptions.

    ``minimum``/``maximum`` are the accepted range, checked by the option's codec
    and named in its documentation.
    """

    def __init__(self, type='str', default=None, choices=None, required=False, elements=None,
                 suboptions=None, minimum=None, maximum=None):
        self.type = type
        self.default = default
        self.choices = list(choices) if choices is not None else None
        self.required = required
        self.elements = elements
        self.suboptions = suboptions
        self.minimum = minimum
        self.maximum = maximum

    def spec(self):
        """This option's entry in an Ansible argument spec."""
        spec = dict(type=self.type)
        if self.choices is not None:
            spec['choices'] = list(self.choices)
        if self.default is not None:
            spec['default'] = self.default
        if self.required:
            spec['required'] = True
        if self.elements is not None:
            spec['elements'] = self.elements
        if self.suboptions is not None:
            spec['options'] = argument_spec(self.suboptions)
        return spec


def argument_spec(options):
    """An Ansible argument spec from ``{name: Option or spec dict}``."""
    return OrderedDict((name, option.spec() if isinstance(option, Option) else dict(option))
                       for name, option in options.items())
