# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lean rtnetlink path for the requests a large topology repeats thousands of times.

pyroute2 turns every reply into Python objects attribute by attribute and runs each
request through its event loop; that costs far more than the kernel's own work when a
call reads or writes thousands of links. This module talks to the kernel directly:

- ``Socket``: a NETLINK_ROUTE socket with extended ACKs, strict dump checking and
  capped ACKs; ``transact`` sends many requests per ``send`` (each with NLM_F_ACK and
  its own sequence number) and returns each one's outcome; ``dump`` runs one filtered
  dump; ``get_links`` sends many RTM_GETLINK at once.
- Decoders for the hot messages (RTM_NEWLINK, AF_BRIDGE RTM_NEWNEIGH) that parse only
  the attributes the engine compares, with ``struct`` over the raw bytes. An attribute
  outside that set is read by pyroute2 from the same bytes (``Message.get``), so every
  reader gets the value pyroute2 would give.
- Encoders for the writes the engine repeats (link add/set/del, bridge port options,
  FDB entries), from the same keywords the engine gives pyroute2; ``encode`` returns
  None for anything else, which then goes through pyroute2.
- ``create_tap``: /dev/net/tun, as ``ip tuntap add`` does.

Values come out as pyroute2 gives them (MACs as lower-case text, addresses as text,
operstate as a name); tests/netns/test_rtnl.py compares both on real kernel bytes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import os
import socket
import struct

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32

NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_APPEND = 0x800
NLM_F_ACK_TLVS = 0x200
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSGERR_ATTR_MSG = 1
NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3fff

RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_SETLINK = 19
RTM_NEWADDR = 20
RTM_DELADDR = 21
RTM_GETADDR = 22
RTM_NEWNEIGH = 28
RTM_DELNEIGH = 29
RTM_GETNEIGH = 30

AF_UNSPEC = 0
AF_BRIDGE = 7
IFF_UP = 0x1
RTEXT_FILTER_SKIP_STATS = 1 << 3

_HEADER = struct.Struct('=IHHII')
_IFINFO = struct.Struct('=BxHiII')
_NDMSG = struct.Struct('=BxxxiHBB')
_IFADDR = struct.Struct('=BBBBI')
_NLA = struct.Struct('=HH')
_U8 = struct.Struct('=B')
_U16 = struct.Struct('=H')
_U32 = struct.Struct('=I')
_S32 = struct.Struct('=i')
_BE16 = struct.Struct('>H')
_ERROR = struct.Struct('=i')

OPERSTATES = ('UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP')


# ---- values ------------------------------------------------------------------
def _mac(data):
    return ':'.join('%02x' % byte for byte in bytearray(data))


def _text(data):
    return data.split(b'\0', 1)[0].decode('utf-8', 'replace')


def _ip(data):
    if len(data) == 4:
        return socket.inet_ntop(socket.AF_INET, data)
    if len(data) == 16:
        return socket.inet_ntop(socket.AF_INET6, data)
    return None


def _operstate(data):
    code = _U8.unpack_from(data)[0]
    return OPERSTATES[code] if code < len(OPERSTATES) else code


# enum macvlan_mode and the macvlan flags (include/uapi/linux/if_link.h), named as
# pyroute2 names them (a value it has no name for stays a number).
MACVLAN_MODES = {0: 'none', 1: 'private', 2: 'vepa', 4: 'bridge', 8: 'passthru', 16: 'source'}
_MACVLAN_FLAGS = {0: 'none', 1: 'nopromisc'}


def _named(names, unpack):
    def read(data):
        value = unpack(data)[0]
        return names.get(value, value)
    return read


def _macaddr_list(name):
    """A source-mode MAC list (IFLA_MACVLAN_MACADDR_DATA) in pyroute2's shape: ``attrs``,
    (name, MAC) per entry, in the kernel's order."""
    def read(data):
        return {'attrs': [(name, _mac(data[begin:end]))
                          for kind, begin, end in attributes(data, 0, len(data))
                          if kind == IFLA_MACVLAN_MACADDR]}
    return read


IFLA_MACVLAN_MACADDR = 4
IFLA_VLAN_QOS_MAPPING = 1
# struct ifla_vlan_flags {flags, mask} and struct ifla_vlan_qos_mapping {from, to}
_U32_PAIR = struct.Struct('=II')


def _vlan_flags(data):
    """struct ifla_vlan_flags, as pyroute2 gives it: flags and mask."""
    flags, mask = _U32_PAIR.unpack_from(data)
    return {'flags': flags, 'mask': mask}


def _vlan_qos(data):
    """A VLAN QoS map nest (IFLA_VLAN_INGRESS_QOS, _EGRESS_QOS) in pyroute2's shape."""
    entries = []
    for kind, begin, _end in attributes(data, 0, len(data)):
        if kind == IFLA_VLAN_QOS_MAPPING:
            source, target = _U32_PAIR.unpack_from(data, begin)
            entries.append(('IFLA_VLAN_QOS_MAPPING', {'from': source, 'to': target}))
    return {'attrs': entries}


