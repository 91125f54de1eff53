# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bridge findings: STP, the bridge MAC, dead taps, addresses on ports, VM MACs on uplinks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose import aggregation
from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.finding import (
    command_fix, finding, module_fix)

# IFLA_BRPORT_STATE
PORT_STATES = {0: 'disabled', 1: 'listening', 2: 'learning', 3: 'forwarding', 4: 'blocking'}
NOT_YET_FORWARDING = (1, 2)
# With STP on the kernel accepts 2-30 s; anything above the minimum delays every new port.
STP_MIN_FORWARD_DELAY = 2.0
NUD_PERMANENT = 0x80
NTF_SELF = 0x02


def check(host, request):
    found = []
    for bridge in host.of_kind('bridge'):
        found.extend(_stp(host, bridge))
        found.extend(_mac_drift(host, bridge))
        found.extend(_dead_taps(host, bridge))
        found.extend(_vm_macs_on_uplinks(host, bridge, request))
    found.extend(_addresses_on_ports(host))
    return found


def _stp_fix(host, bridge, waiting=()):
    """STP off; ports already listening keep waiting out their timer unless set forwarding."""
    fix = module_fix(host, 'linux_bridge', 'turn STP off and forward at once (a VM bridge has no '
                     'loops to break)%s' % (', and let the waiting ports forward now' if waiting
                                            else ''),
                     name=bridge.name, stp=False, forward_delay=0)
    if waiting:
        fix['commands'] = [['bridge', 'link', 'set', 'dev', name, 'state', '3'] for name in waiting]
    return fix


def _stp(host, bridge):
    if not bridge.data.get('IFLA_BR_STP_STATE'):
        return []
    delay = bridge.data.get('IFLA_BR_FORWARD_DELAY', 0) / 100.0
    found = []
    waiting = OrderedDict((port.name, PORT_STATES[port.slave_data.get('IFLA_BRPORT_STATE')])
                          for port in host.ports_of(bridge)
                          if port.slave_data.get('IFLA_BRPORT_STATE') in NOT_YET_FORWARDING)
    if waiting:
        found.append(finding(
            'stp-port-not-forwarding', 'error', bridge.name,
            OrderedDict([('stp', True), ('forward_delay', delay), ('ports', waiting)]),
            'STP is on and %s still %s: a port forwards nothing until it has spent forward_delay '
            '(%gs) listening and again learning, so a VM that just started has no network for '
            'up to %gs' % (', '.join(waiting), '/'.join(sorted(set(waiting.values()))), delay,
                           2 * delay),
            _stp_fix(host, bridge, waiting)))
    if delay > STP_MIN_FORWARD_DELAY:
        found.append(finding(
            'stp-forward-delay-long', 'warning', bridge.name,
            OrderedDict([('stp', True), ('forward_delay', delay)]),
            'STP is on with forward_delay %gs: every new port (each VM start, each migration in) '
            'waits %gs before it forwards; DHCP and PXE in the guest time out meanwhile'
            % (delay, 2 * delay),
            _stp_fix(host, bridge)))
    return found


def _mac_drift(host, bridge):
    """An unpinned bridge MAC follows the lowest port MAC and changes as ports come and go.

    With a host address on the bridge that breaks the neighbours' ARP caches and DHCP
    leases at the next change; without one, a MAC that already left its first port's
    (the uplink's, usually) shows the drift.
    """
    ports = host.ports_of(bridge)
    if not ports or host.mac_pinned.get(bridge.name) is not False:
        return []
    addresses = host.global_addresses(bridge)
    first = ports[0]  # the lowest ifindex: the port that was there first
    if not addresses and bridge.mac == first.mac:
        return []
    # Pin what the neighbours know now; with no address nobody knows it: the first port's.
    mac = bridge.mac if addresses else first.mac
    return [finding(
        'bridge-mac-unpinned', 'warning', bridge.name,
        OrderedDict([('mac', bridge.mac), ('addr_assign_type', 'not set'),
                     ('first_port', first.name), ('first_port_mac', first.mac),
                     ('port_macs', OrderedDict((port.name, port.mac) for port in ports)),
                     ('addresses', addresses)]),
        'the MAC of %s was never set, so the kernel gives it the lowest MAC among its ports%s: '
        'a port that comes or goes (a VM starting, a NIC replaced) changes it again%s (seed 001)'
        % (bridge.name, '' if bridge.mac == first.mac else
           ' (now %s\'s, no longer %s\'s)' % (_holder(ports, bridge.mac), first.name),
           ', and with it the MAC of the host address %s: DHCP leases and the neighbours\' ARP '
           'caches break' % ', '.join(addresses) if addresses else ''),
        command_fix('pin the MAC: setting a bridge MAC, even to the value it has, pins it '
                    '(kvmnet.hostnet.linux_bridge pins it whenever it attaches a port)',
                    ['ip', 'link', 'set', 'dev', bridge.name, 'address', mac]))]


