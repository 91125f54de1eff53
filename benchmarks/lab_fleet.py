"""The hypervisor_network role on the container lab: wall time of create and no-op runs.

  profile  on the 2 lab hosts, 50 tenant networks per host (50 bridges, 50 VXLANs
           with head-end replication to the other host, 100 VM taps: 200 links per
           host): the role as it is now (one host_network call per host), and with
           --old 0.1.0's role (one task per item, taken from git) side by side
  fleet    playbooks/site.yml on labs of 2, 8 and 20 hosts (KVMNET_LAB_HOSTS), forks 20

Run under the Docker lock, as root, with the lab up (make lab):
  flock /tmp/kvmnet-docker.lock .venv/bin/python benchmarks/lab_fleet.py profile [--old] [50]
  flock /tmp/kvmnet-docker.lock .venv/bin/python benchmarks/lab_fleet.py fleet [--no-confirm] [2 8 20]
The fleet run leaves the lab at 2 hosts again. Prints figures only.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 0.1.0's role: one task per list item (the commit before the role moved to host_network).
OLD_ROLE_COMMIT = '864465d'
NETWORKS = 50  # tenant networks per host: 200 links


def lab_env(hosts=2):
    """The environment lab/env.sh gives, for a lab of ``hosts`` hypervisors."""
    out = subprocess.run(['bash', '-c', '. lab/env.sh && env -0'], cwd=REPO, check=True,
                         capture_output=True, env=dict(os.environ, KVMNET_LAB_HOSTS=str(hosts)))
    env = dict(line.split('=', 1) for line in out.stdout.decode().split('\0') if '=' in line)
    env['ANSIBLE_FORKS'] = '20'
    env['ANSIBLE_CALLBACKS_ENABLED'] = 'ansible.posix.profile_tasks'
    return env


def timed_playbook(env, playbook, *extra):
    started = time.perf_counter()
    proc = subprocess.run(['ansible-playbook', '-i', env['KVMNET_LAB_INVENTORY'], playbook]
                          + list(extra), cwd=REPO, env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit('%s failed:\n%s' % (playbook, proc.stdout[-4000:]))
    # ansible.posix.profile_tasks: the slowest tasks, to see where the time goes.
    slowest = [line for line in proc.stdout.splitlines() if re.search(r' -+ \d+\.\d+s$', line)]
    for line in slowest[:4]:
        print('    %s' % line.strip())
    recap = [line for line in proc.stdout.splitlines() if 'changed=' in line]
    changed = sum(int(line.split('changed=')[1].split()[0]) for line in recap)
    return seconds, changed


def profile_vars(networks):
    """Tenant networks per host as role variables (Jinja picks each host's addresses)."""
    peers = ("{{ groups['hypervisors'] | map('extract', hostvars, 'kvmnet_lab_underlay_ip')"
             " | reject('equalto', kvmnet_lab_underlay_ip) | list }}")
    bridges, vxlans, nics = [], [], []
    for n in range(1, networks + 1):
        bridges.append(dict(name='brt%d' % n, stp=False, forward_delay=0))
        vxlans.append(dict(name='vxt%d' % n, vni=2000 + n, dev='eth0',
                           local='{{ kvmnet_lab_underlay_ip }}', remotes=peers,
                           bridge=dict(name='brt%d' % n)))
        nics.extend(dict(vm='t%d%s' % (n, side), bridge='brt%d' % n) for side in 'ab')
    return dict(hypervisor_network_preset='none', hypervisor_network_bridges=bridges,
                hypervisor_network_vxlans=vxlans, hypervisor_network_vm_nics=nics,
                hypervisor_network_bonds=[], hypervisor_network_teams=[],
                hypervisor_network_vlans=[], hypervisor_network_macvlans=[])


def delete_links(env, hosts, networks=NETWORKS):
    """Remove the profile's links from every lab host (ip -batch, ignoring missing ones)."""
    sys.path.insert(0, os.path.join(REPO, '.cache', 'collections'))
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.vm_nic import nic_name
    names = []
    for n in range(1, networks + 1):
        names += ['vxt%d' % n, 'brt%d' % n] + [nic_name('t%d%s' % (n, side), 0) for side in 'ab']
    batch = ''.join('link del %s\n' % name for name in names)
    for number in range(1, hosts + 1):
        subprocess.run(['docker', 'exec', '-i', 'kvmnet-hv%d' % number, 'ip', '-force', '-batch',
                        '-'], input=batch, text=True, env=env, capture_output=True, check=False)


def play_file(directory, role):
    path = os.path.join(directory, 'profile-%s.yml' % os.path.basename(role).replace('.', '_'))
    with open(path, 'w') as handle:
        json.dump([dict(name='Profile', hosts='hypervisors', gather_facts=False,
                        roles=[dict(role=role)])], handle)
    return path


def old_role(directory):
    """0.1.0's role, extracted from git next to the play."""
    archive = subprocess.run(['git', 'archive', OLD_ROLE_COMMIT, 'roles/hypervisor_network'],
                             cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(['tar', '-x', '-C', directory], input=archive, check=True)
    return os.path.join(directory, 'roles', 'hypervisor_network')


def profile(networks, with_old):
    env = lab_env(2)
    work = tempfile.mkdtemp(prefix='kvmnet-bench-lab-')
    variables = os.path.join(work, 'profile.json')
    with open(variables, 'w') as handle:
        json.dump(profile_vars(networks), handle)
    plays = [('host_network role (now)', play_file(work, 'kvmnet.hostnet.hypervisor_network'))]
    if with_old:
        plays.append(('one task per item (0.1.0)', play_file(work, old_role(work))))
    print('%d links per host on 2 hosts, forks 20; wall seconds of ansible-playbook'
          % (4 * networks))
    print('%-28s %10s %10s %10s' % ('role', 'create', 'no-op', 'changed'))
    for label, play in plays:
        delete_links(env, 2, networks)
        create, _changed = timed_playbook(env, play, '-e', '@' + variables)
        noop, changed = timed_playbook(env, play, '-e', '@' + variables)
        print('%-28s %10.1f %10.1f %10d' % (label, create, noop, changed))
        sys.stdout.flush()
    delete_links(env, 2, networks)


def fleet(sizes, extra):
    print('playbooks/site.yml %s, forks 20; wall seconds of ansible-playbook' % ' '.join(extra))
    print('%6s %10s %10s %10s' % ('hosts', 'create', 'no-op', 'changed'))
    try:
        for hosts in sizes:
            env = lab_env(hosts)
            subprocess.run([os.path.join(REPO, 'lab', 'lab'), 'up'], cwd=REPO, env=env,
                           check=True, capture_output=True)
            site = os.path.join(REPO, 'playbooks', 'site.yml')
            create, _changed = timed_playbook(env, site, *extra)
            noop, changed = timed_playbook(env, site, *extra)
            print('%6d %10.1f %10.1f %10d' % (hosts, create, noop, changed))
            sys.stdout.flush()
    finally:
        subprocess.run([os.path.join(REPO, 'lab', 'lab'), 'up'], cwd=REPO, env=lab_env(2),
                       check=False, capture_output=True)


if __name__ == '__main__':
    if sys.argv[1:2] == ['profile']:
        arguments = [arg for arg in sys.argv[2:] if arg != '--old']
        profile(int(arguments[0]) if arguments else NETWORKS, '--old' in sys.argv)
    elif sys.argv[1:2] == ['fleet']:
        # --no-confirm: without the commit-confirmed stages (their probes ping every
        # VXLAN peer from every host, which a 2-core machine cannot do for 20 hosts
        # within the confirmation deadline).
        extra = ['-e', 'hypervisor_network_confirm=false'] if '--no-confirm' in sys.argv else []
        fleet([int(size) for size in sys.argv[2:] if size != '--no-confirm'] or [2, 8, 20], extra)
    else:
        raise SystemExit(__doc__)
