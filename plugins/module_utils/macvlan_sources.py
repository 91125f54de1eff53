# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The source-MAC list of a macvlan/macvtap in mode source, as an exact set.

Only frames whose source MAC is listed reach the endpoint. The kernel keeps the
list with the link (IFLA_MACVLAN_MACADDR_DATA, newest first), so it is compared as
a set. Each MAC is added or deleted by its own request (IFLA_MACVLAN_MACADDR_MODE
add/del with IFLA_MACVLAN_MACADDR): pyroute2 silently drops a plain list.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.kvmnet.hostnet.plugins.module_utils.engine import Facet, Operation, PHASE_FDB
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.macvlan import (
    MACADDR_ADD, MACADDR_DEL)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.values import mac_problem, normalize_mac


class SourceMacs(Facet):
    """The exact source-MAC list of the link managed by ``link_facet``."""

    title = 'source_macs'

    def __init__(self, link_facet, macs, mode):
        self.link = link_facet
        self.given = list(macs)
        self.mode = mode
        self.wanted = sorted(set(normalize_mac(mac) for mac in macs if normalize_mac(mac)))

    def validate(self):
        problems = []
        if self.mode != 'source':
            problems.append('source_macs only applies to mode source (mode is %s): set '
                            'mode: source or remove source_macs' % self.mode)
        for number, mac in enumerate(self.given):
            problem = mac_problem('source_macs[%d]' % number, mac)
            if problem:
                problems.append(problem)
        return problems

    def read(self, net):
        # The link facet read first, in the same session.
        state = self.link.current_state
        if state is None or state.kind != self.link.link_kind.kind:
            return None
        return self.link.link_kind.source_macs(state)

    def plan(self, net, current):
        # A new or recreated link starts with an empty list.
        have = [] if current is None or self.link.recreated else current
        kind = self.link.link_kind
        name = self.link.name

        def request(mode, mac):
            def do(net):
                net.call('%s source MAC %s %s %s' % ('adding' if mode == MACADDR_ADD else 'removing',
                                                     mac, 'to' if mode == MACADDR_ADD else 'from',
                                                     name),
                         'link', 'set', index=net.index(name), kind=kind.kind,
                         **kind.macaddr_keywords(mode, mac))
            return do

        operations = []
        for mac in sorted(set(have) - set(self.wanted)):
            operations.append(Operation(PHASE_FDB, 'remove source MAC %s from %s' % (mac, name),
                                        request(MACADDR_DEL, mac), request(MACADDR_ADD, mac)))
        for mac in self.wanted:
            if mac not in have:
                operations.append(Operation(PHASE_FDB, 'add source MAC %s to %s' % (mac, name),
                                            request(MACADDR_ADD, mac), request(MACADDR_DEL, mac)))
        return operations

    def predict(self, current):
        return list(self.wanted)

    def mismatches(self, actual):
        if actual is None or set(actual) != set(self.wanted):
            return ['%s source_macs: wanted %s, the kernel has %s' % (
                self.link.name, ', '.join(self.wanted) or 'none',
                ', '.join(actual or []) or 'none')]
        return []
