"""kvmnet.hostnet.team_iface against a real team driver and teamd, with real packets.

Topology of the traffic tests (every box a namespace made here):

    vm (192.0.2.10) -- vmp [brh] -- team (two ports) == s1/s2 [brs] -- gw (192.0.2.1)
         "VM"            "host"                          "switch"          "gateway"

The switch bridge does not aggregate the two team ports, so a frame the team sends
out of one member is flooded back in on the other: seed 000's network.
"""

import json
import time
import uuid

from netlab import ip_json, link, ping, run, snapshot, veth

MODULE = 'kvmnet.hostnet.team_iface'
VM_IP, GW_IP = '192.0.2.10', '192.0.2.1'


def team_name():
    # teamd's pid file and socket are per name across namespaces: keep names unique.
    return 'tm%s' % uuid.uuid4().hex[:6]


def quiet(ns):
    for key in ('all', 'default'):
        run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % key], netns=ns)


def teamd_state(ns, team):
    return json.loads(run(['teamdctl', team, 'state', 'dump'], netns=ns).stdout)


def teamd_config(ns, team):
    return json.loads(run(['teamdctl', team, 'config', 'dump', 'actual'], netns=ns).stdout)


def teamd_pid(team):
    with open('/var/run/teamd/%s.pid' % team) as handle:
        return int(handle.read())


