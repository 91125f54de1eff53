# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Team device (IFLA_INFO_KIND "team") and the teamd side of it.

A team link carries no runner options over netlink: the runner lives in the teamd
daemon. The ``Teamd`` facet starts teamd (``-o -N``: it takes over the device this
run made over netlink and leaves it in place when it quits, so a restart keeps the
device, its MAC and its bridge membership), compares the running config with the
request, adds and removes ports with teamdctl, and restarts teamd when the runner or
the link watch changes (teamd cannot change them live). Talking to the teamd and
teamdctl programs is ``programs/teamd.py``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json
from collections import OrderedDict

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import (
    Facet, LinkPlan, Operation, PHASE_DELETE, PHASE_SET)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.options import Option
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import (
    BRIDGE_ATTACHMENT_OPTION, SWITCH_CONFIGURED, LinkModule, bridge_attachment, link_argument_spec,
    link_summary, parse_bridge_attachment)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import (
    normalize_mac, parse_ip)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.ports import port_list_problems, port_problems
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.base import LinkKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.programs import teamd


class TeamKind(LinkKind):
    kind = 'team'
    options = OrderedDict()

    def bridge_port_problem(self, net, name, state, plan, bridge, switch_configured):
        """Refuse a team whose runner floods a VM's frames back (seed 000).

        The runner this run gives it, else the one teamd runs now.
        """
        if switch_configured:
            return None
        runner = plan.view.get('runner') if plan is not None else None
        if runner is None and state is not None:
            runner = teamd.running_runner(net.netns, name)
        if runner is None:
            return None  # no teamd: the team passes no traffic
        return bridge_problem(runner, name, bridge, switch_configured)


# teamd must stop before the device goes, and start after the device exists and has
# its MTU/MAC but before the team is attached to a bridge and brought up.
PHASE_TEAMD_STOP = PHASE_DELETE - 1
PHASE_TEAMD = PHASE_SET + 5

RUNNERS = ('roundrobin', 'activebackup', 'loadbalance', 'lacp', 'broadcast', 'random')
# Runners that can send a VM's broadcast out of two members at once, or take frames
# in on any member: the bridge above then learns VM MACs on the team port.
UNSAFE_UNDER_BRIDGE = ('roundrobin', 'broadcast', 'random', 'loadbalance')
HWADDR_POLICIES = ('same_all', 'by_active', 'only_active')
TX_HASHES = ('eth', 'vlan', 'ipv4', 'ipv6', 'ip', 'l3', 'tcp', 'udp', 'sctp', 'l4')
AGG_SELECT_POLICIES = ('lacp_prio', 'lacp_prio_stable', 'bandwidth', 'count', 'port_config')
LACP_KEYS = ('active', 'fast_rate', 'sys_prio', 'min_ports', 'agg_select_policy')

# link watch name -> the keys it takes
LINK_WATCH_KEYS = OrderedDict([
    ('ethtool', ('delay_up', 'delay_down')),
    ('arp_ping', ('interval', 'init_wait', 'missed_max', 'source_host', 'target_host',
                  'validate_active', 'validate_inactive', 'send_always')),
    ('nsna_ping', ('interval', 'init_wait', 'missed_max', 'target_host')),
])
LINK_WATCH_INTS = ('delay_up', 'delay_down', 'interval', 'init_wait', 'missed_max')
# Every link watch option once, in the order the watches list them; flags are bools.
LINK_WATCH_OPTIONS = list(OrderedDict.fromkeys(key for keys in LINK_WATCH_KEYS.values() for key in keys))
LINK_WATCH_TYPES = dict([(key, 'int') for key in LINK_WATCH_INTS]
                        + [('source_host', 'str'), ('target_host', 'str')])

PORT_KEYS = ('prio', 'sticky')
# teamd's defaults for what a port config leaves out
PORT_DEFAULTS = {'prio': 0, 'sticky': False}


# ---- pure logic: request -> teamd config, and comparison ------------------------------

def _drop_none(mapping):
    return OrderedDict((k, v) for k, v in (mapping or {}).items() if v is not None)


