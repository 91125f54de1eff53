# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A link and its kind options: create, change in place, recreate or delete.

What a kind looks like (its options, their attributes and codecs, what needs a
recreate) is declared in ``kinds/<kind>.py``; this facet does the same work for all.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket
from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import (
    Facet, LinkPlan, Operation, PHASE_CREATE, PHASE_DELETE, PHASE_SET, PHASE_UP, removed_with)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NotApplied
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.snapshot import (
    LinkSnapshot, address_text, fdb_text, listing, route_text)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import ifname_problem, mac_problem, normalize_mac

# Port options that survive a recreate (the link is re-attached to its bridge).
BRPORT_KEPT = ('IFLA_BRPORT_MODE', 'IFLA_BRPORT_LEARNING', 'IFLA_BRPORT_UNICAST_FLOOD',
               'IFLA_BRPORT_COST', 'IFLA_BRPORT_PRIORITY', 'IFLA_BRPORT_ISOLATED')


# Below this MTU the kernel disables IPv6 on a link (RFC 8200).
IPV6_MIN_MTU = 1280


class LinkFacet(Facet):
    """A link of one kind with its common attributes (mtu, mac, up) and options."""

    #: Its create, set, up and delete steps work through the session alone (see
    #: Operation.batch); False for a kind that creates its links elsewhere.
    batch_safe = True

    def __init__(self, link_kind, name, state='present', options=None, mtu=None, mac=None,
                 up=True, title='link', mac_policy=None):
        self.link_kind = link_kind
        self.name = name
        self.state = state
        self.wanted = OrderedDict((key, value) for key, value in (options or {}).items()
                                  if value is not None)
        self.mtu = mtu
        self.mac = normalize_mac(mac) if mac is not None else None
        self.mac_given = mac
        self.up = up
        self.title = title
        # mac_policy(net, state) -> (mac, pin): a MAC to use when none was given, and
        # whether to send it even when unchanged (setting a MAC pins it in the kernel).
        self.mac_policy = mac_policy
        self.pin_mac = False
        self._recreate_reasons = []

    # ---- validation ---------------------------------------------------------
    def validate(self):
        problems = []
        problem = ifname_problem('name', self.name)
        if problem:
            problems.append(problem)
        if self.state == 'absent':
            return problems
        if self.mtu is not None and not 68 <= self.mtu <= 65535:
            problems.append('mtu must be between 68 and 65535, got %s' % self.mtu)
        if self.mac_given is not None:
            problem = mac_problem('mac', self.mac_given)
            if problem:
                problems.append(problem)
        valid = OrderedDict()
        for key, value in self.wanted.items():
            option = self.link_kind.options[key]
            problem = ifname_problem(key, value) if option.link_ref else option.codec.check(key, value)
            if problem:
                problems.append(problem)
            else:
                valid[key] = value
        # Cross-option rules see only values that passed their own check, so one bad
        # value does not hide the other problems nor cause spurious ones.
        problems.extend(self.link_kind.validate(valid))
        return problems

    # ---- reading --------------------------------------------------------------
    def read(self, net):
        state = net.link(self.name)
        self.current_state = state
        if state is None:
            return None
        return self.view(net, state)

    def view(self, net, state):
        view = OrderedDict([('name', state.name), ('kind', state.kind), ('ifindex', state.index),
                            ('mtu', state.mtu), ('mac', state.mac), ('up', state.up)])
        for key, option in self.link_kind.options.items():
            raw = state.msg.get(option.nla) if option.top_level else state.data.get(option.nla)
            if raw is None:
                view[key] = None
            elif option.link_ref:
                ref = net.link_by_index(raw) if raw else None
                view[key] = ref.name if ref else None
            else:
                view[key] = option.codec.decode(raw)
        view.update(self.link_kind.extra_view(net, state))
        return view

    def kind_clash(self):
        """The problem of a link with this name that is of another kind, or None."""
        state = self.current_state
        if state is None or state.kind == self.link_kind.kind:
            return None
        return ('%s exists but is a %s link, not a %s: choose another name or remove it first '
                '(this module never deletes a link of another kind)'
                % (self.name, state.kind or 'physical/unknown', self.link_kind.kind))

    def check(self, net, current):
        state = self.current_state
        problems = []
        clash = self.kind_clash()
        if clash:
            return [clash]
        if self.state == 'absent':
            return problems
        for key, value in self.wanted.items():
            if self.link_kind.options[key].link_ref and net.link(value) is None:
                problems.append('%s %s does not exist' % (key, value))
        problems.extend(self.link_kind.check(net, self.wanted, state))
        problems.extend(self._ipv6_mtu_problems(net, state))
        return problems

    def _ipv6_mtu_problems(self, net, state):
        """Below 1280 bytes the kernel turns IPv6 off on the link and drops its addresses."""
        if self.mtu is None or self.mtu >= IPV6_MIN_MTU or state is None:
            return []
        lost = [text for text, family, scope, _msg in net.addresses(state.index)
                if family == socket.AF_INET6 and scope == 0]
        if not lost:
            return []
        return ['mtu %d is below %d, the IPv6 minimum: the kernel would remove the IPv6 addresses '
                '%s of %s; remove them first, or keep mtu at %d or more'
                % (self.mtu, IPV6_MIN_MTU, ', '.join(lost), self.name, IPV6_MIN_MTU)]

    def resolve(self, net, current):
        if self.state == 'present' and self.mac is None and self.mac_policy is not None:
            self.mac, self.pin_mac = self.mac_policy(net, self.current_state)

    # ---- planning -------------------------------------------------------------
    def differences(self, current):
        """{name: (wanted, actual)} for managed values that differ."""
        found = OrderedDict()
        common = (('mtu', self.mtu), ('mac', self.mac), ('up', self.up))
        for key, wanted in common:
            if wanted is not None and current.get(key) != wanted:
                found[key] = (wanted, current.get(key))
        for key, wanted in self.wanted.items():
            option = self.link_kind.options[key]
            actual = current.get(key)
            same = wanted == actual if option.link_ref else option.codec.same(wanted, actual)
            if not same:
                found[key] = (wanted, actual)
        return found

    def plan(self, net, current):
        if self.state == 'absent':
            return [self._delete_op(current)] if current is not None else []
        if current is None:
            return self._create_ops(net)
        changes = self.differences(current)
        self._recreate_reasons = self._needs_recreate(changes)
        if self._recreate_reasons:
            return self._recreate_ops(net, current)
        operations = []
        in_place = OrderedDict((k, v) for k, v in changes.items() if k not in ('mtu', 'mac', 'up'))
        if self.pin_mac and 'mac' not in changes:
            changes['mac'] = (self.mac, self.mac)
        for key in ('mtu', 'mac'):
            if key in changes:
                operations.append(self._set_common_op(key, changes[key]))
        for stage in self.link_kind.stages(in_place, current):
            if stage:
                operations.append(self._set_options_op(stage))
        if 'up' in changes:
            operations.append(self._up_op(self.up))
        return operations

    def _needs_recreate(self, changes):
        """The options among ``changes`` that the kernel cannot change on a live link."""
        return [key for key in changes if key in self.link_kind.options
                and not self.link_kind.changes_in_place(key, *changes[key])]

    def link_plans(self, current):
        if self.state == 'absent':
            return [LinkPlan(self.name, self.link_kind.kind, 'absent', self.current_state)]
        changes = self.differences(current) if current is not None else {}
        return [LinkPlan(self.name, self.link_kind.kind, current=self.current_state,
                         view=self.predict(current), changes=changes,
                         recreated=bool(self._needs_recreate(changes)))]

    @property
    def recreated(self):
        return bool(self._recreate_reasons)

    @property
    def recreate_reasons(self):
        return list(self._recreate_reasons)

    def predict(self, current):
        if self.state == 'absent':
            return None
        view = OrderedDict(current or [('name', self.name), ('kind', self.link_kind.kind)])
        for key, value in (('mtu', self.mtu), ('mac', self.mac), ('up', self.up)):
            if value is not None:
                view[key] = value
        view.update(self.wanted)
        return view

    def mismatches(self, actual):
        if self.state == 'absent':
            return [] if actual is None else ['%s still exists' % self.name]
        if actual is None:
            return ['%s was not created' % self.name]
        return ['%s %s: wanted %s, the kernel has %s' % (self.name, key, wanted, have)
                for key, (wanted, have) in self.differences(actual).items()]

    # ---- operations -------------------------------------------------------------
    def _encode(self, net, values):
        arguments = {}
        for key, value in values.items():
            option = self.link_kind.options[key]
            encoded = net.index(value) if option.link_ref else option.codec.encode(value)
            if option.combine is not None and option.keyword in arguments:
                encoded = option.combine(arguments[option.keyword], encoded)
            arguments[option.keyword] = encoded
        return arguments

    def _create_arguments(self, net, values):
        arguments = dict(ifname=self.name, kind=self.link_kind.kind)
        arguments.update(self._encode(net, values))
        arguments.update(self.link_kind.create_arguments(net, values))
        return arguments

    def _creator(self, values, mac, mtu):
        """``create(net, index=None)``: make this link with ``values``, ``mac`` and ``mtu``.

        Creating, recreating and restoring a link all go through here; a kind whose
        links are made elsewhere (a macvlan inside another namespace) overrides it.
        ``index`` asks the kernel for that ifindex (a restored link keeps its own).
        """
        def create(net, index=None):
            arguments = self._create_arguments(net, values)
            for keyword, value in (('mtu', mtu), ('address', mac)):
                if value is not None:
                    arguments[keyword] = value
            add_link(net, 'creating %s %s' % (self.link_kind.kind, self.name), arguments, index)
        return create

    def _create_ops(self, net):
        name = self.name
        create = self._creator(self.wanted, self.mac, self.mtu)

        def delete(net):
            net.call('removing %s again' % name, 'link', 'del', index=net.index(name))

        operations = [Operation(PHASE_CREATE, 'create %s %s%s' % (
            self.link_kind.kind, name, _describe(self.wanted)), create, delete,
            batch=self.batch_safe)]
        if self.up:
            operations.append(self._up_op(True))
        return operations

    def _set_common_op(self, key, change):
        wanted, actual = change
        keyword = {'mtu': 'mtu', 'mac': 'address'}[key]

        def setter(value):
            def do(net):
                net.call('setting %s %s to %s' % (self.name, key, value), 'link', 'set',
                         index=net.index(self.name), **{keyword: value})
            return do

        summary = 'set %s %s %s -> %s' % (self.name, key, actual, wanted) if wanted != actual \
            else 'pin %s %s %s' % (self.name, key, wanted)
        return Operation(PHASE_SET, summary, setter(wanted), setter(actual), batch=self.batch_safe)

    def _set_options_op(self, stage):
        wanted = OrderedDict((key, change[0]) for key, change in stage.items())
        previous = OrderedDict((key, change[1]) for key, change in stage.items()
                               if change[1] is not None)

        def setter(values):
            def do(net):
                net.call('setting %s%s' % (self.name, _describe(values)), 'link', 'set',
                         index=net.index(self.name), kind=self.link_kind.kind,
                         **self._encode(net, values))
            return do

        summary = 'set %s %s' % (self.name, ', '.join(
            '%s %s -> %s' % (key, change[1], change[0]) for key, change in stage.items()))
        return Operation(PHASE_SET, summary, setter(wanted), setter(previous),
                         batch=self.batch_safe)

    def _up_op(self, up):
        def setter(value):
            def do(net):
                net.call('bringing %s %s' % (self.name, 'up' if value else 'down'), 'link', 'set',
                         index=net.index(self.name), state='up' if value else 'down')
            return do

        return Operation(PHASE_UP, 'bring %s %s' % (self.name, 'up' if up else 'down'),
                         setter(up), setter(not up), batch=self.batch_safe)

    def _delete_op(self, current):
        def delete(net):
            net.call('removing %s' % self.name, 'link', 'del', index=net.index(self.name))

        return Operation(PHASE_DELETE, 'remove %s %s' % (self.link_kind.kind, self.name), delete,
                         batch=self.batch_safe)

    def _recreate_values(self, current):
        """Kind options of the new link: the wanted ones over the current ones."""
        values = self._current_options(current)
        values.update(self.wanted)
        return values

    def _recreate_mac(self, current, values):
        """The new link keeps its MAC unless one was asked for."""
        return self.mac if self.mac is not None else current.get('mac')

    def _carried_by_kind(self):
        """More (what, [items], step(net, index)) a recreate carries over for this kind."""
        return ()

    def _restorer(self, current):
        """``create(net, index)`` that brings the link back as read before the run."""
        return self._creator(self._current_options(current), current.get('mac'), current.get('mtu'))

    def _current_options(self, current):
        return OrderedDict((key, current.get(key)) for key in self.link_kind.options
                           if current.get(key) is not None)

    def _recreate_ops(self, net, current):
        """Delete and create again; carry over what the old link had.

        Each step is journaled: undoing the removal builds the old link back from a
        snapshot taken before the run (options, MTU, MAC, up, bridge port, addresses,
        routes, FDB entries) and reports whatever differs from it afterwards.
        """
        name = self.name
        snapshot = LinkSnapshot(net, self.current_state)
        values = self._recreate_values(current)
        create_new = self._creator(values, self._recreate_mac(current, values),
                                   self.mtu if self.mtu is not None else current.get('mtu'))
        create_old = self._restorer(current)

        def delete_old(net):
            net.call('removing %s to recreate it' % name, 'link', 'del', index=net.index(name))

        def delete_new(net):
            link = net.link(name)
            if link is not None:
                net.call('removing the new %s' % name, 'link', 'del', index=link.index)

        def on_new_link(step):
            return lambda net: step(net, net.index(name))

        gone = removed_with('the new %s' % name)
        operations = [
            Operation(PHASE_CREATE, 'remove %s to recreate it (%s cannot change in place)' % (
                name, ', '.join(self._recreate_reasons)), delete_old,
                lambda net: snapshot.restore(net, create_old)),
            Operation(PHASE_CREATE, 'create %s %s again%s' % (self.link_kind.kind, name,
                                                              _describe(values)),
                      create_new, delete_new),
        ]
        if snapshot.master is not None:
            operations.append(Operation(
                PHASE_CREATE, 're-attach %s to %s%s' % (
                    name, snapshot.master.name,
                    ' with its port options' if snapshot.port_options else ''),
                lambda net: snapshot.attach(net, net.index(name), 'recreating %s' % name),
                gone, partial=True))
        carried = (
            ('addresses', [address_text(m) for m in snapshot.carried_addresses()],
             snapshot.add_addresses),
            ('routes', [route_text(r) for r in snapshot.routes], snapshot.add_routes),
            ('FDB entries', [fdb_text(e) for e in snapshot.fdb], snapshot.add_fdb),
        ) + self._carried_by_kind()
        up = self.up if self.up is not None else current.get('up')
        if up:
            # Before its addresses and routes: a gateway is only reachable on a link up.
            operations.append(Operation(PHASE_CREATE, 'bring the new %s up' % name, on_new_link(
                lambda net, index: net.call('bringing %s up' % name, 'link', 'set', index=index,
                                            state='up')), gone))
        for what, items, step in carried:
            if items:
                operations.append(Operation(
                    PHASE_CREATE, 'carry over %s %s of %s' % (what, listing(items), name),
                    on_new_link(step), gone, partial=True))
        return operations


def mac_holder_problems(net, name, mac):
    """A VM NIC's MAC must be its own on the host: the other link that has it, if any."""
    if mac is None:
        return []
    holders = [holder for holder in net.holders_of_mac(mac) if holder != name]
    if not holders:
        return []
    return ['mac %s of %s is already used by %s on this host%s: two VM NICs with one MAC '
            'break each other\'s traffic; give one of them another mac (or another vm/index)'
            % (mac, name, ', '.join(holders), ' (namespace %s)' % net.netns if net.netns else '')]


def add_link(net, action, arguments, index=None):
    """RTM_NEWLINK; with ``index``, ask for that ifindex first (kernel 3.7+, not for taps)."""
    if index:
        try:
            net.call(action, 'link', 'add', index=index, **arguments)
            return
        except NotApplied:
            pass  # the index is taken, or this kind cannot choose it: any index will do
    net.call(action, 'link', 'add', **arguments)


def _describe(values):
    if not values:
        return ''
    return ' (%s)' % ', '.join('%s=%s' % (key, value) for key, value in values.items())
