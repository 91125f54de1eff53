"""How long keeping a VTEP's head-end replication list in sync takes, by list size.

Runs the engine directly (no ansible-playbook start-up) in a throwaway namespace:
create a VTEP with N flooding peers, re-run unchanged, then swap 10% of the peers.
Prints figures only; run as root:  .venv/bin/python benchmarks/vxlan_fdb.py [N ...]
"""

import ipaddress
import os
import subprocess
import sys
import time
import uuid


sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scripts'))
import collection_tree  # noqa: E402

collection_tree.importable()

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import reconcile  # noqa: E402
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.fdb import VxlanFdb  # noqa: E402
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vxlan import (  # noqa: E402
    VxlanKind, VxlanLinkFacet)


def peers(count, offset=0):
    # 10.x only exists inside the benchmark's own namespace; nothing is sent.
    first = int(ipaddress.IPv4Address(u'10.1.0.0'))
    return [str(ipaddress.IPv4Address(first + offset + n)) for n in range(1, count + 1)]


def run(ns, remotes):
    link = VxlanLinkFacet(VxlanKind(), 'vx42', options=dict(vni=42, dstport=4789, dev='u0'),
                          title='vxlan', drop_remote=True)
    started = time.perf_counter()
    outcome = reconcile([link, VxlanFdb('vx42', link, remotes=remotes)], netns=ns)
    return time.perf_counter() - started, len(outcome.plan)


def main(sizes):
    print('%6s %12s %12s %14s' % ('peers', 'create s', 'no-op s', 'swap 10% s'))
    for size in sizes:
        ns = 'bench-%s' % uuid.uuid4().hex[:8]
        subprocess.run(['ip', 'netns', 'add', ns], check=True)
        try:
            subprocess.run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'add', 'u0', 'type', 'dummy'],
                           capture_output=True, check=False)
            if subprocess.run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'show', 'u0'],
                              capture_output=True, check=False).returncode != 0:
                subprocess.run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'add', 'u0', 'type', 'veth',
                                'peer', 'name', 'u1'], check=True)
            listed = peers(size)
            create, _listed = run(ns, listed)
            noop, operations = run(ns, listed)
            assert operations == 0, 'a second run must plan nothing'
            swapped = listed[size // 10:] + peers(size // 10, offset=size + 1)
            swap, _swapped = run(ns, swapped)
            print('%6d %12.3f %12.3f %14.3f' % (size, create, noop, swap))
        finally:
            subprocess.run(['ip', 'netns', 'del', ns], check=False)


if __name__ == '__main__':
    main([int(arg) for arg in sys.argv[1:]] or [10, 100, 1000])
