"""Reboot proof: a seed-001 hypervisor persisted, the guest rebooted on the same disk.

tests/kernel_lab/run boots this guest four times from one disk image, with systemd,
udev and NetworkManager started as Debian starts them and nothing run in between; the
boot(N) marker says in which boot a test runs, in file order:

1. NetworkManager owns the uplink (a static profile). The topology is applied with
   persist: networkmanager - uplink taken over into br0, VLAN 10/20 bridges, an
   active-backup bond under a VM bridge, a VXLAN with two head-end replication
   remotes on an isolated port, a VM tap - and its state saved.
2. The same links, addresses, routes, ports and FDB entries are back; traffic passes
   through br0, the VLAN bridge and the bond; every module reports changed=false; a
   NetworkManager restart changes nothing. Then everything goes with state: absent.
3. Nothing came back, the uplink has its own profile again. NetworkManager is
   stopped and disabled, and the same topology is applied with persist: restore.
4. Without NetworkManager the restore unit brought it all back, identical and
   passing traffic, changed=false; state: absent removes every persisted file.
"""

import json
import pathlib
import time

import pytest

from netlab import ip_json, ping, run, snapshot

STATE = pathlib.Path('/root/kvmnet-reboot-proof')
UPLINK, LAN_PEER, TRUNK, TRUNK_PEER, MEMBER_A, MEMBER_B, BOND_PEER = range(7)
PEERS = {'kl-lan': LAN_PEER, 'kl-trunk': TRUNK_PEER, 'kl-bond': BOND_PEER}
HOST, GATEWAY, SECOND_VTEP = '192.0.2.10', '192.0.2.1', '192.0.2.3'
VLAN10_HOST, VLAN10_PEER = '198.51.100.1', '198.51.100.2'
VMNET_HOST, VMNET_PEER = '203.0.113.1', '203.0.113.2'
OUR_LINKS = ('br0', 'brvlan-10', 'brvlan-20', 'br-vm', 'bond0', 'vx100')
UNIT = 'kvmnet-hostnet-restore.service'


def mac(index):
    return '52:54:00:6b:00:%02x' % index


def nic(index):
    """The NIC with the harness's MAC for ``index`` (udev names it as Debian does).

    A bond member carries the bond's MAC: its permanent one says which NIC it is.
    """
    for link in ip_json(None, 'link', 'show'):
        if link.get('permaddr', link.get('address')) == mac(index):
            return link['ifname']
    raise AssertionError('no NIC with MAC %s: is KERNEL_LAB_NICS set by tests/kernel_lab/run?' % mac(index))


def topology(persist):
    trunk = nic(TRUNK)
    return [
        ('linux_bridge', dict(name='br0', stp=False, forward_delay=0, takeover_from=nic(UPLINK))),
        ('linux_bridge', dict(name='brvlan-10', stp=False, forward_delay=0,
                              addresses=[VLAN10_HOST + '/24'])),
        ('linux_bridge', dict(name='brvlan-20', stp=False, forward_delay=0)),
        ('linux_bridge', dict(name='br-vm', stp=False, forward_delay=0, addresses=[VMNET_HOST + '/24'])),
        ('vlan_sub', dict(name='vlan10', parent=trunk, vlan_id=10, bridge=dict(name='brvlan-10'))),
        ('vlan_sub', dict(name='vlan20', parent=trunk, vlan_id=20, bridge=dict(name='brvlan-20'))),
        ('bond_iface', dict(name='bond0', mode='active-backup', miimon=100,
                            ports=[nic(MEMBER_A), nic(MEMBER_B)], bridge=dict(name='br-vm'))),
        ('vxlan_vtep', dict(name='vx100', vni=100, dev='br0', local=HOST,
                            remotes=[GATEWAY, SECOND_VTEP], bridge=dict(name='br-vm', isolated=True))),
        ('kvm_vm_nic', dict(vm='web1', bridge='br-vm')),
    ]


