"""The reconcile loop's guarantees, with in-memory facets (no kernel involved)."""

import pytest

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import engine
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import InvalidRequest, NotApplied


class FakeSession:
    def __init__(self, netns=None):
        self.netns = netns

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Recorder(engine.Facet):
    """A facet over a dict: plans one operation per differing key."""

    def __init__(self, store, wanted, title='thing', fail_on=None, problems=()):
        self.store, self.wanted, self.title = store, wanted, title
        self.fail_on, self.problems = fail_on, list(problems)

    def validate(self):
        return list(self.problems)

    def read(self, net):
        return dict(self.store)

    def plan(self, net, current):
        operations = []
        for key, value in sorted(self.wanted.items()):
            if current.get(key) != value:
                operations.append(engine.Operation(engine.PHASE_SET, 'set %s' % key,
                                                   self._setter(key, value),
                                                   self._setter(key, current.get(key))))
        return operations

    def _setter(self, key, value):
        def do(net):
            if key == self.fail_on and value == self.wanted[key]:
                raise NotApplied('kernel said no to %s' % key)
            self.store[key] = value
        return do

    def mismatches(self, actual):
        return ['%s differs' % k for k, v in self.wanted.items() if actual.get(k) != v]


def run(facets, check_mode=False):
    return engine.reconcile(facets, check_mode=check_mode, session_factory=FakeSession, lock=None)


def test_no_difference_means_no_change():
    store = {'a': 1}
    outcome = run([Recorder(store, {'a': 1})])
    assert outcome.changed is False and outcome.plan == []


def test_check_mode_plans_but_does_not_apply():
    store = {'a': 1}
    outcome = run([Recorder(store, {'a': 2})], check_mode=True)
    assert outcome.changed and outcome.plan == ['set a'] and store == {'a': 1}


def test_all_validation_problems_are_reported_at_once_before_reading():
    with pytest.raises(InvalidRequest) as raised:
        run([Recorder({}, {}, problems=['one']), Recorder({}, {}, problems=['two'])])
    assert raised.value.problems == ['one', 'two']


def test_a_failure_rolls_back_what_this_run_did():
    store = {'a': 1, 'b': 1}
    with pytest.raises(NotApplied) as raised:
        run([Recorder(store, {'a': 2, 'b': 2}, fail_on='b')])
    assert 'every change of this run was rolled back' in str(raised.value)
    assert store == {'a': 1, 'b': 1}


def test_operations_run_in_phase_order_across_facets():
    order = []
    first = engine.Operation(engine.PHASE_ADDRESS, 'address', lambda net: order.append('address'))
    second = engine.Operation(engine.PHASE_CREATE, 'create', lambda net: order.append('create'))

    class Fixed(engine.Facet):
        def __init__(self, op, title):
            self.op, self.title = op, title

        def plan(self, net, current):
            return [self.op]

    run([Fixed(first, 'a'), Fixed(second, 'b')])
    assert order == ['create', 'address']


def test_an_undo_that_fails_is_reported_not_hidden():
    journal = engine.Journal(net=None)
    journal.apply([engine.Operation(1, 'irreversible', lambda net: None)])
    assert journal.rollback() == ['irreversible']


class Broken(Recorder):
    """Raises an exception the engine does not know (a bug) on one key."""

    def _setter(self, key, value):
        def do(net):
            if key == self.fail_on and value == self.wanted[key]:
                raise TypeError('unsupported operand')
            self.store[key] = value
        return do


def test_any_exception_during_apply_rolls_back_and_fails_with_its_cause():
    store = {'a': 1, 'b': 1}
    with pytest.raises(NotApplied) as raised:
        run([Broken(store, {'a': 2, 'b': 2}, fail_on='b')])
    message = str(raised.value)
    assert message.startswith('step "set b" failed: unexpected TypeError: unsupported operand at')
    assert message.endswith('every change of this run was rolled back')
    assert store == {'a': 1, 'b': 1}


def test_a_bug_while_planning_fails_the_task_and_changes_nothing():
    class Crashing(Recorder):
        def plan(self, net, current):
            raise KeyError('mode')

    with pytest.raises(NotApplied) as raised:
        run([Crashing({'a': 1}, {'a': 2})])
    assert 'unexpected KeyError' in str(raised.value) and 'nothing was changed' in str(raised.value)


def test_rolled_back_is_said_only_when_the_state_read_again_is_the_one_before():
    store = {'a': 1}

    class Sticky(Recorder):
        """Its undo does not take: the store keeps the new value."""

        def plan(self, net, current):
            def do(net):
                store['a'] = 2
                raise NotApplied('kernel said no')
            return [engine.Operation(engine.PHASE_SET, 'set a', do, lambda net: [], partial=True)]

    with pytest.raises(NotApplied) as raised:
        run([Sticky(store, {'a': 2})])
    assert 'rolled back' not in str(raised.value)
    assert 'NOT everything could be undone, left over: thing is {"a": 2}, was {"a": 1}' \
        in str(raised.value)


