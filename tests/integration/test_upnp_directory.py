"""UPnP MediaServers through the bridge: a real minidlna in a private network
namespace (multicast on lo for SSDP), Prosody and the bridge beside it; the
xpmn CLI and slixmpp browse and search through the bridge, compared with a
direct ContentDirectory Browse of the same server.

The whole module runs inside a fresh namespace: when started outside one it
creates it, re-runs itself there with `ip netns exec`, and deletes it.
"""
import os
import re
import shutil
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))

from xpmntest.namespace_run import NS_ENV, run_in_new_namespace  # noqa: E402


def _reexec_in_namespace():
    """Runs this module's tests in a new namespace; returns their exit code."""
    return run_in_new_namespace([sys.executable, '-m', 'unittest', '-v', 'test_upnp_directory'], cwd=HERE)


if __name__ == '__main__' and not os.environ.get(NS_ENV):
    sys.exit(_reexec_in_namespace())


META = '{urn:xmpp:media:metadata:0}'


def parse_container(text):
    """The <container/> xpmn --xml printed: (its attributes, [(tag, attributes)] of its children).
    Attribute order is not kept by servers (Prosody re-serializes), so parse, don't match text."""
    root = ET.fromstring(text)
    kids = [(c.tag[len(META):], c.attrib) for c in root if c.tag in (META + 'item', META + 'container')]
    return root.attrib, kids


if not os.environ.get(NS_ENV):
    class InNamespace(unittest.TestCase):
        """Outside a namespace this single test runs the module inside one."""

        def test_module_in_fresh_network_namespace(self):
            self.assertEqual(_reexec_in_namespace(), 0, 'the tests inside the namespace failed (output above)')

