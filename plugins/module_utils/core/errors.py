# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors the engine raises, and the translation of kernel errors into advice."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno

# Which module provides a link kind, for "Unknown device type" errors.
KIND_MODULES = {
    'vlan': '8021q',
    'bond': 'bonding',
    'team': 'team',
    'macvlan': 'macvlan',
    'macvtap': 'macvtap',
    'vxlan': 'vxlan',
    'bridge': 'bridge',
    'veth': 'veth',
    'tuntap': 'tun',
}


class NetError(Exception):
    """A failure with a message meant for the operator.

    ``problems`` lists every problem found (validation reports all at once).
    """

    def __init__(self, message, problems=None):
        super(NetError, self).__init__(message)
        self.message = message
        self.problems = list(problems or [])


class InvalidRequest(NetError):
    """The request cannot be applied; nothing was touched."""

    def __init__(self, problems):
        problems = list(problems)
        if len(problems) == 1:
            message = problems[0]
        else:
            message = '%d problems, nothing was changed: %s' % (len(problems), '; '.join(problems))
        super(InvalidRequest, self).__init__(message, problems)


class NotApplied(NetError):
    """The kernel refused an operation, or a value did not take."""


def kernel_error_message(error, action, kind=None):
    """Turn a NetlinkError (or OSError) raised during ``action`` into advice."""
    code = getattr(error, 'code', None) or getattr(error, 'errno', None)
    detail = str(error)
    if code == errno.EOPNOTSUPP and kind:
        module = KIND_MODULES.get(kind, kind)
        return ('%s: the kernel has no support for %s links: load module %s '
                '(modprobe %s) or install a kernel that has it' % (action, kind, module, module))
    if code == errno.EPERM:
        return '%s: permission denied: run as root (become: true) or with CAP_NET_ADMIN' % action
    if code == errno.ERANGE:
        return '%s: the kernel rejected a value as out of range (%s)' % (action, detail)
    if code == errno.EBUSY:
        return '%s: the device is busy, it is probably a port of another master (%s)' % (action, detail)
    if code == errno.EEXIST:
        return '%s: it exists already (%s)' % (action, detail)
    if code == errno.ENETDOWN:
        return ('%s: the kernel refused because the lower device is down: bring the parent '
                'interface up first (%s)' % (action, detail))
    if code == errno.ENODEV:
        return '%s: no such device (%s)' % (action, detail)
    return '%s: the kernel refused: %s' % (action, detail)
