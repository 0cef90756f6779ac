"""MediaServer Transfer (wire profile §6) against the real bridge with an
independent OOB client (xpmntest/indie_oob.py, written from the profile and
XEP-0166/0260/0065): a minidlna in the test's namespace, Prosody, the bridge
with require_e2e on and S5B direct candidates on loopback. A paired indie
peer opens the OOB Jingle session (S5B + XTLS x509), finds an item's transfer
URI over the end-to-end stream, sends `<transfer/>` and reads the id's bytes
from the OOB stream: they must be the NAS file's bytes (SHA-256), a range
its slice; an unknown uid is `item-not-found`, a range past the end
`bad-request` + `range-not-satisfiable`, a transfer without an OOB session
`unexpected-request` + `oob-session-required`.

The module runs inside a fresh network namespace (xpmntest.netns).
"""
import hashlib
import os
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'indie-transfer-s3cret'
SERVER_NS = 'urn:xmpp:media:server:0'
METADATA_NS = 'urn:xmpp:media:metadata:0'
OOB_NS = 'urn:xmpp:jingle:apps:out-of-band:0'
STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas'
NAS_NAME = 'Indie Transfer NAS'


if not inside_namespace():
    InNamespace = module_in_namespace('test_indie_transfer', prefix='xpmn-indie-t')

