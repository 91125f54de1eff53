"""Persisted files as a module run plans them: records, profiles, backups, the unit.

Real link modules build the facets from validated params; the file tree is a
temporary root, so nothing here touches the machine's /etc.
"""

import io
import json
import os
import stat
import subprocess
import sys
import zipfile

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import MODULES
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist import restore, store
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.files import FilePlan
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.keyfile import parse
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.run import plan_files

UPLINK = '[connection]\nid=uplink\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\nmethod=manual\n' \
         'address1=192.0.2.10/24\ngateway=192.0.2.1\n'
KEYFILES = 'etc/NetworkManager/system-connections'


@pytest.fixture
def root(tmp_path):
    (tmp_path / KEYFILES).mkdir(parents=True)
    uplink = tmp_path / KEYFILES / 'uplink.nmconnection'
    uplink.write_text(UPLINK)
    uplink.chmod(0o600)
    return str(tmp_path)


def validated(module, **args):
    link_module = MODULES[module]
    result = ArgumentSpecValidator(link_module.argument_spec, **link_module.module_kwargs).validate(args)
    assert not result.error_messages
    return link_module, result.validated_parameters


def run(root, module, after=None, mode='networkmanager', apply=True, **args):
    link_module, params = validated(module, **args)
    files = plan_files(root, link_module, params, link_module.build_facets(params), after or {}, mode,
                       nic=lambda name: name.startswith('eth'), nic_mac=lambda name: None,
                       python='/usr/bin/python3')
    if apply:
        files.apply()
    return files


def read(root, relative):
    with open(os.path.join(root, relative)) as handle:
        return handle.read()


TAKEOVER_AFTER = {'bridge': {'stp': False, 'forward_delay': 0.0, 'mac': '52:54:00:6b:00:00'},
                  'addresses': {'addresses': ['192.0.2.10/24'], 'gateway': '192.0.2.1'}}


def test_takeover_backs_up_the_uplink_profile_and_absent_brings_it_back(root):
    files = run(root, 'linux_bridge', TAKEOVER_AFTER, name='br0', stp=False, forward_delay=0,
                takeover_from='eth0')
    assert not os.path.exists(os.path.join(root, KEYFILES, 'uplink.nmconnection'))
    assert read(root, store.backup_path(KEYFILES + '/uplink.nmconnection')) == UPLINK
    bridge = parse(read(root, KEYFILES + '/kvmnet-br0.nmconnection'))
    assert bridge['ipv4']['address1'] == '192.0.2.10/24,192.0.2.1'
    assert bridge['ethernet']['cloned-mac-address'] == '52:54:00:6b:00:00'
    assert parse(read(root, KEYFILES + '/kvmnet-eth0.nmconnection'))['connection']['master'] == 'br0'
    for path in files.paths:
        if os.path.exists(path) and (path.endswith('.nmconnection') or '/links/' in path):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and os.stat(path).st_uid == os.getuid()
    # forward_delay 0 is beyond NetworkManager: the record replays at boot, the unit is there.
    record = store.load_records(root)[0]
    assert record['replay'] is True and record['params']['addresses'] == ['192.0.2.10/24']
    assert os.readlink(os.path.join(root, store.UNIT_WANTS)) == '/' + store.UNIT

    assert not run(root, 'linux_bridge', TAKEOVER_AFTER, name='br0', stp=False, forward_delay=0,
                   takeover_from='eth0').changes

    checked = run(root, 'linux_bridge', apply=False, name='br0', state='absent')
    assert checked.changes and os.path.exists(os.path.join(root, store.UNIT))  # check mode: plan only
    run(root, 'linux_bridge', name='br0', state='absent')
    assert read(root, KEYFILES + '/uplink.nmconnection') == UPLINK
    left = sorted(os.path.relpath(os.path.join(d, n), root) for d, _dirs, names in os.walk(root) for n in names)
    assert left == [KEYFILES + '/uplink.nmconnection']


