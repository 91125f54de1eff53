# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the firewall does with one kind of packet: iptables (legacy or nft) and nftables.

Both rule sets are read into one small model, ``Rule(conditions, target)``, and
walked like the kernel walks them. A rule decides only when every one of its
conditions certainly holds for the packet in question; a condition we cannot
judge (a source address, a conntrack state, an unknown match) makes the rule
"maybe" and the walk goes on. So a verdict of drop means: this packet is dropped
whatever the details, which is what a finding needs.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import shlex

ACCEPT, DROP = 'accept', 'drop'
TERMINAL = {'ACCEPT': ACCEPT, 'DROP': DROP, 'REJECT': DROP}
PROTOCOLS = {'6': 'tcp', '17': 'udp', '1': 'icmp'}
# iptables-nft shows its tables in "nft list ruleset" too; they are read from iptables-save.
IPTABLES_CHAINS = ('INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING')


class Rule:
    def __init__(self, text, conditions, target, uncertain=False):
        self.text = text
        self.conditions = conditions  # [(field, negated, values)]
        self.target = target          # 'accept', 'drop', 'return', ('jump', chain), None
        self.uncertain = uncertain

    def matches(self, packet):
        """True when the rule certainly applies to ``packet``; False when maybe or never."""
        if self.uncertain:
            return False
        for field, negated, values in self.conditions:
            have = packet.get(field)
            if have is None:
                return False
            if _value_in(have, values) == negated:
                return False
        return True


def _value_in(have, values):
    for value in values:
        if isinstance(value, str) and value.endswith('+') and isinstance(have, str):
            if have.startswith(value[:-1]):
                return True
        elif isinstance(value, tuple):
            if value[0] <= have <= value[1]:
                return True
        elif value == have:
            return True
    return False


class Chain:
    def __init__(self, name, hook=None, policy=None, origin='iptables'):
        self.name = name
        self.hook = hook        # 'forward', 'input', ... for a base chain
        self.policy = policy    # 'accept' / 'drop' for a base chain
        self.origin = origin
        self.rules = []


class Table:
    """The chains of one iptables table or nftables table."""

    def __init__(self, label, family='ip'):
        self.label = label
        self.family = family
        self.chains = {}

    def base_chains(self, hook):
        return [chain for chain in self.chains.values() if chain.hook == hook]

    def verdict(self, chain, packet, depth=0):
        """(accept/drop/None, why) for ``packet`` entering ``chain``; None = fell through."""
        if depth > 16:
            return None, None
        for rule in chain.rules:
            if not rule.matches(packet):
                continue
            if rule.target in (ACCEPT, DROP):
                return rule.target, '%s: %s' % (self.label, rule.text)
            if rule.target == 'return':
                return None, None
            if isinstance(rule.target, tuple):
                sub = self.chains.get(rule.target[1])
                if sub is not None:
                    decided, why = self.verdict(sub, packet, depth + 1)
                    if decided is not None or rule.target[0] == 'goto':
                        return decided, why
        if chain.policy is not None:
            why = '%s: chain %s policy %s' % (self.label, chain.name, chain.policy.upper())
            return chain.policy, why
        return None, None


class Firewall:
    """Every table we could read, and the NAT rules (for the ip_forward check)."""

    def __init__(self):
        self.tables = []
        self.nat_rules = []
        self.read = []

    def dropped(self, hook, packet, families=None):
        """[((table label, chain), why)] for the base chains at ``hook`` that certainly drop
        ``packet``; empty when it passes. ``families`` limits the tables looked at."""
        reasons = []
        for table in self.tables:
            if families is not None and table.family not in families:
                continue
            for chain in table.base_chains(hook):
                decided, why = table.verdict(chain, packet)
                if decided == DROP:
                    reasons.append(((table.label, chain.name), why))
        return reasons

    def chain_names(self, label):
        return [name for table in self.tables if table.label == label for name in table.chains]


def gather(run, skipped):
    found = Firewall()
    rc, out = run(['iptables-save'])
    if rc == 0:
        found.read.append('iptables')
        found.tables.extend(parse_iptables_save(out, found.nat_rules))
    rc, out = run(['nft', '-j', 'list', 'ruleset'])
    if rc == 0:
        found.read.append('nftables')
        found.tables.extend(parse_nft_json(out, found.nat_rules))
    if not found.read:
        skipped.append('firewall: neither iptables-save nor nft could be run')
    return found


# ---- iptables-save ------------------------------------------------------------
_BUILTIN_HOOKS = {'INPUT': 'input', 'FORWARD': 'forward', 'OUTPUT': 'output'}
_IGNORED_MATCHES = ('comment', 'udp', 'tcp', 'multiport', 'physdev')


def parse_iptables_save(text, nat_rules):
    tables = []
    table = current = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('*'):
            name = line[1:]
            table = Table('iptables %s' % name) if name == 'filter' else None
            if table is not None:
                tables.append(table)
            current = name
        elif line.startswith(':') and table is not None:
            name, policy = line[1:].split()[:2]
            table.chains[name] = Chain(name, _BUILTIN_HOOKS.get(name),
                                       TERMINAL.get(policy) if policy != '-' else None)
        elif line.startswith('-A '):
            if current == 'nat' and ('MASQUERADE' in line or 'SNAT' in line):
                nat_rules.append(line)
            if table is not None:
                rule = iptables_rule(line)
                chain = table.chains.setdefault(rule[0], Chain(rule[0]))
                chain.rules.append(rule[1])
    return tables