def parse_ports(items, team):
    """[(name, {prio, sticky})] from names or dicts; problems for what is wrong."""
    ports, problems = [], []
    for item in items or []:
        if isinstance(item, dict):
            name = item.get('name')
            unknown = sorted(k for k in item if k not in ('name',) + PORT_KEYS)
            if unknown:
                problems.append('port %s: unknown option(s) %s; team port options are prio, sticky'
                                % (name, ', '.join(unknown)))
            options = OrderedDict()
            if item.get('prio') is not None:
                try:
                    options['prio'] = int(item['prio'])
                except (TypeError, ValueError):
                    problems.append('port %s prio must be an integer, got %r' % (name, item['prio']))
            if item.get('sticky') is not None:
                try:
                    options['sticky'] = boolean(item['sticky'])
                except TypeError:
                    problems.append('port %s sticky must be true or false, got %r' % (name, item['sticky']))
        else:
            name, options = item, OrderedDict()
        ports.append((None if name is None else str(name), options))
    problems.extend(port_list_problems([port[0] for port in ports], team))
    return ports, problems


def build_config(runner='activebackup', hwaddr_policy=None, tx_hash=None, tx_balancer=None,
                 lacp=None, link_watch=None, ports=None):
    """The teamd config the request manages; keys the user left out are not in it."""
    runner_config = OrderedDict([('name', runner)])
    if hwaddr_policy is not None:
        runner_config['hwaddr_policy'] = hwaddr_policy
    if tx_hash is not None:
        runner_config['tx_hash'] = list(tx_hash)
    balancer = _drop_none(tx_balancer)
    if balancer:
        runner_config['tx_balancer'] = OrderedDict([('name', 'basic')] + list(balancer.items()))
    runner_config.update(_drop_none(lacp))
    config = OrderedDict([('runner', runner_config)])
    watch = _drop_none(link_watch)
    if watch:
        config['link_watch'] = watch
    config['ports'] = OrderedDict((name, OrderedDict(options)) for name, options in ports or [])
    return config


def config_problems(config, name):
    """Why this config cannot run (option not valid for the runner, bad values)."""
    problems = []
    runner = config['runner']
    kind = runner['name']
    if kind not in RUNNERS:
        problems.append('runner %r is unknown; teamd runners are %s' % (kind, ', '.join(RUNNERS)))
        return problems
    if 'hwaddr_policy' in runner and kind != 'activebackup':
        problems.append('hwaddr_policy applies to runner activebackup only, not %s' % kind)
    for key in ('tx_hash', 'tx_balancer'):
        if key in runner and kind not in ('loadbalance', 'lacp'):
            problems.append('%s applies to runners loadbalance and lacp only, not %s' % (key, kind))
    given_lacp = [key for key in LACP_KEYS if key in runner]
    if given_lacp and kind != 'lacp':
        problems.append('lacp options (%s) apply to runner lacp only, not %s'
                        % (', '.join(given_lacp), kind))
    if runner.get('hwaddr_policy', 'same_all') not in HWADDR_POLICIES:
        problems.append('hwaddr_policy must be one of %s' % ', '.join(HWADDR_POLICIES))
    bad_hashes = [h for h in runner.get('tx_hash', []) if h not in TX_HASHES]
    if bad_hashes:
        problems.append('tx_hash %s unknown; choose from %s' % (', '.join(bad_hashes), ', '.join(TX_HASHES)))
    if runner.get('agg_select_policy', 'lacp_prio') not in AGG_SELECT_POLICIES:
        problems.append('lacp agg_select_policy must be one of %s' % ', '.join(AGG_SELECT_POLICIES))
    if not 0 <= runner.get('sys_prio', 0) <= 65535:
        problems.append('lacp sys_prio must be between 0 and 65535, got %s' % runner['sys_prio'])
    if not 0 <= runner.get('min_ports', 1) <= 1024:
        problems.append('lacp min_ports must be between 1 and 1024, got %s' % runner['min_ports'])
    if 'tx_balancer' in runner and runner['tx_balancer'].get('balancing_interval', 1) < 1:
        problems.append('tx_balancer balancing_interval must be at least 1 (tenths of a second)')
    problems.extend(_link_watch_problems(config.get('link_watch')))
    for port, options in config['ports'].items():
        if not -2147483648 <= options.get('prio', 0) <= 2147483647:
            problems.append('port %s prio must fit in a signed 32-bit integer' % port)
    return problems


