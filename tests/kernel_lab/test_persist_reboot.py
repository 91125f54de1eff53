"""Reboot proof: a hypervisor topology persisted, the guest rebooted on the same disk.

tests/kernel_lab/run boots this guest five times from one disk image, with systemd,
udev and NetworkManager started as Debian starts them and nothing run in between; the
boot(N) marker says in which boot a test runs, in file order. The topology is data
(tests/kernel_lab/topologies/seed001.yml, or the file KERNEL_LAB_TOPOLOGY names): the
guest's NICs and the peers on their wires, the host's own uplink profile,
host_network's arguments and the pings that must pass. Nothing below knows its links.

1. NetworkManager owns the uplink (a static profile). The topology is applied by
   host_network with persist: auto (NetworkManager runs: profiles plus records);
   a second run reports changed=false. Saved:
   `ip -d -j link`, `ip -j addr`, `ip -j route`, `bridge -j link`, static/HER
   `bridge -j fdb`.
2. The restore unit succeeded; the state is the saved one attribute by attribute;
   the pings pass; host_network reports changed=false; a NetworkManager restart
   changes nothing. Then host_network removes it all with state: absent: every
   persisted file is gone, NetworkManager forgot the profiles, and the uplink has its
   own profile and address back.
3. Nothing came back, the uplink has its own profile again. NetworkManager is stopped
   and disabled, and the single modules apply the topology with persist: restore;
   host_network with the same items changes nothing.
4. Without NetworkManager the restore unit alone brought it back: the same state,
   the pings, host_network reports changed=false. Then it removes it all with
   state: absent.
5. Nothing came back, and no unit is left.
"""

import json
import os
import pathlib
import re
import time

import pytest
import yaml

from netlab import ip_json, ping, run, snapshot

KERNEL_LAB = pathlib.Path(__file__).resolve().parent
TOPOLOGY_FILE = pathlib.Path(os.environ.get('KERNEL_LAB_TOPOLOGY') or KERNEL_LAB / 'topologies' / 'seed001.yml')
STATE = pathlib.Path('/root/kvmnet-reboot-proof')
UNIT = 'kvmnet-hostnet-restore.service'
KEYFILES = pathlib.Path('/etc/NetworkManager/system-connections')
PERSISTED = ('/etc/kvmnet-hostnet/links', '/etc/systemd/system/' + UNIT,
             '/usr/local/libexec/kvmnet-hostnet/restore.pyz',
             '/etc/NetworkManager/conf.d/90-kvmnet-hostnet.conf')
# host_network's sections in build order, with the module each item is an item of.
SECTIONS = (('bonds', 'bond_iface'), ('teams', 'team_iface'), ('vlans', 'vlan_sub'),
            ('bridges', 'linux_bridge'), ('vxlans', 'vxlan_vtep'), ('veths', 'veth_pair'),
            ('macvlans', 'macvlan_iface'), ('vm_nics', 'kvm_vm_nic'))
# Sections whose links become NetworkManager profiles (VM NICs never do; veths have no renderer).
PROFILED = ('bonds', 'teams', 'vlans', 'bridges', 'vxlans', 'macvlans')
# What names an item when it is removed.
IDENTITY = ('name', 'vm', 'parent', 'vlan_id')


def load_topology():
    return yaml.safe_load(TOPOLOGY_FILE.read_text())


TOPOLOGY = load_topology()


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


def expand(value, names):
    """``value`` with every "{nicN}" replaced by NIC N's name."""
    if isinstance(value, dict):
        return dict((key, expand(item, names)) for key, item in value.items())
    if isinstance(value, list):
        return [expand(item, names) for item in value]
    if isinstance(value, str):
        return re.sub(r'\{nic(\d+)\}', lambda match: names(int(match.group(1))), value)
    return value


