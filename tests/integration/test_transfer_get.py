"""`xpmn get` through the whole path (wire profile §6): a real minidlna, the
bridge and Prosody, all on loopback in a private network namespace; the
bridge and the controllers restrict S5B direct candidates to `lo`. Every
file of the test library comes back byte-identical (SHA-256) to the NAS's;
ranges at the start, middle and end and a single byte; invalid ranges fail
clearly; a partial file is resumed; eight downloads run at once from two
controllers; a browse of a container too big for an inline result arrives
out of band; all against minidlna and Gerbera. A NAS killed mid-transfer
makes `xpmn get` fail clearly, and the bridge serves again once it is back;
a reader that leaves frees the NAS connection; without SOCKS5 candidates
the transfer goes through IBB.

The module runs inside a fresh network namespace (xpmntest.netns).
"""
import concurrent.futures
import hashlib
import os
import re
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'get-s3cret'
NAS_NAME = 'Transfer NAS'
META = '{urn:xmpp:media:metadata:0}'
N_EXTRA = 150  # the Many/ container: ~150 items, far over the 16 KiB inline limit
VIA = re.compile(r'^got (\d+) bytes via (\S+)$', re.M)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def read_to_end(f):
    """Reads `f` to its end; returns how many bytes that was."""
    n = 0
    while chunk := f.read(1024 * 1024):
        n += len(chunk)
    return n


if not inside_namespace():
    InNamespace = module_in_namespace('test_transfer_get', prefix='xpmn-get')

