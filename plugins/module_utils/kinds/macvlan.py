# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""macvlan and macvtap (IFLA_INFO_KIND "macvlan" / "macvtap").

Both kinds carry the same IFLA_MACVLAN_* attributes; pyroute2 names them
IFLA_MACVTAP_* (keywords ``macvtap_*``) for macvtap and silently drops a
``macvlan_*`` keyword sent with kind macvtap, so each kind gets its own prefix.

The parent is IFLA_LINK, outside IFLA_INFO_DATA; it is read by ``MacvlanLink``,
which knows in which namespace to look for it.

With ``target`` set, the link is created on its parent in ``origin`` (a namespace,
or the host when None) directly inside ``target`` (RTM_NEWLINK with IFLA_NET_NS_FD,
so it never shows up in ``origin``), and is read, compared and changed in ``target``.
There the kernel reports the parent as IFLA_LINK = an ifindex of *another*
namespace plus IFLA_LINK_NETNSID, the id under which ``target`` knows that
namespace. The parent is verified by asking ``target`` for the id of ``origin``
(RTM_GETNSID with a file descriptor of ``origin``): only when the ids match is the
ifindex looked up in ``origin`` and shown by name. Any other parent is shown as
``ifindex N in another namespace``, which never equals a requested name, so the
link is recreated on the requested parent.

In mode source only frames whose source MAC is listed reach the endpoint
(``SourceMacs``). The kernel keeps the list with the link (IFLA_MACVLAN_MACADDR_DATA,
newest first), so it is compared as a set. Each MAC is added or deleted by its own
request: pyroute2 silently drops a plain list.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
from collections import OrderedDict
from contextlib import contextmanager

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import compat, rtnl
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import Facet, Operation, PHASE_FDB
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError, NotApplied
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.options import Option
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import (
    LinkModule, link_argument_spec, link_summary)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import NETNS_DIR, NetlinkSession
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import Codec, mac_problem, normalize_mac
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet, mac_holder_problems
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.base import KindOption, LinkKind

# The modes by name, the default first (numbers: enum macvlan_mode, in core/rtnl.py).
_NUMBERS = dict((name, number) for number, name in rtnl.MACVLAN_MODES.items())
MODES = OrderedDict((name, _NUMBERS[name]) for name in ('bridge', 'vepa', 'private', 'passthru', 'source'))
DEFAULT_MODE = 'bridge'
MACVLAN_FLAG_NOPROMISC = 1
# enum macvlan_macaddr_mode
MACADDR_ADD = 0
MACADDR_DEL = 1


class MacvlanMode(Codec):
    """Mode by name; pyroute2 decodes it to a name, older ones to the number."""

    ansible_type = 'str'
    choices = list(MODES)

    def encode(self, value):
        return MODES[value]

    def decode(self, value):
        if isinstance(value, int):
            for name, number in MODES.items():
                if number == value:
                    return name
        return value

    def check(self, name, value):
        if value not in MODES:
            return '%s must be one of %s, got %s' % (name, ', '.join(MODES), value)
        return None


class NoPromisc(Codec):
    """The NOPROMISC bit of IFLA_MACVLAN_FLAGS as a boolean."""

    ansible_type = 'bool'

    def encode(self, value):
        return MACVLAN_FLAG_NOPROMISC if value else 0

    def decode(self, value):
        if isinstance(value, int):
            return bool(value & MACVLAN_FLAG_NOPROMISC)
        return 'nopromisc' in str(value)

    def check(self, name, value):
        return None


class ParentRef(Codec):
    def check(self, name, value):
        return None


