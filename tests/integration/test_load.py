"""Load and leaks: one bridge under many controllers at once, and what
controllers that come and go, or die in the middle of a download, leave
behind.

A minidlna, Prosody and the bridge in a fresh network namespace
(xpmntest.netns), four paired controllers. Rounds of concurrent work (browse,
search, a whole file, a range) must all succeed with the right bytes, and the
bridge's open file descriptors and threads must not grow from one round to the
next: a socket or timer left behind per session would show as dozens.
Controllers SIGKILLed while a file streams to them (no session-terminate, no
stream close: the server sees their connections die) leave no NAS connection
and no descriptor behind. The XMPP server killed in the middle of a round:
the bridge comes back online, serves a full round again, and what the cut
sessions held is freed. What is asserted is what the kernel shows of the
bridge (/proc), never timing.
"""
import concurrent.futures
import hashlib
import os
import select
import signal
import subprocess
import time
import unittest

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'load-s3cret'
NAS_NAME = 'Load NAS'
CONTROLLERS = 4
JOBS = 32           # per round, 8 at a time
AT_ONCE = 8
KILLED = 6          # controllers killed mid-download
BIG = 48 * 1024 * 1024  # far more than every buffer between the NAS and a stalled reader
# What may differ between two settled rounds without a leak: idle keep-alive
# connections libsoup holds to the NAS (at most 2 per host and session).
SLACK = 4


def sha(data):
    return hashlib.sha256(data).hexdigest()


def read_at_least(fd, n, timeout):
    """Reads `n` bytes or more from the non-blocking `fd` within `timeout` s;
    False if they did not come."""
    deadline = time.monotonic() + timeout
    got = 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        try:
            got += len(os.read(fd, 1 << 20))
        except BlockingIOError:
            continue
    return True


if not inside_namespace():
    InNamespace = module_in_namespace('test_load', prefix='xpmn-load')

