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
import subprocess
import sys
import tempfile
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
NS_ENV = 'XPMN_TEST_NETNS'


def _reexec_in_namespace():
    """Runs this module's tests in a new namespace; returns their exit code."""
    name = 'xpmn-%s' % uuid.uuid4().hex[:8]
    subprocess.run(['ip', 'netns', 'add', name], check=True)
    try:
        for cmd in (['link', 'set', 'lo', 'up'], ['link', 'set', 'lo', 'multicast', 'on'],
                    ['route', 'add', '239.255.255.250/32', 'dev', 'lo']):
            subprocess.run(['ip', '-n', name] + cmd, check=True)
        env = dict(os.environ, **{NS_ENV: name})
        return subprocess.run(['ip', 'netns', 'exec', name, sys.executable, '-m', 'unittest', '-v',
                               'test_upnp_directory'], cwd=HERE, env=env, timeout=900).returncode
    finally:
        pids = subprocess.run(['ip', 'netns', 'pids', name], capture_output=True, text=True).stdout.split()
        for pid in pids:
            subprocess.run(['kill', '-9', pid])
        subprocess.run(['ip', 'netns', 'del', name])


if __name__ == '__main__' and not os.environ.get(NS_ENV):
    sys.exit(_reexec_in_namespace())


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
            cls.library = make_library(os.path.join(cls.workdir, 'media'))
            cls.nas = MiniDlna(os.path.join(cls.workdir, 'minidlna'), cls.library, friendly_name='Test NAS',
                               port=8200)
            cls.nas.start(expected_items=len(cls.library))
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
                xml_out = self.xpmn('browse', 'Test NAS', cid, '--max', '1000', '--xml')
                ours = re.findall(r"<(item|container) id='([^']*)'", xml_out)
                direct = direct_browse(self.nas.control_url, cid)
                self.assertEqual([i for _, i in ours], [o['id'] for o in direct], 'container %s' % cid)
                total = re.search(r"total='(\d+)'", xml_out).group(1)
                self.assertEqual(int(total), len(direct))
                for kind, oid in ours:
                    if kind == 'container':
                        pending.append(oid)
                seen += len(ours)
                self.assertNotIn('http://', xml_out)  # NAS URLs never leave the bridge
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

        def test_errors(self):
            r = run_xpmn(self.config, 'browse', 'Test NAS', 'no-such-id')
            self.assertEqual(r.returncode, 1)
            self.assertIn('item-not-found', r.stderr)
            r = run_xpmn(self.config, 'search', 'Test NAS', 'colour=red')
            self.assertEqual(r.returncode, 1)
            self.assertIn('bad-request', r.stderr)


if __name__ == '__main__':
    unittest.main()
