"""`xpmn-bridge --config F health` against a running daemon and a real
Prosody on loopback (what a container HEALTHCHECK runs): one line, exit 0
while the bridge is connected and its presence is out; non-zero once the
XMPP server is gone, with the connection error as the last error; 3 without
a daemon. And the stop a container's SIGTERM asks for: the daemon exits
within 5 s and the bridge's unavailable presence reaches the account's
other clients.
"""
import os
import subprocess
import time
import unittest

from test_bridge_c2s import PASSWORD, ProsodyCase
from xpmntest.bridge import BRIDGE_BIN, Bridge, xmpp_section


def health(config):
    return subprocess.run([BRIDGE_BIN, '--config', config, 'health'], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)


def wait_health(config, returncode, timeout=30.0):
    """`health` until it exits with `returncode` (bounded); returns that run."""
    deadline = time.monotonic() + timeout
    while True:
        r = health(config)
        if r.returncode == returncode:
            return r
        if time.monotonic() > deadline:
            raise AssertionError('health did not exit %d within %ss: %d %s%s' % (
                returncode, timeout, r.returncode, r.stdout, r.stderr))
        time.sleep(0.2)


class TestHealthCommand(ProsodyCase):

    def test_healthy_while_connected_unhealthy_when_the_server_is_gone(self):
        b = self.bridge()
        phone = self.slix()
        phone.wait_presence(self.prosody.jid('home', 'bridge'), timeout=20)
        r = wait_health(b.config, 0)
        self.assertEqual(r.stdout.count('\n'), 1, r.stdout)
        self.assertRegex(r.stdout, r'^healthy: XMPP connected, bridge presence online; \d+ of \d+ devices online '
                                   r'\([^)]*\bbridge\b[^)]*\); last error: none\n$')

        self.prosody.stop()
        r = wait_health(b.config, 1)
        self.assertEqual(r.stdout.count('\n'), 1, r.stdout)
        self.assertTrue(r.stdout.startswith('unhealthy: XMPP not connected; 0 of '), r.stdout)
        self.assertNotIn('last error: none', r.stdout)
        self.assertRegex(r.stdout, r'last error: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ bridge: ')

    def test_without_a_daemon_health_fails_clearly(self):
        b = Bridge(self.workdir, xmpp_section(self.prosody, 'home', PASSWORD), name='absent')
        r = health(b.config)
        self.assertEqual(r.returncode, 3)
        self.assertTrue(r.stdout.startswith('unhealthy: no xpmn-bridge is running'), r.stdout)

    def test_sigterm_stops_within_5_s_with_unavailable_presence(self):
        b = self.bridge()
        phone = self.slix()
        bridge_jid = self.prosody.jid('home', 'bridge')
        phone.wait_presence(bridge_jid, timeout=20)
        self.assertEqual(b.stop(timeout=5), 0)
        phone.wait_presence(bridge_jid, available=False, timeout=10)
        self.assertFalse(os.path.exists(os.path.join(self.workdir, 'bridge-state', 'control.sock')))


if __name__ == '__main__':
    unittest.main()
