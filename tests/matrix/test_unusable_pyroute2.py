"""A module on a target whose pyroute2 cannot serve fails with the cause and the fix,
before touching anything, never with a traceback.

The pyroute2 under test is unpacked from its wheel into the target's private path
(KVMNET_HOSTNET_PYTHON_ROOT, as the kvmnet.hostnet.pyroute2 role would install it),
on the oldest row: Python 3.6 with ansible-core 2.16.
"""

import os
import subprocess
import sys
import zipfile

import pytest

from matrixlab import row_play  # noqa: F401 pylint: disable=unused-import
from netlab import link
from rows import BARE_TARGETS, CACHE, ROWS

ROW = ROWS[0]


# What pyroute2 0.7.1 imports on Python 3.6, pinned as the el8 row's venv resolves it.
IMPORTLIB_METADATA_FOR_36 = ['importlib-metadata==4.8.3', 'zipp==3.6.0', 'typing-extensions==4.1.1']


def wheels(requirements):
    """Wheels for Python 3.6, downloaded once into .cache/matrix/wheels/python3.6."""
    folder = os.path.join(CACHE, 'wheels', 'python3.6')
    subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps',
                    '--only-binary=:all:', '--python-version', '3.6', '--dest', folder]
                   + requirements, check=True)
    names = [requirement.split('==') for requirement in requirements]
    return [os.path.join(folder, '%s-%s-py3-none-any.whl' % (name.replace('-', '_'), version))
            for name, version in names]


@pytest.fixture
def target_with(row_play, netns, tmp_path):
    """target_with(requirements) -> (play, namespace): the bare 3.6 target plus those."""
    def make(requirements):
        root = tmp_path / 'private'
        for path in wheels(requirements):
            zipfile.ZipFile(path).extractall(str(root / 'python3.6'))
        python = tmp_path / 'python'
        python.write_text('#!/bin/sh\nKVMNET_HOSTNET_PYTHON_ROOT=%s exec %s "$@"\n' % (
            root, BARE_TARGETS[ROW.name].interpreter))
        python.chmod(0o755)
        return row_play(ROW, target=BARE_TARGETS[ROW.name], interpreter=str(python)), netns()
    return make


def test_pyroute2_0_9_on_python_3_6_is_installed_but_cannot_be_imported(target_with):
    # 0.9.1/0.9.2 do not declare that they need Python 3.9, so pip installs them on 3.6.
    play, ns = target_with(['pyroute2==0.9.2'])
    result = play.one('kvmnet.hostnet.linux_bridge', name='br0', netns=ns)
    assert result.get('failed') and 'module_stderr' not in result, result
    message = result['msg']
    assert 'pyroute2 0.9.2 is installed in ' in message and 'cannot be imported by Python 3.6' in message
    assert 'needs Python >= 3.9' in message and "'pyroute2>=0.7.3,<=0.8.1'" in message
    assert link(ns, 'br0') is None


def test_pyroute2_older_than_0_7_3_is_refused_before_anything_is_touched(target_with):
    play, ns = target_with(['pyroute2==0.7.1'] + IMPORTLIB_METADATA_FOR_36)
    result = play.one('kvmnet.hostnet.linux_bridge', name='br0', netns=ns,
                      addresses=['192.0.2.1/24'])
    assert result.get('failed') and 'module_stderr' not in result, result
    assert result['msg'].startswith('pyroute2 0.7.1 found (')
    assert 'kvmnet.hostnet needs >= 0.7.3: apply the kvmnet.hostnet.pyroute2 role' in result['msg']
    assert link(ns, 'br0') is None, 'a refused run left br0 behind'
