"""host_network's request: items validated by their own module's spec, problems named."""

import inspect

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import engine
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.topology import (
    SECTIONS, Item, parse_topology)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import MODULES


def request(**sections):
    params = dict(netns=None, purge=[])
    params.update((section, []) for section in SECTIONS)
    params.update(sections)
    return params


def test_every_section_holds_the_items_of_one_link_module():
    assert set(module for module, _singular, _kinds in SECTIONS.values()) == set(MODULES)
    # Built in the order the modules are registered: aggregates first, VM NICs last.
    assert [SECTIONS[s][0] for s in SECTIONS] == list(MODULES)


def test_valid_items_become_items_in_build_order_with_defaults_filled():
    items, problems = parse_topology(request(
        vm_nics=[dict(vm='web01', bridge='br0')],
        bridges=[dict(name='br0', stp=False)],
    ))
    assert problems == []
    assert [item.title for item in items] == ['bridge br0', 'vm_nic web01-0']
    assert items[0].params['state'] == 'present' and items[0].params['up'] is True
    assert items[1].params['index'] == 0


def test_every_problem_of_every_item_is_named_by_its_item():
    items, problems = parse_topology(request(
        bridges=[dict(name='br0', stp='maybe'), 'br1'],
        vxlans=[dict(name='vx1', vni=1, colour='blue')],
        vm_nics=[dict(bridge='br0')],
    ))
    assert items == []
    assert any(p.startswith('bridge br0: ') and 'stp' in p for p in problems), problems
    assert any(p.startswith('bridges[1]: ') and 'dict of linux_bridge options' in p
               for p in problems), problems
    assert any(p.startswith('vxlan vx1: unsupported option(s) colour; vxlan_vtep takes: ')
               for p in problems), problems
    assert any(p.startswith('vm_nic vm_nics[0]: ') and 'vm' in p for p in problems), problems


def test_namespace_and_commit_confirmed_options_belong_to_the_whole_call():
    _items, problems = parse_topology(request(
        netns='hv1',
        bridges=[dict(name='br0', netns='hv2'), dict(name='br1', netns='hv1'),
                 dict(name='br2', confirm_timeout=60)],
    ))
    assert len(problems) == 2, problems
    assert problems[0].startswith('bridge br0: netns hv2 differs')
    assert problems[1] == 'bridge br2: confirm_timeout belong(s) to the whole call, not to one item'


def test_a_macvlan_moved_to_another_namespace_needs_its_own_module():
    _items, problems = parse_topology(request(
        macvlans=[dict(name='mv0', parent='eth0', target_netns='vm1')]))
    assert problems == ['macvlan mv0: it would be managed from namespace vm1, not from the '
                        'namespace of this call; use kvmnet.hostnet.macvlan_iface for it']


def test_persist_belongs_to_the_whole_call_not_to_an_item():
    _items, problems = parse_topology(request(
        bridges=[dict(name='br0', persist='auto'), dict(name='br1', persist='none')]))
    assert problems == ['bridge br0: persist belongs to the whole call (persist: none of '
                        'host_network), not to one item; got persist: auto']
    items, problems = parse_topology(dict(request(
        bridges=[dict(name='br0', persist='restore'), dict(name='br1')]), persist='restore'))
    assert problems == [] and len(items) == 2


def test_a_link_listed_twice_is_refused():
    _items, problems = parse_topology(request(
        bridges=[dict(name='br0')], vm_nics=[dict(vm='x', name='br0', bridge='br1')]))
    assert problems == ['vm_nic br0: link br0 is also managed by bridge br0; list each link once']


def test_an_item_speaks_for_every_step_the_engine_asks_of_a_facet():
    # A new Facet method that Item does not pass on to the item's facets would be
    # silently skipped for every host_network item.
    facet_methods = set(name for name, member in inspect.getmembers(engine.Facet)
                        if not name.startswith('_') and (inspect.isfunction(member)
                                                         or isinstance(member, property)))
    overridden = set(name for name in facet_methods
                     if getattr(Item, name) is not getattr(engine.Facet, name))
    assert facet_methods - overridden == set()