def test_restore_mode_writes_no_profile_and_the_program_runs(root):
    run(root, 'linux_bridge', {'bridge': {'stp': False}}, mode='restore', name='br-vm', stp=False)
    assert not [name for name in os.listdir(os.path.join(root, KEYFILES)) if name.startswith('kvmnet-')]
    unit = read(root, store.UNIT)
    assert 'ExecStart=/usr/bin/python3 /%s\n' % store.PROGRAM in unit
    assert 'Wants=NetworkManager-wait-online' not in unit
    program = os.path.join(root, store.PROGRAM)
    names = zipfile.ZipFile(program).namelist()
    assert '__main__.py' in names
    assert 'ansible_collections/kvmnet/hostnet/plugins/module_utils/persist/restore.py' in names
    assert restore.program_bytes() == open(program, 'rb').read()  # same code, same bytes
    # The zip imports on its own: the restore entry point and the kinds registry load.
    code = ('import sys; sys.path[:0] = [sys.argv[1]]; '
            'from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds '
            'import MODULES; print(sorted(MODULES))')
    probe = subprocess.run([sys.executable, '-c', code, program], check=False, capture_output=True,
                           text=True, cwd='/', env={'PATH': os.environ['PATH']})
    assert probe.returncode == 0, probe.stderr
    assert 'linux_bridge' in probe.stdout


def test_unmanaged_vm_nics_and_cleanup(root):
    run(root, 'kvm_vm_nic', {}, vm='web1', index=0)
    conf = read(root, store.NM_UNMANAGED)
    assert 'unmanaged-devices+=interface-name:vnet*;interface-name:macvtap*;interface-name:' in conf
    assert not [name for name in os.listdir(os.path.join(root, KEYFILES)) if name.startswith('kvmnet-')]
    name = store.load_records(root)[0]['params']['name']
    run(root, 'kvm_vm_nic', vm='web1', index=0, state='absent')
    assert not os.path.exists(os.path.join(root, store.NM_UNMANAGED))
    assert not os.path.exists(os.path.join(root, store.record_path('kvm_vm_nic', name)))


def test_file_plan_shows_binary_files_by_size(tmp_path):
    plan = FilePlan(str(tmp_path))
    plan.want('a/b.pyz', b'\xff\x00', 0o644)
    assert plan.diffs()[0]['after'] == '<2 bytes of binary content>\n'
    plan.apply()
    again = FilePlan(str(tmp_path))
    again.want('a/b.pyz', b'\xff\x00', 0o644)
    assert not again.changes


def test_restore_unit_waits_for_the_nics_it_builds_on(root):
    run(root, 'linux_bridge', {'bridge': {'stp': False}}, mode='restore', name='br-vm', stp=False,
        ports=['eth-2', 'vnet0'])
    unit = read(root, store.UNIT)
    assert 'Wants=sys-subsystem-net-devices-eth\\x2d2.device\n' in unit
    assert 'vnet0' not in unit


def test_one_call_persists_many_items_keeps_aliases_and_drops_purged_records(root):
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.run import plan_entries
    entries = []
    for module, args in (('linux_bridge', dict(name='br-a', stp=False)),
                         ('linux_bridge', dict(name='br-b', stp=False)),
                         ('vlan_sub', dict(name='vlan10', parent='eth1', vlan_id=10))):
        link_module, params = validated(module, persist='restore', **args)
        entries.append((link_module, params, link_module.build_facets(params), {}, 'kvmnet:host_network'))
    plan_entries(root, entries, 'restore', nic=lambda name: name.startswith('eth'),
                 nic_mac=lambda name: None, python='/usr/bin/python3').apply()
    records = sorted(os.listdir(os.path.join(root, store.RECORDS)))
    assert records == ['linux_bridge@br-a.json', 'linux_bridge@br-b.json', 'vlan_sub@vlan10.json']
    assert '"alias": "kvmnet:host_network"' in read(root, store.record_path('vlan_sub', 'vlan10'))
    # How it was applied is not state: the same link gives the same record either way.
    stored = json.loads(read(root, store.record_path('vlan_sub', 'vlan10')))
    assert stored['persist'] == 'restore'
    assert [key for key in stored['params'] if key == 'persist' or key.startswith('confirm_')] == []
    # The single module writes the same record: its alias stays, nothing changes.
    assert run(root, 'vlan_sub', mode='restore', persist='restore', name='vlan10', parent='eth1',
               vlan_id=10).changes == []
    # A purged link's record goes with it, the others stay.
    files = plan_entries(root, [], 'restore', dropped=['br-b'], nic=lambda name: name.startswith('eth'),
                         nic_mac=lambda name: None, python='/usr/bin/python3')
    assert files.summaries() == ['remove %s' % os.path.join(root, store.record_path('linux_bridge', 'br-b'))]


