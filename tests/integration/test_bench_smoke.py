"""bench/run --quick still works: exit 0 and a report with every measurement,
written where --output says (never docs/). No timing is checked: a benchmark's
numbers are findings, not assertions."""
import os
import shutil
import subprocess
import tempfile
import unittest

from xpmntest.bridge import BUILD, ROOT

BENCH = os.path.join(ROOT, 'bench', 'run')
DOCS_REPORT = os.path.join(ROOT, 'docs', 'benchmarks.md')


def _snapshot(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        return None


class BenchSmoke(unittest.TestCase):
    def quick_run(self, *args):
        """bench/run --quick ARGS into a temporary report: (exit status, output, report text)."""
        out_dir = tempfile.mkdtemp(prefix='xpmn-bench-smoke-')
        self.addCleanup(shutil.rmtree, out_dir, True)
        report = os.path.join(out_dir, 'benchmarks.md')
        before = _snapshot(DOCS_REPORT)
        env = dict(os.environ, XPMN_BUILD_DIR=os.environ.get('XPMN_BUILD_DIR', BUILD))
        r = subprocess.run([BENCH, '--quick', '--output', report] + list(args), env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=500)
        self.assertEqual(_snapshot(DOCS_REPORT), before, 'the smoke run must not touch docs/benchmarks.md')
        text = ''
        if os.path.exists(report):
            with open(report) as f:
                text = f.read()
        return r.returncode, (r.stdout + r.stderr)[-6000:], text

    def test_quick_transfer_run(self):
        rc, out, text = self.quick_run('--only', 'transfer')
        self.assertEqual(rc, 0, out)
        self.assertIn('--quick', text)

    def test_quick_run_writes_a_report(self):
        rc, out, text = self.quick_run('--only', 'browse')
        self.assertEqual(rc, 0, out)
        for row in ('Browse, page of 10 ', 'Browse, page of 100 ', 'Browse, page of 1000 ', 'Walk of the folder view',
                    'Device, sent 2 ms after', 'Device, sent 100 ms after', 'Server itself'):
            self.assertIn(row, text)
        self.assertIn('--quick', text)


if __name__ == '__main__':
    unittest.main()
