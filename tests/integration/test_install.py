"""`cmake --install` of the built tree into a DESTDIR: the two binaries, the
systemd unit (starting the installed daemon with /etc/xpmn-bridge/config.toml,
hardened, state in StateDirectory) and the example configuration; and
`systemd-analyze verify` accepts the unit without a warning (when
systemd-analyze is there).
"""
import configparser
import os
import shutil
import subprocess
import tempfile
import unittest

from xpmntest.bridge import BUILD, ROOT


def cache_value(key):
    with open(os.path.join(BUILD, 'CMakeCache.txt')) as f:
        for line in f:
            if line.startswith(key + ':'):
                return line.split('=', 1)[1].strip()
    raise AssertionError('%s not in CMakeCache.txt' % key)


class TestInstall(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.destdir = tempfile.mkdtemp(prefix='xpmn-install-')
        cls.addClassCleanup(shutil.rmtree, cls.destdir, True)
        r = subprocess.run(['cmake', '--install', BUILD], env=dict(os.environ, DESTDIR=cls.destdir),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        cls.prefix = cache_value('CMAKE_INSTALL_PREFIX')
        cls.root = cls.destdir + cls.prefix
        cls.unit = os.path.join(cls.root, 'lib', 'systemd', 'system', 'xpmn-bridge.service')

    def test_binaries_unit_and_example_config(self):
        for name in ('xpmn-bridge', 'xpmn'):
            path = os.path.join(self.root, 'bin', name)
            self.assertTrue(os.access(path, os.X_OK), path)
        self.assertTrue(os.path.isfile(self.unit))
        example = os.path.join(self.root, 'share', 'doc', 'xpmn-bridge', 'config.example.toml')
        with open(example) as f, open(os.path.join(ROOT, 'config', 'example.toml')) as g:
            self.assertEqual(f.read(), g.read())

    def test_the_unit_runs_the_installed_daemon_hardened(self):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str
        unit.read(self.unit)
        service = unit['Service']
        self.assertEqual(service['ExecStart'],
                         '%s/bin/xpmn-bridge --config /etc/xpmn-bridge/config.toml' % self.prefix)
        for key, value in (('DynamicUser', 'yes'), ('StateDirectory', 'xpmn-bridge'), ('NoNewPrivileges', 'yes'),
                           ('ProtectSystem', 'strict'), ('ProtectHome', 'yes'), ('KillSignal', 'SIGTERM')):
            self.assertEqual(service[key], value, key)
        self.assertEqual(unit['Install']['WantedBy'], 'multi-user.target')

    @unittest.skipUnless(shutil.which('systemd-analyze'), 'systemd-analyze is not installed')
    def test_systemd_analyze_verify_accepts_the_unit(self):
        # verify checks that ExecStart's program exists: point it into DESTDIR.
        with open(self.unit) as f:
            text = f.read().replace('ExecStart=%s/' % self.prefix, 'ExecStart=%s/' % self.root)
        copy = os.path.join(self.destdir, 'xpmn-bridge.service')
        with open(copy, 'w') as f:
            f.write(text)
        r = subprocess.run(['systemd-analyze', 'verify', '--man=no', copy], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn('xpmn-bridge.service:', r.stdout + r.stderr)  # no "unknown key" or like warning


if __name__ == '__main__':
    unittest.main()
