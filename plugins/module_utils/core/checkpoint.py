# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit-confirmed apply: a change that restores itself unless it is confirmed.

With ``confirm_timeout`` a module snapshots the network state of its namespace,
applies its plan, and leaves a *watchdog*: a detached process that holds the run's
undo journal. At the deadline, or when asked, the watchdog undoes the run, reads the
state again and records whether it equals the snapshot. ``kvmnet.hostnet.confirm``
tells the watchdogs to stand down instead.

Several module runs of one play join one checkpoint by naming it
(``confirm_checkpoint``): each adds a *segment* with its own watchdog, and a rollback
undoes the segments newest first. One namespace has at most one pending checkpoint;
any other run fails (or waits, ``confirm_wait``) while one is pending.

Everything lives under /run/kvmnet (tmpfs): a reboot inside the window forgets the
checkpoint together with the runtime state it protects, so the host boots into its
persisted configuration. Files a run wants written are staged and only written by the
confirmation, so persisted configuration never holds an unconfirmed change.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import (
    Journal, reconcile)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import (
    InvalidRequest, NetError, NotApplied)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import NetlinkSession

RUN_DIR = '/run/kvmnet'
POLL_SECONDS = 0.2
# How long a watchdog waits for newer segments to finish undoing before undoing its own.
SEGMENT_GRACE_SECONDS = 30
MIN_TIMEOUT = 5
RT_TABLE_MAIN = 254
NUD_STATIC = 0x40 | 0x80  # NUD_NOARP | NUD_PERMANENT: entries someone configured

# Options every link module takes (doc fragment kvmnet.hostnet.link).
CONFIRM_OPTIONS = dict(
    confirm_timeout=dict(type='int'),
    confirm_checkpoint=dict(type='str'),
    confirm_wait=dict(type='int', default=0),
    confirm_when=dict(type='str', default='always', choices=['always', 'guarded']),
)

# The options of a request that name other interfaces than its own link.
NAMING_OPTIONS = ('takeover_from', 'parent', 'dev', 'peer', 'primary')


class CheckpointPending(NetError):
    """Another checkpoint is pending in this namespace."""


# ---- snapshots ---------------------------------------------------------------------
def take_snapshot(net):
    """The configured network state of ``net``'s namespace as {key: value}.

    Keys are ``link/NAME`` (kind, master, up, mtu, mac, addresses, static FDB entries)
    and ``route/TABLE/DST/METRIC`` (main table). Kernel-driven values (operstate,
    counters, learned FDB entries, IPv6 link-local addresses) are left out, so two
    snapshots of an unchanged host are equal.
    """
    ipr = net.ipr
    names = {}
    links = {}
    for msg in ipr.link('dump'):
        names[msg['index']] = msg.get('IFLA_IFNAME')
    for msg in ipr.link('dump'):
        info = msg.get('IFLA_LINKINFO')
        links[msg['index']] = dict(
            kind=info.get('IFLA_INFO_KIND') if info else None,
            master=names.get(msg.get('IFLA_MASTER')),
            up=bool(msg['flags'] & 1),
            mtu=msg.get('IFLA_MTU'),
            mac=msg.get('IFLA_ADDRESS'),
            addresses=[], fdb=[])
    for msg in ipr.addr('dump'):
        address = '%s/%s' % (msg.get('IFA_ADDRESS'), msg['prefixlen'])
        if msg['index'] in links and not address.lower().startswith('fe80:'):
            links[msg['index']]['addresses'].append(address)
    for msg in ipr.fdb('dump'):
        if msg['ifindex'] in links and msg['state'] & NUD_STATIC:
            entry = '%s dst %s' % (msg.get('NDA_LLADDR'), msg.get('NDA_DST'))
            links[msg['ifindex']]['fdb'].append(entry)
    snapshot = {}
    for index, link in links.items():
        link['addresses'].sort()
        link['fdb'] = sorted(set(link['fdb']))
        snapshot['link/%s' % names[index]] = link
    for msg in ipr.route('dump', table=RT_TABLE_MAIN):
        destination = '%s/%s' % (msg.get('RTA_DST') or 'default', msg['dst_len'])
        if destination.lower().startswith('fe80:'):
            continue
        key = 'route/%s/%s/%s' % (msg.get('RTA_TABLE', msg['table']), destination,
                                  msg.get('RTA_PRIORITY') or 0)
        snapshot[key] = dict(dev=names.get(msg.get('RTA_OIF')), gateway=msg.get('RTA_GATEWAY'),
                             prefsrc=msg.get('RTA_PREFSRC'), proto=msg['proto'],
                             scope=msg['scope'], type=msg['type'])
    return snapshot


