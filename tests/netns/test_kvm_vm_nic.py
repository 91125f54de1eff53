"""kvm_vm_nic against the real kernel, in throwaway namespaces, with a real QEMU guest.

Topology of the guest test (all inside namespaces this test creates):

    peer ns: eth0 192.0.2.1/24 --veth-- uplink [br0] web01-0 (tap) -- QEMU guest 192.0.2.20/24
"""

import grp
import os
import pwd
import re
import signal
import subprocess
import sys
import time

from netlab import link, ping, run, snapshot, veth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm_guest import Guest  # noqa: E402

MODULE = 'kvmnet.hostnet.kvm_vm_nic'
GUEST_IP = '192.0.2.20'
PEER_IP = '192.0.2.1'
NOBODY = pwd.getpwnam('nobody').pw_uid
NOGROUP = grp.getgrnam('nogroup').gr_gid


def bridge(play, ns, name='br0', **options):
    result = play.one('kvmnet.hostnet.linux_bridge', name=name, netns=ns, stp=False,
                      forward_delay=0, **options)
    assert not result.get('failed'), result
    return result


def plain_bridge(ns, name='br0', mtu=None):
    """A bridge made with ip(8): setup for tests that are not about bridges (one play less)."""
    run(['ip', 'link', 'add', name] + (['mtu', str(mtu)] if mtu else []) + ['type', 'bridge'],
        netns=ns)
    run(['ip', 'link', 'set', name, 'up'], netns=ns)


def carrier_settled(ns, *names):
    """Wait until veths report carrier: the kernel raises it asynchronously."""
    deadline = time.time() + 10
    while time.time() < deadline:
        if all('LOWER_UP' in link(ns, name)['flags'] for name in names):
            return
        time.sleep(0.1)
    raise AssertionError('%s never got carrier in %s' % (', '.join(names), ns))


def nic(check=False, **args):
    """One kvm_vm_nic task for ``play(*tasks)``."""
    return {MODULE: args, 'check_mode': check, 'diff': True}


def tap_details(ns, name):
    entry = link(ns, name)
    assert entry is not None, '%s does not exist in %s' % (name, ns)
    return entry


def test_tap_is_created_persistent_owned_attached_and_idempotent(play, netns):
    ns = netns('vn')
    plain_bridge(ns)
    args = dict(vm='web01', bridge='br0', owner='nobody', group=str(NOGROUP), netns=ns)
    first = play.one(MODULE, **args)
    assert first['changed'] is True, first
    assert first['name'] == 'web01-0'
    assert re.match(r'^52:54:00(:[0-9a-f]{2}){3}$', first['mac'])
    entry = tap_details(ns, 'web01-0')
    info = entry['linkinfo']['info_data']
    assert entry['linkinfo']['info_kind'] == 'tun'
    assert info['type'] == 'tap' and info['persist'] is True
    assert info['user'] == 'nobody' and info['group'] == 'nogroup'
    assert info['pi'] is False and info['vnet_hdr'] is True and not info.get('multi_queue')
    assert entry['master'] == 'br0'
    assert 'UP' in entry['flags']
    # host side: the guest MAC with its first byte set to fe, never the guest's own
    assert entry['address'] == 'fe' + first['mac'][2:]
    assert first['ifindex'] == entry['ifindex']
    assert "<target dev='web01-0' managed='no'/>" in first['libvirt_xml']
    assert "<mac address='%s'/>" % first['mac'] in first['libvirt_xml']
    assert "<interface type='ethernet'>" in first['libvirt_xml']
    assert "<model type='virtio'/>" in first['libvirt_xml']

    before = snapshot(ns)
    again, checked = play(nic(**args), nic(check=True, **args))
    for result in (again, checked):
        assert result['changed'] is False, result['plan']
        assert result['ifindex'] == first['ifindex'] and result['mac'] == first['mac']
        assert result['libvirt_xml'] == first['libvirt_xml']
    assert snapshot(ns) == before


def test_name_and_mac_are_deterministic_across_namespaces(play, netns):
    spaces = [netns('vn'), netns('vn')]
    for ns in spaces:
        plain_bridge(ns)
    results = play(*[nic(vm='database-primary-prod', index=2, bridge='br0', netns=ns) for ns in spaces])
    assert not any(r.get('failed') for r in results), results
    assert results[0]['name'] == results[1]['name']
    assert results[0]['mac'] == results[1]['mac']
    assert len(results[0]['name']) <= 15 and results[0]['name'].startswith('databa')
    for ns in spaces:
        assert tap_details(ns, results[0]['name'])['master'] == 'br0'


