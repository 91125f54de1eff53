"""The seed-000 finding (a VM's MAC learned on the uplink) from FDB entries."""

from types import SimpleNamespace

from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose import bridge


class Host:
    def __init__(self, ports, fdb):
        self.ports = ports
        self.fdb = fdb
        self.by_name = dict((port.name, port) for port in ports)
        self.teamd = {}

    def ports_of(self, _bridge):
        return self.ports

    def veth_peer_macs(self):
        return []


def link(name, index, kind, mac):
    return SimpleNamespace(name=name, index=index, kind=kind, mac=mac, data={})


def test_a_vm_mac_learned_twice_on_one_uplink_is_one_finding():
    br = link('br0', 10, 'bridge', '02:00:00:00:00:10')
    uplink = link('eth0', 2, 'team', '02:00:00:00:00:02')
    tap = link('vnet0', 3, 'tun', 'fe:54:00:12:34:56')
    vm_mac = '52:54:00:12:34:56'
    entry = dict(ifindex=2, mac=vm_mac, master=10, state=0, flags=0, vlan=None)
    # A dump may list one entry twice: once per VLAN, or again when the table changed.
    host = Host([uplink, tap], [entry, dict(entry, vlan=1), entry])
    found = bridge._vm_macs_on_uplinks(host, br, {})
    assert [(f['id'], f['subject']) for f in found] == [('vm-mac-on-uplink', 'eth0')]
    assert found[0]['evidence']['vm_port'] == 'vnet0'
    # Learned where it belongs: nothing to report.
    host = Host([uplink, tap], [dict(entry, ifindex=3)])
    assert bridge._vm_macs_on_uplinks(host, br, {}) == []