def _link_watch_problems(watch):
    if not watch:
        return []
    name = watch.get('name')
    if name not in LINK_WATCH_KEYS:
        return ['link_watch name must be one of %s, got %r' % (', '.join(LINK_WATCH_KEYS), name)]
    problems = []
    wrong = [key for key in watch if key != 'name' and key not in LINK_WATCH_KEYS[name]]
    if wrong:
        problems.append('link_watch %s does not take %s; it takes %s' % (
            name, ', '.join(wrong), ', '.join(LINK_WATCH_KEYS[name])))
    for key in LINK_WATCH_INTS:
        if key in watch and watch[key] < 0:
            problems.append('link_watch %s must not be negative (milliseconds or a count)' % key)
    if name in ('arp_ping', 'nsna_ping'):
        family = 4 if name == 'arp_ping' else 6
        if not watch.get('target_host'):
            problems.append('link_watch %s needs target_host (the IPv%d address to probe)' % (name, family))
        for key in ('target_host', 'source_host'):
            if watch.get(key):
                try:
                    address = parse_ip('link_watch %s' % key, watch[key])
                except ValueError as error:
                    problems.append(str(error))
                    continue
                if address.version != family:
                    problems.append('link_watch %s %s %s is not an IPv%d address'
                                    % (name, key, watch[key], family))
    return problems


def bridge_problem(runner, team, bridge, switch_configured):
    """The VM-safety guardrail (seed 000), or None."""
    if runner not in UNSAFE_UNDER_BRIDGE or switch_configured:
        return None
    return ('team %s with runner %s must not be a port of bridge %s that carries VMs: %s sends '
            "a VM's broadcast out of both members, the switch floods it back in on the other "
            "member, the bridge learns the VM's MAC on %s and the VM loses its network. Use "
            'runner activebackup (needs no switch change), or lacp with the switch ports '
            'configured as an LACP group, or set switch_configured: true when the switch '
            'aggregates the members statically' % (team, runner, bridge, runner, team))


def _same_value(wanted, actual):
    if isinstance(wanted, list) and isinstance(actual, list):
        return sorted(wanted) == sorted(actual)  # teamd hashes a set of fields
    if isinstance(wanted, dict) and isinstance(actual, dict):
        return all(_same_value(v, actual.get(k)) for k, v in wanted.items())
    return wanted == actual


def compare(wanted, actual):
    """What differs between the managed config and teamd's running config.

    Returns (restart_reasons, add, remove, port_updates); only keys the request
    manages are compared, because teamd fills in its defaults.
    """
    if actual is None:
        return ['teamd is not running'], list(wanted['ports']), [], OrderedDict()
    reasons = []
    have_runner = actual.get('runner') or {}
    if have_runner.get('name') != wanted['runner']['name']:
        reasons.append('runner %s -> %s' % (have_runner.get('name'), wanted['runner']['name']))
    else:
        for key, value in wanted['runner'].items():
            if not _same_value(value, have_runner.get(key)):
                reasons.append('runner %s %s -> %s' % (key, _show(have_runner.get(key)), _show(value)))
    if 'link_watch' in wanted:
        have_watch = actual.get('link_watch')
        if not isinstance(have_watch, dict) or not _same_value(wanted['link_watch'], have_watch):
            reasons.append('link_watch %s -> %s' % (_show(have_watch), _show(wanted['link_watch'])))
    have_ports = actual.get('ports') or {}
    add = [port for port in wanted['ports'] if port not in have_ports]
    remove = sorted(port for port in have_ports if port not in wanted['ports'])
    updates = OrderedDict()
    for port, options in wanted['ports'].items():
        if port not in have_ports:
            continue
        have = have_ports[port] or {}
        if any(have.get(k, PORT_DEFAULTS[k]) != v for k, v in options.items()):
            updates[port] = options
    return reasons, add, remove, updates


