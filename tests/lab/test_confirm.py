"""Commit-confirmed apply over SSH on the lab hosts' underlay (tier "confirm").

Each case runs the hypervisor_network role on hv1 over SSH with a short timeout, the
way a fleet is changed. A change that cuts the host off, or whose probe fails, must
come back by itself with exactly the state it had before (compared through docker
exec, which still works while SSH does not); a good change must be confirmed and stay.
"""

import time

import pytest

from labhosts import (ADDRESS, docker, last_result, reachable, reset, run_role, snapshot,
                      wait_for_result)

HOST = 'hv1'
TIMEOUT = 20
FAILED_PROBE = 'Confirm | fail this host with the probe that failed'
LINKS = 'Links | bonds, teams, VLANs, bridges, VXLANs, macvlans and VM NICs in one call'
# The connection probe must fail well before the deadline, even on a loaded machine.
SETTINGS = dict(hypervisor_network_confirm_timeout=TIMEOUT, hypervisor_network_probe_timeout=6)


@pytest.fixture
def host(tmp_path):
    """hv1 on its bare underlay, reachable over SSH; put back the same way afterwards."""
    reset(HOST, ADDRESS[HOST])
    assert reachable(HOST), 'hv1 is not reachable over SSH: run lab/lab up'
    before = snapshot(HOST)
    yield before
    reset(HOST, ADDRESS[HOST])


def checkpoint_of(results):
    return results['Checkpoint | a name for this run\'s checkpoint, fixed once'][
        'ansible_facts']['hypervisor_network__name']


def assert_restored(before, results, probe, reason):
    """The play failed naming ``probe``; the host restored itself equal to ``before``."""
    failure = results[FAILED_PROBE]
    assert failure.get('failed'), failure
    assert "probe '%s' failed on %s" % (probe, HOST) in failure['msg'], failure['msg']
    result = wait_for_result(HOST, checkpoint_of(results), TIMEOUT + 10)
    assert result['outcome'] == 'rolled_back' and result['reason'] == reason, result
    assert result['equal'] and result['differences'] == [] and result['leftovers'] == [], result
    assert snapshot(HOST) == before
    assert reachable(HOST), 'SSH must work again after the restore'
    return failure['msg'], result


@pytest.mark.parametrize('addresses', [['172.31.250.211/24'], None],
                         ids=['mistyped-address', 'no-address'])
def test_uplink_in_a_bridge_cuts_ssh_and_the_host_restores_itself(host, tmp_path, addresses):
    """The NIC goes into a bridge with a mistyped address, or none: strict reverse-path
    filtering (as on EL) drops SSH arriving on the bridge, the new connection fails."""
    bridge = dict(name='br0', ports=['eth0'], stp=False, forward_delay=0)
    if addresses:
        bridge['addresses'] = addresses
    started = time.time()
    code, results = run_role(HOST, str(tmp_path), hypervisor_network_bridges=[bridge],
                             **SETTINGS)

    assert code != 0
    assert results[LINKS]['changed'], results[LINKS].get('msg')
    message, result = assert_restored(host, results, 'connection', 'deadline')
    assert 'rolls back by itself' in message
    # Undone, read back and recorded within seconds of the deadline (2 s when the machine
    # is idle; a loaded 2-core CI machine has been seen at 4 s).
    assert result['seconds_after_deadline'] < 6, result
    assert time.time() - started < TIMEOUT + 30


def test_wrong_gateway_fails_its_probe_and_is_rolled_back_at_once(host, tmp_path):
    code, results = run_role(HOST, str(tmp_path), hypervisor_network_bridges=[
        dict(name='br0', takeover_from='eth0', gateway='172.31.250.254', stp=False,
             forward_delay=0)], **SETTINGS)

    assert code != 0
    message, _result = assert_restored(host, results, 'gateway', 'requested')
    assert '172.31.250.254' in message and 'it was rolled back now' in message


def test_vxlan_whose_peer_does_not_answer_is_rolled_back(host, tmp_path):
    code, results = run_role(HOST, str(tmp_path), hypervisor_network_vxlans=[
        dict(name='vx9', vni=9, dev='eth0', local=ADDRESS[HOST],
             remotes=[ADDRESS['hv2'], '172.31.250.99'])], **SETTINGS)

    assert code != 0
    message, _result = assert_restored(host, results, 'VXLAN peers', 'requested')
    assert '172.31.250.99' in message and ADDRESS['hv2'] not in message.split('(')[0]


def test_vxlan_mtu_the_underlay_cannot_carry_fails_the_full_size_probe(host, tmp_path):
    """A VXLAN without dev keeps the kernel's MTU 1500: its full frames need 1550 bytes
    on a 1500-byte underlay. Pings of the peer pass, the full-size probe cannot."""
    code, results = run_role(HOST, str(tmp_path), hypervisor_network_confirm=True,
                             hypervisor_network_vxlans=[dict(
                                 name='vx9', vni=9, local=ADDRESS[HOST],
                                 remotes=[ADDRESS['hv2']])], **SETTINGS)

    assert code != 0
    # One command pings every probe's addresses; it prints "probe|address|size" for each
    # that got no answer: only the full-size ping of the peer, not its small pings.
    assert results['Probe pings']['stdout_lines'] == ['path MTU|%s|1522' % ADDRESS['hv2']], \
        results['Probe pings']
    message, _result = assert_restored(host, results, 'path MTU', 'requested')
    assert '%s (1522 bytes without fragmenting, MTU 1500 of vx9 plus 50 bytes of VXLAN ' \
        'over IPv4)' % ADDRESS['hv2'] in message, message
    assert 'it was rolled back now' in message


def test_correct_takeover_is_confirmed_and_stays_after_the_deadline(host, tmp_path):
    bridges = [dict(name='br0', takeover_from='eth0', stp=False, forward_delay=0)]
    code, results = run_role(HOST, str(tmp_path), hypervisor_network_bridges=bridges,
                             hypervisor_network_vxlans=[dict(
                                 name='vx9', vni=9, dev='br0', local=ADDRESS[HOST],
                                 remotes=[ADDRESS['hv2']])], **SETTINGS)

    assert code == 0, results.get(FAILED_PROBE)
    confirmed = results['Confirm | keep the change']
    assert confirmed['changed'] and confirmed['result']['outcome'] == 'confirmed', confirmed
    time.sleep(TIMEOUT + 2)
    assert last_result(HOST)['outcome'] == 'confirmed'
    addresses = docker(HOST, 'ip', '-br', 'address', 'show', 'br0').stdout
    assert '%s/24' % ADDRESS[HOST] in addresses
    assert 'master br0' in docker(HOST, 'ip', 'link', 'show', 'eth0').stdout
    assert reachable(HOST)

    code, again = run_role(HOST, str(tmp_path), hypervisor_network_bridges=bridges,
                           hypervisor_network_vxlans=[dict(
                               name='vx9', vni=9, dev='br0', local=ADDRESS[HOST],
                               remotes=[ADDRESS['hv2']])], **SETTINGS)
    assert code == 0 and again[LINKS]['changed'] is False, again[LINKS]