class CheckModule:
    """What topology_persistence asks of an AnsibleModule."""

    def __init__(self, persist, check_mode):
        self.params = dict(persist=persist)
        self.check_mode = check_mode
        self.commands = []

    def run_command(self, argv):
        self.commands.append(argv)
        return 0, '', ''


def test_host_network_check_mode_shows_the_files_writes_none_and_a_second_run_changes_nothing(
        root, monkeypatch):
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import Outcome
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.topology import parse_topology
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist import run as persist_run
    monkeypatch.setenv(persist_run.ROOT_ENVIRONMENT, root)
    request = dict(netns=None, purge=[], persist='restore', bonds=[], teams=[], vlans=[], veths=[],
                   macvlans=[], vm_nics=[], vxlans=[],
                   bridges=[dict(name='kvmnet-ut-br0', stp=False), dict(name='kvmnet-ut-br1', stp=False)])
    items, problems = parse_topology(request)
    assert problems == []
    outcome = Outcome([], {}, dict((item.title, {}) for item in items), False)

    checked = CheckModule('restore', check_mode=True)
    result = persist_run.topology_persistence(checked, items, None)(outcome)
    assert result.changed
    assert 'write %s' % os.path.join(root, store.record_path('linux_bridge', 'kvmnet-ut-br1')) in result.plan
    assert [d['before_header'] for d in persist_run.file_diffs(result)] == result.files.paths
    assert not os.path.exists(os.path.join(root, store.RECORDS))  # check mode writes nothing

    persist_run.topology_persistence(CheckModule('restore', check_mode=False), items, None)(outcome)
    assert sorted(os.listdir(os.path.join(root, store.RECORDS))) == [
        'linux_bridge@kvmnet-ut-br0.json', 'linux_bridge@kvmnet-ut-br1.json']
    again = persist_run.topology_persistence(CheckModule('restore', check_mode=False), items, None)(outcome)
    assert again is outcome  # nothing to write: the outcome as the engine returned it


def test_networkmanager_is_told_about_our_profiles_and_the_nic_profile_put_back(root):
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.run import networkmanager_loads
    keyfile = os.path.join(root, KEYFILES)
    files = run(root, 'linux_bridge', TAKEOVER_AFTER, name='br0', stp=False, forward_delay=0,
                takeover_from='eth0')
    # Not the uplink's own profile moved to the backup: forgetting it now would
    # deactivate the NIC that just became br0's port.
    assert sorted(networkmanager_loads(files.changes, root)) == [
        os.path.join(keyfile, 'kvmnet-br0.nmconnection'), os.path.join(keyfile, 'kvmnet-eth0.nmconnection')]
    staged = run(root, 'linux_bridge', apply=False, name='br0', state='absent')
    assert networkmanager_loads(staged.changes, root) == []  # not on disk yet: nothing to load
    staged.apply()
    assert sorted(networkmanager_loads(staged.changes, root)) == [
        os.path.join(keyfile, 'kvmnet-br0.nmconnection'), os.path.join(keyfile, 'kvmnet-eth0.nmconnection'),
        os.path.join(keyfile, 'uplink.nmconnection')]


