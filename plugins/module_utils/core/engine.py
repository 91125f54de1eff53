# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconcile loop every module runs.

A request is a list of *facets*, each one managed aspect of the host: a link and its
kind options, the ports of a bridge, the addresses of an interface, the FDB of a VTEP.
The engine runs them all through the same steps:

1. ``validate()``  pure checks of the request                (nothing read yet)
2. ``read(net)``   the current state, normalised to the user's units
3. ``check(net, current)``  checks against that state       (nothing touched yet)
4. ``plan(net, current)``   Operations; an empty plan means no change
5. apply the operations in phase order, journaling how to undo each one
6. ``read(net)`` again and ``mismatches(after)``: a value that did not take fails the
   run, and the journal rolls back what this run did.

Every problem found in 1 and 3 is reported at once, before anything is touched.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import (
    InvalidRequest, NetError, NotApplied)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import NetlinkSession

# Phases order operations across facets: shape links before enslaving them, enslave
# before bringing up (no IPv6 DAD storms through a half-built bridge), addresses
# before the routes that need them, and removals last so nothing is left unreachable.
PHASE_DELETE = 5
PHASE_CREATE = 10
PHASE_SET = 20
PHASE_MEMBERSHIP = 30
PHASE_UP = 40
PHASE_ADDRESS = 50
PHASE_ROUTE = 60
PHASE_FDB = 65
PHASE_CLEANUP = 70


class Operation:
    """One planned step: a summary for operators, how to do it, how to undo it."""

    def __init__(self, phase, summary, do, undo=None):
        self.phase = phase
        self.summary = summary
        self.do = do
        self.undo = undo

    def __repr__(self):
        return '<op %d %s>' % (self.phase, self.summary)


class Journal:
    """Applies operations and remembers how to take them back."""

    def __init__(self, net):
        self.net = net
        self.done = []

    def apply(self, operations):
        for operation in operations:
            operation.do(self.net)
            self.done.append(operation)

    def rollback(self):
        """Undo what was done, newest first; return what could not be undone."""
        leftovers = []
        for operation in reversed(self.done):
            if operation.undo is None:
                leftovers.append(operation.summary)
                continue
            try:
                operation.undo(self.net)
            except Exception as error:  # keep undoing the rest whatever happens
                leftovers.append('%s (%s)' % (operation.summary, error))
        self.done = []
        return leftovers


class Facet:
    """One managed aspect of the host. Subclasses override what they need."""

    #: key of this facet's state in diff and results
    title = 'link'

    def validate(self):
        return []

    def read(self, net):
        return None

    def check(self, net, current):
        return []

    def plan(self, net, current):
        return []

    def predict(self, current):
        """The state after the plan ran; used for check mode's diff."""
        return current

    def mismatches(self, actual):
        """Attributes that do not have the wanted value in ``actual``."""
        return []

    @property
    def recreated(self):
        return False


class Outcome:
    """What a reconcile run did: changed, plan, before/after views."""

    def __init__(self, operations, before, after, recreated):
        self.operations = operations  # each with its undo: what a checkpoint hands its watchdog
        self.plan = [op.summary for op in operations]
        self.changed = bool(operations)
        self.before = before
        self.after = after
        self.recreated = recreated

    def diff(self):
        return {'before': render(self.before), 'after': render(self.after)}


def render(view):
    return json.dumps(view, indent=2, sort_keys=True, default=str) + '\n'


def reconcile(facets, netns=None, check_mode=False, session_factory=NetlinkSession):
    """Run ``facets`` through validate/read/check/plan/apply/verify."""
    problems = [problem for facet in facets for problem in facet.validate()]
    if problems:
        raise InvalidRequest(problems)

    with session_factory(netns) as net:
        before = dict((facet.title, facet.read(net)) for facet in facets)
        problems = [p for facet in facets for p in facet.check(net, before[facet.title])]
        if problems:
            raise InvalidRequest(problems)

        operations = []
        for facet in facets:
            operations.extend(facet.plan(net, before[facet.title]))
        # sorted() is stable: within a phase, facets keep the order they were given.
        operations = sorted(operations, key=lambda op: op.phase)
        recreated = any(facet.recreated for facet in facets)

        if check_mode or not operations:
            after = dict((facet.title, facet.predict(before[facet.title])) for facet in facets)
            return Outcome(operations, before, after, recreated)

        journal = Journal(net)
        try:
            journal.apply(operations)
            after = dict((facet.title, facet.read(net)) for facet in facets)
            not_taken = [m for facet in facets for m in facet.mismatches(after[facet.title])]
            if not_taken:
                raise NotApplied('the kernel did not keep what was set: %s' % '; '.join(not_taken),
                                 not_taken)
        except NetError as error:
            leftovers = journal.rollback()
            raise NotApplied(_rolled_back(error.message, leftovers), error.problems)
        return Outcome(operations, before, after, recreated)


def _rolled_back(message, leftovers):
    if not leftovers:
        return message + '; every change of this run was rolled back'
    return message + '; rolled back except: ' + '; '.join(leftovers)
