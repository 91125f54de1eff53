"""The full ansible-playbook path inside the guest, for a kind only the lab has."""

from netlab import link, run


def test_vlan_sub_through_ansible_playbook(playbook, netns):
    ns = netns().name
    run(['ip', 'link', 'add', 'trunk0', 'type', 'veth', 'peer', 'name', 'trunk0p'], netns=ns)
    run(['ip', 'link', 'set', 'trunk0', 'up'], netns=ns)
    args = dict(name='trunk0.10', parent='trunk0', vlan_id=10, netns=ns)
    first, second, checked = playbook(
        {'kvmnet.hostnet.vlan_sub': args},
        {'kvmnet.hostnet.vlan_sub': args},
        {'kvmnet.hostnet.vlan_sub': dict(args, vlan_id=20), 'check_mode': True, 'diff': True})
    assert first['changed'] and not first.get('failed'), first
    assert second['changed'] is False, second
    assert checked['changed'] and checked['recreated'], checked
    data = link(ns, 'trunk0.10')['linkinfo']['info_data']
    assert (data['protocol'], data['id']) == ('802.1Q', 10)
