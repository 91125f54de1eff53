# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reboot-safe links: what a module run persists, and the boot-time restore.

A run's desired state (module name and validated params) is stored as a record;
NetworkManager profiles are rendered from all records, and a systemd unit replays
what NetworkManager cannot hold through the same engine at boot.
"""
