# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""802.1Q/802.1ad VLAN sub-interface (IFLA_INFO_KIND "vlan").

The kernel silently ignores a new VLAN id or protocol on a live link (the request
"succeeds" and nothing changes), and the parent is fixed at creation: all three
recreate the link. Flags and QoS maps change in place.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.options import Option
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.runner import (
    BRIDGE_ATTACHMENT_OPTION, LinkModule, bridge_attachment, link_argument_spec, link_summary)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import (
    IFNAMSIZ, Choice, Codec)
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.link import LinkFacet
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds.base import KindOption, LinkKind

# linux/if_vlan.h
VLAN_FLAG_REORDER_HDR = 0x1
VLAN_FLAG_GVRP = 0x2
VLAN_FLAG_LOOSE_BINDING = 0x4
VLAN_FLAG_MVRP = 0x8

PROTOCOLS = (('802.1Q', 0x8100), ('802.1ad', 0x88a8))
PCP_MAX = 7
SKB_PRIORITY_MAX = 0xffffffff
QOS_MAPS = ('ingress_qos_map', 'egress_qos_map')


class FlagBit(Codec):
    """One bit of IFLA_VLAN_FLAGS; the mask makes the kernel leave the other bits alone."""

    ansible_type = 'bool'

    def __init__(self, bit):
        super(FlagBit, self).__init__()
        self.bit = bit

    def encode(self, value):
        return {'flags': self.bit if value else 0, 'mask': self.bit}

    def decode(self, value):
        return bool(value['flags'] & self.bit)

    def check(self, name, value):
        return None


def combine_flags(first, second):
    return {'flags': first['flags'] | second['flags'], 'mask': first['mask'] | second['mask']}


def parse_qos_map(option, value, from_max, to_max):
    """{from: to} from a dict or a list of "from:to"; (mapping, problems).

    A mapping to 0 is the kernel's "no mapping" (it is never reported back), so it
    is dropped rather than compared.
    """
    pairs = []
    problems = []
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)):
        for item in value:
            text = str(item)
            if isinstance(item, dict) and set(item) == set(['from', 'to']):
                pairs.append((item['from'], item['to']))
            elif text.count(':') == 1:
                pairs.append(tuple(text.split(':')))
            else:
                problems.append('%s entry %r is not "from:to" (e.g. "2:5")' % (option, item))
    else:
        problems.append('%s must be a dict {from: to} or a list of "from:to", got %r' % (option, value))
    mapping = {}
    for source, target in pairs:
        try:
            source, target = int(str(source).strip()), int(str(target).strip())
        except ValueError:
            problems.append('%s entry %s:%s: both sides must be integers' % (option, source, target))
            continue
        if not 0 <= source <= from_max or not 0 <= target <= to_max:
            problems.append('%s entry %s:%s: "from" must be 0-%d and "to" 0-%d' % (
                option, source, target, from_max, to_max))
            continue
        if source in mapping and mapping[source] != target:
            problems.append('%s maps %s twice (%s and %s)' % (option, source, mapping[source], target))
            continue
        mapping[source] = target
    return dict((k, v) for k, v in mapping.items() if v), problems


class _ZeroingMap(dict):
    """A QoS map whose "to 0" entries are sent (they remove a mapping), not dropped."""


class QosMap(Codec):
    """IFLA_VLAN_INGRESS_QOS / EGRESS_QOS: nested IFLA_VLAN_QOS_MAPPING {from, to} entries.

    Ingress maps the frame's PCP (0-7) to an skb priority; egress maps an skb
    priority to a PCP (0-7).
    """

    ansible_type = 'raw'

    def __init__(self, from_max, to_max):
        super(QosMap, self).__init__()
        self.from_max = from_max
        self.to_max = to_max

    def parse(self, value):
        return parse_qos_map('map', value, self.from_max, self.to_max)[0]

    def encode(self, value):
        mapping = value if isinstance(value, _ZeroingMap) else self.parse(value)
        return {'attrs': [('IFLA_VLAN_QOS_MAPPING', {'from': source, 'to': target})
                          for source, target in sorted(mapping.items())]}

    def decode(self, value):
        # pyroute2's nest and the lean decoder's dict both list their entries in 'attrs'.
        return dict((entry['from'], entry['to'])
                    for name, entry in value['attrs'] if name == 'IFLA_VLAN_QOS_MAPPING')

    def same(self, wanted, actual):
        return self.parse(wanted) == self.parse(actual or {})

    def check(self, name, value):
        problems = parse_qos_map(name, value, self.from_max, self.to_max)[1]
        return '; '.join(problems) if problems else None


