"""Helpers of the support-matrix tier: a row's controller driving a row's target.

A row whose controller, target interpreter or pyroute2 is missing fails with what is
missing and how to get it (tests/matrix/setup.py builds them; pyenv provides the
interpreters), never skips.
"""

import os

import pytest

from conftest import Play
from rows import ROWS, missing_interpreters


def each_row(rows=None):
    """Parametrize a test over matrix rows."""
    rows = rows or ROWS
    return pytest.mark.parametrize('row', rows, ids=[row.name for row in rows])


def require_built(row, target):
    missing = missing_interpreters([row])
    if missing:
        pytest.fail('row %s needs %s' % (row.name, ', '.join(missing)), pytrace=False)
    for path, what in ((os.path.join(row.controller.bin, 'ansible-playbook'),
                        'ansible-core %s' % row.controller.ansible_core),
                       (target.interpreter, 'the target venv')):
        if not os.path.exists(path):
            pytest.fail('row %s: %s is not built (%s missing): run tests/matrix/setup.py' % (
                row.name, what, path), pytrace=False)


@pytest.fixture
def row_play(ansible_env, tmp_path):
    """row_play(row, target=None, interpreter=None) -> Play on that controller and target."""
    def make(row, target=None, interpreter=None):
        target = target or row.target
        require_built(row, target)
        env = dict(ansible_env, ANSIBLE_PYTHON_INTERPRETER=interpreter or target.interpreter,
                   ANSIBLE_PIPELINING='True')  # fewer processes and files per task
        workdir = tmp_path / row.name
        workdir.mkdir(exist_ok=True)
        return Play(env, str(workdir), os.path.join(row.controller.bin, 'ansible-playbook'))
    return make
