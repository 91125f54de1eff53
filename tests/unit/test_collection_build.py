"""The built collection holds what users install, and nothing of the lab or the tests."""

import os
import subprocess
import sys
import tarfile

import pytest

import collection_tree

SHIPPED = ('MANIFEST.json', 'FILES.json', 'README.md', 'CHANGELOG.md', 'meta/runtime.yml',
           'plugins/modules/linux_bridge.py', 'plugins/module_utils/kinds/__init__.py',
           'plugins/doc_fragments/bridge_attachment.py', 'roles/hypervisor_network/tasks/main.yml',
           'playbooks/site.yml', 'docs/engine.md', 'changelogs/changelog.yaml')
NOT_SHIPPED = ('lab/', 'tests/', 'molecule/', 'benchmarks/', 'inventories/', '.ci/', 'scripts/',
               '.cache/', '.venv/', 'changelogs/fragments/', 'roles/lab_endpoints/')


@pytest.fixture(scope='module')
def members(tmp_path_factory):
    base = str(tmp_path_factory.mktemp('tree'))
    source = collection_tree.collection_dir(collection_tree.copied(base))
    out = str(tmp_path_factory.mktemp('built'))
    galaxy = os.path.join(os.path.dirname(sys.executable), 'ansible-galaxy')
    subprocess.run([galaxy, 'collection', 'build', '--output-path', out, source], check=True,
                   stdout=subprocess.PIPE)
    (tarball,) = os.listdir(out)
    with tarfile.open(os.path.join(out, tarball)) as archive:
        return [member.name + ('/' if member.isdir() else '') for member in archive.getmembers()]


def test_the_tarball_holds_the_collection(members):
    missing = [path for path in SHIPPED if path not in members]
    assert not missing, missing


def test_the_tarball_holds_no_lab_tests_or_tooling(members):
    shipped = [name for name in members
               if name.startswith(NOT_SHIPPED) or name.rstrip('/') + '/' in NOT_SHIPPED]
    assert not shipped, shipped