class MacvlanKind(LinkKind):
    """A macvlan, or with ``tap=True`` a macvtap (a macvlan with a /dev/tapN)."""

    def __init__(self, tap=False):
        self.kind = 'macvtap' if tap else 'macvlan'
        self.prefix = 'IFLA_%s_' % self.kind.upper()
        parent = KindOption('IFLA_LINK', ParentRef(), in_place=False, link_ref=True, top_level=True)
        self.options = OrderedDict([
            ('parent', parent),
            ('mode', KindOption(self.prefix + 'MODE', MacvlanMode(), default=DEFAULT_MODE)),
            ('nopromisc', KindOption(self.prefix + 'FLAGS', NoPromisc())),
        ])

    def validate(self, wanted):
        problems = []
        mode = wanted.get('mode')
        if wanted.get('nopromisc') and mode != 'passthru':
            problems.append('nopromisc only applies to mode passthru (mode is %s): remove '
                            'nopromisc or set mode: passthru' % mode)
        return problems

    def changes_in_place(self, key, wanted, actual):
        if key == 'mode':
            # The kernel refuses to switch a live macvlan to or from passthru.
            return 'passthru' not in (wanted, actual)
        return super(MacvlanKind, self).changes_in_place(key, wanted, actual)

    def extra_view(self, net, state):
        view = OrderedDict()
        if self.kind == 'macvtap':
            # The macvtap character device is named after the ifindex.
            view['tap_device'] = '/dev/tap%d' % state.index
        return view

    def source_macs(self, state):
        """The source-mode MAC list of a LinkState (the kernel returns it newest first)."""
        if state.data.get(self.prefix + 'MACADDR_COUNT') == 0:
            return []  # nothing to decode; a kernel that sends no count has its list read
        data = state.data.get(self.prefix + 'MACADDR_DATA')
        if not data or isinstance(data, (str, bytes)):
            return []
        return sorted(value for _name, value in data.get('attrs', []))

    def macaddr_keywords(self, mode, mac):
        """pyroute2 keywords that add or delete one source MAC."""
        keyword = self.kind + '_macaddr'
        return {keyword + '_mode': mode, keyword: mac}


MACVLAN_KINDS = ('macvlan', 'macvtap')
_MODE = MacvlanMode()


def mode_of(state):
    """The mode of a macvlan/macvtap LinkState, by name."""
    return _MODE.decode(state.data.get('IFLA_%s_MODE' % state.kind.upper()))


def _macvlans_on(session, parent, netnsid=None):
    """The macvlans and macvtaps on ``parent`` that ``session`` sees (in another
    namespace with IFLA_TARGET_NETNSID); the kernel filters the dump by kind (4.6+)."""
    return [other for kind in MACVLAN_KINDS for other in session.links_of_kind(kind, netnsid)
            if other.parent == parent.index]


# _endpoints_on: the namespace of the endpoints read in the origin's own namespace.
_OWN = object()


def _endpoints_on(origin, origin_name, parent):
    """[(namespace, LinkState)] of every macvlan/macvtap on ``parent``: _OWN for those
    in ``origin`` (the session of namespace ``origin_name``), else the named namespace
    (None: the host) they sit in. Made once per read phase: every endpoint of a parent
    asks, and each answer costs a dump per namespace.

    They are read from ``origin`` (RTM_GETLINK with IFLA_TARGET_NETNSID, kernel 4.20+):
    no namespace is entered, one dump per namespace, and only the namespaces whose
    links point back at ``origin`` are looked at further.
    """
    def read():
        found = [(_OWN, other) for other in _macvlans_on(origin, parent)
                 if other.link_netnsid is None]
        elsewhere = [name for name in _named_namespaces() if name != origin_name]
        if origin_name is not None:
            elsewhere.insert(0, None)
        back = None
        for namespace in elsewhere:
            nsid = _peer_id(origin, namespace)
            if nsid is None:
                continue
            there = [other for other in _macvlans_on(origin, parent, netnsid=nsid)
                     if other.link_netnsid is not None]
            if there and back is None:
                # Read this way, a link names its lower device's namespace by the id the
                # reader has for it: for origin, origin's id for itself.
                back = _origin_id_in(origin, origin_name, None)
            found.extend((namespace, other) for other in there if other.link_netnsid == back)
        return found
    return origin.derived(('macvlan endpoints on', parent.index), read)


def _namespace_path(namespace):
    return os.path.join(NETNS_DIR, namespace) if namespace else '/proc/self/ns/net'


def _nsid(reply):
    nsid = reply.get('nsid') if reply else None
    # NETNSA_NSID is an s32 that pyroute2 decodes unsigned: 4294967295 means none.
    return nsid if nsid is not None and 0 <= nsid < 2 ** 31 else None


def _peer_id(session, namespace):
    """The id ``session``'s namespace has for ``namespace``, assigned if it had none.

    Assigning one ("ip netns set NAME auto") changes no link; it is what lets a
    namespace's links be read without entering it. None: the namespace is gone.
    """
    try:
        handle = os.open(_namespace_path(namespace), os.O_RDONLY)
    except OSError:
        return None
    try:
        nsid = _nsid(session.ipr.get_netnsid(fd=handle))
        if nsid is None:
            compat.set_netnsid(session.ipr, handle)
            nsid = _nsid(session.ipr.get_netnsid(fd=handle))
    finally:
        os.close(handle)
    return nsid


def _origin_id_in(session, origin, nsid):
    handle = os.open(_namespace_path(origin), os.O_RDONLY)
    try:
        return _nsid(session.ipr.get_netnsid(fd=handle, target_nsid=nsid))
    finally:
        os.close(handle)


