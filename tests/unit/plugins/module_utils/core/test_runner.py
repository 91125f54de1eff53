"""The LinkModule contract: one registry, in build order, that validates items alone."""

import importlib

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import MODULES

BUILD_ORDER = ['bond_iface', 'team_iface', 'vlan_sub', 'linux_bridge', 'vxlan_vtep',
               'veth_pair', 'macvlan_iface', 'kvm_vm_nic']


def test_modules_are_registered_in_the_order_a_host_is_built():
    assert list(MODULES) == BUILD_ORDER


@pytest.mark.parametrize('name', BUILD_ORDER)
def test_each_module_file_runs_its_registered_link_module(name):
    code = importlib.import_module('ansible_collections.kvmnet.hostnet.plugins.modules.' + name)
    assert code.MODULE is MODULES[name]
    assert MODULES[name].name == name


def validate(name, params):
    module = MODULES[name]
    return ArgumentSpecValidator(module.argument_spec, **module.module_kwargs).validate(params)


def test_an_item_validates_outside_ansible_module_with_defaults_filled():
    result = validate('linux_bridge', {'name': 'br0'})
    assert result.error_messages == []
    assert result.validated_parameters['state'] == 'present'
    assert result.validated_parameters['up'] is True


def test_module_rules_apply_to_an_item_too():
    # macvlan_iface needs a parent when present: a required_if rule, not a spec key.
    result = validate('macvlan_iface', {'name': 'mv0'})
    assert 'parent' in ' '.join(result.error_messages)


def test_netns_follows_the_item():
    assert MODULES['linux_bridge'].netns({'netns': 'ns1'}) == 'ns1'
    assert MODULES['macvlan_iface'].netns({'netns': 'ns1', 'target_netns': 'ns2'}) == 'ns2'