else:
    from xpmntest.bridge import (XPMN_BIN, class_workdir, controller_config, open_pairing, run_xpmn,
                                 sanitized_build, start_secure_home, transfer_uri)
    from xpmntest import media, procfs
    from xpmntest.nas import Gerbera, MiniDlna
    from xpmntest.prosody import Prosody

    class TransferGet:
        """The tests, run once per NAS (the subclasses)."""
        nas_class = None

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-get-')
            start_secure_home(cls, Prosody, PASSWORD, NAS_NAME, n_extra=N_EXTRA, nas_class=cls.nas_class,
                              transfer={'interfaces': ['lo']})
            cls.phones = [cls.controller('phone1'), cls.controller('phone2')]
            # The files (not the Many/ copies, which are all the same bytes) and their transfer URIs.
            cls.files = []
            for m in cls.manifest:
                if m['relpath'].startswith('Many/') and not m['relpath'].endswith('0001.mp3'):
                    continue
                entry = cls.nas.wait_item(m['relpath'], m['title'])
                with open(m['path'], 'rb') as f:
                    data = f.read()
                cls.files.append((m['relpath'], cls.uri_of(entry), data))

        @classmethod
        def controller(cls, name):
            path = controller_config(cls.workdir, cls.server, 'home', PASSWORD, name, transfer={'interfaces': ['lo']})
            r = run_xpmn(path, 'pair', cls.bridge_jid, '--pin', open_pairing(cls.bridge)[0])
            assert r.returncode == 0, r.stderr
            return path

        @classmethod
        def uri_of(cls, entry):
            return transfer_uri(cls.phones[0], cls.device, entry)

        def get(self, uri, out, *args, phone=0, ok=True):
            r = run_xpmn(self.phones[phone], '--timeout', '60', 'get', uri, '-o', out, *args, timeout=90)
            if ok:
                self.assertEqual(r.returncode, 0, r.stderr)
            return r

        def out(self, name):
            return os.path.join(self.workdir, name)

        def read(self, path):
            with open(path, 'rb') as f:
                return f.read()

        def biggest(self):
            return max(self.files, key=lambda f: len(f[2]))

        def test_every_file_is_byte_identical(self):
            self.assertGreaterEqual(len(self.files), 9)
            for i, (rel, uri, want) in enumerate(self.files):
                out = self.out('whole-%d' % i)
                r = self.get(uri, out)
                m = VIA.search(r.stdout)
                self.assertIsNotNone(m, r.stdout)
                self.assertEqual((int(m.group(1)), m.group(2)), (len(want), 's5b-direct'), rel)
                self.assertEqual(sha(self.read(out)), sha(want), rel)

        def test_ranges(self):
            _, uri, want = self.biggest()
            n = len(want)
            for rng, first, last in (('0-999', 0, 999), ('%d-%d' % (n // 2, n // 2 + 4095), n // 2, n // 2 + 4095),
                                     ('%d-' % (n - 100), n - 100, n - 1), ('7-7', 7, 7),
                                     ('%d-%d' % (n - 1, n + 500), n - 1, n - 1)):
                out = self.out('range-' + rng)
                r = self.get(uri, out, '--range', rng)
                self.assertEqual(VIA.search(r.stdout).group(1), str(last - first + 1), rng)
                self.assertEqual(self.read(out), want[first:last + 1], rng)

        def test_invalid_ranges(self):
            _, uri, want = self.biggest()
            for rng in ('%d-' % (len(want) + 10), '%d-%d' % (len(want), len(want) + 5)):
                r = self.get(uri, self.out('bad'), '--range', rng, ok=False)
                self.assertNotEqual(r.returncode, 0, rng)
                self.assertIn('range', r.stderr, rng)
                self.assertNotIn('via', r.stdout)
            for rng in ('10-5', 'abc', '-5', '5'):
                r = self.get(uri, self.out('bad'), '--range', rng, ok=False)
                self.assertEqual(r.returncode, 2, (rng, r.stderr))

        def test_unknown_uid_and_bad_uri(self):
            _, uri, _ = self.biggest()
            r = self.get(uri.split('?')[0] + '?transfer;uid=nope', self.out('x'), ok=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn('no such item', r.stderr)
            r = self.get('http://example.invalid/x', self.out('x'), ok=False)
            self.assertEqual(r.returncode, 2)

        def test_resume_a_partial_file(self):
            _, uri, want = self.biggest()
            out = self.out('resume')
            with open(out, 'wb') as f:
                f.write(want[:len(want) // 3])
            r = self.get(uri, out)
            self.assertEqual(self.read(out), want)
            self.assertEqual(VIA.search(r.stdout).group(1), str(len(want) - len(want) // 3))
            # Complete already: nothing to do, nothing changes.
            r = self.get(uri, out)
            self.assertIn('already complete', r.stdout)
            self.assertEqual(self.read(out), want)
            # Longer than the file: refused, left alone.
            with open(out, 'wb') as f:
                f.write(want + b'more')
            r = self.get(uri, out, ok=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn('longer', r.stderr)
            self.assertEqual(self.read(out), want + b'more')
            # Not the same file: refused, left alone.
            with open(out, 'wb') as f:
                f.write(b'\xff' * 100)
            r = self.get(uri, out, ok=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertEqual(self.read(out), b'\xff' * 100)

        def test_eight_concurrent_downloads_from_two_controllers(self):
            jobs = [(i % 2, self.files[i % len(self.files)]) for i in range(8)]

            def one(i):
                phone, (rel, uri, want) = jobs[i]
                out = self.out('conc-%d' % i)
                r = self.get(uri, out, phone=phone, ok=False)
                return r, out, want

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                for r, out, want in pool.map(one, range(8)):
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(sha(self.read(out)), sha(want))

        def test_big_browse_result_arrives_out_of_band(self):
            many = self.nas.wait_item('Many/many-0001.mp3')['parent_id']
            r = run_xpmn(self.phones[1], 'browse', self.device, many, '--xml', '--max', '1000')
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertGreater(len(r.stdout), 16 * 1024)
            c = ET.fromstring(r.stdout)
            self.assertEqual(int(c.get('returned')), N_EXTRA)
            self.assertEqual(len([i for i in c if i.tag == META + 'item']), N_EXTRA)

    class TestGetFromMiniDlna(TransferGet, unittest.TestCase):
        nas_class = MiniDlna

    class TestGetFromGerbera(TransferGet, unittest.TestCase):
        nas_class = Gerbera

    class TestGetInBand(unittest.TestCase):
        """Neither side offers a SOCKS5 candidate (no usable interface, no
        proxy): the OOB session falls back to IBB and still delivers."""
        NO_S5B = {'interfaces': ['none0'], 'proxies': False}

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-get-ibb-')
            start_secure_home(cls, Prosody, PASSWORD, NAS_NAME, transfer=cls.NO_S5B)
            cls.phone = controller_config(cls.workdir, cls.server, 'home', PASSWORD, 'phone', transfer=cls.NO_S5B)
            r = run_xpmn(cls.phone, 'pair', cls.bridge_jid, '--pin', open_pairing(cls.bridge)[0])
            assert r.returncode == 0, r.stderr
            cls.phones = [cls.phone]

        def test_a_file_comes_through_ibb(self):
            m = next(m for m in self.manifest if m['kind'] == 'video')
            uri = TransferGet.uri_of.__func__(type(self), self.nas.wait_item(m['relpath'], m['title']))
            out = os.path.join(self.workdir, 'ibb')
            r = run_xpmn(self.phone, 'get', uri, '-o', out, timeout=90)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(VIA.search(r.stdout).groups(), (str(m['size']), 'ibb'))
            with open(m['path'], 'rb') as want, open(out, 'rb') as got:
                self.assertEqual(sha(got.read()), sha(want.read()))

    class TestNasKilledMidTransfer(unittest.TestCase):
        """The NAS dies while a file is on its way: `xpmn get` fails clearly
        and the bridge goes on serving once the NAS is back."""
        BIG = 112 * 1024 * 1024  # far more than every buffer on the way (kernel ones included)

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-get-kill-')
            start_secure_home(cls, Prosody, PASSWORD, NAS_NAME, transfer={'interfaces': ['lo']})
            # A big file, added while the NAS runs (it watches its library).
            big = os.path.join(cls.workdir, 'library', 'Music', 'big.wav')
            media.make_big_wav(big, cls.BIG)
            cls.big_size = os.path.getsize(big)
            cls.phone = controller_config(cls.workdir, cls.server, 'home', PASSWORD, 'phone',
                                          transfer={'interfaces': ['lo']})
            r = run_xpmn(cls.phone, 'pair', cls.bridge_jid, '--pin', open_pairing(cls.bridge)[0])
            assert r.returncode == 0, r.stderr
            cls.phones = [cls.phone]
            small = next(m for m in cls.manifest if m['kind'] == 'audio')
            cls.small = small

        def uri(self, relpath, title=None):
            """A transfer URI from a browse now: a NAS that was killed and is back
            is a new device session on the bridge, with new uids."""
            if self.nas.proc is None or self.nas.proc.poll() is not None:
                self.nas.start()
            return TransferGet.uri_of.__func__(type(self), self.nas.wait_item(relpath, title, timeout=60))

        def slow_get(self, name):
            """`xpmn get` of the big file into a pipe the test reads: the
            download goes only as fast as the test lets it."""
            fifo = os.path.join(self.workdir, name)
            os.mkfifo(fifo)
            get = subprocess.Popen([XPMN_BIN, '--config', self.phone, 'get', self.uri('Music/big.wav'), '-o', fifo,
                                    '--range', '0-'],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.addCleanup(get.kill)
            return get, fifo

        def nas_connections(self):
            return procfs.established_to(self.nas.port)

        def test_reader_gone_aborts_and_frees_the_nas_connection(self):
            get, fifo = self.slow_get('fifo-abort')
            with open(fifo, 'rb') as f:
                self.assertEqual(len(f.read(1024 * 1024)), 1024 * 1024)
                self.assertGreater(self.nas_connections(), 0)
            # The reader is gone: xpmn's write fails (an error, not SIGPIPE), it aborts the id and exits.
            out, err = get.communicate(timeout=60)
            self.assertEqual(get.returncode, 1, err)
            self.assertNotIn('via', out)
            deadline = time.monotonic() + 30
            while self.nas_connections() and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(self.nas_connections(), 0)

        def bridge_rss_kib(self):
            with open('/proc/%d/status' % self.bridge.proc.pid) as f:
                return int(next(line.split()[1] for line in f if line.startswith('VmRSS:')))

        def test_reader_that_stops_keeps_the_bridge_small(self):
            """The reader stops after 1 MiB with 100+ MiB still to come: the
            bridge reads the NAS only as fast as the stream drains, so its
            memory barely moves; once reading goes on, every byte arrives."""
            get, fifo = self.slow_get('fifo-stall')
            with open(fifo, 'rb') as f:
                self.assertEqual(len(f.read(1024 * 1024)), 1024 * 1024)
                before = self.bridge_rss_kib()
                peak = before
                # Long enough for every buffer on the way to fill (loopback moves ~1 GB/s).
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    peak = max(peak, self.bridge_rss_kib())
                    time.sleep(0.05)
                self.assertGreater(self.nas_connections(), 0)  # still under way, not aborted
                rest = read_to_end(f)
            out, err = get.communicate(timeout=120)
            self.assertEqual(get.returncode, 0, err)
            self.assertEqual(1024 * 1024 + rest, self.big_size)
            if not sanitized_build():  # ASan's quarantine keeps freed buffers: RSS is not the bridge's
                self.assertLess(peak - before, 8 * 1024, 'bridge RSS grew from %d to %d KiB' % (before, peak))

        def test_nas_killed_mid_transfer(self):
            get, fifo = self.slow_get('fifo-kill')
            got = 0
            with open(fifo, 'rb') as f:
                while got < 1024 * 1024:
                    chunk = f.read(65536)
                    self.assertTrue(chunk, 'the download ended early')
                    got += len(chunk)
                self.nas.kill()
                got += read_to_end(f)
            out, err = get.communicate(timeout=60)
            self.assertNotEqual(get.returncode, 0, out)
            self.assertLess(got, self.big_size)
            self.assertIn('ended after', err)
            self.assertNotIn('via', out)
            # The NAS is back: the bridge serves again (URIs from a new browse).
            out = os.path.join(self.workdir, 'after')
            r = run_xpmn(self.phone, 'get', self.uri(self.small['relpath'], self.small['title']), '-o', out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.path.getsize(out), self.small['size'])


if __name__ == '__main__':
    unittest.main()
