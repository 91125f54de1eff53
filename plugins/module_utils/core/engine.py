# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconcile loop every module runs.

A request is a list of *facets*, each one managed aspect of the host: a link and its
kind options, the ports of a bridge, the addresses of an interface, the FDB of a VTEP.
The engine runs them all through the same steps:

1. ``validate()``  pure checks of the request                (nothing read yet)
2. ``read(net)``   the current state, normalised to the user's units
3. ``resolve(net, current)``  what the request leaves to the current state (a default
   MTU, a MAC) is completed; each facet then publishes its ``LinkPlan``s and every
   facet ``see``s them all (a bridge judges a port by the mode this run gives it)
4. ``check(net, current)``  checks against that state       (nothing touched yet)
5. ``plan(net, current)``   Operations; an empty plan means no change
6. apply the operations in phase order, journaling how to undo each one
7. ``read(net)`` again and ``mismatches(after)``: a value that did not take fails the
   run.

Every problem found in 1 and 4 is reported at once, before anything is touched. Any
error in 6 or 7 rolls back what the run did; the host is then read again and compared
with what step 2 read, and only when nothing differs does the message say "rolled
back". One run at a time holds a namespace (core/lock.py).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sys
import traceback

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import (
    InvalidRequest, NetError, NotApplied)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.lock import NamespaceLock
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
    """One planned step: a summary for operators, how to do it, how to undo it.

    ``undo`` may return a list of what it could not restore (empty: all restored).
    ``partial=True`` means ``undo`` also takes back any part of ``do`` that ran before
    ``do`` failed (a step of several kernel calls); such a step is journaled even when
    it fails.
    ``batch=True`` means ``do`` talks to the kernel only through the session's call()
    and reads, so its writes may be queued with those of the steps around it (see
    Journal.apply); a step that works outside the session (teamd, another namespace)
    leaves it False.
    """

    def __init__(self, phase, summary, do, undo=None, partial=False, batch=False):
        self.phase = phase
        self.summary = summary
        self.do = do
        self.undo = undo
        self.partial = partial
        self.batch = batch

    def __repr__(self):
        return '<op %d %s>' % (self.phase, self.summary)


def removed_with(what):
    """An undo for a step whose effect goes away with ``what`` (undone before it)."""
    def undo(net):
        return []
    undo.__doc__ = 'removed with %s' % what
    return undo


class Journal:
    """Applies operations and remembers how to take them back."""

    def __init__(self, net):
        self.net = net
        self.done = []
        self.failed = None

    def apply(self, operations):
        """Run ``operations`` in order.

        Consecutive batch steps queue their writes in the session, which sends them
        many per system call, in order, each with its own ACK (session.begin_batch);
        a step is journaled only once the kernel acknowledged its writes, so a
        rollback undoes exactly what was applied, also when a later step of the same
        batch failed first.
        """
        batching = False
        pending = []
        can_batch = getattr(self.net, 'begin_batch', None) is not None
        for operation in operations:
            if not (can_batch and operation.batch):
                if batching:
                    batching = False
                    self._close_batch(pending, None)
                    pending = []
                self._apply_one(operation)
                continue
            if not batching:
                batching = True
                self.net.begin_batch()
            self.net.batch_owner = operation
            try:
                operation.do(self.net)
            except Exception:
                self._close_batch(pending, operation)
                raise
            pending.append(operation)
        if batching:
            self._close_batch(pending, None)

    def _apply_one(self, operation):
        try:
            operation.do(self.net)
        except Exception:
            self.failed = operation
            if operation.partial and operation.undo is not None:
                self.done.append(operation)
            raise
        self.done.append(operation)

    def _close_batch(self, pending, current):
        """Send what is queued; journal each step the kernel applied, in order.

        ``current`` is the step whose ``do`` raised (None: all returned). Steps of the
        batch that were queued are all sent (each is independent of the others'
        outcome), so every step with an acknowledged write is journaled and the first
        step with a refused one is the failed step.
        """
        error = None
        try:
            self.net.end_batch()
        except Exception as failure:  # pylint: disable=broad-except
            error = failure
        results = {}
        for owner, outcome in self.net.settled:
            results.setdefault(id(owner), []).append(outcome)
        self.net.settled = []
        for operation in pending:
            outcomes = results.get(id(operation), [])
            refused = [outcome for outcome in outcomes if outcome is not None]
            if not refused:
                self.done.append(operation)
                continue
            if self.failed is None:
                self.failed = operation
            if len(refused) < len(outcomes) or (operation.partial and operation.undo is not None):
                self.done.append(operation)
        if current is not None:
            outcomes = results.get(id(current), [])
            if self.failed is None:
                self.failed = current
            if any(outcome is None for outcome in outcomes) or \
                    (current.partial and current.undo is not None):
                self.done.append(current)
        if error is not None and current is None:
            raise error

    def rollback(self):
        """Undo what was done, newest first; return what could not be undone."""
        leftovers = []
        for operation in reversed(self.done):
            if operation.undo is None:
                leftovers.append(operation.summary)
                continue
            try:
                leftovers.extend(operation.undo(self.net) or [])
            except Exception as error:  # keep undoing the rest whatever happens
                leftovers.append('%s (%s)' % (operation.summary, describe(error)))
        self.done = []
        return leftovers


def describe(error):
    """An error as an operator reads it: the message, or for a bug its type and place."""
    if isinstance(error, NetError):
        return error.message
    frames = traceback.extract_tb(sys.exc_info()[2]) if sys.exc_info()[1] is error else []
    where = ' at %s:%s in %s' % (os.path.basename(frames[-1][0]), frames[-1][1], frames[-1][2]) \
        if frames else ''
    return 'unexpected %s: %s%s' % (type(error).__name__, error, where)


