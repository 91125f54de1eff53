# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bond and team findings: members down, lost redundancy, flooding modes under a bridge."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose.finding import (
    command_fix, finding, module_fix)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import bond, team

BOND_MODES = dict((number, name) for name, number in bond.MODES)
BOND_LINK_UP = 0  # IFLA_BOND_SLAVE_MII_STATUS


def check(host, request):
    found = []
    for link in host.of_kind('bond', 'team'):
        found.extend(_members(host, link))
        found.extend(_flooding_mode(host, link))
    return found


def mode_of(host, link):
    """A bond's mode or a team's runner; None for a team without teamd."""
    if link.kind == 'bond':
        return BOND_MODES.get(link.data.get('IFLA_BOND_MODE'))
    return ((host.teamd.get(link.name) or {}).get('runner') or {}).get('name')


def member_up(host, member):
    if not host.carrier(member):
        return False
    return member.slave_data.get('IFLA_BOND_SLAVE_MII_STATUS', BOND_LINK_UP) == BOND_LINK_UP


def configured_members(host, link):
    names = [member.name for member in host.ports_of(link)]
    if link.kind == 'team':
        names.extend(name for name in (host.teamd.get(link.name) or {}).get('ports') or {}
                     if name not in names)
    return names


def _members(host, link):
    names = configured_members(host, link)
    if not names:
        return []
    states = OrderedDict()
    for name in names:
        member = host.by_name.get(name)
        if member is None:
            states[name] = 'missing'
        elif member.master != link.index:
            states[name] = 'not enslaved'
        elif not member.up:
            states[name] = 'admin down'
        elif not member_up(host, member):
            states[name] = 'no carrier'
        else:
            states[name] = 'up'
    up = [name for name, state in states.items() if state == 'up']
    if len(up) == len(names):
        return []
    evidence = OrderedDict([('kind', link.kind), ('mode', mode_of(host, link)), ('members', states)])
    fix = _members_fix(host, link, states)
    if not up:
        return [finding(
            'aggregation-members-down', 'error', link.name, evidence,
            'no member of %s %s is up, so it carries no traffic at all (and neither does any '
            'bridge or VLAN above it)' % (link.kind, link.name), fix)]
    return [finding(
        'aggregation-degraded', 'warning', link.name, evidence,
        'only %d of the %d members of %s %s are up (%s): traffic still flows, but the next '
        'failure takes the uplink down'
        % (len(up), len(names), link.kind, link.name, ', '.join(up)), fix)]


def _members_fix(host, link, states):
    down = [name for name, state in states.items() if state == 'admin down']
    missing = [name for name, state in states.items() if state in ('missing', 'not enslaved')]
    if missing:
        module = 'bond_iface' if link.kind == 'bond' else 'team_iface'
        args = dict(name=link.name, ports=[name for name, state in states.items()
                                           if state != 'missing'])
        if link.kind == 'team':
            args.update(team_args(host, link))
        return module_fix(host, module, 'enslave the members again', **args)
    summary = 'bring the members up; a member without carrier needs its cable or switch port fixed'
    return command_fix(summary, *[['ip', 'link', 'set', 'dev', name, 'up'] for name in down])


def team_args(host, link):
    """team_iface arguments that keep a running team's link watch and ports."""
    config = host.teamd.get(link.name) or {}
    args = dict(ports=[member.name for member in host.ports_of(link)])
    watch = config.get('link_watch')
    if isinstance(watch, dict) and watch.get('name') in team.LINK_WATCH_KEYS:
        args['link_watch'] = dict((key, value) for key, value in watch.items()
                                  if key == 'name' or key in team.LINK_WATCH_KEYS[watch['name']])
    return args


def safe_mode_fix(host, link):
    """The module call that puts a flooding bond/team into a bridge-safe mode, or None."""
    mode = mode_of(host, link)
    if link.kind == 'bond' and mode in bond.UNSAFE_UNDER_BRIDGE:
        args = dict(name=link.name, mode='active-backup',
                    ports=[member.name for member in host.ports_of(link)])
        if not link.data.get('IFLA_BOND_MIIMON'):
            args['miimon'] = 100  # without a link monitor active-backup never fails over
        return module_fix(host, 'bond_iface', 'switch to active-backup, which needs no switch '
                          'configuration (or configure the switch ports as one group and set '
                          'switch_configured: true)', **args)
    if link.kind == 'team' and mode in team.UNSAFE_UNDER_BRIDGE:
        args = dict(name=link.name, runner='activebackup')
        args.update(team_args(host, link))
        return module_fix(host, 'team_iface', 'switch to runner activebackup, which needs no switch '
                          'configuration (or use lacp with an LACP group on the switch)', **args)
    return None


def _flooding_mode(host, link):
    master = host.by_index.get(link.master) if link.master else None
    if master is None or master.kind != 'bridge':
        return []
    fix = safe_mode_fix(host, link)
    if fix is None:
        return []
    mode = mode_of(host, link)
    return [finding(
        'aggregation-flooding-mode', 'warning', link.name,
        OrderedDict([('kind', link.kind), ('mode', mode), ('bridge', master.name),
                     ('members', [member.name for member in host.ports_of(link)])]),
        '%s %s runs %s under bridge %s: unless the switch treats its members as one group, a VM\'s '
        'broadcast leaves on one member and comes back in on another, the bridge learns the VM\'s '
        'MAC on %s and the VM loses its network (seed 000)'
        % (link.kind, link.name, mode, master.name, link.name), fix)]
