"""kvmnet.hostnet.diagnose against the real kernel: each fault provoked with real links
and packets, found with the right subject, then its own ``fix`` applied, after which
both the finding and the fault (the lost packet) are gone.

Namespaces play hypervisors, VMs (a netns behind a veth named vnetN, as libvirt names
taps), switches and routers. The module runs in-process (tests/inprocess.py), as do
the fixes that are module calls; the fixes that are commands run in the namespace.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from inprocess import run_module
from netlab import run, ping, veth

DIAGNOSE = 'kvmnet.hostnet.diagnose'
VMNET = '10.20.0.%d'
UNDERLAY = '192.0.2.%d'
OVERLAY = '198.51.100.%d'
ZERO = '00:00:00:00:00:00'
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- diagnosis -------------------------------------------------------------------
def diagnose(ns, check=False, **args):
    result = run_module(DIAGNOSE, dict(args, netns=ns), check_mode=check)
    assert not result.get('failed'), result
    assert result['changed'] is False
    assert result['skipped'] == [], result['skipped']
    return result['findings']


def ids(findings):
    return sorted((f['id'], f['subject']) for f in findings)


def the(findings, finding_id, subject):
    """The one finding with this id and subject (fails listing what was found)."""
    matching = [f for f in findings if f['id'] == finding_id and f['subject'] == subject]
    assert len(matching) == 1, 'wanted %s on %s, found %s' % (finding_id, subject, ids(findings))
    found = matching[0]
    assert found['explanation'] and found['evidence'] and found['fix']['summary']
    return found


def apply_fix(ns, fix):
    if 'module' in fix:
        result = run_module(fix['module'], fix['args'])
        assert not result.get('failed'), result
    for argv in fix.get('commands', []):
        run(argv, netns=ns)


def absent(findings, finding_id):
    assert finding_id not in [f['id'] for f in findings], ids(findings)


def mac_of(ns, name):
    return run(['cat', '/sys/class/net/%s/address' % name], netns=ns).stdout.strip()


def add_vm(netns, hv, port, address, bridge='br0', prefix=24):
    """A "VM": a namespace whose eth0 is the peer of ``port``, a port of ``bridge``."""
    vm = netns('dgvm')
    veth(hv, port, vm, 'eth0')
    run(['ip', 'link', 'set', port, 'master', bridge], netns=hv)
    run(['ip', 'addr', 'add', '%s/%d' % (address, prefix), 'dev', 'eth0'], netns=vm)
    return vm


def add_bridge(hv, name='br0', address=None, pin_mac=True):
    run(['ip', 'link', 'add', name, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'],
        netns=hv)
    if pin_mac:
        run(['ip', 'link', 'set', name, 'address', '02:00:00:00:00:01'], netns=hv)
    if address:
        run(['ip', 'addr', 'add', address, 'dev', name], netns=hv)
    run(['ip', 'link', 'set', name, 'up'], netns=hv)


def vm_host(netns):
    """hv: br0 10.20.0.1/24 (MAC pinned) with VMs vm1 .11 on vnet0 and vm2 .12 on vnet1."""
    hv = netns('dghv')
    add_bridge(hv, address=VMNET % 1 + '/24')
    vms = [add_vm(netns, hv, 'vnet%d' % n, VMNET % (11 + n)) for n in (0, 1)]
    return hv, vms


class Vtep:
    def __init__(self, number, ns, vm):
        self.number = number
        self.ns = ns
        self.vm = vm
        self.ip = UNDERLAY % number
        self.vm_ip = OVERLAY % number

    def peer(self, other, dstport=4789):
        return [dict(address=other.ip, dstport=dstport)]


def vxlan_pair(netns, dev=True):
    """hv1 and hv2 (underlay u0, 192.0.2.1/.2) each with br0, a VM, and vx42 (VNI 42,
    UDP 4789, head-end replication to the other)."""
    hvs = []
    for number in (1, 2):
        ns = netns('dgvx')
        add_bridge(ns)
        hvs.append(Vtep(number, ns, add_vm(netns, ns, 'vnet0', OVERLAY % number)))
    run(['ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0', 'netns', hvs[1].ns],
        netns=hvs[0].ns)
    for hv, other in ((hvs[0], hvs[1]), (hvs[1], hvs[0])):
        run(['ip', 'addr', 'add', hv.ip + '/24', 'dev', 'u0'], netns=hv.ns)
        run(['ip', 'link', 'set', 'u0', 'up'], netns=hv.ns)
        make_vtep(hv, other, dev=dev)
    return hvs


def make_vtep(hv, other, dstport=4789, local=None, dev=True, remotes=True):
    run(['ip', 'link', 'add', 'vx42', 'type', 'vxlan', 'id', '42', 'dstport', str(dstport),
         'local', local or hv.ip] + (['dev', 'u0'] if dev else []), netns=hv.ns)
    if remotes:
        run(['bridge', 'fdb', 'append', ZERO, 'dev', 'vx42', 'dst', other.ip], netns=hv.ns)
    run(['ip', 'link', 'set', 'vx42', 'master', 'br0'], netns=hv.ns)
    run(['ip', 'link', 'set', 'vx42', 'up'], netns=hv.ns)


def overlay_works(hvs, size=None, dont_fragment=False):
    return ping(hvs[0].vm, hvs[1].vm_ip, timeout=1, size=size, dont_fragment=dont_fragment)


def eventually(works, seconds=5):
    """True once ``works()`` is; a fixed link may need a moment (carrier, ARP retry)."""
    deadline = time.monotonic() + seconds
    while True:
        if works():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def fault_found_fixed(ns, finding_id, subject, broken, works, **args):
    """The common arc: the fault is there, diagnose names it, its fix removes both."""
    assert not works(), 'the fault was not provoked: %s still works' % broken
    found = the(diagnose(ns, **args), finding_id, subject)
    apply_fix(ns, found['fix'])
    absent(diagnose(ns, **args), finding_id)
    assert eventually(works), '%s still broken after the fix %s' % (broken, found['fix'])
    return found


# ---- a healthy host -----------------------------------------------------------------
def test_healthy_hosts_have_no_findings(netns):
    """VMs on a pinned bridge, a NAT gateway with forwarding on, a VXLAN overlay with its
    peers named, a macvlan in bridge mode: nothing to report, in check mode too."""
    hv, vms = vm_host(netns)
    wan = netns('dgwan')
    veth(hv, 'wan0', wan, 'eth0')
    run(['ip', 'addr', 'add', '10.9.0.1/24', 'dev', 'wan0'], netns=hv)
    run(['ip', 'addr', 'add', '10.9.0.2/24', 'dev', 'eth0'], netns=wan)
    run(['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '10.20.0.0/24', '-o', 'wan0',
         '-j', 'MASQUERADE'], netns=hv)
    run(['sysctl', '-qw', 'net.ipv4.ip_forward=1'], netns=hv)
    run(['ip', 'route', 'add', 'default', 'via', VMNET % 1], netns=vms[0])
    run(['ip', 'link', 'add', 'mv0', 'link', 'wan0', 'type', 'macvlan', 'mode', 'bridge'], netns=hv)
    assert ping(vms[0], VMNET % 12) and ping(vms[0], '10.9.0.2')
    hvs = vxlan_pair(netns)
    assert overlay_works(hvs)
    assert diagnose(hv) == []
    assert diagnose(hv, check=True) == []
    for hv_x, other in ((hvs[0], hvs[1]), (hvs[1], hvs[0])):
        assert diagnose(hv_x.ns, peers=hv_x.peer(other)) == []


# ---- br_netfilter, firewall, forwarding ----------------------------------------------
def test_bridged_traffic_dropped_by_iptables_and_by_nftables(netns, tmp_path):
    hv, vms = vm_host(netns)
    assert ping(vms[0], VMNET % 12)

    run(['iptables', '-P', 'FORWARD', 'DROP'], netns=hv)  # what Docker does
    found = fault_found_fixed(hv, 'bridged-traffic-dropped', 'br0', 'VM to VM',
                              lambda: ping(vms[0], VMNET % 12, timeout=1))
    assert found['evidence']['net.bridge.bridge-nf-call-iptables'] == 1
    assert found['evidence']['dropped_by'] == ['iptables filter: chain FORWARD policy DROP']

    ruleset = tmp_path / 'firewall.nft'  # what firewalld-style setups do, natively
    ruleset.write_text('add table inet dgfw\n'
                       'add chain inet dgfw vmforward { type filter hook forward priority 0; '
                       'policy drop; }\n'
                       'add rule inet dgfw vmforward ct state established,related accept\n')
    run(['nft', '-f', str(ruleset)], netns=hv)
    found = fault_found_fixed(hv, 'bridged-traffic-dropped', 'br0', 'VM to VM under nftables',
                              lambda: ping(vms[0], VMNET % 12, timeout=1))
    assert found['fix']['commands'][0][:3] == ['nft', 'insert', 'rule']


@pytest.mark.parametrize('nat', [True, False], ids=['nat', 'routed'])
def test_ip_forward_off_on_the_vms_gateway(netns, nat):
    """The host is the VMs' gateway (10.20.0.1) towards wan0: masquerading, or plainly
    routing (the outside knows the way back)."""
    hv, vms = vm_host(netns)
    wan = netns('dgwan')
    veth(hv, 'wan0', wan, 'eth0')
    run(['ip', 'addr', 'add', '10.9.0.1/24', 'dev', 'wan0'], netns=hv)
    run(['ip', 'route', 'add', 'default', 'via', '10.9.0.2'], netns=hv)
    run(['ip', 'addr', 'add', '10.9.0.2/24', 'dev', 'eth0'], netns=wan)
    if nat:
        run(['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '10.20.0.0/24', '-o', 'wan0',
             '-j', 'MASQUERADE'], netns=hv)
    else:
        run(['ip', 'route', 'add', '10.20.0.0/24', 'via', '10.9.0.1'], netns=wan)
    run(['sysctl', '-qw', 'net.ipv4.ip_forward=0'], netns=hv)
    run(['ip', 'route', 'add', 'default', 'via', VMNET % 1], netns=vms[0])
    found = fault_found_fixed(hv, 'ip-forward-off', 'br0', 'VM to the outside',
                              lambda: ping(vms[0], '10.9.0.2', timeout=1))
    assert found['fix']['commands'] == [['sysctl', '-w', 'net.ipv4.ip_forward=1']]
    assert ('NAT' in found['evidence']['vm_gateways']['br0']['why_routed']) == nat


# ---- bridge ----------------------------------------------------------------------------
def test_stp_port_listening_and_long_forward_delay(netns):
    hv, vms = vm_host(netns)
    run(['ip', 'link', 'set', 'br0', 'type', 'bridge', 'stp_state', '1', 'forward_delay', '1500'],
        netns=hv)
    # A VM starting: its port re-joins the bridge and must wait 2 x 15 s.
    run(['ip', 'link', 'set', 'vnet1', 'nomaster'], netns=hv)
    run(['ip', 'link', 'set', 'vnet1', 'master', 'br0'], netns=hv)
    findings = diagnose(hv)
    assert the(findings, 'stp-forward-delay-long', 'br0')['evidence']['forward_delay'] == 15
    found = the(findings, 'stp-port-not-forwarding', 'br0')
    assert found['evidence']['ports'] == {'vnet1': 'listening'}
    assert not ping(vms[0], VMNET % 12, timeout=1)
    apply_fix(hv, found['fix'])
    assert diagnose(hv) == []
    assert eventually(lambda: ping(vms[0], VMNET % 12))


def test_bridge_mac_unpinned_drifts_until_pinned(netns):
    """br1 holds the host's address: its MAC must not move (it is pinned where it is)."""
    hv, _vms = vm_host(netns)
    add_bridge(hv, 'br1', address='10.21.0.1/24', pin_mac=False)
    add_port(hv, 'br1', 'p1', '02:00:00:00:10:00')
    mac = mac_of(hv, 'br1')
    found = the(diagnose(hv), 'bridge-mac-unpinned', 'br1')
    assert found['evidence']['mac'] == mac
    add_port(hv, 'br1', 'p2', '02:00:00:00:00:10')
    assert mac_of(hv, 'br1') != mac  # the fault: a new port moved the host's MAC
    run(['ip', 'link', 'del', 'p2'], netns=hv)
    assert mac_of(hv, 'br1') == mac
    apply_fix(hv, found['fix'])
    absent(diagnose(hv), 'bridge-mac-unpinned')
    add_port(hv, 'br1', 'p3', '02:00:00:00:00:08')
    assert mac_of(hv, 'br1') == mac


