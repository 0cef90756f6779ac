"""Proves the home-router fixture (xpmntest.miniupnpd in a Topology with
router=True): miniupnpd answers an IGD control point on the bridge's LAN
(SSDP, GetExternalIPAddress, AddPortMapping, GetGenericPortMappingEntry,
DeletePortMapping), its lease file and its DNAT chain in the router namespace
follow, a mapped port carries a connection from the controller's namespace to
the bridge's, and secure_mode refuses a mapping to another LAN address.

Run from tests/integration:  /usr/bin/python3 -m unittest -v test_fixture_miniupnpd
"""
import os
import shutil
import tempfile
import unittest

from xpmntest.miniupnpd import MiniUpnpd, ssdp
from xpmntest.topology import Topology
from xpmntest.upnp_direct import UpnpError

# What miniupnpd in secure_mode answers a mapping for another LAN client
# (ConflictInMappingEntry, as IGD v1 specifies; IGD v2 would allow 606 too).
CONFLICT_IN_MAPPING_ENTRY = 718
NO_SUCH_ENTRY_IN_ARRAY = 714


class MiniUpnpdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='xpmn-miniupnpd-')
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.topo = Topology('routed', router=True).create()
        cls.addClassCleanup(cls.topo.delete)
        cls.igd = MiniUpnpd(os.path.join(cls.tmp, 'igd'), cls.topo)
        cls.addClassCleanup(cls.igd.kill)
        cls.igd.start()
        cls.addClassCleanup(cls.igd.stop)

    def setUp(self):
        self.cp = self.igd.control_point(self.topo.bridge)

    def map(self, external_port, internal_port, **kw):
        self.cp.add_port_mapping(external_port, self.topo.bridge_ip, internal_port, 'TCP', **kw)
        self.addCleanup(self.unmap, external_port)

    def unmap(self, external_port):
        try:
            self.cp.delete_port_mapping(external_port, 'TCP')
        except UpnpError as e:
            if e.code != NO_SUCH_ENTRY_IN_ARRAY:
                raise

    def test_found_by_ssdp_on_the_lan(self):
        found = ssdp(self.topo.bridge, self.topo.bridge_ip)
        self.assertIn(self.igd.description_url, [r['location'] for r in found])

    def test_external_address_is_the_wan_address(self):
        self.assertEqual(self.cp.external_ip(), self.topo.router_wan_ip)

    def test_add_list_delete_port_mapping(self):
        self.assertEqual(self.cp.port_mappings(), [])
        self.map(40001, 5001, description='xpmn fixture')
        [entry] = self.cp.port_mappings()
        self.assertEqual((entry['protocol'], entry['external_port'], entry['internal_client'],
                          entry['internal_port'], entry['description']),
                         ('TCP', 40001, self.topo.bridge_ip, 5001, 'xpmn fixture'))
        [lease] = self.igd.mappings()
        self.assertEqual((lease['external_port'], lease['internal_client'], lease['internal_port']),
                         (40001, self.topo.bridge_ip, 5001))
        self.assertIn('dport 40001 dnat ip to %s:5001' % self.topo.bridge_ip, self.igd.nat_rules())
        self.cp.delete_port_mapping(40001, 'TCP')
        self.assertEqual(self.cp.port_mappings(), [])
        self.assertEqual(self.igd.mappings(), [])
        self.assertNotIn('40001', self.igd.nat_rules())

    def test_mapped_port_reaches_the_bridge_from_outside(self):
        listener = Topology.listen(self.topo.bridge, port=5002)
        self.addCleanup(listener.close)
        outside = (self.topo.router_wan_ip, 40002)
        self.assertFalse(Topology.can_connect(self.topo.controller, outside, timeout=1.0))
        self.map(40002, 5002)
        conn = self.topo.controller.create_connection(outside, 5.0)
        self.addCleanup(conn.close)
        listener.settimeout(5.0)
        accepted, peer = listener.accept()
        accepted.close()
        # Masquerading is only LAN -> WAN: the bridge sees the controller's own address.
        self.assertEqual(peer[0], self.topo.controller_ip)

    def test_secure_mode_refuses_a_mapping_for_another_client(self):
        with self.assertRaises(UpnpError) as ctx:
            self.cp.add_port_mapping(40003, self.topo.router_lan_ip[:-1] + '9', 5003, 'TCP')
        self.assertEqual(ctx.exception.code, CONFLICT_IN_MAPPING_ENTRY)
        self.assertEqual(self.cp.port_mappings(), [])


if __name__ == '__main__':
    unittest.main()
