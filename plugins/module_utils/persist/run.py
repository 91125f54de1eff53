# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``persist`` option of every link module: a run, then the files that keep it.

``none`` leaves persisted files alone (``state: absent`` still removes the item's
own); ``networkmanager`` writes profiles; ``restore`` keeps the desired state for the
boot-time unit only; ``auto`` is networkmanager when NetworkManager runs, else
restore. Files are compared first: a second run changes nothing, check mode writes
nothing, and every file change is in the plan and the diff.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import InvalidRequest, NotApplied
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist import restore, store
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.files import FilePlan, read_bytes
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.keyfile import (
    PROFILE_PREFIX, Profile, profile_filename)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.nm import RENDERERS

PERSIST_OPTION = dict(type='str', default='none',
                      choices=['auto', 'networkmanager', 'restore', 'none'])
# Tests point the whole file tree somewhere else.
ROOT_ENVIRONMENT = 'KVMNET_HOSTNET_PERSIST_ROOT'
# Modules whose links NetworkManager must leave alone: VM NICs are the VM's.
UNMANAGED_MODULES = ('kvm_vm_nic',)
UNMANAGED_PATTERNS = ('vnet*', 'macvtap*')


def networkmanager_runs():
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/comm' % pid) as handle:
                    if handle.read().strip() == 'NetworkManager':
                        return True
            except (IOError, OSError):
                continue
    return False


def resolve(mode, root):
    if mode == 'auto':
        return 'networkmanager' if networkmanager_runs() else 'restore'
    return mode


class PersistedOutcome:
    """A reconcile outcome plus the file changes that persist it."""

    def __init__(self, outcome, files):
        self.outcome = outcome
        self.operations = getattr(outcome, 'operations', [])
        self.files = files
        self.plan = outcome.plan + files.summaries()
        self.changed = outcome.changed or bool(files.changes)
        self.before = outcome.before
        self.after = outcome.after
        self.recreated = outcome.recreated

    def diff(self):
        return [self.outcome.diff()] + self.files.diffs()


def _checked(mode, root, netns):
    """The resolved mode, or InvalidRequest before anything is touched."""
    resolved = resolve(mode, root)
    problems = []
    if mode != 'none' and netns:
        problems.append('persist: %s works on links of the host namespace; this one is in netns %s '
                        '(use persist: none)' % (mode, netns))
    if resolved == 'networkmanager' and not os.path.isdir(os.path.join(root, store.NM_CONF_DIR)):
        problems.append('persist: networkmanager, but NetworkManager is not installed (no /%s); '
                        'use persist: restore, or auto' % store.NM_CONF_DIR)
    if problems:
        raise InvalidRequest(problems)
    return resolved


def _written(module, root, plan):
    """``plan()``'s FilePlan, applied unless in check mode (FilePlan.apply writes every file)."""
    try:
        files = plan()
        if files.changes and not module.check_mode:
            files.apply()
            if any(path.endswith(store.UNIT_NAME) for path in files.paths) and root == '/' \
                    and os.path.isdir('/run/systemd/system'):
                module.run_command(['systemctl', 'daemon-reload'])
            if root == '/':
                tell_networkmanager(module, files.changes, root)
    except (IOError, OSError, ValueError) as error:
        raise NotApplied('the links were set, but persisting them failed: %s' % error)
    return files


def networkmanager_loads(changes, root='/'):
    """The profile files of FilePlan ``changes`` that NetworkManager is told about, once
    they are on disk as planned (a change staged for later is not).

    Ours, written or removed (``nmcli connection load`` of a removed file forgets its
    profile), and a NIC's own profile put back from the backup. A NIC profile moved
    into the backup stays loaded until NetworkManager's next start: forgetting it now
    would deactivate the NIC that has just become our port.
    """
    directories = (os.path.join(root, store.KEYFILES), os.path.join(root, store.IFCFG))
    paths = []
    for action, path, _before, after, _mode in changes:
        if os.path.dirname(path) not in directories or action == 'link':
            continue
        ours = os.path.basename(path).startswith(PROFILE_PREFIX)
        on_disk = read_bytes(path)
        if action == 'write' and on_disk == after:
            paths.append(path)
        elif action == 'remove' and ours and on_disk is None and not os.path.islink(path):
            paths.append(path)
    return paths


def tell_networkmanager(module, changes, root='/'):
    """``nmcli connection load`` the profiles that changed, when NetworkManager runs.

    Loading makes a profile known, it does not activate it on a link that is up
    (NetworkManager does not auto-activate a device that is already connected, also
    externally), so no running link is torn down; what it cannot load is a warning:
    NetworkManager reads the files at its next start anyway.
    """
    paths = networkmanager_loads(changes, root)
    if not paths or not networkmanager_runs():
        return
    nmcli = module.get_bin_path('nmcli')
    if nmcli is None:
        return
    rc, _out, err = module.run_command([nmcli, 'connection', 'load'] + paths)
    if rc != 0:
        module.warn('NetworkManager did not load %s (%s); it reads them at its next start'
                    % (', '.join(paths), (err or '').strip()))


