# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Team device (IFLA_INFO_KIND "team"): no netlink options; the runner lives in teamd
(module_utils/teamd.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.link import LinkKind
from ansible_collections.kvmnet.hostnet.plugins.module_utils.teamd import bridge_problem, running_runner


class TeamKind(LinkKind):
    kind = 'team'
    options = OrderedDict()

    def bridge_port_problem(self, net, state, switch_configured):
        """Refuse a team whose running runner floods a VM's frames back (seed 000)."""
        if switch_configured:
            return None
        runner = running_runner(net.netns, state.name)
        if runner is None:
            return None  # no teamd: the team passes no traffic
        master = net.link_by_index(state.master) if state.master else None
        return bridge_problem(runner, state.name, master.name if master else 'this bridge',
                              switch_configured)
