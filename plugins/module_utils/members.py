# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The members (slaves) of a bond: an exact set, added and released.

Kernel rules planned around:
- a link is enslaved only while it is down ("Device can not be enslaved while up");
  the bond brings it up itself.
- a released member is closed by the kernel: it is left down, never deleted.
- the mode changes only on a bond without members that is down, and ad_select only
  on a bond that is down: such a change releases every member, takes the bond down,
  sets the options, adds the members back and brings the bond up again. The bond
  keeps its ifindex, so VLANs on top of it and its bridge membership survive.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.engine import (
    Facet, Operation, PHASE_MEMBERSHIP, PHASE_SET, PHASE_UP)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.values import ifname_problem

# Releasing members and taking the bond down must precede the option change (PHASE_SET).
PHASE_RELEASE_FOR_CHANGE = PHASE_SET - 1


class BondMembers(Facet):
    """The member links of one bond.

    ``ports`` is the exact wanted set, or None to leave membership alone (members are
    still put back after a mode change). ``link_facet`` is the bond's LinkFacet, whose
    planned changes decide whether the bond must be emptied and taken down first.
    """

    title = 'members'

    def __init__(self, bond, ports, link_facet, down_options=(), empty_options=()):
        self.bond = bond
        self.ports = list(ports) if ports is not None else None
        self.link_facet = link_facet
        self.down_options = set(down_options)
        self.empty_options = set(empty_options)
        self.states = {}
        self.members = []

    def validate(self):
        problems = []
        seen = set()
        for name in self.ports or []:
            problem = ifname_problem('port name', name)
            if problem:
                problems.append(problem)
                continue
            if name in seen:
                problems.append('port %s is listed twice' % name)
            if name == self.bond:
                problems.append('%s cannot be a port of itself' % name)
            seen.add(name)
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
            state = self.states.get(name)
            if state is None:
                problems.append('port %s does not exist on this host%s' % (
                    name, ' (namespace %s)' % net.netns if net.netns else ''))
                continue
            if state.master and (bond is None or state.master != bond.index):
                master = net.link_by_index(state.master)
                problems.append('%s is already a port of %s; release it there first, it is never '
                                'moved between masters silently' % (
                                    name, master.name if master else 'ifindex %s' % state.master))
            if state.kind in ('bridge', 'bond', 'team'):
                problems.append('%s is a %s and cannot be a member of bond %s' % (
                    name, state.kind, self.bond))
        return problems

    # ---- planning -------------------------------------------------------------
    def _link_changes(self, net):
        """Option changes the bond's LinkFacet plans in place, by name."""
        facet = self.link_facet
        state = getattr(facet, 'current_state', None)
        if state is None or facet.state == 'absent' or facet.recreated:
            return {}
        return facet.differences(facet.view(net, state))

    def plan(self, net, current):
        if self.link_facet.state == 'absent':
            return []
        wanted = self.ports if self.ports is not None else list(self.members)
        state = self.link_facet.current_state
        changes = self._link_changes(net)
        must_empty = [key for key in changes if key in self.empty_options]
        must_down = [key for key in changes if key in self.down_options]
        operations = []
        if state is None or self.link_facet.recreated:
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
            if self.link_facet.up is not False:
                operations.append(self._bond_updown_op(True, PHASE_UP, ', '.join(must_down)))
        for name in wanted:
            if name not in present:
                operations.append(self._enslave_op(name))
        return operations

    def predict(self, current):
        if self.link_facet.state == 'absent':
            return OrderedDict([('ports', [])])
        wanted = self.ports if self.ports is not None else (current or {}).get('ports', [])
        return OrderedDict([('ports', sorted(wanted))])

    def mismatches(self, actual):
        if self.ports is None or self.link_facet.state == 'absent':
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

        return Operation(PHASE_MEMBERSHIP, 'add %s to bond %s' % (name, self.bond), enslave, release)

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
