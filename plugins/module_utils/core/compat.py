# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that knows which pyroute2 the target has and how it differs.

Supported: pyroute2 0.7.3 up to the newest 0.9.x, on Python 3.6 and later. Nothing
else in the collection checks pyroute2 versions; it opens its sockets through
``open_iproute`` and catches ``NetlinkError`` from here.

- Finding pyroute2: ``private_path()`` first (the kvmnet.hostnet.pyroute2 role installs
  there only when the interpreter's own pyroute2 is missing or unusable, so it must
  win over an old system one), then the interpreter's own paths.
- Failing well: ``require()`` says whether pyroute2 is missing, installed but not
  importable (0.9.x on Python < 3.9), or older than the minimum, and how to fix it.
- Namespaces: 0.9 opens sockets in a namespace with ``IPRoute(netns=)``, 0.7/0.8 only
  through ``NetNS``, a proxy process that cannot take extended ACKs or file
  descriptors. Both are avoided: the socket is opened while this thread is inside
  the namespace (a netlink socket stays in the namespace it was created in), and
  the operations that act in the caller's namespace (tun/tap creation is an ioctl
  on /dev/net/tun) run inside it too, through ``inside()``.
- Extended ACKs: requested on every socket, so kernel refusals carry the kernel's
  reason (0.7.3 and later read them alike).
- Attributes: messages are read with ``msg.get('IFLA_...')``, which every supported
  version provides.
- Namespace ids (``set_netnsid``) and team links (``_kernel_handles_teams``) are
  spelled or handled differently before 0.9. Filtered dumps no longer go through
  pyroute2 (core/rtnl.py builds them).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ctypes
import ctypes.util
import errno
import os
import re
import sys
from contextlib import contextmanager

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError

MINIMUM = (0, 7, 3)
# pyroute2 0.9 needs Python 3.9 (typing.Literal, list[...] generics; 0.9.3 on declare it);
# 0.8.1 is the newest for Python 3.6 to 3.8.
NEWEST_FOR_OLD_PYTHON = '0.8.1'
# Tests point it elsewhere, so that they never install into the machine's own path.
PRIVATE_ROOT = os.environ.get('KVMNET_HOSTNET_PYTHON_ROOT', '/usr/local/lib/kvmnet-hostnet')
NETNS_DIR = '/var/run/netns'
CLONE_NEWNET = 0x40000000


def private_path(version_info=None):
    """Where the bootstrap role installs pyroute2 for this interpreter."""
    major, minor = (version_info or sys.version_info)[:2]
    return os.path.join(PRIVATE_ROOT, 'python%d.%d' % (major, minor))


def parse_version(text):
    """(0, 7, 3) from '0.7.3' or '0.5.13.post1'; None when there is no version."""
    match = re.match(r'(\d+)\.(\d+)(?:\.(\d+))?', str(text or ''))
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def version_text(version):
    return '.'.join(str(part) for part in version)


def install_hint(version_info=None):
    """How to get a supported pyroute2 for this interpreter."""
    version_info = version_info or sys.version_info
    python = 'Python %d.%d' % tuple(version_info[:2])
    if tuple(version_info[:2]) < (3, 9):
        spec = "pyroute2>=%s,<=%s" % (version_text(MINIMUM), NEWEST_FOR_OLD_PYTHON)
    else:
        spec = 'pyroute2>=%s' % version_text(MINIMUM)
    return ('apply the kvmnet.hostnet.pyroute2 role (it also works without network access on '
            'the target), or run "%s -m pip install \'%s\'" for %s' % (
                sys.executable or 'python3', spec, python))


def installed_distributions(paths=None):
    """(version, directory) of every pyroute2 distribution on ``paths``, found by metadata."""
    found = []
    pattern = re.compile(r'^pyroute2-(\d[^-]*?)(?:-py\d.*)?\.(?:dist-info|egg-info)$', re.I)
    for path in paths if paths is not None else sys.path:
        try:
            names = os.listdir(path or '.')
        except OSError:
            continue
        for name in names:
            match = pattern.match(name)
            if match:
                found.append((match.group(1), path))
    return found


def _add_private_path():
    path = private_path()
    if os.path.isdir(path) and path not in sys.path:
        # Before site-packages: the role installs here only when the system's is unusable.
        sys.path.insert(0, path)


_add_private_path()

pyroute2 = IPRoute = None
IMPORT_ERROR = None


class NetlinkError(Exception):
    """Stands in until pyroute2 is loaded (and without it); catch ``compat.NetlinkError``,
    looked up when the exception is raised, not a name imported from here."""
    code = None


def load():
    """Import pyroute2, once: importing it costs a module run as much as Ansible's own
    module_utils, and the lean path (core/rtnl.py) does without it for most runs.

    Sets ``pyroute2``, ``IPRoute``, ``NetlinkError`` and, when it cannot be imported,
    ``IMPORT_ERROR``.
    """
    global pyroute2, IPRoute, NetlinkError, IMPORT_ERROR  # pylint: disable=global-statement
    if pyroute2 is not None or IMPORT_ERROR is not None:
        return
    try:
        import pyroute2 as module
        from pyroute2 import IPRoute as iproute
        from pyroute2.netlink.exceptions import NetlinkError as error
    except Exception as import_error:  # pylint: disable=broad-except
        # Not only ImportError: a pyroute2 too new for the interpreter fails with
        # ImportError or SyntaxError depending on the version.
        IMPORT_ERROR = import_error
        return
    pyroute2, IPRoute, NetlinkError = module, iproute, error