READERS = {
    'u8': lambda data: _U8.unpack_from(data)[0],
    'u16': lambda data: _U16.unpack_from(data)[0],
    'u32': lambda data: _U32.unpack_from(data)[0],
    's32': lambda data: _S32.unpack_from(data)[0],
    'be16': lambda data: _BE16.unpack_from(data)[0],
    'mac': _mac,
    'text': _text,
    'ip': _ip,
    'operstate': _operstate,
    'macvlan_mode': _named(MACVLAN_MODES, _U32.unpack_from),
    'macvlan_flags': _named(_MACVLAN_FLAGS, _U16.unpack_from),
    'macvlan_macaddrs': _macaddr_list('IFLA_MACVLAN_MACADDR'),
    'macvtap_macaddrs': _macaddr_list('IFLA_MACVTAP_MACADDR'),
    'vlan_flags': _vlan_flags,
    'vlan_qos': _vlan_qos,
}


def _pack_mac(value):
    return bytes(bytearray(int(part, 16) for part in str(value).split(':')))


def _pack_ip4(value):
    return socket.inet_pton(socket.AF_INET, str(value))


def _pack_ip(value):
    text = str(value)
    return socket.inet_pton(socket.AF_INET6 if ':' in text else socket.AF_INET, text)


def _pack_vlan_flags(value):
    return _U32_PAIR.pack(value['flags'], value['mask'])


WRITERS = {
    'u8': _U8.pack,
    'u16': _U16.pack,
    'u32': _U32.pack,
    's32': _S32.pack,
    'be16': _BE16.pack,
    'mac': _pack_mac,
    'text': lambda value: str(value).encode('utf-8') + b'\0',
    'ip4': _pack_ip4,
    'ip': _pack_ip,
    'vlan_flags': _pack_vlan_flags,
}


# ---- attribute tables: type -> (name, format); the names pyroute2 uses -----------
LINK_ATTRS = {
    1: ('IFLA_ADDRESS', 'mac'),
    3: ('IFLA_IFNAME', 'text'),
    4: ('IFLA_MTU', 'u32'),
    5: ('IFLA_LINK', 'u32'),
    10: ('IFLA_MASTER', 'u32'),
    16: ('IFLA_OPERSTATE', 'operstate'),
    20: ('IFLA_IFALIAS', 'text'),
    33: ('IFLA_CARRIER', 'u8'),
    37: ('IFLA_LINK_NETNSID', 's32'),
}
IFLA_LINKINFO = 18
IFLA_PROTINFO = 12
IFLA_EXT_MASK = 29
IFLA_TARGET_NETNSID = 46
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_INFO_SLAVE_DATA = 5

BRIDGE_DATA = {
    1: ('IFLA_BR_FORWARD_DELAY', 'u32'),
    2: ('IFLA_BR_HELLO_TIME', 'u32'),
    3: ('IFLA_BR_MAX_AGE', 'u32'),
    4: ('IFLA_BR_AGEING_TIME', 'u32'),
    5: ('IFLA_BR_STP_STATE', 'u32'),
    6: ('IFLA_BR_PRIORITY', 'u16'),
    23: ('IFLA_BR_MCAST_SNOOPING', 'u8'),
}
VXLAN_DATA = {
    1: ('IFLA_VXLAN_ID', 'u32'),
    2: ('IFLA_VXLAN_GROUP', 'ip'),
    3: ('IFLA_VXLAN_LINK', 'u32'),
    4: ('IFLA_VXLAN_LOCAL', 'ip'),
    5: ('IFLA_VXLAN_TTL', 'u8'),
    6: ('IFLA_VXLAN_TOS', 'u8'),
    7: ('IFLA_VXLAN_LEARNING', 'u8'),
    15: ('IFLA_VXLAN_PORT', 'be16'),
    18: ('IFLA_VXLAN_UDP_CSUM', 'u8'),
}
TUN_DATA = {
    1: ('IFLA_TUN_OWNER', 'u32'),
    2: ('IFLA_TUN_GROUP', 'u32'),
    3: ('IFLA_TUN_TYPE', 'u8'),
    4: ('IFLA_TUN_PI', 'u8'),
    5: ('IFLA_TUN_VNET_HDR', 'u8'),
    6: ('IFLA_TUN_PERSIST', 'u8'),
    7: ('IFLA_TUN_MULTI_QUEUE', 'u8'),
    8: ('IFLA_TUN_NUM_QUEUES', 'u32'),
    9: ('IFLA_TUN_NUM_DISABLED_QUEUES', 'u32'),
}
BRPORT_DATA = {
    2: ('IFLA_BRPORT_PRIORITY', 'u16'),
    3: ('IFLA_BRPORT_COST', 'u32'),
    4: ('IFLA_BRPORT_MODE', 'u8'),
    8: ('IFLA_BRPORT_LEARNING', 'u8'),
    9: ('IFLA_BRPORT_UNICAST_FLOOD', 'u8'),
    33: ('IFLA_BRPORT_ISOLATED', 'u8'),
}
ADDR_ATTRS = {
    1: ('IFA_ADDRESS', 'ip'),
    2: ('IFA_LOCAL', 'ip'),
    3: ('IFA_LABEL', 'text'),
    4: ('IFA_BROADCAST', 'ip'),
    8: ('IFA_FLAGS', 'u32'),
}
# IFLA_INFO_DATA of these kinds, IFLA_INFO_SLAVE_DATA of these master kinds.
MACVLAN_DATA = {
    1: ('IFLA_MACVLAN_MODE', 'macvlan_mode'),
    2: ('IFLA_MACVLAN_FLAGS', 'macvlan_flags'),
    5: ('IFLA_MACVLAN_MACADDR_DATA', 'macvlan_macaddrs'),
    6: ('IFLA_MACVLAN_MACADDR_COUNT', 'u32'),
}
MACVTAP_DATA = dict((kind, (name.replace('MACVLAN', 'MACVTAP'),
                            fmt.replace('macvlan_macaddrs', 'macvtap_macaddrs')))
                    for kind, (name, fmt) in MACVLAN_DATA.items())
