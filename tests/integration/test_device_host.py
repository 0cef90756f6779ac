"""Many devices of one account on one event loop: N c2s sessions from one
process with one thread, each with its own resource, identity and features;
removing a device sends unavailable presence.
"""
import os
import signal
import subprocess
import unittest

from test_bridge_c2s import PASSWORD, ProsodyCase
from xpmntest.bridge import BUILD, write_config, xmpp_section
from xpmntest.logs import read_text

PROBE = os.path.join(BUILD, 'tests', 'device_host_probe')
N = 6


def thread_count(pid):
    return len(os.listdir('/proc/%d/task' % pid))


class TestDeviceHost(ProsodyCase):

    def test_n_devices_share_one_thread(self):
        config = write_config(os.path.join(self.workdir, 'probe.toml'),
                              {'xmpp': xmpp_section(self.prosody, 'home', PASSWORD),
                               'bridge': {'state_dir': os.path.join(self.workdir, 'probe-state'),
                                          'log_level': 'info'}})
        log = open(os.path.join(self.workdir, 'probe.log'), 'wb')
        self.cleanups.append(log.close)
        proc = subprocess.Popen([PROBE, config, str(N)], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        self.cleanups.append(lambda: (proc.poll() is None and proc.kill(), proc.wait(10)))
        phone = self.slix()
        jids = [self.prosody.jid('home', 'probe-%d' % i) for i in range(1, N + 1)]
        for j in jids:
            phone.wait_presence(j, timeout=20)
        for i, j in enumerate(jids, 1):
            info = phone.disco_info(j)
            self.assertIn(('automation', 'media-server', 'Probe %d' % i), info['identities'])
            self.assertIn('urn:example:probe:%d' % i, info['features'])
            self.assertNotIn('urn:example:probe:%d' % (i % N + 1), info['features'])
        # One io_context, one thread, however many sessions.
        self.assertEqual(thread_count(proc.pid), 1)
        proc.send_signal(signal.SIGUSR1)
        phone.wait_presence(jids[0], available=False, timeout=10)
        self.assertEqual(phone.presence_of(jids[1]), 'available')
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(10), 0, read_text(os.path.join(self.workdir, 'probe.log'))[-3000:])
        for j in jids[1:]:
            phone.wait_presence(j, available=False, timeout=10)

    def test_bridge_daemon_is_single_threaded(self):
        b = self.bridge()
        b.wait_for_log('online as home@xpmn.test/bridge', timeout=15)
        # GLib's main context runs inside the Asio loop: no helper threads.
        self.assertEqual(thread_count(b.proc.pid), 1)
        b.wait_for_log('roster has 0 item(s)', timeout=5)


if __name__ == '__main__':
    unittest.main()
