"""Everything under plugins/ compiles on the oldest target Python of the matrix.

The rows only import what the tested modules reach; this covers every file
(EL7/Kylin targets run Python 3.6: no walrus, no positional-only parameters,
no ``from __future__ import annotations``).
"""

import os
import subprocess

import pytest

from rows import REPO, ROWS, pyenv_python

OLDEST = min(row.target.python for row in ROWS)
COMPILE_ALL = '''
import os, sys
failed = []
for root, _dirs, files in os.walk(sys.argv[1]):
    for name in sorted(files):
        if name.endswith('.py'):
            path = os.path.join(root, name)
            try:
                compile(open(path, encoding='utf-8').read(), path, 'exec')
            except SyntaxError as error:
                failed.append('%s:%s: %s' % (path, error.lineno, error.msg))
print('\\n'.join(failed))
'''


def test_plugins_compile_on_the_oldest_target_python():
    python = pyenv_python(OLDEST)
    if not os.path.exists(python):
        pytest.fail('%s is missing: pyenv install %s' % (python, OLDEST), pytrace=False)
    proc = subprocess.run([python, '-c', COMPILE_ALL, os.path.join(REPO, 'plugins')],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == '', 'not Python %s syntax:\n%s' % (OLDEST, proc.stdout)