VLAN_DATA = {
    1: ('IFLA_VLAN_ID', 'u16'),
    2: ('IFLA_VLAN_FLAGS', 'vlan_flags'),
    3: ('IFLA_VLAN_EGRESS_QOS', 'vlan_qos'),
    4: ('IFLA_VLAN_INGRESS_QOS', 'vlan_qos'),
    5: ('IFLA_VLAN_PROTOCOL', 'be16'),
}
KIND_DATA = {'bridge': BRIDGE_DATA, 'vxlan': VXLAN_DATA, 'tun': TUN_DATA,
             'macvlan': MACVLAN_DATA, 'macvtap': MACVTAP_DATA, 'vlan': VLAN_DATA}
SLAVE_DATA = {'bridge': BRPORT_DATA}
NEIGH_ATTRS = {
    1: ('NDA_DST', 'ip'),
    2: ('NDA_LLADDR', 'mac'),
    5: ('NDA_VLAN', 'u16'),
    6: ('NDA_PORT', 'be16'),
    7: ('NDA_VNI', 'u32'),
    8: ('NDA_IFINDEX', 'u32'),
    9: ('NDA_MASTER', 'u32'),
}


def _names(table):
    return frozenset(name for name, _fmt in table.values())


def _compiled(table):
    """type -> (name, reader) of a table."""
    return dict((kind, (name, READERS[fmt])) for kind, (name, fmt) in table.items())


def attributes(data, offset, end):
    """(type, payload offset, payload end) of each attribute in data[offset:end]."""
    while offset + 4 <= end:
        length, kind = _NLA.unpack_from(data, offset)
        if length < 4:
            break
        yield kind & NLA_TYPE_MASK, offset + 4, offset + length
        offset += (length + 3) & ~3


def _walk(table, data, offset, end, found):
    """Decode into ``found`` the attributes of data[offset:end] that ``table`` covers."""
    unpack = _NLA.unpack_from
    get = table.get
    while offset + 4 <= end:
        length, kind = unpack(data, offset)
        if length < 4:
            break
        known = get(kind & NLA_TYPE_MASK)
        if known is not None:
            found[known[0]] = known[1](data[offset + 4:offset + length])
        offset += (length + 3) & ~3
    return found


_MISSING = object()


class Attrs(dict):
    """Decoded attributes by name, as pyroute2 names them.

    A name outside ``covered`` (not decoded here) is looked up by ``fallback(name)``,
    pyroute2's decoding of the same bytes, which returns _MISSING when absent. Going
    through all of them (keys, items, len: comparing two links' options) first adds
    every attribute pyroute2 decodes (``everything()``, pairs), so nothing is missed.
    """

    __slots__ = ('covered', 'fallback', 'everything')

    def __init__(self, covered, fallback, everything=None):
        dict.__init__(self)
        self.covered = covered
        self.fallback = fallback
        self.everything = everything

    def _complete(self):
        if self.everything is not None:
            everything, self.everything = self.everything, None
            for key, value in dict(everything()).items():
                if not dict.__contains__(self, key):
                    dict.__setitem__(self, key, value)
            self.covered = frozenset(dict.keys(self))

    def __iter__(self):
        self._complete()
        return dict.__iter__(self)

    def __len__(self):
        self._complete()
        return dict.__len__(self)

    def keys(self):
        self._complete()
        return dict.keys(self)

    def items(self):
        self._complete()
        return dict.items(self)

    def values(self):
        self._complete()
        return dict.values(self)

    def _other(self, key):
        if key in self.covered or self.fallback is None:
            return _MISSING
        return self.fallback(key)

    def get(self, key, default=None):
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        value = self._other(key)
        return default if value is _MISSING else value

    get_attr = get

    def __contains__(self, key):
        return dict.__contains__(self, key) or self._other(key) is not _MISSING

    def __missing__(self, key):
        value = self._other(key)
        if value is _MISSING:
            raise KeyError(key)
        return value


class Message:
    """One decoded message: header fields by key, attributes by name (``attrs``).

    ``get`` of an attribute this module does not decode asks pyroute2 to decode the
    same bytes, once per message (``full``).
    """

    __slots__ = ('fields', 'attrs', 'raw', 'covered', 'parser', '_full', '_load')

    def __init__(self, fields, raw, covered, parser, load=None):
        self.fields = fields
        self.raw = raw
        self.covered = covered
        self.parser = parser
        self._full = None
        self.attrs = {}
        # load(message): decodes the attributes when first asked for (None: done).
        self._load = load

    def __getitem__(self, key):
        if key == 'attrs':
            self._loaded()
            return list(self.attrs.items())
        return self.fields[key]

    def get(self, key, default=None):
        if key in self.fields:
            return self.fields[key]
        self._loaded()
        if key in self.attrs:
            return self.attrs[key]
        if key in self.covered:
            return default
        value = self.full().get(key)
        return default if value is None else value

    def _loaded(self):
        if self._load is not None:
            load, self._load = self._load, None
            load(self)

    get_attr = get

    def full(self):
        """The message as pyroute2 decodes it."""
        if self._full is None:
            self._full = self.parser(self.raw)
        return self._full