def test_bridge_mac_that_left_its_first_port(netns):
    """br2 has no address: one port is fine; a second with a lower MAC moved the bridge's
    MAC away from its first port's, the fix pins the first port's back."""
    hv = netns('dghv')
    add_bridge(hv, 'br2', pin_mac=False)
    add_port(hv, 'br2', 'up0', '02:00:00:00:20:00')
    assert diagnose(hv) == []
    add_port(hv, 'br2', 'vnet0', '02:00:00:00:00:20')
    found = the(diagnose(hv), 'bridge-mac-unpinned', 'br2')
    assert found['evidence']['first_port'] == 'up0'
    assert mac_of(hv, 'br2') == '02:00:00:00:00:20'
    apply_fix(hv, found['fix'])
    assert mac_of(hv, 'br2') == '02:00:00:00:20:00'
    assert diagnose(hv) == []
    add_port(hv, 'br2', 'vnet1', '02:00:00:00:00:05')
    assert mac_of(hv, 'br2') == '02:00:00:00:20:00'


def add_port(hv, bridge, name, mac):
    veth(hv, name, None, name + 'x')
    run(['ip', 'link', 'set', name, 'address', mac], netns=hv)
    run(['ip', 'link', 'set', name, 'master', bridge], netns=hv)


def test_tap_without_carrier_on_a_bridge(netns):
    hv, vms = vm_host(netns)
    run(['ip', 'tuntap', 'add', 'dev', 'vnet7', 'mode', 'tap'], netns=hv)
    run(['ip', 'link', 'set', 'vnet7', 'master', 'br0'], netns=hv)
    run(['ip', 'link', 'set', 'vnet7', 'up'], netns=hv)
    found = the(diagnose(hv), 'tap-no-carrier', 'vnet7')
    assert found['severity'] == 'info'
    apply_fix(hv, found['fix'])
    assert diagnose(hv) == []
    assert ping(vms[0], VMNET % 12)


