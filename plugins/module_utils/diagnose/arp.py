# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Duplicate address detection by ARP probe (RFC 5227), all addresses in one wait.

A probe asks "who has A?" with sender address 0.0.0.0, so no neighbour cache
learns anything from it; any host that answers owns A too.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import select
import socket
import struct
import time

ETH_P_ARP = 0x0806
ARP_REQUEST = 1
ARP_REPLY = 2
BROADCAST = b'\xff' * 6
# Hosts answer a probe at once; a quarter second also covers a busy bridge.
WAIT_SECONDS = 0.25


def _mac_bytes(mac):
    return bytes(bytearray(int(part, 16) for part in mac.split(':')))


def _mac_text(raw):
    return ':'.join('%02x' % byte for byte in bytearray(raw))


def probe_frame(mac, address):
    source = _mac_bytes(mac)
    arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, ARP_REQUEST, source,
                      b'\0\0\0\0', b'\0' * 6, socket.inet_aton(address))
    return BROADCAST + source + struct.pack('!H', ETH_P_ARP) + arp


def owner_in_reply(frame, mac, address):
    """The MAC of another host claiming ``address`` in ``frame``, or None."""
    if len(frame) < 42 or struct.unpack('!H', frame[12:14])[0] != ETH_P_ARP:
        return None
    opcode, sender_mac, sender_ip = struct.unpack('!6xH6s4s', frame[14:32])
    sender = _mac_text(sender_mac)
    if opcode == ARP_REPLY and socket.inet_ntoa(sender_ip) == address and sender != mac:
        return sender
    return None


def probe_all(targets):
    """{(interface, address): other MAC} for the (interface, mac, address) that someone else uses.

    One unbound packet socket sends every probe and hears every answer: binding and
    closing a packet socket costs a network-wide synchronisation in the kernel each.
    """
    if not targets:
        return {}
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    except (OSError, socket.error):
        return {}
    found = {}
    try:
        waiting = {}
        for interface, mac, address in targets:
            try:
                sock.sendto(probe_frame(mac, address), (interface, ETH_P_ARP))
            except (OSError, socket.error):
                continue
            waiting.setdefault(interface, []).append((mac, address))
        deadline = time.time() + WAIT_SECONDS
        while waiting and time.time() < deadline:
            if not select.select([sock], [], [], max(0, deadline - time.time()))[0]:
                break
            frame, where = sock.recvfrom(2048)
            for mac, address in waiting.get(where[0], []):
                owner = owner_in_reply(frame, mac, address)
                if owner:
                    found[(where[0], address)] = owner
    finally:
        sock.close()
    return found