def _pyroute2_parser(module_name, name):
    def parse(raw):
        module = __import__(module_name, fromlist=[name])
        msg = getattr(module, name)(raw)
        msg.decode()
        return msg
    return parse


_LINK_PARSER = _pyroute2_parser('pyroute2.netlink.rtnl.ifinfmsg', 'ifinfmsg')
_NEIGH_PARSER = _pyroute2_parser('pyroute2.netlink.rtnl.ndmsg', 'ndmsg')
_LINK_TABLE = _compiled(LINK_ATTRS)
_NEIGH_TABLE = _compiled(NEIGH_ATTRS)
_ADDR_TABLE = _compiled(ADDR_ATTRS)
_ADDR_NAMES = _names(ADDR_ATTRS)
_ADDR_PARSER = _pyroute2_parser('pyroute2.netlink.rtnl.ifaddrmsg', 'ifaddrmsg')
_LINK_NAMES = _names(LINK_ATTRS) | frozenset(('IFLA_LINKINFO',))
_NEIGH_NAMES = _names(NEIGH_ATTRS)
_DATA_TABLES = dict((kind, (_compiled(table), _names(table))) for kind, table in KIND_DATA.items())
_SLAVE_TABLES = dict((kind, (_compiled(table), _names(table))) for kind, table in SLAVE_DATA.items())


def decode_link(data, offset=0, length=None):
    """A Message of the RTM_NEWLINK at ``offset`` (a whole netlink message)."""
    if length is None:
        length = _HEADER.unpack_from(data, offset)[0]
    raw = data[offset:offset + length] if offset or length != len(data) else data
    family, ifi_type, index, flags, change = _IFINFO.unpack_from(raw, 16)
    message = Message({'family': family, 'ifi_type': ifi_type, 'index': index, 'flags': flags,
                       'change': change}, raw, _LINK_NAMES, _LINK_PARSER)
    attrs = message.attrs
    unpack = _NLA.unpack_from
    table = _LINK_TABLE
    position, end = 32, len(raw)
    while position + 4 <= end:
        size, kind = unpack(raw, position)
        if size < 4:
            break
        kind &= NLA_TYPE_MASK
        known = table.get(kind)
        if known is not None:
            attrs[known[0]] = known[1](raw[position + 4:position + size])
        elif kind == IFLA_LINKINFO:
            attrs['IFLA_LINKINFO'] = _LinkInfo(message, position + 4, position + size)
        position += (size + 3) & ~3
    return message


class _LinkInfo(Attrs):
    """IFLA_LINKINFO: the kinds at once, the kind data decoded when first asked for."""

    __slots__ = ('message', 'nests')

    def __init__(self, message, start, stop):
        Attrs.__init__(self, _LINKINFO_NAMES, self._pyroute2)
        self.message = message
        self.nests = {}
        raw = message.raw
        for kind, begin, end in attributes(raw, start, stop):
            if kind == IFLA_INFO_KIND:
                self['IFLA_INFO_KIND'] = _text(raw[begin:end])
            elif kind == IFLA_INFO_SLAVE_KIND:
                self['IFLA_INFO_SLAVE_KIND'] = _text(raw[begin:end])
            elif kind in (IFLA_INFO_DATA, IFLA_INFO_SLAVE_DATA):
                self.nests[kind] = (begin, end)
        self.covered = set(_LINKINFO_NAMES)
        for kind, kind_name, name, tables in (
                (IFLA_INFO_DATA, 'IFLA_INFO_KIND', 'IFLA_INFO_DATA', _DATA_TABLES),
                (IFLA_INFO_SLAVE_DATA, 'IFLA_INFO_SLAVE_KIND', 'IFLA_INFO_SLAVE_DATA', _SLAVE_TABLES)):
            if dict.get(self, kind_name) in tables:
                self.covered.add(name)
                if kind not in self.nests:
                    self.nests[kind] = None
            elif kind not in self.nests:
                self.covered.add(name)  # absent (a veth has no kind data): nothing to ask

    def _pyroute2(self, key):
        info = self.message.full().get('IFLA_LINKINFO')
        value = info.get(key) if info is not None else None
        return _MISSING if value is None else value

    def _nest(self, key):
        kind = IFLA_INFO_DATA if key == 'IFLA_INFO_DATA' else IFLA_INFO_SLAVE_DATA
        tables = _DATA_TABLES if kind == IFLA_INFO_DATA else _SLAVE_TABLES
        table, names = tables[dict.get(self, 'IFLA_INFO_KIND' if kind == IFLA_INFO_DATA
                                       else 'IFLA_INFO_SLAVE_KIND')]
        nest = Attrs(names, _nested_fallback(self.message, key), _nested_all(self.message, key))
        span = self.nests.pop(kind)
        if span is not None:
            _walk(table, self.message.raw, span[0], span[1], nest)
        self[key] = nest
        return nest

    def get(self, key, default=None):
        nested = _NESTS.get(key)
        if nested is not None and nested in self.nests and key in self.covered:
            return self._nest(key)  # decoded here, first time asked
        return Attrs.get(self, key, default)


