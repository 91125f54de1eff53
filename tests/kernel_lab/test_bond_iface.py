"""kvmnet.hostnet.bond_iface in a real kernel with bonding.

The lab: a hypervisor namespace whose bond has two members cabled (veth) into a
"switch" namespace (a bridge) that also holds a gateway; a VM (a veth into its own
namespace) sits on a bridge above the bond.
"""

import time

from netlab import link, ping, run, snapshot, veth

GATEWAY = '192.0.2.1'
VM = '192.0.2.10'


def namespace(netns):
    """A kernel-lab namespace without IPv6: DAD and router solicitations would make
    snapshots differ by themselves and are not under test."""
    name = netns().name
    for key in ('all', 'default'):
        run(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % key], netns=name)
    return name


def build_lab(netns):
    host, switch, gateway, vm = (namespace(netns) for _index in range(4))
    run(['ip', 'link', 'add', 'sw0', 'type', 'bridge'], netns=switch)
    run(['ip', 'link', 'set', 'sw0', 'up'], netns=switch)
    for member in ('eth1', 'eth2'):
        veth(host, member, switch, 'sw-' + member)
        run(['ip', 'link', 'set', 'sw-' + member, 'master', 'sw0'], netns=switch)
    veth(switch, 'sw-gw', gateway, 'eth0')
    run(['ip', 'link', 'set', 'sw-gw', 'master', 'sw0'], netns=switch)
    run(['ip', 'address', 'add', GATEWAY + '/24', 'dev', 'eth0'], netns=gateway)
    veth(host, 'vnet0', vm, 'eth0')
    run(['ip', 'address', 'add', VM + '/24', 'dev', 'eth0'], netns=vm)
    run(['ip', 'link', 'add', 'br-vm', 'type', 'bridge', 'forward_delay', '0'], netns=host)
    run(['ip', 'link', 'set', 'vnet0', 'master', 'br-vm'], netns=host)
    run(['ip', 'link', 'set', 'br-vm', 'up'], netns=host)
    return host, switch, gateway, vm


