"""The vxlan_overlay preset of roles/hypervisor_network, proven with packets."""

import json
import os

import pytest
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("hypervisors")

EP = {"vm1a": ("hv1", "192.0.2.11"), "vm1b": ("hv1", "192.0.2.12"), "vm2a": ("hv2", "192.0.2.21")}
PEER = {"hv1": "172.31.251.12", "hv2": "172.31.251.11"}


def ping(src, dst):
    host = RUNNER.get_host(EP[src][0])
    return host.run("ip netns exec %s ping -n -q -c 2 -i 0.2 -W 1 %s", src, EP[dst][1]).rc == 0


@pytest.mark.parametrize("hostname", ["hv1", "hv2"])
def test_preset_layout(hostname):
    host = RUNNER.get_host(hostname)
    link = json.loads(host.check_output("ip -j -d link show dev vx42"))[0]
    data = link["linkinfo"]["info_data"]
    assert data["id"] == 42 and data["port"] == 4789
    assert data["local"] == {"hv1": "172.31.251.11", "hv2": "172.31.251.12"}[hostname]
    assert link["master"] == "brvx"
    assert f"00:00:00:00:00:00 dst {PEER[hostname]}" in host.check_output("bridge fdb show dev vx42")


@pytest.mark.parametrize("src,dst", [("vm1a", "vm2a"), ("vm1b", "vm2a"), ("vm2a", "vm1a"),
                                     ("vm1a", "vm1b")])
def test_overlay_reach(src, dst):
    assert ping(src, dst), f"{src} cannot reach {dst} over brvx/vx42"


def test_overlay_is_the_only_path():
    # Taking the VTEP of hv2 down must cut hv1's VMs off from hv2's: the reach
    # above went through the overlay, not some other path.
    hv2 = RUNNER.get_host("hv2")
    hv2.check_output("ip link set dev vx42 down")
    try:
        assert not ping("vm1a", "vm2a"), "vm1a reached vm2a with vx42 of hv2 down"
    finally:
        hv2.check_output("ip link set dev vx42 up")
    assert ping("vm1a", "vm2a")
