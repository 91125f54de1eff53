"""The hypervisor_network role on the container lab: wall time of create and no-op runs.

  profile  on the 2 lab hosts, 50 tenant networks per host (50 bridges, 50 VXLANs
           with head-end replication to the other host, 100 VM taps: 200 links per
           host): the role as it is now (one host_network call per host), and with
           --old 0.1.0's role (one task per item, taken from git) side by side, and with
           --at REV the role as it was at git revision REV
  fleet    playbooks/site.yml on labs of 2, 8 and 20 hosts (KVMNET_LAB_HOSTS), forks 20

Run under the Docker lock, as root, with the lab up (make lab):
  flock /tmp/kvmnet-docker.lock .venv/bin/python benchmarks/lab_fleet.py profile [--old] [--at REV] [50]
  flock /tmp/kvmnet-docker.lock .venv/bin/python benchmarks/lab_fleet.py fleet [--no-confirm] [2 8 20]
The fleet run leaves the lab at 2 hosts again. Prints figures only: wall seconds, and
the CPU seconds of the controller, of the lab hosts (containers) and of Docker, which
show what a lab whose hosts share the controller's cores adds to the wall time.
"""

import glob
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 0.1.0's role: one task per list item (the commit before the role moved to host_network).
OLD_ROLE_COMMIT = '864465d'
NETWORKS = 50  # tenant networks per host: 200 links
GATEWAY = '172.31.250.1'  # the underlay network's gateway (the machine's bridge)


def lab_env(hosts=2):
    """The environment lab/env.sh gives, for a lab of ``hosts`` hypervisors."""
    out = subprocess.run(['bash', '-c', '. lab/env.sh && env -0'], cwd=REPO, check=True,
                         capture_output=True, env=dict(os.environ, KVMNET_LAB_HOSTS=str(hosts)))
    env = dict(line.split('=', 1) for line in out.stdout.decode().split('\0') if '=' in line)
    if os.environ.get('KVMNET_BENCH_COLLECTIONS'):
        # Another copy of the collection first (a snapshot, while this tree is edited).
        env['ANSIBLE_COLLECTIONS_PATH'] = '%s:%s' % (os.environ['KVMNET_BENCH_COLLECTIONS'],
                                                     env['ANSIBLE_COLLECTIONS_PATH'])
    env['ANSIBLE_FORKS'] = '20'
    env['ANSIBLE_CALLBACKS_ENABLED'] = 'ansible.posix.profile_tasks'
    return env


def containers_cpu():
    """CPU seconds used so far by every container of the lab's Docker (cgroup v1 or v2)."""
    v1 = '/sys/fs/cgroup/cpuacct/docker/cpuacct.usage'
    if os.path.exists(v1):
        with open(v1) as handle:
            return int(handle.read()) / 1e9
    total = 0
    for stat in glob.glob('/sys/fs/cgroup/docker/*/cpu.stat') + \
            glob.glob('/sys/fs/cgroup/system.slice/docker-*.scope/cpu.stat'):
        with open(stat) as handle:
            total += int(dict(line.split() for line in handle)['usage_usec']) / 1e6
    return total


def docker_cpu():
    """CPU seconds used so far by dockerd, containerd and the containers' shims."""
    total = 0
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/stat' % pid) as handle:
                fields = handle.read().rsplit(')', 1)
        except (OSError, ValueError):
            continue
        if fields[0].split('(', 1)[-1].startswith(('dockerd', 'containerd')):
            stat = fields[1].split()
            total += (int(stat[11]) + int(stat[12])) / os.sysconf('SC_CLK_TCK')
    return total


