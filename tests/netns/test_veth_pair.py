"""kvmnet.hostnet.veth_pair against the real kernel: one end in each of two namespaces.

Addresses in the 198.51.100.0/24 documentation range live only inside the test's own
namespaces; the pings never leave them.
"""

from netlab import link, ping, run, snapshot

MODULE = 'kvmnet.hostnet.veth_pair'
A, B = '198.51.100.1', '198.51.100.2'


def pair(ns_a, ns_b, **options):
    args = dict(name='va', peer='vb', netns=ns_a, peer_netns=ns_b)
    args.update(options)
    return {MODULE: args}


def addresses(ns_a, ns_b):
    """A on the bridge that ``va`` is a port of, B on the peer."""
    run(['ip', 'addr', 'add', A + '/24', 'dev', 'br0'], netns=ns_a)
    run(['ip', 'addr', 'add', B + '/24', 'dev', 'vb'], netns=ns_b)


def test_a_pair_across_namespaces_carries_packets_and_is_idempotent(play, netns):
    ns_a, ns_b = netns('va'), netns('vb')
    run(['ip', 'link', 'add', 'br0', 'type', 'bridge'], netns=ns_a)
    # bridge: by name, the form vxlan_vtep refused in 0.1.0 ("dictionary requested").
    task = pair(ns_a, ns_b, bridge='br0')
    vtep = {'kvmnet.hostnet.vxlan_vtep': dict(name='vx42', vni=42, netns=ns_a, bridge='br0')}

    before = (snapshot(ns_a), snapshot(ns_b))
    checked = play(dict(task, check_mode=True, diff=True))[0]
    assert checked['changed'] and not checked.get('failed'), checked
    assert (snapshot(ns_a), snapshot(ns_b)) == before, 'check mode must not touch anything'
    assert checked['interface']['peer'] == 'vb' and checked['interface']['peer_up'] is True

    first, second, on_bridge = play(task, task, vtep)
    assert first['changed'] and not first.get('failed'), first
    assert not second['changed'], second['plan']
    assert link(ns_a, 'va')['master'] == 'br0'
    assert on_bridge['changed'] and link(ns_a, 'vx42')['master'] == 'br0', on_bridge
    assert on_bridge['interface']['bridge']['name'] == 'br0'
    assert first['interface']['peer_netns'] == ns_b and first['interface']['peer_up']
    run(['ip', 'link', 'set', 'br0', 'up'], netns=ns_a)
    addresses(ns_a, ns_b)
    assert ping(ns_a, B, count=2) and ping(ns_b, A)

    # Another peer name: the pair is recreated (the kernel cannot rename the peer for us).
    renamed = play(pair(ns_a, ns_b, peer='vc', bridge='br0'))[0]
    assert renamed['changed'] and renamed['recreated'], renamed
    assert link(ns_b, 'vb') is None and link(ns_b, 'vc')['operstate'] != 'DOWN'
    assert link(ns_a, 'va')['master'] == 'br0'

    gone, again = play(pair(ns_a, ns_b, state='absent'), pair(ns_a, ns_b, state='absent'))
    assert gone['changed'] and not again['changed'], (gone, again)
    assert link(ns_a, 'va') is None and link(ns_b, 'vc') is None


def test_bad_input_fails_with_its_message_and_touches_nothing(play, netns):
    ns_a, ns_b = netns('va'), netns('vb')
    run(['ip', 'link', 'add', 'taken', 'type', 'veth', 'peer', 'name', 'takenp'], netns=ns_b)
    before = (snapshot(ns_a), snapshot(ns_b))
    cases = [
        (dict(peer=None), 'peer is required with state: present'),
        (dict(peer='a-name-longer-than-15'), 'at most 15'),
        (dict(peer_netns='kvmnet-no-such-ns'), 'peer_netns kvmnet-no-such-ns does not exist'),
        (dict(peer='va', peer_netns=None), "peer va is this end's own name"),
        (dict(peer='taken'), 'peer taken already exists in namespace %s (a veth link)' % ns_b),
        (dict(bridge={'name': 'nobr'}), 'bridge nobr does not exist'),
        (dict(bridge=5), 'bridge must be a bridge name, or a dict with name and port options'),
        # Every problem at once: the bad bridge and the bad peer.
        (dict(peer='a-name-longer-than-15', bridge={'cost': 3}), 'bridge must be a bridge name'),
    ]
    results = play(*[pair(ns_a, ns_b, **options) for options, _message in cases])
    for (options, message), result in zip(cases, results):
        assert result.get('failed') is True and message in result['msg'], (options, result)
    assert 'at most 15' in results[-1]['msg']
    assert (snapshot(ns_a), snapshot(ns_b)) == before
