"""Commit-confirmed apply (confirm_timeout + kvmnet.hostnet.confirm) in throwaway namespaces.

The namespace stands for a host whose only uplink eth0 (192.0.2.10/24, default route
via 192.0.2.1 in a second namespace) is taken over by a bridge. State is compared with
``ip -j`` snapshots, independently of the module's own snapshot code.
"""

import json
import time

import pytest

from netlab import link, ping, snapshot

BRIDGE = 'kvmnet.hostnet.linux_bridge'
CONFIRM = 'kvmnet.hostnet.confirm'
TIMEOUT = 5


@pytest.fixture
def host(routed_host):
    return routed_host


def takeover(ns, **extra):
    args = dict(name='br0', netns=ns, stp=False, forward_delay=0, takeover_from='eth0',
                confirm_timeout=TIMEOUT)
    args.update(extra)
    return {BRIDGE: args}


def last_result(ns):
    with open('/run/kvmnet/checkpoint-netns-%s.last.json' % ns) as handle:
        return json.load(handle)


def wait_for_result(ns, seconds):
    until = time.time() + seconds
    while time.time() < until:
        try:
            return last_result(ns)
        except (IOError, ValueError):
            time.sleep(0.2)
    raise AssertionError('no checkpoint result within %s s' % seconds)


def test_unconfirmed_takeover_restores_itself_and_a_late_confirmation_fails(play, host):
    before = snapshot(host)
    applied = play(takeover(host, confirm_checkpoint='late'))[0]

    assert applied['changed'] and not applied.get('failed'), applied
    assert applied['checkpoint']['state'] == 'pending'
    assert applied['checkpoint']['seconds_left'] <= TIMEOUT
    assert link(host, 'eth0')['master'] == 'br0'
    started = time.time()
    result = wait_for_result(host, TIMEOUT + 5)
    assert result['outcome'] == 'rolled_back' and result['reason'] == 'deadline', result
    assert result['equal'] and result['differences'] == [], result
    assert time.time() - started <= TIMEOUT + 2
    assert snapshot(host) == before
    assert ping(host, '192.0.2.1')
    late = play.one(CONFIRM, netns=host, checkpoint='late')
    assert late.get('failed'), late
    assert 'cannot be confirmed: it ended rolled_back' in late['msg'], late['msg']


def test_confirmed_takeover_stays_after_the_deadline(play, host):
    applied, confirmed = play(takeover(host, confirm_checkpoint='keep'),
                              {CONFIRM: dict(netns=host, checkpoint='keep')})

    assert applied['changed'] and not applied.get('failed'), applied
    assert confirmed['changed'] and not confirmed.get('failed'), confirmed
    assert confirmed['pending']['id'] == 'keep'
    assert confirmed['pending']['plan'] == applied['plan']
    assert confirmed['result']['outcome'] == 'confirmed'
    time.sleep(TIMEOUT + 1)
    assert link(host, 'eth0')['master'] == 'br0'
    assert ping(host, '192.0.2.1')
    again = play.one(CONFIRM, netns=host, checkpoint='keep')
    assert not again.get('failed') and again['changed'] is False, again


def test_rollback_on_request_restores_at_once_and_says_so(play, host):
    before = snapshot(host)
    applied, rolled = play(takeover(host, confirm_timeout=60),
                           {CONFIRM: dict(netns=host, action='rollback')})

    assert applied['changed'] and not applied.get('failed'), applied
    assert rolled['changed'] and not rolled.get('failed'), rolled
    assert rolled['result']['reason'] == 'requested' and rolled['result']['equal'] is True
    assert snapshot(host) == before


def test_a_pending_checkpoint_blocks_the_next_run_until_it_ends(play, host):
    other = dict(name='br9', netns=host)
    applied, blocked, waited = play(takeover(host), {BRIDGE: other},
                                    {BRIDGE: dict(other, confirm_wait=TIMEOUT + 10)})

    assert applied['changed'] and not applied.get('failed'), applied
    assert blocked.get('failed'), blocked
    assert 'is pending until' in blocked['msg'] and 'attach eth0 to bridge br0' in blocked['msg'], blocked['msg']
    assert link(host, 'br9') is not None, 'the waiting run applies once the first one ended'
    assert not waited.get('failed') and waited['changed'], waited
    assert last_result(host)['outcome'] == 'rolled_back'
    assert link(host, 'eth0').get('master') is None


def test_a_change_that_cannot_be_undone_is_refused_before_anything_is_touched(play, host):
    play.one(BRIDGE, name='br5', netns=host)
    before = snapshot(host)
    refused = play.one(BRIDGE, name='br5', netns=host, state='absent', confirm_timeout=TIMEOUT)

    assert refused.get('failed'), refused
    assert 'confirm_timeout cannot protect "remove bridge br5"' in refused['msg'], refused['msg']
    assert snapshot(host) == before


def test_status_names_what_carries_the_default_route_with_its_bridge(play, host):
    before = play.one(CONFIRM, netns=host, action='status')
    applied, after = play({BRIDGE: dict(name='br0', netns=host, takeover_from='eth0')},
                          {CONFIRM: dict(netns=host, action='status')})

    assert before['guarded']['default_route'] == ['eth0'], before
    assert before['guarded']['gateways'] == ['192.0.2.1']
    assert before['changed'] is False and before['pending'] is None
    assert applied['changed'] and not applied.get('failed'), applied
    assert after['guarded']['default_route'] == ['br0'], after
    assert after['guarded']['interfaces'] == ['br0', 'eth0'], 'the port of the bridge counts too'


def test_runs_naming_one_checkpoint_join_it_and_roll_back_newest_first(play, host):
    before = snapshot(host)
    first, second, rolled = play(
        takeover(host, confirm_checkpoint='joint', confirm_timeout=60),
        {BRIDGE: dict(name='br1', netns=host, ports=[],
                      addresses=['198.51.100.1/24'], confirm_timeout=60,
                      confirm_checkpoint='joint')},
        {CONFIRM: dict(netns=host, action='rollback', checkpoint='joint')})

    assert first['changed'] and second['changed'], (first, second)
    assert second['checkpoint']['modules'] == ['linux_bridge', 'linux_bridge']
    assert second['checkpoint']['plan'] == first['plan'] + second['plan']
    assert rolled['changed'] and rolled['result']['equal'] is True, rolled
    assert snapshot(host) == before