def test_mtu_follows_the_bridge_and_port_options_apply(play, netns):
    ns = netns('vn')
    plain_bridge(ns, mtu=9000)
    args = dict(vm='jumbo', bridge={'name': 'br0', 'hairpin': True}, port_options={'cost': 7},
                netns=ns)
    result, again = play(nic(**args), nic(**args))
    assert result['changed'] is True, result
    assert again['changed'] is False, again['plan']
    assert tap_details(ns, 'jumbo-0')['mtu'] == 9000
    assert link(ns, 'br0')['mtu'] == 9000
    port = tap_details(ns, 'jumbo-0')['linkinfo']['info_slave_data']
    assert port['hairpin'] is True and port['cost'] == 7
    assert "<mtu size='9000'/>" in result['libvirt_xml']


def test_check_mode_predicts_and_touches_nothing(play, netns):
    ns = netns('vn')
    plain_bridge(ns)
    veth(ns, 'web02-0', name_b='web02-0p')  # an existing link: check mode must not touch it
    carrier_settled(ns, 'web02-0', 'web02-0p')
    run(['ip', 'tuntap', 'add', 'dev', 'spare', 'mode', 'tap'], netns=ns)
    before = snapshot(ns)
    create, remove, recreate = play(
        nic(check=True, vm='web01', bridge='br0', owner='nobody', netns=ns),
        nic(check=True, vm='web01', name='spare', state='absent', netns=ns),
        nic(check=True, vm='web01', name='spare', bridge='br0', owner='nobody', netns=ns))
    assert create['changed'] is True and create['plan'], create
    assert create['interface']['name'] == 'web01-0' and create['ifindex'] is None
    assert 'web01-0' in create['libvirt_xml']
    assert remove['changed'] is True and remove['libvirt_xml'] is None
    assert recreate['changed'] is True and recreate['recreated'] is True, recreate
    assert snapshot(ns) == before


BAD_INPUTS = [
    (dict(vm='web01', bridge='br0', owner='no-such-user-x'), 'owner no-such-user-x: no such user'),
    (dict(vm='web01', bridge='br0', group='no-such-group-x'), 'group no-such-group-x: no such group'),
    (dict(vm='web01', bridge='br-missing'), 'bridge br-missing does not exist'),
    (dict(vm='web01', bridge='uplink'), 'uplink is a veth link, not a bridge'),
    (dict(vm='web01', name='a-name-of-16-chr', bridge='br0'), 'is 16 characters long'),
    (dict(vm='web01', type='macvtap'), 'type macvtap needs parent'),
    (dict(vm='web01', bridge='br0', mac='52:54:00:zz:00:01'), 'is not a MAC address'),
    (dict(vm='web01', bridge='br0', mac='01:54:00:00:00:01'), 'multicast'),
    (dict(vm='web01', bridge='br0', mac='fe:54:00:00:00:01'), 'reserved for the host side'),
    (dict(vm='web01', bridge='br0', index=256), 'index must be between 0 and 255'),
    (dict(vm='web01', bridge='br0', parent='eth0'), 'parent applies to type macvtap only'),
    (dict(vm='web01', type='macvtap', parent='uplink', bridge='br0'), 'bridge applies to type tap only'),
    (dict(vm='web01', port_options={'cost': 3}), 'port_options need bridge'),
    (dict(vm='web01', bridge={'name': 'br0', 'colour': 'red'}), 'unknown option(s) colour'),
    (dict(vm='web01', bridge={'name': 'br0', 'priority': 99}), 'priority must be between 0 and 63'),
    (dict(vm='web01', bridge='br0', mtu=20), 'mtu must be between 68 and 65535'),
]


def test_bad_input_fails_with_advice_and_touches_nothing(play, netns):
    ns = netns('vn')
    plain_bridge(ns)
    veth(ns, 'uplink')
    carrier_settled(ns, 'uplink', 'uplinkp')
    before = snapshot(ns)
    results = play(*[nic(netns=ns, **args) for args, _message in BAD_INPUTS] + [
        nic(netns=ns, vm='web01', name='a-name-of-16-chr', owner='no-such-user-x', mac='not-a-mac',
            bridge='br0')])
    for (args, message), result in zip(BAD_INPUTS, results):
        assert result.get('failed') is True, (args, result)
        assert message in result['msg'], (args, result['msg'])
    every = results[-1]
    assert every.get('failed') is True
    assert len(every['problems']) == 3, every['problems']
    assert 'nothing was changed' in every['msg']
    assert snapshot(ns) == before


def test_state_absent_removes_the_tap_only(play, netns):
    ns = netns('vn')
    plain_bridge(ns)
    created, gone, again = play(nic(vm='web01', bridge='br0', netns=ns),
                                nic(vm='web01', state='absent', netns=ns),
                                nic(vm='web01', state='absent', netns=ns))
    assert created['changed'] is True and created['ifindex']
    assert gone['changed'] is True and gone['ifindex'] is None and gone['interface'] is None
    assert again['changed'] is False
    assert link(ns, 'web01-0') is None
    assert link(ns, 'br0') is not None


