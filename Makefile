# Developers' entry point. Every target installs what it needs on a fresh Debian 12.
SHELL := /bin/bash
VENV := .venv
APT_PACKAGES := iproute2 iputils-ping qemu-system-x86 linux-image-amd64 busybox-static \
                libteam-utils cpio docker.io debootstrap git rsync shellcheck openssh-client \
                nftables

.PHONY: help deps venv test unit netns kernel-lab reboot-proof matrix molecule confirm lint sanity lab lab-down site clean

help:
	@echo "make lab         build the two-hypervisor lab, run site.yml, print the connectivity table"
	@echo "make lab-down    tear the lab down"
	@echo "make test        every test tier (unit, netns, kernel-lab, molecule, lint, sanity)"
	@echo "make unit | netns | kernel-lab | matrix | molecule | confirm | lint | sanity   one tier"

# apt only when something is missing: CI machines start bare, developers' do not.
deps: venv
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q $$missing; fi

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

test: deps
	scripts/test-all

unit: venv
	scripts/tier unit tests/unit -q
netns: deps
	scripts/tier netns tests/netns -q -n auto --dist loadfile
kernel-lab: deps
	tests/kernel_lab/run -q
# Persistence proven by rebooting a NetworkManager guest five times on one disk (also
# part of kernel-lab; KERNEL_LAB_TOPOLOGY=file.yml runs another topology through it).
reboot-proof: deps
	tests/kernel_lab/run -q -k persist_reboot
matrix: deps
	scripts/matrix
molecule: deps
	scripts/molecule-all
lint: venv
	scripts/lint
sanity: deps
	scripts/sanity
confirm: deps
	tests/lab/run -q

lab: deps
	lab/lab up
	lab/lab site
lab-down:
	lab/lab down

clean:
	rm -rf .cache/reports .cache/sanity
