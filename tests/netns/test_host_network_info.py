"""kvmnet.hostnet.host_network_info: a host built by hand (ip, bridge) read back as the
hypervisor_network role's variables; applying them with the modules the role calls
(and with host_network when it is there) plans nothing, for every link kind this
kernel has (vlan, bond and team: tests/kernel_lab/test_diagnose_aggregation.py).
"""

import importlib

import pytest

from inprocess import run_module
from netlab import run, snapshot, veth

INFO = 'kvmnet.hostnet.host_network_info'
# The role's stages and the module each one calls (roles/hypervisor_network/tasks).
STAGE_MODULES = (('bonds', 'bond_iface'), ('teams', 'team_iface'), ('vlans', 'vlan_sub'),
                 ('bridges', 'linux_bridge'), ('vxlans', 'vxlan_vtep'),
                 ('macvlans', 'macvlan_iface'), ('vm_nics', 'kvm_vm_nic'))
ZERO = '00:00:00:00:00:00'


def read_back(ns):
    result = run_module(INFO, dict(netns=ns))
    assert not result.get('failed') and result['changed'] is False, result
    return result


def apply_items(ns, role_vars, check_mode=False):
    """Each item through its module, as the role's tasks pass them; every result."""
    results = []
    for stage, module in STAGE_MODULES:
        for item in role_vars['hypervisor_network_' + stage]:
            result = run_module('kvmnet.hostnet.' + module, dict(item, netns=ns),
                                check_mode=check_mode)
            assert not result.get('failed'), (stage, item, result)
            results.append((module, item.get('name') or item.get('vm'), result))
    return results


def host_network_module():
    try:
        return importlib.import_module(
            'ansible_collections.kvmnet.hostnet.plugins.modules.host_network')
    except ImportError:
        return None


def build_brownfield(netns):
    """What an operator built by hand: an uplink bridge with the host's address and default
    route, a VXLAN on it with peers and a static FDB entry, a private macvlan, a VM tap
    named as kvm_vm_nic names it, and what the collection must leave alone."""
    hv = netns('dgadopt')
    lan = netns('dglan')
    veth(hv, 'up0', lan, 'eth0')
    veth(hv, 'lan1', lan, 'eth1')
    commands = [
        ['ip', 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0',
         'ageing_time', '6000'],
        ['ip', 'link', 'set', 'up0', 'master', 'br0'],
        ['bridge', 'link', 'set', 'dev', 'up0', 'learning', 'off'],
        ['ip', 'link', 'set', 'br0', 'up'],
        ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'br0'],
        ['ip', 'route', 'add', 'default', 'via', '192.0.2.254'],
        ['ip', 'link', 'add', 'brvx', 'type', 'bridge', 'stp_state', '1', 'forward_delay', '400'],
        ['ip', 'link', 'set', 'brvx', 'up'],
        ['ip', 'link', 'add', 'vx42', 'type', 'vxlan', 'id', '42', 'dstport', '8472',
         'local', '192.0.2.1', 'dev', 'br0', 'nolearning'],
        ['ip', 'link', 'set', 'vx42', 'master', 'brvx'],
        ['bridge', 'link', 'set', 'dev', 'vx42', 'isolated', 'on'],
        ['ip', 'link', 'set', 'vx42', 'up'],
        ['bridge', 'fdb', 'append', ZERO, 'dev', 'vx42', 'dst', '192.0.2.2'],
        ['bridge', 'fdb', 'append', ZERO, 'dev', 'vx42', 'dst', '192.0.2.3'],
        ['bridge', 'fdb', 'append', '52:54:00:aa:00:02', 'dev', 'vx42', 'dst', '192.0.2.2'],
        ['ip', 'link', 'add', 'mv0', 'link', 'lan1', 'type', 'macvlan', 'mode', 'private'],
        ['ip', 'link', 'set', 'mv0', 'up'],
        ['ip', 'tuntap', 'add', 'dev', 'web01-0', 'mode', 'tap', 'vnet_hdr'],
        ['ip', 'link', 'set', 'web01-0', 'address', 'fe:54:00:12:34:56'],
        ['ip', 'link', 'set', 'web01-0', 'master', 'brvx'],
        ['ip', 'link', 'set', 'web01-0', 'up'],
        ['ip', 'tuntap', 'add', 'dev', 'vnet0', 'mode', 'tap'],
        ['ip', 'link', 'set', 'vnet0', 'master', 'brvx'],
        ['ip', 'link', 'add', 'docker0', 'type', 'bridge'],
    ]
    for argv in commands:
        run(argv, netns=hv)
    return hv