def test_another_kind_with_the_name_is_never_touched(play, netns):
    ns = netns('vn')
    plain_bridge(ns)
    veth(ns, 'web01-0', name_b='web01-0p')
    carrier_settled(ns, 'web01-0', 'web01-0p')
    run(['ip', 'tuntap', 'add', 'dev', 'tun0', 'mode', 'tun'], netns=ns)
    before = snapshot(ns)
    results = play(nic(vm='web01', bridge='br0', netns=ns),
                   nic(vm='web01', state='absent', netns=ns),
                   nic(vm='x', name='tun0', netns=ns))
    for result in results[:2]:
        assert result.get('failed') is True and 'is a veth link, not a tun' in result['msg'], result
    assert results[2].get('failed') is True and 'not a tap' in results[2]['msg'], results[2]
    assert snapshot(ns) == before


def test_owner_change_recreates_an_idle_tap_and_keeps_the_port(play, netns):
    ns = netns('vn')
    plain_bridge(ns)
    first, changed = play(nic(vm='web01', bridge={'name': 'br0', 'cost': 9}, netns=ns),
                          nic(vm='web01', bridge='br0', owner='nobody', netns=ns))
    assert first['changed'] is True, first
    assert changed['changed'] is True and changed['recreated'] is True, changed
    entry = tap_details(ns, 'web01-0')
    assert entry['linkinfo']['info_data']['user'] == 'nobody'
    assert entry['master'] == 'br0' and entry['linkinfo']['info_slave_data']['cost'] == 9
    assert entry['address'] == 'fe' + first['mac'][2:]


def continuous_ping(ns, address):
    """A ping every 0.2 s until ``ping_losses`` stops it."""
    return subprocess.Popen(['ip', 'netns', 'exec', ns, 'ping', '-n', '-i', '0.2', '-W', '1', address],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def ping_losses(proc):
    time.sleep(1)  # let the last echo come back before stopping
    proc.send_signal(signal.SIGINT)  # ping prints its statistics on SIGINT
    out = proc.communicate(timeout=30)[0]
    found = re.search(r'(\d+) packets transmitted, (\d+) received', out)
    assert found, out
    sent, received = int(found.group(1)), int(found.group(2))
    assert sent >= 10, out
    return sent - received, out


def test_guest_on_the_tap_talks_across_the_bridge_and_reruns_do_not_disturb_it(play, netns, tmp_path):
    ns = netns('vn')
    peer = netns('vp')
    veth(ns, 'uplink', peer, 'eth0')
    run(['ip', 'addr', 'add', PEER_IP + '/24', 'dev', 'eth0'], netns=peer)
    bridge(play, ns, ports=['uplink'])
    args = dict(vm='web01', bridge='br0', owner='nobody', group='nogroup', netns=ns)
    created = play.one(MODULE, **args)
    assert created['changed'] is True, created

    with Guest(ns, created['name'], created['mac'], GUEST_IP + '/24', PEER_IP, str(tmp_path)) as guest:
        # the guest's NIC has exactly the MAC the module returned
        assert guest.wait_for(r'GUEST-NIC-UP (\S+)', 90).group(1) == created['mac']
        assert guest.wait_for(r'GUEST-PING-(OK|FAILED)', 60).group(1) == 'OK', guest.output()
        assert ping(peer, GUEST_IP, count=3, timeout=3), 'no answer from the guest'
        held = tap_details(ns, created['name'])
        assert 'LOWER_UP' in held['flags']

        pinger = continuous_ping(peer, GUEST_IP)
        time.sleep(1)
        rerun = play.one(MODULE, **args)
        refused = play.one(MODULE, **dict(args, owner='root'))
        losses, out = ping_losses(pinger)

        assert rerun['changed'] is False, rerun['plan']
        assert rerun['ifindex'] == created['ifindex']
        assert rerun['interface']['in_use'] is True
        assert refused.get('failed') is True
        assert 'is in use (a VM has it open)' in refused['msg'], refused['msg']
        assert losses == 0, out
        after = tap_details(ns, created['name'])
        assert after['ifindex'] == held['ifindex'] and 'LOWER_UP' in after['flags']
        assert guest.running()
        assert ping(peer, GUEST_IP, count=2, timeout=3)


def test_macvtap_on_a_parent(play, netns):
    ns = netns('vn')
    veth(ns, 'uplink')
    args = dict(vm='db01', type='macvtap', parent='uplink', netns=ns)
    created, again, gone = play(nic(**args), nic(**args), nic(state='absent', **args))
    assert created['changed'] is True, created
    assert created['interface']['kind'] == 'macvtap' and created['interface']['mode'] == 'bridge'
    assert created['interface']['mac'] == created['mac']  # a macvtap carries the guest MAC itself
    assert "<interface type='direct'>" in created['libvirt_xml']
    assert "<source dev='uplink' mode='bridge'/>" in created['libvirt_xml']
    assert "<mac address='%s'/>" % created['mac'] in created['libvirt_xml']
    assert again['changed'] is False and again['ifindex'] == created['ifindex'], again['plan']
    assert gone['changed'] is True
    assert link(ns, created['name']) is None and link(ns, 'uplink') is not None
