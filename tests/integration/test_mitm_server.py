"""An untrusted XMPP server in the middle of an end-to-end stream: Prosody
with mod_xpmn_mitm (xpmntest/prosody_modules/, `Prosody(..., mitm=True)`)
rewrites the XTLS <fingerprint/> of the Jingle session-initiate and
session-accept in transit, as a server that wants its own key accepted would.
Two independent peers (xpmntest/indie_peer.py; one as responder) that trust
each other's real certificates must then fail with <security-error/> on both
sides, and no IQ inside the stream is ever answered:

- the replaced fingerprint is unknown to the responder: it refuses the
  session-initiate;
- the replaced fingerprint is one both peers trust (a key the attacker holds):
  both accept the Jingle exchange, and the TLS handshake shows that the leaf
  is not the announced one;
- the same pair through an honest server opens the stream.

    /usr/bin/python3 -m unittest -v test_mitm_server
"""
import os
import unittest
import xml.etree.ElementTree as ET

from xpmntest.bridge import class_workdir
from xpmntest.indie_peer import Identity, IndieError, IndiePeer, q
from xpmntest.prosody import Prosody

PASSWORD = 'mitm-pw'
TEST_NS = 'urn:xmpp:indie:test:0'


def flipped(hex_digits):
    return ''.join('%x' % (15 - int(d, 16)) for d in hex_digits)


class MitmServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        class_workdir(cls, 'xpmn-mitm-')
        cls.attacker = Identity(os.path.join(cls.workdir, 'attacker'), 'mallory@xpmn.test')
        cls.honest = cls.server('honest')
        cls.mitm = cls.server('mitm', mitm=True)
        cls.mitm_trusted_key = cls.server('mitm-key', mitm=True, mitm_fingerprint=cls.attacker.fingerprint)
        cls.count = 0

    @classmethod
    def server(cls, name, **options):
        srv = Prosody(os.path.join(cls.workdir, name), **options)
        cls.addClassCleanup(srv.kill)
        srv.add_user('home', PASSWORD)
        srv.start()
        cls.addClassCleanup(srv.stop)
        return srv

    def peer(self, srv, resource):
        type(self).count += 1
        p = IndiePeer(srv.jid('home', resource), PASSWORD, port=srv.c2s_port, ca_file=srv.ca_file,
                      workdir=os.path.join(self.workdir, '%s-%d' % (resource, self.count)),
                      device_name=resource)
        self.addCleanup(p.close)
        return p.connect()

    def pair_through(self, srv):
        """A phone and a device that trust each other's real certificates; the
        device counts the IQs it answers inside streams."""
        phone, device = self.peer(srv, 'phone'), self.peer(srv, 'device')
        self.answered = []

        def echo(stream, iq):
            self.answered.append(iq)
            out = ET.Element(q('echo', TEST_NS))
            out.text = 'echo'
            return out
        device.serve(methods=('x509',), handlers={('get', TEST_NS, 'echo'): echo})
        phone.trust(device.fingerprint, device.cert_der)
        device.trust(phone.fingerprint, phone.cert_der)
        return phone, device

    def assert_refused(self, phone, device, responder_saw):
        with self.assertRaises(IndieError) as e:
            s = phone.open(device.full_jid, timeout=20)
            s.iq("<echo xmlns='%s'/>" % TEST_NS)   # never reached: nothing may answer
        self.assertEqual(e.exception.reason, 'security-error', str(e.exception))
        self.assertEqual(device.accepted, [])
        self.assertEqual(len(device.failures), 1, device.failures)
        self.assertIn(responder_saw, device.failures[0])
        self.assertEqual(self.answered, [])

    def test_honest_server_opens_the_stream(self):
        phone, device = self.pair_through(self.honest)
        s = phone.open(device.full_jid)
        self.assertEqual(s.peer_fingerprint, device.fingerprint)
        self.assertEqual(device.wait_accepted().peer_fingerprint, phone.fingerprint)
        self.assertEqual(s.iq("<echo xmlns='%s'/>" % TEST_NS).findtext(q('echo', TEST_NS)), 'echo')
        self.assertEqual(len(self.answered), 1)
        s.close()
        self.assertEqual(self.honest.mitm_rewrites(), [])

    def test_unknown_replaced_fingerprint_is_refused(self):
        phone, device = self.pair_through(self.mitm)
        before = len(self.mitm.mitm_rewrites())
        # The responder refuses at once: the offered key is not one it trusts.
        self.assert_refused(phone, device, 'refused')
        rewrites = self.mitm.mitm_rewrites()[before:]
        self.assertEqual([r['action'] for r in rewrites], ['session-initiate'])
        self.assertEqual(rewrites[0]['original'], phone.fingerprint)
        self.assertEqual(rewrites[0]['replacement'], flipped(phone.fingerprint))

    def test_trusted_replaced_fingerprint_fails_in_tls(self):
        srv = self.mitm_trusted_key
        phone, device = self.pair_through(srv)
        # Both trust the key the server announces instead of theirs.
        phone.trust(self.attacker.fingerprint, self.attacker.der)
        device.trust(self.attacker.fingerprint, self.attacker.der)
        before = len(srv.mitm_rewrites())
        # Each side finds in TLS that the peer's leaf is not the announced key.
        self.assert_refused(phone, device, 'is not the announced')
        rewrites = srv.mitm_rewrites()[before:]
        self.assertEqual(sorted(r['action'] for r in rewrites), ['session-accept', 'session-initiate'])
        originals = {r['action']: r['original'] for r in rewrites}
        self.assertEqual(originals, {'session-initiate': phone.fingerprint,
                                     'session-accept': device.fingerprint})
        self.assertTrue(all(r['replacement'] == self.attacker.fingerprint for r in rewrites))


if __name__ == '__main__':
    unittest.main(verbosity=2)
