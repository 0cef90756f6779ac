"""The bridge's NAS relay (bridge/relay/nas_fetch) against a real minidlna and
a real Gerbera in a private network namespace: whole files and ranges (start, middle, end, a
single byte, a `to` past the end) come back byte-identical to the library's
files, and a range past the end is range-not-satisfiable. The relay is driven
by tests/tools/nas_fetch_probe.

The whole module runs inside a fresh namespace: when started outside one it
creates it, re-runs itself there, and deletes it (xpmntest.netns).
"""
import os
import subprocess
import unittest

from xpmntest.netns import inside_namespace, module_in_namespace  # noqa: E402

if not inside_namespace():
    InNamespace = module_in_namespace('test_nas_relay', prefix='xpmn-relay')

else:
    from xpmntest import media
    from xpmntest.bridge import BUILD, class_workdir, start_server
    from xpmntest.nas import Gerbera, MiniDlna
    from xpmntest.netns import NetNs

    PROBE = os.path.join(BUILD, 'tests', 'nas_fetch_probe')

    class RelayChecks:
        server_class = None

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-relay-')
            lib = os.path.join(cls.workdir, 'lib')
            cls.manifest = media.make_library(lib)
            cls.nas = start_server(cls, cls.server_class(os.path.join(cls.workdir, 'nas'), lib,
                                                         netns=NetNs.current()))
            cls.files = []  # (url, bytes) of every audio and video file
            for m in cls.manifest:
                if m['kind'] not in ('audio', 'video'):
                    continue
                entry = cls.nas.wait_item(m['relpath'], m['title'])
                with open(m['path'], 'rb') as f:
                    cls.files.append((entry['res'][0]['url'], f.read()))

        def fetch(self, url, *rng):
            out = os.path.join(self.workdir, 'out')
            r = subprocess.run([PROBE, url, out] + [str(x) for x in rng], capture_output=True, text=True,
                               timeout=60)
            data = b''
            if r.returncode == 0:
                with open(out, 'rb') as f:
                    data = f.read()
            return r.returncode, r.stdout.strip(), data

        def test_whole_files_are_byte_identical(self):
            self.assertTrue(self.files)
            for url, want in self.files:
                code, facts, data = self.fetch(url)
                self.assertEqual(code, 0, facts)
                size, total, _type = facts.split(' ', 2)
                self.assertEqual((int(size), int(total)), (len(want), len(want)), url)
                self.assertEqual(data, want, url)

        def test_ranges(self):
            url, want = max(self.files, key=lambda f: len(f[1]))
            n = len(want)
            for rng, first, last in (((0, 0), 0, 0), ((1000, 4999), 1000, 4999), ((n - 1, n - 1), n - 1, n - 1),
                                     ((n // 2,), n // 2, n - 1), ((n - 10, n + 1000), n - 10, n - 1)):
                code, facts, data = self.fetch(url, *rng)
                self.assertEqual(code, 0, (rng, facts))
                size, total, _type = facts.split(' ', 2)
                self.assertEqual((int(size), int(total)), (last - first + 1, n), rng)
                self.assertEqual(data, want[first:last + 1], rng)

        def test_a_range_past_the_end_is_not_satisfiable(self):
            url, want = self.files[0]
            code, facts, _ = self.fetch(url, len(want) + 10)
            self.assertEqual(code, 2)
            self.assertTrue(facts.startswith('range-not-satisfiable'), facts)

    class TestMiniDlnaRelay(RelayChecks, unittest.TestCase):
        server_class = MiniDlna

    class TestGerberaRelay(RelayChecks, unittest.TestCase):
        server_class = Gerbera

    if __name__ == '__main__':
        unittest.main()
