"""The container lab's hosts as a fleet is reached: ansible-playbook over SSH on the
underlay (lab/ssh inventory), and an observer path (docker exec) that still works
while a change has cut SSH off, to watch the host restore itself."""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))

from netlab import _without_timers as without_kernel_driven_state  # noqa: E402
from netlab import run_role_play  # noqa: E402

INVENTORY = os.path.join(REPO, '.cache', 'lab-ssh', 'inventory.yml')
RESULT = '/run/kvmnet/checkpoint-host.last.json'
ADDRESS = {'hv1': '172.31.250.11', 'hv2': '172.31.250.12'}


def lab_env():
    """lab/env.sh's environment (DOCKER_HOST, collections path, venv first)."""
    out = subprocess.run(['bash', '-c', 'source lab/env.sh && env -0'], cwd=REPO,
                         capture_output=True, check=True).stdout
    return dict(line.split('=', 1) for line in out.decode().split('\0') if '=' in line)


ENV = lab_env()


def docker(host, *argv, check=True):
    proc = subprocess.run(['docker', 'exec', 'kvmnet-%s' % host] + list(argv), env=ENV,
                          capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError('%s on %s failed: %s' % (' '.join(argv), host, proc.stderr))
    return proc


def snapshot(host):
    """Links, addresses and routes of a lab host, seen through docker exec."""
    return without_kernel_driven_state(dict(
        (what, json.loads(docker(host, 'ip', '-j', '-d', what, 'show').stdout or '[]'))
        for what in ('link', 'address', 'route')))


def last_result(host):
    proc = docker(host, 'cat', RESULT, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def pending(host):
    return docker(host, 'test', '-e', '/run/kvmnet/checkpoint-host/checkpoint.json',
                  check=False).returncode == 0


def wait_for_result(host, checkpoint_id, seconds):
    """The host's own record of how checkpoint ``checkpoint_id`` ended."""
    until = time.time() + seconds
    while time.time() < until:
        result = last_result(host)
        if result and result.get('id') == checkpoint_id and not pending(host):
            return result
        time.sleep(0.25)
    raise AssertionError('%s: checkpoint %s did not end within %s s' % (host, checkpoint_id, seconds))


def reachable(host):
    """An SSH connection on the underlay address works (a fresh one, no multiplexing)."""
    proc = subprocess.run(['ansible', '-i', INVENTORY, host, '-m', 'ansible.builtin.ping'],
                          env=dict(ENV, ANSIBLE_SSH_ARGS='-o ControlMaster=no'),
                          capture_output=True, text=True, check=False)
    return proc.returncode == 0


def reset(host, address):
    """Back to the bare underlay (eth0 with its address; no other link, no namespace,
    no checkpoint), by docker exec. site.yml's VM stand-ins go too: a macvlan on eth0
    would keep eth0 out of any bridge."""
    listed = docker(host, 'ip', '-j', 'netns', 'list').stdout
    for netns in json.loads(listed) if listed.strip() else []:
        docker(host, 'ip', 'netns', 'del', netns['name'], check=False)
    links = json.loads(docker(host, 'ip', '-j', 'link', 'show').stdout)
    for link in links:
        if link['ifname'] not in ('lo', 'eth0'):
            docker(host, 'ip', 'link', 'del', link['ifname'], check=False)
    docker(host, 'ip', 'address', 'flush', 'dev', 'eth0')
    docker(host, 'ip', 'address', 'add', '%s/24' % address, 'dev', 'eth0')
    docker(host, 'ip', 'link', 'set', 'eth0', 'up')
    docker(host, 'rm', '-rf', '/run/kvmnet')


def run_role(host, workdir, **role_vars):
    """The hypervisor_network role on ``host`` over SSH; returns (exit code, per-task results)."""
    return run_role_play(host, INVENTORY, workdir, ENV, role_vars)