def apply(play, persist, state='present'):
    items = topology(persist)
    results = []
    for module, args in (items if state == 'present' else reversed(items)):
        args = dict(args, persist=persist, state=state)
        if state == 'absent':
            args = dict((key, value) for key, value in args.items()
                        if key in ('name', 'vm', 'persist', 'state', 'parent', 'vlan_id'))
        result = play.one('kvmnet.hostnet.' + module, **args)
        assert not result.get('failed'), (module, result.get('msg'), result.get('problems'))
        results.append((module, args.get('name', args.get('vm')), result))
    return results


def unchanged(results):
    return [(module, name, result['plan']) for module, name, result in results if result['changed']]


def topology_snapshot():
    """What must survive a reboot: links, addresses, routes, bridge ports, static FDB."""
    # Learned and the kernel's own (port MAC) entries follow traffic and port order;
    # static ones and the VTEP's replication list are configuration.
    fdb = [entry for entry in ip_json(None, 'bridge', 'fdb', 'show')
           if entry.get('dst') or entry.get('state') == 'static']
    state = snapshot(None)
    # `ip -j route`: the main table (the local table follows addresses by itself).
    state['routes'] = ip_json(None, 'route', 'show')
    state['bridge_ports'] = ip_json(None, 'bridge', 'link', 'show')
    state['fdb'] = sorted(fdb, key=json.dumps)
    return state


def differences(before, after, path=''):
    if isinstance(before, dict) and isinstance(after, dict):
        return [d for key in sorted(set(before) | set(after), key=str)
                for d in differences(before.get(key), after.get(key), '%s/%s' % (path, key))]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for n, (b, a) in enumerate(zip(before, after))
                for d in differences(b, a, '%s[%d]' % (path, n))]
    return [] if before == after else ['%s: %r -> %r' % (path, before, after)]


# How NetworkManager installs the same address and routes: with a broadcast address,
# noprefixroute plus its own prefix route, and per-device route metrics. The lab runs
# without IPv6, so the IPv6 address generation mode NetworkManager picks is moot.
NETWORKMANAGER_STYLE = ('broadcast', 'noprefixroute', 'metric', 'inet6_addr_gen_mode')


def _without_style(value):
    if isinstance(value, dict):
        return dict((key, _without_style(item)) for key, item in value.items()
                    if key not in NETWORKMANAGER_STYLE)
    if isinstance(value, list):
        return [_without_style(item) for item in value]
    return value


def by_name(state):
    """Snapshot lists keyed by interface, so a different ifindex order is no difference."""
    keyed = _without_style(state)
    for name in ('links', 'addresses', 'bridge_ports'):
        keyed[name] = dict((entry['ifname'], dict(entry, ifindex=None)) for entry in keyed[name])
    for name in ('links', 'addresses'):
        for entry in keyed[name].values():
            entry.pop('link_index', None)
            entry.pop('master_index', None)
    return keyed


def save(name, state):
    STATE.mkdir(exist_ok=True)
    (STATE / name).write_text(json.dumps(state, indent=1, sort_keys=True))


def assert_same_as(name):
    before = json.loads((STATE / name).read_text())
    found = differences(by_name(before), by_name(topology_snapshot()))
    assert found == [], '\n'.join(found)


