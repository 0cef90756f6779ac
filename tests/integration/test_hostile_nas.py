"""The bridge against a misbehaving UPnP MediaServer (xpmntest.hostile_nas): a
server that never answers, answers of 200 MiB (with and without
Content-Length), SOAP faults, HTTP 500, broken envelopes and hostile DIDL-Lite.
Every fault must end in an XMPP error (or an empty result) within the bridge's
10 s per-call timeout, and the bridge must stay up and keep answering.

The whole module runs inside a fresh network namespace (xpmntest.netns), with
the fake NAS in this very process, Prosody and the bridge beside it. Set
XPMN_KEEP_WORKDIR=1 to keep the work dir (bridge.log, Prosody's log), and
XPMN_SHOW_ERRORS=1 to see every error the xpmn CLI printed.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from xpmntest.netns import inside_namespace, module_in_namespace  # noqa: E402


NAME = 'Hostile NAS'
UDN = 'uuid:686f7374-696c-6500-6e61-730000000001'
CALL_TIMEOUT = 10         # the bridge's per-call timeout (adapters/upnp/content_directory.hpp)
CAP = 64 * 1024 * 1024    # what a bridge that cancels oversized answers early reads at most, with margin
ERROR = re.compile(r'item-not-found|remote-server-timeout|remote-server-not-found|undefined-condition|'
                   r'bad-request|internal-server-error|service-unavailable')
# DIDL-Lite documents of tests/data/didl served as BrowseDirectChildren's Result.
HOSTILE_DIDL = ['hostile_not_xml.xml', 'hostile_billion_laughs.xml', 'hostile_external_entity.xml',
                'hostile_external_dtd.xml', 'hostile_wrong_namespace.xml', 'hostile_truncated.xml',
                'hostile_deep.xml', 'hostile_10000_items.xml', 'hostile_huge_values.xml', 'hostile_missing_ids.xml',
                'hostile_bad_numbers.xml', 'hostile_bad_date.xml', 'hostile_bad_res.xml']


if not inside_namespace():
    InNamespace = module_in_namespace('test_hostile_nas', prefix='xpmn-hostile')

else:
    from test_bridge_c2s import PASSWORD
    from test_upnp_directory import META, parse_container
    from xpmntest.bridge import XPMN_BIN, run_xpmn, start_home_network, start_server, wait_devices
    from xpmntest.logs import read_text, wait_for_text
    from xpmntest.reaper import kill
    from xpmntest.hostile_nas import MiB, TREE, HostileNas
    from xpmntest.slix import SlixClient

    class TestHostileNas(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.t0 = time.monotonic()
            cls.workdir = tempfile.mkdtemp(prefix='xpmn-hostile-')
            cls.addClassCleanup(cls.remove_workdir)  # the last cleanup
            cls.nas = start_server(cls, HostileNas(friendly_name=NAME, udn=UDN))
            # require_e2e stays on: every profile request here comes from the paired
            # xpmn CLI; slixmpp only watches presence.
            start_home_network(cls, PASSWORD, upnp={'watch_poll_interval': 1})
            cls.bridge.wait_for_log("media server '%s'" % NAME, timeout=30)
            # The CLI waits for an answer as long as its --timeout says (see xpmn() below).
            cls.jid = '%s/upnp-%s' % (cls.prosody.jid('home'), hashlib.sha1(UDN.encode()).hexdigest()[:8])
            wait_devices(cls.config, lambda out: cls.jid in out)
            print('\n  [hostile] set up in %.1f s' % (time.monotonic() - cls.t0), file=sys.stderr)

        @classmethod
        def remove_workdir(cls):
            """Removes the work dir unless XPMN_KEEP_WORKDIR is set (then says where it is)."""
            kept = bool(os.environ.get('XPMN_KEEP_WORKDIR'))
            if not kept:
                shutil.rmtree(cls.workdir, True)
            print('  [hostile] module ran %.1f s%s' % (time.monotonic() - cls.t0, (
                '; work dir kept: %s' % cls.workdir) if kept else ''), file=sys.stderr)

        def tearDown(self):
            self.assertEqual(self.nas.fixture_errors(), [])

        def xpmn(self, *args, timeout=30):
            """xpmn with its own give-up time well beyond the bridge's per-call timeout."""
            return run_xpmn(self.config, '--timeout', str(timeout), *args, timeout=timeout + 15)

        def browse(self, oid, timeout=30):
            return self.xpmn('browse', self.jid, oid, '--xml', timeout=timeout)

        def assert_alive(self):
            """The bridge still runs and still answers a normal browse quickly."""
            self.assertIsNone(self.bridge.proc.poll(), 'xpmn-bridge died:\n' + self.bridge.log_text()[-4000:])
            t = time.monotonic()
            r = self.browse('music')
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([k['id'] for _, k, _ in parse_container(r.stdout)[1]], ['m1', 'm2'])
            self.assertLess(time.monotonic() - t, 5)

        def assert_error(self, r, condition=None):
            self.assertEqual(r.returncode, 1, 'expected an error, got:\n%s%s' % (r.stdout, r.stderr))
            self.assertRegex(r.stderr, condition or ERROR)
            if os.environ.get('XPMN_SHOW_ERRORS'):
                print('\n    ' + r.stderr.strip(), file=sys.stderr)

        # -- a well-behaved start ----------------------------------------------------
        def test_device_is_listed_with_its_friendly_name(self):
            r = self.xpmn('devices')
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = [line for line in r.stdout.splitlines() if line.startswith(self.jid + ' ')]
            self.assertEqual(len(lines), 1, r.stdout)
            self.assertIn('automation/media-server "%s"' % NAME, lines[0])

        def test_browse_normal_container(self):
            mark = self.nas.request_mark()
            r = self.browse('0')
            self.assertEqual(r.returncode, 0, r.stderr)
            attrs, kids = parse_container(r.stdout)
            self.assertEqual((attrs['id'], attrs['total']), ('0', '3'))
            want = [(e[0], e[2]) for e in TREE if e[1] == '0']
            self.assertEqual([(k['id'], el.findtext(META + 'title')) for _, k, el in kids], want)
            self.assertEqual({(q['action'], q['flag']) for q in self.nas.requests(since=mark, object_id='0')},
                             {('Browse', 'BrowseMetadata'), ('Browse', 'BrowseDirectChildren')})
            r = self.xpmn('search', self.jid, 'title=zweiter')
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn('Zweiter Ton', r.stdout)
            self.assertNotIn('Erster Ton', r.stdout)

        # -- faults ---------------------------------------------------------------------
        def test_slow_server_times_out_and_blocks_nothing(self):
            mark = self.nas.request_mark()
            box = {}

            def slow():
                t = time.monotonic()
                box['r'] = self.browse('slow')
                box['seconds'] = time.monotonic() - t
            th = threading.Thread(target=slow, daemon=True)
            th.start()
            self.nas.wait_request(since=mark, object_id='slow', done=False, timeout=10)
            # Meanwhile the bridge (and the NAS) answer other requests.
            self.assert_alive()
            self.assertTrue(th.is_alive(), 'the slow browse ended before the normal one: %r' % box)
            th.join(CALL_TIMEOUT + 30)
            self.assertFalse(th.is_alive(), 'xpmn browse slow did not return')
            self.assert_error(box['r'], 'remote-server-timeout')
            self.assertIn('media server did not answer', box['r'].stderr)  # the bridge's answer, not the CLI's
            self.assertGreater(box['seconds'], CALL_TIMEOUT - 1)
            self.assertLess(box['seconds'], CALL_TIMEOUT + 8)
            # The bridge hung up on the request it gave up on.
            rec = self.nas.wait_request(since=mark, object_id='slow', timeout=5)
            self.assertTrue(rec['client_gone'], rec)
            self.assert_alive()

        def test_soap_fault_is_item_not_found(self):
            self.assert_error(self.browse('soap_fault'), 'item-not-found')
            self.assert_error(self.browse('no-such-object'), 'item-not-found')
            self.assert_alive()

        def test_http_500_is_an_error(self):
            # The server answered, with a failure: not "cannot be reached".
            self.assert_error(self.browse('http_500'), 'undefined-condition')
            self.assert_alive()

        def test_broken_answers_are_errors_or_empty(self):
            for oid, condition in (('garbage', 'undefined-condition'), ('garbage_envelope', 'undefined-condition'),
                                   ('truncated', None)):
                with self.subTest(oid):
                    t = time.monotonic()
                    self.assert_error(self.browse(oid), condition)
                    self.assertLess(time.monotonic() - t, CALL_TIMEOUT + 5)
                    self.assert_alive()
            # Search's ContainerID is looked up too: an unreadable Result is no hit.
            r = self.xpmn('search', self.jid, 'title=x', '--container', 'garbage', '--xml')
            if r.returncode == 0:
                attrs, kids = parse_container(r.stdout)
                self.assertEqual((attrs['returned'], kids), ('0', []))
            else:
                self.assert_error(r)
            self.assert_alive()

        def test_hostile_didl_children(self):
            with open('/etc/passwd') as f:
                passwd = f.readline().strip()
            try:
                for name in HOSTILE_DIDL:
                    with self.subTest(name):
                        self.nas.behave('hostile', 'didl:' + name, flag='BrowseDirectChildren')
                        t = time.monotonic()
                        r = self.browse('hostile')
                        self.assertLess(time.monotonic() - t, CALL_TIMEOUT + 5)
                        if r.returncode == 0:
                            attrs, kids = parse_container(r.stdout)
                            self.assertEqual(int(attrs['returned']), len(kids))
                        else:
                            self.assert_error(r)
                        self.assertNotIn(passwd, r.stdout + r.stderr)  # no external entity was read
                        self.assertIsNone(self.bridge.proc.poll(), self.bridge.log_text()[-4000:])
            finally:
                self.nas.behave('hostile', None, flag='BrowseDirectChildren')
            self.assert_alive()

        def bridge_peak_rss(self):
            try:
                with open('/proc/%d/status' % self.bridge.proc.pid) as f:
                    return next(line.split(':', 1)[1].strip() for line in f if line.startswith('VmHWM:'))
            except (OSError, StopIteration):
                return '?'

        def huge(self, oid):
            """Browses a 200 MiB answer: an error within the timeout, a living bridge.
            Returns the NAS's record of the request."""
            mark = self.nas.request_mark()
            t = time.monotonic()
            r = self.browse(oid)
            seconds = time.monotonic() - t
            self.assert_error(r)
            self.assertLess(seconds, CALL_TIMEOUT + 8)
            rec = self.nas.wait_request(since=mark, object_id=oid, timeout=self.nas.stall_seconds + 5)
            print('\n  [hostile] %s: %s after %.1f s; %.1f MiB of %s sent, client gone: %s; bridge peak RSS %s' % (
                oid, r.stderr.strip()[:100], seconds, rec['bytes_sent'] / MiB, rec['announced'],
                rec['client_gone'], self.bridge_peak_rss()), file=sys.stderr)
            self.assert_alive()
            return rec

        def test_huge_answer_with_content_length_is_cut_early(self):
            rec = self.huge('huge')
            self.assertEqual(rec['announced'], self.nas.huge_bytes)
            # The bridge cancels an answer announcing more than 16 MiB after its headers.
            self.assertLess(rec['bytes_sent'], CAP, rec)

        def test_gzip_bomb_is_refused(self):
            # A small compressed body that would inflate to 200 MiB: gzip is not offered, and a
            # compressed answer is refused after its headers.
            mark = self.nas.request_mark()
            r = self.browse('gzip_bomb')
            self.assert_error(r, 'undefined-condition')
            self.assertIn('compressed', r.stderr)
            rec = self.nas.wait_request(since=mark, object_id='gzip_bomb', timeout=10)
            self.assertFalse(rec.get('accept_encoding'), rec)
            self.assert_alive()

        def watch_once(self, container):
            """`xpmn watch DEVICE container --count 1` started; returns (process, output file)."""
            out = os.path.join(self.workdir, 'watch-%s.out' % container)
            with open(out, 'w') as f:
                proc = subprocess.Popen([XPMN_BIN, '--config', self.config, 'watch', self.jid, container,
                                         '--count', '1'], stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
            self.addCleanup(kill, proc)
            wait_for_text(lambda: read_text(out), 'watching container %s' % container, timeout=20)
            time.sleep(2.5)  # two poll rounds: the bridge has read the container once
            return proc, out

        def test_watch_when_the_server_cannot_say(self):
            # GetSystemUpdateID fails (and no GENA event ever comes): the bridge re-reads the watched
            # container itself; a new child, and later the container's disappearance, are changes.
            self.nas.behave('GetSystemUpdateID', 'http_500')
            self.addCleanup(self.nas.behave, 'GetSystemUpdateID', None)
            self.nas.add_object(('w', '0', 'Watched', 'object.container.storageFolder', {}))
            self.addCleanup(self.nas.remove_object, 'w')
            proc, out = self.watch_once('w')
            self.assertNotIn('changed', read_text(out))
            self.nas.add_object(('w1', 'w', 'Neues Bild', 'object.item.imageItem.photo',
                                 {'mime': 'image/jpeg', 'ext': 'jpg'}))
            self.assertEqual(proc.wait(20), 0, read_text(out))
            self.assertIn('container w changed', read_text(out))
            proc, out = self.watch_once('w')
            self.nas.remove_object('w')
            self.assertEqual(proc.wait(20), 0, read_text(out))
            self.assertIn('container w changed', read_text(out))
            self.assert_alive()

        def test_huge_answer_to_the_mpost_retry_is_cut_early(self):
            # 405 to POST: gupnp retries with M-POST, a request the bridge did not start itself.
            mark = self.nas.request_mark()
            r = self.browse('huge_after_405')
            self.assert_error(r, 'undefined-condition')
            self.assertIn('larger than the limit', r.stderr)
            rec = self.nas.wait_request(since=mark, object_id='huge_after_405', method='M-POST',
                                        timeout=self.nas.stall_seconds + 5)
            self.assertEqual(rec['announced'], self.nas.huge_bytes)
            self.assertLess(rec['bytes_sent'], CAP, rec)
            self.assert_alive()

        def test_huge_chunked_answer(self):
            self.huge('huge_chunked')

        # -- the NAS goes (last: restarts the NAS) ----------------------------------------
        def test_zz_nas_gone_and_back(self):
            phone = SlixClient(self.prosody.jid('home', 'phone'), PASSWORD, '127.0.0.1', self.prosody.c2s_port,
                               self.prosody.ca_file)
            self.addCleanup(phone.close)
            phone.connect()
            phone.wait_presence(self.jid, timeout=10)
            # Crashed (no byebye): still announced, requests fail cleanly.
            self.nas.kill()
            self.assert_error(self.browse('0'), 'remote-server-not-found')
            self.nas.start()
            self.assert_alive()
            # Shut down with a byebye: the device goes unavailable, and comes back.
            self.nas.stop()
            phone.wait_presence(self.jid, available=False, timeout=15)
            self.assertIsNone(self.bridge.proc.poll())
            self.nas.start()
            phone.wait_presence(self.jid, timeout=30)
            self.assert_alive()


if __name__ == '__main__':
    unittest.main()
