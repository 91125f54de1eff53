"""The VM-safety guardrail for a bond that stays in its bridge (pure logic, a stub host)."""

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core.engine import LinkPlan
from ansible_collections.kvmnet.hostnet.plugins.module_utils.facets.bridge_ports import StayingBridgePort

MODE_ACTIVE_BACKUP = 1


class Link:
    def __init__(self, name, kind, index, master=None, data=None):
        self.name, self.kind, self.index, self.master = name, kind, index, master
        self.data = data or {}


class Host:
    netns = None

    def __init__(self, *links):
        self.links = dict((link.name, link) for link in links)

    def link(self, name):
        return self.links.get(name)

    def link_by_index(self, index):
        return next((link for link in self.links.values() if link.index == index), None)


def problems(host, mode=None, switch_configured=False):
    guard = StayingBridgePort('bond0', switch_configured=switch_configured)
    guard.see({'bond0': LinkPlan('bond0', 'bond', current=host.link('bond0'),
                                 view={'mode': mode} if mode else {})})
    return guard.check(host, None)


def bridged(master=2, kind='bridge'):
    return Host(Link('bond0', 'bond', 1, master=master, data={'IFLA_BOND_MODE': MODE_ACTIVE_BACKUP}),
                Link('br-vm', kind, 2))


def test_a_bond_in_a_bridge_is_judged_by_the_mode_this_run_gives_it():
    refused, = problems(bridged(), mode='balance-xor')
    assert 'bond bond0 in mode balance-xor must not be a port of a bridge' in refused
    assert problems(bridged(), mode='802.3ad') == []
    assert problems(bridged()) == []  # keeps active-backup


def test_the_operator_override_and_links_outside_bridges_pass():
    assert problems(bridged(), mode='balance-rr', switch_configured=True) == []
    assert problems(bridged(master=None), mode='balance-rr') == []
    assert problems(bridged(kind='bond'), mode='balance-rr') == []
    assert problems(Host(), mode='balance-rr') == []  # a new bond joins no bridge
