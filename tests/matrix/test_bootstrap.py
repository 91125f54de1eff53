"""The kvmnet.hostnet.pyroute2 role on targets without network access, per Python.

The target interpreter is a venv without pyroute2, run inside a namespace that has
only a loopback (``ip netns exec``): pip there cannot reach any index, so the role
has to carry a wheel from the controller. Its private path is redirected to a test
directory (KVMNET_HOSTNET_PYTHON_ROOT), never the machine's own.
Kylin V10: the distribution facts come from its os-release, bound over /etc/os-release
in a mount namespace of the target interpreter.
"""

import json
import os
import stat
import subprocess

import pytest

from matrixlab import each_row, row_play  # noqa: F401 pylint: disable=unused-import
from netlab import link
from rows import BARE_TARGETS, CACHE, ROWS

ROLE = {'ansible.builtin.include_role': {'name': 'kvmnet.hostnet.pyroute2'}}
# The oldest and the newest Python: the 0.8.1 and 0.9.x wheels, the oldest and newest
# controller (the 3.7 row takes the same wheel as the 3.6 one).
PYTHON_ROWS = [row for row in ROWS if row.name in ('el7', 'current')]
WHEELS = os.path.join(CACHE, 'wheels')
KYLIN_V10_OS_RELEASE = '''NAME="Kylin Linux Advanced Server"
VERSION="V10 (Sword)"
ID="kylin"
VERSION_ID="V10"
PRETTY_NAME="Kylin Linux Advanced Server V10 (Sword)"
ANSI_COLOR="0;31"
'''


def wrapper(path, argv_prefix, environment, python):
    """An interpreter script: ``argv_prefix env ... python "$@"``."""
    words = list(argv_prefix) + ['env'] + ['%s=%s' % item for item in environment.items()]
    with open(path, 'w') as handle:
        handle.write('#!/bin/sh\nexec %s %s "$@"\n' % (' '.join(words), python))
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return path


def bootstrap(play, check=False, **role_vars):
    """Run the role on ``play``'s controller and target: (pyroute2_bootstrap, pyroute2_info).

    A failure of the role comes back as {'failed': True, 'msg': ...}.
    """
    role_vars.setdefault('pyroute2_wheel_cache', WHEELS)
    out = os.path.join(play.workdir, 'bootstrap-%d.json' % len(os.listdir(play.workdir)))
    tasks = [
        {'block': [dict(ROLE, vars=role_vars)],
         'rescue': [{'ansible.builtin.set_fact': {'pyroute2_bootstrap': {
             'failed': True, 'msg': '{{ ansible_failed_result.msg }}'}}}]},
        {'kvmnet.hostnet.pyroute2_info': {}, 'register': 'found'},
        {'ansible.builtin.copy': {'content': '{{ [pyroute2_bootstrap, found] | to_json }}',
                                  'dest': out, 'mode': '0600'}, 'check_mode': False},
    ]
    path = out[:-len('.json')] + '.yml'
    with open(path, 'w') as handle:
        json.dump([dict(hosts='localhost', connection='local', gather_facts=False,
                        tasks=tasks)], handle)
    argv = [play.ansible_playbook, '-i', 'localhost,', path] + (['--check'] if check else [])
    proc = subprocess.run(argv, env=play.env,
                          cwd=play.workdir, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not os.path.exists(out):
        raise AssertionError('ansible-playbook failed (%d):\n%s\n%s' % (
            proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
    with open(out) as handle:
        return json.load(handle)


@each_row(PYTHON_ROWS)
def test_offline_target_gets_the_wheel_then_stays_unchanged(row_play, row, netns, tmp_path):
    offline = netns('mxoff')  # loopback only: no route to any index
    root = tmp_path / 'private'
    python = wrapper(str(tmp_path / 'python'), ['ip', 'netns', 'exec', offline],
                     {'KVMNET_HOSTNET_PYTHON_ROOT': str(root)},
                     BARE_TARGETS[row.name].interpreter)
    play = row_play(row, target=BARE_TARGETS[row.name], interpreter=python)

    checked, found = bootstrap(play, check=True)
    assert checked.get('changed') is True and not found['usable'], checked
    assert not root.exists() or not any(root.iterdir()), 'check mode installed something'

    done, found = bootstrap(play)
    assert done.get('failed') is not True, done
    assert (done['changed'], done['method']) == (True, 'wheel'), done
    assert [attempt.split(':')[0] for attempt in done['tried']] == ['package', 'pip', 'wheel']
    assert found['usable'] and found['location'].startswith(str(root)), found
    python_version = tuple(int(part) for part in row.target.python.split('.'))
    expected = '0.8.1' if python_version < (3, 9) else '0.9.7'
    assert found['version'] == expected

    again = bootstrap(play)[0]
    assert (again['changed'], again['method'], again['tried']) == (False, 'present', []), again

    # A module run by the same interpreter finds the private path.
    made = play.one('kvmnet.hostnet.linux_bridge', name='brboot')
    assert made['changed'] and not made.get('failed'), made
    assert link(offline, 'brboot') is not None


def test_offline_target_without_a_way_fails_naming_what_was_tried(row_play, netns, tmp_path):
    row = ROWS[0]
    offline = netns('mxoff')
    python = wrapper(str(tmp_path / 'python'), ['ip', 'netns', 'exec', offline],
                     {'KVMNET_HOSTNET_PYTHON_ROOT': str(tmp_path / 'private')},
                     BARE_TARGETS[row.name].interpreter)
    play = row_play(row, target=BARE_TARGETS[row.name], interpreter=python)

    failed, found = bootstrap(play, pyroute2_methods=['package', 'pip'])
    assert failed.get('failed') is True and not found['usable']
    message = failed['msg']
    assert 'No usable pyroute2 for %s (Python 3.6' % BARE_TARGETS[row.name].interpreter in message
    assert 'Tried: package: Ansible uses' in message and '; pip: ' in message
    assert 'pyroute2_wheel' in message, 'the fix is part of the message'


@pytest.mark.parametrize('row', [row for row in ROWS if row.name == 'kylin10'], ids=['kylin10'])
def test_kylin_v10_is_the_el_family(row_play, row, tmp_path):
    release = tmp_path / 'os-release'
    release.write_text(KYLIN_V10_OS_RELEASE)
    # A private mount namespace of the interpreter sees Kylin's os-release.
    python = str(tmp_path / 'python')
    with open(python, 'w') as handle:
        handle.write('#!/bin/sh\nexec unshare -m sh -c \'mount --bind "$0" /etc/os-release && '
                     'exec "$@"\' %s %s "$@"\n' % (release, row.target.interpreter))
    os.chmod(python, 0o755)
    play = row_play(row, interpreter=python)

    facts, _role, reported = play(
        {'ansible.builtin.setup': {'gather_subset': ['!all', '!min', 'distribution']}},
        dict(ROLE, vars={'pyroute2_methods': []}),
        {'ansible.builtin.debug': {'msg': '{{ pyroute2_bootstrap | to_json }}'}})
    assert facts['ansible_facts']['ansible_distribution'] == 'Kylin Linux Advanced Server', facts
    assert facts['ansible_facts']['ansible_distribution_major_version'] == 'V10'
    outcome = reported['msg']
    outcome = json.loads(outcome) if isinstance(outcome, str) else outcome
    assert outcome['family'] == 'EL', outcome
