# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""[bond]: kernel option names, as sysfs spells them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

NM_TYPE = 'bond'
# NetworkManager adds miimon=100 when it is left out; the kernel's default is 0.
ALWAYS = ('mode', 'miimon')

OPTIONS = ('mode', 'miimon', 'updelay', 'downdelay', 'lacp_rate', 'xmit_hash_policy',
           'primary', 'ad_select')


def settings(options):
    keys = OrderedDict((key, options[key]) for key in OPTIONS if options.get(key) is not None)
    return OrderedDict([('bond', keys)]), []