class LinkPlan:
    """One link as this run will leave it, for the facets that depend on it.

    The facet that manages a link publishes it (``Facet.link_plans``) once the
    request is resolved; the others receive every plan of the run (``Facet.see``)
    before check and plan. A bridge judges a port by the mode this run gives it, a
    bond's members follow the options this run changes: facets never read each
    other's attributes.

    ``current`` is the LinkState read before the run (None: the link is new);
    ``view`` the link's view after the run; ``changes`` {option: (wanted, actual)}
    of an existing link.
    """

    def __init__(self, name, kind=None, state='present', current=None, view=None, changes=None,
                 recreated=False):
        self.name = name
        self.kind = kind
        self.state = state
        self.current = current
        self.view = dict(view or {})
        self.changes = dict(changes or {})
        self.recreated = recreated

    def merged(self, other):
        """Two facets of one link (its options, its teamd runner) tell one plan."""
        merged = LinkPlan(self.name, self.kind or other.kind, self.state, self.current or other.current,
                          self.view, self.changes, self.recreated or other.recreated)
        merged.view.update(other.view)
        merged.changes.update(other.changes)
        return merged


class Facet:
    """One managed aspect of the host. Subclasses override what they need."""

    #: key of this facet's state in diff and results
    title = 'link'

    def validate(self):
        return []

    def read(self, net):
        return None

    def resolve(self, net, current):
        """Complete what the request leaves to the current state (a default MTU, a MAC).

        Runs once between ``read`` and ``check``; ``check`` and ``plan`` see the
        resolved request and change nothing in it.
        """

    def link_plans(self, current):
        """LinkPlans of the links this facet manages, once resolved (see LinkPlan)."""
        return []

    def see(self, plans):
        """Every LinkPlan of this run, by link name; called before check()."""

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

    def namespaces(self):
        """Namespaces besides the session's that this facet changes (None: the host)."""
        return []

    def rollback_view(self, view):
        """The part of a view that a rollback restores (no process ids, no counters)."""
        return view


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


def reconcile(facets, netns=None, check_mode=False, session_factory=NetlinkSession,
              lock=NamespaceLock):
    """Run ``facets`` through validate/read/resolve/check/plan/apply/verify.

    ``lock(namespaces)`` serialises runs per namespace (None: no lock).
    """
    problems = [problem for facet in facets for problem in facet.validate()]
    if problems:
        raise InvalidRequest(problems)

    namespaces = [netns] + [other for facet in facets for other in facet.namespaces()]
    with _locked(lock, namespaces):
        with session_factory(netns) as net:
            return _reconcile(facets, net, check_mode)


def _locked(lock, namespaces):
    return lock(namespaces) if lock is not None else _NoLock()


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


def _reconcile(facets, net, check_mode):
    try:
        before = dict((facet.title, facet.read(net)) for facet in facets)
        for facet in facets:
            facet.resolve(net, before[facet.title])
        plans = {}
        for facet in facets:
            for link_plan in facet.link_plans(before[facet.title]):
                known = plans.get(link_plan.name)
                plans[link_plan.name] = known.merged(link_plan) if known else link_plan
        for facet in facets:
            facet.see(plans)
        problems = [p for facet in facets for p in facet.check(net, before[facet.title])]
        if problems:
            raise InvalidRequest(problems)
        planned = []
        for number, facet in enumerate(facets):
            planned.extend((number, op) for op in facet.plan(net, before[facet.title]))
    except NetError:
        raise
    except Exception as error:  # a bug must fail the task, with its cause, not crash it
        raise NotApplied('%s while reading and planning; nothing was changed' % describe(error))
    # sorted() is stable: within a phase, facets keep the order they were given, except
    # that deletions go newest first: the kernel deletes a VXLAN with its underlay and a
    # VLAN with its parent, so what sits on a link goes before the link.
    operations = [op for number, op in sorted(
        planned, key=lambda entry: (entry[1].phase, -entry[0] if entry[1].phase == PHASE_DELETE else entry[0]))]
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
    except Exception as error:  # whatever failed, what this run did is taken back
        cause = describe(error)
        if journal.failed is not None and not isinstance(error, NetError):
            cause = 'step "%s" failed: %s' % (journal.failed.summary, cause)
        leftovers = journal.rollback()
        leftovers.extend(_not_restored(facets, net, before))
        raise NotApplied(_rolled_back(cause, leftovers),
                         getattr(error, 'problems', None) or [cause])
    return Outcome(operations, before, after, recreated)


def _not_restored(facets, net, before):
    """What differs, after a rollback, from what was read before the run."""
    found = []
    for facet in facets:
        try:
            now = facet.rollback_view(facet.read(net))
        except Exception as error:
            found.append('%s could not be read back (%s)' % (facet.title, describe(error)))
            continue
        then = facet.rollback_view(before[facet.title])
        if render(now) != render(then):
            found.append('%s is %s, was %s' % (facet.title, _compact(now), _compact(then)))
    return found


def _compact(view):
    return json.dumps(view, sort_keys=True, default=str)


def _rolled_back(message, leftovers):
    if not leftovers:
        return message + '; every change of this run was rolled back'
    # Deduplicated: a restore step and the check after it may name the same thing.
    seen = []
    for item in leftovers:
        if item not in seen:
            seen.append(item)
    return message + '; NOT everything could be undone, left over: ' + '; '.join(seen)
