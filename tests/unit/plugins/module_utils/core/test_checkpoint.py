"""Checkpoint bookkeeping: snapshots compared, pending records, stale ones cleared."""

import os
import time

import pytest

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import checkpoint
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import InvalidRequest
from ansible_collections.kvmnet.hostnet.plugins.modules.confirm import outcome_problem

BEFORE = {
    'link/eth0': {'kind': None, 'master': None, 'up': True, 'mtu': 1500,
                  'addresses': ['192.0.2.10/24'], 'fdb': []},
    'route/254/default/0': {'dev': 'eth0', 'gateway': '192.0.2.1'},
}
AFTER = {
    'link/eth0': dict(BEFORE['link/eth0'], master='br0', addresses=[]),
    'link/br0': {'kind': 'bridge', 'master': None, 'up': True, 'mtu': 1500,
                 'addresses': ['192.0.2.10/24'], 'fdb': []},
    'route/254/default/0': {'dev': 'br0', 'gateway': '192.0.2.1'},
}


def test_changed_keys_names_added_removed_and_changed():
    assert checkpoint.changed_keys(BEFORE, AFTER) == [
        'link/br0', 'link/eth0', 'route/254/default/0']
    assert checkpoint.changed_keys(BEFORE, dict(BEFORE)) == []


def test_differences_say_what_moved_where():
    found = checkpoint.differences(BEFORE, AFTER, checkpoint.changed_keys(BEFORE, AFTER))
    assert 'link/br0: not there before, now' in found[0]
    assert found[1] == "link/eth0: addresses ['192.0.2.10/24'] -> [], master None -> br0"
    assert found[2] == 'route/254/default/0: dev eth0 -> br0'
    assert checkpoint.differences(BEFORE, BEFORE, ['link/eth0']) == []


def record(**overrides):
    now = time.time()
    data = dict(id='cp1', netns=None, created=now, deadline=now + 30, timeout=30,
                state='pending', snapshot=BEFORE, files=[],
                segments=[dict(number=0, module='linux_bridge', plan=['create bridge br0'],
                               touched=['link/br0'], pid=os.getpid(),
                               start=checkpoint._process_start(os.getpid()))])
    data.update(overrides)
    return data


@pytest.fixture
def store(tmp_path):
    return checkpoint.CheckpointStore(root=str(tmp_path))


def test_a_pending_checkpoint_blocks_other_runs_and_says_until_when(store):
    store.save(record())
    with pytest.raises(checkpoint.CheckpointPending) as raised:
        checkpoint.wait_until_free(store, None, 0)
    message = raised.value.message
    assert 'checkpoint cp1 is pending until 20' in message
    assert 'linux_bridge' in message and 'create bridge br0' in message
    with pytest.raises(checkpoint.CheckpointPending):
        checkpoint.wait_until_free(store, 'another-run', 0)


def test_the_same_checkpoint_is_joined_not_stacked(store):
    store.save(record())
    joined, warnings = checkpoint.wait_until_free(store, 'cp1', 0)
    assert joined['id'] == 'cp1' and warnings == []


def test_confirm_wait_waits_for_the_pending_one_to_end(store):
    store.save(record())
    started = time.time()
    with pytest.raises(checkpoint.CheckpointPending):
        checkpoint.wait_until_free(store, None, 1)
    assert time.time() - started >= 1


def test_nothing_pending_means_free(store):
    assert checkpoint.wait_until_free(store, None, 0) == (None, [])


def test_a_checkpoint_whose_watchdogs_died_is_cleared_and_reported(store):
    dead = record()
    dead['segments'][0].update(pid=os.getpid(), start='not-this-process')
    store.save(dead)
    found, warnings = checkpoint.current(store, snapshot_now=lambda netns: AFTER)
    assert found is None
    assert 'checkpoint cp1 was abandoned' in warnings[0]
    assert 'link/br0: not there before' in warnings[0]
    assert not os.path.exists(store.dir)
    assert checkpoint._read_json(store.result_path)['outcome'] == 'abandoned'


