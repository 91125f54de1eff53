# Test helper, not part of the collection: tests/conftest.py's Play enables it.
"""Writes each registered task result of a run to the JSON file KVMNET_TASK_RESULTS.

A task to collect the results would cost each play module runs (copy makes several),
which under the kernel lab's emulation take more than a minute. The values are those
the register keyword stores: internal keys and the invocation left out, failed and
skipped from the event.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import json
import os
from collections.abc import Mapping

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
    name: task_results
    type: aggregate
    short_description: registered task results to a JSON file (kvmnet.hostnet tests)
    description:
        - Writes every registered result of the run to the file named by KVMNET_TASK_RESULTS.
'''


def _registered_view(value):
    if isinstance(value, Mapping):
        return dict((key, _registered_view(item)) for key, item in value.items()
                    if not str(key).startswith('_ansible_'))
    if isinstance(value, (list, tuple)):
        return [_registered_view(item) for item in value]
    return value


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'task_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.results = {}

    def _keep(self, result, **status):
        # task and result are the public names from ansible-core 2.19 on.
        task = getattr(result, 'task', None) or result._task  # pylint: disable=protected-access
        # From ansible-core 2.21 on, register is a mapping of names to projections.
        names = list(task.register) if isinstance(task.register, Mapping) else [task.register]
        if not any(names):
            return
        data = getattr(result, 'result', None)
        if not isinstance(data, Mapping):
            data = result._result  # pylint: disable=protected-access
        value = _registered_view(dict(data))
        value.pop('invocation', None)
        value.update(status)
        value.setdefault('changed', False)
        for name in names:
            self.results[name] = value

    def v2_runner_on_ok(self, result):
        self._keep(result, failed=False)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._keep(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._keep(result, failed=False, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._keep(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ['KVMNET_TASK_RESULTS'], 'w') as handle:
            json.dump(self.results, handle, default=str)
