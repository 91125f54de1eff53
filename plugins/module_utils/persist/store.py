# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where persisted state lives, and the records of desired state.

A record is one module item: its module name, the persistence it was given, and its
validated params, with what the kernel chose frozen in (a MAC the kernel made up,
the addresses a takeover moved, options whose NetworkManager default differs), so
that replaying it builds the same link again.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

RECORDS = 'etc/kvmnet-hostnet/links'
BACKUPS = 'etc/kvmnet-hostnet/backup'
KEYFILES = 'etc/NetworkManager/system-connections'
NM_CONF_DIR = 'etc/NetworkManager'
NM_UNMANAGED = 'etc/NetworkManager/conf.d/90-kvmnet-hostnet.conf'
IFCFG = 'etc/sysconfig/network-scripts'
UNIT_NAME = 'kvmnet-hostnet-restore.service'
UNIT = 'etc/systemd/system/' + UNIT_NAME
UNIT_WANTS = 'etc/systemd/system/multi-user.target.wants/' + UNIT_NAME
PROGRAM = 'usr/local/libexec/kvmnet-hostnet/restore.pyz'

# Kinds whose MAC the kernel makes up (or takes from whichever port comes first).
INVENTED_MAC_KINDS = ('bridge', 'bond', 'vxlan', 'macvlan', 'macvtap')


def record_path(module_name, ifname):
    return '%s/%s@%s.json' % (RECORDS, module_name, ifname)


def render_record(record):
    return json.dumps(record, indent=2, sort_keys=True) + '\n'


def load_records(root):
    """Every stored record, sorted by file name; unreadable ones raise ValueError."""
    directory = os.path.join(root, RECORDS)
    if not os.path.isdir(directory):
        return []
    records = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith('.json'):
            continue
        path = os.path.join(directory, name)
        try:
            with open(path) as handle:
                records.append(json.load(handle))
        except (IOError, OSError, ValueError) as error:
            raise ValueError('cannot read %s: %s' % (path, error))
    return records


def record_key(record):
    return '%s@%s' % (record['module'], record['params']['name'])


def freeze(params, facets, after, renderers, previous=None):
    """``params`` with what the kernel chose for them filled in (see the module doc).

    ``previous`` is the link's stored record, if any: a MAC the kernel made up is
    recorded once and kept, because a bridge's moves to its lowest port's MAC whenever
    a port joins, and a record that followed it would be rewritten by every later run.
    """
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.addresses import Addresses
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet

    # How the run was made (persist, commit-confirmed) is not state: leaving it out
    # keeps the record the same whichever way the same link is applied.
    frozen = dict((key, value) for key, value in params.items()
                  if key != 'persist' and not key.startswith('confirm_'))
    links = [facet for facet in facets if isinstance(facet, LinkFacet)]
    primary = links[0] if links else None
    if primary is not None:
        frozen['name'] = primary.name
        view = after.get(primary.title) or {}
        kind = primary.link_kind.kind
        renderer = renderers.get(kind)
        for option in (renderer.ALWAYS if renderer else ()):
            if option in frozen and frozen[option] is None and view.get(option) is not None:
                frozen[option] = view[option]
        if 'mac' in frozen and frozen['mac'] is None and kind in INVENTED_MAC_KINDS:
            recorded = (previous or {}).get('params', {}).get('mac')
            frozen['mac'] = recorded or view.get('mac')
    for facet in facets:
        if isinstance(facet, Addresses) and facet.takeover_from and facet.link == frozen.get('name'):
            # At boot the NIC may have nothing to hand over: keep what it handed over.
            view = after.get(facet.title) or {}
            if 'addresses' in frozen:
                frozen['addresses'] = list(view.get('addresses') or [])
            if 'gateway' in frozen and view.get('gateway'):
                frozen['gateway'] = view['gateway']
    return frozen


def moved_routes(facets, previous=None):
    """The routes other than the default one that a ``takeover_from`` moved to its link,
    as route keywords (the default route is the record's ``gateway``). Once the NIC has
    nothing left to move, the record's list is kept."""
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.addresses import Addresses
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.snapshot import route_arguments

    takeovers = [facet for facet in facets if isinstance(facet, Addresses) and facet.takeover_from]
    if not takeovers:
        return []
    moved = [route_arguments(route) for facet in takeovers for route in facet.moved_routes
             if route['dst_len'] != 0]
    if moved:
        return sorted(moved, key=lambda route: (route['family'], route['dst'], route.get('priority') or 0))
    return list((previous or {}).get('routes') or [])


_IFCFG_DEVICE = re.compile(r'^\s*(DEVICE|HWADDR)\s*=\s*"?([^"\s]+)"?\s*$', re.M)


def profile_files(root):
    """Profile files under ``root`` (keyfiles and ifcfg, not this collection's), relative."""
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.keyfile import PROFILE_PREFIX
    found = []
    for directory, wanted in ((KEYFILES, lambda name: not name.startswith(PROFILE_PREFIX)),
                              (IFCFG, lambda name: name.startswith('ifcfg-') and name != 'ifcfg-lo')):
        path = os.path.join(root, directory)
        names = sorted(os.listdir(path)) if os.path.isdir(path) else []
        found.extend(os.path.join(directory, name) for name in names
                     if not name.startswith('.') and wanted(name)
                     and os.path.isfile(os.path.join(path, name)))
    return found


def binding(relative, text):
    """(interface name, MAC) that a profile file binds to; either may be None."""
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.keyfile import parse
    if relative.startswith(IFCFG):
        values = dict(_IFCFG_DEVICE.findall(text))
        ifname, mac = values.get('DEVICE'), values.get('HWADDR')
    else:
        sections = parse(text)
        ifname = sections.get('connection', {}).get('interface-name')
        mac = sections.get('ethernet', {}).get('mac-address')
    return ifname or None, mac.lower() if mac else None


def configures(binding_, ifname, mac):
    bound, bound_mac = binding_
    return bound == ifname or (bound is None and mac is not None and bound_mac == mac.lower())


def backup_path(relative):
    return os.path.join(BACKUPS, relative)
