"""UPnP MediaRenderers driven by the bridge's renderer adapter (UpnpRenderer):
gmediarender and rygel's Playbin renderer in a private network namespace,
playing 30 s WAV files (sox) that minidlna serves on the namespace's LAN.

tests/tools/renderer_probe runs the adapter's finder and one UpnpRenderer on
the bridge's loop and executes commands read from stdin; after each command
the test asks the renderer itself (its own SOAP answers: GetTransportInfo,
GetPositionInfo, GetVolume), not the probe's echo. TestRendererThroughBridge
and TestRygelThroughBridge do the same end to end: a paired `xpmn` drives
gmediarender and rygel-playbin through the bridge. The module runs inside a fresh namespace (xpmntest.netns): renderers
announce themselves over SSDP.
"""
import hashlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
import unittest

from xpmntest.netns import inside_namespace, module_in_namespace

if not inside_namespace():
    InNamespace = module_in_namespace('test_upnp_renderers', prefix='xpmn-rend')

else:
    import xml.etree.ElementTree as ET

    from xpmntest.bridge import BUILD, XPMN_BIN, class_workdir, start_server
    from xpmntest.logs import read_text, wait_for_text
    from xpmntest.nas import MiniDlna
    from xpmntest.netns import NetNs
    from xpmntest.renderers import GMediaRender, RygelRenderer

    PROBE = os.path.join(BUILD, 'tests', 'renderer_probe')
    SECONDS = 30
    META = '{urn:xmpp:media:metadata:0}'

    def make_wavs(library):
        os.makedirs(os.path.join(library, 'Music'), exist_ok=True)
        for name, freq in (('first', 440), ('second', 660)):
            subprocess.run(['sox', '-n', '-r', '44100', '-c', '2', '-b', '16',
                            os.path.join(library, 'Music', name + '.wav'), 'synth', str(SECONDS), 'sine', str(freq),
                            'vol', '0.2'], check=True, timeout=60)

    class Probe:
        """renderer_probe as a child: commands in, JSON lines out."""

        def __init__(self, workdir, interfaces, name, test, action_timeout_ms=None):
            self.log_file = os.path.join(workdir, 'probe-%s-%s.log' % (name.replace(' ', '_'), test))
            self.log = open(self.log_file, 'wb')
            # XPMN_PROBE_WRAPPER="valgrind --error-exitcode=9": the probe under a checker.
            wrapper = os.environ.get('XPMN_PROBE_WRAPPER', '').split()
            extra = [str(action_timeout_ms)] if action_timeout_ms else []
            self.proc = subprocess.Popen(wrapper + [PROBE, interfaces, name] + extra, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self.log, text=True, bufsize=1)
            self.lines = queue.Queue()
            self.seen = []
            threading.Thread(target=self._read, daemon=True).start()

        def _read(self):
            for line in self.proc.stdout:
                self.lines.put(json.loads(line))

        def close(self):
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
            return self.proc.returncode

        def expect(self, pred, timeout=15.0, what='a line'):
            deadline = time.monotonic() + timeout
            while True:
                for i, line in enumerate(self.seen):
                    if pred(line):
                        return self.seen.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('probe: no %s within %.0f s; saw %r' % (what, timeout, self.seen))
                try:
                    self.seen.append(self.lines.get(timeout=left))
                except queue.Empty:
                    pass

        def command(self, line, timeout=15.0):
            name = line.split()[0]
            self.proc.stdin.write(line + '\n')
            self.proc.stdin.flush()
            return self.expect(lambda m: m.get('cmd') == name, timeout, 'answer to %r' % line)

        def ok(self, line):
            r = self.command(line)
            assert r['ok'], r
            return r

        def drain(self):
            while True:
                try:
                    self.seen.append(self.lines.get_nowait())
                except queue.Empty:
                    return

        def forget_changes(self):
            self.seen = [m for m in self.seen if m.get('event') != 'change']

    def wait_for(cond, timeout=10.0, what='a condition'):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = cond()
            if last:
                return last
            time.sleep(0.2)
        raise AssertionError('timed out waiting for %s (last: %r)' % (what, last))

    class _RendererCase:
        renderer_class = None
        interfaces = 'lo'
        ACTION_TIMEOUT_MS = {}  # test name → the probe's SOAP timeout (default: the renderer's own 10 s)

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-rend-')
            cls.ns = NetNs.current()
            lib = os.path.join(cls.workdir, 'lib')
            make_wavs(lib)
            cls.nas = start_server(cls, MiniDlna(os.path.join(cls.workdir, 'nas'), lib, netns=cls.ns))
            items = [e for e in cls.nas.content_directory().walk('64') if e['kind'] == 'item']
            urls = {e['title']: e['res'][0]['url'] for e in items}
            cls.urls = [urls['first'], urls['second']]
            cls.renderer = start_server(cls, cls.renderer_class(os.path.join(cls.workdir, 'renderer'), cls.ns))

        def setUp(self):
            self.probe = Probe(self.workdir, self.interfaces, self.renderer.friendly_name, self._testMethodName,
                               self.ACTION_TIMEOUT_MS.get(self._testMethodName))
            # It ends when its stdin does, with 0 (no crash; under a checker: no report).
            self.addCleanup(lambda: self.assertEqual(self.probe.close(), 0, 'see ' + self.probe.log_file))
            found = self.probe.expect(lambda m: m.get('event') == 'renderer', 20, 'renderer')
            self.found = found

        def test_identity(self):
            udn = self.renderer.udn
            self.assertEqual(self.found['udn'], udn)
            self.assertEqual(self.found['resource'], 'renderer-' + hashlib.sha1(udn.encode()).hexdigest()[:8])
            self.assertEqual(self.found['fetches_from'], self.renderer.host)

        def test_playback(self):
            r, p = self.renderer, self.probe
            p.ok('watch on')
            p.ok('open %s %s' % tuple(self.urls))
            wait_for(lambda: r.state() == 'PLAYING', what='PLAYING')
            self.assertEqual(r.track_uri(), self.urls[0])
            # LastChange (TransportState) reached the listener.
            p.expect(lambda m: m.get('event') == 'change' and m['status'], 5, 'a status change')
            # The renderer learns the duration once the stream is under way.
            st = wait_for(lambda: (lambda s: s if s['duration'] else None)(p.ok('status')), what='a duration')
            self.assertEqual(st['state'], 'playing')
            self.assertEqual(st['title'], 'Track 1')
            self.assertAlmostEqual(st['duration'], SECONDS, delta=1)

            p.ok('pause')
            wait_for(lambda: r.state() == 'PAUSED_PLAYBACK', what='PAUSED_PLAYBACK')
            p.ok('seek 20')
            wait_for(lambda: abs((r.position() or 0) - 20) <= 1, what='position 20')
            p.ok('play')
            wait_for(lambda: r.state() == 'PLAYING', what='PLAYING again')
            p.ok('seekby -10')  # 20 + a moment of playing - 10 (rygel answers before the seek is done)
            wait_for(lambda: abs((r.position() or 0) - 10) <= 1.5, timeout=5, what='position 10')

            p.ok('volume 35')
            volume = r.volume()
            self.assertAlmostEqual(volume, 35, delta=1)  # rygel keeps a double: 35 reads back as 34
            self.assertEqual(p.ok('controls')['volume'], volume)
            p.expect(lambda m: m.get('event') == 'change' and m['controls'], 20, 'a controls change')
            p.ok('mute on')  # the renderer's own mute
            self.assertIn(r.rendering('GetMute')['CurrentMute'].lower(), ('1', 'true'))
            self.assertTrue(p.ok('controls')['mute'])
            p.ok('mute off')
            self.assertIn(r.rendering('GetMute')['CurrentMute'].lower(), ('0', 'false'))

            p.ok('next')
            wait_for(lambda: r.track_uri() == self.urls[1] and r.state() == 'PLAYING', what='the second track')
            self.assertEqual(p.ok('status')['title'], 'Track 2')
            no_next = p.command('next')
            self.assertFalse(no_next['ok'])
            self.assertEqual(no_next['error'], 'bad-request')
            p.ok('previous')
            wait_for(lambda: r.track_uri() == self.urls[0], what='the first track again')

            p.ok('stop')
            wait_for(lambda: r.state() == 'STOPPED', what='STOPPED')
            paused = p.command('pause')  # refused while stopped (701, gmediarender 501): a clear error
            if not paused['ok']:  # some renderers do pause a stopped transport
                self.assertEqual(paused['error'], 'bad-request')
                self.assertEqual(r.state(), 'STOPPED')
            self.assertEqual(p.ok('status')['state'], 'stopped' if r.state() == 'STOPPED' else 'paused')

        def test_position_poll_reports_a_seek_from_elsewhere(self):
            r, p = self.renderer, self.probe
            p.ok('watch on')
            p.ok('open %s' % self.urls[0])
            wait_for(lambda: r.state() == 'PLAYING' and (r.position() or 0) > 0, what='PLAYING')
            time.sleep(2.5)  # polls at the normal pace: no jump reported
            p.drain()
            self.assertFalse([m for m in p.seen if m.get('seeked')])
            p.forget_changes()
            r.transport('Seek', ('Unit', 'REL_TIME'), ('Target', '0:00:25'))  # another control point
            p.expect(lambda m: m.get('event') == 'change' and m['seeked'], 4, 'a seeked change')
            p.ok('stop')

        def test_gone_and_back(self):
            self.addCleanup(lambda: self.renderer.running or self.renderer.start())
            if ',' in self.interfaces:  # known through every interface before it leaves (see above)
                wait_for_text(lambda: read_text(self.probe.log_file), 'also seen on', timeout=15)
            self.renderer.stop()
            self.probe.expect(lambda m: m.get('event') == 'gone', 15, 'gone')
            self.renderer.start()
            again = self.probe.expect(lambda m: m.get('event') == 'renderer', 30, 'the renderer again')
            self.assertEqual(again['resource'], self.found['resource'])

    class TestGMediaRender(_RendererCase, unittest.TestCase):
        renderer_class = GMediaRender
        # It lives on upnp0, but libupnp's multicast (its byebye too) leaves through the
        # namespace's multicast route, lo: the probe listens on both.
        interfaces = 'lo,upnp0'
        # The hung renderer's request runs into the timeout: a short one (the 10 s default waits 10 s).
        ACTION_TIMEOUT_MS = {'test_hung_renderer_times_out': 2000}

        def test_hung_renderer_times_out(self):
            # SIGSTOP: the kernel still accepts the connection, nobody answers.
            os.kill(self.renderer.pid, signal.SIGSTOP)
            self.addCleanup(os.kill, self.renderer.pid, signal.SIGCONT)
            t0 = time.monotonic()
            r = self.probe.command('status', timeout=20)
            self.assertFalse(r['ok'])
            self.assertEqual(r['error'], 'remote-server-timeout')
            self.assertLess(time.monotonic() - t0, 12)  # bounded (2 s here), not the 20 s we wait

    class TestRygelPlaybin(_RendererCase, unittest.TestCase):
        renderer_class = RygelRenderer

    class TestRendererDevice(unittest.TestCase):
        """The daemon: a renderer is a media-player device renderer-<h> of the account,
        unavailable when it leaves and back under the same resource."""

        @classmethod
        def setUpClass(cls):
            from test_bridge_c2s import PASSWORD
            from xpmntest.bridge import start_home_network, wait_devices
            cls.password = PASSWORD
            class_workdir(cls, 'xpmn-rend-dev-')
            cls.ns = NetNs.current()
            cls.renderer = start_server(cls, GMediaRender(os.path.join(cls.workdir, 'gm'), cls.ns,
                                                          friendly_name='Living Room Renderer'))
            start_home_network(cls, PASSWORD, upnp={'interfaces': ['lo', 'upnp0']})
            cls.devices = wait_devices(cls.config, lambda out: '/renderer-' in out)

        def test_renderer_device_comes_and_goes(self):
            from xpmntest.slix import SlixClient
            resource = 'renderer-' + hashlib.sha1(self.renderer.udn.encode()).hexdigest()[:8]
            line = next(l for l in self.devices.splitlines() if '/renderer-' in l)
            self.assertIn('/' + resource, line)
            self.assertIn('automation/media-player "Living Room Renderer"', line)
            jid = line.split()[0]
            phone = SlixClient(self.prosody.jid('home', 'phone'), self.password, '127.0.0.1',
                               self.prosody.c2s_port, self.prosody.ca_file)
            self.addCleanup(phone.close)
            phone.connect()
            phone.wait_presence(jid, timeout=20)
            self.bridge.wait_for_log('also seen on', timeout=15)  # known through lo and upnp0 (see above)
            self.renderer.stop()  # byebye
            phone.wait_presence(jid, available=False, timeout=20)
            self.renderer.start()
            phone.wait_presence(jid, timeout=30)


    class _ThroughBridge:
        """A paired `xpmn` drives a renderer through the bridge (issue 10):
        `xpmn open` of two NAS items (xmpp: transfer URIs) hands the renderer
        the NAS's LAN URLs. Every step is checked against the renderer's own
        SOAP answers, not the bridge's echo."""
        PASSWORD = 'renderer-s3cret'
        NAS_NAME = 'Renderer NAS'
        TRACKS = (('Players/First Tone.wav', 'First Tone', 440), ('Players/Second Tone.wav', 'Second Tone', 660))
        upnp_interfaces = ['lo']

        @classmethod
        def make_renderer(cls):
            raise NotImplementedError

        @classmethod
        def setUpClass(cls):
            from xpmntest.bridge import controller_config, open_pairing, run_xpmn, start_secure_home, wait_devices
            from xpmntest.players import make_wav
            from xpmntest.prosody import Prosody
            cls.run_xpmn = staticmethod(run_xpmn)
            class_workdir(cls, 'xpmn-rend-e2e-')
            cls.ns = NetNs.current()
            lib = os.path.join(cls.workdir, 'library')
            os.makedirs(os.path.join(lib, 'Players'), exist_ok=True)
            for rel, _, freq in cls.TRACKS:
                make_wav(os.path.join(lib, rel), seconds=SECONDS, frequency=freq)
            # First: a renderer on upnp0 brings it up, which the bridge then listens on.
            cls.renderer = start_server(cls, cls.make_renderer())
            cls.resource = 'renderer-' + hashlib.sha1(cls.renderer.udn.encode()).hexdigest()[:8]
            start_secure_home(cls, Prosody, cls.PASSWORD, cls.NAS_NAME, upnp={'interfaces': cls.upnp_interfaces},
                              transfer={'interfaces': ['lo']})
            cls.owner = controller_config(cls.workdir, cls.server, 'home', cls.PASSWORD, 'owner',
                                          transfer={'interfaces': ['lo']})
            r = run_xpmn(cls.owner, 'pair', cls.bridge_jid, '--pin', open_pairing(cls.bridge)[0])
            assert r.returncode == 0, r.stderr
            wait_devices(cls.owner, lambda out: '/' + cls.resource in out, timeout=60)
            cls.uris, cls.urls = [], []
            for rel, title, _ in cls.TRACKS:
                entry = cls.nas.wait_item(rel, title)
                cls.urls.append(entry['res'][0]['url'])  # the NAS's LAN URL
                r = run_xpmn(cls.owner, 'browse', cls.device, entry['parent_id'], '--xml', '--max', '1000')
                assert r.returncode == 0, r.stderr
                cls.uris.append(next(i.find(META + 'uri').text for i in ET.fromstring(r.stdout)
                                     if i.get('id') == entry['id']))

        def xpmn(self, *args):
            r = self.run_xpmn(self.owner, *args)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return r

    class TestRygelThroughBridge(_ThroughBridge, unittest.TestCase):
        """rygel-playbin through the bridge: open, pause, play, volume."""

        @classmethod
        def make_renderer(cls):
            return RygelRenderer(os.path.join(cls.workdir, 'rygel'), cls.ns, friendly_name='Living Room Rygel')

        def test_open_pause_play_volume(self):
            r, dev = self.renderer, self.resource
            self.xpmn('open', dev, *self.uris)
            wait_for(lambda: r.state() == 'PLAYING', what='PLAYING')
            self.assertEqual(r.track_uri(), self.urls[0])
            wait_for(lambda: (r.position() or 0) > 0, what='the position to advance')
            self.xpmn('control', dev, 'pause')
            wait_for(lambda: r.state() == 'PAUSED_PLAYBACK', what='PAUSED_PLAYBACK')
            self.xpmn('control', dev, 'play')
            wait_for(lambda: r.state() == 'PLAYING', what='PLAYING again')
            self.xpmn('control', dev, 'volume', '35')
            self.assertAlmostEqual(r.volume(), 35, delta=1)  # rygel keeps a double: 35 reads back as 34
            self.xpmn('control', dev, 'stop')
            wait_for(lambda: r.state() == 'STOPPED', what='STOPPED')

    class TestRendererThroughBridge(_ThroughBridge, unittest.TestCase):
        """gmediarender through the bridge: open, pause, seek, volume and next;
        `xpmn status --follow` prints the pause (LastChange)."""
        upnp_interfaces = ['lo', 'upnp0']

        @classmethod
        def make_renderer(cls):
            return GMediaRender(os.path.join(cls.workdir, 'gm'), cls.ns, friendly_name='Kitchen Renderer')

        def test_players_lists_the_renderer(self):
            self.assertIn('/' + self.resource, self.xpmn('players').stdout)

        def test_open_pause_seek_volume_next_follow(self):
            r, dev = self.renderer, self.resource
            self.assertTrue(all(u.startswith('xmpp:') for u in self.uris), self.uris)
            self.xpmn('open', dev, *self.uris)
            wait_for(lambda: r.state() == 'PLAYING', what='PLAYING')
            self.assertEqual(r.track_uri(), self.urls[0])
            self.assertEqual(r.transport('GetMediaInfo')['CurrentURI'], self.urls[0])
            wait_for(lambda: (r.position() or 0) > 0, what='the position to advance')

            follow = subprocess.Popen([XPMN_BIN, '--config', self.owner, '--timeout', '60', 'status', dev, '--follow'],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.addCleanup(lambda: (follow.terminate(), follow.communicate(timeout=10)))
            first = follow.stdout.readline()
            self.assertTrue(first.startswith('playing'), first)
            self.assertIn('First Tone', first)  # the opened item's metadata

            def follow_until(state):
                while True:  # readline is bounded by xpmn's --timeout
                    line = follow.stdout.readline()
                    if not line:
                        self.fail('xpmn status --follow ended: ' + follow.stderr.read())
                    if line.startswith(state):
                        return line

            # Paused by another control point: only the renderer's LastChange tells the bridge.
            r.transport('Pause')
            self.assertIn('First Tone', follow_until('paused'))
            self.xpmn('control', dev, 'play')
            wait_for(lambda: r.state() == 'PLAYING', what='PLAYING again')
            follow_until('playing')
            self.xpmn('control', dev, 'pause')
            wait_for(lambda: r.state() == 'PAUSED_PLAYBACK', what='PAUSED_PLAYBACK')
            follow_until('paused')

            self.xpmn('control', dev, 'seek', '20')
            wait_for(lambda: abs((r.position() or 0) - 20) <= 1, what='position 20')
            self.assertEqual(r.state(), 'PAUSED_PLAYBACK')
            self.xpmn('control', dev, 'play')
            wait_for(lambda: r.state() == 'PLAYING' and (r.position() or 0) > 20, what='PLAYING on from 20 s')
            self.xpmn('control', dev, 'volume', '30')
            self.assertEqual(r.volume(), 30)  # the answer comes after the renderer's own
            self.xpmn('control', dev, 'next')
            wait_for(lambda: r.track_uri() == self.urls[1] and r.state() == 'PLAYING', what='the second track')
            self.assertEqual(r.transport('GetMediaInfo')['CurrentURI'], self.urls[1])
            self.xpmn('control', dev, 'stop')
            wait_for(lambda: r.state() == 'STOPPED', what='STOPPED')
