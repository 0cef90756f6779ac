"""scripts/setup must never stop a Prosody it did not start.

The script runs with stand-ins for the package tools (dpkg-query reports
`prosody` missing, apt-get and service only record their arguments), so
nothing is installed and no system service is touched. It runs in a PID
namespace of its own (`unshare --pid --mount-proc`) beside a process named
`prosody` (a copy of sleep): a process-name kill (`pkill -x prosody`) would hit
that one and could not reach any Prosody outside the namespace.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SETUP = os.path.join(ROOT, 'scripts', 'setup')

STUBS = {
    # dpkg-query -W -f='${Status}' PACKAGE: every package installed but those in $MISSING
    'dpkg-query': '#!/bin/sh\nfor last; do :; done\n'
                  'case " $MISSING " in *" $last "*) exit 1;; esac\nprintf "install ok installed"\n',
    'apt-get': '#!/bin/sh\necho "apt-get $*" >> "$STUB_LOG"\n',
    'service': '#!/bin/sh\necho "service $*" >> "$STUB_LOG"\n',
    'debconf-set-selections': '#!/bin/sh\necho "debconf-set-selections $(cat)" >> "$STUB_LOG"\n',
}

RUN = r'''
"$FAKE" 120 & fake=$!
bash "$SETUP"; rc=$?
# a killed child stays a zombie until reaped: "alive" means running or sleeping
state=$(cut -d' ' -f3 "/proc/$fake/stat" 2>/dev/null)
case "$state" in ''|Z|X) echo "other prosody: gone";; *) echo "other prosody: alive";; esac
kill "$fake" 2>/dev/null
exit $rc
'''


class SetupScript(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.fail('scripts/setup installs as root; this test runs as root')
        for tool in ('unshare', 'sleep'):
            if not shutil.which(tool):
                self.fail('%s is not installed' % tool)
        self.dir = tempfile.mkdtemp(prefix='xpmn-setup-')
        self.addCleanup(shutil.rmtree, self.dir, True)
        stubs = os.path.join(self.dir, 'bin')
        os.mkdir(stubs)
        for name, text in STUBS.items():
            path = os.path.join(stubs, name)
            with open(path, 'w') as f:
                f.write(text)
            os.chmod(path, 0o755)
        self.fake = os.path.join(self.dir, 'prosody')  # its process name is "prosody"
        shutil.copy(shutil.which('sleep'), self.fake)
        self.log = os.path.join(self.dir, 'calls.log')
        self.env = dict(os.environ, PATH=stubs + ':' + os.environ.get('PATH', '/usr/bin:/bin'),
                        STUB_LOG=self.log, FAKE=self.fake, SETUP=SETUP)

    def run_setup(self, missing):
        env = dict(self.env, MISSING=' '.join(missing))
        r = subprocess.run(['unshare', '--pid', '--fork', '--mount-proc', 'bash', '-c', RUN], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        calls = []
        if os.path.exists(self.log):
            with open(self.log) as f:
                calls = f.read().splitlines()
        return r, calls

    def test_installing_prosody_stops_only_its_system_service(self):
        r, calls = self.run_setup(['prosody', 'minidlna'])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('other prosody: alive', r.stdout, r.stdout + r.stderr)
        self.assertTrue(any(c.startswith('apt-get install') and ' prosody' in c for c in calls), calls)
        self.assertIn('service prosody stop', calls)

    def test_prosody_already_installed_is_left_alone(self):
        r, calls = self.run_setup(['minidlna'])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('other prosody: alive', r.stdout, r.stdout + r.stderr)
        self.assertFalse([c for c in calls if c.startswith('service')], calls)

    def test_installing_miniupnpd_keeps_its_daemon_from_starting(self):
        r, calls = self.run_setup(['miniupnpd'])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('debconf-set-selections miniupnpd miniupnpd/start_daemon boolean false', calls)
        install = [i for i, c in enumerate(calls) if c.startswith('apt-get install')]
        self.assertLess(calls.index('debconf-set-selections miniupnpd miniupnpd/start_daemon '
                                    'boolean false'), install[0], calls)
        # No miniupnpd ran before or after: nothing to stop (its stop flushes tables).
        self.assertFalse([c for c in calls if c.startswith('service')], calls)

    def test_nothing_missing_installs_nothing(self):
        r, calls = self.run_setup([])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('other prosody: alive', r.stdout)
        self.assertEqual(calls, [])


if __name__ == '__main__':
    unittest.main()
