"""kvmnet.hostnet.diagnose and host_network_info with bonds, teams and VLANs (kernel lab).

Seed 000's network from test_team_iface: VM -- [brh] -- team/bond (a1, a2) == switch
that does not aggregate -- gateway. Each fault is provoked, found with its subject,
its own fix applied, and the finding and the lost packet are gone.
"""

import time

from netlab import ping, run, snapshot
from test_bond_iface import assert_unchanged, ping_within
from test_team_iface import GW_IP, fdb_port_of, lab, team_name, team_task

DIAGNOSE = 'kvmnet.hostnet.diagnose'
INFO = 'kvmnet.hostnet.host_network_info'
STAGE_MODULES = (('bonds', 'bond_iface'), ('teams', 'team_iface'), ('vlans', 'vlan_sub'),
                 ('bridges', 'linux_bridge'), ('vxlans', 'vxlan_vtep'),
                 ('macvlans', 'macvlan_iface'), ('vm_nics', 'kvm_vm_nic'))


def diagnose(play, host, vm_mac):
    result = play.one(DIAGNOSE, netns=host, expect=dict(vm_ports=['vmp'], vm_macs={vm_mac: 'vmp'}))
    assert not result.get('failed') and result['changed'] is False, result
    return result['findings']


def the(findings, finding_id, subject):
    matching = [f for f in findings if f['id'] == finding_id and f['subject'] == subject]
    assert len(matching) == 1, (finding_id, subject, [(f['id'], f['subject']) for f in findings])
    return matching[0]


def apply_fix(play, host, fix):
    if 'module' in fix:
        result = play.one(fix['module'], **fix['args'])
        assert not result.get('failed'), result
    for argv in fix.get('commands', []):
        run(argv, netns=host)


def test_seed_000_team_roundrobin_found_and_fixed(play, netns):
    host, _switch, vm, _gw, vm_mac = lab(netns)
    team = team_name()
    result = play.one('kvmnet.hostnet.team_iface', **team_task(host, team, 'roundrobin',
                                                               switch_configured=True,
                                                               link_watch={'name': 'ethtool'})[
        'kvmnet.hostnet.team_iface'])
    assert not result.get('failed'), result
    assert not ping(vm, GW_IP, count=3)
    assert fdb_port_of(host, vm_mac) == team
    findings = diagnose(play, host, vm_mac)
    flooding = the(findings, 'aggregation-flooding-mode', team)
    learned = the(findings, 'vm-mac-on-uplink', team)
    assert learned['evidence']['mac'] == vm_mac and learned['evidence']['vm_port'] == 'vmp'
    assert learned['fix'] == flooding['fix']
    assert learned['fix']['args']['runner'] == 'activebackup'
    assert learned['fix']['args']['link_watch'] == {'name': 'ethtool'}
    apply_fix(play, host, learned['fix'])
    assert ping_within(vm, GW_IP, 10)
    assert fdb_port_of(host, vm_mac) == 'vmp'
    assert diagnose(play, host, vm_mac) == []

    # One of the two members down: still carrying, no redundancy left.
    run(['ip', 'link', 'set', 'a2', 'down'], netns=host)
    found = the(diagnose(play, host, vm_mac), 'aggregation-degraded', team)
    assert found['evidence']['members'] == {'a1': 'up', 'a2': 'admin down'}
    assert ping_within(vm, GW_IP, 10)  # teamd fails over if a2 was the active port
    apply_fix(play, host, found['fix'])
    assert diagnose(play, host, vm_mac) == []


