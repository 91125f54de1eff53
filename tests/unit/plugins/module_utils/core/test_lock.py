"""The per-namespace run lock: one holder at a time, a bounded wait, the holder named."""

import fcntl
import os

import pytest

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import lock
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError


@pytest.fixture
def lock_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(lock, 'LOCK_DIR', str(tmp_path / 'kvmnet'))
    monkeypatch.setattr(lock, 'POLL_INTERVAL', 0.01)
    return tmp_path / 'kvmnet'


def test_the_holder_writes_its_pid_and_removes_the_file_on_exit(lock_dir):
    with lock.NamespaceLock(['ns1', None]):
        assert (lock_dir / 'ns1.lock').read_text() == '%d\n' % os.getpid()
        assert (lock_dir / '_host.lock').exists()
    assert list(lock_dir.iterdir()) == []
    with lock.NamespaceLock(['ns1'], timeout=0):
        pass  # free again


def test_a_waiter_whose_file_was_removed_locks_the_new_one(lock_dir):
    first = lock.NamespaceLock(['ns1'])
    first.__enter__()
    stale = os.open(lock.lock_path('ns1'), os.O_RDWR)  # a waiter's handle on the old file
    first.__exit__(None, None, None)
    fcntl.flock(stale, fcntl.LOCK_EX | fcntl.LOCK_NB)  # it gets the removed file...
    try:
        assert not lock._still_at(stale, lock.lock_path('ns1'))  # ...and sees it is stale
    finally:
        os.close(stale)


def test_a_second_run_gives_up_after_the_wait_and_names_the_holder(lock_dir):
    with lock.NamespaceLock(['ns1']):
        # Another open file description: flock excludes it as it would another process.
        other = os.open(lock.lock_path('ns1'), os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
        with pytest.raises(NetError) as raised:
            with lock.NamespaceLock(['ns2', 'ns1'], timeout=0.05):
                pass
    assert 'another kvmnet.hostnet run (pid %d) is changing namespace ns1' % os.getpid() \
        in raised.value.message
    # What the failed attempt took first (ns2) was given back.
    with lock.NamespaceLock(['ns2'], timeout=0):
        pass
