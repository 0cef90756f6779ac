"""Proves the SOCKS5 bytestreams proxy (XEP-0065) of the XMPP server fixtures
and the transfer topologies they run in (xpmntest.topology):

- Prosody with proxy65 in topology (b) 'isolated': the server's disco#items
  lists proxy.DOMAIN, its disco#info says proxy/bytestreams, its bytestreams
  query gives the fixture's (jid, host, port); the controller and bridge
  namespaces do not reach each other, yet two slixmpp clients there move bytes
  through the proxy (slixmpp's xep_0065).
- (c) 'isolated-no-proxy': no proxy listed.
- ejabberd with mod_proxy65 in (b): listed and answering the same query.
- Prosody with proxy65 on the host's loopback (no namespace): the same; with
  proxy65_acl only the listed users get its address.

Run from tests/integration:  /usr/bin/python3 -m unittest -v test_fixture_proxy65
"""
import os
import shutil
import tempfile
import unittest
import xml.etree.ElementTree as ET

from xpmntest.slix import SlixClient
from xpmntest.topology import Topology

DISCO_ITEMS = 'http://jabber.org/protocol/disco#items'
BYTESTREAMS = 'http://jabber.org/protocol/bytestreams'
PLUGINS = ('xep_0030', 'xep_0199', 'xep_0065')


def disco_items(client, jid):
    reply = ET.fromstring(client.send_iq_raw(
        "<iq type='get' to='%s'><query xmlns='%s'/></iq>" % (jid, DISCO_ITEMS)))
    return sorted(i.get('jid') for i in reply.iter('{%s}item' % DISCO_ITEMS))


def streamhosts(client, proxy_jid):
    """The <streamhost/>s a proxy announces: [(jid, host, port)]."""
    reply = ET.fromstring(client.send_iq_raw(
        "<iq type='get' to='%s'><query xmlns='%s'/></iq>" % (proxy_jid, BYTESTREAMS)))
    if reply.get('type') != 'result':
        raise AssertionError('bytestreams query to %s failed: %s' % (
            proxy_jid, ET.tostring(reply, encoding='unicode')))
    return [(h.get('jid'), h.get('host'), int(h.get('port')))
            for h in reply.iter('{%s}streamhost' % BYTESTREAMS)]


class TopologyCase(unittest.TestCase):
    kind = 'isolated'
    server = 'prosody'

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='xpmn-proxy65-')
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.topo = Topology(cls.kind).create()
        cls.addClassCleanup(cls.topo.delete)
        make = cls.topo.prosody if cls.server == 'prosody' else cls.topo.ejabberd
        cls.srv = make(os.path.join(cls.tmp, cls.server))
        cls.addClassCleanup(cls.srv.kill)
        cls.srv.add_user('alice', 'alice-pw')
        cls.srv.add_user('bob', 'bob-pw')
        cls.srv.start()
        cls.addClassCleanup(cls.srv.stop)

    def client(self, user, resource, ns):
        c = SlixClient(self.srv.jid(user, resource), user + '-pw', host=self.topo.server_ip,
                       port=self.srv.c2s_port, ca_file=self.srv.ca_file, plugins=PLUGINS,
                       netns=ns)
        self.addCleanup(c.close)
        return c.connect()


class ProsodyProxy65Test(TopologyCase):
    def test_proxy_is_discoverable(self):
        c = self.client('alice', 'ctl', self.topo.controller)
        jid, host, port = self.srv.streamhost
        self.assertEqual(jid, 'proxy.' + self.srv.domain)
        self.assertEqual(host, self.topo.server_ip)
        self.assertIn(jid, disco_items(c, self.srv.domain))
        self.assertIn(('proxy', 'bytestreams', 'SOCKS5 Bytestreams Service'),
                      c.disco_info(jid)['identities'])
        self.assertEqual(streamhosts(c, jid), [self.srv.streamhost])
        self.assertEqual(c.s5b_proxies(), {jid: (host, port)})

    def test_bridge_and_controller_have_no_route_to_each_other(self):
        for src, dst, dst_ip in ((self.topo.controller, self.topo.bridge, self.topo.bridge_ip),
                                 (self.topo.bridge, self.topo.controller, self.topo.controller_ip)):
            listener = Topology.listen(dst)
            self.addCleanup(listener.close)
            port = listener.getsockname()[1]
            self.assertTrue(Topology.can_connect(dst, (dst_ip, port)))
            self.assertFalse(Topology.can_connect(src, (dst_ip, port), timeout=1.0))
            self.assertTrue(Topology.can_connect(src, self.srv.address))
            self.assertTrue(Topology.can_connect(src, self.srv.streamhost[1:]))

    def test_bytes_move_through_the_proxy(self):
        ctl = self.client('alice', 'ctl', self.topo.controller)
        bridge = self.client('bob', 'bridge', self.topo.bridge)
        bridge.s5b_accept()
        data = os.urandom(256 * 1024 + 7)
        sid = ctl.s5b_send(bridge.full_jid, data)
        self.assertEqual(bridge.s5b_wait_received(sid, len(data)), data)


