# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bridge membership and per-port options (IFLA_BRPORT_*).

Used by linux_bridge for its ``ports`` and by every link module's ``bridge`` option.
Only the ports named are managed: other ports of the bridge (a libvirt vnetN tap)
are never touched.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import (
    Facet, Operation, PHASE_MEMBERSHIP, PHASE_UP)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import Codec, Flag
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.ports import port_list_problems, port_problems

# if_arp.h: the only link type a bridge accepts as a port.
ARPHRD_ETHER = 1

# option -> (IFLA_BRPORT attribute, pyroute2 brport keyword, codec)
PORT_OPTIONS = OrderedDict([
    ('hairpin', ('IFLA_BRPORT_MODE', 'mode', Flag())),
    ('learning', ('IFLA_BRPORT_LEARNING', 'learning', Flag())),
    ('unicast_flood', ('IFLA_BRPORT_UNICAST_FLOOD', 'unicast_flood', Flag())),
    ('cost', ('IFLA_BRPORT_COST', 'cost', Codec(1, 65535))),
    ('priority', ('IFLA_BRPORT_PRIORITY', 'priority', Codec(0, 63))),
    ('isolated', ('IFLA_BRPORT_ISOLATED', 'isolated', Flag())),
])

# Ansible suboptions for a port, shared by every module that attaches to a bridge.
PORT_OPTION_SPEC = dict((key, dict(type=codec.ansible_type))
                        for key, (_nla, _keyword, codec) in PORT_OPTIONS.items())


_CONVERT = {'bool': boolean, 'int': int}


def vm_bridge_problem(net, name, state, plan, bridge, switch_configured):
    """The VM-safety guardrail: why ``name``, as this run leaves it, must not be a port
    of ``bridge`` (a bridge that carries VMs), or None.

    The one place it is judged: ``plan`` is the link's LinkPlan when this run creates
    or changes it (a bond's new mode, a team's new runner), ``state`` its LinkState
    before the run (None when new).
    """
    kind_name = plan.kind if plan is not None and plan.kind else (state.kind if state else None)
    # Imported here: the kinds import this module to build their facets.
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import kind_named
    kind = kind_named(kind_name)
    if kind is None or (plan is not None and plan.state == 'absent'):
        return None
    return kind.bridge_port_problem(net, name, state, plan, bridge, switch_configured)


class PortSpec:
    """One wanted port: its name and the options the user set (None = leave alone)."""

    def __init__(self, name, **options):
        self.name = name
        self.options = OrderedDict((key, options.get(key)) for key in PORT_OPTIONS
                                   if options.get(key) is not None)
        self.unknown = sorted(key for key in options if key not in PORT_OPTIONS)
        self.invalid = []

    @classmethod
    def parse(cls, item):
        """A port from a name or a dict; values are converted like module options."""
        if not isinstance(item, dict):
            return cls(str(item))
        options = dict((k, v) for k, v in item.items() if k != 'name')
        spec = cls(item.get('name'), **options)
        for key in list(spec.options):
            try:
                spec.options[key] = _CONVERT[PORT_OPTION_SPEC[key]['type']](spec.options[key])
            except (TypeError, ValueError):
                spec.invalid.append('port %s %s must be a %s, got %r' % (
                    spec.name, key, PORT_OPTION_SPEC[key]['type'], spec.options[key]))
        return spec


