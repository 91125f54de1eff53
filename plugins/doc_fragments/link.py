# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """Options every kvmnet.hostnet link module takes."""

    DOCUMENTATION = r'''
options:
  name:
    description: Interface name, at most 15 characters, no spaces, C(/) or C(:).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the link, V(absent) removes it.
      - A link of another kind with the same name is never removed or changed.
    type: str
    choices: [present, absent]
    default: present
  netns:
    description:
      - Name of a network namespace (as in C(ip netns list)) to work in.
      - A missing namespace is an error; it is never created.
    type: str
  mtu:
    description: MTU of the link.
    type: int
  mac:
    description: MAC address of the link.
    type: str
  up:
    description: Whether the link is administratively up.
    type: bool
    default: true
  persist:
    description:
      - Whether the link outlives a reboot, and through what.
      - V(none) leaves persisted files alone (O(state=absent) still removes this link's own).
      - V(networkmanager) writes a NetworkManager keyfile profile; V(restore) keeps the
        desired state for the boot-time restore unit; V(auto) is V(networkmanager) when
        NetworkManager runs, else V(restore).
      - Files are compared first; every file change is in the plan and the diff, and check
        mode writes nothing.
    type: str
    choices: [auto, networkmanager, restore, none]
    default: none
  confirm_timeout:
    description:
      - Commit-confirmed apply. The module snapshots the namespace's network state, applies
        its change and leaves a watchdog on the host that undoes the change after this many
        seconds unless M(kvmnet.hostnet.confirm) confirms it. The watchdog survives the
        module's exit and the end of the SSH session; the pending checkpoint lives in
        C(/run/kvmnet), so a reboot before the confirmation boots into the old configuration.
      - The return value C(checkpoint) says what is pending and until when.
      - A change that cannot be undone (removing a link, recreating one) is refused with this
        option, before anything is touched.
      - At least 5 seconds. Off when omitted.
    type: int
  confirm_checkpoint:
    description:
      - Name of the checkpoint. Runs naming the same pending checkpoint join it (one
        watchdog each, undone newest first) and push its deadline to at least their own
        O(confirm_timeout); a run naming another one fails while one is pending.
      - Without it every run with O(confirm_timeout) makes its own checkpoint.
    type: str
  confirm_wait:
    description:
      - While a checkpoint is pending in the namespace, every run (with or without
        O(confirm_timeout)) fails saying what is pending and until when. This many seconds
        it waits for the checkpoint to be confirmed, rolled back or to expire first.
    type: int
    default: 0
  confirm_when:
    description:
      - With O(confirm_timeout), V(always) arms the checkpoint for every run that changes
        something.
      - V(guarded) arms it only when the link, or an interface the request names (what it
        takes over, its parent or underlay device, its ports, its bridge), is an interface
        whose change can cut the host off (that of a default route or of the address the
        SSH connection reached, with their masters, ports and lower devices). Any other
        change is applied without a checkpoint; the return value C(armed) says which.
    type: str
    choices: [always, guarded]
    default: always
'''
