"""`xpmn serve`, `xpmn url` and `xpmn play` through the whole chain (issue 9):
minidlna with the test library, Prosody, the bridge and a paired controller,
all on loopback in a fresh network namespace, with `[transfer] interfaces =
["lo"]` on both sides. The controller's loopback HTTP server answers HEAD,
ranges (206 + Content-Range, bytes equal to the NAS file's slice) and 416;
mpv (headless) plays an audio file through `xpmn play` and a video file
through `xpmn url`, seeking to the middle and near the end; its reported
time-pos after each seek is asserted through its JSON IPC socket. Also: the
serve.port file (written while listening, removed on exit, a stale one
ignored) and `xpmn url` starting a server in the background.
"""
import functools
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from xpmntest import waits
from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'serve-s3cret'
NAS_NAME = 'Serve NAS'
META = '{urn:xmpp:media:metadata:0}'
# (title, class, file in the library); the library also has a picture titled Testbild.
AUDIO = ('Ärger über Café', 'audio', 'Music/Test Artist/Sine Album/01 - Ärger über Café.mp3')  # MP3, 2 s
VIDEO = ('Testbild', 'video', 'Video/Testbild.mp4')                                           # MP4, 2 s
SERVING = re.compile(r'^serving on (http://127\.0\.0\.1:(\d+)/)$', re.M)
WAIT = 30  # seconds: bound of every wait (a guard against hanging, not a speed goal)


wait_until = functools.partial(waits.wait_until, timeout=WAIT, interval=0.05)


def pid_alive(pid):
    """False when `pid` no longer runs (no such process, or a zombie nobody reaped yet)."""
    from xpmntest.procfs import _stat_fields
    try:
        return _stat_fields(pid)[0] != 'Z'
    except OSError:
        return False


def serve_pids(config):
    """The running `xpmn --config CONFIG … serve` processes."""
    from xpmntest import procfs
    found = []
    for pid in procfs.all_pids():
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv = f.read().decode(errors='replace').split('\0')
        except OSError:
            continue
        if procfs.process_name(pid) == 'xpmn' and config in argv and 'serve' in argv and pid_alive(pid):
            found.append(pid)
    return found


def read_port_file(state_dir):
    """(port, pid) from STATE_DIR/serve.port, None when absent."""
    try:
        with open(os.path.join(state_dir, 'serve.port')) as f:
            port, pid = f.read().split()
        return int(port), int(pid)
    except FileNotFoundError:
        return None