IFLA_INFO_SLAVE_KIND = 4
_NESTS = {'IFLA_INFO_DATA': IFLA_INFO_DATA, 'IFLA_INFO_SLAVE_DATA': IFLA_INFO_SLAVE_DATA}
_LINKINFO_NAMES = frozenset(('IFLA_INFO_KIND', 'IFLA_INFO_SLAVE_KIND'))


def _nested_fallback(message, name):
    def lookup(key):
        info = message.full().get('IFLA_LINKINFO')
        nest = info.get(name) if info is not None else None
        value = nest.get(key) if nest is not None else None
        return _MISSING if value is None else value
    return lookup


def _nested_all(message, name):
    def everything():
        info = message.full().get('IFLA_LINKINFO')
        nest = info.get(name) if info is not None else None
        return nest.get('attrs', []) if hasattr(nest, 'get') else []
    return everything


def decode_neigh(data, offset=0, length=None):
    """A Message of the RTM_NEWNEIGH at ``offset``."""
    if length is None:
        length = _HEADER.unpack_from(data, offset)[0]
    raw = data[offset:offset + length] if offset or length != len(data) else data
    family, ifindex, state, flags, ndm_type = _NDMSG.unpack_from(raw, 16)
    # A whole FDB holds an entry per port MAC of every bridge: attributes on demand.
    return Message({'family': family, 'ifindex': ifindex, 'state': state, 'flags': flags,
                    'ndm_type': ndm_type}, raw, _NEIGH_NAMES, _NEIGH_PARSER, _load_neigh)


def decode_addr(data, offset=0, length=None):
    """A Message of the RTM_NEWADDR at ``offset``."""
    if length is None:
        length = _HEADER.unpack_from(data, offset)[0]
    raw = data[offset:offset + length] if offset or length != len(data) else data
    family, prefixlen, flags, scope, index = _IFADDR.unpack_from(raw, 16)
    message = Message({'family': family, 'prefixlen': prefixlen, 'flags': flags, 'scope': scope,
                       'index': index}, raw, _ADDR_NAMES, _ADDR_PARSER)
    _walk(_ADDR_TABLE, raw, 24, len(raw), message.attrs)
    return message


def neigh_ifindex(data, offset, length):
    """(ifindex, raw message) of the RTM_NEWNEIGH at ``offset``, undecoded."""
    return _NDMSG.unpack_from(data, offset + 16)[1], data[offset:offset + length]


def _load_neigh(message):
    _walk(_NEIGH_TABLE, message.raw, 28, len(message.raw), message.attrs)


# ---- encoding --------------------------------------------------------------------
def nla(kind, payload):
    length = 4 + len(payload)
    return _NLA.pack(length, kind) + payload + b'\0' * ((4 - length % 4) % 4)


def nest(kind, parts):
    return nla(kind | NLA_F_NESTED, b''.join(parts))


def _reverse(table):
    return dict((name, (kind, fmt)) for kind, (name, fmt) in table.items())


_BY_KEYWORD = {}
# A VLAN's QoS maps (nests) are left to pyroute2: a request that has one is not encoded here.
for _table in (BRIDGE_DATA, VXLAN_DATA, dict((k, v) for k, v in VLAN_DATA.items() if v[1] != 'vlan_qos')):
    for _kind, (_name, _fmt) in _table.items():
        # pyroute2 keywords: IFLA_BR_FORWARD_DELAY -> br_forward_delay
        _BY_KEYWORD[_name[len('IFLA_'):].lower()] = (_kind, 'ip4' if _fmt == 'ip' else _fmt)
# Written as the number the macvlan kind passes (read back by name, MACVLAN_DATA); a
# source MAC is added or removed one per request (IFLA_MACVLAN_MACADDR_MODE, _MACADDR).
for _prefix in ('macvlan_', 'macvtap_'):
    _BY_KEYWORD[_prefix + 'mode'] = (1, 'u32')
    _BY_KEYWORD[_prefix + 'macaddr_mode'] = (3, 'u32')
    _BY_KEYWORD[_prefix + 'macaddr'] = (IFLA_MACVLAN_MACADDR, 'mac')
_KIND_PREFIX = {'bridge': 'br_', 'vxlan': 'vxlan_', 'macvlan': 'macvlan_', 'macvtap': 'macvtap_',
                'veth': 'veth_', 'vlan': 'vlan_'}
VETH_INFO_PEER = 1
_BRPORT_KEYWORDS = dict((name[len('IFLA_BRPORT_'):].lower(), (kind, fmt))
                        for kind, (name, fmt) in BRPORT_DATA.items())
_LINK_KEYWORDS = {'mtu': (4, 'u32'), 'address': (1, 'mac'), 'master': (10, 'u32'),
                  'ifalias': (20, 'text'), 'ifname': (3, 'text'), 'link': (5, 'u32')}
_STATE_FLAGS = {'up': IFF_UP, 'down': 0}


