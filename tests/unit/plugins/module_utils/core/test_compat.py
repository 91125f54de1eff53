"""The pyroute2 seam's pure logic: versions, metadata, messages, dump keywords.

Sockets and namespaces are proved on real kernels by tests/matrix, on every
supported pyroute2.
"""

import collections

import pytest

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import compat
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError

FakeSys = collections.namedtuple('FakeSys', 'version_info executable path')


@pytest.mark.parametrize('text, version', [
    ('0.7.3', (0, 7, 3)), ('0.5.13.post1', (0, 5, 13)), ('0.9', (0, 9, 0)),
    ('', None), (None, None), ('dev', None)])
def test_parse_version(text, version):
    assert compat.parse_version(text) == version


def test_private_path_is_per_python():
    assert compat.private_path((3, 6, 8)) == '/usr/local/lib/kvmnet-hostnet/python3.6'


def test_installed_distributions_reads_wheel_and_rpm_metadata(tmp_path):
    (tmp_path / 'pyroute2-0.9.7.dist-info').mkdir()
    (tmp_path / 'pyroute2-0.5.13-py3.6.egg-info').mkdir()
    (tmp_path / 'pyroute2_extra-1.0.dist-info').mkdir()
    found = compat.installed_distributions([str(tmp_path), str(tmp_path / 'missing')])
    assert sorted(found) == [('0.5.13', str(tmp_path)), ('0.9.7', str(tmp_path))]


def test_install_hint_caps_the_version_below_python_3_8():
    assert "'pyroute2>=0.7.3,<=0.8.1'" in compat.install_hint((3, 6, 8))
    assert "'pyroute2>=0.7.3'" in compat.install_hint((3, 11, 2))
    assert 'kvmnet.hostnet.pyroute2 role' in compat.install_hint((3, 11, 2))


def fake_target(monkeypatch, version_info, import_error, installed):
    monkeypatch.setattr(compat, 'sys', FakeSys(version_info, '/usr/bin/python3', []))
    monkeypatch.setattr(compat, 'IMPORT_ERROR', import_error)
    monkeypatch.setattr(compat, 'installed_distributions', lambda paths=None: installed)


def test_missing_pyroute2_says_not_installed_and_how(monkeypatch):
    fake_target(monkeypatch, (3, 6, 8), ImportError("No module named 'pyroute2'"), [])
    message = compat.problem()
    assert message.startswith('pyroute2 is not installed for Python 3.6.8 (/usr/bin/python3)')
    assert 'needs >= 0.7.3' in message and "pip install 'pyroute2>=0.7.3,<=0.8.1'" in message


def test_too_new_for_the_python_is_installed_but_cannot_import(monkeypatch):
    fake_target(monkeypatch, (3, 6, 8), ImportError("cannot import name 'Literal'"),
                [('0.9.7', '/usr/lib/python3.6/site-packages')])
    message = compat.problem()
    assert 'pyroute2 0.9.7 is installed in /usr/lib/python3.6/site-packages but cannot be ' \
        'imported by Python 3.6.8' in message
    assert 'needs Python >= 3.9' in message and "cannot import name 'Literal'" in message
    assert 'not installed' not in message
    with pytest.raises(NetError, match='cannot be imported'):
        compat.require()


def test_older_than_the_minimum_is_refused_with_the_fix(monkeypatch):
    fake_target(monkeypatch, (3, 6, 8), None, [])
    monkeypatch.setattr(compat, 'found_version', lambda: (0, 5, 13))
    message = compat.problem()
    assert message.startswith('pyroute2 0.5.13 found (')
    assert 'kvmnet.hostnet needs >= 0.7.3: apply the kvmnet.hostnet.pyroute2 role' in message


def test_a_supported_version_has_no_problem(monkeypatch):
    monkeypatch.setattr(compat, 'IMPORT_ERROR', None)
    monkeypatch.setattr(compat, 'found_version', lambda: (0, 7, 3))
    assert compat.problem() is None
