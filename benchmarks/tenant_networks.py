"""N tenant networks on one host: kvmnet.hostnet.host_network against ip -batch.

A tenant network is a bridge, a VXLAN with one head-end replication peer in that
bridge, and two VM taps in it: 4 links, so N = 500 is 2,000 links. For each N,
side by side in one run (each in its own throwaway namespace):

  ip -batch   ``ip -batch`` + ``bridge -batch`` creating the same links and values
  module      host_network as Ansible runs a module: one Python process, create,
              then the no-op re-run (the figures the targets speak of), with the
              default report=all and, as the role calls it, report=changed ("chg")
  engine      the same in-process (no interpreter start-up, no imports), the cycle
              collector paused as the module process pauses it
  playbook    with --playbook: ansible-playbook with one host_network task
  per link    with --per-link N: 0.1.0's way, one module process per link
              (linux_bridge, vxlan_vtep, kvm_vm_nic), for N networks only

--profile mixed times another shape, 8 links per unit (N = 250 is 2,000 links): a
bridge with an address, a VXLAN with two remotes and port options, a macvlan on the
underlay, a veth pair with one end in the bridge, three VM taps with an MTU and port
options. --profile vlan: 3 links per unit, a VLAN on the underlay as the port of its
bridge and a VM tap in it; it needs a kernel with 802.1Q (the kernel lab's guest).

Prints figures only; run as root:
  .venv/bin/python benchmarks/tenant_networks.py [--profile mixed|vlan] [--playbook] [--per-link 10] [N ...]
"""

import argparse
import collections
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# Only inside the benchmark's own namespaces.
LOCAL, PEER, OTHER_PEER = '192.0.2.1', '192.0.2.2', '192.0.2.3'


sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scripts'))
import collection_tree  # noqa: E402

ROOT = collection_tree.importable()

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import reconcile  # noqa: E402
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.topology import (  # noqa: E402
    parse_topology)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.vm_nic import (  # noqa: E402
    guest_mac, host_side_mac, nic_name)


def tenant_topology(count, netns):
    """host_network arguments for ``count`` tenant networks."""
    bridges, vxlans, nics = [], [], []
    for n in range(1, count + 1):
        bridges.append(dict(name='brt%d' % n, stp=False, forward_delay=0))
        vxlans.append(dict(name='vxt%d' % n, vni=1000 + n, dev='u0', local=LOCAL,
                           remotes=[PEER], bridge=dict(name='brt%d' % n)))
        nics.extend(dict(vm='t%d%s' % (n, side), bridge='brt%d' % n) for side in 'ab')
    return dict(netns=netns, bridges=bridges, vxlans=vxlans, vm_nics=nics)


def tenant_ip_batch(count):
    """The same links with ip -batch and bridge -batch: (ip lines, bridge lines)."""
    ip, fdb = [], []
    for n in range(1, count + 1):
        bridge, vxlan = 'brt%d' % n, 'vxt%d' % n
        ip.append('link add %s type bridge stp_state 0 forward_delay 0' % bridge)
        ip.append('link add %s type vxlan id %d dstport 4789 local %s dev u0' % (vxlan, 1000 + n, LOCAL))
        ip.append('link set %s master %s up' % (vxlan, bridge))
        for side in 'ab':
            vm = 't%d%s' % (n, side)
            tap = nic_name(vm, 0)
            ip.append('tuntap add dev %s mode tap' % tap)
            ip.append('link set %s address %s mtu 1450 master %s up' % (
                tap, host_side_mac(guest_mac(vm, 0)), bridge))
        ip.append('link set %s up' % bridge)
        fdb.append('fdb append 00:00:00:00:00:00 dev %s dst %s' % (vxlan, PEER))
    return ip, fdb