class Request:
    """One encoded request: message type, flags, body; ``kind`` for error advice."""

    __slots__ = ('msg_type', 'flags', 'body')

    def __init__(self, msg_type, flags, body):
        self.msg_type = msg_type
        self.flags = flags
        self.body = body


def encode(method, args, kwargs):
    """A Request for the pyroute2 call ``method(*args, **kwargs)``, or None when this
    module does not cover it (the caller then uses pyroute2)."""
    if len(args) != 1:
        return None
    verb = args[0]
    try:
        if method == 'link':
            return _encode_link(verb, dict(kwargs))
        if method == 'brport' and verb == 'set':
            return _encode_brport(dict(kwargs))
        if method == 'fdb':
            return _encode_fdb(verb, dict(kwargs))
        if method == 'addr':
            return _encode_addr(verb, kwargs)
    except (KeyError, ValueError, TypeError, struct.error, OSError):
        return None
    return None


def _encode_link(verb, kwargs):
    if verb == 'del':
        index = kwargs.pop('index', None)
        if kwargs or not index:
            return None
        return Request(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK,
                       _IFINFO.pack(AF_UNSPEC, 0, index, 0, 0))
    if verb not in ('set', 'add'):
        return None
    index = kwargs.pop('index', 0) or 0
    kind = kwargs.pop('kind', None)
    state = kwargs.pop('state', None)
    if state not in (None, 'up', 'down'):
        return None
    flags = change = 0
    if state is not None:
        flags, change = _STATE_FLAGS[state], IFF_UP
    parts = []
    for keyword in list(kwargs):
        if keyword in _LINK_KEYWORDS:
            attr, fmt = _LINK_KEYWORDS[keyword]
            parts.append(nla(attr, WRITERS[fmt](kwargs.pop(keyword))))
    if kind is not None:
        prefix = _KIND_PREFIX.get(kind)
        if prefix is None:
            return None
        data = []
        for keyword in list(kwargs):
            if keyword.startswith(prefix) and keyword in _BY_KEYWORD:
                attr, fmt = _BY_KEYWORD[keyword]
                data.append(nla(attr, WRITERS[fmt](kwargs.pop(keyword))))
        if kind == 'veth' and verb == 'add':
            peer = _veth_peer(kwargs.pop('peer', None))
            if peer is None:
                return None
            data.append(peer)
        info = [nla(IFLA_INFO_KIND, WRITERS['text'](kind)[:-1])]
        if data:
            info.append(nest(IFLA_INFO_DATA, data))
        parts.append(nest(IFLA_LINKINFO, info))
    if kwargs:
        return None  # a keyword this module does not know
    if verb == 'add':
        if kind is None or 'ifname' not in _present(parts):
            return None
        message_type = RTM_NEWLINK
        request_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    else:
        if not index:
            return None
        # As pyroute2 and ip do: RTM_SETLINK ignores the kind's data, RTM_NEWLINK on an
        # existing link changes it.
        message_type = RTM_NEWLINK
        request_flags = NLM_F_REQUEST | NLM_F_ACK
    return Request(message_type, request_flags,
                   _IFINFO.pack(AF_UNSPEC, 0, index, flags, change) + b''.join(parts))


def _veth_peer(peer):
    """VETH_INFO_PEER (an ifinfomsg and its attributes) for pyroute2's ``peer`` of a
    veth in this namespace, or None for one this module does not encode."""
    if not isinstance(peer, dict) or not peer.get('ifname') or set(peer) - set(('ifname', 'mtu', 'address')):
        return None
    attrs = [nla(_LINK_KEYWORDS[keyword][0], WRITERS[_LINK_KEYWORDS[keyword][1]](value))
             for keyword, value in sorted(peer.items())]
    return nla(VETH_INFO_PEER, _IFINFO.pack(AF_UNSPEC, 0, 0, 0, 0) + b''.join(attrs))


_ADDR_VERBS = {
    'add': (RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL),
    'replace': (RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE),
    'del': (RTM_DELADDR, 0),
}


def _encode_addr(verb, kwargs):
    """An address as pyroute2 sends it: IFA_ADDRESS, and IFA_LOCAL for IPv4."""
    if verb not in _ADDR_VERBS or set(kwargs) != set(('index', 'address', 'prefixlen')):
        return None
    message_type, flags = _ADDR_VERBS[verb]
    address = str(kwargs['address'])
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    packed = socket.inet_pton(family, address)
    parts = [nla(1, packed)] + ([nla(2, packed)] if family == socket.AF_INET else [])
    return Request(message_type, NLM_F_REQUEST | NLM_F_ACK | flags,
                   _IFADDR.pack(family, int(kwargs['prefixlen']), 0, 0, kwargs['index']) + b''.join(parts))


def _present(parts):
    found = set()
    for part in parts:
        kind = _NLA.unpack_from(part)[1] & NLA_TYPE_MASK
        if kind == 3:
            found.add('ifname')
    return found


def _encode_brport(kwargs):
    index = kwargs.pop('index', None)
    if not index:
        return None
    parts = []
    for keyword in list(kwargs):
        attr, fmt = _BRPORT_KEYWORDS[keyword]
        parts.append(nla(attr, WRITERS[fmt](kwargs.pop(keyword))))
    return Request(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK,
                   _IFINFO.pack(AF_BRIDGE, 0, index, 0, 0) + nest(IFLA_PROTINFO, parts))