def wait_for_networkmanager(timeout=60):
    """Until NetworkManager runs and no device is still activating."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        devices = run(['nmcli', '-t', '-f', 'DEVICE,STATE', 'device'], check=False)
        if devices.returncode == 0 and 'connecting' not in devices.stdout:
            return
        time.sleep(0.5)
    raise AssertionError('NetworkManager still activating after %ss:\n%s' % (timeout, devices.stdout))


def unit_state():
    out = run(['systemctl', 'show', UNIT, '-p', 'ActiveState', '-p', 'Result', '-p', 'LoadState']).stdout
    return dict(line.split('=', 1) for line in out.split())


@pytest.fixture(scope='module', autouse=True)
def peers():
    """The LAN, the trunk's switch and the bond's switch: the other end of each hub.

    Namespaces do not survive a reboot; each boot moves the peer NICs in again.
    """
    names = dict((namespace, nic(index)) for namespace, index in PEERS.items())
    for namespace, device in names.items():
        run(['ip', 'netns', 'add', namespace])
        run(['ip', 'link', 'set', device, 'netns', namespace, 'name', 'eth0'])
        run(['ip', 'link', 'set', 'lo', 'up'], netns=namespace)
        run(['ip', 'link', 'set', 'eth0', 'up'], netns=namespace)
    run(['ip', 'address', 'add', GATEWAY + '/24', 'dev', 'eth0'], netns='kl-lan')
    run(['ip', 'address', 'add', SECOND_VTEP + '/24', 'dev', 'eth0'], netns='kl-lan')
    run(['ip', 'link', 'add', 'link', 'eth0', 'name', 'eth0.10', 'type', 'vlan', 'id', '10'],
        netns='kl-trunk')
    run(['ip', 'address', 'add', VLAN10_PEER + '/24', 'dev', 'eth0.10'], netns='kl-trunk')
    run(['ip', 'link', 'set', 'eth0.10', 'up'], netns='kl-trunk')
    run(['ip', 'address', 'add', VMNET_PEER + '/24', 'dev', 'eth0'], netns='kl-bond')
    yield
    for namespace in PEERS:
        run(['ip', 'netns', 'delete', namespace], check=False)


def assert_traffic():
    deadline = time.monotonic() + 20  # the bond's miimon and ports settling after boot
    targets = {'br0 to the LAN': GATEWAY, 'brvlan-10 over VLAN 10': VLAN10_PEER,
               'br-vm through bond0': VMNET_PEER}
    failing = dict(targets)
    while failing and time.monotonic() < deadline:
        failing = dict((what, address) for what, address in failing.items() if not ping(None, address))
    assert failing == {}


# ---- boot 1: NetworkManager host, persist: networkmanager ---------------------------

LAB_NM_CONF = '''# kernel lab: the peers' NICs are other hosts, not this one's.
[main]
no-auto-default=*

[keyfile]
unmanaged-devices=%s
'''
UPLINK_PROFILE = '''[connection]
id=uplink
uuid=5f0b6f4e-8d0c-4a55-9d39-4b1c0a5f0001
type=ethernet
interface-name=%s

[ipv4]
method=manual
address1=%s/24,%s

[ipv6]
method=ignore
'''


@pytest.mark.boot(1)
def test_boot1_uplink_configured_by_networkmanager():
    STATE.mkdir(exist_ok=True)
    pathlib.Path('/etc/sysctl.d/90-kernel-lab.conf').write_text(
        'net.ipv6.conf.all.disable_ipv6 = 1\nnet.ipv6.conf.default.disable_ipv6 = 1\n')
    run(['sysctl', '-q', '--system'])
    pathlib.Path('/etc/NetworkManager/conf.d/00-kernel-lab.conf').write_text(
        LAB_NM_CONF % ';'.join('mac:' + mac(index) for index in PEERS.values()))
    profile = pathlib.Path('/etc/NetworkManager/system-connections/uplink.nmconnection')
    profile.write_text(UPLINK_PROFILE % (nic(UPLINK), HOST, GATEWAY))
    profile.chmod(0o600)
    # The DHCP profiles NetworkManager made up at boot for every NIC (kept in /run over
    # a restart) would release a bond member when their DHCP times out.
    for generated in pathlib.Path('/run/NetworkManager/system-connections').glob('*'):
        generated.unlink()
    run(['systemctl', 'restart', 'NetworkManager'])
    wait_for_networkmanager()
    run(['nmcli', '-w', '30', 'connection', 'up', 'uplink'])
    addresses = ip_json(None, 'address', 'show', 'dev', nic(UPLINK))[0]['addr_info']
    assert [a['local'] for a in addresses if a['family'] == 'inet'] == [HOST]
    assert ping(None, GATEWAY)


@pytest.mark.boot(1)
def test_boot1_apply_with_networkmanager_persistence(play):
    first = apply(play, 'networkmanager')
    assert all(result['changed'] for _module, _name, result in first)
    assert unchanged(apply(play, 'networkmanager')) == []
    keyfiles = sorted(p.name for p in pathlib.Path('/etc/NetworkManager/system-connections').iterdir())
    assert 'uplink.nmconnection' not in keyfiles  # backed up: the NIC is br0's port now
    assert {'kvmnet-br0.nmconnection', 'kvmnet-%s.nmconnection' % nic(UPLINK),
            'kvmnet-bond0.nmconnection', 'kvmnet-vlan10.nmconnection'} <= set(keyfiles)
    assert run(['systemctl', 'is-enabled', UNIT]).stdout.strip() == 'enabled'
    assert_traffic()
    save('networkmanager.json', topology_snapshot())


# ---- boot 2: everything back from NetworkManager + the unit ---------------------------

@pytest.mark.boot(2)
def test_boot2_restore_unit_ran_after_networkmanager():
    assert unit_state() == {'ActiveState': 'active', 'Result': 'success', 'LoadState': 'loaded'}
    journal = run(['journalctl', '-b', '-u', UNIT, '-o', 'cat']).stdout
    assert 'kvmnet-hostnet: vxlan_vtep@vx100' in journal


@pytest.mark.boot(2)
def test_boot2_topology_identical_and_traffic_passes():
    assert_same_as('networkmanager.json')
    assert_traffic()


@pytest.mark.boot(2)
def test_boot2_modules_report_no_change(play):
    assert unchanged(apply(play, 'networkmanager')) == []


@pytest.mark.boot(2)
def test_boot2_networkmanager_restart_changes_nothing():
    run(['systemctl', 'restart', 'NetworkManager'])
    wait_for_networkmanager()
    time.sleep(2)
    assert_same_as('networkmanager.json')


@pytest.mark.boot(2)
def test_boot2_absent_removes_every_persisted_file(play):
    apply(play, 'networkmanager', state='absent')
    assert sorted(p.name for p in pathlib.Path('/etc/NetworkManager/system-connections').iterdir()) \
        == ['uplink.nmconnection']
    for gone in ('/etc/kvmnet-hostnet/links', '/etc/systemd/system/' + UNIT,
                 '/usr/local/libexec/kvmnet-hostnet/restore.pyz',
                 '/etc/NetworkManager/conf.d/90-kvmnet-hostnet.conf'):
        path = pathlib.Path(gone)
        assert not path.exists() or (path.is_dir() and not any(path.iterdir())), gone


# ---- boot 3: nothing came back; switch to persist: restore ----------------------------

@pytest.mark.boot(3)
def test_boot3_nothing_came_back():
    links = set(link['ifname'] for link in ip_json(None, 'link', 'show'))
    assert links & set(OUR_LINKS + ('vlan10', 'vlan20', 'web1-0')) == set()
    assert unit_state()['LoadState'] == 'not-found'
    addresses = ip_json(None, 'address', 'show', 'dev', nic(UPLINK))[0]['addr_info']
    assert [a['local'] for a in addresses if a['family'] == 'inet'] == [HOST]  # its own profile


@pytest.mark.boot(3)
def test_boot3_apply_with_restore_persistence_and_networkmanager_stopped(play):
    run(['systemctl', 'disable', '--now', 'NetworkManager'])
    assert apply(play, 'restore')
    assert unchanged(apply(play, 'restore')) == []
    assert not [p for p in pathlib.Path('/etc/NetworkManager/system-connections').iterdir()
                if p.name.startswith('kvmnet-')]
    assert_traffic()
    save('restore.json', topology_snapshot())


# ---- boot 4: the unit alone brought it back ---------------------------------------------

@pytest.mark.boot(4)
def test_boot4_restored_without_networkmanager(play):
    assert run(['pgrep', '-x', 'NetworkManager'], check=False).returncode == 1
    journal = run(['journalctl', '-b', '-u', UNIT, '-o', 'cat'], check=False).stdout
    assert unit_state() == {'ActiveState': 'active', 'Result': 'success', 'LoadState': 'loaded'}, journal
    assert_same_as('restore.json')
    assert_traffic()
    assert unchanged(apply(play, 'restore')) == []


@pytest.mark.boot(4)
def test_boot4_absent_removes_the_unit_and_records(play):
    apply(play, 'restore', state='absent')
    assert unit_state()['LoadState'] == 'not-found'
    assert not pathlib.Path('/usr/local/libexec/kvmnet-hostnet/restore.pyz').exists()
    assert not any(pathlib.Path('/etc/kvmnet-hostnet/links').iterdir())