def test_a_live_watchdog_keeps_its_checkpoint(store):
    store.save(record())
    found, warnings = checkpoint.current(store, snapshot_now=lambda netns: AFTER)
    assert found['id'] == 'cp1' and warnings == []


@pytest.mark.parametrize('params, message', [
    (dict(confirm_timeout=2), 'confirm_timeout must be at least 5 seconds'),
    (dict(confirm_checkpoint='x'), 'confirm_checkpoint needs confirm_timeout'),
    (dict(confirm_wait=-1), 'confirm_wait must be 0 or more seconds'),
])
def test_bad_confirm_options_fail_before_anything_is_read(params, message, store):
    full = dict(confirm_timeout=None, confirm_checkpoint=None, confirm_wait=0)
    full.update(params)
    with pytest.raises(InvalidRequest) as raised:
        checkpoint.reconcile_confirmed('m', full, [], None, False,
                                       store_factory=lambda netns: store)
    assert message in raised.value.message


def test_staged_files_are_written_only_by_the_confirmation(store, tmp_path):
    target = tmp_path / 'ifcfg-br0'
    target.write_text('old\n')
    data = record()
    store.save(data)
    checkpoint.stage_file(store, data, str(target), b'new\n', 0o600)
    assert target.read_text() == 'old\n'
    assert checkpoint.write_staged_files(store, data) == ([str(target)], [])
    assert target.read_text() == 'new\n'
    assert oct(target.stat().st_mode & 0o777) == '0o600'


@pytest.fixture
def staging(store):
    """A module run that armed checkpoint cp1 (what run_confirmed() leaves)."""
    store.save(record())
    extra = dict(checkpoint=None)
    checkpoint._STAGING.update(store=store, id='cp1', extra=extra)
    yield extra
    checkpoint._STAGING.clear()


def test_a_file_plan_under_a_pending_checkpoint_is_staged_not_written(store, staging, tmp_path):
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.files import FilePlan
    (tmp_path / 'etc').mkdir()
    (tmp_path / 'etc' / 'old.json').write_text('old\n')
    (tmp_path / 'etc' / 'kept.json').write_text('before\n')
    plan = FilePlan(str(tmp_path))
    plan.want('etc/kept.json', 'after\n', 0o644)
    plan.want('etc/new.json', 'new\n', 0o600)
    plan.remove('etc/old.json')
    plan.link('etc/wants/unit.service', '/etc/unit.service')
    plan.apply()

    # Nothing written yet; the run's result names the staged files.
    assert sorted(os.listdir(str(tmp_path / 'etc'))) == ['kept.json', 'old.json']
    assert (tmp_path / 'etc' / 'kept.json').read_text() == 'before\n'
    assert staging['checkpoint']['files'] == plan.paths
    written, errors = checkpoint.write_staged_files(store, store.load())
    assert errors == [] and written == plan.paths
    assert (tmp_path / 'etc' / 'kept.json').read_text() == 'after\n'
    assert (tmp_path / 'etc' / 'new.json').read_text() == 'new\n'
    assert not (tmp_path / 'etc' / 'old.json').exists()
    assert os.readlink(str(tmp_path / 'etc' / 'wants' / 'unit.service')) == '/etc/unit.service'


def test_without_a_checkpoint_of_this_run_files_are_written_at_once(tmp_path):
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.files import FilePlan
    checkpoint._STAGING.clear()
    plan = FilePlan(str(tmp_path))
    plan.want('a.json', 'now\n')
    plan.apply()
    assert (tmp_path / 'a.json').read_text() == 'now\n'


def test_a_checkpoint_that_ended_during_the_run_gets_no_files_written(store, staging, tmp_path):
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NotApplied
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.files import FilePlan
    store.save(record(state='rollback'))
    plan = FilePlan(str(tmp_path))
    plan.want('a.json', 'late\n')
    with pytest.raises(NotApplied) as raised:
        plan.apply()
    assert 'checkpoint cp1 ended before this run could stage' in raised.value.message
    assert not (tmp_path / 'a.json').exists()


