# shellcheck shell=bash
# Environment for the lab, molecule scenarios and make targets:
#   . lab/env.sh            (bash: from anywhere; POSIX sh: from the repo root)
# Sets DOCKER_HOST, PATH (venv first), the Ansible collection path with the
# vendored collections and kvmnet.hostnet, and where molecule finds scenarios.

if [ -n "${BASH_VERSION:-}" ]; then
    # eval keeps the bash-only expansion away from a POSIX parser.
    eval 'KVMNET_REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)'
else
    KVMNET_REPO=${KVMNET_REPO:-$PWD}
fi
export KVMNET_REPO

if [ -x "$KVMNET_REPO/.venv/bin/python" ]; then
    case ":$PATH:" in
        *":$KVMNET_REPO/.venv/bin:"*) ;;
        *) PATH=$KVMNET_REPO/.venv/bin:$PATH ;;
    esac
    export PATH
fi

eval "$("$KVMNET_REPO/lab/dockerd" env)"

# Searched before any installed "ansible" package, so the vendored pins win.
export ANSIBLE_COLLECTIONS_PATH="$KVMNET_REPO/.cache/collections"
# Lab-only roles (lab_endpoints) are not part of the collection.
export ANSIBLE_ROLES_PATH="$KVMNET_REPO/lab/roles"
# Scenarios live in molecule/ (not extensions/molecule/); say so explicitly.
export MOLECULE_GLOB="molecule/*/molecule.yml"
# Passed as "molecule -c $KVMNET_MOLECULE_BASE ..." (molecule has no env var for it).
export KVMNET_MOLECULE_BASE="$KVMNET_REPO/molecule/_shared/base.yml"
# A lab of another size than 2 (KVMNET_LAB_HOSTS) has the inventory lab/lab up wrote.
if [ "${KVMNET_LAB_HOSTS:-2}" = 2 ]; then
    export KVMNET_LAB_INVENTORY="$KVMNET_REPO/inventories/lab"
else
    export KVMNET_LAB_INVENTORY="$KVMNET_REPO/.cache/lab-inventory"
fi

# Speed through "docker exec": pipelining sends each module over the open
# stdin of one exec (instead of mkdir, copy, chmod, run and rm: one docker
# exec each); both hypervisors at once; facts only where a play asks.
# Set any of them beforehand to override.
export ANSIBLE_PIPELINING="${ANSIBLE_PIPELINING:-True}"
export ANSIBLE_FORKS="${ANSIBLE_FORKS:-10}"
export ANSIBLE_GATHERING="${ANSIBLE_GATHERING:-explicit}"
