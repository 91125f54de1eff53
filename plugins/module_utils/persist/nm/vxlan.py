# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""[vxlan]: one remote (unicast or group) at most; NetworkManager has no FDB.

Head-end replication lists and static FDB entries live in their own facet and are
re-applied at boot; without a remote NetworkManager cannot describe the VTEP at
all (``vxlan.remote`` is required), so such a VTEP is restored whole.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

NM_TYPE = 'vxlan'
# NetworkManager's destination port defaults to 8472, the IANA port is 4789.
ALWAYS = ('dstport', 'learning', 'ttl', 'tos')

KEYS = OrderedDict([('vni', 'id'), ('local', 'local'), ('dev', 'parent'),
                    ('dstport', 'destination-port'), ('learning', 'learning'),
                    ('ttl', 'ttl'), ('tos', 'tos')])


def settings(options):
    keys = OrderedDict((key, options.get(option)) for option, key in KEYS.items())
    keys['remote'] = options.get('remote') or options.get('group')
    gaps = []
    if keys['remote'] is None:
        gaps.append('remote')
    if options.get('udp_csum') is not None:
        gaps.append('udp_csum')
    return OrderedDict([('vxlan', keys)]), gaps
