"""confirm_when: guarded in throwaway namespaces: host_network arms a checkpoint only
when the changing part of its plan names an interface whose change can cut the host off.

The namespace stands for a host whose uplink eth0 (192.0.2.10/24) carries the default
route via 192.0.2.1 (a second namespace). A change elsewhere is applied with no
checkpoint (nothing to probe or confirm, so the role skips its confirm stage); a VXLAN
over eth0 arms one, which a rollback takes back.
"""

import os

import pytest

from netlab import link, snapshot

HOST_NETWORK = 'kvmnet.hostnet.host_network'
CONFIRM = 'kvmnet.hostnet.confirm'
GUARDED = dict(confirm_timeout=60, confirm_when='guarded')


@pytest.fixture
def host(routed_host):
    return routed_host


def pending(ns):
    return os.path.exists('/run/kvmnet/checkpoint-netns-%s/checkpoint.json' % ns)


def tenant(ns, vxlan_dev=None, **extra):
    vxlan = dict(name='vxt1', vni=2001, local='192.0.2.10', remotes=['192.0.2.20'],
                 bridge=dict(name='brt1'))
    if vxlan_dev:
        vxlan['dev'] = vxlan_dev
    args = dict(netns=ns, bridges=[dict(name='brt1', stp=False, forward_delay=0)],
                vxlans=[vxlan], vm_nics=[dict(vm='t1a', bridge='brt1')])
    args.update(extra)
    return {HOST_NETWORK: args}


def test_a_change_away_from_the_uplink_is_applied_without_a_checkpoint(play, host):
    applied, again = play(tenant(host, **GUARDED), tenant(host, **GUARDED))

    assert applied['changed'] and not applied.get('failed'), applied
    assert applied['armed'] is False and applied['checkpoint'] is None, applied
    assert applied['guarded']['interfaces'] == ['eth0'], applied['guarded']
    assert applied['guarded']['gateways'] == ['192.0.2.1']
    assert applied['guarded']['touched'] == []
    assert not pending(host)
    assert link(host, 'vxt1')['master'] == 'brt1'
    assert again['changed'] is False and again['armed'] is False, again
    assert 'guarded' not in again, 'a run that changes nothing does not even look'


def test_a_vxlan_over_the_uplink_arms_and_a_rollback_takes_it_back(play, host):
    before = snapshot(host)
    applied, rolled = play(tenant(host, vxlan_dev='eth0', confirm_checkpoint='cw1', **GUARDED),
                           {CONFIRM: dict(netns=host, action='rollback', checkpoint='cw1')})

    assert applied['changed'] and applied['armed'] is True, applied
    assert applied['guarded']['touched'] == ['eth0'], applied['guarded']
    assert applied['checkpoint']['id'] == 'cw1' and applied['checkpoint']['state'] == 'pending'
    assert rolled['result']['outcome'] == 'rolled_back' and rolled['result']['equal'], rolled
    assert snapshot(host) == before


def test_always_still_arms_for_any_change(play, host):
    applied = play.one(HOST_NETWORK, confirm_timeout=60, **tenant(host)[HOST_NETWORK])

    assert applied['changed'] and applied['armed'] is True, applied
    assert pending(host)
    rolled = play.one(CONFIRM, netns=host, action='rollback')
    assert rolled['result']['equal'], rolled


def test_purge_away_from_the_uplink_needs_no_checkpoint(play, host):
    """Removing a link cannot be undone, so a checkpoint refuses it; a guarded run that
    does not touch the uplink needs none and purges."""
    play.one(HOST_NETWORK, **tenant(host)[HOST_NETWORK])
    args = dict(tenant(host)[HOST_NETWORK], vm_nics=[], purge=['vm_nics'])
    refused = play.one(HOST_NETWORK, confirm_timeout=60, **args)
    purged = play.one(HOST_NETWORK, **dict(args, **GUARDED))

    assert refused.get('failed') and 'cannot protect' in refused['msg'], refused
    assert not purged.get('failed') and purged['armed'] is False, purged
    assert len(purged['purged']) == 1
    assert link(host, purged['purged'][0]) is None