def iptables_rule(line):
    """(chain, Rule) from one ``-A CHAIN ...`` line of iptables-save."""
    words = shlex.split(line)
    chain = words[1]
    conditions, target, uncertain = [], None, False
    negated = False
    index = 2
    while index < len(words):
        word = words[index]
        value = words[index + 1] if index + 1 < len(words) else None
        step = 2
        if word == '!':
            negated, step = True, 1
            index += step
            continue
        if word in ('-p', '--protocol'):
            conditions.append(('proto', negated, [PROTOCOLS.get(value, value)]))
        elif word in ('-i', '--in-interface'):
            conditions.append(('iif', negated, [value]))
        elif word in ('-o', '--out-interface'):
            conditions.append(('oif', negated, [value]))
        elif word in ('--dport', '--destination-port', '--dports', '--destination-ports'):
            conditions.append(('dport', negated, _ports(value)))
        elif word == '--physdev-is-bridged':
            conditions.append(('bridged', negated, [True]))
            step = 1
        elif word == '-m' and value in _IGNORED_MATCHES:
            pass
        elif word == '--comment':
            pass
        elif word in ('-j', '-g'):
            target = TERMINAL.get(value) or ('return' if value == 'RETURN' else
                                             (('jump' if word == '-j' else 'goto'), value))
            if value in ('LOG', 'MARK', 'CONNMARK', 'NFLOG', 'TRACE', 'CT'):
                target = None
            # Target options (--reject-with ...) follow; none of them matter here.
            index = len(words)
            continue
        else:
            uncertain = True
        negated = False
        index += step
    return chain, Rule(line, conditions, target, uncertain)


def _ports(value):
    ports = []
    for part in str(value).split(','):
        if ':' in part:
            low, high = part.split(':', 1)
            ports.append((int(low or 0), int(high or 65535)))
        elif part.isdigit():
            ports.append(int(part))
    return ports


# ---- nftables -----------------------------------------------------------------
_NFT_VERDICTS = {'accept': ACCEPT, 'drop': DROP, 'reject': DROP, 'return': 'return'}
_NFT_NEUTRAL = ('counter', 'log', 'limit', 'notrack')


def parse_nft_json(text, nat_rules):
    try:
        items = json.loads(text).get('nftables', [])
    except ValueError:
        return []
    tables = {}
    for item in items:
        if 'chain' in item:
            spec = item['chain']
            if spec.get('family') in ('ip', 'ip6') and spec.get('name') in IPTABLES_CHAINS:
                continue
            table = _nft_table(tables, spec)
            policy = _NFT_VERDICTS.get(spec.get('policy')) if spec.get('hook') else None
            table.chains[spec['name']] = Chain(spec['name'], spec.get('hook'), policy
                                               or (ACCEPT if spec.get('hook') else None), 'nftables')
        elif 'rule' in item:
            spec = item['rule']
            table = _nft_table(tables, spec)
            chain = table.chains.get(spec['chain'])
            if chain is None:
                continue
            expressions = spec.get('expr', [])
            if any('masquerade' in e or 'snat' in e for e in expressions):
                nat_rules.append('nft %s %s %s' % (spec['family'], spec['table'], spec['chain']))
            chain.rules.append(nft_rule(spec, expressions))
    return list(tables.values())


def _nft_table(tables, spec):
    key = (spec['family'], spec['table'])
    if key not in tables:
        tables[key] = Table('nft %s %s' % key, key[0])
    return tables[key]


def nft_rule(spec, expressions):
    conditions, target, uncertain = [], None, False
    for expression in expressions:
        (kind, body), = expression.items()
        if kind == 'match':
            condition = _nft_match(body)
            if condition is None:
                uncertain = True
            else:
                conditions.extend(condition)
        elif kind in _NFT_VERDICTS:
            target = _NFT_VERDICTS[kind]
        elif kind in ('jump', 'goto'):
            target = (kind, body['target'])
        elif kind not in _NFT_NEUTRAL:
            uncertain = True
    text = 'chain %s rule %s' % (spec['chain'], json.dumps(expressions, sort_keys=True))
    return Rule(text, conditions, target, uncertain)


def _nft_match(body):
    """[(field, negated, values)] for a match we understand, else None."""
    left, right, op = body.get('left'), body.get('right'), body.get('op')
    if op not in ('==', '!=', 'in'):
        return None
    negated = op == '!='
    values = right['set'] if isinstance(right, dict) and 'set' in right else [right]
    if isinstance(left, dict) and 'meta' in left:
        field = {'iifname': 'iif', 'oifname': 'oif', 'l4proto': 'proto'}.get(left['meta'].get('key'))
        if field is None:
            return None
        return [(field, negated, [_nft_value(v) for v in values])]
    if isinstance(left, dict) and 'payload' in left:
        payload = left['payload']
        if payload.get('protocol') in ('udp', 'tcp') and payload.get('field') == 'dport':
            ports = []
            for value in values:
                if isinstance(value, dict) and 'range' in value:
                    ports.append(tuple(value['range']))
                else:
                    ports.append(value)
            return [('proto', False, [payload['protocol']]), ('dport', negated, ports)]
    return None


def _nft_value(value):
    """nft writes interface wildcards as "br*"; iptables as "br+"."""
    if isinstance(value, str) and value.endswith('*'):
        return value[:-1] + '+'
    return value
