"""Traffic through the bridge: reach where expected, isolation where expected."""

import os

import pytest
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("hypervisors")


def ping(host, src, dst):
    return host.run("ip netns exec %s ping -n -q -c 2 -i 0.2 -W 1 %s", src, dst).rc == 0


@pytest.mark.parametrize("src,dst", [("epa", "192.0.2.2"), ("epb", "192.0.2.1"),
                                     ("isoa", "192.0.2.1"), ("epb", "192.0.2.4")])
def test_reach(host, src, dst):
    assert ping(host, src, dst), f"{src} cannot reach {dst}"


@pytest.mark.parametrize("src,dst", [("isoa", "192.0.2.4"), ("isob", "192.0.2.3")])
def test_isolated_ports(host, src, dst):
    # Proven by the same bridge carrying the reaches above.
    assert ping(host, "epa", "192.0.2.2")
    assert not ping(host, src, dst), f"isolated {src} reached {dst}"


def test_ports_on_bridge(host):
    out = host.check_output("ip -o link show master brvm")
    for port in ("vepa", "vepb", "visoa", "visob"):
        assert f" {port}@" in out