_FDB_VERBS = {
    'append': (RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND),
    'add': (RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL),
    'replace': (RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE),
    'del': (RTM_DELNEIGH, 0),
}


def _encode_fdb(verb, kwargs):
    if verb not in _FDB_VERBS:
        return None
    message_type, flags = _FDB_VERBS[verb]
    ifindex = kwargs.pop('ifindex')
    state = kwargs.pop('state', 0)
    ntf = kwargs.pop('flags', 0)
    parts = [nla(2, _pack_mac(kwargs.pop('lladdr')))]
    if 'dst' in kwargs:
        parts.insert(0, nla(1, _pack_ip(kwargs.pop('dst'))))
    if kwargs:
        return None
    return Request(message_type, NLM_F_REQUEST | NLM_F_ACK | flags,
                   _NDMSG.pack(AF_BRIDGE, ifindex, state, ntf, 0) + b''.join(parts))


def link_get(name):
    """RTM_GETLINK of one link by name, without statistics."""
    return Request(RTM_GETLINK, NLM_F_REQUEST,
                   _IFINFO.pack(AF_UNSPEC, 0, 0, 0, 0) + nla(3, WRITERS['text'](name))
                   + nla(IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS)))


def link_get_index(index):
    return Request(RTM_GETLINK, NLM_F_REQUEST,
                   _IFINFO.pack(AF_UNSPEC, 0, index, 0, 0)
                   + nla(IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS)))


def link_dump(master=None, kind=None, netnsid=None):
    """RTM_GETLINK dump, filtered by the kernel by master ifindex or kind; with
    ``netnsid``, of the namespace the socket's one knows by that id."""
    parts = [nla(IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS))]
    if netnsid is not None:
        parts.append(nla(IFLA_TARGET_NETNSID, _S32.pack(netnsid)))
    if master is not None:
        parts.append(nla(10, _U32.pack(master)))
    if kind is not None:
        parts.append(nest(IFLA_LINKINFO, [nla(IFLA_INFO_KIND, kind.encode('utf-8'))]))
    return Request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP,
                   _IFINFO.pack(AF_UNSPEC, 0, 0, 0, 0) + b''.join(parts))


def addr_dump(index=0):
    """RTM_GETADDR dump of every address (of link ``index``, filtered by the kernel with
    strict checking)."""
    return Request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, _IFADDR.pack(AF_UNSPEC, 0, 0, 0, index))


def fdb_dump(ifindex):
    """AF_BRIDGE neighbour dump of one link (the kernel filters it with strict checking)."""
    return Request(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP,
                   _NDMSG.pack(AF_BRIDGE, ifindex, 0, 0, 0))


# ---- the socket --------------------------------------------------------------------
class KernelError(Exception):
    """A refused request: ``code`` (errno) and the kernel's extended ACK text."""

    def __init__(self, code, text=None):
        super(KernelError, self).__init__(code, text or os.strerror(code))
        self.code = code
        self.text = text


# Requests per send: the replies of one chunk must fit the receive buffer.
CHUNK = 200
BUFFER = 1 << 16


