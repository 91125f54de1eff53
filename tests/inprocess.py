"""Run a kvmnet.hostnet module inside the test process.

The module code, its argument spec and its check/diff handling are exactly what
Ansible runs (the arguments arrive as ANSIBLE_MODULE_ARGS, as AnsiballZ hands them
over); only the controller is left out, which makes hundreds of runs affordable.
"""

import contextlib
import importlib
import io
import json

from ansible.module_utils import basic

FQCN = 'kvmnet.hostnet.'


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
