# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's links read back as the hypervisor_network role's variables.

Each item carries the options of its module as that module reads them, so applying
the result to the same host plans nothing. What the collection does not manage
(libvirt's vnetN/macvtapN devices, Docker's bridges and veths, kinds without a
module) is left out and listed with the reason.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import socket
from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError
from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.host import (
    DOCKER_DEVICE, VM_DEVICE as LIBVIRT_DEVICE)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import PORT_OPTIONS
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.vm_nic import (
    guest_mac, host_side_mac, nic_name)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import bond, kind_named, team
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.macvlan import MacvlanKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.vxlan import VXLAN_OVERHEAD
from ansible_collections.kvmnet.hostnet.plugins.module_utils.programs import teamd

SECTIONS = ('bonds', 'teams', 'vlans', 'bridges', 'vxlans', 'macvlans', 'vm_nics')
PREFIX = 'hypervisor_network_'
ZERO_MAC = '00:00:00:00:00:00'
NUD_PERMANENT = 0x80
NTF_SELF = 0x02
VM_NIC_NAME = re.compile(r'^(?P<vm>.+)-(?P<index>[0-9]+)$')
# Options the kernel accepts only in some bond modes (the module refuses them elsewhere).
BOND_MODE_ONLY = bond.ONLY_IN_MODES
BOND_MODE = bond.BondKind.options['mode'].codec
TEAM_RUNNER_KEYS = ('hwaddr_policy', 'tx_hash')
TEAM_LACP_KEYS = ('active', 'fast_rate', 'sys_prio', 'min_ports', 'agg_select_policy')
GUEST_FIRST_BYTE = '52'
STANDARD_MTU = 1500
HOST_SIDE_FIRST_BYTE = 'fe'
# A new bridge port's options (its cost follows the link speed).
PORT_DEFAULTS = dict(hairpin=False, learning=True, unicast_flood=True, priority=32, isolated=False)
# What a link gets when the option is left out (kernel defaults, or the module's where it
# sets one): such values are not written, so host_vars show only what was chosen.
DEFAULTS = {
    'bridge': dict(stp=False, forward_delay=15.0, hello_time=2.0, max_age=20.0, ageing_time=300.0,
                   priority=32768, multicast_snooping=True),
    'vxlan': dict(learning=True, ttl=0, tos=0, udp_csum=True),
    'vlan': dict(protocol='802.1Q', reorder_hdr=True, gvrp=False, mvrp=False, loose_binding=False),
    'bond': dict(miimon=0, updelay=0, downdelay=0, lacp_rate='slow', xmit_hash_policy='layer2',
                 ad_select='stable'),
    'macvlan': dict(nopromisc=False),
    'macvtap': dict(nopromisc=False),
    'tun': dict(multi_queue=False, vnet_hdr=True),
}
MACVLAN = MacvlanKind()
MACVTAP = MacvlanKind(tap=True)


