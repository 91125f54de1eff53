"""Regression tests for the failures found trying 0.1.0: one per defect, as reproduced.

The modules run in this process (inprocess.py): the same module code and arguments
as under ansible-playbook, at a fraction of the cost. The inventory-wide MAC check
of the role runs through ansible-playbook, as it only exists there.
"""

import json
import os
import subprocess

from faults import FaultInjector, namespace_state
from inprocess import run_module
from netlab import ip_json, link, run

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import lock as lock_module
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import session as session_module

ROLLED_BACK = 'every change of this run was rolled back'


def module(module_name, ns, **args):
    return run_module('kvmnet.hostnet.' + module_name, dict(args, netns=ns))


def ok(result):
    assert not result.get('failed'), result.get('msg')
    return result


def underlay(ns, address='192.0.2.1'):
    run(['ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0x'], netns=ns)
    run(['ip', 'addr', 'add', address + '/24', 'dev', 'u0'], netns=ns)
    run(['ip', 'link', 'set', 'u0', 'up'], netns=ns)


def with_ipv6(ns):
    for key in ('all', 'default', 'lo'):
        run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=0' % key], netns=ns)
        run(['sysctl', '-qw', 'net.ipv6.conf.%s.accept_dad=0' % key], netns=ns)


def addresses_of(ns, name):
    return [a['local'] + '/' + str(a['prefixlen'])
            for a in ip_json(ns, 'address', 'show', 'dev', name)[0]['addr_info']]


# ---- 1. a failed recreate brings the old link back, and says so only when true ----------
def test_failed_vxlan_recreate_restores_the_old_link_exactly(netns):
    ns = netns('d1')
    underlay(ns)
    run(['ip', 'link', 'add', 'brvx', 'type', 'bridge'], netns=ns)
    ok(module('vxlan_vtep', ns, name='vx43', vni=43, local='192.0.2.1', dev='u0'))
    ok(module('vxlan_vtep', ns, name='vx42', vni=42, local='192.0.2.1', dev='u0',
              remotes=['192.0.2.2'], bridge=dict(name='brvx', cost=5)))
    run(['ip', 'addr', 'add', '10.9.0.1/24', 'dev', 'vx42'], netns=ns)
    before = namespace_state(ns)

    result = module('vxlan_vtep', ns, name='vx42', vni=43, local='192.0.2.1', dev='u0',
                    remotes=['192.0.2.2'], bridge=dict(name='brvx'))
    assert result['failed']
    assert 'creating vxlan vx42' in result['msg'] and ROLLED_BACK in result['msg']
    assert namespace_state(ns) == before


def test_failed_macvlan_recreate_restores_the_old_link_exactly(netns):
    ns = netns('d1')
    run(['ip', 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'nic0x'], netns=ns)
    run(['ip', 'link', 'set', 'nic0', 'up'], netns=ns)
    ok(module('macvlan_iface', ns, name='mv3', parent='nic0', mtu=1400))
    run(['ip', 'addr', 'add', '10.8.0.3/24', 'dev', 'mv3'], netns=ns)
    before = namespace_state(ns)

    result = module('macvlan_iface', ns, name='mv3', parent='lo')
    assert result['failed'] and 'mv3' in result['msg'] and ROLLED_BACK in result['msg']
    assert namespace_state(ns) == before


# ---- 2. any exception during apply rolls back and fails the task --------------------------
def test_an_unexpected_exception_rolls_back_and_is_reported(netns, monkeypatch):
    ns = netns('d2')
    before = namespace_state(ns)
    faults = FaultInjector(monkeypatch)
    faults.arm(fail_at=2, kind='bug')
    result = module('linux_bridge', ns, name='br0', addresses=['10.7.0.1/24'])
    assert result['failed']
    assert 'unexpected KernelCallError' in result['msg'] and ROLLED_BACK in result['msg']
    assert 'Traceback' not in json.dumps(result)
    assert namespace_state(ns) == before


