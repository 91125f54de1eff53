# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""macvlan and macvtap (IFLA_INFO_KIND "macvlan" / "macvtap").

Both kinds carry the same IFLA_MACVLAN_* attributes; pyroute2 names them
IFLA_MACVTAP_* (keywords ``macvtap_*``) for macvtap and silently drops a
``macvlan_*`` keyword sent with kind macvtap, so each kind gets its own prefix.

The parent is IFLA_LINK, outside IFLA_INFO_DATA; it is read by the link facet
(``macvlan_link.MacvlanLink``), which knows in which namespace to look for it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.link import KindOption, LinkKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.values import Codec

# enum macvlan_mode (include/uapi/linux/if_link.h)
MODES = OrderedDict([('private', 1), ('vepa', 2), ('bridge', 4), ('passthru', 8), ('source', 16)])
MACVLAN_FLAG_NOPROMISC = 1
# enum macvlan_macaddr_mode
MACADDR_ADD = 0
MACADDR_DEL = 1


class MacvlanMode(Codec):
    """Mode by name; pyroute2 decodes it to a name, older ones to the number."""

    def encode(self, value):
        return MODES[value]

    def decode(self, value):
        if isinstance(value, int):
            for name, number in MODES.items():
                if number == value:
                    return name
        return value

    def check(self, name, value):
        if value not in MODES:
            return '%s must be one of %s, got %s' % (name, ', '.join(MODES), value)
        return None


class NoPromisc(Codec):
    """The NOPROMISC bit of IFLA_MACVLAN_FLAGS as a boolean."""

    def encode(self, value):
        return MACVLAN_FLAG_NOPROMISC if value else 0

    def decode(self, value):
        if isinstance(value, int):
            return bool(value & MACVLAN_FLAG_NOPROMISC)
        return 'nopromisc' in str(value)

    def check(self, name, value):
        return None


class ParentRef(Codec):
    def check(self, name, value):
        return None


class MacvlanKind(LinkKind):
    """A macvlan, or with ``tap=True`` a macvtap (a macvlan with a /dev/tapN)."""

    def __init__(self, tap=False):
        self.kind = 'macvtap' if tap else 'macvlan'
        self.prefix = 'IFLA_%s_' % self.kind.upper()
        parent = KindOption('IFLA_LINK', ParentRef(), in_place=False, link_ref=True)
        self.options = OrderedDict([
            ('parent', parent),
            ('mode', KindOption(self.prefix + 'MODE', MacvlanMode())),
            ('nopromisc', KindOption(self.prefix + 'FLAGS', NoPromisc())),
        ])

    def validate(self, wanted):
        problems = []
        mode = wanted.get('mode')
        if wanted.get('nopromisc') and mode != 'passthru':
            problems.append('nopromisc only applies to mode passthru (mode is %s): remove '
                            'nopromisc or set mode: passthru' % mode)
        return problems

    def changes_in_place(self, key, wanted, actual):
        if key == 'mode':
            # The kernel refuses to switch a live macvlan to or from passthru.
            return 'passthru' not in (wanted, actual)
        return super(MacvlanKind, self).changes_in_place(key, wanted, actual)

    def extra_view(self, net, state):
        view = OrderedDict()
        if self.kind == 'macvtap':
            # The macvtap character device is named after the ifindex.
            view['tap_device'] = '/dev/tap%d' % state.index
        return view

    def source_macs(self, state):
        """The source-mode MAC list of a LinkState (the kernel returns it newest first)."""
        data = state.data.get(self.prefix + 'MACADDR_DATA')
        if not data or isinstance(data, (str, bytes)):
            return []
        return sorted(value for _name, value in data.get('attrs', []))

    def macaddr_keywords(self, mode, mac):
        """pyroute2 keywords that add or delete one source MAC."""
        keyword = self.kind + '_macaddr'
        return {keyword + '_mode': mode, keyword: mac}