def _usable_by_metadata():
    """Whether the pyroute2 this interpreter would import is, by its metadata alone, a
    supported version for this Python (then require() need not import it)."""
    installed = installed_distributions()
    version = parse_version(installed[0][0]) if installed else None
    if version is None or version < MINIMUM:
        return False
    return version < (0, 9) or tuple(sys.version_info[:2]) >= (3, 9)


def found_version():
    """The version of the imported pyroute2, from the package or its metadata."""
    if pyroute2 is None:
        return None
    version = parse_version(getattr(pyroute2, '__version__', None))
    if version is None:
        location = os.path.dirname(os.path.dirname(os.path.abspath(pyroute2.__file__)))
        for text, _path in installed_distributions([location]):
            version = parse_version(text)
    return version


def problem():
    """Why this target cannot run the modules, with the fix; None when it can."""
    python = 'Python %d.%d.%d (%s)' % (sys.version_info[:3] + (sys.executable,))
    if IMPORT_ERROR is not None:
        installed = installed_distributions()
        if not installed:
            return ('pyroute2 is not installed for %s, kvmnet.hostnet needs >= %s: %s' % (
                python, version_text(MINIMUM), install_hint()))
        text, path = installed[0]
        reason = str(IMPORT_ERROR) or IMPORT_ERROR.__class__.__name__
        version = parse_version(text)
        if version and version >= (0, 9) and sys.version_info[:2] < (3, 9):
            reason = 'pyroute2 %s needs Python >= 3.9 (%s)' % (text, reason)
        return ('pyroute2 %s is installed in %s but cannot be imported by %s: %s; %s' % (
            text, path, python, reason, install_hint()))
    version = found_version()
    if version is not None and version < MINIMUM:
        installed = installed_distributions()
        where = os.path.dirname(pyroute2.__file__) if pyroute2 is not None else \
            (installed[0][1] if installed else 'location unknown')
        return ('pyroute2 %s found (%s), kvmnet.hostnet needs >= %s: %s' % (
            version_text(version), where, version_text(MINIMUM), install_hint()))
    return None


def require():
    """Fail with ``problem()`` before anything is touched.

    pyroute2 is imported here only when its metadata does not already show a supported
    version; otherwise on first use (open_iproute).
    """
    if pyroute2 is None and IMPORT_ERROR is None and not _usable_by_metadata():
        load()
    message = problem()
    if message:
        raise NetError(message)


# ---- network namespaces ----------------------------------------------------
_libc = None


def _setns(fd):
    global _libc  # pylint: disable=global-statement
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


@contextmanager
def inside(netns):
    """Run the block with this thread in the named namespace (never creates it)."""
    if not netns:
        yield
        return
    home = os.open('/proc/self/ns/net', os.O_RDONLY)
    try:
        try:
            target = os.open(os.path.join(NETNS_DIR, netns), os.O_RDONLY)
        except OSError as error:
            if error.errno == errno.ENOENT:
                raise OSError(error.errno, 'network namespace %r does not exist' % netns)
            raise
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


def set_netnsid(ipr, fd):
    """Let the kernel pick an id, in ``ipr``'s namespace, for the namespace open at ``fd``
    (``ip netns set NAME auto``). 0.7 has no method for it: the request is sent as is."""
    if hasattr(ipr, 'set_netnsid'):
        return ipr.set_netnsid(fd=fd)
    from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST
    from pyroute2.netlink.rtnl import RTM_NEWNSID
    from pyroute2.netlink.rtnl.nsidmsg import nsidmsg
    msg = nsidmsg()
    msg['attrs'] = [('NETNSA_NSID', 0xFFFFFFFF), ('NETNSA_FD', fd)]  # any free id
    return ipr.nlm_request(msg, RTM_NEWNSID, NLM_F_REQUEST | NLM_F_ACK)


def _forward(msg, _nl):
    return {'verdict': 'forward', 'data': msg.data}


def _kernel_handles_teams(ipr):
    """0.7/0.8 answer team requests themselves: a new team link starts a teamd of their
    own (dropping the MTU and MAC of the request) and a port change runs teamdctl.
    0.9 sends both to the kernel like any link, and kinds/team.py runs teamd itself,
    so team requests go to the kernel here too; tun/tap creation stays with pyroute2."""
    from pyroute2.netlink import rtnl
    pmap = ipr._sproxy.pmap  # pylint: disable=protected-access
    newlink = pmap[rtnl.RTM_NEWLINK]

    def newlink_but_team(msg, nl):
        info = msg.get_attr('IFLA_LINKINFO')
        kinds = [value for key, value in (info or {}).get('attrs', []) if key == 'IFLA_INFO_KIND']
        return _forward(msg, nl) if kinds == ['team'] else newlink(msg, nl)

    pmap[rtnl.RTM_NEWLINK] = newlink_but_team
    pmap[rtnl.RTM_SETLINK] = _forward  # only team ports were special


def open_iproute(netns=None):
    """An IPRoute whose socket lives in ``netns`` (None: this namespace), with ext ACKs."""
    load()
    require()
    with inside(netns):
        ipr = IPRoute(ext_ack=True)
    if found_version() < (0, 9) and hasattr(ipr, '_sproxy'):
        _kernel_handles_teams(ipr)
    return ipr