def _where(namespace):
    return 'namespace %s' % namespace if namespace else 'the host'


def _named_namespaces():
    try:
        return sorted(os.listdir(NETNS_DIR))
    except OSError:
        return []


class MacvlanLink(LinkFacet):
    """LinkFacet for macvlan/macvtap: parent in ``origin``, link in ``target``."""

    # Created through a session of the parent's namespace, not the run's.
    batch_safe = False

    def __init__(self, link_kind, name, origin=None, target=None, session_factory=NetlinkSession,
                 **kwargs):
        super(MacvlanLink, self).__init__(link_kind, name, **kwargs)
        self.origin = origin
        self.target = target if target != origin else None
        self.session_factory = session_factory
        self.left_in_origin = None
        self._origin_nsid = None

    def namespaces(self):
        # Created from origin into target: both namespaces change.
        return [self.origin] if self.target is not None else []

    def where(self, namespace):
        return _where(namespace)

    def origin_session(self):
        return self.session_factory(self.origin)

    @contextmanager
    def parent_side(self, net):
        """A session of the parent's namespace: the run's own when that is the one (its
        remembered reads then serve every endpoint of the call), else a new one."""
        if self.target is None and net.netns == self.origin:
            yield net
        else:
            with self.origin_session() as origin:
                yield origin

    # ---- validation -------------------------------------------------------------
    def validate(self):
        problems = super(MacvlanLink, self).validate()
        if self.state == 'present':
            # The base skips cross-option checks after a bad value; these stand alone.
            problems.extend(p for p in self.link_kind.validate(self.wanted) if p not in problems)
        if self.state == 'present' and self.mac is not None and self.wanted.get('mode') == 'passthru':
            problems.append('mac cannot be set with mode passthru: the endpoint takes the MAC of '
                            'its parent, and setting it would change the parent\'s MAC; '
                            'remove mac')
        return problems

    # ---- reading -----------------------------------------------------------------
    def read(self, net):
        self._origin_nsid = None
        self.left_in_origin = None
        view = super(MacvlanLink, self).read(net)
        if view is None and self.target is not None and self.state == 'present':
            with self.origin_session() as origin:
                self.left_in_origin = origin.link(self.name)
        return view

    def view(self, net, state):
        view = super(MacvlanLink, self).view(net, state)
        view['parent'] = self._parent_name(net, state)
        view['netns'] = self.target or self.origin
        return view

    def _parent_name(self, net, state):
        index = state.parent
        if not index:
            return None
        foreign = 'ifindex %d in another namespace (netnsid %s)' % (index, state.link_netnsid)
        if self.target is None:
            if state.link_netnsid is not None:
                return foreign
            parent = net.link_by_index(index)
            return parent.name if parent else None
        if state.link_netnsid is None:
            parent = net.link_by_index(index)
            return '%s in %s' % (parent.name if parent else index, self.where(self.target))
        if state.link_netnsid != self.origin_nsid(net):
            return foreign
        with self.origin_session() as origin:
            parent = origin.link_by_index(index)
        return parent.name if parent else foreign

    def origin_nsid(self, net):
        """The id under which the link's namespace knows ``origin`` (-1: none)."""
        if self._origin_nsid is None:
            self._origin_nsid = self._nsid_of_origin(net)
        return self._origin_nsid

    def _nsid_of_origin(self, session):
        nsid = _origin_id_in(session, self.origin, None)
        return -1 if nsid is None else nsid

    # ---- checks against the host -----------------------------------------------------
    def check(self, net, current):
        state = self.current_state
        clash = self.kind_clash()
        if clash:
            return [clash]
        if self.state == 'absent':
            return []
        problems = []
        if self.left_in_origin is not None:
            problems.append('%s exists in %s but not in %s: remove it there, or move it with '
                            '"ip link set %s netns %s" (this module does not move existing links)'
                            % (self.name, self.where(self.origin), self.where(self.target),
                               self.name, self.target))
        parent_name = self.wanted.get('parent')
        with self.parent_side(net) as origin:
            parent = origin.link(parent_name)
            if parent is None:
                problems.append('parent %s does not exist in %s: give the lower device the '
                                'macvlan is created on' % (parent_name, self.where(self.origin)))
            elif parent.kind in MACVLAN_KINDS:
                problems.append('parent %s is itself a %s: the kernel would put %s on the parent of '
                                '%s instead; give that lower device as parent'
                                % (parent_name, parent.kind, self.name, parent_name))
            else:
                problems.extend(self._sharing_problems(origin, parent, current))
        problems.extend(self.link_kind.check(net, self.wanted, state))
        if self.link_kind.kind == 'macvtap':
            # A macvtap is a VM's NIC: its MAC is the VM's and must be its own.
            problems.extend(mac_holder_problems(net, self.name, self.mac))
        return problems

    def siblings(self, origin, parent):
        """(name, mode) of the other macvlans/macvtaps on ``parent``, in any namespace.

        The kernel counts them all (a passthru parent carries one endpoint), so links
        in the host or any named namespace count too (see _endpoints_on).
        """
        found = []
        for namespace, other in _endpoints_on(origin, self.origin, parent):
            if namespace is _OWN:
                if not (self.target is None and other.name == self.name):
                    found.append((other.name, mode_of(other)))
            elif not (namespace == self.target and other.name == self.name):
                found.append(('%s (in %s)' % (other.name, self.where(namespace)), mode_of(other)))
        return found

    def _will_create(self, current):
        if current is None:
            return True
        modes = (current.get('mode'), self.wanted.get('mode'))
        return current.get('parent') != self.wanted.get('parent') or \
            ('passthru' in modes and modes[0] != modes[1])

    def _sharing_problems(self, origin, parent, current):
        # An existing endpoint that stays was accepted by the kernel: nothing to check.
        if not self._will_create(current):
            return []
        siblings = self.siblings(origin, parent)
        if self.wanted.get('mode') == 'passthru':
            if siblings:
                return ['mode passthru gives the whole parent to one endpoint, but %s already '
                        'carries %s: remove them first or use mode bridge'
                        % (parent.name, ', '.join(name for name, _mode in siblings))]
            return []
        taken = [name for name, other_mode in siblings if other_mode == 'passthru']
        if taken:
            return ['parent %s is taken by passthru endpoint %s: a passthru parent carries no '
                    'other macvlan; choose another parent or remove %s'
                    % (parent.name, taken[0], taken[0])]
        return []

    # ---- operations ------------------------------------------------------------------
    def _create_ops(self, net):
        operations = super(MacvlanLink, self)._create_ops(net)
        if self.target is not None:
            operations[0].summary += ' on its parent in %s, inside %s' % (
                self.where(self.origin), self.where(self.target))
        return operations

    def _creator(self, values, mac, mtu):
        """Create on the parent in ``origin``, directly inside ``target`` when given."""
        create_here = super(MacvlanLink, self)._creator(values, mac, mtu)

        def create(net, index=None):
            try:
                if self.target is None:
                    create_here(net, index)
                    return
                with self.origin_session() as origin:
                    create_here(_InNamespace(origin, self.target), index)
            except NotApplied as error:
                raise NotApplied(error.message + self._refusal_hint(net, values), error.problems)
        return create

    def _refusal_hint(self, net, values):
        """Why the kernel may have refused, when the parent shows it; else nothing."""
        try:
            with self.origin_session() as origin:
                parent = origin.link(values.get('parent'))
                siblings = self.siblings(origin, parent) if parent is not None else []
        except NetError:
            return ''
        if values.get('mode') == 'passthru' and siblings:
            return ' (passthru needs a parent that carries no other macvlan or macvtap; %s ' \
                   'carries %s)' % (parent.name, ', '.join(name for name, _mode in siblings))
        taken = [name for name, mode in siblings if mode == 'passthru']
        if taken:
            return ' (parent %s is taken by passthru endpoint %s)' % (parent.name, taken[0])
        return ''

    def _carried_by_kind(self):
        macs = self.link_kind.source_macs(self.current_state)
        return (('source MACs', macs, lambda net, index: self._add_source_macs(net, macs)),)

    def _restorer(self, current):
        """The old link with its source-mode MAC list, which goes with the link."""
        create = super(MacvlanLink, self)._restorer(current)
        macs = self.link_kind.source_macs(self.current_state)

        def restore(net, index=None):
            create(net, index)
            self._add_source_macs(net, macs)
        return restore

    def _add_source_macs(self, net, macs):
        kind = self.link_kind
        for mac in macs:
            net.call('adding source MAC %s to %s' % (mac, self.name), 'link', 'set',
                     index=net.index(self.name), kind=kind.kind,
                     **kind.macaddr_keywords(MACADDR_ADD, mac))

    def _recreate_values(self, current):
        # The parent is the wanted one; nopromisc only exists in passthru.
        values = self._current_options(current)
        values.pop('parent', None)
        if values.get('mode') == 'passthru' and self.wanted.get('mode', 'passthru') != 'passthru':
            values.pop('nopromisc', None)
        values.update(self.wanted)
        return values

    def _recreate_mac(self, current, values):
        """The old MAC is kept unless passthru is involved.

        A passthru endpoint has its parent's MAC, which a bridge/vepa endpoint must
        not take over.
        """
        if self.mac is not None:
            return self.mac
        return None if 'passthru' in (current.get('mode'), values.get('mode')) else current.get('mac')