def persistence(module, link_module, facets):
    """Check ``persist`` before anything is touched; return finish(outcome).

    finish() brings the persisted files in line with the run's outcome (check mode:
    plans only) and returns the outcome with the file changes in plan, diff and
    changed.
    """
    params = module.params
    mode = params.get('persist') or 'none'
    root = os.environ.get(ROOT_ENVIRONMENT, '/')
    netns = link_module.netns(params)
    resolved = _checked(mode, root, netns)

    def finish(outcome):
        if mode == 'none' and (params['state'] == 'present' or netns):
            return outcome
        files = _written(module, root, lambda: plan_files(
            root, link_module, params, facets, outcome.after, resolved))
        return PersistedOutcome(outcome, files) if files.changes else outcome
    return finish


def topology_persistence(module, items, netns):
    """``persistence`` for host_network: one ``persist`` for every item of the call.

    ``items`` have link_module, params, facets and title (the key of their views in
    the outcome). With ``none``, only the records of items made absent and of links
    ``purge`` removed go. finish(outcome, purged) returns the outcome as above.
    """
    mode = module.params.get('persist') or 'none'
    root = os.environ.get(ROOT_ENVIRONMENT, '/')
    resolved = _checked(mode, root, netns)

    def finish(outcome, purged=()):
        chosen = [item for item in items if mode != 'none' or item.params['state'] == 'absent']
        if netns or not (chosen or purged):
            return outcome
        aliases = _aliases(chosen, module.check_mode)
        entries = [(item.link_module, dict(item.params, persist=mode), item.facets,
                    outcome.after.get(item.title) or {}, aliases.get(item.title)) for item in chosen]
        files = _written(module, root, lambda: plan_entries(root, entries, resolved, dropped=purged))
        return PersistedOutcome(outcome, files) if files.changes else outcome
    return finish


def _aliases(items, check_mode):
    """{item title: the alias its link has after the run}: host_network's marker is
    what its purge looks for, and NetworkManager has no property for it, so the record
    keeps it and the restore unit sets it again at boot."""
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.session import NetlinkSession
    found = {}
    present = [item for item in items if item.params['state'] == 'present' and item.links]
    if not present:
        return found
    with NetlinkSession() as net:
        for item in present:
            name = item.links[0].name
            state = net.link(name)
            found[item.title] = state.msg.get('IFLA_IFALIAS') if state is not None else None
            marking = 'mark %s as managed (alias ' % name
            for operation in item.operations if check_mode else ():
                if operation.summary.startswith(marking):
                    found[item.title] = operation.summary[len(marking):-1]
    return found


def file_diffs(outcome):
    """The persisted files' diffs of an outcome ([] when no file changed)."""
    files = getattr(outcome, 'files', None)
    return files.diffs() if files is not None else []


def _all_modules(link_modules):
    try:
        from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import MODULES
    except ImportError:
        MODULES = {}
    modules = dict(MODULES)
    for link_module in link_modules:
        modules[link_module.name] = link_module
    return modules


def plan_files(root, link_module, params, facets, after, resolved, modules=None, nic=None,
               nic_mac=None, python=None):
    """The FilePlan that brings every persisted file in line with the stored records."""
    return plan_entries(root, [(link_module, params, facets, after, None)], resolved, modules=modules,
                        nic=nic, nic_mac=nic_mac, python=python)


def plan_entries(root, entries, resolved, modules=None, nic=None, nic_mac=None, python=None,
                 dropped=()):
    """plan_files for several items at once: ``entries`` are (link module, params,
    facets, after view, alias); ``dropped`` names links gone otherwise (purged), whose
    records go. An alias of None keeps the one the record has (a single module never
    changes a link's alias)."""
    # Imported here: the profiles read the kinds' facets, and the kinds import the runner
    # that imports this module.
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.profiles import is_nic, render
    modules = modules or _all_modules(entry[0] for entry in entries)
    records = dict((store.record_key(record), record) for record in store.load_records(root))
    for key, record in list(records.items()):
        if record['params'].get('name') in dropped:
            records.pop(key)
    for link_module, params, facets, after, alias in entries:
        links = [facet for facet in facets if isinstance(facet, LinkFacet)]
        key = '%s@%s' % (link_module.name, links[0].name if links else params['name'])
        if params['state'] == 'absent':
            records.pop(key, None)
            continue
        alias = alias if alias is not None else records.get(key, {}).get('alias')
        previous = records.get(key)
        frozen = store.freeze(params, facets, after, RENDERERS, previous)
        records[key] = dict(module=link_module.name, persist=resolved, params=frozen)
        routes = store.moved_routes(facets, previous)
        if routes:
            records[key]['routes'] = routes
        if alias:
            records[key]['alias'] = alias

    entries = []
    for record_key_, record in sorted(records.items()):
        if record['persist'] == 'networkmanager' and record['module'] not in UNMANAGED_MODULES:
            entries.append((record_key_, modules[record['module']].build_facets(record['params'])))
    rendered = render(entries, nic=nic or is_nic,
                      routes=dict((key, record.get('routes')) for key, record in records.items()))
    for record_key_, record in records.items():
        record['replay'] = record['persist'] != 'networkmanager' or record['module'] in UNMANAGED_MODULES \
            or bool(rendered.gaps.get(record_key_))

    files = FilePlan(root)
    _plan_records(files, root, records)
    _plan_profiles(files, root, rendered, nic_mac or _nic_mac)
    _plan_restore_unit(files, records, python or sys.executable, nic or is_nic)
    _plan_unmanaged(files, root, records)
    return files