else:
    from test_bridge_c2s import PASSWORD
    from xpmntest.bridge import Bridge, run_xpmn, write_config, xmpp_section
    from xpmntest.prosody import Prosody
    from xpmntest.minidlna_quick import MiniDlna, make_library, direct_browse

    class TestUpnpDirectory(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.workdir = tempfile.mkdtemp(prefix='xpmn-upnp-')
            cls.library = make_library(os.path.join(cls.workdir, 'media'), n_extra=1200)
            cls.nas = MiniDlna(os.path.join(cls.workdir, 'minidlna'), cls.library, friendly_name='Test NAS',
                               port=8200)
            cls.nas.start(expected_items=len(cls.library) + 1200)
            cls.prosody = Prosody(os.path.join(cls.workdir, 'prosody'))
            cls.prosody.add_user('home', PASSWORD)
            cls.prosody.start()
            cls.xmpp = xmpp_section(cls.prosody, 'home', PASSWORD)
            cls.bridge = Bridge(cls.workdir, cls.xmpp, security={'require_e2e': False},
                                upnp={'interfaces': ['lo']})
            cls.bridge.start()
            cls.bridge.wait_for_log("media server 'Test NAS'", timeout=30)
            cls.bridge.wait_for_log('online as home@xpmn.test/upnp-', timeout=20)
            cls.config = write_config(os.path.join(cls.workdir, 'xpmn.toml'),
                                      {'xmpp': cls.xmpp, 'bridge': {'state_dir': os.path.join(cls.workdir, 'xs')}})

        @classmethod
        def tearDownClass(cls):
            for stop in (cls.bridge.stop, cls.prosody.stop, cls.nas.stop):
                try:
                    stop()
                except Exception as e:
                    print('teardown:', e)
            shutil.rmtree(cls.workdir, ignore_errors=True)

        def xpmn(self, *args):
            r = run_xpmn(self.config, *args)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout

        def test_devices_show_the_media_server(self):
            out = self.xpmn('devices')
            line = [l for l in out.splitlines() if '/upnp-' in l]
            self.assertEqual(len(line), 1, out)
            self.assertIn('automation/media-server "Test NAS"', line[0])
            self.assertRegex(line[0], r'^home@xpmn\.test/upnp-[0-9a-f]{8} ')
            self.assertIn('urn:xmpp:media:server:0', out)

        def test_browse_matches_direct_content_directory(self):
            # Walk every container through the bridge and directly; same ids, titles, counts.
            pending, seen = ['0'], 0
            while pending:
                cid = pending.pop()
                kids, start = [], 0
                while True:  # a large container comes in several pages
                    xml_out = self.xpmn('browse', 'Test NAS', cid, '--start', str(start), '--max', '1000', '--xml')
                    self.assertNotIn('http://', xml_out)  # NAS URLs never leave the bridge
                    attrs, page = parse_container(xml_out)
                    self.assertEqual(attrs['id'], cid)
                    self.assertEqual(int(attrs['returned']), len(page))
                    kids += page
                    start += len(page)
                    if not page or start >= int(attrs['total']):
                        break
                direct = direct_browse(self.nas.control_url, cid)
                self.assertEqual([k['id'] for _, k in kids], [o['id'] for o in direct], 'container %s' % cid)
                self.assertEqual(int(attrs['total']), len(direct))
                for kind, k in kids:
                    self.assertEqual(k['parent'], cid)
                    if kind == 'container':
                        pending.append(k['id'])
                ours = kids
                seen += len(ours)
            self.assertGreater(seen, len(self.library))

        def test_search_by_artist_and_class(self):
            out = self.xpmn('search', 'Test NAS', 'artist=nightwish')  # case-insensitive substring
            self.assertIn('Ärger über Café', out)
            self.assertIn('Amaranth', out)
            self.assertIn('2 of 2', out)
            self.assertNotIn('Odd', out)
            out = self.xpmn('search', 'Test NAS', 'artist=nightwish', 'title=amaranth')  # AND
            self.assertIn('1 of 1', out)
            self.assertIn('Amaranth', out)
            out = self.xpmn('search', 'Test NAS', 'class=video')
            self.assertIn('clip', out)
            self.assertNotIn('Ärger', out)

        def test_paging_across_1200_items(self):
            attrs, kids = parse_container(self.xpmn('search', 'Test NAS', 'title=many', '--max', '1', '--xml'))
            self.assertEqual(attrs['total'], '1200')
            many = kids[0][1]['parent']
            ids, start = [], 0
            while True:
                attrs, kids = parse_container(
                    self.xpmn('browse', 'Test NAS', many, '--start', str(start), '--max', '500', '--xml'))
                self.assertEqual(attrs['total'], '1200')
                self.assertEqual(attrs['returned'], str(len(kids)))
                if not kids:
                    break
                ids += [k['id'] for _, k in kids]
                start += len(kids)
            self.assertEqual(len(ids), 1200)
            self.assertEqual(len(set(ids)), 1200)  # nothing repeated
            direct = [o['id'] for o in direct_browse(self.nas.control_url, many)]
            self.assertEqual(ids, direct)  # same order, nothing missing
            # max is capped at 1000; start past the end gives zero children.
            # A result stays under the stanza size limit: fewer children, the client pages on.
            attrs, kids = parse_container(self.xpmn('browse', 'Test NAS', many, '--max', '5000', '--xml'))
            self.assertTrue(0 < int(attrs['returned']) <= 1000, attrs)
            self.assertEqual(int(attrs['returned']), len(kids))
            attrs, kids = parse_container(self.xpmn('browse', 'Test NAS', many, '--start', '5000', '--xml'))
            self.assertEqual((attrs['returned'], kids), ('0', []))

        def test_zz_nas_gone_and_back(self):
            from xpmntest.slix import SlixClient
            phone = SlixClient(self.prosody.jid('home', 'phone'), PASSWORD, '127.0.0.1', self.prosody.c2s_port,
                               self.prosody.ca_file)
            self.addCleanup(phone.close)
            phone.connect()
            device = re.search(r'(home@xpmn\.test/upnp-[0-9a-f]{8})', self.xpmn('devices')).group(1)
            phone.wait_presence(device, timeout=10)
            # Crashed NAS (no byebye): the device is still announced, requests fail cleanly.
            self.nas.kill()
            r = run_xpmn(self.config, 'browse', 'Test NAS', '0')
            self.assertEqual(r.returncode, 1)
            self.assertIn('remote-server-not-found', r.stderr)
            self.nas.start(expected_items=len(self.library) + 1200)
            self.xpmn('browse', 'Test NAS', '0')
            # A NAS that shuts down says byebye: the device goes unavailable…
            self.nas.stop()
            phone.wait_presence(device, available=False, timeout=15)
            # …and comes back with the same resource.
            self.nas.start(expected_items=len(self.library) + 1200)
            phone.wait_presence(device, timeout=30)
            self.assertIn('1 of 1', self.xpmn('search', 'Test NAS', 'title=amaranth'))

        def test_errors(self):
            r = run_xpmn(self.config, 'browse', 'Test NAS', 'no-such-id')
            self.assertEqual(r.returncode, 1)
            self.assertIn('item-not-found', r.stderr)
            r = run_xpmn(self.config, 'search', 'Test NAS', 'colour=red')
            self.assertEqual(r.returncode, 1)
            self.assertIn('bad-request', r.stderr)


if __name__ == '__main__':
    unittest.main()