def test_address_on_a_bridge_port(netns):
    hv = netns('dghv')
    lan = netns('dglan')
    add_bridge(hv)
    veth(hv, 'up0', lan, 'eth0')
    run(['ip', 'link', 'set', 'up0', 'master', 'br0'], netns=hv)
    run(['ip', 'addr', 'add', '10.50.0.1/24', 'dev', 'up0'], netns=hv)
    run(['ip', 'addr', 'add', '10.50.0.2/24', 'dev', 'eth0'], netns=lan)
    found = fault_found_fixed(hv, 'address-on-bridge-port', 'up0', 'LAN to host',
                              lambda: ping(lan, '10.50.0.1', timeout=1))
    assert found['fix']['args']['takeover_from'] == 'up0'


def test_gateway_arp_failed_and_address_conflict(netns):
    """br0 with uplink up0 to a router (10.20.0.254): the gateway never answers while the
    uplink is down; then the router also claims the host's own 10.20.0.1."""
    hv, vms = vm_host(netns)
    router = netns('dgrtr')
    veth(hv, 'up0', router, 'eth0')
    run(['ip', 'link', 'set', 'up0', 'master', 'br0'], netns=hv)
    run(['ip', 'addr', 'add', VMNET % 254 + '/24', 'dev', 'eth0'], netns=router)
    run(['ip', 'route', 'add', 'default', 'via', VMNET % 254], netns=hv)
    run(['ip', 'link', 'set', 'up0', 'down'], netns=hv)
    assert not ping(hv, VMNET % 254, timeout=1)  # leaves an INCOMPLETE/FAILED neighbour
    found = the(diagnose(hv), 'gateway-arp-failed', VMNET % 254)
    assert found['evidence']['uplinks'] == {'up0': 'down'}
    apply_fix(hv, found['fix'])
    assert eventually(lambda: ping(hv, VMNET % 254, timeout=1))
    absent(diagnose(hv), 'gateway-arp-failed')

    run(['ip', 'addr', 'add', VMNET % 1 + '/24', 'dev', 'eth0'], netns=router)
    found = the(diagnose(hv), 'ipv4-address-conflict', 'br0')
    assert found['evidence']['answered_by'] == mac_of(router, 'eth0')
    assert found['evidence']['seen_on_port'] == 'up0'
    apply_fix(hv, found['fix'])
    absent(diagnose(hv), 'ipv4-address-conflict')
    assert run(['ip', '-4', '-o', 'addr', 'show', 'dev', 'br0'], netns=hv).stdout == ''