# ---- 3. a VXLAN recreate carries the FDB over, and the plan says so --------------------
def test_vni_change_keeps_the_fdb_and_lists_it_in_the_plan(netns):
    ns = netns('d3')
    underlay(ns)
    ok(module('vxlan_vtep', ns, name='vx42', vni=42, local='192.0.2.1', dev='u0',
              remotes=['192.0.2.2', '192.0.2.3'],
              fdb=[dict(mac='52:54:00:00:00:01', dst='192.0.2.3')]))
    fdb_before = sorted(json.dumps(e, sort_keys=True) for e in ip_json(ns, 'bridge', 'fdb', 'show', 'dev', 'vx42')
                        if e.get('dst'))

    result = ok(module('vxlan_vtep', ns, name='vx42', vni=43, local='192.0.2.1', dev='u0'))
    assert result['recreated']
    assert any(step.startswith('carry over FDB entries flood to 192.0.2.2') for step in result['plan'])
    fdb_after = sorted(json.dumps(e, sort_keys=True) for e in ip_json(ns, 'bridge', 'fdb', 'show', 'dev', 'vx42')
                       if e.get('dst'))
    assert fdb_after == fdb_before and len(fdb_after) == 3


# ---- 4. VXLAN endpoints validated; remotes -> group drops the replication peers --------
def test_vxlan_local_must_be_an_address_of_the_namespace_and_not_a_remote(netns):
    ns = netns('d4')
    underlay(ns)
    before = namespace_state(ns)
    result = module('vxlan_vtep', ns, name='vx42', vni=42, local='192.0.2.77', dev='u0')
    assert result['failed'] and 'local 192.0.2.77 is not an address of this host' in result['msg']
    result = module('vxlan_vtep', ns, name='vx42', vni=42, local='192.0.2.1', dev='u0',
                    remotes=['192.0.2.2', '192.0.2.1'])
    assert result['failed'] and 'remotes lists 192.0.2.1, which is local' in result['msg']
    assert namespace_state(ns) == before


def test_switching_remotes_to_group_removes_the_replication_entries(netns):
    ns = netns('d4')
    underlay(ns)
    ok(module('vxlan_vtep', ns, name='vx42', vni=42, local='192.0.2.1', dev='u0',
              remotes=['192.0.2.2', '192.0.2.3']))
    ok(module('vxlan_vtep', ns, name='vx42', vni=42, local='192.0.2.1', dev='u0',
              group='239.1.1.1'))
    flood = [e['dst'] for e in ip_json(ns, 'bridge', 'fdb', 'show', 'dev', 'vx42')
             if e['mac'] == '00:00:00:00:00:00']
    assert flood == ['239.1.1.1']


# ---- 5. addresses the kernel drops as a side effect ------------------------------------
def test_removing_a_primary_address_keeps_its_secondary(netns):
    ns = netns('d5')
    ok(module('linux_bridge', ns, name='brt', addresses=['10.5.0.10/24', '10.5.0.11/24']))
    ok(module('linux_bridge', ns, name='brt', addresses=['10.5.0.11/24']))
    assert addresses_of(ns, 'brt') == ['10.5.0.11/24']
    assert not ok(module('linux_bridge', ns, name='brt', addresses=['10.5.0.11/24']))['changed']


def test_takeover_onto_a_bridge_with_its_own_primary_address(netns):
    ns = netns('d5')
    run(['ip', 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'nic0x'], netns=ns)
    run(['ip', 'addr', 'add', '10.5.0.20/24', 'dev', 'nic0'], netns=ns)
    run(['ip', 'link', 'set', 'nic0', 'up'], netns=ns)
    ok(module('linux_bridge', ns, name='brt', addresses=['10.5.0.1/24']))
    ok(module('linux_bridge', ns, name='brt', takeover_from='nic0', addresses=['10.5.0.20/24']))
    assert addresses_of(ns, 'brt') == ['10.5.0.20/24']
    assert link(ns, 'nic0')['master'] == 'brt'


def test_mtu_below_1280_is_refused_while_the_link_has_ipv6_addresses(netns):
    ns = netns('d5')
    with_ipv6(ns)
    ok(module('linux_bridge', ns, name='brt', addresses=['2001:db8::1/64']))
    before = namespace_state(ns)
    result = module('linux_bridge', ns, name='brt', mtu=1200)
    assert result['failed'] and 'the kernel would remove the IPv6 addresses 2001:db8::1/64' in result['msg']
    assert namespace_state(ns) == before


