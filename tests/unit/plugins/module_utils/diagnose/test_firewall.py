"""The firewall model: a drop verdict only when every condition of the rule certainly holds."""

import json

from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose import firewall

BRIDGED = dict(iif='br0', oif='br0', bridged=True)
VXLAN = dict(iif='eth0', proto='udp', dport=4789)

# What Docker leaves in FORWARD, plus an operator's bridge rule in DOCKER-USER.
DOCKER = '''*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:DOCKER-USER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-USER -i brvm -o brvm -m comment --comment "VM bridge" -j ACCEPT
-A DOCKER-USER -j RETURN
-A INPUT -p udp -m multiport --dports 4000:4999,8472 -j DROP
COMMIT
'''


def load(text=DOCKER, nft=None):
    found = firewall.Firewall()
    found.tables.extend(firewall.parse_iptables_save(text, found.nat_rules))
    if nft is not None:
        found.tables.extend(firewall.parse_nft_json(json.dumps(nft), found.nat_rules))
    return found


def test_docker_forward_policy_drops_bridged_traffic_of_other_bridges_only():
    rules = load()
    assert rules.dropped('forward', dict(BRIDGED, iif='brvm', oif='brvm')) == []
    (where, why), = rules.dropped('forward', BRIDGED)
    assert where == ('iptables filter', 'FORWARD') and 'policy DROP' in why
    assert rules.nat_rules and 'MASQUERADE' in rules.nat_rules[0]
    assert 'DOCKER-USER' in rules.chain_names('iptables filter')


def test_conditional_rules_do_not_decide():
    text = ('*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -s 10.0.0.0/8 -j DROP\n'
            '-A FORWARD -p tcp --dport 22 -j DROP\nCOMMIT\n')
    assert load(text).dropped('forward', BRIDGED) == []


def test_port_ranges_and_lists():
    rules = load()
    assert rules.dropped('input', dict(VXLAN, dport=4789))
    assert rules.dropped('input', dict(VXLAN, dport=8472))
    assert rules.dropped('input', dict(VXLAN, dport=5000)) == []


def test_nftables_policy_wildcards_and_iptables_nft_tables_read_once():
    nft = {'nftables': [
        {'chain': {'family': 'inet', 'table': 'fw', 'name': 'fwd', 'type': 'filter',
                   'hook': 'forward', 'prio': 0, 'policy': 'drop'}},
        {'rule': {'family': 'inet', 'table': 'fw', 'chain': 'fwd', 'expr': [
            {'match': {'op': '==', 'left': {'meta': {'key': 'iifname'}}, 'right': 'vm*'}},
            {'counter': None}, {'accept': None}]}},
        {'chain': {'family': 'inet', 'table': 'fw', 'name': 'in', 'type': 'filter',
                   'hook': 'input', 'prio': 0, 'policy': 'accept'}},
        {'rule': {'family': 'inet', 'table': 'fw', 'chain': 'in', 'expr': [
            {'match': {'op': '==', 'left': {'payload': {'protocol': 'udp', 'field': 'dport'}},
                       'right': {'set': [4789, {'range': [9000, 9100]}]}}},
            {'drop': None}]}},
        # iptables-nft's own table: judged from iptables-save, not twice.
        {'chain': {'family': 'ip', 'table': 'filter', 'name': 'FORWARD', 'type': 'filter',
                   'hook': 'forward', 'prio': 0, 'policy': 'drop'}},
    ]}
    rules = load('', nft)
    assert rules.dropped('forward', dict(BRIDGED, iif='vm7', oif='vm7')) == []
    (where, _why), = rules.dropped('forward', BRIDGED)
    assert where == ('nft inet fw', 'fwd')
    assert rules.dropped('input', VXLAN) and rules.dropped('input', dict(VXLAN, dport=9050))
    assert rules.dropped('input', dict(VXLAN, dport=8472)) == []
    assert rules.dropped('forward', BRIDGED, families=('bridge',)) == []
