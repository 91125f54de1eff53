"""Long run of the cut-off case: does an unconfirmed change that cuts SSH always come back?

Each trial runs the hypervisor_network role over SSH on a lab host with a change that
cuts the host off, taking turns between the two cuts the container lab can make: its
underlay NIC into a bridge with a mistyped address (``address``), and into a bridge
with no address at all (``no-address``: the address stays on a NIC that is now a
bridge port). It waits for the host to restore itself, and checks that the host's
state equals the snapshot taken before and that a new SSH connection works. Prints per
trial and in total: the restore rate, how late after the deadline the watchdog
finished, and how long the host was unreachable over SSH.

    lab/lab up
    flock /tmp/kvmnet-docker.lock .venv/bin/python benchmarks/confirm_restore.py [--trials 10] [--timeout 20] [--cut address]
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'lab'))

from labhosts import ADDRESS, reachable, reset, run_role, snapshot, wait_for_result  # noqa: E402

CUTS = {
    'address': [dict(name='br0', ports=['eth0'], addresses=['172.31.250.211/24'], stp=False,
                     forward_delay=0)],
    'no-address': [dict(name='br0', ports=['eth0'], stp=False, forward_delay=0)],
}


def trial(host, timeout, workdir, cut):
    reset(host, ADDRESS[host])
    before = snapshot(host)
    started = time.time()
    code, results = run_role(host, workdir, hypervisor_network_bridges=CUTS[cut],
                             hypervisor_network_confirm_timeout=timeout,
                             hypervisor_network_probe_timeout=min(6, timeout - 2))
    name = results["Checkpoint | a name for this run's checkpoint, fixed once"][
        'ansible_facts']['hypervisor_network__name']
    result = wait_for_result(host, name, timeout + 30)
    while not reachable(host) and time.time() - started < timeout + 60:
        time.sleep(0.5)
    back = time.time() - started
    equal = snapshot(host) == before
    probe = results.get('Confirm | fail this host with the probe that failed', {}).get('msg', '')
    return dict(cut=cut, restored=result['outcome'] == 'rolled_back' and result['equal'] and equal,
                late=result.get('seconds_after_deadline'), back=back, play_failed=code != 0,
                probe="probe 'connection' failed" in probe, message=probe)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--trials', type=int, default=10)
    parser.add_argument('--timeout', type=int, default=20, help='confirm_timeout in seconds')
    parser.add_argument('--host', default='hv1', choices=sorted(ADDRESS))
    parser.add_argument('--cut', choices=sorted(CUTS), action='append',
                        help='the cuts to take turns with (default: all)')
    args = parser.parse_args()
    outcomes = []
    workdir = tempfile.mkdtemp(prefix='kvmnet-confirm-bench-')
    try:
        cuts = args.cut or sorted(CUTS)
        for number in range(1, args.trials + 1):
            outcome = trial(args.host, args.timeout, workdir, cuts[(number - 1) % len(cuts)])
            outcomes.append(outcome)
            print('trial %2d (%s): restored=%s (equal to the snapshot), watchdog %.2f s after the '
                  'deadline, SSH back %.1f s after the run started, play failed=%s naming the '
                  'connection probe=%s' % (number, outcome['cut'], outcome['restored'],
                                           outcome['late'], outcome['back'],
                                           outcome['play_failed'], outcome['probe']))
            if not outcome['probe']:
                print('          the play said: %s' % outcome['message'][:400])
            sys.stdout.flush()
    finally:
        reset(args.host, ADDRESS[args.host])
    restored = sum(1 for o in outcomes if o['restored'])
    late = sorted(o['late'] for o in outcomes)
    back = sorted(o['back'] for o in outcomes)
    print('restored %d/%d (%.0f%%), confirm_timeout %d s' % (
        restored, len(outcomes), 100.0 * restored / len(outcomes), args.timeout))
    print('watchdog after the deadline: min %.2f s, median %.2f s, max %.2f s' % (
        late[0], late[len(late) // 2], late[-1]))
    print('SSH back after the run started: min %.1f s, median %.1f s, max %.1f s' % (
        back[0], back[len(back) // 2], back[-1]))
    return 0 if restored == len(outcomes) else 1


if __name__ == '__main__':
    sys.exit(main())
