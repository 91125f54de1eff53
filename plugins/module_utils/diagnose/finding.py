# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a diagnosis reports: a finding with its evidence and the fix that removes it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

# error: traffic is being lost now; warning: it will be (the next VM, the next
# failover, the next large packet); info: worth knowing, nothing is lost.
SEVERITIES = ('error', 'warning', 'info')


def module_fix(host, module, summary, **args):
    """A fix that is one call of a kvmnet.hostnet module, ready to paste into a task."""
    if host.netns:
        args['netns'] = host.netns
    return OrderedDict([('summary', summary), ('module', 'kvmnet.hostnet.%s' % module),
                        ('args', args)])


def command_fix(summary, *commands):
    """A fix made of commands (argument lists), run in the diagnosed namespace."""
    return OrderedDict([('summary', summary), ('commands', [list(c) for c in commands])])


def finding(finding_id, severity, subject, evidence, explanation, fix):
    if severity not in SEVERITIES:
        raise ValueError('finding %s: severity %r is not one of %s'
                         % (finding_id, severity, ', '.join(SEVERITIES)))
    return OrderedDict([('id', finding_id), ('severity', severity), ('subject', subject),
                        ('evidence', evidence), ('explanation', explanation), ('fix', fix)])
