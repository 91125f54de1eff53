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

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import (
    Facet, Operation, PHASE_MEMBERSHIP, PHASE_SET, PHASE_UP)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.options import Option
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import (
    BRIDGE_ATTACHMENT_OPTION, SWITCH_CONFIGURED, LinkModule, bridge_attachment, link_argument_spec,
    link_summary, module_link)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import Choice, Codec
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.ports import port_list_problems, port_problems
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.base import KindOption, LinkKind

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

    def bridge_port_problem(self, net, name, state, plan, bridge, switch_configured):
        # The mode this run gives the bond, else the one it has, else a new bond's.
        mode = plan.view.get('mode') if plan is not None else None
        if mode is None and state is not None:
            mode = Choice(MODES).decode(state.data.get('IFLA_BOND_MODE'))
        return bridge_mode_problem(name, mode or KERNEL_DEFAULT_MODE, switch_configured)


# Releasing members and taking the bond down must precede the option change (PHASE_SET).
PHASE_RELEASE_FOR_CHANGE = PHASE_SET - 1


class BondMembers(Facet):
    """The member links of one bond.

    ``ports`` is the exact wanted set, or None to leave membership alone (members are
    still put back after a mode change). The bond's LinkPlan (see engine.LinkPlan)
    tells which options this run changes, and so whether the bond must be emptied
    and taken down first.
    """

    title = 'members'

    def __init__(self, bond, ports, down_options=(), empty_options=(), primary=None):
        self.bond = bond
        self.ports = list(ports) if ports is not None else None
        self.primary = primary
        self.down_options = set(down_options)
        self.empty_options = set(empty_options)
        self.states = {}
        self.members = []
        self.link = None

    def validate(self):
        problems = port_list_problems(self.ports or [], self.bond)
        if self.primary and self.ports is not None and self.primary not in self.ports:
            problems.append('primary %s is not one of ports (%s)' % (self.primary, ', '.join(self.ports)))
        return problems

    def read(self, net):
        bond = net.link(self.bond)
        self.members = sorted(m.name for m in net.links_of_master(bond.index)) \
            if bond is not None and bond.kind == 'bond' else []
        for name in self.ports or []:
            self.states[name] = net.link(name)
        return OrderedDict([('ports', list(self.members))])

    def check(self, net, current):
        problems = []
        bond = net.link(self.bond)
        for name in self.ports or []:
            problems.extend(port_problems(net, name, self.states.get(name), 'bond', self.bond,
                                          bond.index if bond is not None else None))
        return problems

    # ---- planning -------------------------------------------------------------
    def see(self, plans):
        self.link = plans.get(self.bond)

    def _absent(self):
        return self.link is None or self.link.state == 'absent'

    def plan(self, net, current):
        if self._absent():
            return []
        wanted = self.ports if self.ports is not None else list(self.members)
        state = self.link.current
        # A new or recreated bond starts empty; otherwise its in-place option changes.
        changes = {} if state is None or self.link.recreated else self.link.changes
        must_empty = [key for key in changes if key in self.empty_options]
        must_down = [key for key in changes if key in self.down_options]
        operations = []
        if state is None or self.link.recreated:
            present = []
        elif must_empty:
            why = ', '.join(must_empty)
            for name in self.members:
                operations.append(self._release_op(name, PHASE_RELEASE_FOR_CHANGE,
                                                   ' to change its %s' % why))
            present = []
        else:
            present = list(self.members)
            for name in self.members:
                if name not in wanted:
                    operations.append(self._release_op(name, PHASE_MEMBERSHIP, ''))
        if must_down and state is not None and state.up:
            operations.append(self._bond_updown_op(False, PHASE_RELEASE_FOR_CHANGE,
                                                   ', '.join(must_down)))
            if self.link.view.get('up') is not False:
                operations.append(self._bond_updown_op(True, PHASE_UP, ', '.join(must_down)))
        for name in wanted:
            if name not in present:
                operations.append(self._enslave_op(name))
        return operations

    def predict(self, current):
        if self._absent():
            return OrderedDict([('ports', [])])
        wanted = self.ports if self.ports is not None else (current or {}).get('ports', [])
        return OrderedDict([('ports', sorted(wanted))])

    def mismatches(self, actual):
        if self.ports is None or self._absent():
            return []
        have = set((actual or {}).get('ports') or [])
        if have == set(self.ports):
            return []
        return ['%s members: wanted %s, the kernel has %s' % (
            self.bond, ', '.join(sorted(self.ports)) or 'none', ', '.join(sorted(have)) or 'none')]

    # ---- operations -------------------------------------------------------------
    def _enslave_op(self, name):
        was_up = []

        def enslave(net):
            link = net.require_link(name)
            was_up[:] = [link.up]
            if link.up:
                net.call('taking %s down to enslave it' % name, 'link', 'set',
                         index=link.index, state='down')
            net.call('adding %s to bond %s' % (name, self.bond), 'link', 'set',
                     index=link.index, master=net.index(self.bond))

        def release(net):
            index = net.index(name)
            net.call('releasing %s again' % name, 'link', 'set', index=index, master=0)
            if was_up and was_up[0]:
                net.call('bringing %s up again' % name, 'link', 'set', index=index, state='up')

        # Two requests: if the second fails, the undo still brings the port back up.
        return Operation(PHASE_MEMBERSHIP, 'add %s to bond %s' % (name, self.bond), enslave, release,
                         partial=True)

    def _release_op(self, name, phase, why):
        def release(net):
            net.call('releasing %s from %s' % (name, self.bond), 'link', 'set',
                     index=net.index(name), master=0)

        def enslave(net):
            index = net.index(name)
            net.call('taking %s down' % name, 'link', 'set', index=index, state='down')
            net.call('adding %s back to %s' % (name, self.bond), 'link', 'set', index=index,
                     master=net.index(self.bond))

        return Operation(phase, 'release %s from bond %s%s (it is left down)' % (name, self.bond, why),
                         release, enslave)

    def _bond_updown_op(self, up, phase, why):
        def setter(value):
            def do(net):
                net.call('bringing %s %s' % (self.bond, value), 'link', 'set',
                         index=net.index(self.bond), state=value)
            return do

        summary = 'bring bond %s %s %s' % (self.bond, 'up' if up else 'down',
                                           'again after changing %s' % why if up
                                           else 'to change %s' % why)
        return Operation(phase, summary, setter('up' if up else 'down'),
                         setter('down' if up else 'up'))


KIND = BondKind()


def build_facets(params):
    name = params['name']
    link = module_link(params, KIND, 'bond')
    if params['state'] == 'absent':
        return [link]
    facets = [link,
              BondMembers(name, params['ports'], down_options=NEEDS_DOWN,
                          empty_options=NEEDS_NO_MEMBERS, primary=params['primary'])]
    # The bridge it joins or stays in judges the bond by the mode this run gives it.
    attachment = bridge_attachment(name, params['bridge'], guard_current_bridge=True,
                                   switch_configured=params['switch_configured'])
    return facets + ([attachment] if attachment else [])


def _with_members(interface, after):
    interface['ports'] = (after.get('members') or {}).get('ports', [])


summarize = link_summary('bond', _with_members)


MODULE = LinkModule(
    'bond_iface',
    link_argument_spec(
        KIND,
        ports=Option('list', elements='str'),
        bridge=BRIDGE_ATTACHMENT_OPTION,
        switch_configured=SWITCH_CONFIGURED,
    ),
    build_facets, summarize, kernel_module='bonding')
