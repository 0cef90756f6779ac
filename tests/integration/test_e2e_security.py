"""End-to-end security through real XMPP servers (wire profile §3, §4):
Prosody and ejabberd, a real minidlna, the bridge with require_e2e on (its
default), and the `xpmn` CLI as the phone. Pairing with the PIN the bridge
prints, then browse / search / watch over the XTLS stream; wrong and burned
PINs; an unpaired controller; an impostor (same account, the paired
bridge's fingerprint in its trust store, but a new key of its own); plain
c2s requests; a friend account with grants that are revoked and expire, and
`forget` closing its live stream.

The module runs inside a fresh network namespace (xpmntest.netns).
"""
import datetime
import os
import re
import shutil
import signal
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'e2e-s3cret'
SERVER_NS = 'urn:xmpp:media:server:0'
META = '{urn:xmpp:media:metadata:0}'
NAS_NAME = 'E2E NAS'
PIN_VALIDITY = 8  # seconds ([security] pairing_validity)


if not inside_namespace():
    InNamespace = module_in_namespace('test_e2e_security', prefix='xpmn-e2e')

else:
    from xpmntest import media
    from xpmntest.bridge import XPMN_BIN, class_workdir, controller_config, open_pairing, run_xpmn, start_secure_home
    from xpmntest.ejabberd import Ejabberd
    from xpmntest.prosody import Prosody
    from xpmntest.slix import SlixClient

    class E2eBase:
        """The tests, run once per XMPP server (the subclasses)."""
        server_class = None

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-e2e-')
            # A short PIN validity, so that the expiry test waits seconds, not minutes.
            start_secure_home(cls, cls.server_class, PASSWORD, NAS_NAME, users=('home', 'friend'),
                              security={'pairing_validity': PIN_VALIDITY})
            cls.home = cls.server.jid('home')
            cls.owner = cls.controller('owner', 'home')
            r = cls.pair(cls.owner)
            assert r.returncode == 0, r.stderr
            cls.bridge_fp = re.search(r'^fingerprint ([0-9a-f]{64})$', r.stdout, re.M).group(1)

        @classmethod
        def controller(cls, name, user):
            """An xpmn config of its own (own state dir: own key and trust store)."""
            return controller_config(cls.workdir, cls.server, user, PASSWORD, name)

        @classmethod
        def open_pairing(cls):
            return open_pairing(cls.bridge)[0]

        @classmethod
        def pair(cls, config, pin=None):
            return run_xpmn(config, 'pair', cls.bridge_jid, '--pin', pin or cls.open_pairing())

        def xpmn(self, config, *args, ok=True):
            r = run_xpmn(config, *args)
            if ok:
                self.assertEqual(r.returncode, 0, r.stderr)
            return r

        def container(self, config, cid, ok=True):
            r = self.xpmn(config, 'browse', self.device, cid, '--xml', ok=ok)
            return ET.fromstring(r.stdout) if ok else r

        def new_controller(self, name, user='home'):
            config = self.controller('%s-%d' % (name, time.monotonic_ns()), user)
            return config

        def first_subcontainer(self):
            root = self.container(self.owner, '0')
            return next(c.get('id') for c in root if c.tag.endswith('container'))

        # -- the owner, paired in setUpClass -------------------------------------
        def test_paired_owner_browses_searches_and_watches_over_xtls(self):
            root = self.container(self.owner, '0')
            self.assertEqual(root.get('id'), '0')
            self.assertGreater(int(root.get('returned')), 0)
            hits = self.xpmn(self.owner, 'search', self.device, 'title=%s' % media.TRACKS[0][1]).stdout
            self.assertIn(media.TRACKS[0][1], hits)
            watch = subprocess.Popen([XPMN_BIN, '--config', self.owner, 'watch', self.device, '0'],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.addCleanup(watch.kill)
            line = watch.stdout.readline()
            self.assertIn('watching container 0', line)
            watch.send_signal(signal.SIGINT)
            self.assertEqual(watch.wait(timeout=20), 0, watch.stderr.read())
            self.assertIn(self.bridge_fp, self.xpmn(self.owner, 'trust').stdout)

        def test_plain_c2s_profile_request_gets_e2e_required(self):
            phone = SlixClient(self.server.jid('home', 'phone'), PASSWORD, '127.0.0.1', self.server.c2s_port,
                               self.server.ca_file)
            self.addCleanup(phone.close)
            phone.connect()

            async def ask():
                iq = phone.xmpp.Iq()
                iq['type'] = 'get'
                iq['to'] = self.device
                iq.xml.append(ET.Element('{%s}browse' % SERVER_NS, {'id': '0'}))
                try:
                    await iq.send(timeout=20)
                except Exception as e:  # IqError
                    return e.iq.xml
                return None
            reply = phone._call(ask(), 30, 'browse over c2s')
            self.assertIsNotNone(reply, 'a profile request over plain c2s was answered')
            error = reply.find('{jabber:client}error')
            self.assertIsNotNone(error.find('{urn:ietf:params:xml:ns:xmpp-stanzas}not-authorized'))
            self.assertIsNotNone(error.find('{urn:xmpp:xpmn:0}e2e-required'))
            self.assertIsNotNone(error.find('{urn:ietf:params:xml:ns:xmpp-stanzas}text'))

        # -- refusals -------------------------------------------------------------
        def test_unpaired_controller_is_told_to_pair(self):
            r = self.container(self.new_controller('unpaired'), '0', ok=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn('not paired', r.stderr)
            self.assertNotIn('<container', r.stdout)

        def test_wrong_pins_burn_the_window(self):
            pin = self.open_pairing()
            wrong = '%06d' % ((int(pin) + 1) % 1000000)
            for _ in range(3):
                c = self.new_controller('wrong-pin')
                r = self.pair(c, wrong)
                self.assertEqual(r.returncode, 1, r.stdout)
            c = self.new_controller('late')
            r = self.pair(c, pin)  # the right PIN, after the third failure
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertEqual(self.container(c, '0', ok=False).returncode, 1)
            r = self.pair(c)  # a new window, a new PIN
            self.assertEqual(r.returncode, 0, r.stderr)

        def test_a_pin_is_used_once(self):
            pin = self.open_pairing()
            self.assertEqual(self.pair(self.new_controller('first'), pin).returncode, 0)
            r = self.pair(self.new_controller('second'), pin)
            self.assertEqual(r.returncode, 1, r.stdout)

        def test_an_expired_pin_is_refused(self):
            pin = self.open_pairing()
            expired = time.monotonic() + PIN_VALIDITY + 1
            while time.monotonic() < expired:
                time.sleep(0.5)
            c = self.new_controller('expired')
            r = self.pair(c, pin)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn('refused the PIN', r.stderr)
            self.assertEqual(self.container(c, '0', ok=False).returncode, 1)

        def test_impostor_with_a_new_key_is_refused(self):
            # Same account, the paired bridge's fingerprint in its trust store, but its own new key.
            c = self.new_controller('impostor')
            state = os.path.join(self.workdir, os.path.basename(c)[:-5] + '-state')
            os.makedirs(state, mode=0o700, exist_ok=True)
            shutil.copy(os.path.join(self.workdir, 'owner-state', 'trust.toml'), state)
            r = self.container(c, '0', ok=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn('security-error', r.stderr)
            self.assertNotIn('<container', r.stdout)

        # -- a friend -------------------------------------------------------------
        def test_friend_sees_only_what_is_granted(self):
            friend = self.new_controller('friend', 'friend')
            r = self.pair(friend)
            self.assertEqual(r.returncode, 0, r.stderr)
            friend_jid = self.server.jid('friend')
            denied = self.container(friend, '0', ok=False)
            self.assertEqual(denied.returncode, 1)
            self.assertIn('forbidden', denied.stderr)
            sub = self.first_subcontainer()
            self.xpmn(self.owner, 'grant', friend_jid, self.device, 'read', '--container', sub)
            self.assertEqual(self.container(friend, sub).get('id'), sub)
            self.assertIn('forbidden', self.container(friend, '0', ok=False).stderr)
            self.assertIn(friend_jid, self.xpmn(self.owner, 'acl').stdout)
            self.xpmn(self.owner, 'revoke', friend_jid, self.device)
            self.assertIn('forbidden', self.container(friend, sub, ok=False).stderr)
            # A grant that expires: allowed until then, forbidden after.
            until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=4)
            self.xpmn(self.owner, 'grant', friend_jid, self.device, 'read',
                      '--expires', until.strftime('%Y-%m-%dT%H:%M:%SZ'))
            self.assertEqual(self.container(friend, '0').get('id'), '0')
            while datetime.datetime.now(datetime.timezone.utc) < until + datetime.timedelta(seconds=1):
                time.sleep(0.2)
            self.assertIn('forbidden', self.container(friend, '0', ok=False).stderr)

        def item_uris(self, config, cid, depth=4):
            """Transfer URIs of the items below container `cid`, as `config` browses them
            (depth first, in document order), browsing only as far as they are asked for."""
            for child in self.container(config, cid):
                if child.tag.endswith('item'):
                    uri = child.find(META + 'uri')
                    if uri is not None and uri.text:
                        yield uri.text
                elif child.tag.endswith('container') and depth > 0:
                    yield from self.item_uris(config, child.get('id'), depth - 1)

        def test_friend_gets_only_granted_files(self):
            friend = self.new_controller('friend-get', 'friend')
            self.assertEqual(self.pair(friend).returncode, 0)
            friend_jid = self.server.jid('friend')
            sub = self.first_subcontainer()
            others = [c.get('id') for c in self.container(self.owner, '0')
                      if c.tag.endswith('container') and c.get('id') != sub]
            outside = next(u for cid in others for u in self.item_uris(self.owner, cid))
            out = os.path.join(self.workdir, 'friend-got-%d' % time.monotonic_ns())
            r = self.xpmn(friend, 'get', outside, '-o', out, ok=False)  # no grant at all yet
            self.assertEqual(r.returncode, 1)
            self.assertIn('forbidden', r.stderr)
            self.xpmn(self.owner, 'grant', friend_jid, self.device, 'read', '--container', sub)
            self.addCleanup(self.xpmn, self.owner, 'revoke', friend_jid, self.device)
            inside = list(self.item_uris(friend, sub))[0]  # the whole granted subtree browses
            r = self.xpmn(friend, 'get', inside, '-o', out)
            self.assertRegex(r.stdout, r'got [1-9][0-9]* bytes via ')
            self.assertGreater(os.path.getsize(out), 0)
            r = self.xpmn(friend, 'get', outside, '-o', out + '.outside', ok=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn('forbidden', r.stderr)
            self.assertFalse(os.path.exists(out + '.outside'))  # no empty file left behind
            with open(out, 'rb') as f:
                kept = f.read()
            r = self.xpmn(friend, 'get', outside, '-o', out, '--range', '0-9', ok=False)
            self.assertEqual(r.returncode, 1)
            with open(out, 'rb') as f:
                self.assertEqual(f.read(), kept)  # a refused request destroys nothing

        def test_forget_closes_the_friends_live_stream(self):
            friend = self.new_controller('forgotten', 'friend')
            self.assertEqual(self.pair(friend).returncode, 0)
            friend_jid = self.server.jid('friend')
            self.xpmn(self.owner, 'grant', friend_jid, self.device, 'read')
            watch = subprocess.Popen([XPMN_BIN, '--config', friend, 'watch', self.device, '0'],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.addCleanup(watch.kill)
            self.assertIn('watching container 0', watch.stdout.readline())
            self.xpmn(self.owner, 'forget', friend_jid)
            self.assertEqual(watch.wait(timeout=30), 1)
            self.assertIn('ended', watch.stderr.read())
            r = self.container(friend, '0', ok=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn('security-error', r.stderr)

    class TestE2eProsody(E2eBase, unittest.TestCase):
        server_class = Prosody

    class TestE2eEjabberd(E2eBase, unittest.TestCase):
        server_class = Ejabberd