def test_a_hand_built_host_reads_back_and_reapplies_unchanged(netns):
    hv = build_brownfield(netns)
    result = read_back(hv)
    role_vars = result['role_vars']
    bridges = dict((item['name'], item) for item in role_vars['hypervisor_network_bridges'])
    assert sorted(bridges) == ['br0', 'brvx']
    assert bridges['br0']['ports'] == [{'name': 'up0', 'learning': False}]
    assert bridges['br0']['addresses'] == ['192.0.2.1/24']
    assert bridges['br0']['gateway'] == '192.0.2.254'
    assert bridges['br0']['ageing_time'] == 60
    assert bridges['brvx']['stp'] is True and bridges['brvx']['forward_delay'] == 4
    assert 'ports' not in bridges['brvx']  # the VXLAN and the tap name their bridge
    vxlan, = role_vars['hypervisor_network_vxlans']
    assert vxlan['dstport'] == 8472 and vxlan['dev'] == 'br0' and vxlan['learning'] is False
    assert vxlan['remotes'] == ['192.0.2.2', '192.0.2.3']
    assert vxlan['fdb'] == [{'mac': '52:54:00:aa:00:02', 'dst': '192.0.2.2'}]
    # STP is on for brvx: the port cost matters there, so it is kept.
    assert vxlan['bridge'] == {'name': 'brvx', 'isolated': True, 'cost': 2}
    macvlan, = role_vars['hypervisor_network_macvlans']
    assert (macvlan['name'], macvlan['parent'], macvlan['mode']) == ('mv0', 'lan1', 'private')
    nic, = role_vars['hypervisor_network_vm_nics']
    wanted = ('web01', 0, 'brvx', '52:54:00:12:34:56')
    assert (nic['vm'], nic['index'], nic['bridge'], nic['mac']) == wanted
    left_out = dict((entry['name'], entry['why']) for entry in result['left_out'])
    assert 'libvirt' in left_out['vnet0'] and 'Docker' in left_out['docker0']
    assert 'up0' in left_out and 'br0' not in left_out

    before = snapshot(hv)
    for check_mode in (True, False):
        for module, name, outcome in apply_items(hv, role_vars, check_mode):
            assert outcome['changed'] is False, (module, name, outcome.get('plan'))
    assert snapshot(hv) == before
    assert read_back(hv)['role_vars'] == role_vars


def test_reapplied_through_host_network(netns):
    code = host_network_module()
    if code is None:
        pytest.fail('kvmnet.hostnet.host_network is not in this checkout')
    hv = build_brownfield(netns)
    role_vars = read_back(hv)['role_vars']
    args = dict((key[len('hypervisor_network_'):], value) for key, value in role_vars.items())
    before = without_aliases(snapshot(hv))
    first = run_module('kvmnet.hostnet.host_network', dict(args, netns=hv))
    assert not first.get('failed') and first['changed'] is False, first.get('plan', first)
    after_first = snapshot(hv)
    assert not any(entry.get('ifalias') for entry in after_first['links']), after_first['links']
    assert without_aliases(after_first) == before
    # Claiming the links for purge marks them (their interface alias), once.
    claimed = run_module('kvmnet.hostnet.host_network', dict(args, netns=hv, purge=['bridges']))
    assert not claimed.get('failed'), claimed
    assert claimed['plan'] and all(step.startswith('mark ') for step in claimed['plan'])
    again = run_module('kvmnet.hostnet.host_network', dict(args, netns=hv, purge=['bridges']))
    assert not again.get('failed') and again['changed'] is False, again.get('plan', again)
    assert without_aliases(snapshot(hv)) == before


def without_aliases(view):
    for entry in view['links'] + view['addresses']:
        entry.pop('ifalias', None)
    return view


def test_adopt_playbook_writes_host_vars(netns, ansible_env, tmp_path):
    import json
    import os
    import subprocess
    import sys

    import yaml

    hv = build_brownfield(netns)
    inventory = tmp_path / 'hosts.json'
    inventory.write_text(json.dumps({'hypervisors': {'hosts': {'hv-adopt': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
        'adopt_netns': hv}}}}))
    playbook = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                            'playbooks', 'adopt.yml')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                           '-i', str(inventory), playbook, '-e', 'adopt_dir=%s' % tmp_path],
                          env=ansible_env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    written = (tmp_path / 'host_vars' / 'hv-adopt.yml').read_text()
    assert '#   vnet0 (tun): libvirt' in written
    assert yaml.safe_load(written) == read_back(hv)['role_vars']
