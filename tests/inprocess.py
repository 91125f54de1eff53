"""Run a kvmnet.hostnet module inside the test process, and make kernel calls fail.

The module code, its argument spec and its check/diff handling are exactly what
Ansible runs (the arguments arrive as ANSIBLE_MODULE_ARGS, as AnsiballZ hands them
over); only the controller is left out, which makes hundreds of runs affordable.

``FaultInjector`` wraps ``NetlinkSession.call``, the one seam every kernel request of
the engine goes through, and makes the k-th change request of a run fail.
"""

import contextlib
import errno
import importlib
import io
import json

from ansible.module_utils import basic

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import session as session_module
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import (
    NotApplied, kernel_error_message)

FQCN = 'kvmnet.hostnet.'
INJECTED = 'injected fault'
# Reads are not counted: how many a run makes depends on the host (its other
# namespaces), and a failing read fails the run before anything is touched.
READS = ('dump', 'get')


def run_module(module, args, check_mode=False, diff=False):
    """The module's result dict, as ansible-playbook would register it."""
    code = importlib.import_module(
        'ansible_collections.kvmnet.hostnet.plugins.modules.' + module.split('.')[-1])
    arguments = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': arguments}).encode()
    basic._ANSIBLE_PROFILE = 'legacy'
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code.main()
    except SystemExit:
        pass
    finally:
        basic._ANSIBLE_ARGS = None
    text = out.getvalue().strip()
    if not text:
        raise AssertionError('%s printed no result' % module)
    result = json.loads(text.splitlines()[-1])
    result.setdefault('changed', False)
    return result


class KernelCallError(Exception):
    """Stands for a bug in the code between two kernel calls (not a NetError)."""


class FaultInjector:
    """Counts NetlinkSession.call invocations; the ``fail_at``-th one fails.

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

    def arm(self, fail_at=None, kind='kernel'):
        self.calls = []
        self.fail_at = fail_at
        self.kind = kind
        self.failed_action = None
