"""The independent end-to-end peer (xpmntest/indie_peer.py) against itself:
two peers on a real Prosody (and again on ejabberd), one as initiator (a controller), one as
responder (a stand-in device), over Jingle + IBB + TLS + XEP-0246:

- x509 with trusted fingerprints both ways: IQs both ways, errors with <text/>;
- x509 from an untrusted initiator: session-terminate <security-error/>;
- srp pairing with the PIN (openssl s_client/s_server), pubkeys both ways,
  then x509 with the learnt certificates; a wrong PIN fails.

    /usr/bin/python3 -m unittest -v test_indie_peer
"""
import os
import unittest
import xml.etree.ElementTree as ET

from xpmntest.bridge import class_workdir
from xpmntest.indie_peer import CLIENT, STANZAS, IndieError, IndiePeer, IqFailure, q
from xpmntest.ejabberd import Ejabberd
from xpmntest.prosody import Prosody

PASSWORD = 'indie-pw'
TEST_NS = 'urn:xmpp:indie:test:0'


def echo(stream, iq):
    out = ET.Element(q('echo', TEST_NS))
    out.text = 'echo: ' + (iq[0].text or '')
    return out


def refuse(stream, iq):
    raise IqFailure('forbidden', 'not for you', 'auth')


class IndiePeerTest(unittest.TestCase):
    SERVER = Prosody

    @classmethod
    def setUpClass(cls):
        class_workdir(cls, 'xpmn-indie-')
        cls.srv = cls.SERVER(os.path.join(cls.workdir, 'server'))
        cls.addClassCleanup(cls.srv.kill)
        cls.srv.add_user('home', PASSWORD)
        cls.srv.start()
        cls.addClassCleanup(cls.srv.stop)
        cls.count = 0

    def peer(self, resource):
        type(self).count += 1
        p = IndiePeer(self.srv.jid('home', resource), PASSWORD, port=self.srv.c2s_port,
                      ca_file=self.srv.ca_file,
                      workdir=os.path.join(self.workdir, '%s-%d' % (resource, self.count)),
                      device_name=resource)
        self.addCleanup(p.close)
        return p.connect()

    def pair_of_peers(self):
        phone, device = self.peer('phone'), self.peer('device')
        device.serve(methods=('x509',), handlers={('get', TEST_NS, 'echo'): echo,
                                                  ('set', TEST_NS, 'refuse'): refuse})
        return phone, device

    def test_x509_both_ways(self):
        phone, device = self.pair_of_peers()
        phone.trust(device.fingerprint)            # the initiator needs only the fingerprint
        device.trust(phone.fingerprint, phone.cert_der)
        s = phone.open(device.full_jid)
        self.assertEqual(s.method, 'x509')
        self.assertEqual(s.peer_fingerprint, device.fingerprint)
        self.assertEqual(s.header['from'], 'home@xpmn.test')
        d = device.wait_accepted()
        self.assertEqual(d.peer_fingerprint, phone.fingerprint)

        reply = s.iq("<echo xmlns='%s'>hello</echo>" % TEST_NS)
        self.assertEqual(reply.get('type'), 'result')
        self.assertEqual(reply.findtext(q('echo', TEST_NS)), 'echo: hello')
        big = 'x' * 20000                          # several IBB blocks, several TLS records
        self.assertEqual(s.iq("<echo xmlns='%s'>%s</echo>" % (TEST_NS, big)).findtext(q('echo', TEST_NS)),
                         'echo: ' + big)
        err = s.iq("<refuse xmlns='%s'/>" % TEST_NS, type='set')
        self.assertEqual(err.get('type'), 'error')
        self.assertIsNotNone(err.find('%s/%s' % (q('error', CLIENT), q('forbidden', STANZAS))))
        self.assertEqual(err.findtext('%s/%s' % (q('error', CLIENT), q('text', STANZAS))), 'not for you')
        unknown = s.iq("<nothing xmlns='urn:x'/>")
        self.assertIsNotNone(unknown.find('%s/%s' % (q('error', CLIENT), q('service-unavailable', STANZAS))))
        # The responder asks too: pubkeys (§4.1) are answered on any stream.
        back = d.iq("<pubkeys xmlns='urn:xmpp:pubkey:0'/>")
        self.assertEqual(back.get('type'), 'result')

        s.close()
        d.wait_closed()
        with self.assertRaises(IndieError):
            s.iq("<echo xmlns='%s'>late</echo>" % TEST_NS)

    def test_untrusted_initiator_gets_security_error(self):
        phone, device = self.pair_of_peers()
        phone.trust(device.fingerprint)
        with self.assertRaises(IndieError) as e:
            phone.open(device.full_jid)
        self.assertEqual(e.exception.reason, 'security-error')
        # Nor does the initiator accept a responder it does not trust.
        device.trust(phone.fingerprint, phone.cert_der)
        other = self.peer('phone2')
        with self.assertRaises(IndieError) as e:
            other.open(device.full_jid)
        self.assertEqual(e.exception.reason, 'security-error')

    def test_srp_pairing_then_x509(self):
        phone, device = self.peer('phone'), self.peer('device')
        device.serve(methods=('srp',), pin='493817')
        fp = phone.pair(device.full_jid, '493817')
        self.assertEqual(fp, device.fingerprint)
        self.assertIn(device.fingerprint, phone.trusted)
        paired = device.wait_accepted()
        self.assertEqual(paired.method, 'srp')
        self.assertIn(phone.fingerprint, device.trusted)   # learnt from the pubkeys answer
        # From now on x509 with the learnt certificates.
        device.serve(methods=('x509',), handlers={('get', TEST_NS, 'echo'): echo})
        s = phone.open(device.full_jid)
        self.assertEqual(s.iq("<echo xmlns='%s'>after pairing</echo>" % TEST_NS)
                     .findtext(q('echo', TEST_NS)), 'echo: after pairing')
        s.close()

    def test_srp_wrong_pin_fails(self):
        phone, device = self.peer('phone'), self.peer('device')
        device.serve(methods=('srp',), pin='493817')
        with self.assertRaises(IndieError) as e:
            phone.pair(device.full_jid, '000000')
        self.assertEqual(e.exception.reason, 'security-error')
        self.assertIn('SRP handshake failed', str(e.exception))
        self.assertNotIn(device.fingerprint, phone.trusted)


class IndiePeerOverEjabberdTest(IndiePeerTest):
    """The same through ejabberd (IQ routing and IBB through another server)."""
    SERVER = Ejabberd


if __name__ == '__main__':
    unittest.main(verbosity=2)
