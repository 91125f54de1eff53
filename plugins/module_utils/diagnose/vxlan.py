# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VXLAN findings: peers' UDP port, MTU, head-end replication list, local, firewall, rp_filter.

``peers`` (from the inventory) says where the other VTEPs are and which UDP port
they listen on: ``[{address: 192.0.2.12, dstport: 8472, vni: 42}]``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.finding import (
    command_fix, finding, module_fix)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.netfilter import accept_fix
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vxlan import VXLAN_OVERHEAD

ZERO_MAC = '00:00:00:00:00:00'
NUD_INCOMPLETE = 0x01
NUD_FAILED = 0x20
RP_FILTER_STRICT = 1


class Vtep:
    """One VXLAN link with what the checks need: its port, underlay and flooding peers."""

    def __init__(self, host, link):
        self.link = link
        self.name = link.name
        self.vni = link.data.get('IFLA_VXLAN_ID')
        self.dstport = link.data.get('IFLA_VXLAN_PORT')
        self.local = _address(link.data.get('IFLA_VXLAN_LOCAL'))
        group = _address(link.data.get('IFLA_VXLAN_GROUP'))
        self.multicast = group is not None and 224 <= int(group.split('.')[0]) <= 239
        self.remote = None if self.multicast else group
        entries = [entry for entry in host.fdb
                   if entry['ifindex'] == link.index and entry['dst'] and entry['master'] is None]
        self.flood = [entry['dst'] for entry in entries if entry['mac'] == ZERO_MAC]
        if self.remote and self.remote not in self.flood:
            self.flood.insert(0, self.remote)
        self.static = [dict(mac=entry['mac'], dst=entry['dst']) for entry in entries
                       if entry['mac'] != ZERO_MAC and entry['state'] & 0x80]
        self.ports = dict((entry['dst'], entry['port']) for entry in entries if entry['port'])
        self.underlay = self._underlay(host)

    def _underlay(self, host):
        dev = host.by_index.get(self.link.data.get('IFLA_VXLAN_LINK'))
        if dev is not None:
            return dev
        for address in self.flood:
            route = host.route_to(address)
            if route is not None and route.get('RTA_OIF') in host.by_index:
                return host.by_index[route.get('RTA_OIF')]
        return None

    def port_to(self, address):
        return self.ports.get(address) or self.dstport

    def args(self, **changes):
        """vxlan_vtep arguments that restate what must survive: VNI, port, flooding list, FDB."""
        args = OrderedDict([('name', self.name), ('vni', self.vni), ('dstport', self.dstport)])
        args.update(changes)
        return args

    def recreate_args(self, **changes):
        args = self.args(**changes)
        if not self.multicast:
            args.setdefault('remotes', list(self.flood))
        if self.static:
            args['fdb'] = self.static
        return args


def _address(value):
    return None if value in (None, '0.0.0.0') else value


def check(host, request):
    peers = [peer for peer in request.get('peers') or [] if peer.get('address')]
    found = []
    for link in host.of_kind('vxlan'):
        vtep = Vtep(host, link)
        mine = [peer for peer in peers if peer.get('vni') in (None, vtep.vni)
                and peer['address'] != vtep.local]
        found.extend(_dstport(host, vtep, mine))
        found.extend(_mtu(host, vtep))
        found.extend(_missing(host, vtep, mine))
        found.extend(_unreachable(host, vtep))
        found.extend(_local(host, vtep))
        found.extend(_blocked(host, vtep))
        found.extend(_rp_filter(host, vtep, mine))
    return found


def _dstport(host, vtep, peers):
    wrong = OrderedDict((peer['address'], peer['dstport']) for peer in peers
                        if peer.get('dstport') and peer['dstport'] != vtep.port_to(peer['address']))
    if not wrong:
        return []
    theirs = sorted(set(wrong.values()))
    return [finding(
        'vxlan-dstport-mismatch', 'error', vtep.name,
        OrderedDict([('dstport', vtep.dstport), ('peers', wrong)]),
        '%s sends to and listens on UDP %s but %s listen%s on %s: the tunnel carries nothing '
        'between them. The IANA port is 4789; Linux defaults to 8472 when none is given (seed 004)'
        % (vtep.name, vtep.dstport, ', '.join(wrong), 's' if len(wrong) == 1 else '',
           '/'.join(str(port) for port in theirs)),
        module_fix(host, 'vxlan_vtep', 'use the peers\' port (the link is recreated, its bridge '
                   'port and FDB are restated); or change the peers instead',
                   **vtep.recreate_args(dstport=theirs[0])))]


def _mtu(host, vtep):
    if vtep.underlay is None:
        return []
    room = vtep.underlay.mtu - VXLAN_OVERHEAD
    if vtep.link.mtu <= room:
        return []
    return [finding(
        'vxlan-mtu-too-big', 'error', vtep.name,
        OrderedDict([('mtu', vtep.link.mtu), ('underlay', vtep.underlay.name),
                     ('underlay_mtu', vtep.underlay.mtu), ('overhead', VXLAN_OVERHEAD)]),
        '%s has MTU %d but its underlay %s has %d and VXLAN adds %d bytes: a full-size frame '
        'becomes a %d-byte packet the underlay must fragment or drop, so large packets '
        'vanish silently while ping works (seed 004)'
        % (vtep.name, vtep.link.mtu, vtep.underlay.name, vtep.underlay.mtu, VXLAN_OVERHEAD,
           vtep.link.mtu + VXLAN_OVERHEAD),
        module_fix(host, 'vxlan_vtep', 'lower the VXLAN MTU to what the underlay can carry (or '
                   'raise the underlay MTU to %d)' % (vtep.link.mtu + VXLAN_OVERHEAD),
                   **vtep.args(mtu=room)))]