def _show(value):
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def start_config(wanted, mac=None):
    """The full config teamd is started with."""
    config = copy.deepcopy(wanted)
    if mac:
        # Explicit: teamd would otherwise give the team its first port's MAC.
        config['hwaddr'] = mac
    return config


class Teamd(Facet):
    """The teamd daemon of one team: runner, link watch, exact port set."""

    title = 'teamd'

    def __init__(self, team, config=None, state='present', mac=None, problems=(), bridge=None):
        self.team = team
        self.wanted = config
        self.state = state
        self.mac = mac
        # Problems found while parsing the request (ports), reported with the rest.
        self.request_problems = list(problems)
        # The bridge this run attaches the team to (it cannot be one of its ports).
        self.bridge = bridge
        self.full_config = None
        self.port_states = {}
        self._restart_reasons = []

    def validate(self):
        if self.state == 'absent':
            return []
        problems = self.request_problems + config_problems(self.wanted, self.team)
        if self.bridge:
            if self.bridge in self.wanted['ports']:
                problems.append('%s cannot be both a port of team %s and its bridge' % (
                    self.bridge, self.team))
        return problems

    def rollback_view(self, view):
        # A teamd started again has another pid and picks its active port anew.
        if not view:
            return view
        return OrderedDict((key, value) for key, value in view.items()
                           if key not in ('pid', 'active_port'))

    def link_plans(self, current):
        """The runner this run gives the team: a bridge judges the team by it."""
        if self.state == 'absent' or not self.wanted:
            return []
        return [LinkPlan(self.team, 'team', view={'runner': self.wanted['runner']['name']})]

    # ---- reading ----------------------------------------------------------------
    def read(self, net):
        self.netns = net.netns
        self.device = net.link(self.team)
        self.full_config = None
        self.port_states = {}
        if self.wanted is not None:
            for port in self.wanted['ports']:
                self.port_states[port] = net.link(port)
        pid = teamd.pid_of(self.team)
        self.foreign_pid = pid if pid is not None and not teamd.pid_netns_matches(pid, net.netns) else None
        if self.device is None or self.device.kind != 'team' or pid is None or self.foreign_pid:
            return None
        self.full_config = teamd.dump(net.netns, self.team, 'config')
        state = teamd.dump(net.netns, self.team, 'state')
        return self.view(self.full_config, state, pid)

    @staticmethod
    def view(config, state, pid):
        runner = config.get('runner') or {}
        view = OrderedDict([('running', True), ('pid', pid),
                            ('runner', runner.get('name')),
                            ('runner_options', OrderedDict((k, v) for k, v in runner.items() if k != 'name')),
                            ('link_watch', config.get('link_watch')),
                            ('ports', OrderedDict((name, OrderedDict(
                                (k, v) for k, v in (options or {}).items() if k in PORT_KEYS))
                                for name, options in sorted((config.get('ports') or {}).items())))])
        active = ((state or {}).get('runner') or {}).get('active_port')
        if runner.get('name') == 'activebackup':
            view['active_port'] = active or None
        return view

    def _as_config(self, view):
        """The comparable part of a view (or of the running config)."""
        if view is None:
            return None
        runner = OrderedDict([('name', view['runner'])])
        runner.update(view['runner_options'])
        config = OrderedDict([('runner', runner), ('ports', view['ports'])])
        if view.get('link_watch') is not None:
            config['link_watch'] = view['link_watch']
        return config

    # ---- checks -----------------------------------------------------------------
    def check(self, net, current):
        problems = []
        if self.foreign_pid:
            problems.append('a teamd for %s (pid %s) runs in another network namespace; teamd '
                            'keeps /var/run/teamd/%s.pid and .sock per name, so team names must '
                            'be unique on the host: choose another name'
                            % (self.team, self.foreign_pid, self.team))
        if self.state == 'absent':
            if current is not None and teamd.find_binary('teamd') is None:
                problems.append(teamd.MISSING_TEAMD % 'teamd')
            return problems
        for binary in ('teamd', 'teamdctl'):
            if teamd.find_binary(binary) is None:
                problems.append(teamd.MISSING_TEAMD % binary)
        team_index = self.device.index if self.device is not None else None
        for port, state in self.port_states.items():
            problems.extend(port_problems(net, port, state, 'team', self.team, team_index))
        return problems

    # ---- planning ---------------------------------------------------------------
    def plan(self, net, current):
        self._restart_reasons = []
        if self.state == 'absent':
            if current is None:
                return []
            return [self._stop_op(current)]
        reasons, add, remove, updates = compare(self.wanted, self._as_config(current))
        if reasons:
            if current is not None:
                self._restart_reasons = reasons
            return [self._start_op(current, reasons)]
        operations = []
        for port in remove:
            operations.append(self._remove_op(port, current['ports'].get(port) or {}))
        for port, options in updates.items():
            operations.append(self._update_op(port, options, current['ports'][port]))
        for port in add:
            operations.append(self._add_op(port, self.wanted['ports'][port]))
        return operations

    @property
    def recreated(self):
        return bool(self._restart_reasons)

    @property
    def restart_reasons(self):
        return list(self._restart_reasons)

    def predict(self, current):
        if self.state == 'absent':
            return None
        runner = self.wanted['runner']
        view = OrderedDict([('running', True), ('pid', (current or {}).get('pid')),
                            ('runner', runner['name']),
                            ('runner_options', OrderedDict((k, v) for k, v in runner.items() if k != 'name')),
                            ('link_watch', self.wanted.get('link_watch', (current or {}).get('link_watch'))),
                            ('ports', OrderedDict(sorted(self.wanted['ports'].items())))])
        if runner['name'] == 'activebackup':
            view['active_port'] = (current or {}).get('active_port')
        return view

    def mismatches(self, actual):
        if self.state == 'absent':
            return [] if actual is None else ['teamd for %s still runs' % self.team]
        reasons, add, remove, updates = compare(self.wanted, self._as_config(actual))
        found = ['teamd %s: %s' % (self.team, reason) for reason in reasons]
        found.extend('%s is not a port of %s' % (port, self.team) for port in add)
        found.extend('%s is still a port of %s' % (port, self.team) for port in remove)
        found.extend('port %s options did not take' % port for port in updates)
        return found

    # ---- operations ---------------------------------------------------------------
    def _ports_down(self, net, ports):
        # The kernel refuses to enslave a port that is up; teamd brings it up again.
        for port in ports:
            state = net.link(port)
            if state is not None and state.up and not state.master:
                net.call('setting %s down before it joins %s' % (port, self.team), 'link', 'set',
                         index=state.index, state='down')

    def _start_op(self, current, reasons):
        config = start_config(self.wanted, self.mac)
        previous = self.full_config

        def do(net):
            teamd.stop(net.netns, self.team)
            self._ports_down(net, config['ports'])
            teamd.start(net.netns, self.team, config)

        def undo(net):
            teamd.stop(net.netns, self.team)
            if previous is not None:
                self._ports_down(net, (previous.get('ports') or {}).keys())
                teamd.start(net.netns, self.team, previous)

        if current is None:
            summary = 'start teamd for %s (runner %s%s)' % (
                self.team, self.wanted['runner']['name'],
                ', ports %s' % ', '.join(config['ports']) if config['ports'] else '')
        else:
            summary = 'restart teamd for %s (%s; its ports leave and rejoin)' % (
                self.team, '; '.join(reasons))
        return Operation(PHASE_TEAMD, summary, do, undo)

    def _stop_op(self, current):
        previous = self.full_config

        def do(net):
            teamd.stop(net.netns, self.team)

        def undo(net):
            self._ports_down(net, (previous.get('ports') or {}).keys())
            teamd.start(net.netns, self.team, previous)

        return Operation(PHASE_TEAMD_STOP, 'stop teamd for %s (its ports are released)' % self.team,
                         do, undo)

    def _add_op(self, port, options):
        def do(net):
            if options:
                # Before the add, so the port joins with its priority.
                teamd.teamdctl(net.netns, self.team, 'port', 'config', 'update', port, json.dumps(options))
            self._ports_down(net, [port])
            teamd.teamdctl(net.netns, self.team, 'port', 'add', port)

        def undo(net):
            teamd.teamdctl(net.netns, self.team, 'port', 'remove', port)

        return Operation(PHASE_TEAMD, 'add port %s to team %s%s' % (
            port, self.team, ' (%s)' % _show(options) if options else ''), do, undo)

    def _remove_op(self, port, options):
        def do(net):
            teamd.teamdctl(net.netns, self.team, 'port', 'remove', port)

        def undo(net):
            self._ports_down(net, [port])
            teamd.teamdctl(net.netns, self.team, 'port', 'add', port)

        return Operation(PHASE_TEAMD, 'remove port %s from team %s' % (port, self.team), do, undo)

    def _update_op(self, port, options, have):
        full = self.full_config or {}
        old = OrderedDict(((full.get('ports') or {}).get(port)) or {})
        new = OrderedDict(old)
        new.update(options)

        def setter(value):
            def do(net):
                teamd.teamdctl(net.netns, self.team, 'port', 'config', 'update', port, json.dumps(value))
            return do

        summary = 'set team %s port %s %s' % (self.team, port, ', '.join(
            '%s %s -> %s' % (k, have.get(k, PORT_DEFAULTS[k]), v) for k, v in options.items()))
        return Operation(PHASE_TEAMD, summary, setter(new), setter(old))