def test_bond_flooding_mode_then_members_down(play, netns):
    host, _switch, vm, _gw, vm_mac = lab(netns)
    bond = dict(name='bond0', netns=host, mode='balance-rr', miimon=100, ports=['a1', 'a2'],
                bridge={'name': 'brh'}, switch_configured=True)
    result = play.one('kvmnet.hostnet.bond_iface', **bond)
    assert not result.get('failed'), result
    found = the(diagnose(play, host, vm_mac), 'aggregation-flooding-mode', 'bond0')
    apply_fix(play, host, found['fix'])
    assert ping_within(vm, GW_IP, 10)
    assert diagnose(play, host, vm_mac) == []

    run(['ip', 'link', 'set', 'a2', 'down'], netns=host)
    time.sleep(0.3)  # miimon
    found = the(diagnose(play, host, vm_mac), 'aggregation-degraded', 'bond0')
    assert found['evidence']['members'] == {'a1': 'up', 'a2': 'admin down'}
    assert ping(vm, GW_IP, count=1)  # degraded, still carrying
    run(['ip', 'link', 'set', 'a1', 'down'], netns=host)
    time.sleep(0.3)
    found = the(diagnose(play, host, vm_mac), 'aggregation-members-down', 'bond0')
    assert not ping(vm, GW_IP, count=1, timeout=1)
    apply_fix(play, host, found['fix'])
    assert ping_within(vm, GW_IP, 10)
    assert diagnose(play, host, vm_mac) == []


def test_vlan_bond_team_read_back_reapply_unchanged(play, netns):
    host, _switch, _vm, _gw, _vm_mac = lab(netns)
    team = team_name()
    run(['ip', 'link', 'add', 'b1', 'type', 'veth', 'peer', 'name', 'b1p'], netns=host)
    run(['ip', 'link', 'add', 't1', 'type', 'veth', 'peer', 'name', 't1p'], netns=host)
    for task in (dict(name='bond1', netns=host, mode='active-backup', miimon=100, primary='a1',
                      ports=['a1', 'a2'], bridge={'name': 'brh'}),
                 dict(name=team, netns=host, runner='activebackup', link_watch={'name': 'ethtool'},
                      ports=[{'name': 't1', 'prio': 5}])):
        module = 'kvmnet.hostnet.bond_iface' if task['name'] == 'bond1' else 'kvmnet.hostnet.team_iface'
        result = play.one(module, **task)
        assert not result.get('failed'), result
    run(['ip', 'link', 'add', 'link', 'b1', 'name', 'b1.10', 'type', 'vlan', 'id', '10', 'gvrp', 'on',
         'egress-qos-map', '2:5'], netns=host)
    run(['ip', 'link', 'add', 'link', 'bond1', 'name', 'bond1.20', 'type', 'vlan', 'id', '20'],
        netns=host)
    info = play.one(INFO, netns=host)
    assert not info.get('failed'), info
    role_vars = info['role_vars']
    bond, = role_vars['hypervisor_network_bonds']
    assert (bond['mode'], bond['miimon'], bond['primary'], bond['ports']) == (
        'active-backup', 100, 'a1', ['a1', 'a2'])
    adopted_team, = role_vars['hypervisor_network_teams']
    assert adopted_team['ports'] == [{'name': 't1', 'prio': 5}]
    vlans = dict((item['name'], item) for item in role_vars['hypervisor_network_vlans'])
    assert vlans['b1.10']['gvrp'] is True and vlans['b1.10']['egress_qos_map'] == {'2': 5}
    assert vlans['bond1.20']['parent'] == 'bond1'
    brh = [b for b in role_vars['hypervisor_network_bridges'] if b['name'] == 'brh'][0]
    assert {'name': 'bond1'} in brh['ports']

    before = snapshot(host)
    for stage, module in STAGE_MODULES:
        for item in role_vars['hypervisor_network_' + stage]:
            result = play.one('kvmnet.hostnet.' + module, **dict(item, netns=host))
            assert not result.get('failed') and result['changed'] is False, (item, result)
    assert_unchanged(host, before)

    # The whole topology in one host_network call: the adopted host re-applies unchanged.
    sections = dict((key[len('hypervisor_network_'):], items) for key, items in role_vars.items())
    first = play.one('kvmnet.hostnet.host_network', netns=host, **sections)
    assert not first.get('failed') and first['changed'] is False, first.get('plan', first)
    assert_unchanged(host, before)