def test_vm_gateway_probed_on_a_bridge_without_a_host_address(netns):
    hv = netns('dghv')
    router = netns('dgrtr')
    add_bridge(hv)
    vm = add_vm(netns, hv, 'vnet0', VMNET % 11)
    veth(hv, 'up0', router, 'eth0')
    run(['ip', 'link', 'set', 'up0', 'master', 'br0'], netns=hv)
    run(['ip', 'addr', 'add', VMNET % 254 + '/24', 'dev', 'eth0'], netns=router)
    expect = dict(vm_gateways=[dict(address=VMNET % 254, bridge='br0')])
    assert diagnose(hv, expect=expect) == []
    run(['ip', 'link', 'set', 'up0', 'down'], netns=hv)
    found = fault_found_fixed(hv, 'gateway-arp-failed', VMNET % 254, 'VM to its gateway',
                              lambda: ping(vm, VMNET % 254, timeout=1), expect=expect)
    assert found['evidence']['arp'] == 'no answer to an ARP probe on br0'


def test_vm_mac_learned_on_the_uplink(netns):
    """Seed 000's fault with a switch that sends the VM's frames back (hairpin port): the
    bridge learns the VM's MAC on its uplink and the router cannot reach the VM."""
    hv, vms = vm_host(netns)
    switch = netns('dgsw')
    router = netns('dgrtr')
    run(['ip', 'link', 'add', 'sw0', 'type', 'bridge', 'stp_state', '0'], netns=switch)
    run(['ip', 'link', 'set', 'sw0', 'up'], netns=switch)
    veth(hv, 'up0', switch, 'p0')
    veth(switch, 'p1', router, 'eth0')
    for port in ('p0', 'p1'):
        run(['ip', 'link', 'set', port, 'master', 'sw0'], netns=switch)
    run(['ip', 'link', 'set', 'up0', 'master', 'br0'], netns=hv)
    run(['ip', 'addr', 'add', VMNET % 254 + '/24', 'dev', 'eth0'], netns=router)
    assert ping(router, VMNET % 11)
    run(['bridge', 'link', 'set', 'dev', 'p0', 'hairpin', 'on'], netns=switch)
    vm_mac = mac_of(vms[0], 'eth0')  # found behind vnet0 through the veth: no expect needed
    # The router knows the VM's MAC: the VM sends nothing that would re-learn it on vnet0.
    run(['ip', 'neigh', 'replace', VMNET % 11, 'lladdr', vm_mac, 'dev', 'eth0', 'nud', 'permanent'],
        netns=router)

    def reachable():
        run(['ip', 'neigh', 'flush', 'all'], netns=vms[0])
        ping(vms[0], '10.20.0.99', timeout=1)  # an ARP broadcast the switch sends back
        return ping(router, VMNET % 11, timeout=1)

    assert not reachable()
    found = the(diagnose(hv), 'vm-mac-on-uplink', 'up0')
    assert found['evidence']['mac'] == vm_mac and found['evidence']['vm_port'] == 'vnet0'
    # The fix's first half is the switch's (its summary says so); the second is the host's.
    run(['bridge', 'link', 'set', 'dev', 'p0', 'hairpin', 'off'], netns=switch)
    apply_fix(hv, found['fix'])
    absent(diagnose(hv), 'vm-mac-on-uplink')
    assert eventually(reachable)


