"""One ``bridge:`` option on every link module: a bridge name, or a dict with port options.

Proved on vxlan_vtep, which took only the dict form in 0.1.0 (``bridge: br0`` failed
with Ansible's "dictionary requested"): VMs behind two VTEPs attached by name talk,
the dict form changes a port option in place, bad values fail together with their
messages and leave the host as it was.
"""

from netlab import link, ping, snapshot
from test_vxlan_vtep import two_hypervisors, vtep


def test_bridge_by_name_or_dict_on_a_vtep(play, netns):
    hv1, hv2 = two_hypervisors(netns)
    tasks = [vtep(hv1, remote=hv2.ip, bridge='br0'), vtep(hv2, remote=hv1.ip, bridge='br0')]
    first, second = play(*tasks), play(*tasks)
    assert all(r['changed'] and not r.get('failed') for r in first), first
    assert [r['changed'] for r in second] == [False, False], [r['plan'] for r in second]
    assert link(hv1.ns, 'vx42')['master'] == 'br0'
    assert ping(hv1.vm, hv2.vm_ip, count=2)

    costly = vtep(hv1, remote=hv2.ip, bridge={'name': 'br0', 'cost': 7})
    before = snapshot(hv1.ns)
    checked = play(dict(costly, check_mode=True))[0]
    assert checked['changed'] and snapshot(hv1.ns) == before, checked
    changed, again = play(costly), play(costly)
    assert changed[0]['changed'] and not again[0]['changed'], (changed, again)
    assert changed[0]['interface']['bridge']['cost'] == 7

    before = snapshot(hv1.ns)
    cases = [
        (5, 'bridge must be a bridge name, or a dict with name and port options'),
        ({'cost': 3}, 'bridge must be a bridge name, or a dict with name and port options'),
        ({'name': 'br0', 'hairpn': True}, 'unknown option(s) hairpn'),
        ({'name': 'br0', 'cost': 'x'}, 'cost must be a int'),
        ({'name': 'br0', 'cost': 0}, 'cost must be between 1 and 65535'),
    ]
    results = play(*[vtep(hv1, remote=hv2.ip, bridge=value) for value, _message in cases])
    for (value, message), result in zip(cases, results):
        assert result.get('failed') is True and message in result['msg'], (value, result)
    # A bad bridge is told together with the request's other problems.
    both = play(vtep(hv1, remote=hv2.ip, vni=0, bridge={'cost': 3}))[0]
    assert 'vni must be between' in both['msg'] and 'bridge must be' in both['msg'], both
    assert snapshot(hv1.ns) == before