def test_persisting_into_a_checkpoint_that_holds_files_of_another_run_is_refused(store):
    data = record()
    store.save(data)
    checkpoint.stage_file(store, data, '/etc/x.json', b'x', 0o600)
    store.save(data)
    params = dict(confirm_timeout=30, confirm_checkpoint='cp1', confirm_wait=0,
                  persist='restore', state='present')
    with pytest.raises(InvalidRequest) as raised:
        checkpoint.reconcile_confirmed('vlan_sub', params, [], None, False,
                                       store_factory=lambda netns: store)
    assert 'checkpoint cp1 already holds persisted files of an earlier run (/etc/x.json)' \
        in raised.value.message


PENDING = dict(id='cp1', deadline='2026-01-01T00:00:00Z')


@pytest.mark.parametrize('action, name, pending, result, problem', [
    ('confirm', 'cp1', PENDING, {'outcome': 'confirmed'}, None),
    ('confirm', 'cp1', PENDING, {'outcome': 'rolled_back', 'equal': True},
     'reached its deadline (2026-01-01T00:00:00Z) before the confirmation'),
    ('rollback', None, PENDING, {'outcome': 'rolled_back', 'equal': True}, None),
    ('rollback', None, PENDING, {'outcome': 'rolled_back', 'equal': False,
                                 'differences': ['link/br0: x']}, 'differs from before it: link/br0: x'),
    ('confirm', 'cp1', None, {'id': 'cp1', 'outcome': 'confirmed'}, None),
    ('confirm', 'cp1', None, {'id': 'cp1', 'outcome': 'rolled_back', 'finished': 'T'},
     'checkpoint cp1 cannot be confirmed: it ended rolled_back at T'),
    ('confirm', 'cp1', None, None, 'no checkpoint cp1 is pending and none was recorded'),
    ('confirm', None, None, None, None),
])
def test_confirm_outcomes(action, name, pending, result, problem):
    found = outcome_problem(action, name, pending, result)
    if problem is None:
        assert found is None
    else:
        assert problem in found


def test_a_run_of_a_checkpoint_that_already_ended_is_refused(store):
    checkpoint._write_json(store.result_path, dict(id='cp1', outcome='rolled_back', finished='T'))
    params = dict(confirm_timeout=30, confirm_checkpoint='cp1', confirm_wait=0)
    with pytest.raises(InvalidRequest) as raised:
        checkpoint.reconcile_confirmed('m', params, [], None, False,
                                       store_factory=lambda netns: store)
    assert 'checkpoint cp1 already ended (rolled_back at T)' in raised.value.message


@pytest.mark.parametrize('value, address', [
    ('198.51.100.7 50022 192.0.2.10 22', '192.0.2.10'),
    ('', None),
    ('garbage', None),
])
def test_connection_address_is_the_server_side_of_ssh_connection(value, address):
    assert checkpoint.connection_address({'SSH_CONNECTION': value}) == address


def test_files_are_deferred_only_to_the_named_pending_checkpoint(store, tmp_path):
    target = str(tmp_path / 'br0.nmconnection')
    files = [(target, b'[connection]\n', 0o600)]
    assert checkpoint.defer_files(None, 'cp1', files, store_factory=lambda netns: store) is False
    store.save(record())
    assert checkpoint.defer_files(None, 'other', files, store_factory=lambda netns: store) is False
    assert checkpoint.defer_files(None, 'cp1', files, store_factory=lambda netns: store) is True
    assert store.load()['files'] == [dict(path=target, mode=0o600, number=0, action='write',
                                          target=None)]
    assert not os.path.exists(target)
    assert checkpoint.write_staged_files(store, store.load()) == ([target], [])
    with open(target, 'rb') as handle:
        assert handle.read() == b'[connection]\n'


def test_a_deadline_is_extended_but_never_shortened_nor_revived(store):
    data = record()
    store.save(data)
    deadline = data['deadline']
    assert checkpoint.extend_deadline(store, data, 10) is False
    assert checkpoint.extend_deadline(store, data, 120) is True
    assert store.load()['deadline'] >= deadline + 80
    late = record(deadline=time.time() - 1)
    store.save(late)
    assert checkpoint.extend_deadline(store, late, 120) is False
    assert store.load()['deadline'] == late['deadline']