def differences(before, after, path=''):
    """Paths where two snapshots differ, for a readable assertion message."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [d for key in sorted(set(before) | set(after), key=str)
                for d in differences(before.get(key), after.get(key), '%s/%s' % (path, key))]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for n, (b, a) in enumerate(zip(before, after))
                for d in differences(b, a, '%s[%d]' % (path, n))]
    return [] if before == after else ['%s: %r -> %r' % (path, before, after)]


def assert_unchanged(host, before):
    # A bridge port's STP state follows carrier by itself (disabled -> forwarding a
    # moment after a member's link comes up); no module here sets it.
    found = [d for d in differences(before, snapshot(host))
             if '/info_slave_data/state:' not in d]
    assert found == []


def active_member(host):
    """The active member as /proc/net/bonding/bond0 tells it."""
    text = run(['cat', '/proc/net/bonding/bond0'], netns=host).stdout
    for line in text.splitlines():
        if line.startswith('Currently Active Slave:'):
            return line.split(':', 1)[1].strip()
    raise AssertionError(text)


def active_within(host, member, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if active_member(host) == member:
            return True
        time.sleep(0.1)
    return False


def ping_within(namespace, address, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ping(namespace, address, count=1, timeout=1):
            return True
    return False


def test_active_backup_bond_under_vm_bridge_fails_over(play, netns):
    host, switch, _gateway, vm = build_lab(netns)
    args = dict(name='bond0', netns=host, mode='active-backup', miimon=100,
                ports=['eth1', 'eth2'], primary='eth1', bridge={'name': 'br-vm'})

    made = play.one('kvmnet.hostnet.bond_iface', **args)
    assert made['changed'] is True and not made.get('failed'), made.get('msg')
    bond = made['interface']
    assert (bond['mode'], bond['miimon'], bond['primary']) == ('active-backup', 100, 'eth1')
    assert sorted(bond['ports']) == ['eth1', 'eth2']
    assert bond['bridge']['name'] == 'br-vm'
    assert link(host, 'bond0')['master'] == 'br-vm'

    assert ping_within(vm, GATEWAY, 10)
    assert active_member(host) == 'eth1'

    # The switch port of the active member goes down: the backup takes over.
    run(['ip', 'link', 'set', 'sw-eth1', 'down'], netns=switch)
    assert ping_within(vm, GATEWAY, 10)
    assert active_member(host) == 'eth2'
    after = play.one('kvmnet.hostnet.bond_iface', **args)
    assert after['changed'] is False, after['plan']
    assert after['interface']['active_port'] == 'eth2'

    run(['ip', 'link', 'set', 'sw-eth1', 'up'], netns=switch)
    # The kernel gives the primary back its role a moment later (miimon): the snapshot
    # waits for that, or it would differ from the next one by itself.
    assert active_within(host, 'eth1', 10)
    before = snapshot(host)
    checked = play.one('kvmnet.hostnet.bond_iface', check=True, **dict(args, mode='802.3ad',
                                                                       primary=None))
    assert checked['changed'] is True and not checked.get('failed'), checked.get('msg')
    assert any('release eth1 from bond bond0 to change its mode' in s for s in checked['plan'])
    assert_unchanged(host, before)


def test_mode_change_releases_sets_and_re_adds_members_in_place(play, netns):
    host, _switch, _gateway, vm = build_lab(netns)
    args = dict(name='bond0', netns=host, mode='active-backup', miimon=100,
                ports=['eth1', 'eth2'], bridge={'name': 'br-vm', 'cost': 5})
    first = play.one('kvmnet.hostnet.bond_iface', **args)
    assert not first.get('failed'), first.get('msg')
    index = first['interface']['ifindex']

    changed = play.one('kvmnet.hostnet.bond_iface', **dict(args, mode='802.3ad', lacp_rate='fast',
                                                           ad_select='count'))
    assert changed['changed'] is True and not changed.get('failed'), changed.get('msg')
    assert changed['recreated'] is False
    plan = changed['plan']
    assert 'set bond0 mode active-backup -> 802.3ad, lacp_rate slow -> fast, ad_select stable -> count' in plan
    assert plan.index('release eth1 from bond bond0 to change its mode (it is left down)') < \
        plan.index('add eth1 to bond bond0')
    bond = changed['interface']
    assert (bond['ifindex'], bond['mode'], bond['lacp_rate'], bond['ad_select']) == \
        (index, '802.3ad', 'fast', 'count')
    assert sorted(bond['ports']) == ['eth1', 'eth2']
    details = link(host, 'bond0')
    assert details['master'] == 'br-vm' and details['linkinfo']['info_slave_data']['cost'] == 5
    # 802.3ad without an LACP partner still forwards over one member.
    assert ping_within(vm, GATEWAY, 15)
    assert play.one('kvmnet.hostnet.bond_iface', **dict(
        args, mode='802.3ad', lacp_rate='fast', ad_select='count'))['changed'] is False

    # Exact set: eth2 is released, left down, not deleted.
    fewer = play.one('kvmnet.hostnet.bond_iface', **dict(args, mode='802.3ad', ports=['eth1']))
    assert fewer['changed'] is True and fewer['interface']['ports'] == ['eth1'], fewer.get('msg')
    eth2 = link(host, 'eth2')
    assert eth2 is not None and 'master' not in eth2 and 'UP' not in eth2['flags']

    removed = play.one('kvmnet.hostnet.bond_iface', name='bond0', netns=host, state='absent')
    assert removed['changed'] is True and link(host, 'bond0') is None
    assert link(host, 'eth1') is not None


def test_guardrail_refuses_balance_rr_under_a_vm_bridge(play, netns):
    host, _switch, _gateway, _vm = build_lab(netns)
    before = snapshot(host)
    rr = dict(name='bond0', netns=host, mode='balance-rr', ports=['eth1', 'eth2'])

    refused = play.one('kvmnet.hostnet.bond_iface', bridge={'name': 'br-vm'}, **rr)
    assert refused.get('failed') is True
    for text in ('bond bond0 in mode balance-rr must not be a port of a bridge',
                 "learns the VM's MAC on the uplink", 'active-backup', '802.3ad',
                 'switch_configured: true'):
        assert text in refused['msg'], refused['msg']
    assert_unchanged(host, before)

    # The same bond made without a bridge, then offered to linux_bridge as a port.
    made = play.one('kvmnet.hostnet.bond_iface', **rr)
    assert made['changed'] is True and not made.get('failed'), made.get('msg')
    with_bond = snapshot(host)
    refused = play.one('kvmnet.hostnet.linux_bridge', name='br-vm', netns=host, ports=['bond0'])
    assert refused.get('failed') is True
    assert 'bond bond0 in mode balance-rr must not be a port of a bridge' in refused['msg']
    assert_unchanged(host, with_bond)

    # The operator says the switch aggregates the members: accepted, both ways.
    accepted = play.one('kvmnet.hostnet.linux_bridge', name='br-vm', netns=host, ports=['bond0'],
                        switch_configured=True)
    assert accepted['changed'] is True and not accepted.get('failed'), accepted.get('msg')
    assert link(host, 'bond0')['master'] == 'br-vm'
    again = play.one('kvmnet.hostnet.bond_iface', bridge={'name': 'br-vm'},
                     switch_configured=True, **rr)
    assert again['changed'] is False and not again.get('failed'), again.get('msg')

    # A bond already under a bridge cannot be switched to an unsafe mode either.
    run(['ip', 'link', 'set', 'bond0', 'nomaster'], netns=host)
    play.one('kvmnet.hostnet.bond_iface', **dict(rr, mode='active-backup', bridge={'name': 'br-vm'}))
    before = snapshot(host)
    refused = play.one('kvmnet.hostnet.bond_iface', **dict(rr, mode='balance-xor'))
    assert refused.get('failed') is True and 'mode balance-xor' in refused['msg'], refused
    assert_unchanged(host, before)


def test_bad_requests_fail_with_their_reason_and_touch_nothing(play, netns):
    host, _switch, _gateway, _vm = build_lab(netns)
    run(['ip', 'link', 'add', 'other', 'type', 'bond'], netns=host)
    run(['ip', 'link', 'add', 'eth3', 'type', 'veth', 'peer', 'name', 'eth3p'], netns=host)
    run(['ip', 'link', 'set', 'eth3', 'master', 'other'], netns=host)
    before = snapshot(host)
    cases = [
        (dict(mode='round-robin', ports=['eth1']), ['value of mode must be one of']),
        (dict(mode='active-backup', ports=['eth1', 'eth3']), ['eth3 is already a port of other']),
        (dict(mode='active-backup', ports=['vnet0']), ['vnet0 is already a port of br-vm']),
        (dict(mode='active-backup', ports=['nosuch0']), ['port nosuch0 does not exist']),
        (dict(mode='active-backup', ports=['br-vm']), ['br-vm is a bridge and cannot be a member']),
        (dict(mode='active-backup', lacp_rate='fast', updelay=150, miimon=100, primary='eth2',
              ports=['eth1']),
         ['3 problems', 'lacp_rate applies only to mode 802.3ad', 'not a multiple of miimon',
          'primary eth2 is not one of ports']),
        (dict(updelay=200), ['updelay needs link monitoring']),
    ]
    results = play(*[{'kvmnet.hostnet.bond_iface': dict(name='bond0', netns=host, **args)}
                     for args, _message in cases])
    for (args, expected), result in zip(cases, results):
        assert result.get('failed') is True, (args, result)
        for text in expected:
            assert text in result['msg'], (args, result['msg'])
    assert_unchanged(host, before)