# ---- 6. a bridge keeps one MAC for life -------------------------------------------------
def test_a_bridge_without_ports_keeps_its_mac_when_vm_taps_join(netns):
    ns = netns('d6')
    ok(module('linux_bridge', ns, name='brt', addresses=['10.6.0.1/24']))
    mac = link(ns, 'brt')['address']
    ok(run_module('kvmnet.hostnet.kvm_vm_nic', dict(vm='web1', bridge='brt', netns=ns)))
    assert link(ns, 'brt')['address'] == mac
    ok(run_module('kvmnet.hostnet.kvm_vm_nic', dict(vm='web2', bridge='brt', netns=ns)))
    assert link(ns, 'brt')['address'] == mac
    ok(run_module('kvmnet.hostnet.kvm_vm_nic', dict(vm='web1', state='absent', netns=ns)))
    assert link(ns, 'brt')['address'] == mac


# ---- 7. macvtap passthru without mac ---------------------------------------------------
def test_macvtap_passthru_without_mac_takes_the_parents(netns):
    ns = netns('d7')
    run(['ip', 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'nic0x'], netns=ns)
    run(['ip', 'link', 'set', 'nic0', 'up'], netns=ns)
    parent_mac = link(ns, 'nic0')['address']
    args = dict(vm='db1', type='macvtap', parent='nic0', mode='passthru', netns=ns)
    result = ok(run_module('kvmnet.hostnet.kvm_vm_nic', args))
    assert result['mac'] == parent_mac and "address='%s'" % parent_mac in result['libvirt_xml']
    assert link(ns, 'nic0')['address'] == parent_mac
    assert not ok(run_module('kvmnet.hostnet.kvm_vm_nic', args))['changed']


# ---- 8. default VM MACs collide: refused on the host, and across the inventory ----------
def test_a_vm_mac_already_on_the_host_is_refused_naming_the_holder(netns):
    ns = netns('d8')
    run(['ip', 'link', 'add', 'brt', 'type', 'bridge'], netns=ns)
    ok(run_module('kvmnet.hostnet.kvm_vm_nic', dict(vm='vm01747', bridge='brt', netns=ns)))
    before = namespace_state(ns)
    result = run_module('kvmnet.hostnet.kvm_vm_nic', dict(vm='vm05923', bridge='brt', netns=ns))
    assert result['failed'] and 'already used by vm01747-0' in result['msg']
    assert namespace_state(ns) == before