class _InNamespace:
    """A session whose link creations land in another namespace (IFLA_NET_NS_FD)."""

    def __init__(self, session, target):
        self.session = session
        self.target = target

    def call(self, action, method, *args, **kwargs):
        if method == 'link' and args and args[0] == 'add':
            kwargs['net_ns_fd'] = self.target
        return self.session.call(action, method, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.session, name)


class SourceMacs(Facet):
    """The exact source-MAC list of the link managed by ``link_facet``."""

    title = 'source_macs'

    def __init__(self, link_facet, macs, mode):
        self.link = link_facet
        self.given = list(macs)
        self.mode = mode
        self.wanted = sorted(set(normalize_mac(mac) for mac in macs if normalize_mac(mac)))

    def validate(self):
        problems = []
        if self.mode != 'source':
            problems.append('source_macs only applies to mode source (mode is %s): set '
                            'mode: source or remove source_macs' % self.mode)
        for number, mac in enumerate(self.given):
            problem = mac_problem('source_macs[%d]' % number, mac)
            if problem:
                problems.append(problem)
        return problems

    def read(self, net):
        # The link facet read first, in the same session.
        state = self.link.current_state
        if state is None or state.kind != self.link.link_kind.kind:
            return None
        return self.link.link_kind.source_macs(state)

    def plan(self, net, current):
        # A new link starts with an empty list; a recreated one gets its list back.
        have = [] if current is None else current
        kind = self.link.link_kind
        name = self.link.name

        def request(mode, mac):
            def do(net):
                net.call('%s source MAC %s %s %s' % ('adding' if mode == MACADDR_ADD else 'removing',
                                                     mac, 'to' if mode == MACADDR_ADD else 'from',
                                                     name),
                         'link', 'set', index=net.index(name), kind=kind.kind,
                         **kind.macaddr_keywords(mode, mac))
            return do

        operations = []
        for mac in sorted(set(have) - set(self.wanted)):
            operations.append(Operation(PHASE_FDB, 'remove source MAC %s from %s' % (mac, name),
                                        request(MACADDR_DEL, mac), request(MACADDR_ADD, mac)))
        for mac in self.wanted:
            if mac not in have:
                operations.append(Operation(PHASE_FDB, 'add source MAC %s to %s' % (mac, name),
                                            request(MACADDR_ADD, mac), request(MACADDR_DEL, mac)))
        return operations

    def predict(self, current):
        return list(self.wanted)

    def mismatches(self, actual):
        if actual is None or set(actual) != set(self.wanted):
            return ['%s source_macs: wanted %s, the kernel has %s' % (
                self.link.name, ', '.join(self.wanted) or 'none',
                ', '.join(actual or []) or 'none')]
        return []


