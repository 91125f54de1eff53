"""Every keyfile the collection writes, read back by NetworkManager itself.

`nmcli --offline` (NetworkManager >= 1.40) parses a keyfile, normalises it and prints
it again; a key it does not know or a value out of range is silently dropped. Each
profile rendered from real module params goes through it and every key we wrote must
come back with our value, or be one NetworkManager leaves out because it equals its
own default (listed below, from nm-settings-nmcli(5)).
"""

from __future__ import annotations

import pathlib
import subprocess

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import MODULES
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist import store
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.keyfile import parse
from ansible_collections.kvmnet.hostnet.plugins.module_utils.persist.run import plan_files

# Keys NetworkManager omits from its output when they hold its default.
NM_DEFAULTS = {
    ("bridge", "stp"): "true",
    ("bridge", "forward-delay"): "15",
    ("bridge", "hello-time"): "2",
    ("bridge", "max-age"): "20",
    ("bridge", "ageing-time"): "300",
    ("bridge", "priority"): "32768",
    ("bridge", "multicast-snooping"): "true",
    ("bridge-port", "priority"): "32",
    ("bridge-port", "path-cost"): "100",
    ("bridge-port", "hairpin-mode"): "false",
    ("macvlan", "promiscuous"): "true",
    ("vxlan", "destination-port"): "8472",
    ("vxlan", "learning"): "true",
    ("vxlan", "tos"): "0",
    ("vxlan", "ttl"): "0",
    ("vlan", "flags"): "1",
}

# One item per module and option family; names of NICs start with "nic".
ITEMS = [
    ("linux_bridge", dict(name="br0", stp=True, forward_delay=4, hello_time=3, max_age=15,
                          ageing_time=600, priority=4096, multicast_snooping=False, mtu=9000,
                          mac="52:54:00:00:00:01",
                          ports=[dict(name="nic0", hairpin=True, cost=10, priority=20), "nic1"],
                          addresses=["192.0.2.10/24", "2001:db8::10/64"], gateway="192.0.2.1")),
    ("linux_bridge", dict(name="br1", stp=False, forward_delay=15, multicast_snooping=True)),
    ("vlan_sub", dict(parent="nic2", vlan_id=10, protocol="802.1ad", reorder_hdr=False, gvrp=True,
                      loose_binding=True, mvrp=False, ingress_qos_map={1: 2},
                      egress_qos_map={2: 3, 4: 5}, bridge=dict(name="br1", hairpin=True))),
    ("vlan_sub", dict(parent="nic2", vlan_id=20, bridge=dict(name="br1"))),
    ("bond_iface", dict(name="bond0", mode="802.3ad", miimon=100, updelay=200, downdelay=200,
                        lacp_rate="fast", xmit_hash_policy="layer3+4", ad_select="bandwidth",
                        ports=["nic3", "nic4"], switch_configured=True)),
    ("bond_iface", dict(name="bond1", mode="active-backup", miimon=100, primary="nic5",
                        ports=["nic5", "nic6"], bridge=dict(name="br1"))),
    ("team_iface", dict(name="team0", runner="lacp", lacp=dict(active=True, fast_rate=True),
                        tx_hash=["eth", "ipv4"], link_watch=dict(name="ethtool", delay_up=100),
                        ports=[dict(name="nic7", prio=10, sticky=True)], switch_configured=True)),
    ("macvlan_iface", dict(name="mv0", parent="nic8", mode="private", nopromisc=False)),
    ("macvlan_iface", dict(name="mvt0", parent="nic8", mode="passthru", tap=True, nopromisc=True)),
    ("vxlan_vtep", dict(name="vx1", vni=100, dstport=4789, local="192.0.2.10", remote="192.0.2.20",
                        dev="br0", learning=False, ttl=64, tos=0)),
    ("vxlan_vtep", dict(name="vx2", vni=16000000, dstport=8472, group="239.1.1.1", dev="br0",
                        learning=True, ttl=1)),
]


def persisted_root(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "etc/NetworkManager/system-connections").mkdir(parents=True)
    for module, args in ITEMS:
        link_module = MODULES[module]
        result = ArgumentSpecValidator(link_module.argument_spec, **link_module.module_kwargs) \
            .validate(dict(args, persist="networkmanager"))
        assert not result.error_messages, (module, result.error_messages)
        params = result.validated_parameters
        plan_files(str(tmp_path), link_module, params, link_module.build_facets(params), {},
                   "networkmanager", nic=lambda name: name.startswith("nic"),
                   nic_mac=lambda name: None, python="/usr/bin/python3").apply()
    return tmp_path


def normalised(section: str, key: str, value: str | None) -> str | None:
    if value is not None and key.endswith("priority-map"):
        return value.rstrip(";")
    return value


def test_every_keyfile_survives_networkmanagers_own_parser(tmp_path):
    keyfiles = sorted((persisted_root(tmp_path) / store.KEYFILES).glob("kvmnet-*.nmconnection"))
    kinds = set()
    problems = []
    for keyfile in keyfiles:
        ours = parse(keyfile.read_text())
        kinds.add(ours["connection"]["type"])
        read = subprocess.run(
            ["nmcli", "--offline", "connection", "modify", "connection.id", ours["connection"]["id"]],
            input=keyfile.read_text(), capture_output=True, text=True, timeout=30, check=False)
        if read.returncode != 0:
            problems.append(f"{keyfile.name}: nmcli refused it: {read.stderr.strip()}")
            continue
        theirs = parse(read.stdout)
        for section, keys in ours.items():
            for key, value in keys.items():
                kept = normalised(section, key, theirs.get(section, {}).get(key))
                if kept == normalised(section, key, value):
                    continue
                if kept is None and NM_DEFAULTS.get((section, key)) == value:
                    continue
                problems.append(f"{keyfile.name}: [{section}] {key}={value} came back as {kept!r}")
    assert not problems, "\n".join(problems)
    assert kinds == {"bridge", "ethernet", "vlan", "bond", "team", "macvlan", "vxlan"}
    assert len(keyfiles) == 20  # 11 links, 7 ports, 2 NICs under a VLAN or macvlan


@pytest.mark.parametrize("bad", ["controller=br0\nport-type=bridge", "bogus-key=1"])
def test_the_comparison_catches_a_key_networkmanager_drops(bad):
    text = "[connection]\nid=x\ntype=ethernet\ninterface-name=nic9\n" + bad + "\n"
    read = subprocess.run(["nmcli", "--offline", "connection", "modify", "connection.id", "x"],
                          input=text, capture_output=True, text=True, timeout=30, check=True)
    key = bad.split("=")[0]
    assert key not in parse(read.stdout)["connection"]