KIND = TeamKind()


def build_facets(params):
    name = params['name']
    if params['state'] == 'absent':
        return [Teamd(name, state='absent'), LinkFacet(KIND, name, state='absent', title='team')]
    ports, problems = parse_ports(params['ports'], name)
    config = build_config(runner=params['runner'], hwaddr_policy=params['hwaddr_policy'],
                          tx_hash=params['tx_hash'], tx_balancer=params['tx_balancer'],
                          lacp=params['lacp'], link_watch=params['link_watch'], ports=ports)
    facets = [
        LinkFacet(KIND, name, mtu=params['mtu'], mac=params['mac'], up=params['up'], title='team'),
        Teamd(name, config, mac=normalize_mac(params['mac']), problems=problems,
              bridge=parse_bridge_attachment(params['bridge'])[0]),
    ]
    # The bridge it joins or stays in judges the team by the runner this run gives it.
    attachment = bridge_attachment(name, params['bridge'], guard_current_bridge=True,
                                   switch_configured=params['switch_configured'])
    return facets + ([attachment] if attachment else [])


def _with_teamd(interface, after):
    interface.update(after.get('teamd') or {'running': False})


summarize = link_summary('team', _with_teamd)


MODULE = LinkModule(
    'team_iface',
    link_argument_spec(
        runner=Option('str', default='activebackup', choices=RUNNERS),
        hwaddr_policy=Option('str', choices=HWADDR_POLICIES),
        tx_hash=Option('list', elements='str', choices=TX_HASHES),
        tx_balancer=Option('dict', suboptions=dict(balancing_interval=Option('int'))),
        lacp=Option('dict', suboptions=OrderedDict([
            ('active', Option('bool')),
            ('fast_rate', Option('bool')),
            ('sys_prio', Option('int')),
            ('min_ports', Option('int')),
            ('agg_select_policy', Option('str', choices=AGG_SELECT_POLICIES)),
        ])),
        link_watch=Option('dict', suboptions=OrderedDict(
            [('name', Option('str', required=True, choices=LINK_WATCH_KEYS))]
            + [(key, Option(LINK_WATCH_TYPES.get(key, 'bool'))) for key in LINK_WATCH_OPTIONS])),
        ports=Option('list', elements='raw', default=[]),
        bridge=BRIDGE_ATTACHMENT_OPTION,
        switch_configured=SWITCH_CONFIGURED,
    ),
    build_facets, summarize)
