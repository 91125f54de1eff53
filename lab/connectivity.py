"""Connectivity table of the lab's VM stand-ins (lab_endpoints_list in inventories/lab).

For every ordered pair of endpoints in the same network, ping from one
namespace to the other with "docker exec kvmnet-<host> ip netns exec EP ping".
Expected: reach, except isolated bridge ports on the same host and macvlan
siblings in mode private on the same parent. Exit 1 on any mismatch.
"""
import ipaddress
import json
import subprocess
import sys


def main():
    inv = json.loads(subprocess.check_output(
        ["ansible-inventory", "-i", sys.argv[1], "--list"]))
    eps = []
    for host, hv in sorted(inv.get("_meta", {}).get("hostvars", {}).items()):
        for ep in hv.get("lab_endpoints_list", []):
            iface = ipaddress.ip_interface(ep["address"])
            eps.append(dict(ep, host=host, ip=str(iface.ip), net=iface.network))
    bad = 0
    print(f"{'network':<18} {'from':<10} {'to':<10} {'address':<15} {'expect':<8} {'actual':<8} result")
    for a in eps:
        for b in eps:
            if a is b or a["net"] != b["net"]:
                continue
            same_host = a["host"] == b["host"]
            isolated = same_host and (
                (a.get("type", "veth") == "veth" and a.get("isolated") and b.get("isolated")
                 and a.get("bridge") == b.get("bridge"))
                or (a.get("type") == "macvlan" and a.get("mode") == "private"
                    and b.get("mode") == "private" and a.get("parent") == b.get("parent")))
            expect = "isolated" if isolated else "reach"
            rc = subprocess.run(
                ["docker", "exec", f"kvmnet-{a['host']}", "ip", "netns", "exec", a["name"],
                 "ping", "-n", "-q", "-c1", "-W1", b["ip"]],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode
            actual = "reach" if rc == 0 else "isolated"
            ok = actual == expect
            bad += not ok
            print(f"{str(a['net']):<18} {a['host'] + '/' + a['name']:<10} "
                  f"{b['host'] + '/' + b['name']:<10} {b['ip']:<15} {expect:<8} {actual:<8} "
                  f"{'ok' if ok else 'FAIL'}")
    print(f"{bad} mismatch(es)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
