"""The quick item check returns what Ansible's validator returns, or leaves it to it."""

import json
import random

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.arguments import QuickSpec
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import MODULES


def ansible_result(spec, raw, **module_kwargs):
    outcome = ArgumentSpecValidator(spec, **module_kwargs).validate(raw)
    assert not outcome.error_messages, (outcome.error_messages, raw)
    return outcome.validated_parameters


def canonical_value(entry, rng, depth=0):
    """A value Ansible would accept as it is for this option."""
    kind = entry.get('type', 'str')
    if entry.get('choices') is not None:
        choices = list(entry['choices'])
        if kind == 'list':
            return rng.sample(choices, rng.randint(0, len(choices)))
        return rng.choice(choices)
    if kind == 'list':
        elements = entry.get('elements', 'raw')
        sub = dict(entry, type=elements)
        sub.pop('elements', None)
        if elements != 'dict':
            sub.pop('options', None)
        return [canonical_value(sub, rng, depth + 1) for _element in range(rng.randint(0, 3))]
    if kind == 'dict':
        if entry.get('options') is not None:
            return canonical_item(entry['options'], rng, depth + 1)
        return {'key%d' % rng.randint(0, 9): rng.randint(0, 9)}
    return {
        'str': lambda: 'v%d' % rng.randint(0, 999),
        'int': lambda: rng.randint(0, 4094),
        'float': lambda: rng.choice([0.0, 1.5, 15.0, 0, 15]),  # an int is taken as a float
        'bool': lambda: rng.choice([True, False]),
        'raw': lambda: rng.choice(['x', 7, ['a', 'b']]),
    }[kind]()


def canonical_item(spec, rng, depth=0):
    return dict((name, canonical_value(entry, rng, depth)) for name, entry in spec.items()
                if entry.get('required') or rng.random() < 0.5)


QUICK_MODULES = [name for name, module in sorted(MODULES.items())
                 if QuickSpec(module.argument_spec, **module.module_kwargs).usable]


def test_every_module_without_cross_option_rules_takes_the_quick_check():
    # macvlan_iface has required_if: Ansible's validator checks it.
    assert set(MODULES) - set(QUICK_MODULES) == {'macvlan_iface'}


@pytest.mark.parametrize('name', QUICK_MODULES)
def test_canonical_items_validate_exactly_as_ansible_validates_them(name):
    spec = MODULES[name].argument_spec
    quick = QuickSpec(spec)
    rng = random.Random(name)
    for _attempt in range(300):
        raw = canonical_item(spec, rng)
        # As JSON: 0 == 0.0, but a float option must come back as a float.
        assert json.dumps(quick.validate(raw), sort_keys=True) == \
            json.dumps(ansible_result(spec, raw), sort_keys=True), raw


@pytest.mark.parametrize('raw', [
    dict(name='br0', mtu='1500'),           # a string Ansible converts to an int
    dict(name='br0', stp='yes'),            # a bool spelled as Ansible accepts it
    dict(name='br0', mtu=True),             # a bool for an int
    dict(name='br0', mtu=None),             # an explicit null
    dict(name='br0', colour='blue'),        # an option the module does not have
    dict(name='br0', state='gone'),         # a choice not offered
    dict(stp=False),                        # the required name missing
    'br0',
])
def test_anything_else_is_left_to_ansible(raw):
    assert QuickSpec(MODULES['linux_bridge'].argument_spec).validate(raw) is None


@pytest.mark.parametrize('fdb', [
    [{'mac': '00:00:00:00:00:00', 'dst': 7}],        # an int Ansible converts to a str
    [{'mac': '00:00:00:00:00:00'}],                   # a required suboption missing
    [{'mac': '00:00:00:00:00:00', 'dst': '192.0.2.2', 'via': 'x'}],  # an unknown suboption
    ['00:00:00:00:00:00'],                            # a str for a dict element
])
def test_a_suboption_that_is_not_canonical_is_left_to_ansible(fdb):
    raw = dict(name='vx1', vni=1, fdb=fdb)
    assert QuickSpec(MODULES['vxlan_vtep'].argument_spec).validate(raw) is None


def test_validated_params_share_no_list_or_dict_with_the_input_or_the_spec():
    spec = {'ports': {'type': 'list', 'elements': 'str', 'default': []},
            'extra': {'type': 'dict'}}
    quick = QuickSpec(spec)
    raw = {'extra': {'a': [1]}}
    first = quick.validate(raw)
    first['ports'].append('eth0')
    first['extra']['a'].append(2)
    assert quick.validate(raw) == {'ports': [], 'extra': {'a': [1]}}


def test_a_spec_feature_it_does_not_know_sends_every_item_to_ansible():
    assert not QuickSpec({'name': {'type': 'str', 'aliases': ['dev']}}).usable
    assert not QuickSpec({'name': {'type': 'path'}}).usable
    # Choices over elements that may be unhashable: Ansible's validator decides.
    assert not QuickSpec({'ports': {'type': 'list', 'choices': ['a'], 'elements': 'raw'}}).usable
    assert QuickSpec({'ports': {'type': 'list', 'choices': ['a'], 'elements': 'str'}}).usable
    assert QuickSpec({'name': {'type': 'path'}}).validate({'name': '/x'}) is None
