# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Macvlan/macvtap findings (seed 003): the parent never reaches its own guests;
private and vepa siblings cannot talk to each other without a hairpin switch."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.finding import finding, module_fix
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.macvlan import MACVLAN_KINDS, mode_of


def check(host, request):
    found = []
    children = {}
    for link in host.of_kind(*MACVLAN_KINDS):
        if link.link_netnsid is None and link.parent in host.by_index:
            children.setdefault(link.parent, []).append(link)
    for parent_name in request.get('parent_reaches_guests') or []:
        parent = host.by_name.get(parent_name)
        if parent is not None:
            found.extend(_parent_isolated(host, parent, children.get(parent.index, [])))
    for parent_index, links in children.items():
        found.extend(_isolated_siblings(host, host.by_index[parent_index], links))
    return found


def shim_name(parent):
    return ('mvh-' + parent)[:15]


def _parent_isolated(host, parent, links):
    shims = [link.name for link in links if mode_of(link) == 'bridge' and host.ipv4_of(link)]
    if shims:
        return []
    addresses = host.ipv4_of(parent)
    shim = shim_name(parent.name)
    fix = module_fix(host, 'macvlan_iface', 'give the host its own macvlan in bridge mode on %s and '
                     'move its address there: the host then talks to the guests through the '
                     'macvlan switch like any guest' % parent.name,
                     name=shim, parent=parent.name, mode='bridge')
    commands = []
    for address in addresses:
        commands.append(['ip', 'address', 'del', address, 'dev', parent.name])
        commands.append(['ip', 'address', 'add', address, 'dev', shim])
    for route in host.routes:
        if route.get('RTA_OIF') == parent.index and route['dst_len'] == 0 and route.get('RTA_GATEWAY'):
            commands.append(['ip', 'route', 'replace', 'default', 'via', route.get('RTA_GATEWAY'),
                             'dev', shim])
    fix['commands'] = commands
    return [finding(
        'macvlan-parent-isolated', 'error', parent.name,
        OrderedDict([('parent_addresses', addresses),
                     ('macvlans', OrderedDict((link.name, mode_of(link)) for link in links))]),
        'the host talks through %s itself, and a macvlan/macvtap parent never exchanges frames '
        'with its own macvlans, in any mode: the host cannot reach the guests on %s, while the '
        'guests reach each other and the LAN (seed 003)' % (parent.name, parent.name), fix)]


def _isolated_siblings(host, parent, links):
    if len(links) < 2:
        return []
    found = []
    for link in links:
        mode = mode_of(link)
        if mode not in ('private', 'vepa'):
            continue
        siblings = [other.name for other in links if other is not link]
        why = ('private mode never lets it talk to a sibling, not even through a hairpin switch'
               if mode == 'private' else
               'vepa mode sends sibling traffic out to the switch, which must reflect it back '
               '(hairpin/reflective relay) for the siblings to talk')
        found.append(finding(
            'macvlan-siblings-isolated', 'warning', link.name,
            OrderedDict([('parent', parent.name), ('mode', mode), ('siblings', siblings)]),
            '%s on %s cannot reach %s: %s (seed 003)' % (link.name, parent.name,
                                                         ', '.join(siblings), why),
            module_fix(host, 'macvlan_iface', 'bridge mode: siblings talk inside the host',
                       name=link.name, parent=parent.name, mode='bridge',
                       tap=link.kind == 'macvtap')))
    return found
