# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's network state, gathered once for every check of a diagnosis.

Netlink state comes through one ``NetlinkSession``. What netlink does not carry
(sysctls, firewall rules, teamd's state, an ARP probe) is read from inside the
namespace: the process enters it for the gather and leaves it afterwards, so
/proc/sys, sockets and the programs it runs all see the namespace being diagnosed.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import os
import re
import socket
import subprocess

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import compat
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import (
    NETNS_DIR, NetlinkSession)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose import arp, firewall
from ansible_collections.kvmnet.hostnet.plugins.module_utils.programs import teamd

NUD_INCOMPLETE = 0x01
NUD_FAILED = 0x20
NUD_PERMANENT = 0x80
NUD_NOARP = 0x40
NTF_SELF = 0x02
IFF_LOWER_UP = 0x10000
# 0 perm, 1 random, 2 stolen, 3 set by the user (pinned): /sys/class/net/X/addr_assign_type
NET_ADDR_SET = 3
# Device names libvirt gives VM NICs, and Docker its bridges and veths.
VM_DEVICE = re.compile(r'^(vnet|macvtap)[0-9]+$')
DOCKER_DEVICE = re.compile(r'^(docker[0-9]+|br-[0-9a-f]{12}|veth[0-9a-f]{7})$')


@contextlib.contextmanager
def inside(netns):
    """Run the block with this process in ``netns`` (no-op for the host)."""
    if not netns:
        yield
        return
    from pyroute2 import netns as pyroute2_netns
    try:
        pyroute2_netns.pushns(netns)
    except OSError as error:
        raise NetError('cannot enter network namespace %s to read sysctls and the firewall: %s'
                       % (netns, error))
    try:
        yield
    finally:
        pyroute2_netns.popns()


def run(argv):
    """(rc, stdout) of a program run for a read; rc None when it is not installed."""
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError:
        return None, ''
    out, _err = proc.communicate()
    return proc.returncode, out.decode('utf-8', 'replace')


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


class HostState:
    """Links, addresses, routes, neighbours, FDB, sysctls, firewall, teamd, ARP probes."""

    def __init__(self, net, netns=None, arp_probe=True, vm_ports=(), gateways=()):
        """``gateways``: (address, bridge) pairs to ARP-probe on that bridge."""
        self.netns = netns
        self.named_vm_ports = set(vm_ports)
        self.net = net
        net.remember()  # one link dump serves every check
        self.links = net.all_links()
        self.by_name = dict((link.name, link) for link in self.links)
        self.by_index = dict((link.index, link) for link in self.links)
        self.addresses = net.all_addresses()
        self.routes = net.routes(family=socket.AF_INET)
        self.neighbours = net.neighbours()
        self.fdb = net.bridge_fdb()
        self.skipped = []
        self._route_cache = {}
        self._veth_peers = None
        with inside(netns):
            self.sysctls = self._read_sysctls()
            self.firewall = firewall.gather(run, self.skipped)
            self._probe(gateways if arp_probe else None)
        self.teamd = dict((link.name, self._teamd_config(link.name))
                          for link in self.links if link.kind == 'team')
        self.mac_pinned = self._macs_pinned([link.name for link in self.links
                                             if link.kind == 'bridge'])

    def _probe(self, gateways):
        """ARP-probe the bridges' own addresses (a conflict: someone else answers) and the
        gateways named (alive: someone answers). ``gateways`` None: no probe at all."""
        self.conflicts, self.gateway_answers, self.probed_gateways = {}, {}, []
        if gateways is None:
            return
        targets = [(bridge, self.by_name[bridge].mac, address)
                   for address, bridge in gateways if bridge in self.by_name]
        self.probed_gateways = [(bridge, address) for bridge, _mac, address in targets]
        answers = arp.probe_all(self._probe_targets() + targets)
        # The host answers ARP for its own addresses on every interface it has (arp_ignore=0).
        own = set(link.mac for link in self.links)
        for key, mac in answers.items():
            if key in self.probed_gateways:
                self.gateway_answers[key] = mac
            elif mac not in own:
                self.conflicts[key] = mac

    # ---- links ---------------------------------------------------------------
    def name_of(self, index):
        link = self.by_index.get(index)
        return link.name if link else None

    def ports_of(self, master):
        return [link for link in self.links if link.master == master.index]

    def of_kind(self, *kinds):
        """Links of these kinds, Docker's own left out (Docker keeps its networks working)."""
        return [link for link in self.links if link.kind in kinds
                and not DOCKER_DEVICE.match(link.name or '')]

    def veth_peer_macs(self):
        """{MAC: port} for bridge ports that are veths whose other end lives in another named
        namespace (how containers and VM stand-ins attach): frames from that MAC belong
        behind that port. Read once, and only when there are such ports."""
        if self._veth_peers is None:
            self._veth_peers = {}
            remote = dict((link.index, link) for link in self.links if link.kind == 'veth'
                          and link.master and link.link_netnsid is not None and link.parent)
            if remote:
                self._veth_peers = self._read_veth_peers(remote)
        return self._veth_peers

    def _read_veth_peers(self, ports):
        wanted = set(port.link_netnsid for port in ports.values())
        found = {}
        for name in _named_namespaces():
            try:
                handle = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
            except OSError:
                continue
            try:
                nsid = (self.net.ipr.get_netnsid(fd=handle) or {}).get('nsid')
            except (AttributeError, compat.NetlinkError, OSError):  # old pyroute2, old kernel
                nsid = None
            finally:
                os.close(handle)
            if nsid not in wanted:
                continue
            try:
                with NetlinkSession(name) as other:
                    for port in ports.values():
                        if port.link_netnsid == nsid:
                            peer = other.link_by_index(port.parent)
                            if peer is not None and peer.mac:
                                found[peer.mac] = port.name
            except NetError:
                continue
        return found

    def is_vm_port(self, link):
        """A VM's NIC: a tap, a libvirt vnetN/macvtapN, or a port the caller named."""
        return link.name in self.named_vm_ports or link.kind == 'tun' \
            or VM_DEVICE.match(link.name or '') is not None

    def uplinks(self, bridge):
        return [port for port in self.ports_of(bridge) if not self.is_vm_port(port)]

    def vm_ports(self, bridge):
        return [port for port in self.ports_of(bridge) if self.is_vm_port(port)]

    @staticmethod
    def carrier(link):
        return link.up and bool(link.flags & IFF_LOWER_UP)

    def ipv4_of(self, link):
        """The IPv4 addresses (ip/prefix) of ``link``."""
        return [cidr for cidr, family, _scope, _msg in self.addresses.get(link.index, [])
                if family == socket.AF_INET]

    def global_addresses(self, link):
        """Addresses a host talks from: IPv4 and global IPv6 (scope 0), not link-local."""
        return [cidr for cidr, _family, scope, _msg in self.addresses.get(link.index, [])
                if scope == 0]

    def local_ipv4(self):
        return set(cidr.split('/')[0] for link in self.links for cidr in self.ipv4_of(link))

    def route_to(self, address):
        if address not in self._route_cache:
            self._route_cache[address] = self.net.route_to(address)
        return self._route_cache[address]

    def sysctl(self, key, default=None):
        return self.sysctls.get(key, default)

    def conf(self, setting, link_name):
        """Effective net.ipv4.conf value for a link: max(all, <link>) (rp_filter, forwarding)."""
        values = [self.sysctl('net.ipv4.conf.%s.%s' % (name, setting)) for name in ('all', link_name)]
        values = [value for value in values if value is not None]
        return max(values) if values else None

    # ---- gathering -----------------------------------------------------------
    def _read_sysctls(self):
        keys = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter',
                'net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables',
                'net.bridge.bridge-nf-call-arptables']
        keys.extend('net.ipv4.conf.%s.rp_filter' % link.name for link in self.links)
        values = {}
        for key in keys:
            text = read_text('/proc/sys/' + _sysctl_path(key))
            if text is not None and text.lstrip('-').isdigit():
                values[key] = int(text)
        return values

    def _teamd_config(self, name):
        """The running teamd's config of team ``name``, or None when no teamd runs it."""
        if teamd.running_runner(self.netns, name) is None:
            return None
        try:
            return teamd.dump(self.netns, name, 'config')
        except NetError:
            return None

    def _probe_targets(self):
        """(bridge name, its MAC, IPv4 address) for every IPv4 address of a bridge with ports."""
        targets = []
        for bridge in self.of_kind('bridge'):
            if not self.carrier(bridge):
                continue
            for cidr in self.ipv4_of(bridge):
                targets.append((bridge.name, bridge.mac, cidr.split('/')[0]))
        return targets

    def _macs_pinned(self, bridges):
        """{bridge: whether its MAC was set explicitly, None when sysfs cannot tell}."""
        paths = dict(('/sys/class/net/%s/addr_assign_type' % name, name) for name in bridges)
        if self.netns and paths:
            # sysfs shows the namespace it was mounted in: read it through ip netns exec,
            # all files in one go ("path:value" lines).
            _rc, out = run(['ip', 'netns', 'exec', self.netns, 'grep', '-s', '-H', ''] + sorted(paths))
            texts = dict(line.rsplit(':', 1) for line in out.splitlines() if ':' in line)
        else:
            texts = dict((path, read_text(path)) for path in paths)
        found = {}
        for path, name in paths.items():
            text = (texts.get(path) or '').strip()
            found[name] = int(text) == NET_ADDR_SET if text.isdigit() else None
        return found


def _named_namespaces():
    try:
        return sorted(os.listdir(NETNS_DIR))
    except OSError:
        return []


def _sysctl_path(key):
    """net.ipv4.conf.eth0.rp_filter -> net/ipv4/conf/eth0/rp_filter; interface names keep dots."""
    parts = key.split('.')
    if len(parts) > 4 and parts[2] == 'conf':
        return '/'.join(parts[:3] + ['.'.join(parts[3:-1]), parts[-1]])
    return '/'.join(parts)