def request(port, method, path, headers=None):
    """(status, headers (lower-case names), body) of one request to 127.0.0.1:port."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=WAIT)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class MpvIpc:
    """mpv's JSON IPC (--input-ipc-server): commands with request ids."""

    def __init__(self, path):
        wait_until(lambda: os.path.exists(path), 'mpv IPC socket %s' % path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(WAIT)
        self.buf = b''
        self.next_id = 1

    def close(self):
        self.sock.close()

    def _message(self):
        while b'\n' not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError('mpv closed its IPC socket')
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def command(self, *args):
        rid, self.next_id = self.next_id, self.next_id + 1
        self.sock.sendall(json.dumps({'command': list(args), 'request_id': rid}).encode() + b'\n')
        while True:
            m = self._message()
            if m.get('request_id') == rid:
                return m  # events in between are not needed

    def property(self, name):
        m = self.command('get_property', name)
        return m.get('data') if m.get('error') == 'success' else None


if not inside_namespace():
    InNamespace = module_in_namespace('test_xpmn_serve', prefix='xpmn-serve')

else:
    from xpmntest import media
    from xpmntest.bridge import (Bridge, XPMN_BIN, class_workdir, device_jids, pair_xpmn, run_xpmn, start_server,
                                 wait_devices, write_config, xmpp_section)
    from xpmntest.nas import MiniDlna
    from xpmntest.netns import NetNs
    from xpmntest.prosody import Prosody

    class XpmnServeTest(unittest.TestCase):

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-serve-')
            lib = os.path.join(cls.workdir, 'library')
            cls.manifest = {m['relpath']: m for m in media.make_library(lib)}
            cls.nas = start_server(cls, MiniDlna(os.path.join(cls.workdir, 'minidlna'), lib,
                                                 netns=NetNs.current(), friendly_name=NAS_NAME))
            cls.server = Prosody(os.path.join(cls.workdir, 'xmpp'))
            cls.addClassCleanup(cls.server.stop)
            cls.server.add_user('home', PASSWORD)
            cls.server.start()
            xmpp = xmpp_section(cls.server, 'home', PASSWORD)
            # Direct S5B on loopback; this server has no SOCKS5 proxy to look for.
            cls.bridge = Bridge(cls.workdir, xmpp, transfer={'interfaces': ['lo'], 'proxies': False})
            cls.addClassCleanup(cls.bridge.kill)
            cls.addClassCleanup(cls.bridge.stop)
            cls.bridge.start()
            cls.mpv_play_socket = os.path.join(cls.workdir, 'mpv-play.sock')
            cls.config, cls.state_dir = cls.controller_config('phone', player={'command': [
                'mpv', '--no-config', '--no-video', '--ao=null', '--pause',
                '--input-ipc-server=' + cls.mpv_play_socket]})
            out = wait_devices(cls.config, lambda out: NAS_NAME in out and '/bridge' in out, timeout=60)
            cls.device = device_jids(out)[NAS_NAME]
            pair_xpmn(cls.bridge, cls.config, xmpp['jid'] + '/bridge')
            cls.uris = {what: cls.transfer_uri(what) for what in (AUDIO, VIDEO)}
            cls.serve = cls.start_serve(cls.config)
            cls.addClassCleanup(cls.stop_serve, cls.serve)
            cls.port = int(SERVING.search(cls.serve.first_line).group(2))

        @classmethod
        def controller_config(cls, name, **sections):
            state_dir = os.path.join(cls.workdir, name + '-state')
            path = write_config(os.path.join(cls.workdir, name + '.toml'), dict({
                'xmpp': xmpp_section(cls.server, 'home', PASSWORD), 'bridge': {'state_dir': state_dir},
                'transfer': {'interfaces': ['lo']}}, **sections))
            return path, state_dir

        @classmethod
        def transfer_uri(cls, what):
            title, kind, _ = what
            r = run_xpmn(cls.config, 'search', cls.device, 'title=' + title, 'class=' + kind, '--xml')
            assert r.returncode == 0, r.stderr
            uris = [item.findtext(META + 'uri') for item in ET.fromstring(r.stdout).iter(META + 'item')]
            assert len(uris) == 1 and uris[0].startswith('xmpp:'), r.stdout
            return uris[0]

        @classmethod
        def start_serve(cls, config, *args):
            """`xpmn serve` as a child; returns the Popen once it said where it listens."""
            log = open(os.path.join(cls.workdir, 'serve-%d.log' % time.monotonic_ns()), 'wb')
            proc = subprocess.Popen([XPMN_BIN, '--config', config, 'serve'] + list(args), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=log, start_new_session=True)
            log.close()
            line = proc.stdout.readline().decode()  # bounded: xpmn gives up after --timeout (20 s)
            if not SERVING.search(line):
                proc.kill()
                proc.wait(WAIT)
                raise AssertionError('xpmn serve did not say where it listens (%s): %r' % (proc.returncode, line))
            proc.first_line = line
            return proc

        @classmethod
        def stop_serve(cls, proc):
            rc = cls.stop_process(proc)
            if rc != 0:  # a crash or a sanitizer report
                raise AssertionError('xpmn serve exited with %s' % rc)

        @staticmethod
        def stop_process(proc):
            """SIGTERM; returns the exit code (and kills it if it did not end)."""
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(WAIT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(WAIT)
                    raise AssertionError('xpmn serve did not end on SIGTERM')
            proc.stdout.close()
            return proc.returncode

        def path_of(self, what):
            return '/' + urllib.parse.quote(self.uris[what], safe='')

        def nas_bytes(self, what):
            with open(self.manifest[what[2]]['path'], 'rb') as f:
                return f.read()

        # --- the server's own state ------------------------------------------

        def test_port_file_while_listening_and_gone_after_sigterm(self):
            config, state_dir = self.controller_config('lonely')
            proc = self.start_serve(config, '--port', '0')
            port = int(SERVING.search(proc.first_line).group(2))
            self.assertEqual(read_port_file(state_dir), (port, proc.pid))
            self.assertEqual(self.stop_process(proc), 0)
            self.assertIsNone(read_port_file(state_dir))
            with self.assertRaises(ConnectionRefusedError):
                request(port, 'HEAD', '/x')

        def test_fixed_port(self):
            config, _ = self.controller_config('fixed')
            probe = socket.socket()
            probe.bind(('127.0.0.1', 0))
            port = probe.getsockname()[1]
            probe.close()
            proc = self.start_serve(config, '--port', str(port))
            try:
                self.assertEqual(proc.first_line.strip(), 'serving on http://127.0.0.1:%d/' % port)
            finally:
                self.assertEqual(self.stop_process(proc), 0)

        def test_port_in_use_is_an_error(self):
            config, state_dir = self.controller_config('busy')
            taken = socket.socket()
            taken.bind(('127.0.0.1', 0))
            taken.listen(1)
            try:
                r = run_xpmn(config, 'serve', '--port', str(taken.getsockname()[1]))
            finally:
                taken.close()
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stdout, '')
            self.assertIsNone(read_port_file(state_dir))

        def test_url_uses_the_running_server(self):
            r = run_xpmn(self.config, 'url', self.uris[AUDIO])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), 'http://127.0.0.1:%d%s' % (self.port, self.path_of(AUDIO)))

        def test_url_refuses_what_is_not_a_transfer_uri(self):
            config, state_dir = self.controller_config('refusing')
            r = run_xpmn(config, 'url', 'http://example.org/x')
            self.assertEqual(r.returncode, 1)
            self.assertIsNone(read_port_file(state_dir))  # no server started for it

        def test_url_starts_a_server_in_the_background_and_ignores_a_stale_port_file(self):
            config, state_dir = self.controller_config('background')
            os.makedirs(state_dir, exist_ok=True)
            # A stale file: a process that has ended, a port nobody listens on.
            dead = subprocess.Popen(['true'])
            dead.wait()
            with open(os.path.join(state_dir, 'serve.port'), 'w') as f:
                f.write('1 %d\n' % dead.pid)
            r = run_xpmn(config, 'url', self.uris[AUDIO], timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            port, pid = read_port_file(state_dir)
            try:
                self.assertNotEqual(port, 1)
                self.assertEqual(r.stdout.strip(), 'http://127.0.0.1:%d%s' % (port, self.path_of(AUDIO)))
                # A second url reuses it.
                again = run_xpmn(config, 'url', self.uris[VIDEO])
                self.assertEqual(again.returncode, 0, again.stderr)
                self.assertEqual(again.stdout.strip(), 'http://127.0.0.1:%d%s' % (port, self.path_of(VIDEO)))
                self.assertEqual(read_port_file(state_dir), (port, pid))
            finally:
                os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not pid_alive(pid), 'the background server ending on SIGTERM')
            self.assertIsNone(read_port_file(state_dir))

        def test_two_urls_at_once_start_one_server(self):
            config, state_dir = self.controller_config('racing')
            urls = [subprocess.Popen([XPMN_BIN, '--config', config, 'url', self.uris[what]], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for what in (AUDIO, VIDEO)]
            outs = [p.communicate(timeout=60) for p in urls]
            port, pid = read_port_file(state_dir)
            try:
                for p, (out, err) in zip(urls, outs):
                    self.assertEqual(p.returncode, 0, err)
                    self.assertTrue(out.startswith('http://127.0.0.1:%d/' % port), out)
                self.assertEqual(serve_pids(config), [pid])
            finally:
                os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not pid_alive(pid), 'the background server ending on SIGTERM')

        def test_not_a_transfer_uri_is_a_bad_gateway(self):
            status, _, _ = request(self.port, 'GET', '/' + urllib.parse.quote('xmpp:nobody@xpmn.test', safe=''))
            self.assertEqual(status, 502)

        def test_unknown_uid_is_not_found(self):
            uri = 'xmpp:%s?transfer;uid=no-such-item' % self.device
            status, _, _ = request(self.port, 'GET', '/' + urllib.parse.quote(uri, safe=''))
            self.assertEqual(status, 404)

        # --- HTTP semantics over real transfers ------------------------------

        def test_head_gives_length_type_and_ranges(self):
            status, headers, body = request(self.port, 'HEAD', self.path_of(AUDIO))
            self.assertEqual(status, 200)
            self.assertEqual(int(headers['content-length']), len(self.nas_bytes(AUDIO)))
            self.assertEqual(headers['accept-ranges'], 'bytes')
            self.assertEqual(headers['content-type'].split(';')[0], 'audio/mpeg')
            self.assertEqual(body, b'')

        def test_whole_file(self):
            status, headers, body = request(self.port, 'GET', self.path_of(VIDEO))
            self.assertEqual(status, 200)
            self.assertEqual(body, self.nas_bytes(VIDEO))

        def test_ranges(self):
            data = self.nas_bytes(AUDIO)
            total = len(data)
            for header, first, last in (('bytes=0-0', 0, 0), ('bytes=1000-4999', 1000, 4999),
                                        ('bytes=%d-' % (total // 2), total // 2, total - 1),
                                        ('bytes=-100', total - 100, total - 1),
                                        ('bytes=%d-%d' % (total - 10, total + 50), total - 10, total - 1)):
                with self.subTest(range=header):
                    status, headers, body = request(self.port, 'GET', self.path_of(AUDIO), {'Range': header})
                    self.assertEqual(status, 206)
                    self.assertEqual(headers['content-range'], 'bytes %d-%d/%d' % (first, last, total))
                    self.assertEqual(body, data[first:last + 1])

        def test_unsatisfiable_range(self):
            total = len(self.nas_bytes(AUDIO))
            status, headers, _ = request(self.port, 'GET', self.path_of(AUDIO),
                                         {'Range': 'bytes=%d-' % (total + 10)})
            self.assertEqual(status, 416)
            self.assertEqual(headers['content-range'], 'bytes */%d' % total)

        # --- a real player ---------------------------------------------------

        def seek_and_check(self, ipc, duration):
            self.assertGreater(duration, 1.0)
            for target in (duration / 2, duration - 0.3):
                # mpv refuses a seek ("error running command") while it still opens the
                # stream after learning the duration: asked again until it takes it (bounded).
                replies = []

                def seeked():
                    replies.append(ipc.command('seek', target, 'absolute+exact'))
                    return replies[-1].get('error') == 'success'
                try:
                    wait_until(seeked, 'mpv taking a seek to %.2f s' % target)
                except AssertionError:
                    self.fail('mpv refused every seek to %.2f s: %s' % (target, replies[-3:]))
                # Paused: the position settles where the seek went (bounded wait, then the assertion).
                seen = []

                def arrived():
                    seen.append(ipc.property('time-pos'))
                    return seen[-1] is not None and abs(seen[-1] - target) <= 0.1 and not ipc.property('seeking')
                try:
                    wait_until(arrived, 'mpv at %.2f s' % target)
                except AssertionError:
                    self.fail('mpv did not reach %.2f s after the seek; time-pos went %s' % (target, seen[-20:]))

        def play_and_seek(self, argv, ipc_socket, what):
            """Runs `argv` (a player with mpv's IPC at `ipc_socket`, paused) on `what`: waits
            until it knows the duration, seeks to the middle and near the end, asserts the
            position after each seek, quits it and asserts the exit code of `argv`."""
            if os.path.exists(ipc_socket):
                os.unlink(ipc_socket)
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                ipc = MpvIpc(ipc_socket)
                try:
                    duration = wait_until(lambda: ipc.property('duration'), 'mpv knowing the duration')
                    self.assertAlmostEqual(duration, self.manifest[what[2]]['duration'], delta=0.2)
                    self.seek_and_check(ipc, duration)
                    ipc.command('quit', 0)
                finally:
                    ipc.close()
                _, err = proc.communicate(timeout=WAIT)
                self.assertEqual(proc.returncode, 0, err)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(WAIT)

        def test_mpv_plays_and_seeks_audio_through_xpmn_play(self):
            # [player] command of the config: mpv, paused, with its IPC socket.
            self.play_and_seek([XPMN_BIN, '--config', self.config, 'play', self.uris[AUDIO]], self.mpv_play_socket,
                               AUDIO)

        def test_mpv_plays_and_seeks_video_through_xpmn_url(self):
            r = run_xpmn(self.config, 'url', self.uris[VIDEO])
            self.assertEqual(r.returncode, 0, r.stderr)
            sock = os.path.join(self.workdir, 'mpv-url.sock')
            self.play_and_seek(['mpv', '--no-config', '--no-video', '--ao=null', '--pause', '--input-ipc-server=' + sock,
                                r.stdout.strip()], sock, VIDEO)

        def test_the_server_still_serves_after_the_players(self):
            # Independent of order: a player leaving mid-body must not take the server down.
            conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=WAIT)
            conn.request('GET', self.path_of(VIDEO))
            conn.getresponse().read(10)
            conn.close()
            status, _, _ = request(self.port, 'HEAD', self.path_of(AUDIO))
            self.assertEqual(status, 200)
            self.assertIsNone(self.serve.poll())


if __name__ == '__main__':
    unittest.main()