else:
    from xpmntest.bridge import (XPMN_BIN, class_workdir, controller_config, open_pairing, run_xpmn,
                                 start_secure_home, transfer_uri, wait_devices)
    from xpmntest import media, procfs
    from xpmntest.prosody import Prosody

    class TestLoad(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-load-')
            start_secure_home(cls, Prosody, PASSWORD, NAS_NAME, transfer={'interfaces': ['lo']})
            big = os.path.join(cls.workdir, 'library', 'Music', 'big.wav')
            media.make_big_wav(big, BIG)  # added while the NAS runs: it watches its library
            cls.phones = []
            for i in range(CONTROLLERS):
                path = controller_config(cls.workdir, cls.server, 'home', PASSWORD, 'phone%d' % i,
                                         transfer={'interfaces': ['lo']})
                r = run_xpmn(path, 'pair', cls.bridge_jid, '--pin', open_pairing(cls.bridge)[0])
                assert r.returncode == 0, r.stderr
                cls.phones.append(path)
            cls.files = []
            for m in cls.manifest:
                if m['kind'] == 'audio' and not m['relpath'].startswith('Many/'):
                    with open(m['path'], 'rb') as f:
                        data = f.read()
                    entry = cls.nas.wait_item(m['relpath'], m['title'])
                    cls.files.append((m, transfer_uri(cls.phones[0], cls.device, entry), data))
            cls.big_uri = transfer_uri(cls.phones[0], cls.device, cls.nas.wait_item('Music/big.wav', timeout=60))

        # -- what the kernel shows of the bridge ------------------------------------
        def fds(self):
            return len(os.listdir('/proc/%d/fd' % self.bridge.proc.pid))

        def threads(self):
            return len(os.listdir('/proc/%d/task' % self.bridge.proc.pid))

        def nas_connections(self):
            return procfs.established_to(self.nas.port)

        def settled_fds(self, at_most=None, timeout=30):
            """The bridge's descriptor count once it has not changed for 2 s
            (sessions end a moment after their controllers) and, if given, is
            at most `at_most`; bounded: returns the last count either way."""
            deadline = time.monotonic() + timeout
            last, since = self.fds(), time.monotonic()
            while time.monotonic() < deadline:
                time.sleep(0.2)
                now = self.fds()
                if now != last:
                    last, since = now, time.monotonic()
                elif time.monotonic() - since >= 2 and (at_most is None or now <= at_most):
                    break
            return last

        # -- the work ---------------------------------------------------------------
        def job(self, i):
            """One controller's request; returns an error text or None."""
            try:
                return self.one_job(i)
            except subprocess.TimeoutExpired as e:  # a failure like any other, reported with the rest
                return 'job %d: %s' % (i, e)

        def one_job(self, i):
            phone = self.phones[i % CONTROLLERS]
            m, uri, data = self.files[i % len(self.files)]
            kind = i % 4
            if kind == 0:
                r = run_xpmn(phone, 'browse', self.device, '0', timeout=60)
                ok = r.returncode == 0 and 'Music' in r.stdout
            elif kind == 1:
                r = run_xpmn(phone, 'search', self.device, 'title=' + m['title'], timeout=60)
                ok = r.returncode == 0 and m['title'] in r.stdout
            else:
                out = os.path.join(self.workdir, 'job-%d-%d' % (i, time.monotonic_ns()))
                rng = ['--range', '100-4195'] if kind == 3 else []
                r = run_xpmn(phone, '--timeout', '60', 'get', uri, '-o', out, *rng, timeout=90)
                want = data[100:4196] if rng else data
                got = b''
                if os.path.exists(out):
                    with open(out, 'rb') as f:
                        got = f.read()
                    os.unlink(out)
                ok = r.returncode == 0 and sha(got) == sha(want)
            return None if ok else 'job %d (kind %d): rc %d\n%s%s' % (i, kind, r.returncode, r.stdout[-500:],
                                                                    r.stderr[-1500:])

        def round(self, may_fail=False):
            with concurrent.futures.ThreadPoolExecutor(AT_ONCE) as pool:
                errors = [e for e in pool.map(self.job, range(JOBS)) if e]
            if not may_fail:
                self.assertEqual(errors, [], '\n'.join(errors))

        def test_rounds_of_concurrent_controllers_leave_nothing_behind(self):
            self.round()  # warm-up: what the bridge keeps for later (pools, caches) is made here
            first = self.settled_fds()
            threads = self.threads()
            self.round()
            second = self.settled_fds(at_most=first + SLACK)
            self.round()
            third = self.settled_fds(at_most=first + SLACK)
            self.assertLessEqual(second, first + SLACK, 'descriptors after rounds: %d, %d' % (first, second))
            self.assertLessEqual(third, first + SLACK, 'descriptors after rounds: %d, %d, %d' % (first, second, third))
            self.assertEqual(self.threads(), threads)

        def test_controllers_killed_mid_download_leave_nothing_behind(self):
            self.round()
            before = self.settled_fds()
            idle = self.nas_connections()  # kept alive by the bridge's HTTP sessions, if any
            gets = []
            for i in range(KILLED):
                fifo = os.path.join(self.workdir, 'kill-%d-%d' % (i, time.monotonic_ns()))
                os.mkfifo(fifo)
                # Read and write: the open does not wait for xpmn, and no read waits past its deadline.
                fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
                self.addCleanup(os.close, fd)
                get = subprocess.Popen([XPMN_BIN, '--config', self.phones[i % CONTROLLERS], 'get', self.big_uri,
                                        '-o', fifo], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
                self.addCleanup(get.kill)
                gets.append((get, fd))
            for i, (get, fd) in enumerate(gets):  # every one under way: a MiB through, the rest held back
                if not read_at_least(fd, 1024 * 1024, timeout=60):
                    get.kill()
                    self.fail('download %d: no MiB within 60 s; NAS connections %d; xpmn: %s' % (
                        i, self.nas_connections(), get.communicate(timeout=10)[1][-1500:]))
            self.assertGreater(self.nas_connections(), idle)
            for get, _ in gets:
                get.send_signal(signal.SIGKILL)
                get.wait(timeout=10)
            deadline = time.monotonic() + 60
            while self.nas_connections() > idle and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertLessEqual(self.nas_connections(), idle, 'NAS connections left behind')
            after = self.settled_fds(at_most=before + SLACK, timeout=60)
            self.assertLessEqual(after, before + SLACK, 'descriptors: %d before, %d after' % (before, after))
            self.round()  # and the bridge serves on

        def test_the_xmpp_server_killed_under_load(self):
            self.round()
            before = self.settled_fds()
            idle = self.nas_connections()
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                cut = pool.submit(self.round, may_fail=True)  # its jobs fail once the server is gone
                deadline = time.monotonic() + 30
                while self.nas_connections() <= idle and time.monotonic() < deadline:
                    time.sleep(0.05)  # until a transfer is under way
                self.server.kill()
                self.server.start()
                cut.result(timeout=600)
            wait_devices(self.finder, lambda out: NAS_NAME in out and '/bridge' in out, timeout=60)
            self.round()
            after = self.settled_fds(at_most=before + SLACK, timeout=60)
            self.assertLessEqual(after, before + SLACK, 'descriptors: %d before, %d after' % (before, after))


if __name__ == '__main__':
    unittest.main()
