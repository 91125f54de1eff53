"""The lean codec's VLAN attributes against pyroute2's, without a kernel (this one has
no 802.1Q; tests/kernel_lab/test_vlan_sub.py builds real VLANs through both paths)."""

from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import rtnl
from ansible_collections.kvmnet.hostnet.plugins.module_utils.kinds import vlan

HEADER = rtnl._HEADER


def as_received(body, msg_type=16):
    """A request body as the kernel would send it back: a whole netlink message."""
    return HEADER.pack(16 + len(body), msg_type, 0, 1, 0) + body


def pyroute2_message(attrs):
    msg = ifinfmsg()
    msg['index'] = 7
    msg['attrs'] = attrs
    msg.encode()
    return bytes(msg.data[:msg['header']['length']])


def test_a_vlan_create_is_encoded_as_pyroute2_decodes_it():
    kind = vlan.VlanKind()
    wanted = {'vlan_id': 42, 'protocol': '802.1ad', 'gvrp': True, 'reorder_hdr': False}
    arguments = dict(ifname='v42', kind='vlan', link=3)
    for key, value in wanted.items():
        option = kind.options[key]
        encoded = option.codec.encode(value)
        if option.combine is not None and option.keyword in arguments:
            encoded = option.combine(arguments[option.keyword], encoded)
        arguments[option.keyword] = encoded
    request = rtnl.encode('link', ('add',), arguments)
    assert request is not None, 'a VLAN without QoS maps is encoded by the lean codec'
    full = ifinfmsg(as_received(request.body))
    full.decode()
    data = full.get('IFLA_LINKINFO').get('IFLA_INFO_DATA')
    assert (full.get('IFLA_IFNAME'), full.get('IFLA_LINK')) == ('v42', 3)
    assert data.get('IFLA_VLAN_ID') == 42
    assert data.get('IFLA_VLAN_PROTOCOL') == 0x88a8
    flags = data.get('IFLA_VLAN_FLAGS')
    assert (flags['flags'], flags['mask']) == (
        vlan.VLAN_FLAG_GVRP, vlan.VLAN_FLAG_GVRP | vlan.VLAN_FLAG_REORDER_HDR)


def test_a_vlan_with_a_qos_map_is_left_to_pyroute2():
    codec = vlan.VlanKind().options['egress_qos_map'].codec
    arguments = dict(ifname='v42', kind='vlan', link=3, vlan_id=42,
                     vlan_egress_qos=codec.encode({1: 3}))
    assert rtnl.encode('link', ('add',), arguments) is None


def test_vlan_data_decodes_to_the_values_pyroute2_gives():
    raw = pyroute2_message([
        ('IFLA_IFNAME', 'v42'),
        ('IFLA_LINK', 3),
        ('IFLA_LINKINFO', {'attrs': [
            ('IFLA_INFO_KIND', 'vlan'),
            ('IFLA_INFO_DATA', {'attrs': [
                ('IFLA_VLAN_ID', 42),
                ('IFLA_VLAN_FLAGS', {'flags': 0x3, 'mask': 0xffffffff}),
                ('IFLA_VLAN_EGRESS_QOS', {'attrs': [
                    ('IFLA_VLAN_QOS_MAPPING', {'from': 1, 'to': 3}),
                    ('IFLA_VLAN_QOS_MAPPING', {'from': 6, 'to': 5})]}),
                ('IFLA_VLAN_INGRESS_QOS', {'attrs': [
                    ('IFLA_VLAN_QOS_MAPPING', {'from': 2, 'to': 7})]}),
                ('IFLA_VLAN_PROTOCOL', 0x8100)]})]})])
    lean = rtnl.decode_link(as_received(raw[16:]))
    full = ifinfmsg(raw)
    full.decode()
    lean_data = lean.get('IFLA_LINKINFO').get('IFLA_INFO_DATA')
    full_data = full.get('IFLA_LINKINFO').get('IFLA_INFO_DATA')
    assert lean_data.get('IFLA_VLAN_ID') == full_data.get('IFLA_VLAN_ID') == 42
    assert lean_data.get('IFLA_VLAN_PROTOCOL') == full_data.get('IFLA_VLAN_PROTOCOL') == 0x8100
    # Every option of the kind decodes to the same value from either message.
    kind = vlan.VlanKind()
    for key, option in kind.options.items():
        if option.top_level:
            continue
        views = [option.codec.decode(data.get(option.nla)) for data in (lean_data, full_data)]
        assert views[0] == views[1], (key, views)
    qos = kind.options['egress_qos_map'].codec
    assert qos.decode(lean_data.get('IFLA_VLAN_EGRESS_QOS')) == {1: 3, 6: 5}
    assert kind.options['gvrp'].codec.decode(lean_data.get('IFLA_VLAN_FLAGS')) is True
    # Read without pyroute2: the lean message never needed the full decode.
    assert lean._full is None