def host_items(state='present'):
    """host_network's sections of the topology, with NIC names; for absent, only what
    names each item."""
    sections = expand(TOPOLOGY['host'], nic)
    if state == 'absent':
        sections = dict((section, [dict((key, value) for key, value in item.items() if key in IDENTITY)
                                   for item in items]) for section, items in sections.items())
    return dict((section, [dict(item, state=state) for item in sections.get(section) or []])
                for section, _module in SECTIONS if sections.get(section))


def apply_host_network(play, persist, state='present'):
    result = play.one('kvmnet.hostnet.host_network', persist=persist, **host_items(state))
    assert not result.get('failed'), (result.get('msg'), result.get('problems'))
    return [('host_network', item['section'] + ' ' + item['name'], item) for item in result['items']] \
        + ([('host_network', 'persisted files', dict(changed=True, plan=result['plan']))]
           if result['changed'] and not any(item['changed'] for item in result['items']) else [])


def apply_modules(play, persist, state='present'):
    """The same items through their single modules, section by section (in reverse to remove)."""
    sections = host_items(state)
    order = SECTIONS if state == 'present' else tuple(reversed(SECTIONS))
    results = []
    for section, module in order:
        for args in sections.get(section, []):
            result = play.one('kvmnet.hostnet.' + module, persist=persist, **args)
            assert not result.get('failed'), (module, args, result.get('msg'), result.get('problems'))
            results.append((module, args.get('name', args.get('vm')), result))
    return results


def changes(results):
    return [(module, name, result['plan']) for module, name, result in results if result['changed']]


def our_links(results):
    return sorted(set(result['interface']['name'] for _module, _name, result in results
                      if (result.get('interface') or {}).get('name')))


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
    """Snapshot lists keyed by interface, so a different ifindex order is no difference.

    The loopback is the guest's, not the topology's: whether it holds ::1 depends on
    when the lab's sysctl turned IPv6 off during the boot.
    """
    keyed = _without_style(state)
    for name in ('links', 'addresses', 'bridge_ports'):
        keyed[name] = dict((entry['ifname'], dict(entry, ifindex=None)) for entry in keyed[name]
                           if entry['ifname'] != 'lo')
    for name in ('links', 'addresses'):
        for entry in keyed[name].values():
            entry.pop('link_index', None)
            entry.pop('master_index', None)
    return keyed


def save(name, value):
    STATE.mkdir(exist_ok=True)
    (STATE / name).write_text(json.dumps(value, indent=1, sort_keys=True))


def saved(name):
    return json.loads((STATE / name).read_text())


def assert_same_as(name):
    found = differences(by_name(saved(name)), by_name(topology_snapshot()))
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


def peers():
    return [(index, spec) for index, spec in enumerate(TOPOLOGY['nics']) if spec.get('peer')]


@pytest.fixture(scope='module', autouse=True)
def peer_hosts():
    """The hosts at the other end of the wires, each NIC in its own namespace.

    Namespaces do not survive a reboot; each boot moves the peer NICs in again.
    """
    moved = [(index, spec, 'kl-' + spec['peer'], nic(index)) for index, spec in peers()]
    for _index, spec, namespace, device in moved:
        run(['ip', 'netns', 'add', namespace])
        run(['ip', 'link', 'set', device, 'netns', namespace, 'name', 'eth0'])
        run(['ip', 'link', 'set', 'lo', 'up'], netns=namespace)
        run(['ip', 'link', 'set', 'eth0', 'up'], netns=namespace)
        for address in spec.get('addresses') or []:
            run(['ip', 'address', 'add', address, 'dev', 'eth0'], netns=namespace)
        for vlan_id, addresses in (spec.get('vlans') or {}).items():
            name = 'eth0.%s' % vlan_id
            run(['ip', 'link', 'add', 'link', 'eth0', 'name', name, 'type', 'vlan', 'id', str(vlan_id)],
                netns=namespace)
            for address in addresses:
                run(['ip', 'address', 'add', address, 'dev', name], netns=namespace)
            run(['ip', 'link', 'set', name, 'up'], netns=namespace)
    yield
    for _index, _spec, namespace, _device in moved:
        run(['ip', 'netns', 'delete', namespace], check=False)