def mixed_topology(count, netns):
    """host_network arguments for ``count`` units of the mixed profile."""
    bridges, vxlans, macvlans, veths, nics = [], [], [], [], []
    for n in range(1, count + 1):
        bridge = 'brm%d' % n
        bridges.append(dict(name=bridge, stp=False, forward_delay=0, mtu=1450,
                            addresses=['10.%d.%d.1/24' % (n // 250, n % 250)]))
        vxlans.append(dict(name='vxm%d' % n, vni=5000 + n, dev='u0', local=LOCAL,
                           remotes=[PEER, OTHER_PEER], learning=False,
                           bridge=dict(name=bridge, isolated=True, cost=7)))
        macvlans.append(dict(name='mvm%d' % n, parent='u0', mode='bridge'))
        veths.append(dict(name='vem%d' % n, peer='vpm%d' % n, mtu=1450, bridge=bridge))
        nics.extend(dict(vm='m%dv%d' % (n, k), bridge=bridge, mtu=1450,
                         port_options=dict(cost=20 + k, learning=False)) for k in range(3))
    return dict(netns=netns, bridges=bridges, vxlans=vxlans, macvlans=macvlans, veths=veths,
                vm_nics=nics)


def mixed_ip_batch(count):
    """The mixed profile with ip -batch and bridge -batch: (ip lines, bridge lines)."""
    ip, bridge_lines = [], []
    for n in range(1, count + 1):
        bridge, vxlan = 'brm%d' % n, 'vxm%d' % n
        ip.append('link add %s mtu 1450 type bridge stp_state 0 forward_delay 0' % bridge)
        ip.append('addr add 10.%d.%d.1/24 dev %s' % (n // 250, n % 250, bridge))
        ip.append('link add %s type vxlan id %d dstport 4789 local %s dev u0 nolearning'
                  % (vxlan, 5000 + n, LOCAL))
        ip.append('link set %s master %s up' % (vxlan, bridge))
        bridge_lines.append('link set dev %s isolated on cost 7' % vxlan)
        bridge_lines.extend('fdb append 00:00:00:00:00:00 dev %s dst %s' % (vxlan, peer)
                            for peer in (PEER, OTHER_PEER))
        ip.append('link add mvm%d link u0 type macvlan mode bridge' % n)
        ip.append('link set mvm%d up' % n)
        ip.append('link add vem%d mtu 1450 type veth peer name vpm%d mtu 1450' % (n, n))
        ip.append('link set vem%d master %s up' % (n, bridge))
        ip.append('link set vpm%d up' % n)
        for k in range(3):
            vm = 'm%dv%d' % (n, k)
            tap = nic_name(vm, 0)
            ip.append('tuntap add dev %s mode tap' % tap)
            ip.append('link set %s address %s mtu 1450 master %s up' % (
                tap, host_side_mac(guest_mac(vm, 0)), bridge))
            bridge_lines.append('link set dev %s cost %d learning off' % (tap, 20 + k))
        ip.append('link set %s up' % bridge)
    return ip, bridge_lines


def vlan_topology(count, netns):
    """host_network arguments for ``count`` VLAN networks: a VLAN on the underlay as the
    port of its bridge, and a VM tap in it."""
    vlans, bridges, nics = [], [], []
    for n in range(1, count + 1):
        bridge = 'brv%d' % n
        vlans.append(dict(name='u0.%d' % n, parent='u0', vlan_id=n, bridge=dict(name=bridge)))
        bridges.append(dict(name=bridge, stp=False, forward_delay=0))
        nics.append(dict(vm='v%d' % n, bridge=bridge))
    return dict(netns=netns, vlans=vlans, bridges=bridges, vm_nics=nics)


def vlan_ip_batch(count):
    """The VLAN profile with ip -batch: (ip lines, no bridge lines)."""
    ip = []
    for n in range(1, count + 1):
        bridge, vm = 'brv%d' % n, 'v%d' % n
        ip.append('link add %s type bridge stp_state 0 forward_delay 0' % bridge)
        ip.append('link add link u0 name u0.%d type vlan id %d' % (n, n))
        ip.append('link set u0.%d master %s up' % (n, bridge))
        tap = nic_name(vm, 0)
        ip.append('tuntap add dev %s mode tap' % tap)
        ip.append('link set %s address %s master %s up' % (tap, host_side_mac(guest_mac(vm, 0)), bridge))
        ip.append('link set %s up' % bridge)
    return ip, []


Profile = collections.namedtuple('Profile', 'links_per_unit topology ip_batch')
PROFILES = dict(tenant=Profile(4, tenant_topology, tenant_ip_batch),
                mixed=Profile(8, mixed_topology, mixed_ip_batch),
                vlan=Profile(3, vlan_topology, vlan_ip_batch))


class Namespace:
    def __init__(self, tag):
        self.name = 'kvmbench-%s-%s' % (tag, uuid.uuid4().hex[:6])

    def __enter__(self):
        subprocess.run(['ip', 'netns', 'add', self.name], check=True)
        self.run('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1')
        self.run('sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1')
        self.run('ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1')
        self.run('ip', 'addr', 'add', LOCAL + '/24', 'dev', 'u0')
        self.run('ip', 'link', 'set', 'u0', 'up')
        return self

    def run(self, *argv, **kwargs):
        return subprocess.run(['ip', 'netns', 'exec', self.name] + list(argv), check=True,
                              capture_output=True, **kwargs)

    def __exit__(self, *exc):
        # Deleted at the end: the kernel tears a namespace of 2,000 links down in the
        # background for seconds, holding the lock every netlink write waits for, and
        # would slow whatever is timed next by that much.
        LEFT.append(self.name)

    @staticmethod
    def delete_all():
        while LEFT:
            subprocess.run(['ip', 'netns', 'del', LEFT.pop()], check=False)


LEFT = []


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(step):
    started = time.perf_counter()
    value = step()
    return time.perf_counter() - started, value


def timed_cpu(step):
    """(wall seconds, CPU seconds of the processes it ran, user + system, value)."""
    cpu = children_cpu()
    seconds, value = timed(step)
    return seconds, children_cpu() - cpu, value


def run_ip_batch(profile, count):
    ip, fdb = profile.ip_batch(count)
    with Namespace('ip') as ns:
        def create():
            ns.run('ip', '-batch', '-', input='\n'.join(ip).encode())
            ns.run('bridge', '-batch', '-', input='\n'.join(fdb).encode())
        seconds, cpu, _value = timed_cpu(create)
        read = timed(lambda: ns.run('ip', '-d', '-j', 'link', 'show'))[0]
    return seconds, cpu, read


def module_process(args):
    """host_network as Ansible runs it: a Python process reading its arguments file."""
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump(dict(ANSIBLE_MODULE_ARGS=args), handle)
    try:
        proc = subprocess.run([sys.executable, '-m',
                               'ansible_collections.kvmnet.hostnet.plugins.modules.host_network',
                               handle.name], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=ROOT), check=False)
    finally:
        os.unlink(handle.name)
    result = json.loads(proc.stdout)
    if result.get('failed'):
        raise SystemExit('host_network failed: %s' % result.get('msg'))
    return result


def run_module(profile, count):
    with Namespace('mod') as ns:
        create, create_cpu, result = timed_cpu(lambda: module_process(profile.topology(count, ns.name)))
        assert result['changed']
        noop, noop_cpu, result = timed_cpu(lambda: module_process(profile.topology(count, ns.name)))
        assert not result['changed'], result['plan'][:5]
        # As the role runs it: only what changes is listed (nothing, here).
        quiet, quiet_cpu, result = timed_cpu(
            lambda: module_process(dict(profile.topology(count, ns.name), report='changed')))
        assert not result['changed'] and result['items'] == [], result['plan'][:5]
    return create, noop, create_cpu, noop_cpu, quiet, quiet_cpu


def in_process(args):
    # As host_network's main() does: without it, each pass of the cycle collector here
    # also walks what the earlier runs of this benchmark left alive.
    gc.disable()
    try:
        items, problems = parse_topology(dict(args, purge=[]))
        assert not problems, problems
        return reconcile(items, netns=args['netns'])
    finally:
        gc.enable()


def run_engine(profile, count):
    with Namespace('eng') as ns:
        create, outcome = timed(lambda: in_process(profile.topology(count, ns.name)))
        assert outcome.changed
        noop, outcome = timed(lambda: in_process(profile.topology(count, ns.name)))
        assert not outcome.changed
    return create, noop


def playbook(args, workdir):
    path = os.path.join(workdir, 'play.json')
    with open(path, 'w') as handle:
        json.dump([dict(hosts='localhost', connection='local', gather_facts=False,
                        tasks=[{'kvmnet.hostnet.host_network': args}])], handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=ROOT, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False')
    subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                    '-i', 'localhost,', path], env=env, check=True, capture_output=True)


def run_playbook(profile, count):
    workdir = tempfile.mkdtemp(prefix='kvmnet-bench-play-')
    with Namespace('pb') as ns:
        create = timed(lambda: playbook(profile.topology(count, ns.name), workdir))[0]
        noop = timed(lambda: playbook(profile.topology(count, ns.name), workdir))[0]
    return create, noop


def single_module(name, args):
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump(dict(ANSIBLE_MODULE_ARGS=args), handle)
    try:
        proc = subprocess.run([sys.executable, '-m',
                               'ansible_collections.kvmnet.hostnet.plugins.modules.' + name,
                               handle.name], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=ROOT), check=False)
    finally:
        os.unlink(handle.name)
    if json.loads(proc.stdout).get('failed'):
        raise SystemExit('%s failed: %s' % (name, proc.stdout[-500:]))


def run_per_link(count):
    """0.1.0's role: one module process per link, in build order."""
    def once(ns):
        args = tenant_topology(count, ns)
        for module, section in (('linux_bridge', 'bridges'), ('vxlan_vtep', 'vxlans'),
                                ('kvm_vm_nic', 'vm_nics')):
            for item in args[section]:
                single_module(module, dict(item, netns=ns))
    with Namespace('one') as ns:
        create = timed(lambda: once(ns.name))[0]
        noop = timed(lambda: once(ns.name))[0]
    return create, noop


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('networks', nargs='*', type=int, default=[10, 100, 500])
    parser.add_argument('--profile', choices=sorted(PROFILES), default='tenant')
    parser.add_argument('--playbook', action='store_true')
    parser.add_argument('--per-link', type=int, default=0, metavar='N',
                        help='also time one module process per link for N networks')
    options = parser.parse_args()
    if options.per_link and options.profile != 'tenant':
        parser.error('--per-link times the tenant profile only')
    columns = ['nets', 'links', 'ip -batch', 'module', 'ratio', 'module no-op', 'no-op chg',
               'engine', 'engine no-op']
    if options.playbook:
        columns += ['playbook', 'pb no-op']
    columns += ['ip read', 'ip cpu', 'module cpu', 'cpu ratio', 'no-op cpu', 'chg cpu']
    print('seconds; ratio = module / ip -batch (create); ip -d -j link show of the same '
          'host shown as "ip read"; cpu: user + system seconds of the processes (ip and bridge, '
          'the module), which other work on the machine inflates far less than wall time')
    print(' '.join('%12s' % c for c in columns))
    try:
        rows(options)
    finally:
        Namespace.delete_all()


def rows(options):
    profile = PROFILES[options.profile]
    for count in options.networks:
        ip_seconds, ip_cpu, ip_read = run_ip_batch(profile, count)
        module_create, module_noop, create_cpu, noop_cpu, quiet, quiet_cpu = run_module(profile, count)
        engine_create, engine_noop = run_engine(profile, count)
        row = [count, profile.links_per_unit * count, ip_seconds, module_create, module_create / ip_seconds,
               module_noop, quiet, engine_create, engine_noop]
        if options.playbook:
            row += list(run_playbook(profile, count))
        row += [ip_read, ip_cpu, create_cpu, create_cpu / ip_cpu, noop_cpu, quiet_cpu]
        print(' '.join('%12d' % v if isinstance(v, int) else '%12.3f' % v for v in row))
        sys.stdout.flush()
    if options.per_link:
        create, noop = run_per_link(options.per_link)
        links = 4 * options.per_link
        print('\none module process per link (0.1.0), %d networks = %d links (%d module runs): '
              'create %.2f s, no-op %.2f s (%.3f s per run)' % (
                  options.per_link, links, links, create, noop,
                  noop / links))


if __name__ == '__main__':
    main()
