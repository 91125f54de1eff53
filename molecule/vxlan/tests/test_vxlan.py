"""VXLAN across the two hosts: reach within a VNI, none across VNIs, DF at the overlay MTU."""

import json
import os

import pytest
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("hypervisors")

# VNI 100 (point to point): p2pa on hv1, p2pb on hv2; VNI 200 (head-end
# replication): hera on hv1, herb on hv2. One subnet for both VNIs.
ADDR = {"p2pa": "192.0.2.1", "p2pb": "192.0.2.2", "hera": "192.0.2.11", "herb": "192.0.2.12"}
HOST = {"p2pa": "hv1", "p2pb": "hv2", "hera": "hv1", "herb": "hv2"}
VXLAN = {"p2pa": "vx100", "p2pb": "vx100", "hera": "vx200", "herb": "vx200"}


def ping(src, dst, *extra):
    host = RUNNER.get_host(HOST[src])
    args = " ".join(["%s"] * len(extra))
    return host.run(f"ip netns exec %s ping -n -q -c 2 -i 0.2 -W 1 {args} %s", src, *extra, dst)


def vxlan_link(hostname, name):
    out = RUNNER.get_host(hostname).check_output("ip -j -d link show dev %s", name)
    return json.loads(out)[0]


@pytest.mark.parametrize("src,dst", [("p2pa", "p2pb"), ("p2pb", "p2pa"),
                                     ("hera", "herb"), ("herb", "hera")])
def test_reach_across_hosts_within_a_vni(src, dst):
    cmd = ping(src, ADDR[dst])
    assert cmd.rc == 0, f"{src} cannot reach {dst}: {cmd.stdout}{cmd.stderr}"


@pytest.mark.parametrize("src,dst", [("p2pa", "herb"), ("hera", "p2pb"), ("p2pa", "hera")])
def test_no_reach_across_vnis(src, dst):
    # Proven able to send: the same endpoint reaches its own VNI's peer.
    peer = {"p2pa": "p2pb", "hera": "herb"}[src]
    assert ping(src, ADDR[peer]).rc == 0
    cmd = ping(src, ADDR[dst])
    assert cmd.rc != 0, f"{src} (VNI {VXLAN[src]}) reached {dst} (VNI {VXLAN[dst]})"


@pytest.mark.parametrize("hostname", ["hv1", "hv2"])
def test_vteps_as_configured(hostname):
    peer = {"hv1": "172.31.251.12", "hv2": "172.31.251.11"}[hostname]
    p2p = vxlan_link(hostname, "vx100")["linkinfo"]["info_data"]
    assert p2p["id"] == 100 and p2p["remote"] == peer
    her = vxlan_link(hostname, "vx200")["linkinfo"]["info_data"]
    assert her["id"] == 200 and "remote" not in her
    fdb = RUNNER.get_host(hostname).check_output("bridge fdb show dev vx200")
    assert f"00:00:00:00:00:00 dst {peer}" in fdb


@pytest.mark.parametrize("src,dst", [("p2pa", "p2pb"), ("hera", "herb")])
def test_df_ping_at_overlay_mtu(src, dst):
    mtu = vxlan_link(HOST[src], VXLAN[src])["mtu"]
    # Underlay eth0 has 1500; the VTEP defaults to 50 bytes less.
    assert mtu == 1450
    # The endpoints keep MTU 1500, so a bigger frame leaves them and dies at
    # the VTEP: exactly the overlay MTU passes, one byte more does not.
    fits = ping(src, ADDR[dst], "-M", "do", "-s", str(mtu - 28))
    assert fits.rc == 0, f"DF ping of {mtu} bytes failed: {fits.stdout}{fits.stderr}"
    over = ping(src, ADDR[dst], "-M", "do", "-s", str(mtu - 27))
    assert over.rc != 0, f"DF ping of {mtu + 1} bytes crossed a {mtu}-byte overlay"
