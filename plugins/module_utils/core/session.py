# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One netlink session on pyroute2, in the host or in a named network namespace.

Everything that talks to the kernel goes through ``NetlinkSession`` so that error
translation, namespace handling and pyroute2 version differences live in one place.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import (
    NetError, NotApplied, kernel_error_message)

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import compat
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.compat import (
    NETNS_DIR, NetlinkError)

IFF_UP = 0x1
RT_TABLE_MAIN = 254
DEFAULT_MTU = 1500
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12


class LinkState:
    """A read-only view of one RTM_NEWLINK message.

    pyroute2 decodes an attribute each time it is looked up, by a scan of the
    message: the top-level attributes are decoded here in one pass, and the kind's
    data (dozens of attributes for a bridge) only when asked for, as most readers
    (a port's master, a parent's MTU) never look at it.
    """

    def __init__(self, msg):
        self.msg = msg
        self.index = msg['index']
        self.flags = msg['flags']
        self.up = bool(self.flags & IFF_UP)
        top = {}
        for slot in msg['attrs']:
            top.setdefault(slot[0], slot[1])
        self.name = top.get('IFLA_IFNAME')
        self.mtu = top.get('IFLA_MTU')
        self.mac = top.get('IFLA_ADDRESS')
        self.operstate = top.get('IFLA_OPERSTATE')
        self.master = top.get('IFLA_MASTER')
        self.parent = top.get('IFLA_LINK')
        self.link_netnsid = top.get('IFLA_LINK_NETNSID')
        self._info = top.get('IFLA_LINKINFO')
        self.kind = self._info.get('IFLA_INFO_KIND') if self._info else None
        self.slave_kind = self._info.get('IFLA_INFO_SLAVE_KIND') if self._info else None
        self._data = self._slave_data = None

    @property
    def data(self):
        if self._data is None:
            self._data = _attrs(self._info.get('IFLA_INFO_DATA')) if self._info else {}
        return self._data

    @property
    def slave_data(self):
        if self._slave_data is None:
            self._slave_data = _attrs(self._info.get('IFLA_INFO_SLAVE_DATA')) if self._info else {}
        return self._slave_data

    def __repr__(self):
        return '<link %s #%s kind=%s>' % (self.name, self.index, self.kind)


def _attrs(nla):
    if nla is None or isinstance(nla, (str, bytes)):
        return {}
    return dict((name, value) for name, value in nla.get('attrs', []))


def _kind_of(msg):
    info = msg.get('IFLA_LINKINFO')
    return info.get('IFLA_INFO_KIND') if info else None


# Keywords of a link write that give a name another ifindex (or none here).
_MOVES = frozenset(('ifname', 'net_ns_fd', 'net_ns_pid', 'target_netnsid'))

# Key of the remembered MAC -> link names index (no link name or request is a tuple of one).
_MAC_INDEX = ('mac index',)


def _request_key(method, args, kwargs):
    """A remembered read's key; None for a request that cannot be one (a filter function)."""
    key = (method, args, tuple(sorted(kwargs.items())))
    try:
        hash(key)
    except TypeError:
        return None
    return key


class PlannedLink:
    """A link a batch will create, as link() shows it while imagining.

    The attributes LinkState has; what the request does not say is unknown (None),
    except the MTU, which is the kernel's default for a new link.
    """

    def __init__(self, name, kind, mtu=None, mac=None, parent=None):
        self.msg = {}
        self.index = None
        self.name = name
        self.flags = 0
        self.up = False
        self.mtu = mtu or DEFAULT_MTU
        self.mac = mac
        self.operstate = None
        self.master = None
        self.parent = parent
        self.link_netnsid = None
        self.kind = kind
        self.slave_kind = None
        self.data = {}
        self.slave_data = {}

    def __repr__(self):
        return '<planned link %s kind=%s>' % (self.name, self.kind)


def netns_exists(name):
    return os.path.exists(os.path.join(NETNS_DIR, name))