def assert_traffic():
    deadline = time.monotonic() + 20  # a bond's miimon and ports settling after boot
    failing = dict(TOPOLOGY.get('pings') or {})
    while failing and time.monotonic() < deadline:
        failing = dict((what, address) for what, address in failing.items() if not ping(None, address))
    assert failing == {}


def assert_nothing_persisted():
    for gone in PERSISTED:
        path = pathlib.Path(gone)
        assert not path.exists() or (path.is_dir() and not any(path.iterdir())), gone
    assert [p.name for p in KEYFILES.iterdir() if p.name.startswith('kvmnet-')] == []


def assert_nothing_came_back(name):
    links = set(link['ifname'] for link in ip_json(None, 'link', 'show'))
    assert links & set(saved(name)) == set()
    assert unit_state()['LoadState'] == 'not-found'
    assert_nothing_persisted()


def assert_restored_by_the_unit(name):
    journal = run(['journalctl', '-b', '-u', UNIT, '-o', 'cat'], check=False).stdout
    assert unit_state() == {'ActiveState': 'active', 'Result': 'success', 'LoadState': 'loaded'}, journal
    assert_same_as(name + '.json')
    assert_traffic()


# ---- boot 1: NetworkManager host, persist: auto through host_network ----------------

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
address1=%s,%s
%s
[ipv6]
method=ignore
'''


def uplink_address():
    uplink = TOPOLOGY.get('uplink')
    if not uplink:
        return None
    found = ip_json(None, 'address', 'show', 'dev', nic(uplink['nic']))[0]['addr_info']
    return [a['local'] + '/%d' % a['prefixlen'] for a in found if a['family'] == 'inet']


@pytest.mark.boot(1)
def test_boot1_host_configured_by_networkmanager():
    STATE.mkdir(exist_ok=True)
    pathlib.Path('/etc/sysctl.d/90-kernel-lab.conf').write_text(
        'net.ipv6.conf.all.disable_ipv6 = 1\nnet.ipv6.conf.default.disable_ipv6 = 1\n')
    run(['sysctl', '-q', '--system'])
    pathlib.Path('/etc/NetworkManager/conf.d/00-kernel-lab.conf').write_text(
        LAB_NM_CONF % ';'.join('mac:' + mac(index) for index, _spec in peers()))
    uplink = TOPOLOGY.get('uplink')
    if uplink:
        profile = KEYFILES / 'uplink.nmconnection'
        routes = ''.join('route%d=%s\n' % (number, route)
                         for number, route in enumerate(uplink.get('routes', []), 1))
        profile.write_text(UPLINK_PROFILE % (nic(uplink['nic']), uplink['address'], uplink['gateway'], routes))
        profile.chmod(0o600)
    # The DHCP profiles NetworkManager made up at boot for every NIC (kept in /run over
    # a restart) would release a bond member when their DHCP times out.
    for generated in pathlib.Path('/run/NetworkManager/system-connections').glob('*'):
        generated.unlink()
    run(['systemctl', 'restart', 'NetworkManager'])
    wait_for_networkmanager()
    if uplink:
        run(['nmcli', '-w', '30', 'connection', 'up', 'uplink'])
        assert uplink_address() == [uplink['address']]
        assert ping(None, uplink['gateway'])


def link_indexes():
    return dict((link['ifname'], (link['ifindex'], 'UP' in link['flags'])) for link in ip_json(None, 'link', 'show'))


def networkmanager_profiles():
    out = run(['nmcli', '-t', '-f', 'NAME', 'connection', 'show']).stdout
    return sorted(name for name in out.split() if name.startswith('kvmnet-'))


@pytest.mark.boot(1)
def test_boot1_apply_with_persistence_through_host_network(play):
    first = apply_host_network(play, 'auto')
    assert changes(first)
    # NetworkManager was told about the new profiles and tore down none of the links.
    links = link_indexes()
    assert networkmanager_profiles() == sorted(p.name[:-len('.nmconnection')] for p in KEYFILES.iterdir()
                                               if p.name.startswith('kvmnet-'))
    time.sleep(5)
    assert link_indexes() == links
    assert changes(apply_host_network(play, 'auto')) == []
    profiles = set(p.name for p in KEYFILES.iterdir())
    items = host_items()
    assert set('kvmnet-%s.nmconnection' % item['name'] for section in PROFILED
               for item in items.get(section, [])) <= profiles
    records = set(p.name for p in pathlib.Path(PERSISTED[0]).iterdir())
    assert len(records) == sum(len(section) for section in items.values())
    assert_traffic()
    save('networkmanager.json', topology_snapshot())
    names = our_links(first)
    assert len(names) == len(records)  # each item's link, named as its module returns it
    save('networkmanager-links.json', names)


# ---- boot 2: NetworkManager and the unit brought it back --------------------------------

@pytest.mark.boot(2)
def test_boot2_topology_identical_and_traffic_passes():
    assert_restored_by_the_unit('networkmanager')


@pytest.mark.boot(2)
def test_boot2_host_network_reports_no_change(play):
    assert changes(apply_host_network(play, 'auto')) == []


@pytest.mark.boot(2)
def test_boot2_networkmanager_restart_changes_nothing():
    run(['systemctl', 'restart', 'NetworkManager'])
    wait_for_networkmanager()
    time.sleep(2)
    assert_same_as('networkmanager.json')
    assert_traffic()


@pytest.mark.boot(2)
def test_boot2_absent_removes_every_persisted_file(play):
    apply_host_network(play, 'auto', state='absent')
    assert_nothing_persisted()
    assert networkmanager_profiles() == []  # told: the profiles are gone from NetworkManager too
    uplink = TOPOLOGY.get('uplink')
    if uplink:
        assert sorted(p.name for p in KEYFILES.iterdir()) == ['uplink.nmconnection']
        # The uplink's own profile is back, and NetworkManager knows it: its address returns.
        deadline = time.monotonic() + 30
        while uplink_address() != [uplink['address']] and time.monotonic() < deadline:
            time.sleep(1)
        assert uplink_address() == [uplink['address']]


# ---- boot 3: nothing came back; persist: restore without NetworkManager ---------------

@pytest.mark.boot(3)
def test_boot3_nothing_came_back():
    assert_nothing_came_back('networkmanager-links.json')
    uplink = TOPOLOGY.get('uplink')
    if uplink:
        assert uplink_address() == [uplink['address']]  # its own profile again


@pytest.mark.boot(3)
def test_boot3_apply_with_restore_and_networkmanager_stopped(play):
    run(['systemctl', 'disable', '--now', 'NetworkManager'])
    first = apply_modules(play, 'restore')
    assert changes(first)
    # The next run, through host_network: the same records, nothing to change.
    assert changes(apply_host_network(play, 'restore')) == []
    assert [p.name for p in KEYFILES.iterdir() if p.name.startswith('kvmnet-')] == []
    assert_traffic()
    save('restore.json', topology_snapshot())
    names = our_links(first)
    assert len(names) == sum(len(section) for section in host_items().values())
    save('restore-links.json', names)


# ---- boot 4: the unit alone brought it back -----------------------------------------------

@pytest.mark.boot(4)
def test_boot4_restored_without_networkmanager():
    assert run(['pgrep', '-x', 'NetworkManager'], check=False).returncode == 1
    assert_restored_by_the_unit('restore')


@pytest.mark.boot(4)
def test_boot4_host_network_reports_no_change(play):
    assert changes(apply_host_network(play, 'restore')) == []


@pytest.mark.boot(4)
def test_boot4_absent_removes_every_persisted_file(play):
    apply_host_network(play, 'restore', state='absent')
    assert_nothing_persisted()


# ---- boot 5: nothing came back -------------------------------------------------------------

@pytest.mark.boot(5)
def test_boot5_nothing_came_back():
    assert_nothing_came_back('restore-links.json')
