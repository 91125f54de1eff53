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


class LinkState:
    """A read-only view of one RTM_NEWLINK message, decoded once."""

    def __init__(self, msg):
        self.msg = msg
        self.index = msg['index']
        self.name = msg.get('IFLA_IFNAME')
        self.flags = msg['flags']
        self.up = bool(self.flags & IFF_UP)
        self.mtu = msg.get('IFLA_MTU')
        self.mac = msg.get('IFLA_ADDRESS')
        self.operstate = msg.get('IFLA_OPERSTATE')
        self.master = msg.get('IFLA_MASTER')
        self.parent = msg.get('IFLA_LINK')
        self.link_netnsid = msg.get('IFLA_LINK_NETNSID')
        info = msg.get('IFLA_LINKINFO')
        self.kind = info.get('IFLA_INFO_KIND') if info else None
        self.slave_kind = info.get('IFLA_INFO_SLAVE_KIND') if info else None
        self.data = _attrs(info.get('IFLA_INFO_DATA')) if info else {}
        self.slave_data = _attrs(info.get('IFLA_INFO_SLAVE_DATA')) if info else {}

    def __repr__(self):
        return '<link %s #%s kind=%s>' % (self.name, self.index, self.kind)


def _attrs(nla):
    if nla is None or isinstance(nla, (str, bytes)):
        return {}
    return dict((name, value) for name, value in nla.get('attrs', []))


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

    def close(self):
        self.ipr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # ---- reads -------------------------------------------------------------
    def link(self, name):
        """The LinkState of interface ``name``, or None when it does not exist."""
        try:
            msgs = self.ipr.link('get', ifname=name)
        except NetlinkError as error:
            if error.code in (19, 22):  # ENODEV; EINVAL on some kernels for a bad name
                return None
            raise NotApplied(kernel_error_message(error, 'reading link %s' % name))
        return LinkState(msgs[0]) if msgs else None

    def link_by_index(self, index):
        try:
            return LinkState(self.ipr.link('get', index=index)[0])
        except NetlinkError as error:
            if error.code == 19:
                return None
            raise

    def require_link(self, name):
        state = self.link(name)
        if state is None:
            raise NotApplied('interface %s disappeared while it was being configured' % name)
        return state

    def index(self, name):
        return self.require_link(name).index

    def links_of_master(self, master_index):
        return [LinkState(m) for m in self.ipr.link('dump', master=master_index)]

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

    # ---- writes ------------------------------------------------------------
    def call(self, action, method, *args, **kwargs):
        """Run an IPRoute request; translate kernel errors into operator advice."""
        kind = kwargs.get('kind') if args and args[0] == 'add' else None
        try:
            # Inside the namespace: tun/tap creation is an ioctl, not a netlink request.
            with compat.inside(self.netns):
                return getattr(self.ipr, method)(*args, **kwargs)
        except NetlinkError as error:
            raise NotApplied(kernel_error_message(error, action, kind))
        except OSError as error:
            raise NotApplied('%s: %s' % (action, error))


def family_of(address):
    return socket.AF_INET6 if ':' in str(address) else socket.AF_INET
