"""How long diagnose and host_network_info take on a big host, in-process.

Builds a throwaway namespace with BRIDGES bridges (each with an address, a pinned MAC
and PORTS veth ports) with "ip -batch", then runs kvmnet.hostnet.diagnose and
kvmnet.hostnet.host_network_info on it a few times and prints the times, the number of
links and findings. Removes the namespace.

    .venv/bin/python benchmarks/diagnose_host.py [--bridges 50] [--ports 4] [--runs 3]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The collections tree the test tiers use (tests/conftest.py makes it) and their runner.
sys.path.insert(0, os.path.join(REPO, '.cache', 'collections'))
sys.path.insert(0, os.path.join(REPO, 'tests'))

from inprocess import run_module  # noqa: E402


def build(namespace, bridges, ports):
    commands = []
    for bridge in range(bridges):
        commands += ['link add br%d type bridge' % bridge,
                     'link set br%d address 02:00:00:01:%02x:%02x' % (bridge, bridge // 256,
                                                                      bridge % 256),
                     'addr add 10.%d.%d.1/24 dev br%d' % (bridge // 256, bridge % 256, bridge),
                     'link set br%d up' % bridge]
        for port in range(ports):
            name = 'v%d.%d' % (bridge, port)
            commands += ['link add %s type veth peer name w%d.%d' % (name, bridge, port),
                         'link set %s master br%d' % (name, bridge),
                         'link set %s up' % name]
    with tempfile.NamedTemporaryFile('w', suffix='.batch') as batch:
        batch.write('\n'.join(commands) + '\n')
        batch.flush()
        subprocess.run(['ip', '-n', namespace, '-batch', batch.name], check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--bridges', type=int, default=50)
    parser.add_argument('--ports', type=int, default=4)
    parser.add_argument('--runs', type=int, default=3)
    options = parser.parse_args()
    namespace = 'bench-dg-%s' % uuid.uuid4().hex[:6]
    subprocess.run(['ip', 'netns', 'add', namespace], check=True)
    try:
        build(namespace, options.bridges, options.ports)
        links = len(subprocess.run(['ip', '-n', namespace, '-o', 'link', 'show'], check=True,
                                   capture_output=True, text=True).stdout.splitlines())
        for run in range(1, options.runs + 1):
            for module in ('kvmnet.hostnet.diagnose', 'kvmnet.hostnet.host_network_info'):
                started = time.monotonic()
                result = run_module(module, dict(netns=namespace))
                took = time.monotonic() - started
                what = ('%d findings' % len(result['findings']) if 'findings' in result else
                        '%d bridges' % len(result['role_vars']['hypervisor_network_bridges']))
                print('run %d %-34s %5.2f s  %d links  %s' % (run, module, took, links, what))
    finally:
        subprocess.run(['ip', 'netns', 'del', namespace], check=False)


if __name__ == '__main__':
    main()
