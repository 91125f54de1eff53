# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""[bridge]: NetworkManager keeps timers in whole seconds within 802.1D's ranges."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.keyfile import whole_seconds

NM_TYPE = 'bridge'
# NetworkManager starts STP and a 15 s forward delay when these are left out.
ALWAYS = ('stp', 'forward_delay', 'hello_time', 'max_age', 'ageing_time', 'priority',
          'multicast_snooping')

# option -> (key, lowest, highest) in whole seconds
TIMERS = OrderedDict([
    ('forward_delay', ('forward-delay', 2, 30)),
    ('hello_time', ('hello-time', 1, 10)),
    ('max_age', ('max-age', 6, 40)),
    ('ageing_time', ('ageing-time', 0, 1000000)),
])


def settings(options):
    keys = OrderedDict()
    gaps = []
    if options.get('stp') is not None:
        keys['stp'] = options['stp']
    for option, (key, low, high) in TIMERS.items():
        if options.get(option) is None:
            continue
        seconds = whole_seconds(options[option], low, high)
        if seconds is None:
            gaps.append(option)
        else:
            keys[key] = seconds
    for option, key in (('priority', 'priority'), ('multicast_snooping', 'multicast-snooping')):
        if options.get(option) is not None:
            keys[key] = options[option]
    return OrderedDict([('bridge', keys)]), gaps