def cpu_now():
    """(controller: ansible-playbook and what it ran, the lab's hosts, Docker) CPU seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, containers_cpu(), docker_cpu()


def timed_playbook(env, playbook, *extra):
    """(wall seconds, changed count, CPU seconds of controller, hosts and Docker)."""
    cpu_before = cpu_now()
    started = time.perf_counter()
    proc = subprocess.run(['ansible-playbook', '-i', env['KVMNET_LAB_INVENTORY'], playbook]
                          + list(extra), cwd=REPO, env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    cpu = tuple(after - before for after, before in zip(cpu_now(), cpu_before))
    if proc.returncode != 0:
        descriptor, log = tempfile.mkstemp(prefix='kvmnet-bench-failed-', suffix='.log')
        with os.fdopen(descriptor, 'w') as handle:
            handle.write(proc.stdout + proc.stderr)
        raise SystemExit('%s failed (whole output in %s):\n%s' % (playbook, log, proc.stdout[-4000:]))
    # ansible.posix.profile_tasks: the slowest tasks, to see where the time goes.
    slowest = [line for line in proc.stdout.splitlines() if re.search(r' -+ \d+\.\d+s$', line)]
    for line in slowest[:4]:
        print('    %s' % line.strip())
    recap = [line for line in proc.stdout.splitlines() if 'changed=' in line]
    changed = sum(int(line.split('changed=')[1].split()[0]) for line in recap)
    return seconds, changed, cpu


# CPU seconds of the create, then of the no-op: the controller (ansible-playbook and the
# processes it ran), the lab's hosts (their containers) and Docker (daemons and shims).
CPU_HEADER = 'cpu create: controller hosts docker | cpu no-op: the same'


def cpu_text(cpu):
    return '%6.1f %6.1f %6.1f' % cpu


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
        # VM names per host: the role refuses one derived MAC on two hosts of an overlay.
        nics.extend(dict(vm='{{ inventory_hostname }}t%d%s' % (n, side), bridge='brt%d' % n)
                    for side in 'ab')
    return dict(hypervisor_network_preset='none', hypervisor_network_bridges=bridges,
                hypervisor_network_vxlans=vxlans, hypervisor_network_vm_nics=nics,
                hypervisor_network_bonds=[], hypervisor_network_teams=[],
                hypervisor_network_vlans=[], hypervisor_network_macvlans=[])


def delete_links(env, hosts, networks=NETWORKS):
    """Remove the profile's links from every lab host (ip -batch, ignoring missing ones)."""
    sys.path.insert(0, os.path.join(REPO, '.cache', 'collections'))
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.vm_nic import nic_name
    for number in range(1, hosts + 1):
        names = []
        for n in range(1, networks + 1):
            names += ['vxt%d' % n, 'brt%d' % n] + [nic_name('hv%dt%d%s' % (number, n, side), 0)
                                                   for side in 'ab']
        batch = ''.join('link del %s\n' % name for name in names)
        subprocess.run(['docker', 'exec', '-i', 'kvmnet-hv%d' % number, 'ip', '-force', '-batch',
                        '-'], input=batch, text=True, env=env, capture_output=True, check=False)


def delete_overlay(env, hosts):
    """Remove the lab overlay (playbooks/site.yml's brvx and vx42) and any checkpoint."""
    for number in range(1, hosts + 1):
        subprocess.run(['docker', 'exec', '-i', 'kvmnet-hv%d' % number, 'sh', '-c',
                        'ip link del vx42; ip link del brvx; rm -rf /run/kvmnet'],
                       env=env, capture_output=True, check=False)


def default_routes(env, hosts):
    """Every lab host gets a default route via the underlay's gateway, as a hypervisor has
    one: the profile's VXLANs over eth0 then touch the interface that carries it."""
    for number in range(1, hosts + 1):
        subprocess.run(['docker', 'exec', 'kvmnet-hv%d' % number, 'ip', 'route', 'replace',
                        'default', 'via', GATEWAY, 'dev', 'eth0'], env=env, check=True)


def play_file(directory, role):
    path = os.path.join(directory, 'profile-%s.yml' % role.strip('/').replace('/', '_').replace('.', '_'))
    with open(path, 'w') as handle:
        json.dump([dict(name='Profile', hosts='hypervisors', gather_facts=False,
                        roles=[dict(role=role)])], handle)
    return path