def test_the_role_refuses_duplicate_vm_macs_across_the_inventory(playbook, tmp_path):
    inventory = tmp_path / 'inventory.json'
    hosts = {'hv1': dict(hypervisor_network_vm_nics=[dict(vm='vm01747', bridge='br0')]),
             'hv2': dict(hypervisor_network_vm_nics=[dict(vm='vm05923', bridge='br0'),
                                                     dict(vm='ok1', bridge='br0')])}
    for variables in hosts.values():
        variables.update(ansible_connection='local')
    inventory.write_text(json.dumps({'all': {'hosts': hosts}}))
    tasks = tmp_path / 'play.yml'
    role_tasks = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), 'roles', 'hypervisor_network', 'tasks', 'check_vm_macs.yml')
    tasks.write_text(json.dumps([{'hosts': 'all', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.include_tasks': role_tasks}]}]))
    proc = subprocess.run([playbook.ansible_playbook, '-i', str(inventory), str(tasks)],
                          env=playbook.env, capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert '52:54:00:b7:f0:66 is used by vm01747 NIC 0 on hv1, vm05923 NIC 0 on hv2' in proc.stdout


# ---- 9. the smaller ones ----------------------------------------------------------------
def test_gateway_replaces_the_default_route_with_a_metric(netns):
    ns = netns('d9')
    run(['ip', 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'nic0x'], netns=ns)
    run(['ip', 'addr', 'add', '10.9.1.5/24', 'dev', 'nic0'], netns=ns)
    run(['ip', 'link', 'set', 'nic0', 'up'], netns=ns)
    run(['ip', 'route', 'add', 'default', 'via', '10.9.1.1', 'metric', '100'], netns=ns)
    result = ok(module('linux_bridge', ns, name='brg', addresses=['10.9.2.5/24'], gateway='10.9.2.1'))
    defaults = [r for r in ip_json(ns, 'route', 'show') if r['dst'] == 'default']
    assert [(r['gateway'], r['dev'], r.get('metric')) for r in defaults] == [('10.9.2.1', 'brg', 100)]
    assert result['interface']['gateway'] == '10.9.2.1'
    # Reported when the route is there, even when this run does not set it.
    again = ok(module('linux_bridge', ns, name='brg', addresses=['10.9.2.5/24']))
    assert again['interface']['gateway'] == '10.9.2.1' and not again['changed']


def test_a_link_local_ipv6_gateway_is_accepted(netns):
    ns = netns('d9')
    with_ipv6(ns)
    ok(module('linux_bridge', ns, name='brg', addresses=['2001:db8:9::5/64'], gateway='fe80::1'))
    defaults = ip_json(ns, '-6', 'route', 'show', 'default')
    assert [(r['gateway'], r['dev']) for r in defaults] == [('fe80::1', 'brg')]


def test_a_macvlan_as_a_macvlans_parent_is_refused_before_anything_is_touched(netns):
    ns = netns('d9')
    run(['ip', 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'nic0x'], netns=ns)
    ok(module('macvlan_iface', ns, name='mv1', parent='nic0'))
    before = namespace_state(ns)
    result = module('macvlan_iface', ns, name='mv2', parent='mv1')
    assert result['failed'] and 'parent mv1 is itself a macvlan' in result['msg']
    assert 'rolled back' not in result['msg'] and 'passthru' not in result['msg']
    assert namespace_state(ns) == before


def test_a_tun_device_as_a_bridge_port_is_explained(netns):
    ns = netns('d9')
    run(['ip', 'tuntap', 'add', 'tun7', 'mode', 'tun'], netns=ns)
    result = module('linux_bridge', ns, name='brg', ports=['tun7'])
    assert result['failed'] and 'port tun7 is not an Ethernet device (a tun, layer 3 only)' in result['msg']
    assert link(ns, 'brg') is None


# ---- 10. macvlan siblings without entering every namespace --------------------------------
def test_macvlan_finds_siblings_without_opening_a_session_per_namespace(netns, monkeypatch):
    ns = netns('d10')
    vm = netns('d10vm')
    others = [netns('d10x') for _unused in range(5)]
    run(['ip', 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'nic0x'], netns=ns)
    run(['ip', 'link', 'set', 'nic0', 'up'], netns=ns)
    ok(run_module('kvmnet.hostnet.macvlan_iface', dict(name='mvvm', parent='nic0', netns=ns,
                                                       target_netns=vm)))
    opened = []
    original = session_module.NetlinkSession.__init__

    def counting(self, netns=None):
        opened.append(netns)
        original(self, netns)

    monkeypatch.setattr(session_module.NetlinkSession, '__init__', counting)
    result = module('macvlan_iface', ns, name='mvpt', parent='nic0', mode='passthru')
    assert result['failed'] and 'mvvm (in namespace %s)' % vm in result['msg']
    assert not set(opened) & set(others + [vm]), opened


# ---- 11. two runs on one namespace serialise -----------------------------------------------
def test_a_second_run_waits_and_then_names_the_holder(netns, monkeypatch):
    ns = netns('d11')
    monkeypatch.setattr(lock_module, 'DEFAULT_TIMEOUT', 1.0)
    holder = subprocess.Popen(['flock', lock_module.lock_path(ns), 'sh', '-c',
                               'echo $$ > %s.pid; sleep 30' % lock_module.lock_path(ns)])
    try:
        for _attempt in range(50):
            if os.path.exists(lock_module.lock_path(ns) + '.pid'):
                break
            subprocess.run(['sleep', '0.1'], check=True)
        # flock(1) does not write the pid into the lock file; a kvmnet run does.
        with open(lock_module.lock_path(ns), 'w') as handle:
            handle.write('%d\n' % holder.pid)
        result = module('linux_bridge', ns, name='brl')
        assert result['failed']
        assert 'another kvmnet.hostnet run (pid %d) is changing namespace %s' % (holder.pid, ns) \
            in result['msg']
        assert link(ns, 'brl') is None
    finally:
        holder.kill()
        holder.wait()
        for path in (lock_module.lock_path(ns), lock_module.lock_path(ns) + '.pid'):
            if os.path.exists(path):
                os.unlink(path)
    ok(module('linux_bridge', ns, name='brl'))