class VlanKind(LinkKind):
    kind = 'vlan'
    options = OrderedDict([
        ('parent', KindOption('IFLA_LINK', link_ref=True, in_place=False, top_level=True)),
        ('vlan_id', KindOption('IFLA_VLAN_ID', Codec(1, 4094), in_place=False)),
        ('protocol', KindOption('IFLA_VLAN_PROTOCOL', Choice(PROTOCOLS), in_place=False)),
        ('reorder_hdr', KindOption('IFLA_VLAN_FLAGS', FlagBit(VLAN_FLAG_REORDER_HDR),
                                   combine=combine_flags)),
        ('gvrp', KindOption('IFLA_VLAN_FLAGS', FlagBit(VLAN_FLAG_GVRP), combine=combine_flags)),
        ('mvrp', KindOption('IFLA_VLAN_FLAGS', FlagBit(VLAN_FLAG_MVRP), combine=combine_flags)),
        ('loose_binding', KindOption('IFLA_VLAN_FLAGS', FlagBit(VLAN_FLAG_LOOSE_BINDING),
                                     combine=combine_flags)),
        ('ingress_qos_map', KindOption('IFLA_VLAN_INGRESS_QOS', QosMap(PCP_MAX, SKB_PRIORITY_MAX))),
        ('egress_qos_map', KindOption('IFLA_VLAN_EGRESS_QOS', QosMap(SKB_PRIORITY_MAX, PCP_MAX))),
    ])

    def extra_view(self, net, state):
        # The kernel leaves IFLA_VLAN_FLAGS out when no flag is set (measured on 6.1):
        # that reads as all flags off, not as unknown.
        flags = state.data.get('IFLA_VLAN_FLAGS') or {'flags': 0, 'mask': 0}
        return OrderedDict((key, option.codec.decode(flags)) for key, option in self.options.items()
                           if isinstance(option.codec, FlagBit))

    def stages(self, changes, state):
        """QoS maps are an exact set: entries not wanted are sent as "to 0" (removed).

        The undo sends the old entries back and zeroes the ones this run added.
        """
        staged = OrderedDict(changes)
        for key in QOS_MAPS:
            if key not in staged:
                continue
            codec = self.options[key].codec
            wanted, actual = codec.parse(staged[key][0]), codec.parse(staged[key][1] or {})
            forward = dict(wanted)
            forward.update((source, 0) for source in actual if source not in wanted)
            backward = dict(actual)
            backward.update((source, 0) for source in wanted if source not in actual)
            staged[key] = (_ZeroingMap(forward), _ZeroingMap(backward))
        return [staged]


def default_name(parent, vlan_id):
    return '%s.%s' % (parent, vlan_id)


def default_name_problem(parent, vlan_id):
    """The <parent>.<vlan_id> name must fit IFNAMSIZ; otherwise ask for ``name``."""
    name = default_name(parent, vlan_id)
    if len(name) <= IFNAMSIZ:
        return None
    return ('the default name %s (<parent>.<vlan_id>) is %d characters long and Linux '
            'interface names have at most %d: set name, e.g. name: vlan%s'
            % (name, len(name), IFNAMSIZ, vlan_id))


class VlanLinkFacet(LinkFacet):
    """A VLAN link; its MTU must not exceed the parent's (the kernel says only ERANGE).

    ``problems``: what is wrong with the request's name, told with the other problems.
    """

    def __init__(self, *args, **kwargs):
        self.request_problems = kwargs.pop('problems', [])
        super(VlanLinkFacet, self).__init__(*args, **kwargs)

    def validate(self):
        problems = list(self.request_problems) + super(VlanLinkFacet, self).validate()
        if self.state == 'present':
            if 'parent' not in self.wanted:
                problems.append('parent is required with state: present')
            if 'vlan_id' not in self.wanted:
                problems.append('vlan_id is required with state: present (%d-%d)' % (
                    self.link_kind.options['vlan_id'].minimum, self.link_kind.options['vlan_id'].maximum))
        return problems

    def check(self, net, current):
        problems = super(VlanLinkFacet, self).check(net, current)
        if self.state == 'absent' or self.mtu is None:
            return problems
        parent_name = self.wanted.get('parent') or (current or {}).get('parent')
        parent = net.link(parent_name) if parent_name else None
        if parent is not None and parent.mtu is not None and self.mtu > parent.mtu:
            problems.append('mtu %s is above the MTU of the parent %s (%s): a VLAN cannot carry '
                            'larger frames than its parent; raise the parent MTU first or use at '
                            'most %s' % (self.mtu, parent.name, parent.mtu, parent.mtu))
        return problems


KIND = VlanKind()


def link_name(params):
    """(interface name or None, problems)."""
    if params['name']:
        return params['name'], []
    if not params['parent'] or params['vlan_id'] is None:
        return None, ['name is required unless parent and vlan_id are given '
                      '(the default name is <parent>.<vlan_id>)']
    problem = default_name_problem(params['parent'], params['vlan_id'])
    if problem:
        return None, [problem]
    return default_name(params['parent'], params['vlan_id']), []


def build_facets(params):
    name, problems = link_name(params)
    # A placeholder name lets the facets' own checks run when the name is the problem.
    name = name or 'unnamed'
    if params['state'] == 'absent':
        return [VlanLinkFacet(KIND, name, state='absent', title='vlan', problems=problems)]
    options = dict((key, params[key]) for key in KIND.options)
    for key in QOS_MAPS:
        if options[key] is not None:
            codec = KIND.options[key].codec
            mapping, found = parse_qos_map(key, options[key], codec.from_max, codec.to_max)
            if not found:  # else the codec's check tells what is wrong
                options[key] = mapping
    facets = [VlanLinkFacet(KIND, name, options=options, mtu=params['mtu'], mac=params['mac'],
                            up=params['up'], title='vlan', problems=problems)]
    attachment = bridge_attachment(name, params['bridge'])
    return facets + ([attachment] if attachment else [])


def _with_qos_keys_as_text(interface, after):
    for key in QOS_MAPS:
        if interface.get(key) is not None:
            # JSON object keys are strings; "from" is a number either way.
            interface[key] = dict((str(k), v) for k, v in sorted(interface[key].items()))


summarize = link_summary('vlan', _with_qos_keys_as_text)


MODULE = LinkModule(
    'vlan_sub',
    link_argument_spec(
        KIND,
        name=Option('str'),  # <parent>.<vlan_id> when left out
        bridge=BRIDGE_ATTACHMENT_OPTION,
    ),
    build_facets, summarize, kernel_module='8021q')