class BridgePorts(Facet):
    """The named ports of one bridge: membership, port options, admin up."""

    def __init__(self, bridge, ports, title='ports', created_here=(), switch_configured=False,
                 bring_up=True, problems=()):
        self.bridge = bridge
        # Problems of the request found while building it (a ``bridge`` value that is
        # neither a name nor a dict), told with the others.
        self.problems = list(problems)
        self.ports = [port if isinstance(port, PortSpec) else PortSpec.parse(port) for port in ports]
        self.title = title
        # Links that another facet of this run creates: they need not exist yet.
        self.created_here = set(created_here)
        self.switch_configured = switch_configured
        self.bring_up = bring_up
        self.states = {}
        self.plans = {}

    def validate(self):
        problems = list(self.problems)
        if self.problems:
            return problems
        valid = []
        for port in self.ports:
            if port.unknown:
                problems.append('port %s: unknown option(s) %s; port options are %s' % (
                    port.name, ', '.join(port.unknown), ', '.join(PORT_OPTIONS)))
            if port.invalid:
                problems.extend(port.invalid)
            else:
                valid.append(port)
        problems.extend(port_list_problems([port.name for port in valid], self.bridge))
        for port in valid:
            for key, value in port.options.items():
                problem = PORT_OPTIONS[key][2].check('port %s %s' % (port.name, key), value)
                if problem:
                    problems.append(problem)
        return problems

    def read(self, net):
        bridge = net.link(self.bridge)
        self.bridge_index = bridge.index if bridge else None
        self.bridge_mac = bridge.mac if bridge else None
        view = OrderedDict()
        for port in self.ports:
            state = net.link(port.name)
            self.states[port.name] = state
            if state is None:
                continue
            view[port.name] = self.port_view(net, state)
        return view

    def port_view(self, net, state):
        master = net.link_by_index(state.master) if state.master else None
        view = OrderedDict([('master', master.name if master else None), ('up', state.up)])
        if state.slave_kind == 'bridge':
            for key, (nla, _keyword, codec) in PORT_OPTIONS.items():
                if nla in state.slave_data:
                    view[key] = codec.decode(state.slave_data[nla])
        return view

    def check(self, net, current):
        problems = []
        bridge = net.link(self.bridge)
        if bridge is None and self.bridge not in self.created_here:
            problems.append('bridge %s does not exist: create it first (kvmnet.hostnet.linux_bridge)'
                            % self.bridge)
        elif bridge is not None and bridge.kind != 'bridge':
            problems.append('%s is a %s link, not a bridge' % (self.bridge, bridge.kind))
        for port in self.ports:
            state = self.states.get(port.name)
            problems.extend(port_problems(net, port.name, state, 'bridge', self.bridge,
                                          bridge.index if bridge is not None else None,
                                          port.name in self.created_here))
            if state is not None and state.msg.get('ifi_type', ARPHRD_ETHER) != ARPHRD_ETHER:
                problems.append('port %s is not an Ethernet device (%s): a bridge forwards Ethernet '
                                'frames only, so the kernel refuses it with EINVAL; use a tap '
                                '(kvmnet.hostnet.kvm_vm_nic) or another Ethernet link'
                                % (port.name, 'a tun, layer 3 only' if state.kind == 'tun'
                                   else 'link type %s' % state.msg.get('ifi_type')))
            problem = vm_bridge_problem(net, port.name, state, self.plans.get(port.name),
                                        self.bridge, self.switch_configured)
            if problem:
                problems.append(problem)
        return problems

    def see(self, plans):
        self.plans = plans

    def plan(self, net, current):
        operations = []
        for port in self.ports:
            have = current.get(port.name) or OrderedDict()
            if have.get('master') != self.bridge:
                if not operations and self.bridge not in self.created_here and self.bridge_mac:
                    operations.append(self._keep_mac_op())
                operations.append(self._attach_op(port.name))
                have = OrderedDict()  # a new port starts with the kernel's defaults
            changes = OrderedDict()
            for key, wanted in port.options.items():
                if have.get(key) != wanted:
                    changes[key] = (wanted, have.get(key))
            if changes:
                operations.append(self._options_op(port.name, changes))
            if self.bring_up and not (current.get(port.name) or {}).get('up') \
                    and port.name not in self.created_here:
                operations.append(self._up_op(port.name))
        return operations

    def predict(self, current):
        view = OrderedDict(current)
        for port in self.ports:
            entry = OrderedDict(view.get(port.name) or {})
            entry['master'] = self.bridge
            if self.bring_up:
                entry['up'] = True
            entry.update(port.options)
            view[port.name] = entry
        return view

    def mismatches(self, actual):
        found = []
        for port in self.ports:
            have = actual.get(port.name)
            if have is None or have.get('master') != self.bridge:
                found.append('%s is not a port of %s' % (port.name, self.bridge))
                continue
            for key, wanted in port.options.items():
                if have.get(key) != wanted:
                    found.append('port %s %s: wanted %s, the kernel has %s' % (
                        port.name, key, wanted, have.get(key)))
        return found

    # ---- operations ---------------------------------------------------------
    def _keep_mac_op(self):
        """Set the bridge's MAC to itself: a set MAC no longer follows its ports.

        An unset one takes the lowest MAC of the ports, so each port that comes or
        goes (a VM's tap) could change it and leave every ARP cache on it stale.
        """
        mac = self.bridge_mac

        def pin(net):
            net.call('keeping the MAC of %s' % self.bridge, 'link', 'set',
                     index=net.index(self.bridge), address=mac)

        # Same bytes before and after: nothing to take back.
        return Operation(PHASE_MEMBERSHIP, 'keep %s MAC %s whatever ports come and go' % (
            self.bridge, mac), pin, lambda net: [], batch=True)

    def _attach_op(self, name):
        def attach(net):
            net.call('attaching %s to %s' % (name, self.bridge), 'link', 'set',
                     index=net.index(name), master=net.index(self.bridge))

        def release(net):
            net.call('releasing %s' % name, 'link', 'set', index=net.index(name), master=0)

        return Operation(PHASE_MEMBERSHIP, 'attach %s to bridge %s' % (name, self.bridge),
                         attach, release, batch=True)

    def _options_op(self, name, changes):
        def setter(values):
            def do(net):
                arguments = dict((PORT_OPTIONS[key][1], PORT_OPTIONS[key][2].encode(value))
                                 for key, value in values.items() if value is not None)
                if arguments:
                    net.call('setting port options of %s' % name, 'brport', 'set',
                             index=net.index(name), **arguments)
            return do

        wanted = dict((key, change[0]) for key, change in changes.items())
        previous = dict((key, change[1]) for key, change in changes.items())
        summary = 'set port %s %s' % (name, ', '.join(
            '%s %s -> %s' % (key, change[1], change[0]) for key, change in changes.items()))
        # After attaching (same phase as membership, planned later, so it runs later).
        return Operation(PHASE_MEMBERSHIP, summary, setter(wanted), setter(previous), batch=True)

    def _up_op(self, name):
        def setter(value):
            def do(net):
                net.call('bringing port %s %s' % (name, value), 'link', 'set',
                         index=net.index(name), state=value)
            return do

        return Operation(PHASE_UP, 'bring port %s up' % name, setter('up'), setter('down'),
                         batch=True)


class StayingBridgePort(Facet):
    """The bridge a link already is a port of, when the run does not name one.

    It manages nothing: it puts the link, as this run leaves it (a bond switched to
    another mode, a team to another runner), before the VM-safety guardrail of the
    bridge it stays in. With ``bridge`` given, BridgePorts does that.
    """

    title = 'bridge_guardrail'

    def __init__(self, name, switch_configured=False):
        self.name = name
        self.switch_configured = switch_configured
        self.plans = {}

    def see(self, plans):
        self.plans = plans

    def check(self, net, current):
        state = net.link(self.name)
        master = net.link_by_index(state.master) if state is not None and state.master else None
        if master is None or master.kind != 'bridge':
            return []
        problem = vm_bridge_problem(net, self.name, state, self.plans.get(self.name), master.name,
                                    self.switch_configured)
        return [problem] if problem else []
