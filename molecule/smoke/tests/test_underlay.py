"""Smoke checks for the molecule lab: both hosts usable, underlay carries packets."""

import ipaddress
import json
import os

import testinfra.utils.ansible_runner

# The subnet molecule/_shared/base.yml gives the lab; packets go nowhere else.
LAB_SUBNET = ipaddress.ip_network("172.31.251.0/24")

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("hypervisors")


def underlay_address(host):
    out = host.check_output("ip -j -4 addr show dev eth0")
    addrs = [a["local"] for link in json.loads(out) for a in link.get("addr_info", [])]
    assert len(addrs) == 1, addrs
    addr = ipaddress.ip_address(addrs[0])
    assert addr in LAB_SUBNET, f"{addr} is outside the lab subnet {LAB_SUBNET}"
    return str(addr)


def test_pyroute2_version(host):
    cmd = host.run("/usr/bin/python3 -c 'import pyroute2; print(pyroute2.__version__)'")
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.strip() == "0.9.7"


def test_hostname_matches_inventory(host):
    assert host.check_output("hostname") == host.backend.get_hostname()


def test_hv1_pings_hv2_over_underlay():
    hv1 = RUNNER.get_host("hv1")
    hv2 = RUNNER.get_host("hv2")
    target = underlay_address(hv2)
    assert target != underlay_address(hv1)
    cmd = hv1.run("ping -n -q -c 3 -i 0.2 -W 2 -I eth0 %s", target)
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    assert " 0% packet loss" in cmd.stdout


def test_tun_device_present(host):
    # tap NICs for VMs need the tun character device passed into the container.
    assert host.run("test -c /dev/net/tun").rc == 0
