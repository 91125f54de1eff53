# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The forwarding database of a VXLAN tunnel endpoint.

Two exact sets, each managed only when asked for:

- ``remotes``: head-end replication, one all-zero entry ``00:00:00:00:00:00 dst PEER``
  per peer; broadcast, unknown unicast and multicast go to every listed peer.
- ``entries``: static ``MAC -> dst`` entries (a VM MAC behind a known VTEP).

Only permanent entries the VTEP itself holds (NTF_SELF) are managed. Entries learned
from traffic and the bridge's own (master) entries are never touched. The default
destination of the link (its ``remote`` or ``group``) is the link's business, not
this facet's, so its all-zero entry is left out of the view.

The kernel accepts an append of an entry that exists and a delete of one that does
not, so changes are planned from what was read, never inferred from the reply.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import (
    Facet, Operation, PHASE_FDB)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import ipv4_problem, mac_problem, normalize_mac

ALL_ZEROS = '00:00:00:00:00:00'
NTF_SELF = 0x02
NUD_NOARP = 0x40
NUD_PERMANENT = 0x80


def _pair_key(pair):
    mac, dst = pair
    return (mac, tuple(int(part) for part in dst.split('.')))


class VxlanFdb(Facet):
    """Head-end replication peers and static entries of one VXLAN link.

    ``link`` is the LinkFacet of the same run: when it creates or recreates the
    link, every entry is gone afterwards, so the plan starts from an empty table.
    ``remotes`` or ``entries`` None means that part is not managed.
    """

    title = 'fdb'

    def __init__(self, name, link, remotes=None, entries=None, clear_remotes=False):
        self.name = name
        self.link = link
        self.remotes = None if remotes is None else [str(peer) for peer in remotes]
        # A VTEP switched to a multicast group floods through it: its replication
        # peers go, even though remotes is not given.
        self.clear_remotes = clear_remotes
        self.entries = None if entries is None else [dict(entry) for entry in entries]
        self._index = None

    # ---- validation -----------------------------------------------------------
    def validate(self):
        problems = []
        link_wanted = self.link.wanted
        if self.remotes is not None:
            if link_wanted.get('group'):
                problems.append('remotes and group are mutually exclusive: group floods through '
                                'multicast, remotes replicate to each peer for underlays without '
                                'multicast; give one of them')
            if link_wanted.get('remote') not in (None, '0.0.0.0'):
                problems.append('remotes and remote are mutually exclusive: list %s in remotes '
                                'instead' % link_wanted['remote'])
            seen = set()
            for peer in self.remotes:
                problem = ipv4_problem('remotes entry', peer, multicast=False)
                if problem:
                    problems.append(problem)
                elif peer in seen:
                    problems.append('remotes lists %s twice' % peer)
                elif peer == link_wanted.get('local'):
                    problems.append('remotes lists %s, which is local, this endpoint itself: '
                                    'list only the other VTEPs' % peer)
                seen.add(peer)
        if self.entries is not None:
            seen = set()
            for entry in self.entries:
                mac, dst = entry.get('mac'), entry.get('dst')
                problem = mac_problem('fdb mac', mac) if mac is not None else \
                    'every fdb entry needs a mac'
                if problem:
                    problems.append(problem)
                elif normalize_mac(mac) in seen:
                    problems.append('fdb lists mac %s twice; a MAC lives behind one VTEP'
                                    % normalize_mac(mac))
                else:
                    seen.add(normalize_mac(mac))
                problem = ipv4_problem('fdb dst of %s' % mac, dst, multicast=False) \
                    if dst is not None else 'fdb entry %s needs a dst' % mac
                if problem:
                    problems.append(problem)
        return problems

    # ---- reading --------------------------------------------------------------
    def read(self, net):
        state = net.link(self.name)
        if state is None or state.kind != 'vxlan':
            self.have = set()
            return None
        self.have = self._pairs(net, state)
        return self._view(self.have)

    @staticmethod
    def _pairs(net, state):
        default = state.data.get('IFLA_VXLAN_GROUP')
        pairs = set()
        for msg in net.fdb_entries(state.index):
            if msg['ifindex'] != state.index or not msg['flags'] & NTF_SELF \
                    or not msg['state'] & NUD_PERMANENT:
                continue
            mac, dst = msg.get_attr('NDA_LLADDR'), msg.get_attr('NDA_DST')
            if mac is None or dst is None:
                continue
            mac = mac.lower()
            if mac == ALL_ZEROS and dst == default:
                continue
            pairs.add((mac, dst))
        return pairs

    @staticmethod
    def _view(pairs):
        ordered = sorted(pairs, key=_pair_key)
        return OrderedDict([
            ('remotes', [dst for mac, dst in ordered if mac == ALL_ZEROS]),
            ('fdb', [OrderedDict([('mac', mac), ('dst', dst)]) for mac, dst in ordered
                     if mac != ALL_ZEROS]),
        ])

    # ---- planning -------------------------------------------------------------
    def _managed(self, pair):
        zero = pair[0] == ALL_ZEROS
        return (self.remotes is not None or self.clear_remotes) if zero else self.entries is not None

    def _wanted(self):
        pairs = set()
        for peer in self.remotes or []:
            pairs.add((ALL_ZEROS, peer))
        for entry in self.entries or []:
            pairs.add((normalize_mac(entry['mac']), str(entry['dst'])))
        return pairs

    def plan(self, net, current):
        # A new link starts with an empty table; a recreated one gets its entries back.
        self._index = None
        have = set() if current is None else self.have
        have = set(pair for pair in have if self._managed(pair))
        wanted = self._wanted()
        adds, dels = [], []
        # A unicast MAC has one destination and the kernel ignores an append to it:
        # a moved MAC is replaced in one step, never deleted and added.
        have_unicast = dict((mac, dst) for mac, dst in have if mac != ALL_ZEROS)
        for pair in sorted(wanted - have, key=_pair_key):
            previous = have_unicast.get(pair[0])
            if pair[0] != ALL_ZEROS and previous is not None:
                adds.append(self._move_op(pair, previous))
                have.discard((pair[0], previous))
            else:
                adds.append(self._add_op(pair))
        # Adds first: a peer that moves never leaves a gap in flooding.
        dels = [self._del_op(pair) for pair in sorted(have - wanted, key=_pair_key)]
        return adds + dels

    def predict(self, current):
        kept = set(pair for pair in self.have if not self._managed(pair))
        return self._view(kept | self._wanted())

    def mismatches(self, actual):
        if actual is None:
            return []
        have = set()
        for dst in actual['remotes']:
            have.add((ALL_ZEROS, dst))
        for entry in actual['fdb']:
            have.add((entry['mac'], entry['dst']))
        have = set(pair for pair in have if self._managed(pair))
        wanted = self._wanted()
        found = ['%s: FDB entry %s dst %s is missing' % (self.name, mac, dst)
                 for mac, dst in sorted(wanted - have, key=_pair_key)]
        found.extend('%s: FDB entry %s dst %s is still there' % (self.name, mac, dst)
                     for mac, dst in sorted(have - wanted, key=_pair_key))
        return found

    # ---- operations -------------------------------------------------------------
    def _ifindex(self, net):
        # Looked up once per apply: FDB operations run after any (re)creation of the
        # link, and a lookup per entry doubles the time for long peer lists.
        if self._index is None:
            self._index = net.index(self.name)
        return self._index

    def _request(self, verb, pair):
        mac, dst = pair

        def do(net):
            net.call('%s FDB entry %s dst %s on %s' % (
                'removing' if verb == 'del' else 'adding', mac, dst, self.name),
                'fdb', verb, ifindex=self._ifindex(net), lladdr=mac, dst=dst,
                state=NUD_PERMANENT | NUD_NOARP, flags=NTF_SELF)
        return do

    def _describe(self, pair):
        mac, dst = pair
        if mac == ALL_ZEROS:
            return 'flood to peer %s' % dst
        return 'entry %s dst %s' % (mac, dst)

    @staticmethod
    def _adding_verb(pair):
        # Flooding peers are several destinations of one all-zero entry: append.
        return 'append' if pair[0] == ALL_ZEROS else 'replace'

    def _add_op(self, pair):
        return Operation(PHASE_FDB, 'add %s on %s' % (self._describe(pair), self.name),
                         self._request(self._adding_verb(pair), pair), self._request('del', pair),
                         batch=True)

    def _move_op(self, pair, previous):
        mac, dst = pair
        return Operation(PHASE_FDB, 'move entry %s on %s dst %s -> %s' % (mac, self.name, previous, dst),
                         self._request('replace', pair), self._request('replace', (mac, previous)),
                         batch=True)

    def _del_op(self, pair):
        return Operation(PHASE_FDB, 'remove %s from %s' % (self._describe(pair), self.name),
                         self._request('del', pair),
                         self._request(self._adding_verb(pair), pair), batch=True)
