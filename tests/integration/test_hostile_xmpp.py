"""xpmn-bridge against a fake XMPP server that misbehaves on purpose
(xpmntest/hostile_xmpp.py): faults Prosody cannot produce on demand.
"""
import os
import shutil
import tempfile
import threading
import time
import unittest

from xpmntest.bridge import Bridge
from xpmntest.certs import TestPKI
from xpmntest.hostile_xmpp import HostileXmpp

PASSWORD = 'c0rrect-h0rse'


def rss_bytes(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    return 0


def uses_asan(pid):
    with open('/proc/%d/maps' % pid) as f:
        return 'libasan' in f.read()


class TestHostileXmppServer(unittest.TestCase):

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix='xpmn-hx-')
        pki = TestPKI(os.path.join(self.workdir, 'pki'))
        self.ca_file = pki.ca_cert
        self.server = HostileXmpp(pki.server_cert('xpmn.test'), 'home', PASSWORD)
        self.server.start()
        self.addCleanup(self.server.stop)

    def tearDown(self):
        if os.environ.get('XPMN_KEEP_WORKDIR'):
            print('work dir kept:', self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def bridge(self):
        b = Bridge(self.workdir, {'jid': 'home@xpmn.test', 'password': PASSWORD, 'server': '127.0.0.1',
                                  'port': self.server.port, 'ca_file': self.ca_file,
                                  'ping_interval': 1, 'iq_timeout': 2},
                   upnp={'interfaces': ['lo']})
        b.start()
        self.addCleanup(b.kill)
        self.addCleanup(b.stop)  # checks the exit code
        return b

    def test_a_server_that_does_not_read_is_not_read_and_is_really_dropped(self):
        """The server sends 200 000 disco#info requests (~100 MB of answers)
        and reads nothing, not even the answer to the bridge's ping. The
        bridge stops reading it once its answers pile up (back-pressure), so
        its memory stays flat; the ping times out, and the connection is
        reset at once — not left ESTABLISHED behind the new session."""
        self.server.behaviours = ['flood']
        b = self.bridge()
        first = self.server.wait_connection(0, 'online')
        pid = b.proc.pid
        baseline = rss_bytes(pid)
        peak = [baseline]
        done = threading.Event()

        def sample():
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], rss_bytes(pid))
                except OSError:
                    return
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            first.wait('ended', 60)
        finally:
            done.set()
            sampler.join(5)
        self.assertIn(first.ended, ('reset', 'closed'))
        print('flood: %d requests taken, RSS %d -> %d' % (first.flood_sent, baseline, peak[0]))
        # Back-pressure: the bridge stopped taking requests long before the end.
        self.assertLess(first.flood_sent, self.server.flood_requests)
        b.wait_for_log('the server did not answer a ping', timeout=10)
        # The session comes back on a new connection.
        self.server.wait_connection(1, 'online', timeout=30)
        b.wait_for_log('online as', timeout=10, start=b.log_text().index('the server did not answer a ping'))
        if not uses_asan(pid):  # ASan's quarantine keeps freed memory resident
            self.assertLess(peak[0] - baseline, 32 * 1024 * 1024,
                            'RSS grew from %d to %d bytes' % (baseline, peak[0]))


if __name__ == '__main__':
    unittest.main()
