"""`xpmn-bridge --config F pair` against a running daemon (with a real
Prosody on loopback): the PIN line, the pairing URI with the bridge's
fingerprint, the QR code, and exit codes; a second daemon on the same
state_dir is refused, and so is a trust store that cannot be read; a socket left by a killed daemon is replaced; without
a daemon `pair` says so and fails.
"""
import os
import re
import subprocess
import tempfile
import unittest

from xpmntest.bridge import BRIDGE_BIN, Bridge, class_workdir, xmpp_section
from xpmntest.certs import _openssl, fingerprint
from xpmntest.prosody import Prosody

PASSWORD = 'pa1r-me-up'
PIN_LINE = re.compile(r'^PIN (\d{6,})$', re.M)


def make_device_certificate(state_dir):
    """What the daemon's device identity looks like on disk: identity.key/.crt (0600)."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    key, crt = os.path.join(state_dir, 'identity.key'), os.path.join(state_dir, 'identity.crt')
    _openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key,
             '-out', crt, '-days', '30', '-subj', '/CN=xpmn-bridge')
    os.chmod(key, 0o600)
    os.chmod(crt, 0o600)
    return fingerprint(crt)


def pair(config):
    return subprocess.run([BRIDGE_BIN, '--config', config, 'pair'], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)


class TestPairCommand(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        class_workdir(cls, 'xpmn-pair-')
        cls.prosody = Prosody(os.path.join(cls.workdir, 'prosody'))
        cls.addClassCleanup(cls.prosody.stop)
        cls.prosody.add_user('home', PASSWORD)
        cls.prosody.start()
        cls.xmpp = xmpp_section(cls.prosody, 'home', PASSWORD)
        cls.state_dir = os.path.join(cls.workdir, 'bridge-state')
        cls.fp = make_device_certificate(cls.state_dir)
        cls.bridge = Bridge(cls.workdir, cls.xmpp)
        cls.addClassCleanup(cls.bridge.kill)
        cls.addClassCleanup(cls.bridge.stop)
        cls.bridge.start()
        cls.bridge.wait_for_log('control socket')

    def test_pair_prints_the_pin_the_uri_and_a_qr_code(self):
        r = pair(self.bridge.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = PIN_LINE.search(r.stdout)
        self.assertTrue(m, r.stdout)
        pin = m.group(1)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], 'PIN ' + pin)
        self.assertEqual(lines[1], 'xmpp:%s/bridge?pair;pin=%s;fp=%s' % (self.prosody.jid('home'), pin, self.fp))
        qr = [l for l in lines[2:] if set(l) <= set('\u2588\u2580\u2584 ') and l]
        self.assertGreater(len(qr), 10, r.stdout)
        self.assertIn(self.fp, lines[-1])
        # A new request opens a new window with a new PIN (the old one is burned).
        again = pair(self.bridge.config)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertRegex(again.stdout, PIN_LINE)

    def test_a_second_daemon_on_the_same_state_dir_is_refused(self):
        second = Bridge(self.workdir, self.xmpp, bridge={'state_dir': self.state_dir}, name='second')
        second.start()
        self.addCleanup(second.kill)
        rc = second.proc.wait(30)
        second.stop(expect=None)
        self.assertNotEqual(rc, 0)
        self.assertIn('another xpmn-bridge is running', second.log_text())
        # The first daemon still serves.
        r = pair(self.bridge.config)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_the_socket_of_a_killed_daemon_is_replaced(self):
        b = Bridge(self.workdir, self.xmpp, name='killed')
        make_device_certificate(os.path.join(self.workdir, 'killed-state'))
        self.addCleanup(b.kill)
        b.start()
        b.wait_for_log('control socket')
        b.kill()  # SIGKILL: control.sock stays behind
        self.assertTrue(os.path.exists(os.path.join(self.workdir, 'killed-state', 'control.sock')))
        self.assertEqual(pair(b.config).returncode, 3)
        mark = b.log_mark()
        b.start()
        b.wait_for_log('control socket', start=mark)
        r = pair(b.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, PIN_LINE)
        b.stop()

    def test_a_bad_trust_store_stops_the_daemon_at_start(self):
        b = Bridge(self.workdir, self.xmpp, name='badtrust')
        state = os.path.join(self.workdir, 'badtrust-state')
        os.makedirs(state, mode=0o700, exist_ok=True)
        with open(os.path.join(state, 'trust.toml'), 'w') as f:
            f.write('[[peer]]\nfingerprint = "not-hex"\njid = "home@xpmn.test"\nrole = "owner"\n'
                    'paired_at = "2026-12-01T20:00:00Z"\n')
        self.addCleanup(b.kill)
        b.start()
        self.assertEqual(b.proc.wait(30), 2)
        b.stop(expect=2)
        self.assertIn('trust.toml:2: fingerprint', b.log_text())
        self.assertFalse(os.path.exists(os.path.join(state, 'control.sock')))

    def test_without_a_daemon_pair_fails_clearly(self):
        b = Bridge(self.workdir, self.xmpp, name='absent')
        r = pair(b.config)
        self.assertEqual(r.returncode, 3)
        self.assertIn('no xpmn-bridge is running', r.stderr)
        self.assertNotRegex(r.stdout, PIN_LINE)


if __name__ == '__main__':
    unittest.main()
