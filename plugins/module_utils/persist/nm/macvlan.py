# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""[macvlan]: one type for macvlan and macvtap (tap=true); modes as numbers."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

NM_TYPE = 'macvlan'
ALWAYS = ('mode', 'nopromisc')

# nm-settings-nmcli(5): macvlan.mode
MODES = {'vepa': 1, 'bridge': 2, 'private': 3, 'passthru': 4, 'source': 5}


def settings(options, tap=False):
    keys = OrderedDict([('parent', options.get('parent'))])
    mode = options.get('mode')
    keys['mode'] = MODES.get(mode) if mode else None
    if options.get('nopromisc') is not None:
        keys['promiscuous'] = not options['nopromisc']
    keys['tap'] = True if tap else None
    return OrderedDict([('macvlan', keys)]), []
