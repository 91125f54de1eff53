"""Each option is declared once: the documentation must agree, the role must not copy.

The argument spec of every link module derives from its kind's declarations
(kinds/<kind>.py). Ansible reads DOCUMENTATION as static text, so it is a copy; these
tests fail on any drift between it and the derived spec (name, type, elements,
choices, default, required, suboptions). The role passes its item lists to
host_network, which validates each item with its module's own spec, so the role's
meta/argument_specs.yml declares the lists and none of the items' options.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.topology import SECTIONS
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import MODULES

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))
ROLE_SPECS = os.path.join(REPO, 'roles', 'hypervisor_network', 'meta', 'argument_specs.yml')
# Role variable holding the items of each module.
ROLE_ITEMS = {
    'hypervisor_network_bonds': 'bond_iface',
    'hypervisor_network_teams': 'team_iface',
    'hypervisor_network_vlans': 'vlan_sub',
    'hypervisor_network_bridges': 'linux_bridge',
    'hypervisor_network_vxlans': 'vxlan_vtep',
    'hypervisor_network_macvlans': 'macvlan_iface',
    'hypervisor_network_vm_nics': 'kvm_vm_nic',
}


def described(entry):
    """What a documented or role option says about its value, in spec terms."""
    view = dict(type=entry.get('type', 'str'), elements=entry.get('elements'),
                choices=entry.get('choices'), default=entry.get('default'),
                required=bool(entry.get('required', False)))
    suboptions = entry.get('suboptions', entry.get('options'))
    view['suboptions'] = None if suboptions is None else \
        dict((name, described(sub)) for name, sub in suboptions.items())
    return view


def differences(where, documented, spec):
    """Every way ``documented`` (name -> entry) differs from ``spec``, as readable lines."""
    problems = []
    for name in sorted(set(spec) - set(documented)):
        problems.append('%s: option %s is in the argument spec but not documented' % (where, name))
    for name in sorted(set(documented) - set(spec)):
        problems.append('%s: option %s is documented but not in the argument spec' % (where, name))
    for name in sorted(set(documented) & set(spec)):
        doc, have = described(documented[name]), described(spec[name])
        for key in ('type', 'elements', 'choices', 'default', 'required'):
            if doc[key] != have[key]:
                problems.append('%s: option %s %s is %r in the documentation, %r in the argument '
                                'spec' % (where, name, key, doc[key], have[key]))
        if (doc['suboptions'] is None) != (have['suboptions'] is None):
            problems.append('%s: option %s suboptions documented %s, in the spec %s' % (
                where, name, doc['suboptions'] is not None, have['suboptions'] is not None))
        elif doc['suboptions'] is not None:
            problems.extend(differences('%s.%s' % (where, name), documented[name].get(
                'suboptions', documented[name].get('options')), spec[name]['options']))
    return problems


@pytest.fixture(scope='module')
def rendered_docs():
    """Each module's documentation as ansible-doc renders it (doc fragments merged)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.cache', 'collections'),
               ANSIBLE_NOCOLOR='1')
    ansible_doc = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
    names = ['kvmnet.hostnet.' + name for name in MODULES]
    out = subprocess.run([ansible_doc, '--json', '-t', 'module'] + names, env=env, check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    return dict((name.split('.')[-1], entry['doc']) for name, entry in json.loads(out).items())


@pytest.mark.parametrize('name', list(MODULES))
def test_documentation_matches_the_derived_argument_spec(rendered_docs, name):
    problems = differences(name, rendered_docs[name]['options'], MODULES[name].argument_spec)
    assert not problems, '\n'.join(problems)


def test_role_item_lists_leave_their_options_to_the_modules():
    with open(ROLE_SPECS) as handle:
        role = yaml.safe_load(handle)['argument_specs']['main']['options']
    sections = dict((module_name, section) for section, (module_name, _singular, _kinds)
                    in SECTIONS.items())
    problems = []
    for variable, module in sorted(ROLE_ITEMS.items()):
        entry = role[variable]
        if (entry.get('type'), entry.get('elements')) != ('list', 'dict'):
            problems.append('%s must be a list of dicts' % variable)
        if 'options' in entry:
            problems.append('%s redeclares the options of kvmnet.hostnet.%s: %s' % (
                variable, module, ', '.join(sorted(entry['options']))))
        if 'kvmnet.hostnet.%s' % module not in ' '.join(entry['description']):
            problems.append('%s does not say whose options its items take' % variable)
        if variable != 'hypervisor_network_' + sections.get(module, '?'):
            problems.append('%s is not the host_network section of %s' % (variable, module))
    assert not problems, '\n'.join(problems)


def test_a_drifted_copy_is_reported():
    spec = {'mode': {'type': 'str', 'choices': ['a', 'b']}, 'miimon': {'type': 'int'}}
    documented = {'mode': {'type': 'str', 'choices': ['a']}, 'updelay': {'type': 'int'}}
    assert differences('bond_iface', documented, spec) == [
        'bond_iface: option miimon is in the argument spec but not documented',
        'bond_iface: option updelay is documented but not in the argument spec',
        "bond_iface: option mode choices is ['a'] in the documentation, ['a', 'b'] in the "
        "argument spec",
    ]


def test_the_bridge_fragment_names_every_port_option_and_its_range(rendered_docs):
    from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import PORT_OPTIONS

    text = ' '.join(rendered_docs['bond_iface']['options']['bridge']['description'])
    for key, (_nla, _keyword, codec) in PORT_OPTIONS.items():
        assert 'C(%s) (%s)' % (key, codec.ansible_type) in text, key
        if codec.minimum is not None:
            assert '%s to %s' % (codec.minimum, codec.maximum) in text, key


@pytest.mark.parametrize('name', [name for name in MODULES if 'bridge' in MODULES[name].argument_spec])
def test_every_bridge_option_is_the_shared_one(rendered_docs, name):
    assert MODULES[name].argument_spec['bridge'] == {'type': 'raw'}
    assert rendered_docs[name]['options']['bridge']['description'] == \
        rendered_docs['vxlan_vtep']['options']['bridge']['description']
