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

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import compat, rtnl
# pyroute2 is loaded on first use (NetlinkSession.ipr): catch compat.NetlinkError, which
# is pyroute2's once it is, never a name imported from compat.
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.compat import NETNS_DIR

IFF_UP = 0x1
RT_TABLE_MAIN = 254
DEFAULT_MTU = 1500


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
        if isinstance(msg, rtnl.Message):
            top = msg.attrs
        else:
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
    if isinstance(nla, rtnl.Attrs):
        return nla  # decoded by core/rtnl.py, the rest on demand
    if nla is None or isinstance(nla, (str, bytes)):
        return {}
    return dict((name, value) for name, value in nla.get('attrs', []))


def _kind_of(msg):
    info = msg.get('IFLA_LINKINFO')
    return info.get('IFLA_INFO_KIND') if info else None


# Keywords of a link write that give a name another ifindex (or none here).
_MOVES = frozenset(('ifname', 'net_ns_fd', 'net_ns_pid', 'target_netnsid'))

# Key of the remembered MAC -> link names index (no link name or request is a tuple of one).
# Key of the names prefetch() read in this phase.
_PREFETCHED = ('prefetched',)
# Key prefix of values derived from remembered reads (derived()).
_DERIVED = 'derived'
# Filtered dumps of one kind per read phase before one whole dump serves the rest.
MANY_DUMPS = 16


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
            with compat.inside(netns):
                # The lean path (core/rtnl.py) for the reads and writes a large
                # topology repeats; everything else goes through pyroute2 (ipr).
                self.rtnl = rtnl.Socket()
        except OSError as error:
            raise NetError('cannot open a netlink session%s: %s' % (
                ' in namespace %r' % netns if netns else '', error))
        self._ipr = None
        # Link reads served from memory while remember() is on (see there).
        self._memo = None
        self._indexes = None
        # Links a batch will create: check() and plan() may treat them as present.
        self._promised = {}
        # Links this session asked the kernel to create, their ifindex not looked up yet.
        self._created = set()
        self._imagining = False
        # Queued writes while batching (see begin_batch()).
        self._queue = None
        self.batch_owner = None
        self.settled = []

    @property
    def ipr(self):
        """The pyroute2 IPRoute of this session, opened (and pyroute2 imported) on first use."""
        if self._ipr is None:
            try:
                self._ipr = compat.open_iproute(self.netns)
            except (OSError, compat.NetlinkError) as error:
                raise NetError('cannot open a netlink session%s: %s' % (
                    ' in namespace %r' % self.netns if self.netns else '', error))
        return self._ipr

    def close(self):
        self.rtnl.close()
        if self._ipr is not None:
            self._ipr.close()

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
            # ENODEV, or EINVAL on some kernels for a bad name: no such link.
            state = self._get_links([rtnl.link_get(name)], 'reading link %s' % name)[0]
            self._remember(name, state)
        if state is None and self._imagining:
            return self._promised.get(name)
        return state

    def link_by_index(self, index):
        if self._memo is not None and index in self._memo:
            return self._memo[index]
        state = self._get_links([rtnl.link_get_index(index)], 'reading ifindex %s' % index)[0]
        if state is not None:
            self._remember(state.name, state)
        return state

    def _get_links(self, requests, action):
        """LinkStates (None: no such link) for many RTM_GETLINK, sent together."""
        self.settle()
        try:
            msgs = self.rtnl.get_links(requests)
        except (rtnl.KernelError, OSError) as error:
            raise NotApplied(kernel_error_message(error, action))
        return [LinkState(msg) if msg is not None else None for msg in msgs]

    def _dump(self, request, decode, action):
        self.settle()
        try:
            return self.rtnl.dump(request, decode)
        except (rtnl.KernelError, OSError) as error:
            raise NotApplied(kernel_error_message(error, action))

    def prefetch(self, names, whole=False):
        """Read the links ``names`` at once (one request each, sent together) into the
        remembered reads; a no-op unless remember() is on. Reading many links one by
        one costs a round trip each.

        ``whole``: the phase reads every link of the namespace anyway (a VM NIC's MAC
        check, see holders_of_mac): that one dump serves ``names`` too.
        """
        if self._memo is None or self._memo.get(_PREFETCHED) is names:
            return
        if whole:
            self._all_links()
        missing = [name for name in names if name not in self._memo]
        if whole:
            states = [None] * len(missing)
        else:
            states = self._get_links([rtnl.link_get(name) for name in missing], 'reading links')
        for name, state in zip(missing, states):
            self._remember(name, state)
        self._memo[_PREFETCHED] = names

    def require_link(self, name):
        state = self.link(name)
        if state is None:
            raise NotApplied('interface %s disappeared while it was being configured' % name)
        return state

    def index(self, name):
        if self._indexes is not None and name in self._indexes:
            return self._indexes[name]
        if self._indexes is not None and name in self._created:
            # The links created since the last such lookup are looked up together.
            unknown = [other for other in self._created if other not in self._indexes]
            self._created.clear()
            for other, state in zip(unknown, self._get_links(
                    [rtnl.link_get(other) for other in unknown], 'reading the links created')):
                if state is not None:
                    self._indexes[other] = state.index
            if name in self._indexes:
                return self._indexes[name]
        index = self.require_link(name).index
        if self._indexes is not None:
            self._indexes[name] = index
        return index

    def links_of_master(self, master_index):
        """The ports of a master; the kernel filters the dump (IFLA_MASTER in the request)."""
        # With a dump_filter of its own, pyroute2 sends master= in the request instead
        # of dumping every link of the host; the filter keeps old kernels correct.
        # Filtered again here: kernels before 4.6 dump every link.
        if self._whole('links'):
            return list(self._all_links()[1].get(master_index, []))
        return [LinkState(m) for m in self._dump(
            rtnl.link_dump(master=master_index), rtnl.decode_link,
            'reading the ports of ifindex %s' % master_index)
            if m.get('IFLA_MASTER') == master_index]

    def _whole(self, what):
        """Whether this read phase serves its filtered dumps of ``what`` from one whole
        dump: after MANY_DUMPS of them, each of which makes the kernel walk every link
        of the namespace anyway, one dump of everything is cheaper."""
        if self._memo is None:
            return False
        if ('whole', what) in self._memo:
            return True
        count = self._memo.get(('dumps', what), 0) + 1
        self._memo[('dumps', what)] = count
        return count > MANY_DUMPS

    def _all_links(self):
        """(every LinkState, {master ifindex: [ports]}), remembered for the phase."""
        found = self._memo.get(('whole', 'links')) if self._memo is not None else None
        if found is None:
            states = [LinkState(m) for m in self._dump(rtnl.link_dump(), rtnl.decode_link,
                                                       'reading links')]
            by_master = {}
            for state in states:
                if state.master:
                    by_master.setdefault(state.master, []).append(state)
                if self._memo is not None and state.name not in self._memo:
                    self._remember(state.name, state)
            found = (states, by_master)
            if self._memo is not None:
                self._memo[('whole', 'links')] = found
        return found

    def addresses(self, index):
        """Addresses on link ``index`` as (ip/prefix string, family, scope, msg)."""
        found = []
        for msg in self._dump(rtnl.addr_dump(index if self.rtnl.strict else 0), rtnl.decode_addr,
                              'reading the addresses of ifindex %s' % index):
            if msg['index'] != index:
                continue
            found.append(('%s/%s' % (msg.get('IFA_ADDRESS'), msg['prefixlen']),
                          msg['family'], msg['scope'], msg))
        return found

    def routes(self, oif=None, family=None, table=RT_TABLE_MAIN):
        kwargs = {'table': table}
        if family:
            kwargs['family'] = family
        # call(): remembered for the read phase, as every bridge with addresses asks.
        return [msg for msg in self.call('reading routes', 'route', 'dump', **kwargs)
                if oif is None or msg.get('RTA_OIF') == oif]

    def default_routes(self, family):
        # derived(): every bridge with addresses asks, and the table holds a route each.
        return self.derived(('default routes', family), lambda: [
            r for r in self.routes(family=family) if r['dst_len'] == 0 and r['type'] == 1])

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
        except compat.NetlinkError:
            return None
        return found[0] if found else None

    # ---- writes ------------------------------------------------------------
    def call(self, action, method, *args, **kwargs):
        """Run an IPRoute request; translate kernel errors into operator advice."""
        kind = kwargs.get('kind') if args and args[0] == 'add' else None
        if method == 'link' and kind:
            peer = kwargs.get('peer')
            self._created.update(name for name in (
                kwargs.get('ifname'), peer.get('ifname') if isinstance(peer, dict) else None) if name)
        reading = bool(args) and args[0] in ('dump', 'get')
        if self._memo and not reading:
            self._memo.clear()  # a write makes what was remembered stale
        # A new link's name takes no other link's ifindex: only renames and moves do.
        if self._indexes and not reading and (args[:1] in (('del',), ('delete',), ('remove',))
                                              or (args[:1] != ('add',) and _MOVES.intersection(kwargs))):
            self._indexes.clear()
        key = _request_key(method, args, kwargs) if reading and self._memo is not None else None
        if key is not None and key in self._memo:
            return self._memo[key]
        if not reading:
            done = self._lean_write(action, method, args, kwargs, kind)
            if done:
                return []
        elif method == 'addr' and args == ('dump',) and not kwargs:
            found = self._dump(rtnl.addr_dump(), rtnl.decode_addr, action)
            if key is not None:
                self._memo[key] = found
            return found
        self.settle()  # whatever is queued goes first
        try:
            # Inside the namespace: tun/tap creation is an ioctl, not a netlink request.
            with compat.inside(self.netns):
                found = getattr(self.ipr, method)(*args, **kwargs)
                if key is None:
                    return found
                self._memo[key] = list(found)
                return self._memo[key]
        except compat.NetlinkError as error:
            raise NotApplied(kernel_error_message(error, action, kind))
        except OSError as error:
            raise NotApplied('%s: %s' % (action, error))

    def _lean_write(self, action, method, args, kwargs, kind):
        """Send a write through core/rtnl.py (queued while batching); False when it
        does not cover the request."""
        tap = rtnl.tap_arguments(kwargs) if kwargs.get('kind') == 'tuntap' and method == 'link' \
            and args == ('add',) else None
        if tap is not None:
            self.settle()
            try:
                with compat.inside(self.netns):
                    rtnl.create_tap(**tap)
            except OSError as error:
                raise NotApplied(kernel_error_message(error, action, 'tuntap'))
            return True
        request = rtnl.encode(method, args, kwargs)
        if request is None:
            return False
        entry = (request, self.batch_owner, action, kind)
        if self._queue is not None:
            self._queue.append(entry)
            return True
        self._send([entry])
        return True

    def _send(self, entries):
        """Send queued writes; record (owner, error or None) of each in ``settled``;
        raise the first refusal as NotApplied once all were answered."""
        try:
            outcomes = self.rtnl.transact([entry[0] for entry in entries])
        except OSError as error:
            # Not known which of them the kernel applied: each counts as failed.
            outcomes = [error] * len(entries)
        first = None
        for entry, outcome in zip(entries, outcomes):
            if self._queue is not None:
                self.settled.append((entry[1], outcome))
            if outcome is not None and first is None:
                first = (entry, outcome)
        if first is not None:
            (_request, _owner, action, kind), error = first
            raise NotApplied(kernel_error_message(error, action, kind))

    # ---- batched writes (engine.Journal) -------------------------------------
    def begin_batch(self):
        """Queue the writes call() covers with core/rtnl.py instead of sending each.

        The queue goes to the kernel, in order, before any read, any other write and
        at settle(); each request keeps its own ACK, recorded in ``settled`` with the
        ``batch_owner`` it was queued for, so the journal knows exactly which steps the
        kernel applied.
        """
        self._queue = []
        self.settled = []

    def settle(self):
        """Send what is queued and wait for every answer (see _send)."""
        if self._queue:
            entries, self._queue[:] = list(self._queue), []
            self._send(entries)

    def end_batch(self):
        try:
            self.settle()
        finally:
            self._queue = None
            self.batch_owner = None

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

    def derived(self, key, compute):
        """``compute()``, made once per read phase while remember() is on: a value
        built from a whole-host read (every local address) that each of hundreds
        of items asks for."""
        if self._memo is None:
            return compute()
        key = (_DERIVED, key)
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

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
        def by_mac():
            index = {}
            for state in self._all_links()[0]:
                index.setdefault((state.mac or '').lower(), []).append(state.name)
            return index
        return list(self.derived('links by MAC', by_mac).get(mac.lower(), []))

    def promise(self, name, planned):
        """Register a link a batch creates: a PlannedLink, seen while imagining."""
        self._promised[name] = planned

    def promised_names(self):
        """The names of the promised links (a set-like view, not a copy)."""
        return self._promised.keys()

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
        if self._whole('fdb'):
            found = self._memo.get(('whole', 'fdb'))
            if found is None:
                # Every bridge holds an entry per port: group the raw entries by link,
                # decode only those of the links asked for.
                found = {}
                for ifindex, raw in self._dump(rtnl.fdb_dump(0), rtnl.neigh_ifindex,
                                               'reading the FDB'):
                    found.setdefault(ifindex, []).append(raw)
                self._memo[('whole', 'fdb')] = found
            return [rtnl.decode_neigh(raw) for raw in found.get(index, [])]
        request = rtnl.fdb_dump(index if self.rtnl.strict else 0)
        return [msg for msg in self._dump(request, rtnl.decode_neigh,
                                          'reading the FDB of ifindex %s' % index)
                if msg['ifindex'] == index]

    def links_of_kind(self, kind, netnsid=None):
        """Every link of IFLA_INFO_KIND ``kind``; the kernel filters the dump (4.6+).
        ``netnsid``: those of the namespace this one knows by that id (4.20+)."""
        return [LinkState(m) for m in self._dump(
            rtnl.link_dump(kind=kind, netnsid=netnsid), rtnl.decode_link, 'reading the %s links%s'
            % (kind, ' of namespace id %s' % netnsid if netnsid is not None else ''))
            if _kind_of(m) == kind]


def family_of(address):
    return socket.AF_INET6 if ':' in str(address) else socket.AF_INET
