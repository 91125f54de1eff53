# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Linux bonding (IFLA_INFO_KIND "bond") and the VM-safety guardrail for bridges.

Kernel rules this file encodes (measured on 6.1):
- the mode changes only while the bond has no members and is down; ad_select only
  while it is down (EBUSY otherwise). members.BondMembers plans around both.
- lacp_rate is refused (EACCES) outside 802.3ad, primary outside active-backup,
  balance-tlb and balance-alb.
- updelay/downdelay are kept as multiples of miimon (120 with miimon 50 reads back
  100) and are refused (EPERM) with miimon 0.
Members (slaves) are not a link attribute: see module_utils/members.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.link import KindOption, LinkKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.values import Choice, Codec

MODES = (('balance-rr', 0), ('active-backup', 1), ('balance-xor', 2), ('broadcast', 3),
         ('802.3ad', 4), ('balance-tlb', 5), ('balance-alb', 6))
KERNEL_DEFAULT_MODE = 'balance-rr'
XMIT_HASH_POLICIES = (('layer2', 0), ('layer3+4', 1), ('layer2+3', 2), ('encap2+3', 3),
                      ('encap3+4', 4), ('vlan+srcmac', 5))
LACP_RATES = (('slow', 0), ('fast', 1))
AD_SELECT = (('stable', 0), ('bandwidth', 1), ('count', 2))

# Options the kernel accepts only in some modes.
ONLY_IN_MODES = OrderedDict([
    ('lacp_rate', ('802.3ad',)),
    ('ad_select', ('802.3ad',)),
    ('primary', ('active-backup', 'balance-tlb', 'balance-alb')),
])
# Options the kernel changes only while the bond is down.
NEEDS_DOWN = ('mode', 'ad_select')
# ... and only while it has no members.
NEEDS_NO_MEMBERS = ('mode',)

# Modes that can hand a VM's frame back to the bridge through another member.
UNSAFE_UNDER_BRIDGE = ('balance-rr', 'broadcast', 'balance-tlb', 'balance-alb', 'balance-xor')
MILLISECONDS = Codec(0, 2 ** 31 - 1, ' ms')


def bridge_mode_problem(bond, mode, switch_configured):
    """Why bond ``bond`` in ``mode`` must not carry a VM bridge, or None (seed 000)."""
    if mode not in UNSAFE_UNDER_BRIDGE or switch_configured:
        return None
    return ('bond %s in mode %s must not be a port of a bridge that carries VMs unless the '
            'switch aggregates its members: the mode sends a VM\'s broadcast (ARP) out of more '
            'than one member or balances it across them, the switch floods it back in on another '
            'member, the bridge learns the VM\'s MAC on the uplink instead of the VM\'s port, and '
            'the VM loses its network. Use mode active-backup (no switch change needed), or '
            '802.3ad with LACP configured on the switch; if the switch side already aggregates '
            'these members (static or LACP), set switch_configured: true' % (bond, mode))


class BondKind(LinkKind):
    kind = 'bond'
    options = OrderedDict([
        ('mode', KindOption('IFLA_BOND_MODE', Choice(MODES))),
        ('miimon', KindOption('IFLA_BOND_MIIMON', MILLISECONDS)),
        ('updelay', KindOption('IFLA_BOND_UPDELAY', MILLISECONDS)),
        ('downdelay', KindOption('IFLA_BOND_DOWNDELAY', MILLISECONDS)),
        ('lacp_rate', KindOption('IFLA_BOND_AD_LACP_RATE', Choice(LACP_RATES))),
        ('xmit_hash_policy', KindOption('IFLA_BOND_XMIT_HASH_POLICY', Choice(XMIT_HASH_POLICIES))),
        ('primary', KindOption('IFLA_BOND_PRIMARY', link_ref=True)),
        ('ad_select', KindOption('IFLA_BOND_AD_SELECT', Choice(AD_SELECT))),
    ])

    def validate(self, wanted):
        return self._combination_problems(wanted, wanted)

    def check(self, net, wanted, state):
        # What the bond will have: the request over the current (or a new bond's) values.
        effective = OrderedDict()
        if state is not None:
            effective['mode'] = Choice(MODES).decode(state.data.get('IFLA_BOND_MODE'))
            effective['miimon'] = state.data.get('IFLA_BOND_MIIMON')
        else:
            effective['mode'] = KERNEL_DEFAULT_MODE
            effective['miimon'] = 0
        effective.update(wanted)
        problems = self._combination_problems(wanted, effective)
        # Already reported by validate() when both sides were in the request.
        return [p for p in problems if p not in self._combination_problems(wanted, wanted)]

    @staticmethod
    def _combination_problems(wanted, effective):
        problems = []
        mode = effective.get('mode')
        if mode is not None:
            for key, modes in ONLY_IN_MODES.items():
                if key in wanted and mode not in modes:
                    problems.append('%s applies only to mode %s; the bond is in mode %s: remove %s '
                                    'or change the mode' % (key, ' or '.join(modes), mode, key))
        miimon = effective.get('miimon')
        if miimon is not None:
            for key in ('updelay', 'downdelay'):
                if not wanted.get(key):
                    continue
                if not miimon:
                    problems.append('%s needs link monitoring: set miimon (e.g. miimon: 100)' % key)
                elif wanted[key] % miimon:
                    rounded = wanted[key] // miimon * miimon
                    problems.append('%s %s ms is not a multiple of miimon %s ms (the kernel would '
                                    'round it down to %s)' % (key, wanted[key], miimon, rounded))
        return problems

    def extra_view(self, net, state):
        active = state.data.get('IFLA_BOND_ACTIVE_SLAVE')
        link = net.link_by_index(active) if active else None
        return OrderedDict([('active_port', link.name if link else None)])

    def bridge_port_problem(self, net, state, switch_configured):
        mode = Choice(MODES).decode(state.data.get('IFLA_BOND_MODE'))
        return bridge_mode_problem(state.name, mode, switch_configured)
