"""The independent end-to-end peer (xpmntest/indie_peer.py, written from the
wire profile alone) against the real bridge, through Prosody and ejabberd:
a minidlna in the test's namespace, the bridge with require_e2e on, the PIN
from `xpmn-bridge pair`. The peer pairs with BARE/bridge (srp + pubkeys both
ways, §4.1), then opens an x509 stream to the NAS device and browses the
root and a subcontainer and searches (§5); an unpaired peer is refused with
<security-error/>.

The module runs inside a fresh network namespace (xpmntest.netns).
"""
import os
import unittest
import xml.etree.ElementTree as ET

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'indie-bridge-s3cret'
SERVER_NS = 'urn:xmpp:media:server:0'
METADATA_NS = 'urn:xmpp:media:metadata:0'
NAS_NAME = 'Indie NAS'


if not inside_namespace():
    InNamespace = module_in_namespace('test_indie_peer_bridge', prefix='xpmn-indie-b')

else:
    from xpmntest import media
    from xpmntest.bridge import (class_workdir, device_jids, open_pairing, start_secure_home, wait_devices,
                                 write_config, xmpp_section)
    from xpmntest.ejabberd import Ejabberd
    from xpmntest.indie_peer import CLIENT, IndieError, IndiePeer, q
    from xpmntest.prosody import Prosody

    class IndieBridgeBase:
        """The tests, run once per XMPP server (the subclasses)."""
        server_class = None

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-indie-bridge-')
            start_secure_home(cls, cls.server_class, PASSWORD, NAS_NAME)
            # Discovery is plain c2s (disco#items of the account); the xpmn CLI does it.
            finder = write_config(os.path.join(cls.workdir, 'finder.toml'), {
                'xmpp': xmpp_section(cls.server, 'home', PASSWORD),
                'bridge': {'state_dir': os.path.join(cls.workdir, 'finder-state')}})
            out = wait_devices(finder, lambda out: NAS_NAME in out and '/bridge' in out, timeout=60)
            cls.device = device_jids(out)[NAS_NAME]
            cls.count = 0

        def peer(self, resource):
            type(self).count += 1
            p = IndiePeer(self.server.jid('home', resource), PASSWORD, port=self.server.c2s_port,
                          ca_file=self.server.ca_file,
                          workdir=os.path.join(self.workdir, '%s-%d' % (resource, self.count)),
                          device_name='Indie %s' % resource)
            self.addCleanup(p.close)
            return p.connect()

        def browse(self, stream, cid):
            reply = stream.iq("<browse xmlns='%s' id='%s' start='0' max='100'/>" % (SERVER_NS, cid))
            self.assertEqual(reply.get('type'), 'result', ET.tostring(reply, encoding='unicode'))
            container = reply.find(q('container', METADATA_NS))
            self.assertIsNotNone(container, ET.tostring(reply, encoding='unicode'))
            return container

        def test_pairs_with_the_bridge_then_browses_and_searches_over_x509(self):
            pin, printed = open_pairing(self.bridge)
            phone = self.peer('phone')
            fp = phone.pair(self.bridge_jid, pin)
            # The fingerprint the bridge printed next to the PIN is the certificate it sent.
            self.assertIn('fp=' + fp, printed)
            self.assertIn(fp, phone.trusted)
            # The bridge's devices share its identity (one certificate per account).
            s = phone.open(self.device)
            self.assertEqual(s.method, 'x509')
            self.assertEqual(s.peer_fingerprint, fp)
            self.assertEqual(s.header.get('from'), self.server.jid('home'))

            root = self.browse(s, '0')
            self.assertEqual(root.get('id'), '0')
            self.assertIsNone(root.get('parent'))
            self.assertGreater(int(root.get('returned')), 0)
            self.assertEqual(int(root.get('returned')), len(list(root)) - (1 if root.find(q('title', METADATA_NS)) is not None else 0))
            sub = next(c.get('id') for c in root if c.tag == q('container', METADATA_NS))
            child = self.browse(s, sub)
            self.assertEqual(child.get('id'), sub)
            self.assertEqual(child.get('parent'), '0')

            title = media.TRACKS[0][1]
            reply = s.iq("<search xmlns='%s' container='0'><title>%s</title></search>" % (SERVER_NS, title))
            self.assertEqual(reply.get('type'), 'result', ET.tostring(reply, encoding='unicode'))
            found = reply.find(q('container', METADATA_NS))
            titles = [i.findtext(q('title', METADATA_NS)) for i in found.findall(q('item', METADATA_NS))]
            self.assertIn(title, titles)

            bad = s.iq("<browse xmlns='%s' id='no-such-object'/>" % SERVER_NS)
            self.assertEqual(bad.get('type'), 'error')
            self.assertIsNotNone(bad.find('%s/{urn:ietf:params:xml:ns:xmpp-stanzas}text' % q('error', CLIENT)))
            s.close()

        def test_unpaired_peer_is_refused_with_security_error(self):
            stranger = self.peer('stranger')
            with self.assertRaises(IndieError) as e:
                stranger.open(self.device)
            self.assertEqual(e.exception.reason, 'security-error')
            # Nor may it pair without an open window and the PIN.
            with self.assertRaises(IndieError) as e:
                stranger.pair(self.bridge_jid, '000000')
            self.assertEqual(e.exception.reason, 'security-error')

    class TestIndieBridgeProsody(IndieBridgeBase, unittest.TestCase):
        server_class = Prosody

    class TestIndieBridgeEjabberd(IndieBridgeBase, unittest.TestCase):
        server_class = Ejabberd


if __name__ == '__main__':
    unittest.main(verbosity=2)
