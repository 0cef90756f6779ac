"""Proves the transfer-test topologies (xpmntest.topology): who reaches whom in
each kind, with and without the home router, and that building and deleting
them leaves this process's own network namespace alone (none of the
topology's interfaces ever appears there) and no namespace behind.

Run from tests/integration:  /usr/bin/python3 -m unittest -v test_fixture_topology
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from xpmntest.bridge import Bridge, controller_config, wait_devices, xmpp_section
from xpmntest.netns import IP, list_named
from xpmntest.topology import KINDS, Topology

# (kind, router) -> (controller reaches bridge, bridge reaches controller)
EXPECTED = {
    ('routed', False): (True, True),
    ('isolated', False): (False, False),
    ('isolated-no-proxy', False): (False, False),
    # Behind the router the bridge is masqueraded: reachable from outside only
    # through a port mapping (test_fixture_miniupnpd), yet it reaches out.
    ('routed', True): (False, True),
    ('isolated', True): (False, False),
    ('isolated-no-proxy', True): (False, False),
}


TOPOLOGY_IFNAMES = ('ctl0', 'brg0', 'wan0', 'wan1', 'lan0', 'vtmp')


def own_interfaces():
    """Names of this namespace's interfaces that a topology could have made."""
    out = subprocess.run([IP, '-o', 'link'], capture_output=True, text=True, timeout=10).stdout
    names = [line.split(':')[1].strip().split('@')[0] for line in out.splitlines() if ':' in line]
    return [n for n in names if n.startswith(TOPOLOGY_IFNAMES)]


class TopologyTest(unittest.TestCase):
    def check(self, kind, router):
        with Topology(kind, router=router) as topo:
            listeners = {}
            for name in ('server', 'controller', 'bridge'):
                ns = getattr(topo, name)
                s = Topology.listen(ns)
                self.addCleanup(s.close)
                listeners[name] = s.getsockname()[1]
            server = (topo.server_ip, listeners['server'])
            self.assertTrue(Topology.can_connect(topo.controller, server))
            self.assertTrue(Topology.can_connect(topo.bridge, server))
            to_bridge = Topology.can_connect(topo.controller,
                                             (topo.bridge_ip, listeners['bridge']), 1.0)
            to_controller = Topology.can_connect(topo.bridge,
                                                 (topo.controller_ip, listeners['controller']), 1.0)
            self.assertEqual((to_bridge, to_controller), EXPECTED[(kind, router)])
            forward = topo.server.run(['sysctl', '-n', 'net.ipv4.ip_forward']).stdout.strip()
            self.assertEqual(forward, '1' if kind == 'routed' else '0')
            self.assertEqual(topo.proxy, kind != 'isolated-no-proxy')
            names = [ns.name for ns in topo.namespaces]
            self.assertEqual(len(names), 4 if router else 3)
            self.assertEqual(own_interfaces(), [])
        self.assertFalse(set(names) & set(list_named()), 'namespaces left behind')

    def test_every_kind(self):
        for kind in KINDS:
            for router in (False, True):
                with self.subTest(kind=kind, router=router):
                    self.check(kind, router)

    def test_unknown_kind_is_refused(self):
        with self.assertRaises(ValueError):
            Topology('flat')


class BinariesInTopologyTest(unittest.TestCase):
    """The built bridge in the bridge namespace and the xpmn CLI in the
    controller's, both reaching Prosody in the server namespace."""

    def test_bridge_and_cli_meet_on_the_server(self):
        tmp = tempfile.mkdtemp(prefix='xpmn-topology-')
        self.addCleanup(shutil.rmtree, tmp, True)
        topo = Topology('isolated').create()
        self.addCleanup(topo.delete)
        srv = topo.prosody(os.path.join(tmp, 'prosody'))
        self.addCleanup(srv.kill)
        srv.add_user('home', 'home-pw')
        srv.start()
        self.addCleanup(srv.stop)
        bridge = Bridge(tmp, xmpp_section(srv, 'home', 'home-pw'), netns=topo.bridge)
        self.addCleanup(bridge.kill)
        self.addCleanup(bridge.stop)
        bridge.start()
        config = controller_config(tmp, srv, 'home', 'home-pw', 'controller')
        bridge_jid = srv.jid('home', 'bridge')
        wait_devices(config, lambda out: bridge_jid in out, timeout=60, netns=topo.controller)
        self.assertIn(bridge.proc.pid, topo.bridge.pids())


if __name__ == '__main__':
    unittest.main()