def test_a_bridge_mac_the_kernel_made_up_is_recorded_once_and_kept(root):
    """A port joining later moves an unpinned bridge's MAC: the record must not follow it."""
    first = {'bridge': {'stp': False, 'forward_delay': 0.0, 'mac': '5e:00:00:00:00:01'}}
    run(root, 'linux_bridge', after=first, mode='restore', persist='restore', name='br-a', stp=False)
    record = store.record_path('linux_bridge', 'br-a')
    assert json.loads(read(root, record))['params']['mac'] == '5e:00:00:00:00:01'
    moved = {'bridge': {'stp': False, 'forward_delay': 0.0, 'mac': '52:54:00:00:00:02'}}
    assert run(root, 'linux_bridge', after=moved, mode='restore', persist='restore', name='br-a',
               stp=False).changes == []
    # A MAC the user asks for is recorded as asked.
    run(root, 'linux_bridge', after=moved, mode='restore', persist='restore', name='br-a', stp=False,
        mac='52:54:00:00:00:03')
    assert json.loads(read(root, record))['params']['mac'] == '52:54:00:00:00:03'


def _takeover(root, moved_routes):
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.addresses import Addresses
    link_module, params = validated('linux_bridge', name='br0', stp=False, forward_delay=0, takeover_from='eth0')
    facets = link_module.build_facets(params)
    for facet in facets:
        if isinstance(facet, Addresses):
            facet.moved_routes = moved_routes
    files = plan_files(root, link_module, params, facets, TAKEOVER_AFTER, 'networkmanager',
                       nic=lambda name: name.startswith('eth'), nic_mac=lambda name: None,
                       python='/usr/bin/python3')
    files.apply()
    return files


def route_message(dst, dst_len, gateway=None, priority=None):
    attrs = [('RTA_TABLE', 254)] + ([('RTA_DST', dst)] if dst_len else [])
    attrs += [('RTA_GATEWAY', gateway)] if gateway else []
    attrs += [('RTA_PRIORITY', priority)] if priority is not None else []
    return dict(family=2, dst_len=dst_len, table=254, proto=4, scope=0, type=1, attrs=attrs)


def test_routes_a_takeover_moved_are_kept_and_written_to_the_bridge_profile(root):
    """Not only the default route: a static route of the uplink must be on br0 after a reboot."""
    _takeover(root, [route_message(None, 0, '192.0.2.1', 100),
                     route_message('198.18.0.0', 15, '192.0.2.254', 100)])
    record = store.load_records(root)[0]
    assert record['routes'] == [dict(dst='198.18.0.0/15', family=2, table=254, proto=4, scope=0, type=1,
                                     gateway='192.0.2.254', priority=100)]
    bridge = parse(read(root, KEYFILES + '/kvmnet-br0.nmconnection'))
    assert bridge['ipv4']['address1'] == '192.0.2.10/24,192.0.2.1'
    assert bridge['ipv4']['route1'] == '198.18.0.0/15,192.0.2.254,100'
    assert 'route2' not in bridge['ipv4']
    # The next run finds nothing left on the NIC to move: the record keeps its routes.
    assert _takeover(root, []).changes == []


def test_the_restore_unit_puts_the_moved_routes_back():
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.restore import set_routes

    class Session:
        calls = []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def index(self, name):
            return 7

        def call(self, action, method, *args, **kwargs):
            self.calls.append((method,) + args + (kwargs,))

    route = dict(dst='198.18.0.0/15', family=2, table=254, proto=4, scope=0, type=1, gateway='192.0.2.254')
    records = [dict(module='linux_bridge', persist='restore', params=dict(name='br0'), routes=[route]),
               dict(module='linux_bridge', persist='restore', params=dict(name='br-vm'))]
    out = io.StringIO()
    assert set_routes(records, out, session=Session) == {}
    assert Session.calls == [('route', 'replace', dict(route, oif=7))]
    assert 'linux_bridge@br0: routes 198.18.0.0/15' in out.getvalue()