else:
    from xpmntest import media
    from xpmntest.bridge import class_workdir, open_pairing, start_secure_home
    from xpmntest.indie_oob import OobSession
    from xpmntest.indie_peer import CLIENT, connected_peer, q
    from xpmntest.prosody import Prosody

    def text(el):
        return ET.tostring(el, encoding='unicode')

    class TestIndieTransfer(unittest.TestCase):
        count = 0

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-indie-transfer-')
            start_secure_home(cls, Prosody, PASSWORD, NAS_NAME, transfer={'interfaces': ['lo'], 'proxies': False})
            cls.library = os.path.join(cls.workdir, 'library')

        def paired_peer(self, resource):
            p = connected_peer(self, 'home', resource, PASSWORD)
            pin, _printed = open_pairing(self.bridge)
            self.bridge_fp = p.pair(self.bridge_jid, pin)
            return p

        def oob(self, peer, **kw):
            s = OobSession(peer, self.device, **kw)
            self.addCleanup(s.close)
            return s.open()

        def stream(self, peer):
            s = peer.open(self.device)
            self.addCleanup(s.close)
            return s

        def find_item(self, stream, track=0):
            """(uid, NAS file bytes) of media.TRACKS[track] via search and its <uri>."""
            relpath, title = media.TRACKS[track][:2]
            reply = stream.iq("<search xmlns='%s' container='0'><title>%s</title></search>" % (SERVER_NS, title))
            self.assertEqual(reply.get('type'), 'result', text(reply))
            items = [i for i in reply.find(q('container', METADATA_NS)).findall(q('item', METADATA_NS))
                     if i.findtext(q('title', METADATA_NS)) == title]
            self.assertTrue(items, text(reply))
            uri = items[0].findtext(q('uri', METADATA_NS))
            prefix = 'xmpp:%s?transfer;uid=' % self.device
            self.assertTrue(uri and uri.startswith(prefix), uri)
            with open(os.path.join(self.library, relpath), 'rb') as f:
                return urllib.parse.unquote(uri[len(prefix):]), f.read()

        def transfer(self, stream, uid, **rng):
            el = ET.Element(q('transfer', SERVER_NS), dict(uid=uid, **{k: str(v) for k, v in rng.items()}))
            return stream.iq(el)

        def assert_oob_result(self, reply, size, total, mime=None):
            """The <oob/> result's id; `mime` None: any type (servers name FLAC differently)."""
            self.assertEqual(reply.get('type'), 'result', text(reply))
            oob = reply.find(q('oob', OOB_NS))
            self.assertIsNotNone(oob, text(reply))
            self.assertRegex(oob.get('id') or '', r'^[A-Za-z0-9]+$')
            self.assertEqual((int(oob.get('size')), int(oob.get('total'))), (size, total), text(reply))
            self.assertEqual(oob.get('type'), mime or oob.get('type') or 'a type', text(reply))
            return oob.get('id')

        def assert_error(self, reply, type_, condition, app=None):
            self.assertEqual(reply.get('type'), 'error', text(reply))
            err = reply.find(q('error', CLIENT))
            self.assertIsNotNone(err, text(reply))
            self.assertEqual(err.get('type'), type_, text(reply))
            self.assertIsNotNone(err.find(q(condition, STANZAS)), text(reply))
            self.assertIsNotNone(err.find(q('text', STANZAS)), text(reply))
            if app:
                self.assertIsNotNone(err.find(q(app, SERVER_NS)), text(reply))

        # -- the whole file and ranges ------------------------------------------
        def check_whole_file(self, **oob_kw):
            phone = self.paired_peer('phone')
            o = self.oob(phone, **oob_kw)
            self.assertEqual(o.peer_fingerprint, self.bridge_fp)
            s = self.stream(phone)
            uid, data = self.find_item(s)
            id_ = self.assert_oob_result(self.transfer(s, uid), len(data), len(data), 'audio/mpeg')
            got = o.read(id_)
            self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest(),
                             '%d bytes received, %d in the file' % (len(got), len(data)))
            return o

        def test_whole_file_over_our_direct_candidate_or_theirs(self):
            self.check_whole_file(direct=True)

        def test_whole_file_when_we_offer_no_candidate(self):
            o = self.check_whole_file(offer_nothing=True)
            self.assertEqual(o.nominated[0], 'responder')   # it can only be the bridge's candidate

        def test_ranges_are_inclusive_byte_offsets(self):
            phone = self.paired_peer('ranges')
            o = self.oob(phone)
            s = self.stream(phone)
            uid, data = self.find_item(s, track=2)   # FLAC
            total = len(data)
            for rng, want in (({'from': 100, 'to': 1099}, data[100:1100]),
                              ({'from': total - 10}, data[-10:]),
                              ({'from': 0, 'to': 0}, data[:1]),
                              ({'from': 5, 'to': total + 1000}, data[5:])):   # `to` past the end: clipped like HTTP
                reply = self.transfer(s, uid, **rng)
                id_ = self.assert_oob_result(reply, len(want), total)
                self.assertEqual(o.read(id_), want, rng)

        def test_range_outside_the_resource_is_range_not_satisfiable(self):
            phone = self.paired_peer('badrange')
            self.oob(phone)
            s = self.stream(phone)
            uid, data = self.find_item(s, track=1)
            self.assert_error(self.transfer(s, uid, **{'from': len(data)}), 'modify', 'bad-request',
                              'range-not-satisfiable')

        # -- errors ------------------------------------------------------------
        def test_unknown_uid_is_item_not_found(self):
            phone = self.paired_peer('unknown')
            self.oob(phone)
            s = self.stream(phone)
            self.assert_error(self.transfer(s, 'no-such-object-4711'), 'cancel', 'item-not-found')

        def test_transfer_without_oob_session_needs_one(self):
            phone = self.paired_peer('nooob')
            s = self.stream(phone)
            uid, _data = self.find_item(s)
            reply = self.transfer(s, uid)
            self.assertEqual(reply.get('type'), 'error', text(reply))
            err = reply.find(q('error', CLIENT))
            self.assertIsNotNone(err.find(q('unexpected-request', STANZAS)), text(reply))
            self.assertIsNotNone(err.find(q('oob-session-required', SERVER_NS)), text(reply))
            self.assertIsNotNone(err.find(q('text', STANZAS)), text(reply))


if __name__ == '__main__':
    unittest.main(verbosity=2)
