"""The independent end-to-end peer (xpmntest/indie_peer.py, written from the
wire profile alone) against the real bridge, through Prosody and ejabberd:
a minidlna in the test's namespace, the bridge with require_e2e on, the PIN
from `xpmn-bridge pair`. The peer pairs with BARE/bridge (srp + pubkeys both
ways, §4.1), then opens an x509 stream to the NAS device and browses the
root and a subcontainer and searches (§5); an unpaired peer is refused with
<security-error/>.

The pairing URI the bridge prints (docs/protocol.md "Pairing URI") with the
`xpmn` CLI: `xpmn pair URI` pairs and pins the bridge's certificate; a URI
or `--fp` with another fingerprint fails and stores nothing.

The module runs inside a fresh network namespace (xpmntest.netns).
"""
import re
import unittest
import xml.etree.ElementTree as ET

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'indie-bridge-s3cret'
SERVER_NS = 'urn:xmpp:media:server:0'
METADATA_NS = 'urn:xmpp:media:metadata:0'
NAS_NAME = 'Indie NAS'
URI_LINE = re.compile(r'^(xmpp:\S+\?pair;\S+)$', re.M)


if not inside_namespace():
    InNamespace = module_in_namespace('test_indie_peer_bridge', prefix='xpmn-indie-b')

else:
    from xpmntest import media
    from xpmntest.bridge import class_workdir, controller_config, open_pairing, run_xpmn, start_secure_home
    from xpmntest.ejabberd import Ejabberd
    from xpmntest.indie_peer import CLIENT, IndieError, connected_peer, q
    from xpmntest.prosody import Prosody

    class IndieBridgeBase:
        """The tests, run once per XMPP server (the subclasses)."""
        server_class = None
        count = 0

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-indie-bridge-')
            start_secure_home(cls, cls.server_class, PASSWORD, NAS_NAME)

        @classmethod
        def controller(cls, name):
            """An xpmn config with a state dir of its own (own key, own trust store)."""
            cls.count += 1
            name = '%s-%d' % (name, cls.count)
            return controller_config(cls.workdir, cls.server, 'home', PASSWORD, name)

        def peer(self, resource):
            return connected_peer(self, 'home', resource, PASSWORD)

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

        # -- the pairing URI, with the xpmn CLI ---------------------------------
        def assert_not_paired(self, config):
            self.assertIn('no paired bridges', run_xpmn(config, 'trust').stdout)
            r = run_xpmn(config, 'browse', self.device, '0', '--xml')
            self.assertEqual(r.returncode, 1)
            self.assertIn('not paired', r.stderr)

        def test_xpmn_pairs_by_uri_and_checks_its_fingerprint(self):
            _pin, printed = open_pairing(self.bridge)
            uri = URI_LINE.search(printed).group(1)
            fp = re.search(r';fp=([0-9a-f]{64})', uri).group(1)
            phone = self.controller('uri')
            r = run_xpmn(phone, 'pair', uri)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn('fingerprint ' + fp, r.stdout)
            self.assertIn(fp, run_xpmn(phone, 'trust').stdout)
            r = run_xpmn(phone, 'browse', self.device, '0', '--xml')
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(ET.fromstring(r.stdout).get('id'), '0')

        def test_another_fingerprint_fails_and_stores_nothing(self):
            for by_uri in (True, False):
                pin, printed = open_pairing(self.bridge)   # the handshake itself uses up the PIN
                uri = URI_LINE.search(printed).group(1)
                fp = re.search(r';fp=([0-9a-f]{64})', uri).group(1)
                other = ('0' if fp[0] != '0' else '1') + fp[1:]
                args = (('pair', uri.replace(fp, other)) if by_uri else
                        ('pair', self.bridge_jid, '--pin', pin, '--fp', other.upper()))
                c = self.controller('wrong-fp')
                r = run_xpmn(c, *args)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn(other, r.stderr)
                self.assertIn('nothing was stored', r.stderr)
                self.assert_not_paired(c)

        def test_bad_pairing_arguments_are_usage_errors(self):
            c = self.controller('usage')
            for args in (('pair', 'xmpp:%s?pair;fp=%s' % (self.bridge_jid, 'a' * 64)),   # no PIN
                         ('pair', 'xmpp:%s?pair;pin=12%%4' % self.bridge_jid),             # bad escape
                         ('pair', 'xmpp:%s?join;pin=123456' % self.bridge_jid),           # not pairing
                         ('pair', 'xmpp:%s?pair;pin=123456' % self.bridge_jid, '--pin', '654321'),
                         ('pair', self.bridge_jid, '--pin', '123456', '--fp', 'abc'),
                         ('pair', self.bridge_jid)):
                r = run_xpmn(c, *args)
                self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assert_not_paired(c)

    class TestIndieBridgeProsody(IndieBridgeBase, unittest.TestCase):
        server_class = Prosody

    class TestIndieBridgeEjabberd(IndieBridgeBase, unittest.TestCase):
        server_class = Ejabberd


if __name__ == '__main__':
    unittest.main(verbosity=2)
