"""Fixtures shared by every test tier: Ansible runs and throwaway namespaces.

Integration tests run the modules the way operators do, through ansible-playbook
against localhost, inside network namespaces that the test creates and deletes.
"""

import glob
import json
import os
import subprocess
import sys
import uuid

import pytest

from netlab import ping, run, veth

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CALLBACKS = os.path.join(REPO, 'tests', 'ansible_callbacks')


sys.path.insert(0, os.path.join(REPO, 'scripts'))
import collection_tree  # noqa: E402

# Unit tests import ansible_collections.kvmnet.hostnet straight from this checkout.
collection_tree.importable()
collections_path = collection_tree.linked


@pytest.fixture(scope='session')
def ansible_env(tmp_path_factory):
    base = str(tmp_path_factory.mktemp('collections'))
    extra = [os.path.join(REPO, '.cache', 'collections')]
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=':'.join([collections_path(base)] + extra),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING='False',
        ANSIBLE_INVENTORY_UNPARSED_WARNING='False',
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_RETRY_FILES_ENABLED='False',
        ANSIBLE_HOME=str(tmp_path_factory.mktemp('ansible-home')),
    )
    return env


class Play:
    """Runs tasks with ansible-playbook and returns each task's registered result."""

    def __init__(self, env, workdir, ansible_playbook=None):
        self.env = env
        self.workdir = workdir
        # Another controller's ansible-playbook (the support matrix); default: this venv's.
        self.ansible_playbook = ansible_playbook or os.path.join(
            os.path.dirname(sys.executable), 'ansible-playbook')
        self.count = 0

    def __call__(self, *tasks, **play_keywords):
        self.count += 1
        out = os.path.join(self.workdir, 'results-%d.json' % self.count)
        body = []
        for number, task in enumerate(tasks):
            task = dict(task)
            task.setdefault('name', 'task %d' % number)
            task['register'] = 'r%d' % number
            task['ignore_errors'] = True
            body.append(task)
        play = dict(hosts='localhost', connection='local', gather_facts=False, tasks=body)
        play.update(play_keywords)
        path = os.path.join(self.workdir, 'play-%d.yml' % self.count)
        with open(path, 'w') as handle:
            json.dump([play], handle)  # JSON is YAML
        # The results come from a callback, not from a task that would cost a module run.
        env = dict(self.env, KVMNET_TASK_RESULTS=out, ANSIBLE_CALLBACK_PLUGINS=CALLBACKS,
                   ANSIBLE_CALLBACKS_ENABLED='task_results')
        proc = subprocess.run([self.ansible_playbook, '-i', 'localhost,', path],
                              env=env, cwd=self.workdir, capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0 or not os.path.exists(out):
            raise AssertionError('ansible-playbook failed (%d):\n%s\n%s' % (
                proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
        with open(out) as handle:
            results = json.load(handle)
        return [results['r%d' % n] for n in range(len(tasks))]

    def one(self, module, check=False, diff=True, **args):
        """Run one module call; returns its result."""
        task = {module: args, 'check_mode': check, 'diff': diff}
        return self(task)[0]


@pytest.fixture
def playbook(ansible_env, tmp_path):
    """Always the full ansible-playbook path."""
    return Play(ansible_env, str(tmp_path))


@pytest.fixture
def play(playbook):
    """How a tier runs modules; the kernel lab overrides it (see its conftest)."""
    return playbook


class Namespaces:
    """Creates throwaway network namespaces and deletes them at teardown."""

    def __init__(self):
        self.names = []

    def __call__(self, prefix='kt'):
        name = '%s-%s' % (prefix, uuid.uuid4().hex[:8])
        run(['ip', 'netns', 'add', name])
        self.names.append(name)
        # IPv6 DAD/RS floods slow bridges down and are not under test here.
        run(['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1'], netns=name, check=False)
        run(['sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1'], netns=name, check=False)
        run(['ip', 'link', 'set', 'lo', 'up'], netns=name)
        return name

    def cleanup(self):
        for name in reversed(self.names):
            run(['ip', 'netns', 'del', name], check=False)


@pytest.fixture
def netns():
    namespaces = Namespaces()
    yield namespaces
    namespaces.cleanup()


@pytest.fixture
def routed_host(netns):
    """A namespace standing for a host whose uplink eth0 (192.0.2.10/24) carries the
    default route via 192.0.2.1 (a second namespace). Its checkpoints go with it."""
    ns, gateway = netns('rth'), netns('rtg')
    veth(ns, 'eth0', gateway, 'up0')
    run(['ip', 'address', 'add', '192.0.2.10/24', 'dev', 'eth0'], netns=ns)
    run(['ip', 'address', 'add', '192.0.2.1/24', 'dev', 'up0'], netns=gateway)
    run(['ip', 'route', 'add', 'default', 'via', '192.0.2.1'], netns=ns)
    assert ping(ns, '192.0.2.1')
    yield ns
    # Never leave a checkpoint (or its record, log and lock) of a namespace that goes.
    for path in glob.glob('/run/kvmnet/checkpoint-netns-%s*' % ns):
        run(['rm', '-rf', path], check=False)
