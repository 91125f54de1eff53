# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's whole topology as one request: items of every link module, one plan.

Each item is validated by the argument spec of its own module and turned into
facets by that module's ``build_facets``; nothing about an option is repeated here.
The facets of one item travel as one ``Item`` facet, so the engine keys the
before/after views per item while still sorting every operation of every item into
one plan, run through one session and one journal.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.arguments import QuickSpec
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.checkpoint import CONFIRM_OPTIONS
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import (
    Facet, Operation, PHASE_CLEANUP, PHASE_SET, render)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import DEFAULT_MTU, PlannedLink
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import BridgePorts
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import MODULES
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.tap import TapLink, in_use

# Topology section -> (the module whose items it holds, what one item is called,
# the link kinds ``purge`` may remove for it). Build order is MODULES' order.
SECTIONS = OrderedDict([
    ('bonds', ('bond_iface', 'bond', ('bond',))),
    ('teams', ('team_iface', 'team', ('team',))),
    ('vlans', ('vlan_sub', 'vlan', ('vlan',))),
    ('bridges', ('linux_bridge', 'bridge', ('bridge',))),
    ('vxlans', ('vxlan_vtep', 'vxlan', ('vxlan',))),
    ('veths', ('veth_pair', 'veth', ('veth',))),
    ('macvlans', ('macvlan_iface', 'macvlan', ('macvlan', 'macvtap'))),
    ('vm_nics', ('kvm_vm_nic', 'vm_nic', ('tun', 'macvtap'))),
])

# IFLA_IFALIAS of every link host_network manages: what ``purge`` looks for. A link
# whose alias someone else set keeps it, and is then never purged.
MARKER = 'kvmnet:host_network'
MARKER_PREFIX = 'kvmnet:'