MACVLAN_KIND = MacvlanKind()
MACVTAP_KIND = MacvlanKind(tap=True)


def build_facets(params):
    kind = MACVTAP_KIND if params['tap'] else MACVLAN_KIND
    link_options = dict(origin=params['netns'], target=params['target_netns'])
    if params['state'] == 'absent':
        return [MacvlanLink(kind, params['name'], state='absent', title='macvlan', **link_options)]
    options = dict(parent=params['parent'], mode=params['mode'], nopromisc=params['nopromisc'])
    link = MacvlanLink(kind, params['name'], options=options, mtu=params['mtu'], mac=params['mac'],
                       up=params['up'], title='macvlan', **link_options)
    facets = [link]
    if params['source_macs'] is not None:
        facets.append(SourceMacs(link, params['source_macs'], params['mode']))
    return facets


def _with_source_macs(interface, after):
    if 'source_macs' in after:
        interface['source_macs'] = after['source_macs']


summarize = link_summary('macvlan', _with_source_macs, attached=False)


def link_netns(params):
    """A link moved to target_netns is managed from there after this run."""
    return params['target_netns'] or params['netns']


MODULE = LinkModule(
    'macvlan_iface',
    link_argument_spec(
        MACVLAN_KIND,
        source_macs=Option('list', elements='str'),
        tap=Option('bool', default=False),
        target_netns=Option('str'),
    ),
    build_facets, summarize, netns=link_netns,
    required_if=[('state', 'present', ['parent'])])
