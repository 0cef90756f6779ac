"""MediaServer Transfer (wire profile §6) against the real bridge with an
independent OOB client (xpmntest/indie_oob.py, written from the profile and
XEP-0166/0260/0065): a minidlna in the test's namespace, Prosody and again
ejabberd, the bridge with require_e2e on and S5B direct candidates on
loopback. A paired indie
peer opens the OOB Jingle session (S5B + XTLS x509), finds an item's transfer
URI over the end-to-end stream, sends `<transfer/>` and reads the id's bytes
from the OOB stream: they must be the NAS file's bytes (SHA-256), a range
its slice; an unknown uid is `item-not-found`, a range past the end
`bad-request` + `range-not-satisfiable`, a transfer without an OOB session
`unexpected-request` + `oob-session-required`.

With slixmpp's own SOCKS5 client (plugin xep_0065, xpmntest/slix_socks5.py)
instead of the hand-written one: the whole file arrives over the bridge's
direct S5B candidate (the nominated one, offered in its session-accept) that
slixmpp connected to with its own DST.ADDR hash, which must be XEP-0260's
SHA-1(sid + initiator + responder) and which the bridge's SOCKS5 reply
echoes: the bridge's S5B interoperates with an independent SOCKS5 client,
hashing included.

Through a SOCKS5 proxy (XEP-0065, Prosody's proxy65) in topology (b)
'isolated' (xpmntest.topology), where the controller and the bridge reach
only the server: our proxy candidate (the bridge connects, we activate), and
the bridge's proxy candidate (it activates).

The transfer tests run inside a fresh network namespace (xpmntest.netns); the
proxy ones in the topology's namespaces.
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
MANY = 300   # untagged files in Many/: a browse of it is well over 16 KiB


if not inside_namespace():
    from xpmntest import media
    from xpmntest.bridge import (Bridge, class_workdir, controller_config, device_jids, open_pairing,
                                 start_server, wait_devices, xmpp_section)
    from xpmntest.indie_oob import OobSession, discover_proxies
    from xpmntest.indie_peer import connected_peer
    from xpmntest.nas import MiniDlna
    from xpmntest.topology import Topology

    InNamespace = module_in_namespace('test_indie_transfer', prefix='xpmn-indie-t')

    class ProxyTopologyBase:
        """Topology (b) 'isolated': the controller and the bridge (with its
        NAS) reach only the server's address, where c2s and Prosody's proxy65
        listen, never each other: the OOB session must use the proxy."""
        bridge_proxies = False   # [transfer] proxies of the bridge

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-indie-proxy-')
            cls.topo = Topology('isolated', prefix='xpmn-itp').create()
            cls.addClassCleanup(cls.topo.delete)
            lib = os.path.join(cls.workdir, 'library')
            media.make_library(lib)
            cls.library = lib
            start_server(cls, MiniDlna(os.path.join(cls.workdir, 'minidlna'), lib, netns=cls.topo.bridge,
                                       friendly_name=NAS_NAME))
            cls.server = cls.topo.prosody(os.path.join(cls.workdir, 'xmpp'))
            cls.addClassCleanup(cls.server.kill)
            cls.server.add_user('home', PASSWORD)
            cls.server.start()
            cls.addClassCleanup(cls.server.stop)
            cls.bridge_jid = cls.server.jid('home') + '/bridge'
            cls.bridge = Bridge(cls.workdir, xmpp_section(cls.server, 'home', PASSWORD), netns=cls.topo.bridge,
                                transfer={'proxies': cls.bridge_proxies})
            cls.addClassCleanup(cls.bridge.kill)
            cls.addClassCleanup(cls.bridge.stop)
            cls.bridge.start()
            finder = controller_config(cls.workdir, cls.server, 'home', PASSWORD, 'finder')
            # A device that never comes up fails the tests (not the class set-up),
            # so that a known failure can be marked as one.
            cls.device, cls.setup_error = None, None
            try:
                out = wait_devices(finder, lambda out: NAS_NAME in out, timeout=60, netns=cls.topo.controller)
                cls.device = device_jids(out)[NAS_NAME]
            except AssertionError as e:
                cls.setup_error = e

        def paired_peer(self, resource):
            if self.device is None:
                raise AssertionError('the NAS device did not come up: %s' % self.setup_error)
            p = connected_peer(self, 'home', resource, PASSWORD, netns=self.topo.controller)
            pin, _printed = open_pairing(self.bridge)
            self.bridge_fp = p.pair(self.bridge_jid, pin)
            return p

        def proxy_transfer(self, **oob_kw):
            phone = self.paired_peer('phone')
            proxies = discover_proxies(phone)
            self.assertEqual(proxies, [self.server.streamhost])
            o = OobSession(phone, self.device, **dict({'direct': False, 'proxy': proxies[0]}, **oob_kw))
            self.addCleanup(o.close)
            o.open()
            self.assertEqual(o.peer_fingerprint, self.bridge_fp)
            s = phone.open(self.device)
            self.addCleanup(s.close)
            relpath, title = media.TRACKS[0][:2]
            reply = s.iq("<search xmlns='%s' container='0'><title>%s</title></search>" % (SERVER_NS, title))
            uri = reply.find('{%s}container/{%s}item/{%s}uri' % ((METADATA_NS,) * 3)).text
            uid = urllib.parse.unquote(uri.split('?transfer;uid=', 1)[1])
            reply = s.iq(ET.Element('{%s}transfer' % SERVER_NS, uid=uid))
            oob = reply.find('{%s}oob' % OOB_NS)
            self.assertIsNotNone(oob, ET.tostring(reply, encoding='unicode'))
            with open(os.path.join(self.library, relpath), 'rb') as f:
                data = f.read()
            got = o.read(oob.get('id'))
            self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())
            return o

    class TestIndieTransferOurProxy(ProxyTopologyBase, unittest.TestCase):
        def test_transfer_through_the_proxy_we_offer(self):
            # The bridge offers no proxy of its own and its direct candidates are
            # out of our reach: it must connect to our proxy candidate; we
            # activate the proxy and send `activated` (XEP-0260 §2.5).
            o = self.proxy_transfer()
            self.assertEqual(o.nominated[0], 'initiator', o.log)
            self.assertEqual(o.nominated[2]['type'], 'proxy')

    class TestIndieTransferBridgeProxy(ProxyTopologyBase, unittest.TestCase):
        bridge_proxies = True

        def test_transfer_through_the_proxy_the_bridge_offers(self):
            # We offer nothing: only the bridge's proxy candidate can work; it
            # activates the proxy and sends `activated`.
            o = self.proxy_transfer(proxy=None)
            self.assertEqual(o.nominated[0], 'responder', o.log)
            self.assertEqual(o.nominated[2]['type'], 'proxy')

else:
    from xpmntest import media
    from xpmntest.bridge import class_workdir, open_pairing, start_secure_home
    from xpmntest.indie_oob import OobSession, dstaddr
    from xpmntest.indie_peer import CLIENT, IndieError, connected_peer, q
    from xpmntest.ejabberd import Ejabberd
    from xpmntest.prosody import Prosody

    def text(el):
        return ET.tostring(el, encoding='unicode')

    class IndieTransferBase:
        """The tests, run once per XMPP server (the subclasses)."""
        server_class = None
        count = 0

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-indie-transfer-')
            start_secure_home(cls, cls.server_class, PASSWORD, NAS_NAME, n_extra=MANY,
                              transfer={'interfaces': ['lo'], 'proxies': False})
            cls.library = os.path.join(cls.workdir, 'library')

        def paired_peer(self, resource, plugins=()):
            p = connected_peer(self, 'home', resource, PASSWORD, plugins=plugins)
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
        def check_whole_file(self, plugins=(), **oob_kw):
            phone = self.paired_peer('phone', plugins)
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

        def test_whole_file_over_slixmpp_socks5_client(self):
            # We offer no candidate, so only the bridge's can carry it; slixmpp's
            # SOCKS5 client (xep_0065) connects to it with slixmpp's DST.ADDR.
            o = self.check_whole_file(plugins=('xep_0065',), offer_nothing=True, socks5='slixmpp')
            who, cid, candidate = o.nominated
            self.assertEqual((who, candidate['type']), ('responder', 'direct'), o.log)
            self.assertIs(candidate, o.theirs[cid])   # offered in the bridge's session-accept
            link = o.links.get(cid)
            self.assertIsNotNone(link, 'candidate %s was not connected by slixmpp: %s' % (cid, o.links))
            self.assertIs(o.sock, link.sock)          # TLS and the chunks ran on slixmpp's connection
            self.assertEqual(link.dest, dstaddr(o.transport_sid, o.peer.full_jid, self.device))
            # XEP-0065: the SOCKS5 reply names the hash the target accepted.
            self.assertEqual(link.bound, (link.dest, 0))

        def test_whole_file_over_our_candidate_when_theirs_fail(self):
            # We report candidate-error: the bridge's SOCKS5 connection to our
            # listener (DST.ADDR = SHA-1(sid + initiator + responder)) must carry it.
            o = self.check_whole_file(direct=True, connect_theirs=False)
            self.assertEqual(o.listener.refused, [])
            self.assertEqual(o.nominated[0], 'initiator', o.log)

        def test_whole_file_over_ibb_when_no_candidate_works(self):
            # Both sides report candidate-error: transport-replace to IBB (§6.2).
            o = self.check_whole_file(offer_nothing=True, connect_theirs=False)
            self.assertEqual(o.nominated[0], 'ibb', o.log)

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

        # -- large results out of band (§5, last point) ----------------------------
        def many_container(self, stream):
            """The id of the Many/ folder: a child of the root or of one of its children."""
            level = ['0']
            for _depth in range(2):
                below = []
                for cid in level:
                    c = stream.iq("<browse xmlns='%s' id='%s'/>" % (SERVER_NS, cid)).find(q('container', METADATA_NS))
                    for child in c.findall(q('container', METADATA_NS)):
                        if child.findtext(q('title', METADATA_NS)) == media.MANY_DIR:
                            return child.get('id')
                        below.append(child.get('id'))
                level = below
            self.fail('no %s container two levels below the root' % media.MANY_DIR)

        def test_large_browse_result_arrives_out_of_band(self):
            inline_peer = self.paired_peer('inline')
            inline = self.stream(inline_peer)   # no OOB session: the result comes inline
            cid = self.many_container(inline)
            browse = "<browse xmlns='%s' id='%s' start='0' max='1000'/>" % (SERVER_NS, cid)
            reply = inline.iq(browse)
            self.assertEqual(reply.get('type'), 'result', text(reply))
            expected = reply.find(q('container', METADATA_NS))
            self.assertIsNotNone(expected, text(reply))
            self.assertGreater(len(text(expected).encode()), 16 * 1024)

            phone = self.paired_peer('large')
            o = self.oob(phone)
            s = self.stream(phone)
            reply = s.iq(browse)
            self.assertEqual(reply.get('type'), 'result', text(reply))
            oob = reply.find(q('oob', OOB_NS))
            self.assertIsNotNone(oob, 'a result over 16 KiB with an OOB session: %s' % text(reply)[:300])
            self.assertEqual(oob.get('type'), 'text/xml')
            data = o.read(oob.get('id'))
            self.assertEqual(len(data), int(oob.get('size')))
            # At most 64 KiB a chunk (the reader refuses larger ones).
            self.assertGreaterEqual(o.reader.chunks[oob.get('id')], -(-len(data) // 65536))
            self.assertTrue(data.startswith(b'<?xml'), data[:60])
            got = ET.fromstring(data)
            self.assertEqual(got.tag, q('container', METADATA_NS))
            self.assertEqual(got.get('id'), cid)
            self.assertEqual(got.get('returned'), expected.get('returned'))
            self.assertEqual(got.get('total'), expected.get('total'))
            ids = [c.get('id') for c in got if c.tag == q('item', METADATA_NS)]
            self.assertEqual(ids, [c.get('id') for c in expected if c.tag == q('item', METADATA_NS)])
            self.assertEqual(len(ids), int(got.get('returned')))

        # -- errors ------------------------------------------------------------
        def test_unknown_uid_is_item_not_found(self):
            phone = self.paired_peer('unknown')
            self.oob(phone)
            s = self.stream(phone)
            self.assert_error(self.transfer(s, 'no-such-object-4711'), 'cancel', 'item-not-found')

        def test_bad_range_values_are_bad_requests(self):
            phone = self.paired_peer('badvalues')
            self.oob(phone)
            s = self.stream(phone)
            uid, _data = self.find_item(s)
            for rng in ({'from': 10, 'to': 5}, {'from': 'abc'}, {'to': '-3'}):
                self.assert_error(self.transfer(s, uid, **rng), 'modify', 'bad-request')

        def test_abort_ends_the_id(self):
            # §6.2 Abort: answered, and the id ends with its last chunk (whether
            # the sender had finished already or not; no timing is assumed).
            phone = self.paired_peer('abort')
            o = self.oob(phone)
            s = self.stream(phone)
            uid, data = self.find_item(s, track=2)
            id_ = self.assert_oob_result(self.transfer(s, uid), len(data), len(data))
            reply = s.iq("<abort xmlns='%s' id='%s'/>" % (OOB_NS, id_), type='set')
            self.assertEqual(reply.get('type'), 'result', text(reply))
            got = o.read(id_)
            self.assertEqual(got, data[:len(got)])
            # The session goes on: the next transfer is complete.
            id_ = self.assert_oob_result(self.transfer(s, uid), len(data), len(data))
            self.assertEqual(o.read(id_), data)

        def test_unpaired_peer_gets_no_oob_session(self):
            # §3.1/§6.2: x509 only, and the initiator's certificate is not
            # trusted: session-terminate with <security-error/>, no accept.
            stranger = connected_peer(self, 'home', 'stranger', PASSWORD)
            o = OobSession(stranger, self.device)
            self.addCleanup(o.close)
            with self.assertRaises(IndieError) as e:
                o.open()
            self.assertEqual(e.exception.reason, 'security-error')
            self.assertIsNone(o.accept, o.log)

        def test_a_paired_fingerprint_with_another_certificate_is_refused(self):
            # An account's other resource claims the paired peer's fingerprint
            # (it is public) but presents its own certificate: the bridge must
            # end the session with <security-error/> (§3.1 x509 checks).
            victim = self.paired_peer('victim')
            impostor = connected_peer(self, 'home', 'impostor', PASSWORD)
            impostor.trust(self.bridge_fp)
            o = OobSession(impostor, self.device, claim_fingerprint=victim.fingerprint)
            self.addCleanup(o.close)
            try:
                o.open()
            except IndieError as e:
                # Our side saw the failure first (TLS alert or closed stream).
                self.assertEqual(e.reason, 'security-error', o.log)
                return
            self.assertEqual(o.wait_terminated_by_device(), 'security-error', o.log)
            with o.reader.cond:   # and the byte stream ends, with nothing on it
                self.assertTrue(o.reader.cond.wait_for(lambda: o.reader.eof, 15), 'the OOB stream stays open')
            self.assertEqual(o.reader.data, {})

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

    class TestIndieTransferProsody(IndieTransferBase, unittest.TestCase):
        server_class = Prosody

    class TestIndieTransferEjabberd(IndieTransferBase, unittest.TestCase):
        server_class = Ejabberd


if __name__ == '__main__':
    unittest.main(verbosity=2)