def _holder(ports, mac):
    return next((port.name for port in ports if port.mac == mac), 'another port')


def _dead_taps(host, bridge):
    found = []
    for port in host.ports_of(bridge):
        if port.kind == 'tun' and not host.carrier(port):
            found.append(finding(
                'tap-no-carrier', 'info', port.name,
                OrderedDict([('bridge', bridge.name), ('up', port.up),
                             ('operstate', port.operstate)]),
                'tap %s on %s has no carrier: no VM (no process) holds it, so frames to the MACs '
                'behind it go nowhere; a leftover of a VM that is gone, or a VM that is not running'
                % (port.name, bridge.name),
                command_fix('start its VM; if the VM is gone, remove the leftover tap',
                            ['ip', 'link', 'del', 'dev', port.name])))
    return found


def guest_macs(tap_mac):
    """Guest MACs a tap's host side may belong to: libvirt and kvm_vm_nic replace byte one."""
    return tap_mac[3:] if tap_mac else None


def _vm_macs_on_uplinks(host, bridge, request):
    """Seed 000: a MAC that lives behind one port (a VM's) learned on another (the uplink),
    so frames for it leave through the wrong port and the VM loses its network."""
    ports = dict((port.index, port) for port in host.ports_of(bridge))
    if len(ports) < 2:
        return []
    by_tail = dict((guest_macs(port.mac), port.name) for port in ports.values() if port.kind == 'tun')
    owners = dict(host.veth_peer_macs())
    owners.update((mac.lower(), name) for mac, name in (request.get('vm_macs') or {}).items())
    found = []
    # One finding per MAC and port: a dump can list an entry twice (once per VLAN, or
    # again when the table changed while it was read).
    reported = set()
    for entry in host.fdb:
        learned_on = ports.get(entry['ifindex'])
        mac = (entry['mac'] or '').lower()
        if learned_on is None or entry['master'] != bridge.index or entry['state'] & NUD_PERMANENT \
                or entry['flags'] & NTF_SELF or (mac, learned_on.index) in reported:
            continue
        owner = owners.get(mac) or by_tail.get(guest_macs(mac))
        if owner is None or owner == learned_on.name or owner not in host.by_name:
            continue
        reported.add((mac, learned_on.index))
        found.append(finding(
            'vm-mac-on-uplink', 'error', learned_on.name,
            OrderedDict([('bridge', bridge.name), ('mac', mac), ('learned_on', learned_on.name),
                         ('vm_port', owner), ('uplink_kind', learned_on.kind)]),
            'the bridge %s learned the MAC %s of the VM behind %s on %s: the VM\'s own frames came '
            'back in through %s (a switch flooding them back to aggregated ports it does not treat '
            'as one, or a loop), so frames for the VM leave through %s and the VM loses its '
            'network (seed 000)' % (bridge.name, mac, owner, learned_on.name, learned_on.name,
                                    learned_on.name),
            _uplink_fix(host, learned_on, mac)))
    return found


def _uplink_fix(host, uplink, mac):
    fix = aggregation.safe_mode_fix(host, uplink)
    if fix is not None:
        return fix
    return command_fix(
        'stop the switch from sending the VM\'s frames back (no loop, aggregated ports configured '
        'as one group on the switch), then forget the wrong entry',
        ['bridge', 'fdb', 'del', mac, 'dev', uplink.name, 'master'])


def _addresses_on_ports(host):
    found = []
    for port in host.links:
        master = host.by_index.get(port.master) if port.master else None
        if master is None or master.kind != 'bridge':
            continue
        addresses = host.global_addresses(port)
        if not addresses:
            continue
        found.append(finding(
            'address-on-bridge-port', 'error', port.name,
            OrderedDict([('bridge', master.name), ('addresses', addresses)]),
            '%s is a port of %s but holds %s: a bridge port hands every frame it receives to the '
            'bridge, so the host never answers on this address; the address belongs on %s (seed 001)'
            % (port.name, master.name, ', '.join(addresses), master.name),
            module_fix(host, 'linux_bridge', 'move the addresses and the default route from %s to %s'
                       % (port.name, master.name), name=master.name, takeover_from=port.name)))
    return found
