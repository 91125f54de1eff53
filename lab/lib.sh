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
LAB_HOSTS=(hv1 hv2)
declare -A LAB_IP=([hv1]=172.31.250.11 [hv2]=172.31.250.12)

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

need_root() {
    [[ $(id -u) -eq 0 ]] || die "$1 needs root"
}

# Milliseconds since the epoch, for the timings the scripts print.
now_ms() { date +%s%3N; }

# Point docker at the engine lab/engine chose (callers may run without env.sh).
use_engine() {
    eval "$("$LAB_DIR/engine" env)"
    export DOCKER_HOST
}
