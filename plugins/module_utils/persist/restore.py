# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time restore: stored desired state, replayed through the same engine.

``kvmnet-hostnet-restore.service`` runs ``restore.pyz``, a zip of this collection's
module_utils (and the Ansible module_utils they import) as the installing run had
them, so the target needs no Ansible. It replays every record kept for ``restore``
and, on NetworkManager hosts, the records with something NetworkManager cannot hold
(after NetworkManager has activated its profiles). Each record goes through
``build_facets`` and ``reconcile``: what is already right is left alone. The lower
devices the records sit on are brought up first, and links whose record keeps an
alias (host_network's marker) get it back, as do the routes a takeover moved. A record that cannot be applied is logged
at error priority and fails the unit.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ast
import importlib
import importlib.machinery
import io
import os
import subprocess
import sys
import time
import zipfile

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import reconcile
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NetError
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import NetlinkSession
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.store import (
    PROGRAM, RECORDS, load_records, record_key)

ENTRY_MODULE = __name__
# The zip's list of the module sources it holds (the rest are empty package __init__s).
MANIFEST = 'kvmnet-hostnet-sources.txt'
# zip entries get a fixed date, so the same code gives the same bytes (no change)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# sd-daemon(3) priority prefixes: the journal files the line under that priority
ERROR, NOTICE = '<3>', '<5>'


def device_unit(ifname):
    """systemd's device unit of a network interface (systemd-escape of its sysfs path)."""
    return 'sys-subsystem-net-devices-%s.device' % ifname.replace('-', '\\x2d')


def unit_text(python, after_networkmanager, nics=()):
    """The systemd unit; on NetworkManager hosts it waits for NetworkManager's start-up.

    Without NetworkManager nothing else waits for udev: the unit waits for the NICs the
    records use (named as udev names them), each by its device unit.
    """
    devices = ' '.join(device_unit(nic) for nic in sorted(set(nics)))
    wants = 'Wants=NetworkManager-wait-online.service\n' if after_networkmanager else ''
    if devices:
        wants += 'Wants=%s\nAfter=%s\n' % (devices, devices)
    return (
        '# Installed by kvmnet.hostnet; removed when no link needs it.\n'
        '[Unit]\n'
        'Description=Re-apply kvmnet.hostnet links from their stored desired state\n'
        'After=network-pre.target systemd-udev-settle.service NetworkManager.service '
        'NetworkManager-wait-online.service networking.service network.service\n'
        + wants +
        'Before=network-online.target libvirtd.service libvirt-guests.service\n'
        'ConditionDirectoryNotEmpty=/%s\n'
        '\n'
        '[Service]\n'
        'Type=oneshot\n'
        'RemainAfterExit=yes\n'
        'ExecStart=%s /%s\n'
        '\n'
        '[Install]\n'
        'WantedBy=multi-user.target\n' % (RECORDS, python, PROGRAM))


# ---- the program ---------------------------------------------------------------

def _module(name):
    module = sys.modules.get(name)
    if module is None:
        try:
            module = importlib.import_module(name)
        except Exception:  # a name imported from a module, not a module
            return None
    return module


def _source(name):
    """(source, is_package) of a module as its file holds it, or (None, False).

    Found through the parent package's path, not sys.modules: a module may stand in
    for another there (ansible.module_utils.distro is its _distro).
    """
    parent = name.rpartition('.')[0]
    path = getattr(_module(parent), '__path__', None) if parent else None
    if parent and path is None:
        return None, False
    try:
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        return spec.loader.get_source(name), spec.submodule_search_locations is not None
    except Exception:  # not a module: a name imported from one
        return None, False


def _statements(tree):
    """Every statement of a module, nested ones too (imports are statements: walking
    the expressions as well, ast.walk's way, costs more than parsing)."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        yield node
        for field in ('body', 'orelse', 'finalbody', 'handlers'):
            children = getattr(node, field, None)
            if isinstance(children, list):
                pending.extend(child for child in children if isinstance(child, (ast.stmt, ast.excepthandler)))


def _imported_names(name, source, is_package):
    package = name if is_package else name.rpartition('.')[0]
    for node in _statements(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _level in range(1, node.level):
                base = base.rpartition('.')[0]
            base = (base + '.' + node.module if node.module else base) if node.level else node.module
            yield base
            for alias in node.names:
                yield base + '.' + alias.name


def program_sources():
    """{path in the zip: source} of the restore entry point and all it imports."""
    sources = {}
    wanted = [ENTRY_MODULE, 'ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds']
    seen = set()
    while wanted:
        name = wanted.pop()
        if name in seen or not name.startswith(('ansible.', 'ansible_collections.')):
            continue
        seen.add(name)
        source, is_package = _source(name)
        if source is None:
            continue
        path = name.replace('.', '/') + ('/__init__.py' if is_package else '.py')
        sources[path] = source
        wanted.extend(_imported_names(name, source, is_package))
    # What the zip holds as its modules had it: installed_program_is_current() compares these.
    sources[MANIFEST] = ''.join(path + '\n' for path in sorted(sources))
    # Packages without an __init__ of their own (namespace packages) get an empty one.
    for path in list(sources):
        parts = path.split('/')[:-1]
        for depth in range(1, len(parts) + 1):
            sources.setdefault('/'.join(parts[:depth]) + '/__init__.py', '')
    sources['__main__.py'] = _main_source()
    return sources


def _main_source():
    return 'import sys\nfrom %s import main\nsys.exit(main())\n' % ENTRY_MODULE


def installed_program_is_current(path):
    """True when the restore program at ``path`` holds exactly the sources this run has.

    Each entry of the installed zip is compared with the source its module has now,
    without parsing anything: a closure whose every source is unchanged imports the
    same modules, so program_bytes() would build the same bytes. This is what a run
    that changes nothing pays instead of building the program (a second or so of
    parsing and compressing on a small host).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            taken = set(archive.read(MANIFEST).decode('utf-8').split())
            for entry in archive.infolist():
                if entry.filename == MANIFEST:
                    continue
                if entry.filename == '__main__.py':
                    source = _main_source()
                elif entry.filename in taken:
                    name = entry.filename[:-len('.py')].replace('/', '.')
                    if name.endswith('.__init__'):
                        name = name[:-len('.__init__')]
                    source = _source(name)[0]
                else:  # an empty __init__ the zip adds for a package
                    source = ''
                if source is None or archive.read(entry) != source.encode('utf-8'):
                    return False
            return True
    except (IOError, OSError, KeyError, ValueError, zipfile.BadZipfile):
        return False


def program_bytes():
    """restore.pyz: the same sources always give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for path, source in sorted(program_sources().items()):
            entry = zipfile.ZipInfo(path, ZIP_DATE)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, source.encode('utf-8'))
    return buffer.getvalue()


# ---- at boot ---------------------------------------------------------------------

def due(records):
    """The records the unit replays: restore-kept ones, and NetworkManager gaps."""
    return [record for record in records if record.get('persist') == 'restore' or record.get('replay')]


def journal_line(out, priority, text):
    """One line for the journal; ``priority`` is its sd-daemon prefix (<3>, <5>)."""
    out.write('%skvmnet-hostnet: %s\n' % (priority, text))


# Params that name the device a link sits on. The kernel refuses to bring a VLAN,
# macvlan or VTEP up on a lower device that is down, and at boot without
# NetworkManager nothing else brings a bare NIC up.
LOWER_PARAMS = ('parent', 'dev')
# How long a lower device that no record builds may take to appear (udev renames,
# a slow driver) before its records are given up; the unit also waits for NIC
# device units, so this bound is rarely reached.
LOWER_WAIT_SECONDS = 30


def lower_devices(records):
    """{lower device: [record keys]} of the present, up links that sit on a device
    no due record builds itself (those come up with their own record)."""
    built = set(record['params'].get('name') for record in records)
    lowers = {}
    for record in records:
        params = record['params']
        if params.get('state', 'present') != 'present' or params.get('up') is False \
                or params.get('netns'):
            continue
        for key in LOWER_PARAMS:
            name = params.get(key)
            if name and name not in built:
                lowers.setdefault(name, []).append(record_key(record))
    return lowers


def bring_up_lowers(records, out, wait=None, session=None, clock=time.monotonic, sleep=time.sleep):
    """Bring the lower devices the records need up, waiting ``wait`` seconds at most
    for each to appear; {record key: why it cannot be restored} for those missing."""
    wait = LOWER_WAIT_SECONDS if wait is None else wait
    session = session or NetlinkSession
    failures = {}
    lowers = lower_devices(records)
    if not lowers:
        return failures
    deadline = clock() + wait
    with session() as net:
        for name in sorted(lowers):
            state = _appeared(net, name, deadline, clock, sleep)
            users = ', '.join(lowers[name])
            if state is None:
                for key in lowers[name]:
                    failures[key] = 'its lower device %s did not appear within %ds' % (name, wait)
                continue
            if state.up:
                continue
            try:
                net.call('bringing %s up' % name, 'link', 'set', index=state.index, state='up')
            except NetError as error:
                for key in lowers[name]:
                    failures[key] = 'its lower device %s cannot be brought up: %s' % (
                        name, error.message)
                continue
            journal_line(out, NOTICE, 'brought %s up: the lower device of %s' % (name, users))
    return failures


def _appeared(net, name, deadline, clock, sleep):
    """The LinkState of ``name`` once it exists, or None at the deadline."""
    state = net.link(name)
    while state is None and clock() < deadline:
        sleep(0.5)
        state = net.link(name)
    return state


def set_aliases(records, out, wait=None, session=None, clock=time.monotonic, sleep=time.sleep):
    """Give every link whose record keeps an alias (host_network's marker, which its
    ``purge`` looks for) that alias again: no NetworkManager version has a property for
    it. {record key: why not}."""
    wait = LOWER_WAIT_SECONDS if wait is None else wait
    session = session or NetlinkSession
    wanted = [record for record in records if record.get('alias') and not record['params'].get('netns')
              and record['params'].get('state', 'present') == 'present']
    failures = {}
    if not wanted:
        return failures
    deadline = clock() + wait
    with session() as net:
        for record in wanted:
            key, name, alias = record_key(record), record['params']['name'], record['alias']
            state = _appeared(net, name, deadline, clock, sleep)
            if state is None:
                failures[key] = '%s did not appear within %ds to get its alias %s' % (name, wait, alias)
                continue
            if state.msg.get('IFLA_IFALIAS') == alias:
                continue
            try:
                net.call('marking %s' % name, 'link', 'set', index=state.index, ifalias=alias)
            except NetError as error:
                failures[key] = error.message
                continue
            journal_line(out, NOTICE, '%s: alias %s set' % (key, alias))
    return failures


def set_routes(records, out, session=None):
    """Put back the routes a takeover moved onto each record's link (the default route
    is the record's own ``gateway``). {record key: why not}."""
    session = session or NetlinkSession
    wanted = [record for record in records if record.get('routes') and not record['params'].get('netns')]
    failures = {}
    if not wanted:
        return failures
    with session() as net:
        for record in wanted:
            key, name = record_key(record), record['params']['name']
            try:
                index = net.index(name)
                for route in record['routes']:
                    net.call('restoring route %s on %s' % (route['dst'], name), 'route', 'replace',
                             oif=index, **route)
            except NetError as error:
                failures[key] = error.message
                continue
            journal_line(out, NOTICE, '%s: routes %s' % (key, ', '.join(r['dst'] for r in record['routes'])))
    return failures


def replay(link_module, params):
    kernel_module = getattr(link_module, 'kernel_module', None)
    if kernel_module and not os.path.isdir('/sys/module/%s' % kernel_module):
        subprocess.call(['modprobe', kernel_module])
    facets = link_module.build_facets(params)
    return reconcile(facets, netns=link_module.netns(params))


def main(root='/', modules=None, out=None):
    """Replay what is due; 0 when all of it is applied, 1 (and error lines) when not."""
    if modules is None:
        from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import MODULES as modules
    out = out or sys.stdout
    try:
        records = load_records(root)
    except ValueError as error:
        journal_line(out, ERROR, str(error))
        return 1
    order = list(modules)
    pending = sorted(due(records), key=lambda record: order.index(record['module'])
                     if record['module'] in order else len(order))
    try:
        lower_failures = bring_up_lowers(pending, out)
    except NetError as error:
        lower_failures = dict((record_key(record), error.message) for record in pending)
    pending = [record for record in pending if record_key(record) not in lower_failures]
    failures = {}
    # A link may need one a later record builds (a VLAN attached to a bridge made
    # after it): replay what failed again while each pass gets further.
    while pending:
        failures = {}
        for record in pending:
            key = record_key(record)
            try:
                link_module = modules[record['module']]
                outcome = replay(link_module, record['params'])
            except KeyError:
                failures[key] = 'unknown module %s (the installed restore program is older ' \
                                'than the record; run the module again)' % record['module']
                continue
            except NetError as error:
                failures[key] = error.message
                continue
            journal_line(out, NOTICE, '%s: %s' % (key, '; '.join(outcome.plan) or 'as stored'))
        if len(failures) == len(pending):
            break
        pending = [record for record in pending if record_key(record) in failures]
    failures.update(lower_failures)
    try:
        failures.update(set_aliases([record for record in records if record_key(record) not in failures],
                                    out))
    except NetError as error:
        failures['aliases'] = error.message
    try:
        failures.update(set_routes([record for record in due(records) if record_key(record) not in failures],
                                   out))
    except NetError as error:
        failures['routes'] = error.message
    for key, message in sorted(failures.items()):
        journal_line(out, ERROR, '%s NOT restored: %s' % (key, message))
    return 1 if failures else 0