class Socket:
    """A NETLINK_ROUTE socket in the calling thread's namespace (open it inside one)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        try:
            self.sock.bind((0, 0))
            for option, value in ((NETLINK_EXT_ACK, 1), (NETLINK_CAP_ACK, 1),
                                  (NETLINK_GET_STRICT_CHK, 1)):
                try:
                    self.sock.setsockopt(SOL_NETLINK, option, value)
                except OSError:
                    pass  # older kernels: plain errors, unfiltered dumps
            self.strict = self._option(NETLINK_GET_STRICT_CHK)
            for force, plain, size in ((SO_RCVBUFFORCE, socket.SO_RCVBUF, 1 << 23),
                                       (SO_SNDBUFFORCE, socket.SO_SNDBUF, 1 << 21)):
                try:
                    self.sock.setsockopt(socket.SOL_SOCKET, force, size)
                except OSError:
                    self.sock.setsockopt(socket.SOL_SOCKET, plain, size)
        except Exception:
            self.sock.close()
            raise
        self.seq = 0
        self.buffer = bytearray(BUFFER)

    def _option(self, option):
        try:
            return bool(self.sock.getsockopt(SOL_NETLINK, option))
        except OSError:
            return False

    def close(self):
        self.sock.close()

    def _frame(self, request):
        self.seq += 1
        return self.seq, _HEADER.pack(16 + len(request.body), request.msg_type, request.flags,
                                      self.seq, 0) + request.body

    def _receive(self):
        """(data, length) of the next datagram, growing the buffer for a large one."""
        while True:
            size = self.sock.recv_into(self.buffer, len(self.buffer), socket.MSG_PEEK | socket.MSG_TRUNC)
            if size <= len(self.buffer):
                break
            self.buffer = bytearray(size)
        size = self.sock.recv_into(self.buffer, len(self.buffer))
        return bytes(self.buffer[:size]), size

    def _messages(self):
        """(type, flags, seq, offset, length, data) of every message received next."""
        data, size = self._receive()
        offset = 0
        while offset + 16 <= size:
            length, msg_type, flags, seq, _pid = _HEADER.unpack_from(data, offset)
            if length < 16:
                break
            yield msg_type, flags, seq, offset, length, data
            offset += (length + 3) & ~3

    def transact(self, requests, replies=None):
        """Send ``requests`` in chunks; return per request None (done) or a KernelError.

        ``replies(index, data, offset, length)`` receives any other message a request
        is answered with (a RTM_NEWLINK for a get).
        """
        outcomes = [None] * len(requests)
        for first in range(0, len(requests), CHUNK):
            chunk = requests[first:first + CHUNK]
            waiting = {}
            frames = []
            for position, request in enumerate(chunk):
                seq, frame = self._frame(request)
                waiting[seq] = first + position
                frames.append(frame)
            self.sock.send(b''.join(frames))
            while waiting:
                for msg_type, flags, seq, offset, length, data in self._messages():
                    if seq not in waiting:
                        continue
                    if msg_type == NLMSG_ERROR:
                        code = -_ERROR.unpack_from(data, offset + 16)[0]
                        position = waiting.pop(seq)
                        if code:
                            outcomes[position] = KernelError(code, _ext_ack(data, offset, length, flags))
                    elif replies is not None:
                        replies(waiting[seq], data, offset, length)
                        if not flags & NLM_F_MULTI and not requests[waiting[seq]].flags & NLM_F_ACK:
                            waiting.pop(seq)
        return outcomes

    def dump(self, request, decode):
        """Every reply of one dump request, decoded by ``decode(data, offset, length)``."""
        seq, frame = self._frame(request)
        self.sock.send(frame)
        found = []
        while True:
            for msg_type, flags, got, offset, length, data in self._messages():
                if got != seq:
                    continue
                if msg_type == NLMSG_DONE:
                    return found
                if msg_type == NLMSG_ERROR:
                    code = -_ERROR.unpack_from(data, offset + 16)[0]
                    if code:
                        raise KernelError(code, _ext_ack(data, offset, length, flags))
                    return found
                found.append(decode(data, offset, length))

    def get_links(self, requests):
        """Decoded RTM_NEWLINK (None where no such link) for each RTM_GETLINK request."""
        found = [None] * len(requests)

        def reply(position, data, offset, length):
            found[position] = decode_link(data, offset, length)

        outcomes = self.transact(requests, reply)
        for position, outcome in enumerate(outcomes):
            if outcome is not None and outcome.code not in (errno.ENODEV, errno.EINVAL):
                raise outcome
        return found


def _ext_ack(data, offset, length, flags):
    """The kernel's message in an extended ACK, or None."""
    if not flags & NLM_F_ACK_TLVS:
        return None
    # nlmsgerr: error, then the request's header (capped: without its payload).
    request_length = _HEADER.unpack_from(data, offset + 20)[0]
    start = offset + 20 + (16 if flags & 0x100 else request_length)
    for kind, begin, stop in attributes(data, start, offset + length):
        if kind == NLMSGERR_ATTR_MSG:
            return _text(data[begin:stop])
    return None


# ---- taps ------------------------------------------------------------------------
TUNSETIFF = 0x400454ca
TUNSETPERSIST = 0x400454cb
TUNSETOWNER = 0x400454cc
TUNSETGROUP = 0x400454ce
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
IFF_MULTI_QUEUE = 0x0100


def create_tap(name, vnet_hdr=True, multi_queue=False, uid=None, gid=None):
    """A persistent tap ``name`` in the calling thread's namespace (``ip tuntap add``)."""
    flags = IFF_TAP | IFF_NO_PI
    if vnet_hdr:
        flags |= IFF_VNET_HDR
    if multi_queue:
        flags |= IFF_MULTI_QUEUE
    handle = os.open('/dev/net/tun', os.O_RDWR | getattr(os, 'O_CLOEXEC', 0))
    try:
        fcntl.ioctl(handle, TUNSETIFF, struct.pack('16sH22x', name.encode('utf-8'), flags))
        if uid is not None:
            fcntl.ioctl(handle, TUNSETOWNER, uid)
        if gid is not None:
            fcntl.ioctl(handle, TUNSETGROUP, gid)
        fcntl.ioctl(handle, TUNSETPERSIST, 1)
    finally:
        os.close(handle)


# Where the TUNSET* numbers above hold (pyroute2's own list); elsewhere pyroute2 creates taps.
TUN_PLATFORMS = ('i386', 'i686', 'x86_64', 'armv6l', 'armv7l', 's390x', 'aarch64', 'loongarch64')


def tap_arguments(kwargs):
    """create_tap() keywords for a pyroute2 ``link add`` of kind tuntap, or None."""
    if os.uname()[4] not in TUN_PLATFORMS:
        return None
    kwargs = dict(kwargs)
    if kwargs.pop('kind', None) != 'tuntap' or kwargs.pop('mode', None) != 'tap':
        return None
    name = kwargs.pop('ifname', None)
    ifr = dict(kwargs.pop('ifr', {}) or {})
    uid, gid = kwargs.pop('uid', None), kwargs.pop('gid', None)
    if not name or kwargs or ifr.pop('no_pi', 1) != 1 or set(ifr) - set(('vnet_hdr', 'multi_queue')):
        return None
    return dict(name=name, vnet_hdr=bool(ifr.get('vnet_hdr', 0)),
                multi_queue=bool(ifr.get('multi_queue', 0)), uid=uid, gid=gid)