class Item(Facet):
    """The facets of one topology item, under one key, named in every message."""

    def __init__(self, section, label, link_module, params, facets):
        self.section = section
        self.title = label
        self.link_module = link_module
        self.params = params
        self.facets = facets
        self.links = [f for f in facets if isinstance(f, LinkFacet)]
        self.operations = []
        self.bridges = None  # the call's BridgeForecast, set by parse_topology
        # Whether links that existed before this call are marked too: only when purge
        # covers the section, so adopting a host as it is changes nothing.
        self.claims = False

    def _named(self, problems):
        return ['%s: %s' % (self.title, problem) for problem in problems]

    def validate(self):
        return self._named(p for facet in self.facets for p in facet.validate())

    def read(self, net):
        net.remember()
        if self.bridges is not None:
            # Every link the call names, read at once for this read phase.
            net.prefetch(self.bridges.names, whole=self.bridges.whole)
        views = OrderedDict((facet.title, facet.read(net)) for facet in self.facets)
        for link in self.links:
            if link.state == 'present' and views[link.title] is None:
                net.promise(link.name, PlannedLink(link.name, link.link_kind.kind, mtu=link.mtu,
                                                   mac=link.mac or _inherited_mac(net, link)))
        return views

    # resolve, check and plan see the links earlier items create (session.imagine).
    def resolve(self, net, current):
        created = net.promised_names()
        for facet in self.facets:
            if isinstance(facet, BridgePorts):
                # Shared, not copied: a call of thousands of links has as many ports.
                facet.created_here = _Either(facet.created_here, created)
            elif isinstance(facet, TapLink) and facet.mtu is None and facet.mtu_from \
                    and self.bridges is not None:
                # A tap takes its bridge's MTU: the one the bridge has after this call.
                facet.mtu = self.bridges.mtu(net, facet.mtu_from)
        self._imagining(net, lambda facet: facet.resolve(net, current[facet.title]))

    def link_plans(self, current):
        return [plan for facet in self.facets for plan in facet.link_plans(current[facet.title])]

    def see(self, plans):
        for facet in self.facets:
            facet.see(plans)

    def check(self, net, current):
        return self._named(p for found in self._imagining(
            net, lambda facet: facet.check(net, current[facet.title])) for p in found)

    def plan(self, net, current):
        operations = [op for found in self._imagining(
            net, lambda facet: facet.plan(net, current[facet.title])) for op in found]
        operations.extend(self._marker_ops(current))
        operations.extend(self._keep_mac_ops(current))
        # teamd changes links outside netlink; a macvlan made in another namespace
        # moves into this one.
        out_of_band = self.section == 'teams' or (
            self.section == 'macvlans'
            and self.params.get('target_netns') not in (None, self.params.get('netns')))
        self.operations = [_forgetting(op, indexes=out_of_band) for op in operations]
        return self.operations

    def _imagining(self, net, step):
        net.imagine(True)
        try:
            return [step(facet) for facet in self.facets]
        finally:
            net.imagine(False)

    def _marker_ops(self, current):
        operations = []
        for link in self.links:
            if link.state != 'present':
                continue
            state = getattr(link, 'current_state', None)
            existed = state is not None and current[link.title] is not None
            alias = state.msg.get('IFLA_IFALIAS') if existed else None
            if not existed or link.recreated or (self.claims and not alias):
                operations.append(_alias_op(link.name, MARKER, ''))
        return operations

    def _keep_mac_ops(self, current):
        """A new bridge keeps the MAC it was created with once ports join it.

        Run one after the other, the single modules create the bridge alone and the
        first port that joins pins its MAC (BridgePorts); here the bridge and its
        ports come in one plan, so the MAC is pinned before any port joins.
        """
        return [Operation(PHASE_SET, 'keep the MAC %s is created with whatever ports come and go'
                          % link.name, _mac_keeper(link.name), lambda net: [], batch=True)
                for link in self.links
                if link.link_kind.kind == 'bridge' and link.state == 'present'
                and current[link.title] is None and link.mac is None
                and self.bridges is not None and self.bridges.ports.get(link.name)]

    def predict(self, current):
        return OrderedDict((facet.title, facet.predict(current[facet.title])) for facet in self.facets)

    def mismatches(self, actual):
        return self._named(m for facet in self.facets for m in facet.mismatches(actual[facet.title]))

    @property
    def recreated(self):
        return any(facet.recreated for facet in self.facets)

    def namespaces(self):
        return [other for facet in self.facets for other in facet.namespaces()]

    def rollback_view(self, view):
        if view is None:
            return None
        return OrderedDict((facet.title, facet.rollback_view(view[facet.title]))
                           for facet in self.facets)

    def result(self, before, after, diff):
        """The item's entry in the module's ``items`` return value."""
        result = OrderedDict([('section', self.section), ('name', self.title.split(' ', 1)[1]),
                              ('changed', bool(self.operations)),
                              ('plan', [op.summary for op in self.operations]),
                              ('recreated', self.recreated),
                              ('interface', self.link_module.summarize(after))])
        result.update(self.link_module.extra_results(after) or {})
        if diff:
            result['diff'] = dict(before=render(before), after=render(after))
        return result


class BridgeForecast:
    """The MTU each bridge has after the call, as the kernel will set it.

    A bridge without an MTU of its own follows its lowest port; a tap attached to it
    takes that MTU, so the single modules run one after the other and one call build
    the same taps.
    """

    def __init__(self, items):
        self.known = {}
        self.ports = {}
        self.links = {}
        names = []
        for item in items:
            for link in item.links:
                self.links[link.name] = link
                names.append(link.name)
                names.extend(value for key, value in link.wanted.items() if isinstance(value, str)
                             and getattr(link.link_kind.options.get(key), 'link_ref', False))
                if link.link_kind.kind == 'bridge' and link.mtu is not None:
                    self.known[link.name] = link.mtu
            for facet in item.facets:
                if isinstance(facet, BridgePorts):
                    self.ports.setdefault(facet.bridge, []).extend(p.name for p in facet.ports)
                    names.append(facet.bridge)
                    names.extend(p.name for p in facet.ports)
        # The links the call names (its own, their ports, bridges and lower devices):
        # read together once per read phase (session.prefetch); with a VM NIC, whose
        # MAC is checked against every link of the host, from that one whole read.
        self.names = tuple(sorted(set(name for name in names if name)))
        self.whole = any(isinstance(link, TapLink) and link.state == 'present'
                         for link in self.links.values())

    def mtu(self, net, bridge):
        if bridge not in self.known:
            self.known[bridge] = self._lowest_port_mtu(net, bridge)
        return self.known[bridge]

    def _lowest_port_mtu(self, net, bridge):
        state = net.link(bridge)
        names = list(self.ports.get(bridge, []))
        if state is not None and state.index is not None:
            names.extend(member.name for member in net.links_of_master(state.index))
        mtus = [self._port_mtu(net, name) for name in set(names)]
        mtus = [mtu for mtu in mtus if mtu is not None]
        if mtus:
            return min(mtus)
        return state.mtu if state is not None else DEFAULT_MTU

    def _port_mtu(self, net, name):
        link = self.links.get(name)
        if link is not None and (link.mtu is not None or link.state == 'absent'):
            return link.mtu
        state = net.link(name)
        return state.mtu if state is not None and state.index is not None else None


