# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""veth pairs (IFLA_INFO_KIND "veth"): two ends, the peer possibly in another namespace.

The kernel creates both ends in one request (the peer as VETH_INFO_PEER) and never
renames or moves the peer of a live pair for us: another peer name or namespace
recreates the pair. It reports the peer only as an ifindex (IFLA_LINK), with
IFLA_LINK_NETNSID when the peer lives in another namespace; a peer there is the one
whose own IFLA_LINK points back at this end. Deleting one end deletes both.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import Operation, PHASE_UP
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import (
    BRIDGE_ATTACHMENT_OPTION, LinkModule, bridge_attachment, link_argument_spec, link_summary)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import (
    NetlinkSession, netns_exists)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import Codec, ifname_problem
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet, add_link
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.base import KindOption, LinkKind

# How the view names a peer that is in a namespace other than the wanted one.
ELSEWHERE = 'another namespace'


class Name(Codec):
    """A name (an interface or a namespace) compared as text."""

    ansible_type = 'str'

    def __init__(self, what):
        super(Name, self).__init__()
        self.what = what

    def check(self, name, value):
        if self.what == 'interface':
            return ifname_problem(name, value)
        return None if value and '/' not in value else '%s %r is not a namespace name' % (name, value)


class VethKind(LinkKind):
    kind = 'veth'
    options = OrderedDict([
        # Read from the peer itself, not from this end's attributes (see VethLink.view).
        ('peer', KindOption('VETH_INFO_PEER', Name('interface'), in_place=False)),
        ('peer_netns', KindOption('IFLA_LINK_NETNSID', Name('namespace'), in_place=False)),
    ])


