"""kvm_vm_nic pure logic: names, MACs, libvirt XML, request checks, owner/group codec."""

import grp
import os
import pwd
import re

import pytest

from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.tap import Account
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import ifname_problem, mac_problem
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.vm_nic import (
    NicRequest, guest_mac, host_side_mac, libvirt_interface_xml, nic_name)

VM_NAMES = ['web01', 'a', 'database-primary-prod', 'Web 01', 'x' * 40, '---', u'caf\u00e9', 'vm.prod_1']


@pytest.mark.parametrize('vm', VM_NAMES)
@pytest.mark.parametrize('index', [0, 7, 255])
def test_default_name_is_always_a_valid_interface_name(vm, index):
    name = nic_name(vm, index)
    assert ifname_problem('name', name) is None, name
    assert len(name) <= 15
    assert not name.startswith('-')
    assert name.endswith('-%d' % index)


def test_short_plain_names_stay_readable():
    assert nic_name('web01', 0) == 'web01-0'
    assert nic_name('vm.prod_1', 3) == 'vm.prod_1-3'


def test_long_or_unusual_names_get_a_prefix_and_a_hash():
    assert nic_name('database-primary-prod', 0) == 'databas-f78ce-0'
    assert re.match(r'^web-01-[0-9a-f]{5}-0$', nic_name('Web 01', 0))
    assert re.match(r'^[0-9a-f]{5}-0$', nic_name('---', 0))


def test_names_that_share_a_prefix_do_not_collide():
    first = nic_name('database-primary-prod', 0)
    second = nic_name('database-primary-test', 0)
    assert first != second and first[:7] == second[:7]


def test_name_and_mac_are_the_same_on_every_run():
    # Fixed values: a change here moves every VM's NIC on every host.
    assert guest_mac('web01', 0) == '52:54:00:9f:9e:38'
    assert nic_name('web01', 1) == 'web01-1'


@pytest.mark.parametrize('vm', VM_NAMES)
def test_guest_macs_are_unicast_qemu_macs_and_differ_per_index(vm):
    macs = [guest_mac(vm, index) for index in range(4)]
    for mac in macs:
        assert mac.startswith('52:54:00:') and mac_problem('mac', mac) is None
    assert len(set(macs)) == 4


def test_host_side_of_a_tap_is_the_guest_mac_with_fe():
    assert host_side_mac('52:54:00:12:34:56') == 'fe:54:00:12:34:56'


def test_tap_xml_uses_the_precreated_device():
    xml = libvirt_interface_xml('tap', 'web01-0', '52:54:00:12:34:56', mtu=1500)
    assert xml == ("<interface type='ethernet'>\n"
                   "  <mac address='52:54:00:12:34:56'/>\n"
                   "  <target dev='web01-0' managed='no'/>\n"
                   "  <model type='virtio'/>\n"
                   "</interface>\n")


def test_tap_xml_carries_a_non_default_mtu():
    assert "  <mtu size='9000'/>\n" in libvirt_interface_xml('tap', 't', '52:54:00:12:34:56', mtu=9000)


def test_macvtap_xml_is_direct_on_the_parent():
    xml = libvirt_interface_xml('macvtap', 'db01-0', '52:54:00:12:34:56', parent='eth1', mode='vepa')
    assert "<interface type='direct'>" in xml
    assert "<source dev='eth1' mode='vepa'/>" in xml
    assert '<target' not in xml


def test_xml_attribute_values_are_escaped():
    xml = libvirt_interface_xml('tap', "it's&<", '52:54:00:12:34:56')
    assert "dev='it&apos;s&amp;&lt;'" in xml


def problems(**overrides):
    args = dict(vm='web01', index=0, nic_type='tap', name='web01-0', mac='52:54:00:12:34:56')
    args.update(overrides)
    return NicRequest(args.pop('vm'), args.pop('index'), args.pop('nic_type'), args.pop('name'),
                      args.pop('mac')).validate()


def test_a_good_request_has_no_problems():
    assert problems() == []


@pytest.mark.parametrize('overrides, message', [
    (dict(vm=''), 'vm must name the virtual machine'),
    (dict(index=-1), 'index must be between 0 and 255'),
    (dict(index=256), 'index must be between 0 and 255'),
    (dict(mac='52:54:00:12:34'), 'is not a MAC address'),
    (dict(mac='33:33:00:00:00:01'), 'multicast'),
    (dict(mac='FE:54:00:12:34:56'), 'reserved for the host side'),
])
def test_bad_requests_say_what_to_do(overrides, message):
    found = problems(**overrides)
    assert len(found) == 1 and message in found[0], found


def test_an_fe_mac_is_fine_for_a_macvtap():
    assert problems(nic_type='macvtap', mac='fe:54:00:12:34:56') == []


def test_account_codec_takes_names_and_ids():
    user = Account('user')
    group = Account('group')
    root_group = grp.getgrgid(0).gr_name
    assert user.encode('root') == 0 and user.encode('0') == 0 and user.encode(0) == 0
    assert group.encode(root_group) == 0
    assert user.decode(0) == 'root'
    assert user.same('root', 'root') and user.same('0', 'root') and user.same(0, 'root')
    assert not user.same('root', None)
    nobody = pwd.getpwnam('nobody').pw_uid
    assert not user.same('root', user.decode(nobody))


def test_unknown_accounts_are_reported_with_advice():
    assert 'no such user' in Account('user').check('owner', 'no-such-user-x')
    assert 'no such group' in Account('group').check('group', 'no-such-group-x')
    assert Account('user').check('owner', str(os.getuid())) is None


def test_an_id_without_a_name_shows_as_the_id():
    unused = 4000000000
    assert Account('user').decode(unused) == unused