# ---- macvlan ------------------------------------------------------------------------------
def test_macvlan_parent_cannot_reach_its_guests(netns):
    hv = netns('dghv')
    lan = netns('dglan')
    guest = netns('dgvm')
    veth(hv, 'lan0', lan, 'eth0')
    run(['ip', 'addr', 'add', '10.40.0.1/24', 'dev', 'lan0'], netns=hv)
    run(['ip', 'addr', 'add', '10.40.0.2/24', 'dev', 'eth0'], netns=lan)
    run(['ip', 'link', 'add', 'mv0', 'link', 'lan0', 'type', 'macvlan', 'mode', 'bridge'], netns=hv)
    run(['ip', 'link', 'set', 'mv0', 'netns', guest], netns=hv)
    run(['ip', 'addr', 'add', '10.40.0.11/24', 'dev', 'mv0'], netns=guest)
    run(['ip', 'link', 'set', 'mv0', 'up'], netns=guest)
    assert ping(lan, '10.40.0.11')  # the guest is on the LAN
    absent(diagnose(hv), 'macvlan-parent-isolated')  # not expected: not a finding
    found = fault_found_fixed(hv, 'macvlan-parent-isolated', 'lan0', 'host to its guest',
                              lambda: ping(hv, '10.40.0.11', timeout=1),
                              expect=dict(parent_reaches_guests=['lan0']))
    assert found['fix']['module'] == 'kvmnet.hostnet.macvlan_iface'
    assert ping(hv, '10.40.0.2')  # and the host still reaches the LAN


