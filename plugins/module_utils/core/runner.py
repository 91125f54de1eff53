# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every kvmnet.hostnet link module shares: options, the run, the result."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.checkpoint import (
    CONFIRM_OPTIONS, run_confirmed)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import (
    BridgePorts, PortSpec, PORT_OPTION_SPEC)

# The options every link module takes (doc fragment: kvmnet.hostnet.link).
COMMON_LINK_OPTIONS = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    netns=dict(type='str'),
    mtu=dict(type='int'),
    mac=dict(type='str'),
    up=dict(type='bool', default=True),
    **CONFIRM_OPTIONS
)

# ``bridge:`` on a link module: attach the link to this bridge with these port options.
BRIDGE_ATTACHMENT_OPTION = dict(
    type='dict',
    options=dict(name=dict(type='str', required=True), **PORT_OPTION_SPEC),
)


def bridge_attachment(link_name, attachment, switch_configured=False):
    """The BridgePorts facet for a module's ``bridge`` option, or None when not given."""
    if not attachment:
        return None
    options = dict((key, value) for key, value in attachment.items() if key != 'name')
    return BridgePorts(attachment['name'], [PortSpec(link_name, **options)], title='bridge',
                       created_here=[link_name], switch_configured=switch_configured)


def link_argument_spec(**kind_options):
    spec = dict(COMMON_LINK_OPTIONS)
    spec.update(kind_options)
    return spec


def run_module(module, build_facets, summarize, extra_results=None, netns=None):
    """Build the facets from the module's params, reconcile, exit with the result.

    ``build_facets(params)`` returns the facets; ``summarize(after)`` turns the
    after-view into the module's ``interface`` return value. ``extra_results(after)``,
    when given, returns more top-level return values. The session works in ``netns``
    when given (a link that lives away from its parent), else in the params' netns.
    """
    params = module.params
    try:
        facets = build_facets(params)
        outcome, confirmation = run_confirmed(module, module._name, facets,
                                              netns or params.get('netns'))
    except NetError as error:
        module.fail_json(msg=error.message, problems=error.problems)
    result = dict(changed=outcome.changed, plan=outcome.plan, recreated=outcome.recreated,
                  interface=summarize(outcome.after))
    if extra_results is not None:
        result.update(extra_results(outcome.after))
    result.update(confirmation)
    if module._diff:
        result['diff'] = outcome.diff()
    module.exit_json(**result)
