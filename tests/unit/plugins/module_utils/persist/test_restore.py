"""The boot-time restore brings up the lower devices its records sit on, or says why not.

Without NetworkManager nothing brings a bare NIC up at boot, and the kernel refuses to
bring a VLAN, macvlan or VTEP up on a lower device that is down. A fake netlink
session stands in for the kernel: these are the program's decisions, the kernel lab
proves them by rebooting a guest.
"""

import io

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.errors import NotApplied
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist import restore


def record(module, **params):
    return dict(module=module, persist='restore', params=dict(dict(state='present', up=True), **params))


class Link:
    def __init__(self, index, up):
        self.index, self.up = index, up


class FakeSession:
    def __init__(self, links, appears_after=None, refuses=()):
        self.links = links
        self.appears_after = appears_after or {}
        self.refuses = refuses
        self.calls = []
        self.reads = {}

    def __call__(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def link(self, name):
        self.reads[name] = self.reads.get(name, 0) + 1
        if self.reads[name] > self.appears_after.get(name, 0):
            return self.links.get(name)
        return None

    def call(self, action, method, *args, **kwargs):
        name = [n for n, link in self.links.items() if link.index == kwargs['index']][0]
        if name in self.refuses:
            raise NotApplied('%s: the kernel refused' % action)
        self.calls.append((name, kwargs['state']))
        self.links[name].up = True


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


TOPOLOGY = [
    record('bond_iface', name='bond0', ports=['eth2', 'eth3']),
    record('vlan_sub', name='vlan10', parent='eth1', vlan_id=10),
    record('vlan_sub', name='bond0.20', parent='bond0', vlan_id=20),
    record('vxlan_vtep', name='vx100', dev='br0', vni=100),
    record('linux_bridge', name='br0', takeover_from='eth0'),
    record('vlan_sub', name='vlan30', parent='eth1', vlan_id=30, up=False),
]


def test_only_lower_devices_no_record_builds_are_brought_up():
    assert restore.lower_devices(TOPOLOGY) == {'eth1': ['vlan_sub@vlan10']}


def test_a_down_nic_under_a_vlan_is_brought_up_and_journaled():
    net, out, clock = FakeSession({'eth1': Link(3, False)}), io.StringIO(), Clock()
    assert restore.bring_up_lowers(TOPOLOGY, out, session=net, clock=clock, sleep=clock.sleep) == {}
    assert net.calls == [('eth1', 'up')]
    assert out.getvalue() == '<5>kvmnet-hostnet: brought eth1 up: the lower device of vlan_sub@vlan10\n'


def test_an_up_lower_device_is_left_alone():
    net = FakeSession({'eth1': Link(3, True)})
    assert restore.bring_up_lowers(TOPOLOGY, io.StringIO(), session=net) == {}
    assert net.calls == []


def test_a_late_nic_is_waited_for_within_the_bound():
    net, clock = FakeSession({'eth1': Link(3, False)}, appears_after={'eth1': 4}), Clock()
    assert restore.bring_up_lowers(TOPOLOGY, io.StringIO(), session=net, clock=clock,
                                   sleep=clock.sleep) == {}
    assert net.calls == [('eth1', 'up')] and clock.now == 2.0


def test_a_missing_lower_device_fails_its_records_after_the_bound():
    net, clock = FakeSession({}), Clock()
    failures = restore.bring_up_lowers(TOPOLOGY, io.StringIO(), wait=5, session=net, clock=clock,
                                       sleep=clock.sleep)
    assert failures == {'vlan_sub@vlan10': 'its lower device eth1 did not appear within 5s'}
    assert clock.now == 5.0


def test_a_lower_device_the_kernel_keeps_down_fails_its_records():
    net = FakeSession({'eth1': Link(3, False)}, refuses=('eth1',))
    failures = restore.bring_up_lowers(TOPOLOGY, io.StringIO(), session=net)
    assert failures == {'vlan_sub@vlan10': 'its lower device eth1 cannot be brought up: '
                                           'bringing eth1 up: the kernel refused'}


def test_main_logs_records_it_cannot_restore_at_error_priority_and_fails(tmp_path, monkeypatch):
    records = tmp_path / 'etc/kvmnet-hostnet/links'
    records.mkdir(parents=True)
    (records / 'vlan_sub@vlan10.json').write_text(
        '{"module": "vlan_sub", "persist": "restore", "params": '
        '{"name": "vlan10", "parent": "eth9", "vlan_id": 10, "state": "present", "up": true}}')
    monkeypatch.setattr(restore, 'LOWER_WAIT_SECONDS', 0)
    net = FakeSession({})
    monkeypatch.setattr(restore, 'NetlinkSession', net)
    out = io.StringIO()
    replayed = []
    monkeypatch.setattr(restore, 'replay', lambda *args: replayed.append(args))
    assert restore.main(root=str(tmp_path), modules={'vlan_sub': object()}, out=out) == 1
    assert replayed == []
    assert out.getvalue() == ('<3>kvmnet-hostnet: vlan_sub@vlan10 NOT restored: its lower device '
                              'eth9 did not appear within 0s\n')


class Message(dict):
    pass


def test_aliases_come_back_on_links_networkmanager_made_and_missing_links_fail():
    kept = dict(record('linux_bridge', name='br0'), persist='networkmanager', alias='kvmnet:host_network')
    marked = dict(record('linux_bridge', name='br1'), alias='kvmnet:host_network')
    gone = dict(record('linux_bridge', name='br2'), alias='kvmnet:host_network')
    links = {'br0': Link(4, True), 'br1': Link(5, True)}
    links['br0'].msg = Message()
    links['br1'].msg = Message(IFLA_IFALIAS='kvmnet:host_network')
    net, out, clock = FakeSession(links), io.StringIO(), Clock()
    net.call = lambda action, method, *args, **kwargs: net.calls.append((kwargs['index'], kwargs['ifalias']))
    failures = restore.set_aliases([kept, marked, gone, record('linux_bridge', name='br3')], out, wait=2,
                                   session=net, clock=clock, sleep=clock.sleep)
    assert net.calls == [(4, 'kvmnet:host_network')]
    assert failures == {'linux_bridge@br2': 'br2 did not appear within 2s to get its alias '
                                            'kvmnet:host_network'}
    assert out.getvalue() == '<5>kvmnet-hostnet: linux_bridge@br0: alias kvmnet:host_network set\n'


def test_an_installed_program_with_the_same_sources_is_not_built_again(tmp_path):
    import zipfile
    program = tmp_path / 'restore.pyz'
    program.write_bytes(restore.program_bytes())
    assert restore.installed_program_is_current(str(program))
    # One module's source differs from what the zip holds: it is rebuilt.
    with zipfile.ZipFile(str(program)) as archive:
        entries = dict((name, archive.read(name)) for name in archive.namelist())
    changed = 'ansible_collections/kvmnet/hostnet/plugins/module_utils/persist/restore.py'
    entries[changed] += b'\n# an older restore program\n'
    with zipfile.ZipFile(str(program), 'w') as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    assert not restore.installed_program_is_current(str(program))
    assert not restore.installed_program_is_current(str(tmp_path / 'missing.pyz'))
