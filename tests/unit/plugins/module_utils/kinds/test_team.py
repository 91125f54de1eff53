"""Pure logic of the teamd facet: request -> config, validation, comparison."""

from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import team as teamd


def config(**kwargs):
    ports, problems = teamd.parse_ports(kwargs.pop('ports', []), 'team0')
    assert problems == []
    return teamd.build_config(ports=ports, **kwargs)


# What teamd 1.31 printed for `config dump actual` (measured in the kernel lab).
RUNNING_LOADBALANCE = {
    'device': 'tm1', 'runner': {'name': 'loadbalance', 'tx_hash': ['eth', 'ipv4', 'ipv6']},
    'ports': {'p1': {'link_watch': {'name': 'ethtool'}}},
}
RUNNING_ACTIVEBACKUP = {
    'device': 'tm0', 'link_watch': {'delay_up': 100, 'name': 'ethtool'},
    'mcast_rejoin': {'count': 1}, 'notify_peers': {'count': 1},
    'ports': {'p1': {'prio': 10}, 'p2': {'sticky': True}},
    'runner': {'hwaddr_policy': 'by_active', 'name': 'activebackup'},
}


def test_build_config_keeps_only_what_was_given():
    built = config(runner='lacp', tx_hash=['eth', 'ipv4'], lacp={'active': True, 'fast_rate': None},
                   tx_balancer={'balancing_interval': 30},
                   link_watch={'name': 'ethtool', 'delay_up': None, 'delay_down': 200},
                   ports=['p1', {'name': 'p2', 'prio': '5', 'sticky': 'yes'}])
    assert built == {
        'runner': {'name': 'lacp', 'tx_hash': ['eth', 'ipv4'],
                   'tx_balancer': {'name': 'basic', 'balancing_interval': 30}, 'active': True},
        'link_watch': {'name': 'ethtool', 'delay_down': 200},
        'ports': {'p1': {}, 'p2': {'prio': 5, 'sticky': True}},
    }


def test_defaults_filled_by_teamd_are_not_a_change():
    wanted = config(runner='loadbalance', ports=['p1'])
    assert teamd.compare(wanted, RUNNING_LOADBALANCE) == ([], [], [], {})


def test_tx_hash_is_a_set():
    wanted = config(runner='loadbalance', tx_hash=['ipv6', 'ipv4', 'eth'], ports=['p1'])
    assert teamd.compare(wanted, RUNNING_LOADBALANCE)[0] == []
    wanted = config(runner='loadbalance', tx_hash=['eth'], ports=['p1'])
    assert teamd.compare(wanted, RUNNING_LOADBALANCE)[0] == ['runner tx_hash ["eth", "ipv4", "ipv6"] -> ["eth"]']


def test_runner_change_restarts():
    wanted = config(runner='roundrobin', ports=['p1', 'p2'])
    reasons, add, remove, updates = teamd.compare(wanted, RUNNING_ACTIVEBACKUP)
    assert reasons == ['runner activebackup -> roundrobin']


def test_link_watch_change_restarts_and_missing_global_watch_differs():
    wanted = config(runner='activebackup', link_watch={'name': 'ethtool', 'delay_up': 100},
                    ports=[{'name': 'p1', 'prio': 10}, {'name': 'p2', 'sticky': True}])
    assert teamd.compare(wanted, RUNNING_ACTIVEBACKUP) == ([], [], [], {})
    wanted['link_watch']['delay_up'] = 200
    assert teamd.compare(wanted, RUNNING_ACTIVEBACKUP)[0] == [
        'link_watch {"delay_up": 100, "name": "ethtool"} -> {"delay_up": 200, "name": "ethtool"}']
    # teamd puts a default watch on each port when none is global: still a difference
    wanted = config(runner='loadbalance', link_watch={'name': 'ethtool'}, ports=['p1'])
    assert len(teamd.compare(wanted, RUNNING_LOADBALANCE)[0]) == 1


def test_ports_added_removed_and_updated_without_restart():
    wanted = config(runner='activebackup', ports=[{'name': 'p1', 'prio': 20}, 'p3'])
    reasons, add, remove, updates = teamd.compare(wanted, RUNNING_ACTIVEBACKUP)
    assert (reasons, add, remove, dict(updates)) == ([], ['p3'], ['p2'], {'p1': {'prio': 20}})


def test_port_defaults_match_absent_keys():
    wanted = config(runner='activebackup', ports=[{'name': 'p1', 'prio': 10, 'sticky': False},
                                                  {'name': 'p2', 'prio': 0}])
    assert teamd.compare(wanted, RUNNING_ACTIVEBACKUP) == ([], [], [], {})


def test_not_running_means_start():
    wanted = config(ports=['p1'])
    assert teamd.compare(wanted, None) == (['teamd is not running'], ['p1'], [], {})


def test_options_for_the_wrong_runner_are_all_reported():
    wanted = config(runner='roundrobin', hwaddr_policy='by_active', tx_hash=['eth'],
                    lacp={'fast_rate': True}, link_watch={'name': 'ethtool', 'interval': 5})
    problems = teamd.config_problems(wanted, 'team0')
    assert problems == [
        'hwaddr_policy applies to runner activebackup only, not roundrobin',
        'tx_hash applies to runners loadbalance and lacp only, not roundrobin',
        'lacp options (fast_rate) apply to runner lacp only, not roundrobin',
        'link_watch ethtool does not take interval; it takes delay_up, delay_down',
    ]


def test_unknown_runner_and_ping_targets():
    assert teamd.config_problems(config(runner='mode0'), 't')[0].startswith("runner 'mode0' is unknown")
    problems = teamd.config_problems(config(link_watch={'name': 'arp_ping'}), 't')
    assert problems == ['link_watch arp_ping needs target_host (the IPv4 address to probe)']
    problems = teamd.config_problems(config(link_watch={'name': 'nsna_ping', 'target_host': '192.0.2.1'}), 't')
    assert problems == ['link_watch nsna_ping target_host 192.0.2.1 is not an IPv6 address']


def test_bad_ports():
    ports, problems = teamd.parse_ports(
        ['p1', 'p1', 'x' * 16, {'name': 'p2', 'speed': 1, 'prio': 'hi'}, 'team0'], 'team0')
    assert [port[0] for port in ports] == ['p1', 'p1', 'x' * 16, 'p2', 'team0']
    assert problems == [
        'port p2: unknown option(s) speed; team port options are prio, sticky',
        "port p2 prio must be an integer, got 'hi'",
        'port p1 is listed twice',
        "port name 'xxxxxxxxxxxxxxxx' is 16 characters long; Linux interface names have at most 15",
        'team0 cannot be a port of itself',
    ]


def test_guardrail_refuses_flooding_runners_only():
    for runner in ('roundrobin', 'broadcast', 'random', 'loadbalance'):
        problem = teamd.bridge_problem(runner, 'team0', 'br0', False)
        assert 'learns the VM' in problem and 'activebackup' in problem and 'switch_configured' in problem
        assert teamd.bridge_problem(runner, 'team0', 'br0', True) is None
    for runner in ('activebackup', 'lacp'):
        assert teamd.bridge_problem(runner, 'team0', 'br0', False) is None


def test_start_config_pins_mac_without_changing_the_request():
    wanted = config(ports=['p1'])
    started = teamd.start_config(wanted, '52:54:00:00:00:01')
    assert started['hwaddr'] == '52:54:00:00:00:01' and 'hwaddr' not in wanted
