"""Macvlan modes, proven with packets between the two hosts' endpoints on eth0."""

import json
import os

import pytest
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("hypervisors")

EP = {
    "brg1": ("hv1", "198.51.100.1", "bridge"),
    "prv1a": ("hv1", "198.51.100.11", "private"),
    "prv1b": ("hv1", "198.51.100.12", "private"),
    "vepa1a": ("hv1", "198.51.100.21", "vepa"),
    "vepa1b": ("hv1", "198.51.100.22", "vepa"),
    "brg2a": ("hv2", "198.51.100.2", "bridge"),
    "brg2b": ("hv2", "198.51.100.3", "bridge"),
}


def ping(src, dst):
    host = RUNNER.get_host(EP[src][0])
    cmd = host.run("ip netns exec %s ping -n -q -c 2 -i 0.2 -W 1 %s", src, EP[dst][1])
    return cmd.rc == 0


@pytest.mark.parametrize("name", sorted(EP))
def test_mode_and_parent(name):
    hostname, _address, mode = EP[name]
    out = RUNNER.get_host(hostname).check_output("ip -n %s -j -d link show dev vm0", name)
    link = json.loads(out)[0]
    assert link["linkinfo"]["info_kind"] == "macvlan"
    assert link["linkinfo"]["info_data"]["mode"] == mode


@pytest.mark.parametrize("src,dst", [
    ("brg1", "brg2a"), ("brg2a", "brg1"),      # bridge mode, across hosts
    ("brg2a", "brg2b"),                        # bridge mode siblings on one parent
    ("prv1a", "brg2a"), ("prv1b", "brg2b"),    # private: the wire is fine
    ("vepa1a", "brg2a"), ("vepa1b", "brg2b"),  # vepa: everything goes to the wire
])
def test_reach(src, dst):
    assert ping(src, dst), f"{src} ({EP[src][2]}) cannot reach {dst}"


@pytest.mark.parametrize("src,dst", [("prv1a", "prv1b"), ("prv1b", "prv1a")])
def test_private_siblings_cut_off(src, dst):
    # Both reach hv2 (test_reach); only the sibling on the same parent is cut off.
    assert ping(src, "brg2a")
    assert not ping(src, dst), f"private {src} reached its sibling {dst}"


@pytest.mark.parametrize("src,dst", [("vepa1a", "vepa1b"), ("vepa1b", "vepa1a")])
def test_vepa_siblings_need_a_hairpin_switch(src, dst):
    # vepa sends sibling traffic out to the switch; the docker bridge port of
    # eth0 has no hairpin, so the frame never comes back.
    assert ping(src, "brg2a")
    assert not ping(src, dst), f"vepa {src} reached {dst} without a hairpin switch"