class Purge(Facet):
    """Links of the purged kinds that carry the marker and that no item lists."""

    title = 'purge'

    def __init__(self, sections, listed):
        self.sections = sections
        self.listed = set(listed)
        self.found = []

    def read(self, net):
        self.found = []
        for section in self.sections:
            for kind in SECTIONS[section][2]:
                for state in net.links_of_kind(kind):
                    alias = state.msg.get('IFLA_IFALIAS') or ''
                    if state.name not in self.listed and alias.startswith(MARKER_PREFIX):
                        self.found.append((section, state))
        return sorted(state.name for _section, state in self.found)

    def check(self, net, current):
        return ['purge %s: %s is open by a process (a running VM); stop it first, or list it'
                % (section, state.name)
                for section, state in self.found if state.kind == 'tun' and in_use(state)]

    def plan(self, net, current):
        # Last, so a failure anywhere else leaves every purged link in place.
        return [_forgetting(Operation(PHASE_CLEANUP, 'purge %s %s' % (state.kind, state.name),
                                      _deleter(state.name), batch=True))
                for _section, state in self.found]

    def predict(self, current):
        return []

    def mismatches(self, actual):
        return ['%s (purged) still exists' % name for name in actual or []]


class _Either:
    """Membership in either of two sets (``in`` only)."""

    def __init__(self, one, other):
        self.one = one
        self.other = other

    def __contains__(self, name):
        return name in self.one or name in self.other


def _inherited_mac(net, link):
    """A new VLAN takes its parent's MAC (a bridge listing it as port pins that MAC)."""
    if link.link_kind.kind != 'vlan' or not link.wanted.get('parent'):
        return None
    parent = net.link(link.wanted['parent'])
    return parent.mac if parent is not None else None


def _mac_keeper(name):
    def keep(net):
        net.call('keeping the MAC of %s' % name, 'link', 'set', index=net.index(name),
                 address=net.require_link(name).mac)
    return keep


def _deleter(name):
    def delete(net):
        net.call('purging %s' % name, 'link', 'del', index=net.index(name))
    return delete


def _alias_op(name, alias, previous):
    def setter(value):
        def do(net):
            net.call('marking %s' % name, 'link', 'set', index=net.index(name), ifalias=value)
        return do
    return Operation(PHASE_SET, 'mark %s as managed (alias %s)' % (name, alias),
                     setter(alias), setter(previous), batch=True)


def _forgetting(operation, indexes=False):
    """The operation with remembered reads dropped first: the host is about to change."""
    def wrap(step):
        if step is None:
            return None

        def run(net):
            net.forget(indexes=indexes)
            net.keep_indexes()
            try:
                return step(net)
            finally:
                if indexes:  # what the step did outside netlink is not known here
                    net.forget(indexes=True)
        return run
    # A step that works outside netlink (indexes) is never queued with others.
    return Operation(operation.phase, operation.summary, wrap(operation.do), wrap(operation.undo),
                     partial=operation.partial, batch=operation.batch and not indexes)