def changed_keys(before, after):
    """Keys whose value differs between two snapshots (added and removed included)."""
    return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


def differences(before, now, keys):
    """Operator-readable differences between ``before`` and ``now`` for ``keys``."""
    found = []
    for key in keys:
        old, new = before.get(key), now.get(key)
        if old == new:
            continue
        if old is None:
            found.append('%s: not there before, now %s' % (key, _short(new)))
        elif new is None:
            found.append('%s: was %s, now gone' % (key, _short(old)))
        else:
            changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            found.append('%s: %s' % (key, ', '.join(
                '%s %s -> %s' % (k, old.get(k), new.get(k)) for k in changed)))
    return found


def _short(value):
    return json.dumps(value, sort_keys=True)


# ---- the on-host record ------------------------------------------------------------
def _iso(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def _process_start(pid):
    """Start time of ``pid`` in clock ticks, or None when it does not run."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
    except (IOError, OSError, IndexError):
        return None
    return fields[19]


def _alive(segment):
    pid = segment.get('pid')
    return bool(pid) and _process_start(pid) == segment.get('start')


def _write_json(path, data):
    """Atomic: readers see the old or the new content, never half of it."""
    temporary = '%s.%d.tmp' % (path, os.getpid())
    with open(temporary, 'w') as handle:
        json.dump(data, handle, sort_keys=True)
    os.rename(temporary, path)


def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError) as error:
        if error.errno == errno.ENOENT:
            return None
        raise
    except ValueError:
        return None


class CheckpointStore:
    """Where the pending checkpoint of one network namespace lives."""

    def __init__(self, netns=None, root=RUN_DIR):
        self.netns = netns
        self.root = root
        label = 'netns-%s' % netns if netns else 'host'
        self.dir = os.path.join(root, 'checkpoint-%s' % label)
        self.lock_path = os.path.join(root, 'checkpoint-%s.lock' % label)
        self.result_path = os.path.join(root, 'checkpoint-%s.last.json' % label)
        self.log_path = os.path.join(root, 'checkpoint-%s.log' % label)
        self.record_path = os.path.join(self.dir, 'checkpoint.json')

    @contextmanager
    def locked(self):
        """Serialise every change of the record (module runs, confirm, watchdogs)."""
        if not os.path.isdir(self.root):
            os.makedirs(self.root, 0o700)
        handle = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)

    def load(self):
        return _read_json(self.record_path)

    def save(self, record):
        if not os.path.isdir(self.dir):
            os.makedirs(self.dir, 0o700)
        _write_json(self.record_path, record)

    def done_path(self, number):
        return os.path.join(self.dir, 'done-%d.json' % number)

    def done(self, number):
        return _read_json(self.done_path(number))

    def staged_path(self, number):
        return os.path.join(self.dir, 'file-%d' % number)

    def finish(self, result):
        """Write the final result and remove the pending checkpoint."""
        _write_json(self.result_path, result)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self, message):
        try:
            with open(self.log_path, 'a') as handle:
                handle.write('%s [%d] %s\n' % (_iso(time.time()), os.getpid(), message))
        except (IOError, OSError):
            pass


def read_result(store):
    """How the last checkpoint of the namespace ended, or None."""
    return _read_json(store.result_path)


def describe(record):
    """What is pending, for messages and results."""
    return dict(id=record['id'], state=record['state'], created=_iso(record['created']),
                deadline=_iso(record['deadline']),
                seconds_left=max(0, int(round(record['deadline'] - time.time()))),
                plan=[step for segment in record['segments'] for step in segment['plan']],
                modules=[segment['module'] for segment in record['segments']],
                files=[item['path'] for item in record.get('files', [])])


def pending_message(record):
    info = describe(record)
    return ('checkpoint %s is pending until %s (%d s from now; modules %s; plan: %s): confirm it '
            'with kvmnet.hostnet.confirm, roll it back (kvmnet.hostnet.confirm action=rollback), '
            'wait for its deadline, or set confirm_wait to wait for it'
            % (info['id'], info['deadline'], info['seconds_left'], ', '.join(info['modules']),
               '; '.join(info['plan']) or 'nothing'))


def current(store, snapshot_now=None):
    """The pending record, after clearing one whose watchdogs are all gone.

    Returns (record or None, warnings). A checkpoint whose watchdogs died (killed,
    out of memory) can no longer be rolled back; it is reported and removed rather
    than left to block every later run.
    """
    record = store.load()
    if record is None:
        return None, []
    segments = record['segments']
    if any(_alive(segment) for segment in segments) or not segments and \
            time.time() < record['deadline']:
        return record, []
    now = (snapshot_now or take_snapshot_in)(store.netns)
    left = differences(record['snapshot'], now, _touched(record))
    message = ('checkpoint %s was abandoned: its watchdogs are gone, nothing was rolled back%s%s'
               % (record['id'], '; differences from before it: ' + '; '.join(left) if left
                  else '; the state equals the one before it',
                  '; its staged files were not written: ' + ', '.join(
                      item['path'] for item in record.get('files', []))
                  if record.get('files') else ''))
    store.finish(dict(id=record['id'], outcome='abandoned', message=message, differences=left,
                      equal=not left, finished=_iso(time.time())))
    return None, [message]


def _touched(record):
    return sorted(set(key for segment in record['segments'] for key in segment['touched']))


def take_snapshot_in(netns):
    with NetlinkSession(netns) as net:
        return take_snapshot(net)


def wait_until_free(store, checkpoint_id, wait):
    """Block until no foreign checkpoint is pending (at most ``wait`` seconds).

    Returns (record to join or None, warnings); raises CheckpointPending.
    """
    if not os.path.exists(store.record_path):
        return None, []
    until = time.time() + (wait or 0)
    while True:
        with store.locked():
            record, warnings = current(store)
            if record is None or (checkpoint_id and record['id'] == checkpoint_id
                                  and record['state'] == 'pending'):
                return record, warnings
            if time.time() >= until:
                raise CheckpointPending(pending_message(record))
        time.sleep(min(1.0, max(0.0, until - time.time())))


# ---- a module run under a checkpoint -------------------------------------------------
def run_confirmed(module, module_name, facets, netns, touched=None):
    """reconcile_confirmed() for an AnsibleModule: (outcome, extra return values).

    When the run leaves its checkpoint pending (armed, or joined by name), the files
    the same module run persists afterwards go to that checkpoint (stage_changes()).
    """
    _STAGING.clear()
    outcome, result = reconcile_confirmed(module_name, module.params, facets, netns,
                                          module.check_mode, touched=touched)
    for warning in result['warnings']:
        module.warn(warning)
    extra = dict(checkpoint=result['checkpoint'], armed=result['armed'])
    if result.get('guarded') is not None:
        extra['guarded'] = result['guarded']
    if result['checkpoint'] is not None and not module.check_mode:
        _STAGING.update(store=CheckpointStore(netns), id=result['checkpoint']['id'], extra=extra)
    return outcome, extra


def named_interfaces(params):
    """Every interface a module request names: its link, what it takes over, its parent,
    underlay device, peer or primary, its ports and the bridge it joins."""
    names = [params.get('name')] + [params.get(key) for key in NAMING_OPTIONS]
    for port in params.get('ports') or []:
        names.append(port.get('name') if isinstance(port, dict) else port)
    bridge = params.get('bridge')
    names.append(bridge.get('name') if isinstance(bridge, dict) else bridge)
    return sorted(set(name for name in names if name and isinstance(name, str)))


def reconcile_confirmed(module_name, params, facets, netns, check_mode,
                        store_factory=CheckpointStore, touched=None, guard=None):
    """reconcile() under the checkpoint rules.

    Returns (outcome, result): ``result`` holds ``checkpoint`` (what is pending after
    this run, or None), ``armed`` (this run added a segment to it) and ``warnings``.
    Without confirm_timeout a run only checks that no checkpoint is pending.

    With ``confirm_when: guarded`` a run that does not join a pending checkpoint arms
    one only when the interfaces its plan names (``touched(planned outcome)``; all of
    them when ``touched`` is None) meet the guarded interfaces (``guard(netns)``,
    guarded_interfaces() by default); otherwise it applies without one. ``result``
    then also holds ``guarded``: those interfaces, the gateways, and the ones touched.
    """
    timeout = params.get('confirm_timeout')
    checkpoint_id = params.get('confirm_checkpoint')
    problems = []
    if timeout is not None and timeout < MIN_TIMEOUT:
        problems.append('confirm_timeout must be at least %d seconds, got %d: the controller '
                        'needs time to reconnect and probe' % (MIN_TIMEOUT, timeout))
    if (params.get('confirm_wait') or 0) < 0:
        problems.append('confirm_wait must be 0 or more seconds, got %d' % params['confirm_wait'])
    if checkpoint_id is not None and timeout is None:
        problems.append('confirm_checkpoint needs confirm_timeout')
    if problems:
        raise InvalidRequest(problems)

    store = store_factory(netns)
    joined, warnings = wait_until_free(store, checkpoint_id, params.get('confirm_wait'))
    if checkpoint_id and joined is None:
        ended = read_result(store)
        if ended and ended.get('id') == checkpoint_id:
            # A run that lost its connection would otherwise start the same checkpoint
            # again on a host that already rolled it back.
            raise InvalidRequest(['checkpoint %s already ended (%s at %s); this run belongs to '
                                  'it: start a new run with a new confirm_checkpoint'
                                  % (checkpoint_id, ended.get('outcome'), ended.get('finished'))])
    if joined is not None and joined.get('files') and _persists(params):
        raise InvalidRequest(['checkpoint %s already holds persisted files of an earlier run (%s), '
                              'written only when it is confirmed: this run would plan its own '
                              'files without them. Persist all links of one checkpoint in one '
                              'run (host_network), or confirm %s first'
                              % (joined['id'], ', '.join(f['path'] for f in joined['files']),
                                 joined['id'])])
    result = dict(checkpoint=describe(joined) if joined else None, warnings=warnings,
                  armed=False)
    if timeout is None or check_mode:
        return reconcile(facets, netns=netns, check_mode=check_mode), result

    planned = reconcile(facets, netns=netns, check_mode=True)
    if not planned.operations:
        return planned, result
    if params.get('confirm_when') == 'guarded' and joined is None:
        found = (guard or guarded_interfaces_in)(netns)
        names = set(touched(planned)) if touched is not None else set(found['interfaces'])
        result['guarded'] = dict(found, touched=sorted(names & set(found['interfaces'])))
        if not result['guarded']['touched']:
            # Nothing this run changes can cut the host off: no checkpoint, no probes.
            return reconcile(facets, netns=netns, check_mode=False), result
    final = [summary for summary, op in zip(planned.plan, planned.operations) if op.undo is None]
    if final:
        raise InvalidRequest(['confirm_timeout cannot protect "%s": it cannot be undone; run it '
                              'without confirm_timeout, in a window you can reach the host '
                              'otherwise' % summary for summary in final])

    with store.locked():
        record, more = current(store)
        warnings.extend(more)
        if record is not None:
            if record['id'] != checkpoint_id or record['state'] != 'pending' \
                    or time.time() >= record['deadline']:
                raise CheckpointPending(pending_message(record))
            # Pushed out before applying: the watchdogs must not start undoing while
            # this run's steps are still going in.
            record['deadline'] = max(record['deadline'], time.time() + timeout)
            store.save(record)
        with NetlinkSession(netns) as net:
            before = take_snapshot(net)
        outcome = reconcile(facets, netns=netns, check_mode=False)
        with NetlinkSession(netns) as net:
            after = take_snapshot(net)
        now = time.time()
        if record is None:
            record = dict(id=checkpoint_id or 'kvmnet-%d-%d' % (int(now), os.getpid()),
                          netns=netns, created=now, deadline=now + timeout, timeout=timeout,
                          state='pending', snapshot=before, segments=[], files=[])
            store.save(record)
        number = len(record['segments'])
        segment = dict(number=number, module=module_name, plan=list(outcome.plan),
                       touched=changed_keys(before, after), applied=now)
        record['deadline'] = max(record['deadline'], now + timeout)
        try:
            segment['pid'], segment['start'] = start_watchdog(store, number, outcome.operations)
        except NetError as error:
            _undo_now(store, record, outcome.operations, error)
        record['segments'].append(segment)
        store.save(record)
    result['checkpoint'] = describe(record)
    result['armed'] = True
    return outcome, result


def _persists(params):
    """Whether a run with these params may write persisted files (persist/run.py)."""
    return params.get('persist') not in (None, 'none') or (
        'persist' in params and params.get('state') == 'absent')


def take_back(netns, operations):
    """Take back applied ``operations`` in a new session; returns what could not be undone."""
    with NetlinkSession(netns) as net:
        journal = Journal(net)
        journal.done = list(operations)
        return journal.rollback()


def _undo_now(store, record, operations, error):
    """No watchdog could be left: take this run back at once rather than unprotected."""
    leftovers = take_back(store.netns, operations)
    if not record['segments']:
        shutil.rmtree(store.dir, ignore_errors=True)
    raise NotApplied('%s; %s' % (error.message, 'this run was rolled back' if not leftovers
                                 else 'rolled back except: ' + '; '.join(leftovers)))


# ---- the watchdog ------------------------------------------------------------------
def start_watchdog(store, number, operations):
    """Leave a process that undoes ``operations`` at the deadline; returns (pid, start).

    Double fork and setsid: the watchdog is nobody's child and has no controlling
    terminal, so neither the module's exit, the removal of its temporary files, nor
    the SSH session's end touches it. Every inherited descriptor is closed, so SSH
    does not wait for it, and it keeps only what is already imported.
    """
    reader, writer = os.pipe()
    pid = os.fork()
    if pid:
        os.close(writer)
        with os.fdopen(reader) as handle:
            grandchild = int(handle.read() or 0)
        os.waitpid(pid, 0)
        if not grandchild:
            raise NetError('could not start the checkpoint watchdog; nothing protects this run: '
                           'see %s' % store.log_path)
        # The start time identifies it even after its pid is reused.
        for _attempt in range(50):
            start = _process_start(grandchild)
            if start:
                return grandchild, start
            time.sleep(0.01)
        raise NetError('the checkpoint watchdog %d died at once; see %s' % (grandchild, store.log_path))
    try:
        os.close(reader)
        os.setsid()
        if os.fork():
            os._exit(0)
        os.write(writer, str(os.getpid()).encode())
        os.close(writer)
        _detach()
        Watchdog(store, number, operations).run()
    except BaseException as error:  # a watchdog never returns into the module
        store.log('watchdog %d failed: %r' % (number, error))
    os._exit(0)


def _detach():
    os.chdir('/')
    for signum in (signal.SIGHUP, signal.SIGPIPE, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    try:
        limit = os.sysconf('SC_OPEN_MAX')
    except (ValueError, OSError):
        limit = 1024
    os.closerange(3, limit)
    _leave_login_session()


def _leave_login_session():
    """Under systemd, move into a scope of its own.

    A process left in the SSH login's scope dies with it when logind kills user
    processes (KillUserProcesses=yes). A transient scope is outside the session and,
    like every transient unit, survives ``systemctl daemon-reload``.
    """
    busctl = next((path for path in ('/usr/bin/busctl', '/bin/busctl') if os.path.exists(path)),
                  None)
    if not os.path.isdir('/run/systemd/system') or busctl is None:
        return
    unit = 'kvmnet-checkpoint-%d.scope' % os.getpid()
    subprocess.call([busctl, 'call', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1',
                     'org.freedesktop.systemd1.Manager', 'StartTransientUnit', 'ssa(sv)a(sa(sv))',
                     unit, 'fail', '2', 'PIDs', 'au', '1', str(os.getpid()),
                     'Description', 's', 'kvmnet.hostnet checkpoint watchdog', '0'],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)


class Watchdog:
    """One segment's watchdog: wait, then undo (newest segment first) or stand down."""

    def __init__(self, store, number, operations):
        self.store = store
        self.number = number
        self.operations = operations

    def run(self):
        self.store.log('watchdog %d watching' % self.number)
        record = self.store.load()
        while record is not None and record['state'] == 'pending' \
                and time.time() < record['deadline']:
            time.sleep(min(POLL_SECONDS, max(0.01, record['deadline'] - time.time())))
            record = self.store.load()
        if record is None:
            return
        if record['state'] == 'confirmed':
            _write_json(self.store.done_path(self.number), dict(outcome='confirmed'))
        else:
            reason = 'requested' if record['state'] == 'rollback' else 'deadline'
            missing = self.wait_for_newer(record)
            leftovers = self.undo() + missing
            _write_json(self.store.done_path(self.number),
                        dict(outcome='rolled_back', reason=reason, leftovers=leftovers))
        if self.number == 0:
            self.finish(record)

    def wait_for_newer(self, record):
        """Newer segments undo first; report the ones whose watchdog is gone."""
        record = self.store.load() or record
        until = time.time() + SEGMENT_GRACE_SECONDS
        newer = [s for s in record['segments'] if s['number'] > self.number]
        for segment in sorted(newer, key=lambda s: -s['number']):
            while self.store.done(segment['number']) is None and _alive(segment) \
                    and time.time() < until:
                time.sleep(POLL_SECONDS)
        return ['%s (segment %d: its watchdog is gone)' % ('; '.join(s['plan']), s['number'])
                for s in newer if self.store.done(s['number']) is None]

    def undo(self):
        return take_back(self.store.netns, self.operations)

    def finish(self, record):
        """Segment 0 closes the checkpoint: result file, record removed."""
        record = self.store.load() or record
        self.wait_for_newer(record)
        outcomes = [self.store.done(s['number']) or {} for s in record['segments']]
        rolled_back = record['state'] != 'confirmed'
        result = dict(id=record['id'], netns=record['netns'], created=_iso(record['created']),
                      deadline=_iso(record['deadline']), finished=_iso(time.time()),
                      plan=describe(record)['plan'],
                      outcome='rolled_back' if rolled_back else 'confirmed')
        if rolled_back:
            now = take_snapshot_in(self.store.netns)
            left = differences(record['snapshot'], now, _touched(record))
            result.update(
                reason=outcomes[0].get('reason'),
                leftovers=[item for outcome in outcomes for item in outcome.get('leftovers', [])],
                differences=left, equal=not left,
                seconds_after_deadline=round(time.time() - record['deadline'], 2),
                # Never written: the persisted files stay as they were before.
                dropped_files=[item['path'] for item in record.get('files', [])])
        else:
            result['files'], result['file_errors'] = write_staged_files(self.store, record)
        with self.store.locked():
            self.store.finish(result)
        self.store.log('checkpoint %s %s' % (record['id'], result['outcome']))


# ---- what a change must not cut ---------------------------------------------------------
def guarded_interfaces(net, connection_address=None):
    """Interfaces whose change can cut the host off: those of the default routes and of
    ``connection_address`` (the address the controller reached), with their masters,
    ports and lower devices."""
    links = dict((msg['index'], msg) for msg in net.ipr.link('dump'))
    name = dict((index, msg.get('IFLA_IFNAME')) for index, msg in links.items())
    routes = [r for r in net.ipr.route('dump', table=RT_TABLE_MAIN)
              if r['dst_len'] == 0 and r.get('RTA_OIF') in name]
    found = dict(default_route=sorted(set(name[r.get('RTA_OIF')] for r in routes)),
                 gateways=sorted(set(r.get('RTA_GATEWAY') for r in routes if r.get('RTA_GATEWAY'))),
                 connection=[])
    if connection_address:
        found['connection'] = sorted(set(
            name[msg['index']] for msg in net.ipr.addr('dump')
            if msg.get('IFA_ADDRESS') == connection_address and msg['index'] in name))
    seeds = set(index for index, msg in links.items()
                if name[index] in found['default_route'] + found['connection'])
    related = set(seeds)
    related.update(links[index].get('IFLA_MASTER') for index in seeds
                   if links[index].get('IFLA_MASTER') in links)
    # Down to the wire: ports, the ports' ports and lower devices (the NIC under the VLAN
    # that is a port of the management bridge), whatever the depth.
    below = list(seeds)
    while below:
        msg = links[below.pop()]
        lower = [] if msg.get('IFLA_LINK_NETNSID') is not None else [msg.get('IFLA_LINK')]
        for index in lower + [i for i, other in links.items()
                              if other.get('IFLA_MASTER') == msg['index']]:
            if index in links and index not in related:
                related.add(index)
                below.append(index)
    found['interfaces'] = sorted(name[index] for index in related)
    return found


def guarded_interfaces_in(netns):
    """guarded_interfaces() of ``netns``, for the address this SSH connection reached."""
    with NetlinkSession(netns) as net:
        return guarded_interfaces(net, connection_address())


def connection_address(environ=None):
    """The host's own address of the SSH connection running this module, if any."""
    words = (environ if environ is not None else os.environ).get('SSH_CONNECTION', '').split()
    return words[2] if len(words) == 4 else None


# ---- staged files ------------------------------------------------------------------
# The checkpoint that the current module run armed or joined (run_confirmed()): the
# files this run persists are staged there. One module run per process.
_STAGING = {}


def stage_file(store, record, path, content, mode=0o644, action='write', target=None):
    """Stage one file change for ``path``: made only when the checkpoint is confirmed.

    ``action`` is write (``content``, ``mode``), remove, or link (a symlink to ``target``).
    A reboot before the confirmation loses the staged change (tmpfs) and keeps the old
    file, so the host never boots into an unconfirmed configuration.
    """
    number = len(record['files'])
    if action == 'write':
        with open(store.staged_path(number), 'wb') as handle:
            handle.write(content)
    record['files'].append(dict(path=path, mode=mode, number=number, action=action,
                                target=target))


def defer_files(netns, checkpoint_id, files, store_factory=CheckpointStore):
    """Hand ``files`` [(path, bytes, mode)] to pending checkpoint ``checkpoint_id``.

    For a run that persists configuration under confirm_timeout: the files are written
    by the confirmation, never before. Returns False when that checkpoint is not
    pending (nothing was changed at runtime), and the caller writes them itself.
    """
    return _stage(store_factory(netns), checkpoint_id,
                  [('write', path, None, content, mode) for path, content, mode in files])


def stage_changes(changes):
    """persist.files.FilePlan.apply()'s hook: stage ``changes`` on the checkpoint this
    module run armed or joined; True when they were staged (the caller writes nothing).

    ``changes`` are FilePlan's (action, path, before, after, mode). Without a checkpoint
    of this run, False: the caller writes them now. A checkpoint that ended during the
    run (its deadline passed) is an error: writing would persist a rolled-back change.
    """
    if not _STAGING:
        return False
    store = _STAGING['store']
    if not _stage(store, _STAGING['id'], changes):
        raise NotApplied('checkpoint %s ended before this run could stage its persisted files '
                         '(%s); none was written' % (_STAGING['id'], ', '.join(
                             change[1] for change in changes)))
    with store.locked():
        record = store.load()
    if record is not None:
        _STAGING['extra']['checkpoint'] = describe(record)
    return True


def _stage(store, checkpoint_id, changes):
    with store.locked():
        record = store.load()
        if record is None or record['id'] != checkpoint_id or record['state'] != 'pending':
            return False
        for action, path, _before, after, mode in changes:
            stage_file(store, record, path, after if action == 'write' else None, mode,
                       action=action, target=after if action == 'link' else None)
        store.save(record)
    return True


def write_staged_files(store, record):
    """Make the staged file changes, in order, each atomically.

    Returns (paths changed, errors). A systemd unit among them is followed by
    ``systemctl daemon-reload``, as the module does when it writes one itself.
    """
    written, errors = [], []
    for item in record.get('files', []):
        path, action = item['path'], item.get('action', 'write')
        try:
            _make(store, item, path, action)
            written.append(path)
        except (IOError, OSError) as error:
            errors.append('%s %s: %s' % (action, path, error))
    if any('/systemd/system/' in path for path in written) \
            and os.path.isdir('/run/systemd/system'):
        subprocess.call(['systemctl', 'daemon-reload'], stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return written, errors


def _make(store, item, path, action):
    if action == 'remove':
        if os.path.islink(path) or os.path.exists(path):
            os.remove(path)
        return
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    temporary = '%s.kvmnet-new' % path
    if os.path.islink(temporary) or os.path.exists(temporary):
        os.remove(temporary)
    if action == 'link':
        os.symlink(item['target'], temporary)
    else:
        shutil.copyfile(store.staged_path(item['number']), temporary)
        os.chmod(temporary, item['mode'])
        with open(temporary, 'rb') as handle:
            os.fsync(handle.fileno())
    os.rename(temporary, path)


# ---- confirm / roll back (kvmnet.hostnet.confirm) -------------------------------------
def extend_deadline(store, record, seconds):
    """Push a pending checkpoint's deadline to at least ``seconds`` from now (under
    store.locked()); the watchdogs read it again at every poll. Returns whether it moved."""
    now = time.time()
    if seconds <= 0 or record['state'] != 'pending' or now >= record['deadline'] \
            or now + seconds <= record['deadline']:
        return False
    record['deadline'] = now + seconds
    store.save(record)
    store.log('checkpoint %s: deadline moved to %s' % (record['id'], _iso(record['deadline'])))
    return True


def settle(store, action, wait_seconds=SEGMENT_GRACE_SECONDS + 10):
    """Confirm or roll back the pending checkpoint; returns (pending before, result).

    ``pending before`` is None when nothing was pending; then the result is the last
    one recorded (so a confirm that comes after the deadline says it was rolled back).
    """
    with store.locked():
        record, warnings = current(store)
        if record is None:
            return None, read_result(store), warnings
        pending = describe(record)
        # After the deadline the watchdogs are already rolling back: too late to confirm.
        if record['state'] == 'pending' and time.time() < record['deadline']:
            record['state'] = 'confirmed' if action == 'confirm' else 'rollback'
            store.save(record)
    until = time.time() + wait_seconds
    while os.path.exists(store.record_path) and time.time() < until:
        time.sleep(POLL_SECONDS)
    if os.path.exists(store.record_path):
        raise NetError('checkpoint %s did not finish within %d s; see %s'
                       % (record['id'], wait_seconds, store.log_path))
    return pending, read_result(store), warnings
