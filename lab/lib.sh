# shellcheck shell=bash
# Shared helpers for the lab scripts; sourced, never executed.
# shellcheck disable=SC2034  # the variables are used by the scripts sourcing this

LAB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname -- "$LAB_DIR")
CACHE_DIR=${KVMNET_LAB_CACHE:-$REPO_ROOT/.cache}

# Names the lab owns; everything it creates carries this label so cleanup
# never touches anything else on a shared engine.
LAB_LABEL=kvmnet.lab=1
LAB_IMAGE=${KVMNET_LAB_IMAGE:-kvmnet/lab:bookworm}
LAB_NET=kvmnet-underlay
LAB_SUBNET=172.31.250.0/24
LAB_GATEWAY=172.31.250.1
# Network molecule/_shared/base.yml attaches its platforms to; "lab/lab
# prepare" creates it (with the bridge rule below) so molecule finds it and,
# as it is not labelled owner=molecule, never deletes it.
MOL_NET=kvmnet-molecule
MOL_SUBNET=172.31.251.0/24
MOL_GATEWAY=172.31.251.1

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

# Lab size: KVMNET_LAB_HOSTS=N gives hypervisors hv1..hvN at 172.31.250.11, .12, ...
# (2 by default, the hosts inventories/lab lists; any other size gets a generated
# inventory, see write_lab_inventory).
LAB_HOST_COUNT=${KVMNET_LAB_HOSTS:-2}
if ! [[ $LAB_HOST_COUNT =~ ^[0-9]+$ ]] || ((LAB_HOST_COUNT < 1 || LAB_HOST_COUNT > 200)); then
    die "KVMNET_LAB_HOSTS must be a number of hosts from 1 to 200, got '$LAB_HOST_COUNT'"
fi
LAB_HOSTS=()
declare -A LAB_IP=()
for ((i = 1; i <= LAB_HOST_COUNT; i++)); do
    LAB_HOSTS+=("hv$i")
    LAB_IP[hv$i]=172.31.250.$((10 + i))
done
unset i

# For a lab of another size than inventories/lab's: the same group and host
# variables (linked), and a hosts.yml listing hv1..hvN with their underlay address.
write_lab_inventory() {
    local h dir=$CACHE_DIR/lab-inventory
    ((LAB_HOST_COUNT == 2)) && return 0
    mkdir -p "$dir"
    ln -sfn "$REPO_ROOT/inventories/lab/group_vars" "$dir/group_vars"
    ln -sfn "$REPO_ROOT/inventories/lab/host_vars" "$dir/host_vars"
    {
        printf -- '---\n# Written by lab/lab up for KVMNET_LAB_HOSTS=%s.\n' "$LAB_HOST_COUNT"
        printf 'all:\n  children:\n    hypervisors:\n      hosts:\n'
        for h in "${LAB_HOSTS[@]}"; do
            printf '        %s:\n          ansible_host: kvmnet-%s\n' "$h" "$h"
            printf '          kvmnet_lab_underlay_ip: %s\n' "${LAB_IP[$h]}"
        done
    } >"$dir/hosts.yml"
    log "inventory for $LAB_HOST_COUNT hosts: $dir"
}

# Lab hypervisors beyond this size, left by a bigger lab: removed.
remove_extra_hosts() {
    local name number
    while read -r name; do
        number=${name#kvmnet-hv}
        if ! [[ $number =~ ^[0-9]+$ ]] || ((number <= LAB_HOST_COUNT)); then
            continue
        fi
        docker rm -f "$name" >/dev/null
        log "$name removed (the lab has $LAB_HOST_COUNT hosts now)"
    done < <(docker ps -a --filter "label=$LAB_LABEL" --format '{{.Names}}')
}

need_root() {
    [[ $(id -u) -eq 0 ]] || die "$1 needs root"
}

# Milliseconds since the epoch, for the timings the scripts print.
now_ms() { date +%s%3N; }

# Point docker at the engine lab/dockerd chose (callers may run without env.sh).
use_engine() {
    eval "$("$LAB_DIR/dockerd" env)"
    export DOCKER_HOST
}

# Linux bridge behind a docker bridge network: com.docker.network.bridge.name
# when set, else "br-" + the first 12 characters of the network id.
net_bridge() {
    local name id
    name=$(docker network inspect -f \
        '{{index .Options "com.docker.network.bridge.name"}}' "$1") || return 1
    if [[ -z $name || $name == '<no value>' ]]; then
        id=$(docker network inspect -f '{{.Id}}' "$1") || return 1
        name=br-${id:0:12}
    fi
    printf '%s\n' "$name"
}

# The seed-002 trap (br_netfilter + iptables), in the lab itself: with
# net.bridge.bridge-nf-call-iptables=1 every frame bridged by the docker
# bridge goes through the FORWARD chain, and Docker's isolation rules for an
# --internal network (DOCKER-ISOLATION-STAGE-1 "! -s SUBNET -o br-X -j DROP")
# drop any frame whose IP source or destination is outside the network's
# subnet: the macvlan VM stand-ins (198.51.100.0/24) on eth0 of hv1 cannot
# reach those on hv2. On a real hypervisor the same trap silently drops VM
# traffic on a bridge. The fix here is exactly one ACCEPT in DOCKER-USER
# (evaluated before the isolation chains) for frames that enter AND leave
# that same bridge: the network stays --internal, nothing is routed in or
# out. The rule carries the comment "kvmnet-lab:<network>"; "lab/lab down"
# deletes exactly the rules with that comment.
bridge_rule_comment() { printf 'kvmnet-lab:%s\n' "$1"; }

bridge_rule_add() {
    local net=$1 br rule
    br=$(net_bridge "$net") || die "cannot find the bridge of docker network $net"
    rule=(-i "$br" -o "$br" -m comment --comment "$(bridge_rule_comment "$net")" -j ACCEPT)
    # Docker makes DOCKER-USER when it starts; make sure it is there anyway.
    iptables -w -n -L DOCKER-USER >/dev/null 2>&1 || iptables -w -N DOCKER-USER
    if ! iptables -w -C DOCKER-USER "${rule[@]}" 2>/dev/null; then
        bridge_rule_del "$net"          # a rule for a previous bridge of $net
        iptables -w -I DOCKER-USER 1 "${rule[@]}"
        log "DOCKER-USER: ACCEPT frames bridged within $br ($net)"
    fi
}

bridge_rule_del() {
    local net=$1 comment line words
    comment=$(bridge_rule_comment "$net")
    command -v iptables >/dev/null || return 0
    while IFS= read -r line; do
        # "iptables -S" prints the rule as its own argument list, the
        # comment in quotes; it has no blanks or quotes of its own, so
        # splitting on blanks and dropping the quotes is exact.
        read -ra words <<<"${line//\"/}"
        [[ ${words[0]} == -A ]] || continue
        words[0]=-D
        iptables -w "${words[@]}"
        log "DOCKER-USER: removed the rule for $net"
    done < <(iptables -w -S DOCKER-USER 2>/dev/null | grep -F -- "--comment \"$comment\"" || true)
}
