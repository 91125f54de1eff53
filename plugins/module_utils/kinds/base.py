# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a link kind is declared: ``LinkKind`` and its ``KindOption`` table.

The per-kind knowledge lives in ``kinds/<kind>.py`` as a ``LinkKind``: which options
the kind has, which IFLA_INFO_DATA attribute each maps to, in which unit, and whether
a change can be made in place or needs the link to be recreated.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.options import Option
from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.values import Codec


class KindOption(Option):
    """One kind option: its IFLA_INFO_DATA attribute, codec, and how it changes.

    The Ansible side derives from the codec: its type, its choices (an enum's names)
    and its range; ``default`` and ``choices`` override it for one module.

    ``in_place=False`` means the kernel cannot change it on a live link (a VXLAN's
    VNI, a VLAN's id): a different value recreates the link.
    ``link_ref=True`` means the value is an interface name carried as an ifindex.
    """

    def __init__(self, nla, codec=None, in_place=True, link_ref=False, top_level=False,
                 combine=None, default=None, choices=None):
        self.nla = nla
        self.codec = codec or Codec()
        super(KindOption, self).__init__(
            type='str' if link_ref else self.codec.ansible_type, default=default,
            choices=choices if choices is not None else getattr(self.codec, 'choices', None),
            minimum=self.codec.minimum, maximum=self.codec.maximum)
        self.in_place = in_place
        self.link_ref = link_ref
        # The attribute sits in the RTM_NEWLINK message itself (a VLAN's IFLA_LINK),
        # not in IFLA_INFO_DATA.
        self.top_level = top_level
        # combine(a, b): merges two encoded values of options sharing one attribute
        # (the VLAN flag bits all travel in IFLA_VLAN_FLAGS with a mask).
        self.combine = combine
        # pyroute2 takes IFLA_BR_FORWARD_DELAY as the keyword br_forward_delay.
        self.keyword = nla[len('IFLA_'):].lower()


class LinkKind:
    """What one kind of link looks like. Subclass it in kinds/<kind>.py."""

    #: IFLA_INFO_KIND
    kind = None
    #: option name -> KindOption, in the order they are shown
    options = OrderedDict()

    def validate(self, wanted):
        """Cross-option checks on the request (user units); return problems."""
        return []

    def check(self, net, wanted, state):
        """Checks against the host; ``state`` is the LinkState or None."""
        return []

    def changes_in_place(self, key, wanted, actual):
        """Whether option ``key`` can go from ``actual`` to ``wanted`` on a live link.

        Override when only some transitions need a recreate (a macvlan's mode can
        change, except to or from passthru).
        """
        return self.options[key].in_place

    def stages(self, changes, state):
        """Split one set of in-place changes into ordered netlink requests."""
        return [changes]

    def create_arguments(self, net, wanted):
        """Extra pyroute2 keywords for RTM_NEWLINK beyond the declared options."""
        return {}

    def extra_view(self, net, state):
        """Extra read-only facts to show for this kind (e.g. a macvtap's /dev/tapN)."""
        return {}

    def bridge_port_problem(self, net, name, state, plan, bridge, switch_configured):
        """Why link ``name`` must not be a port of ``bridge``, a bridge that carries VMs.

        Asked only by facets.bridge_ports.vm_bridge_problem, for a link that joins or
        stays in a bridge, as this run leaves it: ``plan`` is its LinkPlan when this
        run creates or changes it (None otherwise), ``state`` its LinkState before the
        run (None when new). ``switch_configured`` is the
        operator's word that the switch side aggregates the members (static or
        LACP), which makes load-balancing modes safe.
        """
        return None
