# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What deleting a link takes with it, and how to put it back.

A recreate (a VXLAN's VNI, a VLAN's id, a macvlan's parent) deletes the link. The
kernel drops with it the bridge membership and port options, the addresses, the
routes through it and its FDB entries. ``LinkSnapshot`` is read before the run
touches anything; the recreate carries these over onto the new link, and a rollback
builds the old link back from it (same ifindex when the kernel allows it) and then
compares what it finds with the snapshot, so that "rolled back" is only said when
it is true.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket

ALL_ZEROS = '00:00:00:00:00:00'
NTF_SELF = 0x02
NTF_MASTER = 0x04
NUD_NOARP = 0x40
NUD_PERMANENT = 0x80
RTPROT_KERNEL = 2
# Address flags the kernel sets by itself (secondary, permanent, DAD progress).
IFA_F_KERNEL = 0x01 | 0x08 | 0x20 | 0x40 | 0x80
# Writable port options of a bridge port (IFLA_BRPORT_*), restored after re-attaching.
BRPORT_WRITABLE = ('MODE', 'GUARD', 'PROTECT', 'FAST_LEAVE', 'LEARNING', 'UNICAST_FLOOD',
                   'PROXYARP', 'PROXYARP_WIFI', 'MULTICAST_ROUTER', 'MCAST_FLOOD',
                   'MCAST_TO_UCAST', 'VLAN_TUNNEL', 'BCAST_FLOOD', 'GROUP_FWD_MASK',
                   'NEIGH_SUPPRESS', 'ISOLATED', 'COST', 'PRIORITY')
# Link attributes that change by themselves or with the ifindex: not configuration.
_VOLATILE_DATA = ('IFLA_BR_TOPOLOGY_CHANGE', 'IFLA_BR_TOPOLOGY_CHANGE_DETECTED',
                  'IFLA_BOND_AD_INFO', 'IFLA_BOND_ACTIVE_SLAVE', 'IFLA_TUN_NUM_QUEUES',
                  'IFLA_TUN_NUM_DISABLED_QUEUES')
_VOLATILE_PORT = ('STATE', 'ROOT_ID', 'BRIDGE_ID', 'DESIGNATED_PORT', 'DESIGNATED_COST', 'ID',
                  'NO', 'TOPOLOGY_CHANGE_ACK', 'CONFIG_PENDING', 'FLUSH', 'PAD',
                  'MCAST_EHT_HOSTS_CNT', 'MCAST_N_GROUPS')


# ---- netlink messages as request arguments ------------------------------------
def address_arguments(msg):
    """pyroute2 ``addr`` keywords that re-create the address of an RTM_NEWADDR message."""
    arguments = dict(address=msg.get('IFA_LOCAL') or msg.get('IFA_ADDRESS'),
                     prefixlen=msg['prefixlen'], family=msg['family'])
    peer = msg.get('IFA_ADDRESS')
    if peer and peer != arguments['address']:
        arguments['peer'] = peer
    for nla, keyword in (('IFA_BROADCAST', 'broadcast'), ('IFA_LABEL', 'label')):
        if msg.get(nla):
            arguments[keyword] = msg.get(nla)
    flags = (msg.get('IFA_FLAGS') or msg['flags']) & ~IFA_F_KERNEL
    if flags:
        arguments['flags'] = flags
    if msg['scope']:
        arguments['scope'] = msg['scope']
    return arguments


def address_text(msg):
    return '%s/%s' % (msg.get('IFA_LOCAL') or msg.get('IFA_ADDRESS'), msg['prefixlen'])


def route_arguments(route):
    """pyroute2 ``route`` keywords for an RTM_NEWROUTE message, without its oif."""
    attrs = dict(route['attrs'])
    unspecified = '::' if route['family'] == socket.AF_INET6 else '0.0.0.0'
    arguments = dict(dst='%s/%s' % (attrs.get('RTA_DST') or unspecified, route['dst_len']),
                     family=route['family'], table=attrs.get('RTA_TABLE') or route['table'],
                     proto=route['proto'], scope=route['scope'], type=route['type'])
    for nla, keyword in (('RTA_GATEWAY', 'gateway'), ('RTA_PRIORITY', 'priority'),
                         ('RTA_PREFSRC', 'prefsrc')):
        if attrs.get(nla) is not None:
            arguments[keyword] = attrs[nla]
    return arguments


def routes_through(net, index):
    """Routes of every table whose device is link ``index``, except the kernel's own."""
    return [route_arguments(route) for route in net.call('reading routes', 'route', 'dump')
            if route.get('RTA_OIF') == index and route['proto'] != RTPROT_KERNEL]


def route_text(arguments):
    text = arguments['dst']
    if arguments.get('gateway'):
        text += ' via %s' % arguments['gateway']
    if arguments.get('table') not in (None, 254):
        text += ' table %s' % arguments['table']
    return text


def fdb_entries(net, state):
    """FDB entries of link ``state`` that go away with it and that someone added.

    A VXLAN's own (NTF_SELF) permanent entries, except the one its remote/group
    creates; static or permanent entries on a bridge port (NTF_MASTER), except the
    bridge's entry for the port's own MAC.
    """
    default = state.data.get('IFLA_VXLAN_GROUP') if state.kind == 'vxlan' else None
    found = []
    # A dump filtered by ifindex drops the default-destination entries of a VXLAN.
    for msg in net.call('reading the FDB of %s' % state.name, 'fdb', 'dump'):
        if msg['ifindex'] != state.index:
            continue
        mac, dst = msg.get_attr('NDA_LLADDR'), msg.get_attr('NDA_DST')
        if mac is None:
            continue
        mac = mac.lower()
        # The bridge's entries carry NDA_MASTER, not the NTF_MASTER flag.
        if msg.get_attr('NDA_MASTER'):
            if not msg['state'] & (NUD_NOARP | NUD_PERMANENT) or \
                    (msg['state'] & NUD_PERMANENT and mac == (state.mac or '').lower()):
                continue
            flags = NTF_MASTER
        elif msg['flags'] & NTF_SELF:
            if state.kind != 'vxlan' or not msg['state'] & NUD_PERMANENT or dst is None or \
                    (mac == ALL_ZEROS and dst == default):
                continue
            flags = NTF_SELF
        else:
            continue
        entry = dict(lladdr=mac, state=msg['state'] & (NUD_NOARP | NUD_PERMANENT), flags=flags)
        for nla, keyword in (('NDA_DST', 'dst'), ('NDA_VLAN', 'vlan'), ('NDA_PORT', 'port'),
                             ('NDA_VNI', 'vni')):
            if msg.get_attr(nla) is not None:
                entry[keyword] = msg.get_attr(nla)
        found.append(entry)
    return sorted(found, key=_entry_key)


def _entry_key(entry):
    return sorted((key, str(value)) for key, value in entry.items())


def fdb_text(entry):
    if entry['lladdr'] == ALL_ZEROS and entry.get('dst'):
        return 'flood to %s' % entry['dst']
    return '%s%s%s' % (entry['lladdr'], ' dst %s' % entry['dst'] if entry.get('dst') else '',
                       ' vlan %s' % entry['vlan'] if entry.get('vlan') else '')


def add_fdb_entry(net, name, index, entry):
    # Flooding peers are several destinations of one all-zero entry: append them.
    verb = 'append' if entry['lladdr'] == ALL_ZEROS else 'replace'
    net.call('adding FDB entry %s on %s' % (fdb_text(entry), name), 'fdb', verb, ifindex=index,
             **entry)


def listing(items, limit=4):
    items = list(items)
    shown = ', '.join(items[:limit])
    return shown + (' and %d more' % (len(items) - limit) if len(items) > limit else '')


# ---- the snapshot ---------------------------------------------------------------
class LinkSnapshot:
    """One link as read before the run, with all it would lose by being deleted."""

    def __init__(self, net, state):
        self.state = state
        self.name = state.name
        self.master = net.link_by_index(state.master) if state.master else None
        self.addresses = [msg for _text, _family, _scope, msg in net.addresses(state.index)]
        self.routes = routes_through(net, state.index)
        self.fdb = fdb_entries(net, state)
        self.port_options = dict(
            (key.lower(), state.slave_data['IFLA_BRPORT_' + key]) for key in BRPORT_WRITABLE
            if 'IFLA_BRPORT_' + key in state.slave_data) if state.slave_kind == 'bridge' else {}

    # ---- carrying over onto a new link (forward) -------------------------------
    def carried_addresses(self):
        # The kernel makes the IPv6 link-local address again from the MAC.
        return [msg for msg in self.addresses if not _kernel_link_local(msg)]

    def attach(self, net, index, action):
        """Re-attach the link at ``index`` to its master, with its port options."""
        net.call('%s: re-attaching it to %s' % (action, self.master.name), 'link', 'set',
                 index=index, master=net.index(self.master.name))
        if self.port_options and self.master.kind == 'bridge':
            net.call('%s: restoring its port options on %s' % (action, self.master.name),
                     'brport', 'set', index=index, **self.port_options)

    def add_addresses(self, net, index):
        # In the order read: the first address of a subnet is the primary again.
        for msg in self.carried_addresses():
            net.call('adding address %s to %s' % (address_text(msg), self.name), 'addr', 'add',
                     index=index, **address_arguments(msg))

    def add_routes(self, net, index):
        for arguments in self.routes:
            net.call('adding route %s via %s' % (route_text(arguments), self.name), 'route',
                     'replace', oif=index, **arguments)

    def add_fdb(self, net, index):
        for entry in self.fdb:
            add_fdb_entry(net, self.name, index, entry)

    # ---- bringing the old link back (rollback) ---------------------------------
    def restore(self, net, create):
        """Remove what stands in the old link's place, build it again, and verify.

        ``create(net, index)`` creates the link with its old options and MAC, asking
        for ``index`` as the ifindex. Returns what differs from the snapshot.
        """
        action = 'restoring %s' % self.name
        existing = net.link(self.name)
        if existing is not None:
            net.call('%s: removing the new %s' % (action, self.name), 'link', 'del',
                     index=existing.index)
        create(net, self.state.index)
        link = net.require_link(self.name)
        for key, keyword in (('mtu', 'mtu'), ('mac', 'address')):
            if getattr(self.state, key) and getattr(link, key) != getattr(self.state, key):
                net.call('%s: setting its %s' % (action, key), 'link', 'set', index=link.index,
                         **{keyword: getattr(self.state, key)})
        if self.master is not None:
            self.attach(net, link.index, action)
        if self.state.up:
            net.call('%s: bringing it up' % action, 'link', 'set', index=link.index, state='up')
        self.add_addresses(net, link.index)
        self.add_routes(net, link.index)
        self.add_fdb(net, link.index)
        return self.differences(net)

    def differences(self, net):
        """How the link as it is now differs from the snapshot (empty: identical)."""
        link = net.link(self.name)
        if link is None:
            return ['%s is gone' % self.name]
        found = []
        old = self.state
        if link.index != old.index:
            found.append('%s came back as ifindex %s (was %s)' % (self.name, link.index, old.index))
        for key in ('kind', 'mtu', 'mac', 'up'):
            if getattr(link, key) != getattr(old, key):
                found.append('%s %s is %s (was %s)' % (self.name, key, getattr(link, key),
                                                       getattr(old, key)))
        changed = sorted(key for key in set(old.data) | set(link.data)
                         if key not in _VOLATILE_DATA and not key.endswith('_TIMER')
                         and _plain(old.data.get(key)) != _plain(link.data.get(key)))
        if changed:
            found.append('%s options %s differ' % (self.name, ', '.join(changed)))
        master = net.link_by_index(link.master) if link.master else None
        if (master.name if master else None) != (self.master.name if self.master else None):
            found.append('%s master is %s (was %s)' % (
                self.name, master.name if master else 'none',
                self.master.name if self.master else 'none'))
        elif _port_config(link) != _port_config(old):
            found.append('%s port options differ' % self.name)
        now = LinkSnapshot(net, link)
        lost = [address_text(m) for m in self.carried_addresses()
                if address_text(m) not in [address_text(n) for n in now.addresses]]
        order = [address_text(m) for m in self.carried_addresses()]
        if lost:
            found.append('%s lost addresses %s' % (self.name, ', '.join(lost)))
        elif [address_text(m) for m in now.carried_addresses()] != order:
            found.append('%s addresses are %s (were %s, in this order)' % (
                self.name, ', '.join(address_text(m) for m in now.carried_addresses()),
                ', '.join(order)))
        missing = [route_text(r) for r in self.routes if r not in now.routes]
        if missing:
            found.append('routes %s via %s are missing' % (', '.join(missing), self.name))
        missing = [fdb_text(e) for e in self.fdb if e not in now.fdb]
        if missing:
            found.append('FDB entries %s of %s are missing' % (listing(missing), self.name))
        return found


def _kernel_link_local(msg):
    return msg['family'] == socket.AF_INET6 and str(msg.get('IFA_ADDRESS', '')).startswith('fe80:')


def _port_config(state):
    return dict((key, value) for key, value in state.slave_data.items()
                if key[len('IFLA_BRPORT_'):] not in _VOLATILE_PORT and not key.endswith('_TIMER'))


def _plain(value):
    """A comparable form of a decoded attribute (nested attributes as sorted pairs)."""
    if hasattr(value, 'get') and 'attrs' in value:
        return sorted((name, _plain(item)) for name, item in value.get('attrs', []))
    return value