def test_macvlan_private_and_vepa_siblings(netns):
    """Two macvlans on one parent (VM NICs that stay in the host namespace): private and
    vepa keep them apart; the fix's bridge mode lets their ARP through."""
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.arp import probe_all
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.host import inside

    hv = netns('dghv')
    veth(hv, 'lan0', netns('dglan'), 'eth0')
    for name, mode, address in (('mva', 'private', '10.41.0.11'), ('mvb', 'vepa', '10.41.0.12')):
        run(['ip', 'link', 'add', name, 'link', 'lan0', 'type', 'macvlan', 'mode', mode], netns=hv)
        run(['ip', 'addr', 'add', address + '/24', 'dev', name], netns=hv)
        run(['ip', 'link', 'set', name, 'up'], netns=hv)

    def siblings_talk():
        with inside(hv):
            answers = probe_all([('mva', mac_of(hv, 'mva'), '10.41.0.12')])
        return answers == {('mva', '10.41.0.12'): mac_of(hv, 'mvb')}

    assert not siblings_talk()
    findings = diagnose(hv)
    fixes = [the(findings, 'macvlan-siblings-isolated', name)['fix'] for name in ('mva', 'mvb')]
    assert [f['evidence']['mode'] for f in findings
            if f['id'] == 'macvlan-siblings-isolated'] == ['private', 'vepa']
    for fix in fixes:
        apply_fix(hv, fix)
    absent(diagnose(hv), 'macvlan-siblings-isolated')
    assert eventually(siblings_talk)