class ProsodyWithoutProxyTest(TopologyCase):
    kind = 'isolated-no-proxy'

    def test_no_proxy_is_listed(self):
        self.assertFalse(self.srv.proxy65)
        c = self.client('alice', 'ctl', self.topo.controller)
        self.assertNotIn('proxy.' + self.srv.domain, disco_items(c, self.srv.domain))
        self.assertEqual(c.s5b_proxies(), {})


class RoutedTopologyTest(TopologyCase):
    kind = 'routed'

    def test_bridge_and_controller_reach_each_other(self):
        listener = Topology.listen(self.topo.bridge)
        self.addCleanup(listener.close)
        self.assertTrue(Topology.can_connect(
            self.topo.controller, (self.topo.bridge_ip, listener.getsockname()[1])))
        c = self.client('alice', 'ctl', self.topo.controller)
        self.assertEqual(streamhosts(c, self.srv.proxy65_jid), [self.srv.streamhost])


class EjabberdProxy65Test(TopologyCase):
    server = 'ejabberd'

    def test_proxy_is_discoverable(self):
        c = self.client('alice', 'ctl', self.topo.controller)
        jid = self.srv.proxy65_jid
        self.assertIn(jid, disco_items(c, self.srv.domain))
        self.assertIn('proxy', [i[0] for i in c.disco_info(jid)['identities']])
        # ejabberd's <streamhost jid/> carries a resource of its own (per node).
        [(host_jid, host, port)] = streamhosts(c, jid)
        self.assertEqual((host_jid.split('/')[0], host, port), self.srv.streamhost)

    def test_bytes_move_through_the_proxy(self):
        ctl = self.client('alice', 'ctl', self.topo.controller)
        bridge = self.client('bob', 'bridge', self.topo.bridge)
        bridge.s5b_accept()
        data = os.urandom(64 * 1024)
        sid = ctl.s5b_send(bridge.full_jid, data)
        self.assertEqual(bridge.s5b_wait_received(sid, len(data)), data)


class ProsodyProxy65LoopbackTest(unittest.TestCase):
    def start(self, **kw):
        """A loopback Prosody with proxy65 and clients alice and bob."""
        from xpmntest.prosody import Prosody
        tmp = tempfile.mkdtemp(prefix='xpmn-proxy65-lo-')
        self.addCleanup(shutil.rmtree, tmp, True)
        srv = Prosody(os.path.join(tmp, 'prosody'), proxy65=True, **kw)
        self.addCleanup(srv.kill)
        srv.add_user('alice', 'alice-pw')
        srv.add_user('bob', 'bob-pw')
        srv.start()
        self.addCleanup(srv.stop)
        clients = []
        for user in ('alice', 'bob'):
            c = SlixClient(srv.jid(user, 'x'), user + '-pw', port=srv.c2s_port,
                           ca_file=srv.ca_file, plugins=PLUGINS)
            self.addCleanup(c.close)
            clients.append(c.connect())
        return srv, clients

    def test_acl_limits_who_gets_the_proxy(self):
        srv, (a, b) = self.start(proxy65_acl=['alice@xpmn.test'])
        self.assertEqual(streamhosts(a, srv.proxy65_jid), [srv.streamhost])
        with self.assertRaisesRegex(AssertionError, 'forbidden'):
            streamhosts(b, srv.proxy65_jid)

    def test_proxy_on_loopback(self):
        srv, (a, b) = self.start()
        self.assertEqual(srv.streamhost[1], '127.0.0.1')
        self.assertEqual(streamhosts(a, srv.proxy65_jid), [srv.streamhost])
        b.s5b_accept()
        sid = a.s5b_send(b.full_jid, b'through the proxy on loopback')
        self.assertEqual(b.s5b_wait_received(sid, 29), b'through the proxy on loopback')


if __name__ == '__main__':
    unittest.main()