def _plan_records(files, root, records):
    wanted = {}
    for record in records.values():
        wanted[store.record_path(record['module'], record['params']['name'])] = record
    for relative, record in wanted.items():
        files.want(relative, store.render_record(record))
    directory = os.path.join(root, store.RECORDS)
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        relative = os.path.join(store.RECORDS, name)
        if name.endswith('.json') and relative not in wanted:
            files.remove(relative)


def _nic_mac(ifname):
    text = read_bytes('/sys/class/net/%s/address' % ifname)
    return text.decode().strip().lower() if text else None


def _plan_profiles(files, root, rendered, nic_mac):
    wanted = set()
    for ifname, profile in rendered.profiles.items():
        relative = os.path.join(store.KEYFILES, profile_filename(ifname))
        wanted.add(relative)
        files.want(relative, profile.render())
    # A NIC that becomes a port loses its own profiles (kept in the backup directory);
    # they come back when it is no longer a port of ours.
    nics = dict((ifname, nic_mac(ifname)) for ifname, profile in rendered.profiles.items()
                if profile.nm_type == 'ethernet' and profile.is_port)
    foreign = [(relative, store.binding(relative, read_bytes(os.path.join(root, relative))
                                        .decode('utf-8', 'replace')))
               for relative in store.profile_files(root)]
    # A NIC under a VLAN or VTEP without a profile of its own: one that brings it up
    # with no address (NetworkManager would otherwise run DHCP on it).
    for ifname in rendered.lower_nics:
        if not any(store.configures(bound, ifname, nic_mac(ifname)) for _relative, bound in foreign):
            relative = os.path.join(store.KEYFILES, profile_filename(ifname))
            wanted.add(relative)
            files.want(relative, Profile(ifname, 'ethernet').render())
    for relative, bound in foreign:
        if any(store.configures(bound, ifname, mac) for ifname, mac in nics.items()):
            path = os.path.join(root, relative)
            files.want(store.backup_path(relative), read_bytes(path), _file_mode(path))
            files.remove(relative)
    directory = os.path.join(root, store.KEYFILES)
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        relative = os.path.join(store.KEYFILES, name)
        if name.startswith(PROFILE_PREFIX) and name.endswith('.nmconnection') and relative not in wanted:
            files.remove(relative)
    backups = os.path.join(root, store.BACKUPS)
    for relative in store.profile_files(backups):
        path = os.path.join(backups, relative)
        bound = store.binding(relative, read_bytes(path).decode('utf-8', 'replace'))
        if not any(store.configures(bound, ifname, mac) for ifname, mac in nics.items()):
            files.want(relative, read_bytes(path), _file_mode(path))
            files.remove(store.backup_path(relative))


def _file_mode(path):
    return os.stat(path).st_mode & 0o7777


# Params that name the interfaces an item is built on.
LOWER_PARAMS = ('takeover_from', 'parent', 'dev', 'ports')


def _lower_names(params):
    for key in LOWER_PARAMS:
        value = params.get(key)
        for item in value if isinstance(value, list) else [value]:
            name = item.get('name') if isinstance(item, dict) else item
            if name:
                yield str(name)


def _plan_restore_unit(files, records, python, nic):
    due = restore.due(records.values())
    if not due and not any(record.get('alias') for record in records.values()):
        for relative in (store.UNIT_WANTS, store.UNIT, store.PROGRAM):
            files.remove(relative)
        return
    after_nm = any(record['persist'] == 'networkmanager' for record in records.values())
    program = files.path(store.PROGRAM)
    current = restore.installed_program_is_current(program)
    files.want(store.PROGRAM, read_bytes(program) if current else restore.program_bytes(), 0o644)
    nics = [name for record in due for name in _lower_names(record['params']) if nic(name)]
    files.want(store.UNIT, restore.unit_text(python, after_nm, nics), 0o644)
    files.link(store.UNIT_WANTS, '/' + store.UNIT)


def _plan_unmanaged(files, root, records):
    if not records or not os.path.isdir(os.path.join(root, store.NM_CONF_DIR)):
        files.remove(store.NM_UNMANAGED)
        return
    names = list(UNMANAGED_PATTERNS) + sorted(
        record['params']['name'] for record in records.values() if record['module'] in UNMANAGED_MODULES)
    files.want(store.NM_UNMANAGED,
               '# Written by kvmnet.hostnet: VM NICs belong to their VMs, not to NetworkManager.\n'
               '[keyfile]\nunmanaged-devices+=%s\n'
               % ';'.join('interface-name:%s' % name for name in names), 0o644)