# ---- VXLAN ------------------------------------------------------------------------------
def test_vxlan_dstport_differs_from_the_peer(netns):
    hvs = vxlan_pair(netns)
    run(['ip', 'link', 'del', 'vx42'], netns=hvs[1].ns)
    make_vtep(hvs[1], hvs[0], dstport=8472)
    found = fault_found_fixed(hvs[0].ns, 'vxlan-dstport-mismatch', 'vx42', 'the overlay',
                              lambda: overlay_works(hvs), peers=hvs[0].peer(hvs[1], 8472))
    assert found['evidence'] == {'dstport': 4789, 'peers': {hvs[1].ip: 8472}}
    assert found['fix']['args']['remotes'] == [hvs[1].ip]


def test_vxlan_peer_missing_from_head_end_replication(netns):
    hvs = vxlan_pair(netns)
    run(['bridge', 'fdb', 'del', ZERO, 'dev', 'vx42', 'dst', hvs[1].ip], netns=hvs[0].ns)
    found = fault_found_fixed(hvs[0].ns, 'vxlan-remote-missing', 'vx42', 'the overlay',
                              lambda: overlay_works(hvs), peers=hvs[0].peer(hvs[1]))
    assert found['evidence']['missing'] == [hvs[1].ip]


def test_vxlan_remote_unreachable(netns):
    hvs = vxlan_pair(netns)
    gone = UNDERLAY % 99
    run(['bridge', 'fdb', 'append', ZERO, 'dev', 'vx42', 'dst', gone], netns=hvs[0].ns)

    def replicates_only_to_live_peers():
        run(['ip', 'neigh', 'flush', 'all'], netns=hvs[0].vm)
        ping(hvs[0].vm, OVERLAY % 77, timeout=1)  # a broadcast, replicated to every remote
        neighbours = run(['ip', 'neigh', 'show', gone], netns=hvs[0].ns).stdout
        return 'FAILED' not in neighbours and 'INCOMPLETE' not in neighbours

    assert not replicates_only_to_live_peers()
    time.sleep(0.1)
    found = the(diagnose(hvs[0].ns), 'vxlan-remote-unreachable', 'vx42')
    assert list(found['evidence']['unreachable']) == [gone]
    apply_fix(hvs[0].ns, found['fix'])
    run(['ip', 'neigh', 'flush', 'all'], netns=hvs[0].ns)
    assert replicates_only_to_live_peers()
    absent(diagnose(hvs[0].ns), 'vxlan-remote-unreachable')
    assert eventually(lambda: overlay_works(hvs))


def test_vxlan_local_not_an_address_of_the_host(netns):
    hvs = vxlan_pair(netns)
    run(['ip', 'link', 'del', 'vx42'], netns=hvs[0].ns)
    make_vtep(hvs[0], hvs[1], local=UNDERLAY % 77)
    found = fault_found_fixed(hvs[0].ns, 'vxlan-local-not-on-host', 'vx42', 'the overlay',
                              lambda: overlay_works(hvs))
    assert found['fix']['args']['local'] == hvs[0].ip


def test_vxlan_port_blocked_by_the_firewall(netns):
    hvs = vxlan_pair(netns)
    run(['iptables', '-A', 'INPUT', '-p', 'udp', '--dport', '4789', '-j', 'DROP'], netns=hvs[1].ns)
    found = fault_found_fixed(hvs[1].ns, 'vxlan-port-blocked', 'vx42', 'the overlay',
                              lambda: overlay_works(hvs))
    assert found['evidence']['underlay'] == 'u0'


