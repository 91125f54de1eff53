"""The support matrix: which controller drives which target interpreter and pyroute2.

Each row stands for a family of real targets. Controllers and targets are virtual
environments under .cache/matrix (git-ignored), built by tests/matrix/setup.py
(scripts/matrix does it) from pyenv interpreters and PyPI; versions are pinned to
what was tested.
"""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(REPO, '.cache', 'matrix')
PYENV = os.environ.get('PYENV_ROOT', '/root/.pyenv')


def pyenv_python(version):
    return os.path.join(PYENV, 'versions', version, 'bin', 'python')


class Controller:
    """ansible-core installed in a venv of one controller Python."""

    def __init__(self, ansible_core, python):
        self.ansible_core = ansible_core
        self.python = python  # pyenv version of the controller interpreter
        self.venv = os.path.join(CACHE, 'controller-%s' % ansible_core)

    @property
    def bin(self):
        return os.path.join(self.venv, 'bin')


class Target:
    """A target interpreter (venv of a pyenv Python) with one pyroute2, or none."""

    def __init__(self, python, pyroute2):
        self.python = python
        self.pyroute2 = pyroute2
        self.venv = os.path.join(CACHE, 'target-py%s-pyroute2-%s' % (python, pyroute2 or 'none'))

    @property
    def interpreter(self):
        return os.path.join(self.venv, 'bin', 'python')


class Row:
    def __init__(self, name, stands_for, controller, target):
        self.name = name
        self.stands_for = stands_for
        self.controller = controller
        self.target = target

    def __repr__(self):
        return self.name

    @property
    def module_runner(self):
        """The target interpreter plus the controller's ansible.module_utils and this
        collection on its path: runs a module file directly (the kernel lab)."""
        return os.path.join(CACHE, 'module-runner-%s' % self.name, 'python')


CORE_216 = Controller('2.16.19', '3.11.7')  # the last ansible-core for Python 3.6 targets
CORE_217 = Controller('2.17.14', '3.11.7')  # the last for Python 3.7 targets
CORE_219 = Controller('2.19.14', '3.11.7')  # requirements.txt
CORE_NEWEST = Controller('2.21.5', '3.13.0')  # the newest that installs (needs Python >= 3.12)

ROWS = [
    Row('el7', 'EL7 python3, EL8 platform-python (3.6), oldest pyroute2',
        CORE_216, Target('3.6.15', '0.7.3')),
    Row('el8', 'EL8 platform-python (3.6), newest pyroute2 for 3.6',
        CORE_216, Target('3.6.15', '0.8.1')),
    Row('kylin10', 'Kylin Linux Advanced Server V10 (3.7)',
        CORE_217, Target('3.7.16', '0.8.1')),
    Row('el9', 'EL9 (3.9)', CORE_219, Target('3.9.18', '0.9.7')),
    Row('debian12', 'Debian 12 (3.11)', CORE_219, Target('3.11.7', '0.9.7')),
    Row('current', 'current distributions (3.13)', CORE_NEWEST, Target('3.13.0', '0.9.7')),
]

# Targets without pyroute2, for the bootstrap stage.
BARE_TARGETS = {row.name: Target(row.target.python, None) for row in ROWS}


def missing_interpreters(rows):
    """pyenv interpreters that rows need and this machine lacks, with the fix."""
    needed = set()
    for row in rows:
        needed.add(row.controller.python)
        needed.add(row.target.python)
    return ['%s (pyenv install %s)' % (pyenv_python(v), v)
            for v in sorted(needed) if not os.path.exists(pyenv_python(v))]
