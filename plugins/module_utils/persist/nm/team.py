# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""[team]: the teamd JSON configuration, without the ports (each port's own profile
carries its [team-port] configuration)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
from collections import OrderedDict

NM_TYPE = 'team'
ALWAYS = ()


def compact(value):
    return json.dumps(value, sort_keys=True, separators=(',', ':'))


def team_config(config):
    """(team config JSON, {port: port config JSON}) from a teamd configuration."""
    config = dict(config or {})
    ports = config.pop('ports', None) or {}
    config.pop('device', None)
    return compact(config), dict((port, compact(options or {})) for port, options in ports.items())


def settings(options):
    # The team link has no kind options; its configuration comes from the Teamd facet.
    return OrderedDict(), []
