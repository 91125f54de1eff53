"""ARP probe frames and what counts as someone else's answer."""

import socket
import struct

from ansible_collections.kvmnet.hostnet.plugins.module_utils.diagnose import arp

MINE = '02:00:00:00:00:01'
OTHER = '02:00:00:00:00:99'


def reply(sender_mac, sender_ip, opcode=arp.ARP_REPLY):
    mac = bytes(bytearray(int(x, 16) for x in sender_mac.split(':')))
    body = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, opcode, mac, socket.inet_aton(sender_ip),
                       b'\0' * 6, b'\0' * 4)
    return b'\xff' * 6 + mac + struct.pack('!H', arp.ETH_P_ARP) + body


def test_probe_says_nothing_about_the_sender():
    frame = arp.probe_frame(MINE, '192.0.2.1')
    assert frame[:6] == b'\xff' * 6 and frame[28:32] == b'\0\0\0\0'
    assert socket.inet_ntoa(frame[38:42]) == '192.0.2.1'


def test_only_another_machine_claiming_the_address_counts():
    assert arp.owner_in_reply(reply(OTHER, '192.0.2.1'), MINE, '192.0.2.1') == OTHER
    assert arp.owner_in_reply(reply(MINE, '192.0.2.1'), MINE, '192.0.2.1') is None
    assert arp.owner_in_reply(reply(OTHER, '192.0.2.2'), MINE, '192.0.2.1') is None
    assert arp.owner_in_reply(reply(OTHER, '192.0.2.1', arp.ARP_REQUEST), MINE, '192.0.2.1') is None
