"""Make the k-th kernel change request of a module run fail, and check what is left.

``FaultInjector`` wraps ``NetlinkSession.call``, the one seam every kernel request of
the engine goes through, and ``programs.teamd.run``, through which teamd and teamdctl
change a team. ``every_fault_rolls_back`` runs a module once cleanly to
count its change requests (N), then once per k in 1..N with the k-th failing, and
checks after each failed run that the namespace (links with kind and port options,
addresses, routes of every table, FDB) is byte-identical to the snapshot taken
before it, and that the message names the step that failed and says "rolled back"
only when that is true.
"""

import difflib
import errno
import json

from inprocess import FQCN, run_module
from netlab import _without_timers, ip_json

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import session as session_module
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import (
    NotApplied, kernel_error_message)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.programs import teamd as teamd_program

INJECTED = 'injected fault'
# Reads are not counted: how many a run makes depends on the host (its other
# namespaces), and a failing read fails the run before anything is touched.
READS = ('dump', 'get')


class KernelCallError(Exception):
    """Stands for a bug in the code between two kernel calls (not a NetError)."""


class FaultInjector:
    """Counts change requests (netlink, teamd/teamdctl); the ``fail_at``-th one fails.

    ``kind`` 'kernel' fails like the kernel refusing (a NetlinkError, translated by
    the session), 'bug' raises an exception the engine does not know.
    """

    def __init__(self, monkeypatch):
        self.calls = []
        self.fail_at = None
        self.kind = 'kernel'
        self.failed_action = None
        original = session_module.NetlinkSession.call
        injector = self

        def call(session, action, method, *args, **kwargs):
            if args and args[0] in READS:
                return original(session, action, method, *args, **kwargs)
            injector.calls.append(action)
            if len(injector.calls) == injector.fail_at:
                injector.failed_action = action
                if injector.kind == 'bug':
                    raise KernelCallError('%s during %s' % (INJECTED, action))
                error = OSError(errno.EIO, INJECTED)
                raise NotApplied(kernel_error_message(error, action))
            return original(session, action, method, *args, **kwargs)

        monkeypatch.setattr(session_module.NetlinkSession, 'call', call)

        # teamd and teamdctl change a team outside netlink: the same count, the same fault.
        original_run = teamd_program.run

        def run(netns, argv, action):
            if 'dump' in argv:
                return original_run(netns, argv, action)
            injector.calls.append(action)
            if len(injector.calls) == injector.fail_at:
                injector.failed_action = action
                if injector.kind == 'bug':
                    raise KernelCallError('%s during %s' % (INJECTED, action))
                raise NotApplied('%s: %s' % (action, INJECTED))
            return original_run(netns, argv, action)

        monkeypatch.setattr(teamd_program, 'run', run)

    def arm(self, fail_at=None, kind='kernel'):
        self.calls = []
        self.fail_at = fail_at
        self.kind = kind
        self.failed_action = None


def namespace_state(ns):
    """Everything a run may change in ``ns``, as text: what 'unchanged' is compared on."""
    state = dict(
        links=ip_json(ns, 'link', 'show'),
        addresses=ip_json(ns, 'address', 'show'),
        routes4=ip_json(ns, 'route', 'show', 'table', 'all'),
        routes6=ip_json(ns, '-6', 'route', 'show', 'table', 'all'),
        ports=ip_json(ns, 'bridge', 'link', 'show'),
        # Hash-table order is not configuration.
        fdb=sorted(ip_json(ns, 'bridge', 'fdb', 'show'), key=lambda e: json.dumps(e, sort_keys=True)),
    )
    return json.dumps(_without_qdisc(_without_timers(state)), indent=1, sort_keys=True)


def _without_qdisc(state):
    # A link that was ever up keeps the kernel's default qdisc ("noqueue") where a
    # never-activated one shows "noop": bringing a port up and down again is
    # undone, but the kernel does not detach the qdisc it attached.
    # A bridge's TSO limits are the lowest of its ports', and stay so when the last
    # port leaves: derived by the kernel, not configuration.
    for entry in state['links'] + state['addresses']:
        if entry.get('qdisc') in ('noop', 'noqueue'):
            entry['qdisc'] = 'noop|noqueue'
        if entry.get('linkinfo', {}).get('info_kind') == 'bridge':
            entry.pop('tso_max_size', None)
            entry.pop('tso_max_segs', None)
    return state


def first_difference(before, after):
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm='', n=2))
    return '\n'.join(lines[2:40])


def every_fault_rolls_back(build, module, args, faults, remove=None):
    """Run ``module`` with each of its change requests failing once; returns (pairs, problems).

    ``build()`` makes a fresh namespace for the scenario and returns its name; the
    failing runs all use one namespace, each starting from what the last left.
    ``remove``: arguments that take the clean run's result away again (a team's
    teamd, whose name must be unique on the host).
    """
    ns = build()
    faults.arm()
    clean = run_module(FQCN + module, dict(args, netns=ns))
    assert not clean.get('failed'), clean.get('msg')
    assert clean['changed']
    count = len(faults.calls)
    assert count > 0
    if remove is not None:
        assert not run_module(FQCN + module, dict(remove, netns=ns)).get('failed')

    ns = build()
    problems = []
    for k in range(1, count + 1):
        before = namespace_state(ns)
        faults.arm(fail_at=k, kind='bug' if k % 2 == 0 else 'kernel')
        result = run_module(FQCN + module, dict(args, netns=ns))
        after = namespace_state(ns)
        message = result.get('msg', '')
        if faults.failed_action is None:
            problems.append('k=%d: the run made fewer calls than %d' % (k, count))
            continue
        if not result.get('failed'):
            problems.append('k=%d: a failed %r was not reported' % (k, faults.failed_action))
        elif INJECTED not in message or (faults.kind == 'kernel' and faults.failed_action not in message):
            problems.append('k=%d: the message does not name what failed (%s): %s'
                            % (k, faults.failed_action, message))
        if after != before:
            problems.append('k=%d (%s failed): the namespace changed, %s; message: %s' % (
                k, faults.failed_action, first_difference(before, after), message))
        elif 'NOT everything' in message:
            problems.append('k=%d: the namespace is unchanged but the message says otherwise: %s'
                            % (k, message))
    # The namespace still accepts the change: nothing half-done blocks the next run.
    faults.arm()
    final = run_module(FQCN + module, dict(args, netns=ns))
    if final.get('failed'):
        problems.append('after the failed runs, the change itself fails: %s' % final.get('msg'))
    return count, problems