def old_role(directory, commit=OLD_ROLE_COMMIT):
    """The role as it was at ``commit`` (0.1.0's by default), extracted from git next to the play."""
    directory = os.path.join(directory, commit)
    os.makedirs(directory)
    archive = subprocess.run(['git', 'archive', commit, 'roles/hypervisor_network'],
                             cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(['tar', '-x', '-C', directory], input=archive, check=True)
    return os.path.join(directory, 'roles', 'hypervisor_network')


def profile(networks, with_old, revisions=()):
    env = lab_env(2)
    work = tempfile.mkdtemp(prefix='kvmnet-bench-lab-')
    variables = os.path.join(work, 'profile.json')
    with open(variables, 'w') as handle:
        json.dump(profile_vars(networks), handle)
    plays = [('host_network role (now)', play_file(work, 'kvmnet.hostnet.hypervisor_network'))]
    for revision in revisions:
        plays.append(('role at %s' % revision, play_file(work, old_role(work, revision))))
    if with_old:
        plays.append(('one task per item (0.1.0)', play_file(work, old_role(work))))
    print('%d links per host on 2 hosts, forks 20; wall seconds of ansible-playbook'
          % (4 * networks))
    print('%-28s %10s %10s %10s   %s' % ('role', 'create', 'no-op', 'changed', CPU_HEADER))
    default_routes(env, 2)
    try:
        for label, play in plays:
            delete_links(env, 2, networks)
            create, _changed, create_cpu = timed_playbook(env, play, '-e', '@' + variables)
            noop, changed, noop_cpu = timed_playbook(env, play, '-e', '@' + variables)
            print('%-28s %10.1f %10.1f %10d   %s | %s' % (
                label, create, noop, changed, cpu_text(create_cpu), cpu_text(noop_cpu)))
            sys.stdout.flush()
    finally:
        delete_links(env, 2, networks)
        shutil.rmtree(work, ignore_errors=True)


def fleet(sizes, extra):
    print('playbooks/site.yml %s, forks 20; wall seconds of ansible-playbook' % ' '.join(extra))
    print('%6s %10s %10s %10s   %s' % ('hosts', 'create', 'no-op', 'changed', CPU_HEADER))
    try:
        for hosts in sizes:
            env = lab_env(hosts)
            subprocess.run([os.path.join(REPO, 'lab', 'lab'), 'up'], cwd=REPO, env=env,
                           check=True, capture_output=True)
            site = os.path.join(REPO, 'playbooks', 'site.yml')
            # Every host bare but for its default route: a create builds the whole overlay.
            delete_overlay(env, hosts)
            default_routes(env, hosts)
            create, _changed, create_cpu = timed_playbook(env, site, *extra)
            noop, changed, noop_cpu = timed_playbook(env, site, *extra)
            print('%6d %10.1f %10.1f %10d   %s | %s' % (
                hosts, create, noop, changed, cpu_text(create_cpu), cpu_text(noop_cpu)))
            sys.stdout.flush()
    finally:
        subprocess.run([os.path.join(REPO, 'lab', 'lab'), 'up'], cwd=REPO, env=lab_env(2),
                       check=False, capture_output=True)


if __name__ == '__main__':
    if sys.argv[1:2] == ['profile']:
        # --at REV (repeatable): the role as it was at git revision REV, side by side.
        arguments, at = [], []
        for position, arg in enumerate(sys.argv[2:], 2):
            if sys.argv[position - 1] == '--at':
                at.append(arg)
            elif arg not in ('--old', '--at'):
                arguments.append(arg)
        profile(int(arguments[0]) if arguments else NETWORKS, '--old' in sys.argv, at)
    elif sys.argv[1:2] == ['fleet']:
        # --no-confirm: without the commit-confirmed stages (their probes ping every
        # VXLAN peer from every host, which a 2-core machine cannot do for 20 hosts
        # within the confirmation deadline).
        extra = ['-e', 'hypervisor_network_confirm=false'] if '--no-confirm' in sys.argv else []
        fleet([int(size) for size in sys.argv[2:] if size != '--no-confirm'] or [2, 8, 20], extra)
    else:
        raise SystemExit(__doc__)