def _missing(host, vtep, peers):
    if vtep.multicast:
        return []
    missing = [peer['address'] for peer in peers if peer['address'] not in vtep.flood]
    if not missing:
        return []
    return [finding(
        'vxlan-remote-missing', 'error', vtep.name,
        OrderedDict([('flood_to', vtep.flood), ('missing', missing)]),
        '%s replicates broadcasts (ARP) to %s, not to %s: the VMs behind %s and the VMs here '
        'never learn each other\'s MACs and cannot talk'
        % (vtep.name, ', '.join(vtep.flood) or 'no peer', ', '.join(missing), ', '.join(missing)),
        module_fix(host, 'vxlan_vtep', 'add the missing peers to the head-end replication list',
                   **vtep.args(remotes=vtep.flood + missing)))]


def unreachable_why(host, address):
    """Why the underlay cannot reach ``address`` now, or None."""
    route = host.route_to(address)
    if route is None:
        return 'no route'
    next_hop = route.get('RTA_GATEWAY') or address
    for entry in host.neighbours:
        if entry['dst'] == next_hop and entry['ifindex'] == route.get('RTA_OIF') \
                and entry['state'] & (NUD_FAILED | NUD_INCOMPLETE):
            return 'ARP for %s on %s fails' % (next_hop, host.name_of(entry['ifindex']))
    return None


def _unreachable(host, vtep):
    dead = OrderedDict((address, unreachable_why(host, address)) for address in vtep.flood)
    dead = OrderedDict((address, why) for address, why in dead.items() if why)
    if not dead:
        return []
    return [finding(
        'vxlan-remote-unreachable', 'error', vtep.name,
        OrderedDict([('flood_to', vtep.flood), ('unreachable', dead)]),
        '%s replicates to %s, which the underlay cannot reach (%s): the VMs behind that peer are '
        'cut off, and every broadcast is sent into the void'
        % (vtep.name, ', '.join(dead), '; '.join('%s: %s' % item for item in dead.items())),
        module_fix(host, 'vxlan_vtep', 'drop the peers that are gone from the replication list '
                   '(when they are not gone, repair the underlay route or link to them instead)',
                   **vtep.args(remotes=[a for a in vtep.flood if a not in dead])))]


def _local(host, vtep):
    if vtep.local is None or vtep.local in host.local_ipv4():
        return []
    candidates = host.ipv4_of(vtep.underlay) if vtep.underlay is not None else []
    if candidates:
        fix = module_fix(host, 'vxlan_vtep', 'use the underlay\'s own address as local',
                         **vtep.args(local=candidates[0].split('/')[0]))
    else:
        fix = command_fix('give the underlay interface the address %s, or set local to one of '
                          'this host\'s addresses with kvmnet.hostnet.vxlan_vtep' % vtep.local)
    return [finding(
        'vxlan-local-not-on-host', 'error', vtep.name,
        OrderedDict([('local', vtep.local), ('underlay', vtep.underlay.name if vtep.underlay else None),
                     ('host_addresses', sorted(host.local_ipv4()))]),
        '%s sends its tunnel packets from %s, which is not an address of this host: the kernel '
        'cannot route them and the tunnel is silent (a copied host_vars file, a renumbered NIC)'
        % (vtep.name, vtep.local), fix)]


def _blocked(host, vtep):
    iif = vtep.underlay.name if vtep.underlay is not None else None
    drops = host.firewall.dropped('input', dict(iif=iif, proto='udp', dport=vtep.dstport))
    if not drops:
        return []
    match = (['-i', iif] if iif else []) + ['-p', 'udp', '--dport', str(vtep.dstport)]
    nft = (['iifname', iif] if iif else []) + ['udp', 'dport', str(vtep.dstport)]
    return [finding(
        'vxlan-port-blocked', 'error', vtep.name,
        OrderedDict([('dstport', vtep.dstport), ('underlay', iif),
                     ('dropped_by', [why for _where, why in drops])]),
        'the firewall drops the VXLAN packets %s listens for (UDP %s%s): %s'
        % (vtep.name, vtep.dstport, ' on %s' % iif if iif else '',
           '; '.join(why for _where, why in drops)),
        accept_fix(host, drops[0][0], 'accept VXLAN (UDP %s) from the underlay' % vtep.dstport,
                   match, nft))]


def _rp_filter(host, vtep, peers):
    underlay = vtep.underlay
    if underlay is None or host.conf('rp_filter', underlay.name) != RP_FILTER_STRICT:
        return []
    elsewhere = OrderedDict()
    for address in vtep.flood + [peer['address'] for peer in peers if peer['address'] not in vtep.flood]:
        route = host.route_to(address)
        if route is not None and route.get('RTA_OIF') != underlay.index:
            elsewhere[address] = host.name_of(route.get('RTA_OIF'))
    if not elsewhere:
        return []
    return [finding(
        'vxlan-rp-filter-strict', 'error', underlay.name,
        OrderedDict([('vxlan', vtep.name), ('rp_filter', RP_FILTER_STRICT),
                     ('route_back_via', elsewhere)]),
        'strict reverse-path filtering on %s drops the tunnel packets of %s from %s: they arrive '
        'on %s but the route back to the sender leaves through %s'
        % (underlay.name, vtep.name, ', '.join(elsewhere), underlay.name,
           ', '.join(sorted(set(v for v in elsewhere.values() if v)))),
        command_fix('loose reverse-path filtering on the underlay (persist it in /etc/sysctl.d/)',
                    ['sysctl', '-w', 'net.ipv4.conf.%s.rp_filter=2' % underlay.name]))]
