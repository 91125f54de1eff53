# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every kvmnet.hostnet link module shares: the LinkModule contract, options, the run."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
from collections import OrderedDict

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.checkpoint import (
    CONFIRM_OPTIONS, named_interfaces, run_confirmed)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.options import Option, argument_spec
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import (
    PORT_OPTIONS, BridgePorts, PortSpec, StayingBridgePort)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.run import PERSIST_OPTION, persistence

# The options every link module takes (doc fragment: kvmnet.hostnet.link).
COMMON_LINK_OPTIONS = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    netns=dict(type='str'),
    mtu=dict(type='int'),
    mac=dict(type='str'),
    up=dict(type='bool', default=True),
    persist=PERSIST_OPTION,
    **CONFIRM_OPTIONS
)

# ``bridge:`` on a link module: a bridge name, or a dict with the name and port options.
BRIDGE_ATTACHMENT_OPTION = Option('raw')


def parse_bridge_attachment(value):
    """(bridge name, port options, problems) from a ``bridge`` value; (None, {}, []) when unset."""
    if value is None:
        return None, {}, []
    name, options = value, {}
    if isinstance(value, dict):
        name = value.get('name')
        options = dict((key, item) for key, item in value.items() if key != 'name')
    if not name or not isinstance(name, str):
        return None, {}, ['bridge must be a bridge name, or a dict with name and port options '
                          '(%s); got %r' % (', '.join(PORT_OPTIONS), value)]
    return name, options, []


def bridge_attachment(link_name, value, switch_configured=False, bring_up=True, port_options=None,
                      guard_current_bridge=False):
    """The BridgePorts facet for a module's ``bridge`` option, or None when not given.

    ``port_options`` are more port options given apart from ``bridge`` (kvm_vm_nic's
    ``port_options``); a bad ``bridge`` value is reported with the request's other problems.
    ``guard_current_bridge``: without ``bridge``, the link is still judged by the VM-safety
    guardrail of the bridge it already is a port of (a bond's mode, a team's runner).
    """
    bridge, options, problems = parse_bridge_attachment(value)
    if bridge is None and not problems:
        return StayingBridgePort(link_name, switch_configured) if guard_current_bridge else None
    merged = dict((key, item) for key, item in (port_options or {}).items() if item is not None)
    merged.update(options)
    return BridgePorts(bridge, [PortSpec.parse(dict(merged, name=link_name))], title='bridge',
                       created_here=[link_name], switch_configured=switch_configured,
                       bring_up=bring_up, problems=problems)


def module_link(params, kind, title, facet=LinkFacet, **present):
    """The facet of a module's own link: absent, or the kind's options with mtu, mac and up.

    ``present`` are more arguments of ``facet`` for a link that is to be there.
    """
    if params['state'] == 'absent':
        return facet(kind, params['name'], state='absent', title=title)
    options = dict((key, params[key]) for key in kind.options)
    return facet(kind, params['name'], options=options, mtu=params['mtu'], mac=params['mac'],
                 up=params['up'], title=title, **present)


def link_summary(title, more=None, attached=True):
    """A ``summarize(after)``: the view of the link titled ``title`` (None when absent).

    ``attached``: the module has the ``bridge`` option, and its port (with the bridge's
    ``name``) is the ``bridge`` entry. ``more(interface, after)`` adds the module's own.
    """
    def summarize(after):
        link = after.get(title)
        if link is None:
            return None
        interface = dict(link)
        if attached and after.get('bridge') is not None:
            port = after['bridge'].get(link['name'])
            interface['bridge'] = dict(port, name=port.get('master')) if port is not None else None
        if more is not None:
            more(interface, after)
        return interface
    return summarize


# Given on a bridge, bond or team module: the switch aggregates the members.
SWITCH_CONFIGURED = Option('bool', default=False)


def link_argument_spec(kind=None, **options):
    """The argument spec of a link module: the common options, the kind's, then ``options``.

    ``options`` are Options or spec dicts; one named like a common or kind option
    replaces it for this module.
    """
    declared = OrderedDict((key, dict(value)) for key, value in COMMON_LINK_OPTIONS.items())
    if kind is not None:
        declared.update(kind.options)
    declared.update(options)
    return argument_spec(declared)


def _no_extra_results(after):
    return None


def _params_netns(params):
    return params.get('netns')


class LinkModule:
    """One link module: its options, and how validated params become facets.

    ``build_facets(params)`` turns validated params (defaults filled) into facets;
    ``summarize(after)`` turns the after-view into the ``interface`` return value;
    ``extra_results(after)`` returns more top-level return values, or None;
    ``netns(params)`` names the namespace the session works in (None: the host's).
    ``kernel_module`` is loaded before a present link is built, when the kernel
    does not autoload it. ``module_kwargs`` go to AnsibleModule (mutually_exclusive,
    required_if, ...) and to ArgumentSpecValidator, so one item validates the same
    everywhere.
    """

    def __init__(self, name, argument_spec, build_facets, summarize, extra_results=None,
                 netns=None, kernel_module=None, **module_kwargs):
        self.name = name
        self.argument_spec = argument_spec
        self.module_kwargs = module_kwargs
        self.build_facets = build_facets
        self.summarize = summarize
        self.extra_results = extra_results or _no_extra_results
        self.netns = netns or _params_netns
        self.kernel_module = kernel_module


def load_kernel_module(module, name):
    """Load kernel module ``name`` when it is not there yet: not every kernel autoloads it."""
    if module.params['state'] == 'present' and not module.check_mode \
            and not os.path.isdir('/sys/module/%s' % name):
        # A failure shows up as the kernel's "no support for <kind> links" error.
        module.run_command(['modprobe', name])


def run_module(link_module):
    """What every thin module's main() calls: validate, reconcile, exit with the result."""
    module = AnsibleModule(argument_spec=link_module.argument_spec, supports_check_mode=True,
                           **link_module.module_kwargs)
    if link_module.kernel_module:
        load_kernel_module(module, link_module.kernel_module)
    params = module.params
    try:
        facets = link_module.build_facets(params)
        persisted = persistence(module, link_module, facets)
        outcome, confirmation = run_confirmed(module, link_module.name, facets,
                                              link_module.netns(params),
                                              touched=lambda planned: named_interfaces(params))
        outcome = persisted(outcome)
    except NetError as error:
        module.fail_json(msg=error.message, problems=error.problems)
    result = dict(changed=outcome.changed, plan=outcome.plan, recreated=outcome.recreated,
                  interface=link_module.summarize(outcome.after))
    result.update(link_module.extra_results(outcome.after) or {})
    result.update(confirmation)
    if module._diff:
        result['diff'] = outcome.diff()
    module.exit_json(**result)