class HostInventory:
    """Reads every link of the namespace ``net`` works in, once."""

    def __init__(self, net):
        self.net = net
        net.remember()  # one link dump serves every reader
        self.links = net.all_links()
        self.by_index = dict((link.index, link) for link in self.links)
        self.addresses = net.all_addresses()
        self.fdb = net.bridge_fdb()
        self.default_routes = [route for family in (socket.AF_INET, socket.AF_INET6)
                               for route in net.default_routes(family)]
        self.left_out = []
        self.notes = []
        self.items = OrderedDict((section, []) for section in SECTIONS)

    def read(self):
        readers = dict(bond=self._bond, team=self._team, vlan=self._vlan, bridge=self._bridge,
                       vxlan=self._vxlan, macvlan=self._macvlan, macvtap=self._macvlan,
                       tun=self._vm_nic)
        for link in self.links:
            why = self._unmanaged(link)
            if why is None and link.kind not in readers:
                why = 'the hypervisor_network role has no variable for kind %s' % link.kind
            if why:
                if link.name != 'lo':
                    self.left_out.append(OrderedDict([('name', link.name), ('kind', link.kind),
                                                      ('why', why)]))
                continue
            readers[link.kind](link)
        return OrderedDict((PREFIX + section, items) for section, items in self.items.items())

    # ---- what is not ours ------------------------------------------------------
    def _unmanaged(self, link):
        if link.name == 'lo':
            return 'loopback'
        if LIBVIRT_DEVICE.match(link.name):
            return 'libvirt creates and removes its VMs\' devices itself'
        if DOCKER_DEVICE.match(link.name) or self._docker_port(link):
            return 'Docker manages its networks itself'
        if link.kind is None:
            return 'a NIC (or a device of no kind): nothing to create; it appears as a port or parent'
        if link.link_netnsid is not None and link.kind in ('macvlan', 'macvtap', 'vlan', 'vxlan'):
            return 'its parent lives in another network namespace'
        return None

    def _docker_port(self, link):
        master = self.by_index.get(link.master) if link.master else None
        return master is not None and DOCKER_DEVICE.match(master.name) is not None

    # ---- common reads -------------------------------------------------------------
    def _options(self, kind, link):
        """The kind's options as its module reads them, leaving out None and defaults."""
        view = LinkFacet(kind, link.name).view(self.net, link)
        defaults = DEFAULTS.get(link.kind, {})
        return OrderedDict((key, view[key]) for key in kind.options
                           if view.get(key) is not None and view[key] != defaults.get(key))

    def _item(self, link, kind, default_mtu=STANDARD_MTU, mac=False):
        item = OrderedDict([('name', link.name)])
        item.update(self._options(kind, link))
        if link.mtu != default_mtu:
            item['mtu'] = link.mtu
        if mac:
            item['mac'] = link.mac
        if not link.up:
            item['up'] = False
        return item

    def ports_of(self, link):
        return [port for port in self.links if port.master == link.index]

    def _port_options(self, port):
        """Port options that differ from a new port's; the cost only where STP uses it."""
        master = self.by_index.get(port.master)
        stp = bool(master.data.get('IFLA_BR_STP_STATE')) if master is not None else False
        options = OrderedDict()
        for key, (nla, _keyword, codec) in PORT_OPTIONS.items():
            value = codec.decode(port.slave_data[nla]) if nla in port.slave_data else None
            if value is None or value == PORT_DEFAULTS.get(key) or (key == 'cost' and not stp):
                continue
            options[key] = value
        return options

    def _attachment(self, link):
        """The ``bridge`` option of a link that is a bridge port, or None."""
        master = self.by_index.get(link.master) if link.master else None
        if master is None or master.kind != 'bridge':
            return None
        attachment = OrderedDict([('name', master.name)])
        attachment.update(self._port_options(link))
        return attachment

    def _floods(self, link):
        """A bond/team under a bridge in a mode the modules refuse there unless the operator
        says the switch aggregates (switch_configured): adoption keeps it as it is."""
        if self._attachment(link) is None or link.kind not in ('bond', 'team'):
            return False
        if link.kind == 'bond':
            mode = BOND_MODE.decode(link.data.get('IFLA_BOND_MODE'))
            return bond.bridge_mode_problem(link.name, mode, False) is not None
        return teamd.running_runner(self.net.netns, link.name) in team.UNSAFE_UNDER_BRIDGE

    # ---- one reader per kind ---------------------------------------------------
    def _bond(self, link):
        kind = kind_named('bond')
        item = self._item(link, kind)
        mode = item.get('mode')
        for key, modes in BOND_MODE_ONLY.items():
            if mode not in modes:
                item.pop(key, None)
        item['ports'] = [port.name for port in self.ports_of(link)]
        if self._floods(link):
            item['switch_configured'] = True
            self.notes.append('bond %s runs %s under bridge %s: switch_configured: true keeps it '
                              'as it is; kvmnet.hostnet.diagnose explains the risk'
                              % (link.name, mode, self.by_index[link.master].name))
        self.items['bonds'].append(item)

    def _team(self, link):
        item = OrderedDict([('name', link.name)])
        try:
            config = teamd.dump(self.net.netns, link.name, 'config') \
                if teamd.running_runner(self.net.netns, link.name) else None
        except NetError:
            config = None
        if config is None:
            self.left_out.append(OrderedDict([('name', link.name), ('kind', 'team'),
                                              ('why', 'no teamd runs it, so it has no config')]))
            return
        runner = config.get('runner') or {}
        item['runner'] = runner.get('name', 'roundrobin')
        for key in TEAM_RUNNER_KEYS:
            if runner.get(key) is not None:
                item[key] = runner[key]
        balancer = runner.get('tx_balancer') or {}
        if balancer.get('balancing_interval') is not None:
            item['tx_balancer'] = dict(balancing_interval=balancer['balancing_interval'])
        lacp = OrderedDict((key, runner[key]) for key in TEAM_LACP_KEYS if key in runner)
        if lacp:
            item['lacp'] = lacp
        watch = config.get('link_watch')
        if isinstance(watch, dict) and watch.get('name') in team.LINK_WATCH_KEYS:
            item['link_watch'] = OrderedDict((key, value) for key, value in watch.items()
                                             if key == 'name' or key in team.LINK_WATCH_KEYS[watch['name']])
        item['ports'] = []
        for name, options in (config.get('ports') or {}).items():
            kept = [(key, value) for key, value in (options or {}).items() if key in team.PORT_KEYS]
            item['ports'].append(OrderedDict([('name', name)] + kept) if kept else name)
        if link.mtu != STANDARD_MTU:
            item['mtu'] = link.mtu
        if not link.up:
            item['up'] = False
        if self._floods(link):
            item['switch_configured'] = True
        self.items['teams'].append(item)

    def _vlan(self, link):
        item = self._item(link, kind_named('vlan'))
        for key in ('ingress_qos_map', 'egress_qos_map'):
            if key in item:
                # JSON object keys are strings; an empty map is the kernel's default.
                mapping = dict((str(k), v) for k, v in sorted(item.pop(key).items()) if v)
                if mapping:
                    item[key] = mapping
        self.items['vlans'].append(item)

    def _bridge(self, link):
        item = self._item(link, kind_named('bridge'), mac=True)
        if any(link.data.get(nla) for nla in ('IFLA_BR_TOPOLOGY_CHANGE',
                                              'IFLA_BR_TOPOLOGY_CHANGE_DETECTED')):
            # STP shortens the ageing time while a topology change lasts: not the configured one.
            item.pop('ageing_time', None)
            self.notes.append('%s: ageing_time not read, an STP topology change is in progress; '
                              'read the host again in a minute' % link.name)
        ports = []
        for port in self.ports_of(link):
            # VXLANs, VM NICs and macvlans name their bridge themselves.
            if port.kind in ('vxlan', 'tun') or LIBVIRT_DEVICE.match(port.name):
                continue
            entry = OrderedDict([('name', port.name)])
            entry.update(self._port_options(port))
            ports.append(entry)
            if self._floods(port):
                item['switch_configured'] = True
        if ports:
            item['ports'] = ports
        addresses = [cidr for cidr, _family, scope, _msg in self.addresses.get(link.index, [])
                     if scope == 0]
        if addresses:
            item['addresses'] = addresses
            gateway = self._gateway(link)
            if gateway:
                item['gateway'] = gateway
        self.items['bridges'].append(item)

    def _gateway(self, link):
        for route in self.default_routes:
            if route.get('RTA_OIF') == link.index and route.get('RTA_GATEWAY'):
                return route.get('RTA_GATEWAY')
        return None

    def _vxlan(self, link):
        dev = self.by_index.get(link.data.get('IFLA_VXLAN_LINK'))
        # vxlan_vtep gives a VXLAN with dev the underlay's MTU minus the overhead.
        item = self._item(link, kind_named('vxlan'),
                          default_mtu=dev.mtu - VXLAN_OVERHEAD if dev is not None else None)
        item['dstport'] = link.data.get('IFLA_VXLAN_PORT')  # the module's default is not the kernel's
        entries = [entry for entry in self.fdb if entry['ifindex'] == link.index
                   and entry['flags'] & NTF_SELF and entry['state'] & NUD_PERMANENT
                   and entry['dst'] and entry['mac']]
        default = item.get('remote')
        flood = [e['dst'] for e in entries if e['mac'] == ZERO_MAC and e['dst'] != default]
        if flood and not item.get('group'):
            item['remotes'] = ([default] if default else []) + flood
            item.pop('remote', None)
        static = [OrderedDict([('mac', e['mac']), ('dst', e['dst'])]) for e in entries
                  if e['mac'] != ZERO_MAC]
        if static:
            item['fdb'] = static
        attachment = self._attachment(link)
        if attachment:
            item['bridge'] = attachment
        self.items['vxlans'].append(item)

    def _macvlan(self, link):
        kind = MACVTAP if link.kind == 'macvtap' else MACVLAN
        item = OrderedDict([('name', link.name), ('parent', self.by_index[link.parent].name)])
        item.update(self._item(link, kind, mac=True))
        if link.kind == 'macvtap':
            item['tap'] = True
        if item.get('mode') == 'source':
            item['source_macs'] = kind.source_macs(link)
        self.items['macvlans'].append(item)

    def _vm_nic(self, link):
        kind = kind_named('tun')
        if link.data.get('IFLA_TUN_TYPE') == 1:
            self.left_out.append(OrderedDict([('name', link.name), ('kind', 'tun'),
                                              ('why', 'a layer-3 tun device, not a VM NIC')]))
            return
        match = VM_NIC_NAME.match(link.name)
        if not match or nic_name(match.group('vm'), int(match.group('index'))) != link.name:
            self.left_out.append(OrderedDict([
                ('name', link.name), ('kind', 'tap'),
                ('why', 'its name is not <vm>-<index>, so the VM it belongs to is unknown')]))
            return
        if not link.mac.startswith(HOST_SIDE_FIRST_BYTE):
            self.left_out.append(OrderedDict([
                ('name', link.name), ('kind', 'tap'),
                ('why', 'its MAC does not start with fe: (the host side of a guest MAC), which '
                        'kvmnet.hostnet.kvm_vm_nic would change')]))
            return
        vm, index = match.group('vm'), int(match.group('index'))
        item = OrderedDict([('vm', vm), ('index', index)])
        item.update(self._options(kind, link))
        master = self.by_index.get(link.master) if link.master else None
        if link.mtu != (master.mtu if master is not None else STANDARD_MTU):
            item['mtu'] = link.mtu  # else the tap takes its bridge's MTU
        if host_side_mac(guest_mac(vm, index)) != link.mac:
            # Only the first byte of the guest MAC differs from the tap's; any one will do.
            item['mac'] = GUEST_FIRST_BYTE + link.mac[2:]
        attachment = self._attachment(link)
        if attachment:
            item['bridge'] = attachment.pop('name')
            if attachment:
                item['port_options'] = attachment
        if not link.up:
            item['up'] = False
        self.items['vm_nics'].append(item)
