"""Build the matrix's controllers and targets under .cache/matrix (idempotent).

Usage: .venv/bin/python tests/matrix/setup.py
A missing pyenv interpreter is reported by name and the rows that need it fail in
the tier; everything else is still built.
"""

import os
import subprocess
import sys

from rows import BARE_TARGETS, CACHE, REPO, ROWS, missing_interpreters, pyenv_python


OLD_PIP = {'3.6': 'pip==21.3.1', '3.7': 'pip==24.0'}


def venv(python_version, path, packages):
    stamp = os.path.join(path, '.installed')
    wanted = ' '.join(packages)
    if os.path.exists(stamp) and open(stamp).read() == wanted:
        return
    base = pyenv_python(python_version)
    if not os.path.exists(base):
        return
    subprocess.run([base, '-m', 'venv', '--clear', path], check=True)
    pip = [os.path.join(path, 'bin', 'python'), '-m', 'pip', 'install', '-q',
           '--disable-pip-version-check']
    if packages:
        # The pip that venv brings to 3.6/3.7 ignores Requires-Python of dependencies.
        subprocess.run(pip + [OLD_PIP.get(python_version[:3], 'pip')], check=True)
        subprocess.run(pip + packages, check=True)
    with open(stamp, 'w') as handle:
        handle.write(wanted)


def module_runner(row):
    """A wrapper interpreter for rows.Row.module_runner."""
    site = subprocess.run([os.path.join(row.controller.bin, 'python'), '-c',
                           'import ansible, os; print(os.path.dirname(ansible.__path__[0]))'],
                          capture_output=True, text=True, check=True).stdout.strip()
    ansible_only = os.path.join(os.path.dirname(row.module_runner), 'lib')
    os.makedirs(ansible_only, exist_ok=True)
    link = os.path.join(ansible_only, 'ansible')
    if not os.path.islink(link):
        os.symlink(os.path.join(site, 'ansible'), link)
    collections = os.path.join(REPO, '.cache', 'collections')
    checkout = os.path.join(collections, 'ansible_collections', 'kvmnet', 'hostnet')
    if not os.path.lexists(checkout):
        os.makedirs(os.path.dirname(checkout), exist_ok=True)
        os.symlink(REPO, checkout)
    with open(row.module_runner, 'w') as handle:
        handle.write('#!/bin/sh\nPYTHONPATH=%s:%s exec %s "$@"\n' % (
            ansible_only, collections, row.target.interpreter))
    os.chmod(row.module_runner, 0o755)


def main():
    os.makedirs(CACHE, exist_ok=True)
    for problem in missing_interpreters(ROWS):
        print('matrix: missing interpreter %s' % problem, file=sys.stderr)
    built = set()
    for row in ROWS:
        controller = row.controller
        if controller.venv not in built:
            venv(controller.python, controller.venv, ['ansible-core==%s' % controller.ansible_core])
            built.add(controller.venv)
        for target in (row.target, BARE_TARGETS[row.name]):
            if target.venv not in built:
                venv(target.python, target.venv,
                     ['pyroute2==%s' % target.pyroute2] if target.pyroute2 else [])
                built.add(target.venv)
    if os.path.exists(ROWS[0].target.interpreter):
        module_runner(ROWS[0])  # the kernel-lab pass


if __name__ == '__main__':
    main()
