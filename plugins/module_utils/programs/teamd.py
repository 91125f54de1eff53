# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The teamd and teamdctl programs: started, stopped and asked, always with argument
lists, inside a namespace with ``ip netns exec``.

teamd keeps its pid file and control socket in /var/run/teamd/<team>.*, shared by
every network namespace, so a team name must be unique on the host.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import tempfile
import time
from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NotApplied
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import NETNS_DIR

TEAMD_RUN_DIR = '/var/run/teamd'
STOP_TIMEOUT = 10.0
COMMAND_TIMEOUT = 30
MISSING_TEAMD = ('%s is not installed on the target: install the package libteam-utils '
                 '(Debian/Ubuntu) or teamd (RHEL/Fedora/SUSE)')
SEARCH_PATH = ('/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin')


def find_binary(name):
    for directory in os.environ.get('PATH', '').split(os.pathsep) + list(SEARCH_PATH):
        path = os.path.join(directory, name)
        if directory and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _in_netns(netns, argv):
    return (['ip', 'netns', 'exec', netns] + argv) if netns else argv


def run(netns, argv, action):
    """Run argv (in ``netns``); output goes through a file, never a pipe, because a
    daemonising teamd could keep a pipe open. Returns (rc, output)."""
    with tempfile.TemporaryFile() as output:
        try:
            rc = subprocess.call(_in_netns(netns, argv), stdin=subprocess.DEVNULL, stdout=output,
                                 stderr=output, timeout=COMMAND_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise NotApplied('%s: %s' % (action, error))
        output.seek(0)
        text = output.read().decode('utf-8', 'replace')
    return rc, text


def _clean(text):
    lines = [line for line in text.splitlines() if 'not intended to be run as root' not in line]
    return ' '.join(line.strip() for line in lines if line.strip())


def pid_of(team):
    """The pid of the teamd that runs ``team``, from its pid file, or None."""
    try:
        with open(os.path.join(TEAMD_RUN_DIR, '%s.pid' % team)) as handle:
            pid = int(handle.read().strip())
    except (IOError, OSError, ValueError):
        return None
    return pid if os.path.exists('/proc/%s' % pid) else None


def _netns_id(netns):
    path = os.path.join(NETNS_DIR, netns) if netns else '/proc/self/ns/net'
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def pid_netns_matches(pid, netns):
    try:
        stat = os.stat('/proc/%d/ns/net' % pid)
        return (stat.st_dev, stat.st_ino) == _netns_id(netns)
    except OSError:
        return True  # cannot tell (exited meanwhile): let teamdctl decide


def teamdctl(netns, team, *args):
    binary = find_binary('teamdctl') or 'teamdctl'
    rc, text = run(netns, [binary, team] + list(args), 'teamdctl %s %s' % (team, ' '.join(args)))
    if rc != 0:
        raise NotApplied('teamdctl %s %s failed: %s' % (team, ' '.join(args), _clean(text)))
    return text


def dump(netns, team, what):
    """``config dump actual`` or ``state dump`` as parsed JSON."""
    args = ['config', 'dump', 'actual'] if what == 'config' else ['state', 'dump']
    text = teamdctl(netns, team, *args)
    try:
        return json.loads(text, object_pairs_hook=OrderedDict)
    except ValueError:
        raise NotApplied('teamdctl %s %s printed no JSON: %s' % (team, ' '.join(args), text[:300]))


def running_runner(netns, team):
    """The runner name of the teamd running ``team``, or None when none runs."""
    pid = pid_of(team)
    if pid is None or not pid_netns_matches(pid, netns):
        return None
    try:
        return (dump(netns, team, 'config').get('runner') or {}).get('name')
    except NotApplied:
        return None


def start(netns, team, config):
    binary = find_binary('teamd')
    if binary is None:
        raise NotApplied(MISSING_TEAMD % 'teamd')
    text = json.dumps(config, sort_keys=True)
    # -o: take over the device made over netlink; -N: leave it when teamd quits.
    rc, output = run(netns, [binary, '-d', '-o', '-N', '-t', team, '-c', text],
                     'starting teamd for %s' % team)
    if rc != 0:
        raise NotApplied('starting teamd for %s failed: %s (config %s)' % (team, _clean(output), text))


def stop(netns, team):
    pid = pid_of(team)
    if pid is None:
        return
    binary = find_binary('teamd')
    if binary is None:
        raise NotApplied(MISSING_TEAMD % 'teamd')
    rc, output = run(netns, [binary, '-k', '-t', team], 'stopping teamd for %s' % team)
    if rc != 0 and pid_of(team) is not None:
        raise NotApplied('stopping teamd for %s failed: %s' % (team, _clean(output)))
    # A new teamd for the same team needs the pid file and socket free.
    deadline = time.time() + STOP_TIMEOUT
    while os.path.exists('/proc/%s' % pid) and time.time() < deadline:
        time.sleep(0.05)
    if os.path.exists('/proc/%s' % pid):
        raise NotApplied('teamd for %s (pid %s) did not stop within %d s' % (team, pid, STOP_TIMEOUT))