def parse_topology(params):
    """The Items of a host_network request, or every problem of every item."""
    items, problems = [], []
    netns = params.get('netns')
    for section, (module_name, singular, _kinds) in SECTIONS.items():
        link_module = MODULES[module_name]
        validator = _ItemValidator(link_module)
        for position, raw in enumerate(params.get(section) or []):
            where = '%s[%d]' % (section, position)
            if not isinstance(raw, dict):
                problems.append('%s: each item is a dict of %s options, got %r'
                                % (where, module_name, raw))
                continue
            label = '%s %s' % (singular, raw.get('name') or raw.get('vm') or where)
            item, item_problems = _parse_item(section, singular, link_module, validator, raw,
                                              netns, label, params.get('persist') or 'none')
            problems.extend(item_problems)
            if item is not None:
                items.append(item)
    bridges = BridgeForecast(items)
    for item in items:
        item.bridges = bridges
    return items, problems + _duplicates(items)


def _parse_item(section, singular, link_module, validator, raw, netns, label, persist='none'):
    if raw.get('netns') not in (None, netns):
        return None, ['%s: netns %s differs from the netns of this call (%s); one call works '
                      'in one namespace' % (label, raw['netns'], netns or 'the host')]
    params, problems = validator.validate(dict(raw, netns=netns))
    if problems:
        return None, ['%s: %s' % (label, problem) for problem in problems]
    whole_call = [key for key, spec in CONFIRM_OPTIONS.items() if params.get(key) != spec.get('default')]
    if whole_call:
        return None, ['%s: %s belong(s) to the whole call, not to one item' % (
            label, ', '.join(sorted(whole_call)))]
    if params.get('persist') not in (None, 'none', persist):
        # One persist for the whole call (persist/run.py topology_persistence).
        return None, ['%s: persist belongs to the whole call (persist: %s of host_network), '
                      'not to one item; got persist: %s' % (label, persist, params['persist'])]
    if link_module.netns(params) != netns:
        return None, ['%s: it would be managed from namespace %s, not from the namespace of this '
                      'call; use kvmnet.hostnet.%s for it' % (label, link_module.netns(params),
                                                              link_module.name)]
    try:
        facets = link_module.build_facets(params)
    except NetError as error:
        return None, ['%s: %s' % (label, problem) for problem in error.problems or [error.message]]
    links = [facet for facet in facets if isinstance(facet, LinkFacet)]
    if links:
        label = '%s %s' % (singular, links[0].name)
    return Item(section, label, link_module, params, facets), []


class _ItemValidator:
    """One section's items checked against their module's spec: the quick check for an
    item that is already canonical, Ansible's validator for every other."""

    def __init__(self, link_module):
        self.link_module = link_module
        self.quick = QuickSpec(link_module.argument_spec, **link_module.module_kwargs)
        self.full = None

    def validate(self, raw):
        """(validated params, []) or (None, problems)."""
        params = self.quick.validate(raw)
        if params is not None:
            return params, []
        if self.full is None:
            self.full = ArgumentSpecValidator(self.link_module.argument_spec,
                                              **self.link_module.module_kwargs)
        outcome = self.full.validate(raw)
        problems = [str(error) for error in outcome.errors
                    if type(error).__name__ != 'UnsupportedError']
        if outcome.unsupported_parameters:
            problems.append('unsupported option(s) %s; %s takes: %s' % (
                ', '.join(sorted(_dotted(p) for p in outcome.unsupported_parameters)),
                self.link_module.name, ', '.join(sorted(self.link_module.argument_spec))))
        if problems:
            return None, problems
        return outcome.validated_parameters, []


def _dotted(parameter):
    return '.'.join(parameter) if isinstance(parameter, tuple) else parameter


def _duplicates(items):
    seen, problems = {}, []
    for item in items:
        for link in item.links:
            if link.name in seen and seen[link.name] is not item:
                problems.append('%s: link %s is also managed by %s; list each link once'
                                % (item.title, link.name, seen[link.name].title))
            seen.setdefault(link.name, item)
    return problems


def listed_links(items):
    return [link.name for item in items for link in item.links]


def needed_kernel_modules(items):
    """Kernel modules the present items need loaded (vlan: 8021q), once each."""
    names = []
    for item in items:
        module = item.link_module.kernel_module
        if module and item.params.get('state') == 'present' and module not in names:
            names.append(module)
    return names