class VethLink(LinkFacet):
    """One end of a veth pair, managed from its namespace; the peer's admin state follows ``up``."""

    def __init__(self, link_kind, name, peer=None, peer_netns=None, session_factory=NetlinkSession,
                 **kwargs):
        super(VethLink, self).__init__(link_kind, name, options=dict(
            peer=peer, peer_netns=peer_netns), **kwargs)
        self.session_factory = session_factory

    def validate(self):
        problems = super(VethLink, self).validate()
        if self.state == 'present' and 'peer' not in self.wanted:
            problems.append('peer is required with state: present: the name of the other end')
        if self.wanted.get('peer') == self.name and 'peer_netns' not in self.wanted:
            problems.append('peer %s is this end\'s own name: two links in one namespace need two '
                            'names; choose another peer name or give peer_netns' % self.name)
        return problems

    # ---- reading ------------------------------------------------------------------
    def view(self, net, state):
        view = OrderedDict((key, value) for key, value in super(VethLink, self).view(net, state).items()
                           if key not in self.link_kind.options)
        peer = self._peer(net, state)
        view['peer'] = peer.name if peer is not None else None
        view['peer_netns'] = self.wanted.get('peer_netns') if state.link_netnsid is not None \
            and peer is not None else (ELSEWHERE if state.link_netnsid is not None else None)
        view['peer_up'] = peer.up if peer is not None else None
        return view

    def _peer(self, net, state):
        """The peer's LinkState, or None when it is not where the request says."""
        if state.link_netnsid is None:
            return net.link_by_index(state.parent) if state.parent else None
        namespace = self.wanted.get('peer_netns')
        if not namespace or not netns_exists(namespace):
            return None
        with self.session_factory(namespace) as other:
            peer = other.link(self.wanted.get('peer')) if self.wanted.get('peer') else None
        if peer is not None and peer.kind == 'veth' and peer.index == state.parent \
                and peer.parent == state.index and peer.link_netnsid is not None:
            return peer
        return None

    def check(self, net, current):
        problems = super(VethLink, self).check(net, current)
        namespace = self.wanted.get('peer_netns')
        if self.state == 'present' and namespace and not netns_exists(namespace):
            problems.append('peer_netns %s does not exist (ip netns list); it is never created'
                            % namespace)
        elif self.state == 'present' and current is None and 'peer' in self.wanted:
            taken = self._peer_name_taken(net)
            if taken:
                problems.append(taken)
        return problems

    def _peer_name_taken(self, net):
        namespace = self.wanted.get('peer_netns')
        if namespace:
            with self.session_factory(namespace) as other:
                existing = other.link(self.wanted['peer'])
        else:
            existing = net.link(self.wanted['peer'])
        if existing is None:
            return None
        return ('peer %s already exists%s (a %s link): choose another peer name or remove it first'
                % (self.wanted['peer'], ' in namespace %s' % namespace if namespace else '',
                   existing.kind or 'physical'))

    # ---- planning -----------------------------------------------------------------
    def differences(self, current):
        found = super(VethLink, self).differences(current)
        # A peer wanted here that is in another namespace: absent from ``wanted``.
        if self.state == 'present' and 'peer_netns' not in self.wanted \
                and current.get('peer_netns') is not None:
            found['peer_netns'] = (None, current['peer_netns'])
        return found

    def _current_options(self, current):
        # A peer in an unknown namespace cannot be named, so it is not carried over.
        return OrderedDict((key, value) for key, value in
                           super(VethLink, self)._current_options(current).items()
                           if value != ELSEWHERE)

    def _recreate_values(self, current):
        values = self._current_options(current)
        values.pop('peer_netns', None)
        values.update(self.wanted)
        return values

    def plan(self, net, current):
        operations = super(VethLink, self).plan(net, current)
        if self.state == 'present' and self.up and (current is None or self.recreated
                                                    or current.get('peer_up') is False):
            operations.append(self._peer_up_op())
        return operations

    def predict(self, current):
        view = super(VethLink, self).predict(current)
        if view is not None:
            view.setdefault('peer_netns', None)
            if self.up:
                view['peer_up'] = True
        return view

    def mismatches(self, actual):
        found = super(VethLink, self).mismatches(actual)
        if self.state == 'present' and actual is not None and self.up and not actual.get('peer_up'):
            found.append('%s peer %s is not up' % (self.name, self.wanted.get('peer')))
        return found

    # ---- operations ---------------------------------------------------------------
    def _creator(self, values, mac, mtu):
        def create(net, index=None):
            peer = dict(ifname=values['peer'])
            if values.get('peer_netns'):
                peer['net_ns_fd'] = values['peer_netns']
            arguments = dict(ifname=self.name, kind='veth', peer=peer)
            for keyword, value in (('mtu', mtu), ('address', mac)):
                if value is not None:
                    arguments[keyword] = value
            add_link(net, 'creating veth %s with peer %s' % (self.name, values['peer']), arguments,
                     index)
        return create

    def _peer_up_op(self):
        peer, namespace = self.wanted['peer'], self.wanted.get('peer_netns')

        def setter(value):
            def do(net):
                action = 'bringing peer %s %s' % (peer, value)
                if namespace is None:
                    net.call(action, 'link', 'set', index=net.index(peer), state=value)
                    return
                with self.session_factory(namespace) as other:
                    other.call(action, 'link', 'set', index=other.index(peer), state=value)
            return do

        return Operation(PHASE_UP, 'bring peer %s up%s' % (
            peer, ' in namespace %s' % namespace if namespace else ''), setter('up'), setter('down'))


KIND = VethKind()


def build_facets(params):
    peer_netns = params['peer_netns'] if params['peer_netns'] != params['netns'] else None
    link = VethLink(KIND, params['name'], state=params['state'], peer=params['peer'],
                    peer_netns=peer_netns, mtu=params['mtu'], mac=params['mac'], up=params['up'],
                    title='veth')
    attachment = bridge_attachment(params['name'], params['bridge']) \
        if params['state'] == 'present' else None
    return [link] + ([attachment] if attachment else [])


summarize = link_summary('veth')


MODULE = LinkModule(
    'veth_pair',
    link_argument_spec(KIND, bridge=BRIDGE_ATTACHMENT_OPTION),
    build_facets, summarize)