def test_vxlan_mtu_too_big_for_the_underlay(netns):
    """Without dev the kernel does not cap the VXLAN MTU: 1500 over a 1500 underlay."""
    hvs = vxlan_pair(netns, dev=False)
    for hv in hvs:
        run(['ip', 'link', 'set', 'vx42', 'mtu', '1500'], netns=hv.ns)
    assert overlay_works(hvs)
    assert not overlay_works(hvs, size=1472, dont_fragment=True)  # fits every MTU it sees
    found = the(diagnose(hvs[0].ns), 'vxlan-mtu-too-big', 'vx42')
    assert found['evidence']['underlay'] == 'u0' and found['fix']['args']['mtu'] == 1450
    for hv in hvs:  # the fix is per host; the VMs then follow the overlay MTU
        apply_fix(hv.ns, the(diagnose(hv.ns), 'vxlan-mtu-too-big', 'vx42')['fix'])
        run(['ip', 'link', 'set', 'eth0', 'mtu', '1450'], netns=hv.vm)
    absent(diagnose(hvs[0].ns), 'vxlan-mtu-too-big')
    assert eventually(lambda: overlay_works(hvs, size=1422, dont_fragment=True))


def test_vxlan_strict_rp_filter_on_the_underlay(netns):
    """hv2's route back to hv1 leaves through a second link (u1): strict reverse-path
    filtering drops hv1's tunnel packets arriving on u0."""
    hvs = vxlan_pair(netns)
    run(['ip', 'link', 'add', 'u1', 'type', 'veth', 'peer', 'name', 'u1', 'netns', hvs[1].ns],
        netns=hvs[0].ns)
    for hv in hvs:
        run(['ip', 'addr', 'add', '203.0.113.%d/24' % hv.number, 'dev', 'u1'], netns=hv.ns)
        run(['ip', 'link', 'set', 'u1', 'up'], netns=hv.ns)
    run(['ip', 'route', 'add', hvs[0].ip + '/32', 'via', '203.0.113.1', 'dev', 'u1'],
        netns=hvs[1].ns)
    run(['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=1'], netns=hvs[1].ns)
    found = fault_found_fixed(hvs[1].ns, 'vxlan-rp-filter-strict', 'u0', 'the overlay',
                              lambda: overlay_works(hvs), peers=hvs[1].peer(hvs[0]))
    assert found['evidence']['route_back_via'] == {hvs[0].ip: 'u1'}


def test_diagnose_playbook_takes_the_peers_from_the_inventory(netns, ansible_env, tmp_path):
    """playbooks/diagnose.yml (what the lab runs on a connectivity mismatch): hv2's
    inventory says its VTEP listens on 8472, hv1's on 4789."""
    hvs = vxlan_pair(netns)
    run(['ip', 'link', 'del', 'vx42'], netns=hvs[1].ns)
    make_vtep(hvs[1], hvs[0], dstport=8472)
    hosts = {}
    for hv, dstport in ((hvs[0], 4789), (hvs[1], 8472)):
        hosts['hv%d' % hv.number] = dict(
            ansible_connection='local', ansible_python_interpreter=sys.executable,
            diagnose_netns=hv.ns, hypervisor_network_vxlans=[
                dict(name='vx42', vni=42, dstport=dstport, local=hv.ip)])
    inventory = tmp_path / 'hosts.json'
    inventory.write_text(json.dumps({'hypervisors': {'hosts': hosts}}))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                           '-i', str(inventory), os.path.join(REPO, 'playbooks', 'diagnose.yml')],
                          env=ansible_env, capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stdout[-3000:]  # the error findings fail the play
    assert 'error | vxlan-dstport-mismatch | vx42' in proc.stdout
    # Each side sends to a port the other does not listen on: both are told.
    assert proc.stdout.count('error | vxlan-dstport-mismatch | vx42') == 2
    assert '1 error finding(s) on hv1' in proc.stdout and '1 error finding(s) on hv2' in proc.stdout


@pytest.mark.parametrize('bad', [dict(peers=[dict(dstport=4789)]), dict(expect=dict(nope=1))])
def test_bad_input_fails_clearly(netns, bad):
    hv = netns('dghv')
    result = run_module(DIAGNOSE, dict(bad, netns=hv))
    assert result['failed'] and ('address' in result['msg'] or 'nope' in result['msg'])