def test_a_partial_step_is_journaled_even_when_it_fails():
    undone = []
    journal = engine.Journal(net=None)

    def half_done(net):
        raise NotApplied('second request refused')

    step = engine.Operation(1, 'two requests', half_done, lambda net: undone.append('undo'),
                            partial=True)
    with pytest.raises(NotApplied):
        journal.apply([step])
    assert journal.rollback() == [] and undone == ['undo']


def test_facets_see_the_link_plans_of_the_run_before_check():
    seen = {}

    class Link(engine.Facet):
        title = 'link'

        def link_plans(self, current):
            return [engine.LinkPlan('bond0', 'bond', view={'mode': 'active-backup'})]

    class Runner(engine.Facet):
        title = 'teamd'

        def link_plans(self, current):
            return [engine.LinkPlan('bond0', view={'extra': 1}, changes={'mode': ('a', 'b')})]

    class Reader(engine.Facet):
        title = 'ports'

        def see(self, plans):
            seen.update(plans)

        def check(self, net, current):
            assert seen, 'plans arrive before check'
            return []

    run([Link(), Runner(), Reader()])
    plan = seen['bond0']
    assert (plan.kind, plan.view, plan.changes) == ('bond', {'mode': 'active-backup', 'extra': 1},
                                                    {'mode': ('a', 'b')})


class BatchingSession(FakeSession):
    """Queues writes like NetlinkSession while batching; the kernel is a dict."""

    def __init__(self, netns=None, refuse=()):
        super(BatchingSession, self).__init__(netns)
        self.kernel = {}
        self.refuse = set(refuse)
        self.queue = None
        self.settled = []
        self.batch_owner = None
        self.sends = 0

    def write(self, key, value):
        if self.queue is not None:
            self.queue.append((self.batch_owner, key, value))
        else:
            self._send([(None, key, value)])

    def _send(self, entries):
        self.sends += 1
        first = None
        for owner, key, value in entries:
            refused = (key, value) in self.refuse
            if not refused:
                self.kernel[key] = value
            if self.queue is not None:
                self.settled.append((owner, 'refused' if refused else None))
            if refused and first is None:
                first = key
        if first is not None:
            raise NotApplied('kernel said no to %s' % first)

    def begin_batch(self):
        self.queue, self.settled = [], []

    def end_batch(self):
        entries, self.queue = self.queue, []
        try:
            if entries:
                self._send(entries)
        finally:
            self.queue, self.batch_owner = None, None


def batched(key, value, previous):
    return engine.Operation(engine.PHASE_SET, 'set %s' % key,
                            lambda net: net.write(key, value),
                            lambda net: net.write(key, previous), batch=True)


def test_a_batch_sends_its_steps_together_and_journals_each_applied_one():
    net = BatchingSession()
    journal = engine.Journal(net)
    journal.apply([batched(k, 1, None) for k in 'abc'])
    assert net.sends == 1 and net.kernel == {'a': 1, 'b': 1, 'c': 1}
    assert [op.summary for op in journal.done] == ['set a', 'set b', 'set c']


def test_a_refusal_in_a_batch_journals_exactly_what_the_kernel_applied():
    net = BatchingSession(refuse=[('b', 1)])
    journal = engine.Journal(net)
    with pytest.raises(NotApplied, match='no to b'):
        journal.apply([batched(k, 1, None) for k in 'abc'])
    # c was sent with the batch and applied: it is journaled, b is the failed step.
    assert [op.summary for op in journal.done] == ['set a', 'set c']
    assert journal.failed.summary == 'set b'
    assert journal.rollback() == []
    assert net.kernel == {'a': None, 'c': None}


def test_a_step_that_is_not_batch_sends_what_is_queued_first():
    net = BatchingSession()
    order = []
    plain = engine.Operation(engine.PHASE_SET, 'plain', lambda n: order.append(dict(n.kernel)))
    engine.Journal(net).apply([batched('a', 1, None), plain, batched('b', 1, None)])
    assert order == [{'a': 1}], 'the queued write reached the kernel before the plain step'
    assert net.kernel == {'a': 1, 'b': 1}


def test_a_step_that_raises_in_a_batch_still_journals_the_queued_ones():
    net = BatchingSession()
    journal = engine.Journal(net)

    def broken(net):
        raise KeyError('bug')

    with pytest.raises(KeyError):
        journal.apply([batched('a', 1, None),
                       engine.Operation(engine.PHASE_SET, 'broken', broken, batch=True)])
    assert [op.summary for op in journal.done] == ['set a'] and net.kernel == {'a': 1}
    assert journal.failed.summary == 'broken'
