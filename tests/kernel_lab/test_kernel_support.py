"""Smoke tests proving the guest is a usable lab: the modules the host kernel
lacks load on demand, 802.1Q tags really separate traffic, and teamd runs.

The autoload test needs a fresh guest, where none of these modules is loaded yet:
conftest.py runs it before every other test.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import time

import pytest

# Kernel team modes; teamd's lacp runner is userspace on top of loadbalance.
TEAM_KERNEL_MODES = ("activebackup", "broadcast", "loadbalance", "random", "roundrobin")


def module_loaded(module: str) -> bool:
    return pathlib.Path("/sys/module", module).is_dir()


def link_index(ipr, ifname: str) -> int:
    (index,) = ipr.link_lookup(ifname=ifname)
    return index


@pytest.mark.parametrize(
    ("kind", "module", "extra"),
    [
        ("vlan", "8021q", {"vlan_id": 5}),
        ("bond", "bonding", {}),
        ("team", "team", {}),
    ],
    ids=["vlan", "bond", "team"],
)
def test_link_kind_autoloads_its_module(netns, kind, module, extra):
    if module_loaded(module):
        # Best effort: a module still in use cannot prove autoload here.
        subprocess.run(["modprobe", "-r", module], capture_output=True, check=False)
    assert not module_loaded(module), (
        f"{module} was already loaded and could not be removed, so autoload cannot "
        "be shown; run this test in a fresh guest"
    )
    namespace = netns()
    with namespace.iproute() as ipr:
        ipr.link("add", ifname="parent0", kind="dummy")
        if kind == "vlan":
            extra = {**extra, "link": link_index(ipr, "parent0")}
        ipr.link("add", ifname=f"{kind}0", kind=kind, **extra)
        link_index(ipr, f"{kind}0")
    assert module_loaded(module)


@pytest.mark.parametrize(
    "module", ["8021q", "bonding", "team", *(f"team_mode_{mode}" for mode in TEAM_KERNEL_MODES)]
)
def test_module_loads_from_lib_modules(module):
    result = subprocess.run(["modprobe", module], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert module_loaded(module)


def add_vlan(namespace, vlan_id: int, address: str) -> None:
    ifname = f"trunk.{vlan_id}"
    with namespace.iproute() as ipr:
        trunk = link_index(ipr, "trunk")
        ipr.link("set", index=trunk, state="up")
        ipr.link("add", ifname=ifname, kind="vlan", link=trunk, vlan_id=vlan_id)
        vlan = link_index(ipr, ifname)
        ipr.addr("add", index=vlan, address=address, prefixlen=24)
        ipr.link("set", index=vlan, state="up")
        (link,) = ipr.link("get", index=vlan)
    # pyroute2 drops unknown keywords silently: check what the kernel made.
    assert link.get(("IFLA_LINKINFO", "IFLA_INFO_DATA", "IFLA_VLAN_ID")) == vlan_id


def ping(namespace, address: str, count: int, wait_seconds: int):
    return namespace.run(
        "ping", "-n", "-c", str(count), "-i", "0.2", "-W", str(wait_seconds), address,
        check=False,
    )


def test_vlan_separates_traffic_on_a_veth_trunk(netns):
    left, right = netns(), netns()
    left.run("ip", "link", "add", "trunk", "type", "veth", "peer", "name", "trunk",
             "netns", right.name)
    add_vlan(left, 10, "192.0.2.1")
    add_vlan(right, 10, "192.0.2.2")
    # Same subnet on both ends, different tags: only the tag keeps them apart.
    add_vlan(left, 20, "198.51.100.1")
    add_vlan(right, 30, "198.51.100.2")

    tagged = ping(left, "192.0.2.2", count=3, wait_seconds=2)
    assert tagged.returncode == 0, tagged.stdout + tagged.stderr

    mismatched = ping(left, "198.51.100.2", count=2, wait_seconds=1)
    assert mismatched.returncode == 1, (
        "ping across VLAN 20 -> 30 should get no reply\n" + mismatched.stdout + mismatched.stderr
    )


def teamd_state(namespace, team: str, timeout_seconds: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_seconds
    while True:
        result = namespace.run("teamdctl", team, "state", "dump", check=False)
        if result.returncode == 0:
            return json.loads(result.stdout)
        if time.monotonic() > deadline:
            raise AssertionError(f"teamdctl {team} state never answered: {result.stderr}")
        time.sleep(0.2)


def test_teamd_activebackup_starts_and_answers(netns):
    namespace = netns()
    namespace.run("ip", "link", "add", "port0", "type", "veth", "peer", "name", "peer0")
    namespace.run("teamd", "-d", "-t", "team0", "-c",
                  json.dumps({"runner": {"name": "activebackup"}}))
    namespace.run("teamdctl", "team0", "port", "add", "port0")

    human = namespace.run("teamdctl", "team0", "state")
    assert "runner: activebackup" in human.stdout

    state = teamd_state(namespace, "team0")
    assert state["setup"]["runner_name"] == "activebackup"
    assert "port0" in state["ports"]
    assert module_loaded("team_mode_activebackup")


def test_nothing_left_behind():
    """Runs last: the netns fixture removed its namespaces and their teamd."""
    netns_dir = pathlib.Path("/run/netns")
    leftovers = sorted(p.name for p in netns_dir.glob("kl-*")) if netns_dir.is_dir() else []
    assert leftovers == []
    teamd = subprocess.run(["pgrep", "-x", "teamd"], capture_output=True, text=True, check=False)
    assert teamd.stdout.split() == []
