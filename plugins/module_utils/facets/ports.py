# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What keeps a link from becoming a port of a bridge, a bond or a team.

One set of rules and words for every master: a port list names each port once, by
a valid name, and never the master itself; a port must exist (unless this run
creates it), must not be a port of another master (it is never moved silently), and
must not be a master the kernel cannot stack under this one.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import ifname_problem

# Masters that cannot be ports of a master of the given kind.
NOT_UNDER = {
    'bridge': ('bridge',),
    'bond': ('bridge', 'bond', 'team'),
    'team': ('bridge', 'bond', 'team'),
}
WHY_NOT_UNDER = {
    'bridge': ': nesting bridges is not supported',
}


def port_list_problems(names, master):
    """Why ``names`` cannot be the port list of ``master``: a bad name, a repeat, itself."""
    problems, seen = [], set()
    for name in names:
        problem = ifname_problem('port name', name)
        if problem:
            problems.append(problem)
        elif name in seen:
            problems.append('port %s is listed twice' % name)
        elif name == master:
            problems.append('%s cannot be a port of itself' % name)
        seen.add(name)
    return problems


def port_problems(net, name, state, master_kind, master_name, master_index, created_here=False):
    """Problems of link ``name`` (its LinkState, or None) as a port of ``master_name``.

    ``master_index`` is the master's ifindex, None when this run creates it;
    ``created_here``: another facet of this run creates the port.
    """
    if state is None:
        if created_here:
            return []
        return ['port %s does not exist on this host%s' % (
            name, ' (namespace %s)' % net.netns if net.netns else '')]
    if state.kind in NOT_UNDER.get(master_kind, ()):
        return ['%s is a %s and cannot be a member of %s %s%s' % (
            name, state.kind, master_kind, master_name, WHY_NOT_UNDER.get(master_kind, ''))]
    if state.master and state.master != master_index:
        other = net.link_by_index(state.master)
        return ['%s is already a port of %s; release it there first, it is never moved between '
                'masters silently' % (name, other.name if other else 'ifindex %s' % state.master)]
    return []
