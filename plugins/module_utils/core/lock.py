# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run at a time per network namespace.

Two runs on one host (two playbooks, a playbook and a cron job) would read the same
state, plan against it, and undo each other's changes on a rollback. Each run holds
an exclusive ``flock`` on ``/run/kvmnet/<namespace>.lock`` from its first read to its
last write; the holder writes its pid into the file so that a run that gives up after
``timeout`` seconds can say who holds the namespace, and removes the file as it leaves.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import os
import time

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError

LOCK_DIR = '/run/kvmnet'
HOST = '_host'
# Long enough for another run's plan to finish, short enough to fail a stuck play.
DEFAULT_TIMEOUT = 60.0
POLL_INTERVAL = 0.1


def lock_path(netns):
    # Namespace names cannot contain '/' (they are file names under /var/run/netns).
    return os.path.join(LOCK_DIR, '%s.lock' % (netns or HOST))


class NamespaceLock:
    """Exclusive locks on the given namespaces (None is the host), taken in one order."""

    def __init__(self, namespaces, timeout=None):
        self.namespaces = sorted(set(namespaces), key=lambda name: name or '')
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.handles = []

    def __enter__(self):
        try:
            if not os.path.isdir(LOCK_DIR):
                os.makedirs(LOCK_DIR, 0o755)
        except OSError as error:
            if error.errno != errno.EEXIST:
                raise NetError('cannot create %s for the per-namespace run lock: %s' % (LOCK_DIR, error))
        try:
            for netns in self.namespaces:
                self.handles.append(self._acquire(netns))
        except Exception:
            self._release()
            raise
        return self

    def __exit__(self, *exc_info):
        self._release()

    def _acquire(self, netns):
        path = lock_path(netns)
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _still_at(handle, path):
                    break
                # The holder removed the file as it left: lock the one that is there now.
                os.close(handle)
                handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
                continue
            except (IOError, OSError) as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(handle)
                    raise NetError('cannot lock %s: %s' % (path, error))
            if time.time() >= deadline:
                holder = _holder(handle)
                os.close(handle)
                raise NetError(
                    'another kvmnet.hostnet run (%s) is changing %s and still held %s after %d '
                    'seconds; runs on one namespace are serialised: let it finish and run again'
                    % ('pid %s' % holder if holder else 'pid unknown',
                       'namespace %s' % netns if netns else 'the host', path, self.timeout))
            time.sleep(POLL_INTERVAL)
        os.ftruncate(handle, 0)
        os.lseek(handle, 0, os.SEEK_SET)
        os.write(handle, ('%d\n' % os.getpid()).encode('ascii'))
        return handle, path

    def _release(self):
        # Removed while still held, so that a host with thousands of namespaces keeps
        # no file per namespace; a waiter then finds the file gone and starts over.
        while self.handles:
            handle, path = self.handles.pop()
            try:
                os.unlink(path)
            except OSError:
                pass
            try:
                fcntl.flock(handle, fcntl.LOCK_UN)
            finally:
                os.close(handle)


def _still_at(handle, path):
    """Whether the locked file is still the one at ``path``."""
    try:
        return os.fstat(handle).st_ino == os.stat(path).st_ino
    except OSError:
        return False


def _holder(handle):
    os.lseek(handle, 0, os.SEEK_SET)
    text = os.read(handle, 32).decode('ascii', 'replace').strip()
    return text if text.isdigit() else None