class NetlinkSession:
    """A pyroute2 IPRoute socket plus the few reads every module needs."""

    def __init__(self, netns=None):
        compat.require()
        self.netns = netns
        if netns and not netns_exists(netns):
            raise NetError('network namespace %r does not exist (see "ip netns list"); create it '
                           'first, this module never creates namespaces' % netns)
        try:
            self.ipr = compat.open_iproute(netns)
        except (OSError, NetlinkError) as error:
            raise NetError('cannot open a netlink session%s: %s' % (
                ' in namespace %r' % netns if netns else '', error))
        # Link reads served from memory while remember() is on (see there).
        self._memo = None
        self._indexes = None
        # Links a batch will create: check() and plan() may treat them as present.
        self._promised = {}
        self._imagining = False

    def close(self):
        self.ipr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # ---- reads -------------------------------------------------------------
    def link(self, name):
        """The LinkState of interface ``name``, or None when it does not exist."""
        if self._memo is not None and name in self._memo:
            state = self._memo[name]
        else:
            try:
                msgs = self.ipr.link('get', ifname=name)
            except NetlinkError as error:
                if error.code not in (19, 22):  # ENODEV; EINVAL on some kernels for a bad name
                    raise NotApplied(kernel_error_message(error, 'reading link %s' % name))
                msgs = None
            state = LinkState(msgs[0]) if msgs else None
            self._remember(name, state)
        if state is None and self._imagining:
            return self._promised.get(name)
        return state

    def link_by_index(self, index):
        if self._memo is not None and index in self._memo:
            return self._memo[index]
        try:
            state = LinkState(self.ipr.link('get', index=index)[0])
        except NetlinkError as error:
            if error.code == 19:
                return None
            raise
        self._remember(state.name, state)
        return state

    def require_link(self, name):
        state = self.link(name)
        if state is None:
            raise NotApplied('interface %s disappeared while it was being configured' % name)
        return state

    def index(self, name):
        if self._indexes is not None and name in self._indexes:
            return self._indexes[name]
        index = self.require_link(name).index
        if self._indexes is not None:
            self._indexes[name] = index
        return index

    def links_of_master(self, master_index):
        """The ports of a master; the kernel filters the dump (IFLA_MASTER in the request)."""
        # With a dump_filter of its own, pyroute2 sends master= in the request instead
        # of dumping every link of the host; the filter keeps old kernels correct.
        return [LinkState(m) for m in self.ipr.link('dump', **compat.dump_arguments(
            lambda msg: msg.get('IFLA_MASTER') == master_index, master=master_index))]

    def addresses(self, index):
        """Addresses on link ``index`` as (ip/prefix string, family, scope, msg)."""
        found = []
        for msg in self.ipr.addr('dump', index=index):
            if msg['index'] != index:
                continue
            found.append(('%s/%s' % (msg.get('IFA_ADDRESS'), msg['prefixlen']),
                          msg['family'], msg['scope'], msg))
        return found

    def routes(self, oif=None, family=None, table=RT_TABLE_MAIN):
        kwargs = {'table': table}
        if family:
            kwargs['family'] = family
        routes = []
        for msg in self.ipr.route('dump', **kwargs):
            if oif is not None and msg.get('RTA_OIF') != oif:
                continue
            routes.append(msg)
        return routes

    def default_routes(self, family):
        return [r for r in self.routes(family=family) if r['dst_len'] == 0 and r['type'] == 1]

    # ---- whole-host reads (diagnosis, host_network_info) -------------------
    def all_links(self):
        """Every link of the namespace as LinkState, in ifindex order; while remember()
        is on, later reads of any of them are served from this one dump."""
        states = sorted((LinkState(m) for m in self.ipr.link('dump')), key=lambda s: s.index)
        for state in states:
            self._remember(state.name, state)
        return states

    def all_addresses(self):
        """{ifindex: [(ip/prefix, family, scope, msg), ...]} for every link."""
        found = {}
        for msg in self.ipr.addr('dump'):
            found.setdefault(msg['index'], []).append((
                '%s/%s' % (msg.get('IFA_ADDRESS'), msg['prefixlen']), msg['family'], msg['scope'],
                msg))
        return found

    def neighbours(self, family=socket.AF_INET):
        """Neighbour (ARP/NDP) entries as dicts: ifindex, dst, lladdr, state (NUD bits)."""
        return [dict(ifindex=msg['ifindex'], dst=msg.get('NDA_DST'), lladdr=msg.get('NDA_LLADDR'),
                     state=msg['state'])
                for msg in self.ipr.neigh('dump', family=family)]

    def bridge_fdb(self):
        """Forwarding database entries (AF_BRIDGE) of every link, bridge and VXLAN alike."""
        return [dict(ifindex=msg['ifindex'], mac=msg.get('NDA_LLADDR'), dst=msg.get('NDA_DST'),
                     port=msg.get('NDA_PORT'), master=msg.get('NDA_MASTER'),
                     vlan=msg.get('NDA_VLAN'), state=msg['state'], flags=msg['flags'])
                for msg in self.ipr.fdb('dump')]

    def route_to(self, address):
        """The route the kernel picks for ``address`` (RTM_GETROUTE), or None if unreachable."""
        try:
            found = self.ipr.route('get', dst=address)
        except NetlinkError:
            return None
        return found[0] if found else None

    # ---- writes ------------------------------------------------------------
    def call(self, action, method, *args, **kwargs):
        """Run an IPRoute request; translate kernel errors into operator advice."""
        kind = kwargs.get('kind') if args and args[0] == 'add' else None
        reading = bool(args) and args[0] in ('dump', 'get')
        if self._memo and not reading:
            self._memo.clear()  # a write makes what was remembered stale
        if self._indexes and not reading and (args[:1] in (('del',), ('delete',), ('remove',))
                                              or _MOVES.intersection(kwargs)):
            self._indexes.clear()
        key = _request_key(method, args, kwargs) if reading and self._memo is not None else None
        if key is not None and key in self._memo:
            return self._memo[key]
        try:
            # Inside the namespace: tun/tap creation is an ioctl, not a netlink request.
            with compat.inside(self.netns):
                found = getattr(self.ipr, method)(*args, **kwargs)
                if key is None:
                    return found
                self._memo[key] = list(found)
                return self._memo[key]
        except NetlinkError as error:
            raise NotApplied(kernel_error_message(error, action, kind))
        except OSError as error:
            raise NotApplied('%s: %s' % (action, error))

    # ---- reads for many facets at once (host_network) ----------------------
    def remember(self):
        """Serve repeated reads from memory until forget() or a write.

        Dozens of facets of one batch read the same bridge or parent; with this on,
        each link costs one RTM_GETLINK per read phase whatever the host holds, and
        a whole-host read through call() (a search for a MAC) is made once per phase,
        not once per reader.
        Only for phases that do not change the host: forget() before any write
        that bypasses call() (a teamd start, another namespace's session).
        """
        if self._memo is None:
            self._memo = {}

    def forget(self, indexes=False):
        """Drop remembered reads; with ``indexes``, the remembered ifindexes too."""
        self._memo = None
        if indexes and self._indexes is not None:
            self._indexes.clear()

    def keep_indexes(self):
        """Remember the ifindex of each name across writes, for a long plan.

        Every step of a plan addresses its link by ifindex, each costing a read; an
        ifindex changes only when a link is deleted, renamed or moved, which call()
        notices. A write that bypasses call() (teamd) needs forget(indexes=True).
        """
        if self._indexes is None:
            self._indexes = {}

    def _remember(self, name, state):
        if self._memo is None:
            return
        self._memo[name] = state
        if state is not None:
            self._memo[state.index] = state

    def holders_of_mac(self, mac):
        """Names of the links whose MAC is ``mac``.

        The kernel cannot filter by MAC: one dump, indexed once per remembered phase,
        serves every VM NIC of a batch.
        """
        index = self._memo.get(_MAC_INDEX) if self._memo is not None else None
        if index is None:
            index = {}
            for msg in self.call('reading links', 'link', 'dump'):
                index.setdefault((msg.get('IFLA_ADDRESS') or '').lower(), []).append(
                    msg.get('IFLA_IFNAME'))
            if self._memo is not None:
                self._memo[_MAC_INDEX] = index
        return list(index.get(mac.lower(), []))

    def promise(self, name, planned):
        """Register a link a batch creates: a PlannedLink, seen while imagining."""
        self._promised[name] = planned

    def promised_names(self):
        return list(self._promised)

    def imagine(self, on):
        """While on, link(name) of a missing but promised link returns its PlannedLink.

        check() and plan() of one item then see the links that earlier items of the
        same batch create (a VLAN a bridge lists as port), as a run of the single
        modules one after the other would; read() never imagines.
        """
        self._imagining = on

    def fdb_entries(self, index):
        """The AF_BRIDGE neighbour entries of link ``index`` (the kernel filters them).

        A filtered FDB dump needs strict checking (kernel 4.20+); older kernels dump
        everything and the entries are filtered here.
        """
        strict = self._set_strict(True)
        try:
            msgs = self.call('reading the FDB of ifindex %s' % index, 'neigh', 'dump',
                             **compat.dump_arguments(lambda msg: msg['ifindex'] == index,
                                                     family=socket.AF_BRIDGE,
                                                     ifindex=index if strict else 0))
            return list(msgs)
        finally:
            if strict:
                self._set_strict(False)

    def _set_strict(self, on):
        try:
            self.ipr.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, int(on))
        except (OSError, AttributeError):
            return False
        return True

    def links_of_kind(self, kind):
        """Every link of IFLA_INFO_KIND ``kind``; the kernel filters the dump (4.6+)."""
        return [LinkState(m) for m in self.ipr.link('dump', **compat.dump_arguments(
            lambda msg: _kind_of(msg) == kind,
            IFLA_LINKINFO={'attrs': [('IFLA_INFO_KIND', kind)]}))]


def family_of(address):
    return socket.AF_INET6 if ':' in str(address) else socket.AF_INET