def lab(netns):
    """Host, switch, VM and gateway namespaces wired as in the module docstring."""
    host, switch, vm, gw = (netns().name for _index in range(4))
    for ns in (host, switch, vm, gw):
        quiet(ns)
    run(['ip', 'link', 'add', 'brs', 'type', 'bridge'], netns=switch)
    run(['ip', 'link', 'add', 'brh', 'type', 'bridge'], netns=host)
    for port in ('s1', 's2'):
        # a1/a2 stay down: the module must set team ports down before they join.
        veth(host, 'a' + port[1], switch, port, up=False)
        run(['ip', 'link', 'set', port, 'master', 'brs', 'up'], netns=switch)
    veth(switch, 'gwp', gw, 'gw0')
    run(['ip', 'link', 'set', 'gwp', 'master', 'brs'], netns=switch)
    run(['ip', 'address', 'add', GW_IP + '/24', 'dev', 'gw0'], netns=gw)
    veth(host, 'vmp', vm, 'vm0')
    run(['ip', 'link', 'set', 'vmp', 'master', 'brh'], netns=host)
    run(['ip', 'address', 'add', VM_IP + '/24', 'dev', 'vm0'], netns=vm)
    for ns, bridge in ((switch, 'brs'), (host, 'brh')):
        # forward_delay 0: ports forward at once, no STP listening wait in the test.
        run(['ip', 'link', 'set', bridge, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0'], netns=ns)
        run(['ip', 'link', 'set', bridge, 'up'], netns=ns)
    vm_mac = link(vm, 'vm0')['address']
    return host, switch, vm, gw, vm_mac


def team_task(host, team, runner, **extra):
    extra.setdefault('ports', ['a1', 'a2'])
    return {MODULE: dict(name=team, netns=host, runner=runner, bridge={'name': 'brh'}, **extra)}


def fdb_port_of(host, mac):
    entries = ip_json(host, 'bridge', 'fdb', 'show', 'br', 'brh')
    ports = [e['ifname'] for e in entries if e.get('mac') == mac and 'self' not in e.get('flags', [])]
    return ports[0] if ports else None


# ansible-playbook takes about a minute per run under TCG: tasks are batched per play.

def test_activebackup_fails_over_and_keeps_the_vm_online(play, netns):
    host, switch, vm, gw, vm_mac = lab(netns)
    team = team_name()
    result, again = play(*[team_task(host, team, 'activebackup', link_watch={'name': 'ethtool'},
                                     ports=[{'name': 'a1', 'prio': 10}, {'name': 'a2', 'prio': 5}])] * 2)
    assert result['changed'] and not result['recreated'], result
    assert not again['changed'] and again['plan'] == [], again
    assert result['interface']['bridge']['master'] == 'brh'
    assert link(host, team)['master'] == 'brh'
    assert ping(vm, GW_IP, count=3)
    first = teamd_state(host, team)['runner']['active_port']
    assert first == 'a1'  # the higher prio
    assert fdb_port_of(host, vm_mac) == 'vmp'

    run(['ip', 'link', 'set', first, 'down'], netns=host)
    deadline = time.time() + 10
    while time.time() < deadline and teamd_state(host, team)['runner']['active_port'] == first:
        time.sleep(0.2)
    assert teamd_state(host, team)['runner']['active_port'] == 'a2'
    assert ping(vm, GW_IP, count=3)
    assert fdb_port_of(host, vm_mac) == 'vmp'


def test_seed_000_roundrobin_under_a_bridge_loses_the_vm_activebackup_does_not(play, netns):
    rr_host, _rr_switch, rr_vm, _rr_gw, rr_mac = lab(netns)
    ab_host, _ab_switch, ab_vm, _ab_gw, ab_mac = lab(netns)
    rr_team, ab_team = team_name(), team_name()
    # The override the guardrail asks for: here it is a lie, the switch does not aggregate.
    results = play(team_task(rr_host, rr_team, 'roundrobin', switch_configured=True),
                   team_task(ab_host, ab_team, 'activebackup'))
    assert not any(r.get('failed') for r in results), results
    assert teamd_config(rr_host, rr_team)['runner']['name'] == 'roundrobin'
    assert not ping(rr_vm, GW_IP, count=3)
    # The VM's broadcast came back in on the other member: its MAC is on the team.
    assert fdb_port_of(rr_host, rr_mac) == rr_team
    # Same network, activebackup: the inactive member drops the flooded copy.
    assert ping(ab_vm, GW_IP, count=3)
    assert fdb_port_of(ab_host, ab_mac) == 'vmp'


def test_guardrail_refuses_flooding_runners_under_a_bridge_and_touches_nothing(play, netns):
    host, switch, vm, gw, vm_mac = lab(netns)
    team = team_name()
    before = snapshot(host)
    result = play.one(MODULE, name=team, netns=host, runner='roundrobin', ports=['a1', 'a2'],
                      bridge={'name': 'brh'})
    assert result.get('failed')
    assert 'learns the VM' in result['msg'] and 'activebackup' in result['msg']
    assert 'switch_configured' in result['msg']
    assert snapshot(host) == before

    # linux_bridge ports: judges the runner teamd runs now.
    made, refused = play({MODULE: dict(name=team, netns=host, runner='loadbalance', ports=['a1', 'a2'])},
                         {'kvmnet.hostnet.linux_bridge': dict(name='brh', netns=host, ports=[team])})
    assert not made.get('failed'), made
    assert refused.get('failed') and 'loadbalance' in refused['msg'] and 'learns the VM' in refused['msg']
    assert link(host, team).get('master') is None

    # A team already in the bridge cannot be switched to a flooding runner without bridge either.
    placed = play.one(MODULE, name=team, netns=host, runner='activebackup', ports=['a1', 'a2'],
                      bridge={'name': 'brh'})
    assert not placed.get('failed') and link(host, team)['master'] == 'brh', placed
    before = snapshot(host)
    refused = play.one(MODULE, name=team, netns=host, runner='roundrobin', ports=['a1', 'a2'])
    assert refused.get('failed') and 'runner roundrobin' in refused['msg'], refused
    assert snapshot(host) == before
    assert teamd_config(host, team)['runner']['name'] == 'activebackup'


def test_idempotence_check_mode_restart_ports_and_removal(play, netns):
    host = netns().name
    quiet(host)
    for name in ('a1', 'a2', 'a3'):
        veth(host, name, up=True)
    team = team_name()
    args = dict(name=team, netns=host, runner='activebackup', hwaddr_policy='by_active',
                link_watch={'name': 'ethtool', 'delay_up': 100}, ports=['a1', 'a2'], mtu=1400)
    first, second = play({MODULE: args}, {MODULE: args})
    assert first['changed'] and not first.get('failed'), first
    assert first['interface']['runner'] == 'activebackup'
    assert not second['changed'] and second['plan'] == [], second
    assert link(host, team)['mtu'] == 1400 and link(host, 'a1')['master'] == team
    pid = teamd_pid(team)

    before = snapshot(host)
    lacp = dict(args, runner='lacp', lacp={'fast_rate': True}, tx_hash=['eth'])
    del lacp['hwaddr_policy']  # an activebackup option; unset, not null
    predicted = play.one(MODULE, check=True, **lacp)
    assert predicted['changed'] and predicted['recreated'], predicted
    assert any(step.startswith('restart teamd') for step in predicted['plan'])
    assert snapshot(host) == before and teamd_pid(team) == pid
    assert teamd_config(host, team)['runner']['name'] == 'activebackup'

    live_ports = dict(lacp, ports=['a2', {'name': 'a3', 'prio': 7}])
    changed, again, live = play({MODULE: lacp}, {MODULE: lacp}, {MODULE: live_ports})
    assert changed['changed'] and changed['recreated'], changed
    assert changed['interface']['runner'] == 'lacp' and changed['interface']['pid'] != pid
    assert not again['changed'], again
    assert live['changed'] and not live['recreated'], live
    running = teamd_config(host, team)
    assert running['runner']['name'] == 'lacp' and running['runner']['fast_rate'] is True
    assert link(host, team)['mtu'] == 1400
    assert sorted(running['ports']) == ['a2', 'a3'] and running['ports']['a3']['prio'] == 7
    assert link(host, 'a1').get('master') is None and link(host, 'a3')['master'] == team

    gone, still_gone = play(*[{MODULE: dict(name=team, netns=host, state='absent')}] * 2)
    assert gone['changed'] and gone['interface'] is None, gone
    assert not still_gone['changed'], still_gone
    assert link(host, team) is None
    assert all(link(host, port) is not None and link(host, port).get('master') is None
               for port in ('a1', 'a2', 'a3'))
    assert run(['teamd', '-e', '-t', team], netns=host, check=False).returncode != 0


def test_bad_inputs_fail_with_their_reason_and_leave_the_host_alone(play, netns):
    host = netns().name
    quiet(host)
    for name in ('a1', 'a2', 'b1', 'c1'):
        veth(host, name, up=False)
    run(['ip', 'link', 'add', 'brx', 'type', 'bridge'], netns=host)
    run(['ip', 'link', 'set', 'c1', 'master', 'brx'], netns=host)
    other = team_name()
    run(['ip', 'link', 'add', other, 'type', 'team'], netns=host)
    run(['teamd', '-d', '-o', '-N', '-t', other, '-c',
         json.dumps({'runner': {'name': 'activebackup'}, 'ports': {'b1': {}}})], netns=host)
    assert link(host, 'b1')['master'] == other
    team = team_name()
    before = snapshot(host)

    cases = [
        (dict(runner='mode0', ports=['a1']), 'runner'),
        (dict(ports=['a1', 'b1']), 'b1 is already a port of %s' % other),
        (dict(ports=['a1', 'c1']), 'c1 is already a port of brx'),
        (dict(ports=['a1', 'nosuch0']), 'port nosuch0 does not exist'),
        # every problem of one request at once
        (dict(name='t' * 16, runner='roundrobin', hwaddr_policy='by_active', ports=['a1', 'a1']),
         '3 problems'),
    ]
    results = play(*[{MODULE: dict(dict(name=team, netns=host), **args)} for args, _message in cases])
    for (args, message), result in zip(cases, results):
        assert result.get('failed') and message in result['msg'], (args, result)
    last = results[-1]['msg']
    assert 'at most 15' in last and 'hwaddr_policy' in last and 'twice' in last
    assert snapshot(host) == before
