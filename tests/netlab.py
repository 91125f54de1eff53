"""Helpers for tests that build namespaces and send packets through them."""

import json
import os
import subprocess


def run(argv, check=True, netns=None):
    """Run a command (argument list, never a shell string), optionally in a namespace."""
    if netns:
        argv = ['ip', 'netns', 'exec', netns] + list(argv)
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (%d): %s%s' % (' '.join(argv), proc.returncode,
                                                       proc.stdout, proc.stderr))
    return proc


def ip_json(netns, *argv):
    """Parsed JSON from ``ip -j -d ...`` (or ``bridge -j -d ...``) in a namespace."""
    tool = 'bridge' if argv and argv[0] == 'bridge' else 'ip'
    args = list(argv[1:] if tool == 'bridge' else argv)
    out = run([tool, '-j', '-d'] + args, netns=netns).stdout
    return json.loads(out) if out.strip() else []


def link(netns, name):
    """The ``ip -d -j link show`` entry of one interface, or None."""
    proc = run(['ip', '-j', '-d', 'link', 'show', 'dev', name], check=False, netns=netns)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def ping(netns, address, count=1, timeout=2, size=None, dont_fragment=False):
    """True when ``address`` answers from inside ``netns``."""
    argv = ['ping', '-n', '-c', str(count), '-W', str(timeout)]
    if size is not None:
        argv += ['-s', str(size)]
    if dont_fragment:
        argv += ['-M', 'do']
    argv.append(address)
    return run(argv, check=False, netns=netns).returncode == 0


def snapshot(netns):
    """Links, addresses and routes of a namespace, minus counters that tick by themselves."""
    return _without_timers(dict(links=ip_json(netns, 'link', 'show'),
                                addresses=ip_json(netns, 'address', 'show'),
                                routes=ip_json(netns, 'route', 'show', 'table', 'all')))


# Link state the kernel changes by itself (carrier, counters, multicast membership of
# ports settling after creation): not configuration, so not part of "unchanged".
_KERNEL_DRIVEN = frozenset(('operstate', 'stats64', 'carrier_changes', 'carrier_up_count',
                            'carrier_down_count', 'allmulti', 'promiscuity', 'mii_status',
                            'link_failure_count'))
_CARRIER_FLAGS = frozenset(('LOWER_UP', 'NO-CARRIER', 'M-DOWN', 'DORMANT'))


def _without_timers(value, key=None):
    if isinstance(value, dict):
        return dict((k, _without_timers(v, k)) for k, v in value.items()
                    if not k.endswith('_timer') and k not in _KERNEL_DRIVEN)
    if isinstance(value, list):
        if key == 'flags':
            return [flag for flag in value if flag not in _CARRIER_FLAGS]
        return [_without_timers(v) for v in value]
    return value


def veth(netns_a, name_a, netns_b=None, name_b=None, up=True):
    """A veth pair; the peer goes into ``netns_b`` when given."""
    name_b = name_b or name_a + 'p'
    run(['ip', 'link', 'add', name_a, 'type', 'veth', 'peer', 'name', name_b], netns=netns_a)
    if netns_b:
        run(['ip', 'link', 'set', name_b, 'netns', netns_b], netns=netns_a)
    if up:
        run(['ip', 'link', 'set', name_a, 'up'], netns=netns_a)
        run(['ip', 'link', 'set', name_b, 'up'], netns=netns_b or netns_a)


def run_role_play(host, inventory, workdir, env, role_vars, timeout=600):
    """The hypervisor_network role on ``host`` through ansible-playbook with the json
    callback: (exit code, {task name without its role prefix: the host's result})."""
    playbook = os.path.join(workdir, 'play.json')
    with open(playbook, 'w') as handle:
        json.dump([dict(hosts=host, gather_facts=False, vars=role_vars,
                        roles=['kvmnet.hostnet.hypervisor_network'])], handle)
    proc = subprocess.run(['ansible-playbook', '-i', inventory, playbook],
                          env=dict(env, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json',
                                   ANSIBLE_NOCOLOR='1'),
                          capture_output=True, text=True, check=False, timeout=timeout)
    try:
        report = json.loads(proc.stdout[proc.stdout.index('{'):])
    except ValueError:
        raise AssertionError('no JSON from ansible-playbook (%d): %s %s' % (
            proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    results = {}
    for play in report['plays']:
        for task in play['tasks']:
            if host in task['hosts']:
                results[task['task']['name'].split(' : ', 1)[-1]] = task['hosts'][host]
    return proc.returncode, results
