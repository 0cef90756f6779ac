"""A phone drives a real mpv through the bridge (wire profile §7, issue 10):
mpv with mpv-mpris on a private D-Bus bus, a minidlna NAS, Prosody and the
bridge in a private network namespace; the controllers are `xpmn` paired with
the bridge. Every command is checked against mpv's own state on the bus
(playerctl / dbus-send), not against the bridge's answer: `xpmn open` of a NAS
item hands mpv the NAS's LAN URL; pause, play, absolute and relative seeks,
volume and the emulated mute; `xpmn status --follow` prints the events a
change causes. A friend with `events` only is refused control; `http://` and
`file:` URIs are refused by default. TestVlcControl drives VLC (its two bus
names are one device) the same way: open, pause, play.

The module runs inside a fresh network namespace (xpmntest.netns).
"""
import os
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'player-s3cret'
NAS_NAME = 'Player NAS'
META = '{urn:xmpp:media:metadata:0}'
LONG = ('Players/Long Tone.wav', 'Long Tone', 30)
SHORT = ('Players/Second Tone.wav', 'Second Tone', 20)
DEVICE = 'mpris-mpv'


if not inside_namespace():
    InNamespace = module_in_namespace('test_player_control', prefix='xpmn-player')

else:
    from xpmntest.bridge import (XPMN_BIN, class_workdir, controller_config, open_pairing, run_xpmn, start_secure_home,
                                 wait_devices)
    from xpmntest.players import Mpv, PrivateBus, Vlc, make_wav, mpris_position, playerctl
    from xpmntest.prosody import Prosody

    def wait_until(predicate, what, timeout=10.0):
        end = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError('not within %ss: %s (last: %r)' % (timeout, what, value))
            time.sleep(0.1)

    class _Home:
        """The owner's paired `xpmn` (cls.owner) and the bridge's NAS items."""

        @classmethod
        def controller(cls, name, user):
            path = controller_config(cls.workdir, cls.server, user, PASSWORD, name, transfer={'interfaces': ['lo']})
            r = run_xpmn(path, 'pair', cls.bridge_jid, '--pin', open_pairing(cls.bridge)[0])
            assert r.returncode == 0, r.stderr
            return path

        @classmethod
        def uri_of(cls, entry):
            r = run_xpmn(cls.owner, 'browse', cls.device, entry['parent_id'], '--xml', '--max', '1000')
            assert r.returncode == 0, r.stderr
            for item in ET.fromstring(r.stdout):
                if item.get('id') == entry['id']:
                    return item.find(META + 'uri').text
            raise AssertionError('no item %s in the browse of %s' % (entry['id'], entry['parent_id']))

        def xpmn(self, *args, config=None, ok=True):
            r = run_xpmn(config or self.owner, *args)
            if ok:
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return r

    class TestPlayerControl(_Home, unittest.TestCase):

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-player-')
            lib = os.path.join(cls.workdir, 'library')
            os.makedirs(os.path.join(lib, 'Players'), exist_ok=True)
            for rel, _, seconds in (LONG, SHORT):
                make_wav(os.path.join(lib, rel), seconds=seconds)
            cls.bus = PrivateBus(cls.workdir).start()
            cls.addClassCleanup(cls.bus.stop)
            cls.mpv = Mpv(cls.bus, cls.workdir).start()
            cls.addClassCleanup(cls.mpv.stop)
            start_secure_home(cls, Prosody, PASSWORD, NAS_NAME, users=('home', 'friend'),
                              mpris={'bus': cls.bus.address}, transfer={'interfaces': ['lo']})
            cls.owner = cls.controller('owner', 'home')
            finder = controller_config(cls.workdir, cls.server, 'home', PASSWORD, 'finder')
            wait_devices(finder, lambda out: '/' + DEVICE in out, timeout=60)
            cls.uris, cls.lan_urls = {}, {}
            for rel, title, _ in (LONG, SHORT):
                entry = cls.nas.wait_item(rel, title)
                cls.uris[rel] = cls.uri_of(entry)
                cls.lan_urls[rel] = entry['res'][0]['url']  # the NAS's own LAN URL

        def mpv_state(self, *args):
            return playerctl(self.bus, 'mpv', *args)

        def position(self):
            return mpris_position(self.bus, Mpv.bus_name)

        def open_item(self, track):
            """Opens `track` (LONG or SHORT) on mpv and waits until mpv plays exactly
            that file, from its start."""
            rel, title, _ = track
            r = self.xpmn('open', DEVICE, self.uris[rel])
            self.assertIn(title, r.stdout)
            # mpv was handed the NAS's own LAN URL (not a bridge or xmpp: URL).
            wait_until(lambda: self.mpv_state('metadata', 'xesam:url') == self.lan_urls[rel],
                       'mpv reports %s' % self.lan_urls[rel])
            wait_until(lambda: 0.2 < (self.position() or 0) < 5, 'mpv plays the opened file from its start')

        def test_players_lists_mpv(self):
            r = self.xpmn('players')
            self.assertIn('/' + DEVICE, r.stdout)

        def test_open_pause_seek_volume_mute(self):
            self.open_item(LONG)
            self.xpmn('control', DEVICE, 'pause')
            wait_until(lambda: self.mpv_state('status') == 'Paused', 'mpv is paused')
            self.xpmn('control', DEVICE, 'seek', '12')
            wait_until(lambda: abs((self.position() or 0) - 12) <= 0.5, 'mpv at 12 s after seek 12')
            for offset in (+5, -10):  # relative to where mpv is (paused)
                at = wait_until(self.position, 'mpv reports a position')
                self.xpmn('control', DEVICE, 'seek', '%+d' % offset)
                wait_until(lambda: abs((self.position() or -99) - (at + offset)) <= 0.5,
                           'mpv at %.1f s after seek %+d' % (at + offset, offset))
            self.xpmn('control', DEVICE, 'play')
            at = wait_until(self.position, 'mpv reports a position')
            wait_until(lambda: (self.position() or 0) > at + 0.3, 'mpv plays on')
            self.xpmn('control', DEVICE, 'volume', '40')
            wait_until(lambda: self.mpv_state('volume') in ('0.4', '0.400000'), 'mpv volume 0.4')
            self.xpmn('control', DEVICE, 'mute', 'on')
            wait_until(lambda: self.mpv_state('volume') in ('0.0', '0', '0.000000'), 'mpv muted (volume 0)')
            self.xpmn('control', DEVICE, 'mute', 'off')
            wait_until(lambda: self.mpv_state('volume') in ('0.4', '0.400000'), 'mpv volume back to 0.4')
            status = self.xpmn('status', DEVICE).stdout
            self.assertIn('Long Tone', status)
            # Out of range: a clear refusal (xpmn's own; the device's is unit-tested), mpv unchanged.
            r = self.xpmn('control', DEVICE, 'volume', '250', ok=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn('0 to 100', r.stderr)
            self.assertIn(self.mpv_state('volume'), ('0.4', '0.400000'))

        def test_status_follow_prints_the_change(self):
            self.open_item(SHORT)
            follow = subprocess.Popen(
                [XPMN_BIN, '--config', self.owner,
                 '--timeout', '60', 'status', DEVICE, '--follow'],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                first = follow.stdout.readline()
                self.assertTrue(first.strip(), 'the current status at once')
                self.xpmn('control', DEVICE, 'pause')
                wait_until(lambda: self.mpv_state('status') == 'Paused', 'mpv is paused')
                line = first
                while not line.startswith('paused'):
                    line = follow.stdout.readline()
                    if not line:
                        self.fail('xpmn status --follow ended: ' + follow.stderr.read())
                self.assertIn(SHORT[1], line)
            finally:
                follow.terminate()
                follow.wait(10)

        def test_a_friend_with_events_only_cannot_control(self):
            friend = self.controller('friend-%d' % time.monotonic_ns(), 'friend')
            friend_jid = self.server.jid('friend')
            device = self.server.jid('home') + '/' + DEVICE
            self.mpv_state('pause')  # a still state to compare with (a playing track could end meanwhile)
            before = (self.mpv_state('status'), self.mpv_state('metadata', 'xesam:url'))
            r = self.xpmn('control', device, 'pause', config=friend, ok=False)
            self.assertIn('forbidden', r.stderr)
            self.xpmn('grant', friend_jid, device, 'events')
            try:
                self.assertIn('forbidden', self.xpmn('control', device, 'pause', config=friend, ok=False).stderr)
                self.assertIn('forbidden', self.xpmn('open', device, self.uris[SHORT[0]], config=friend,
                                                     ok=False).stderr)
                self.xpmn('status', device, config=friend)
                self.assertEqual((self.mpv_state('status'), self.mpv_state('metadata', 'xesam:url')), before)
            finally:
                self.xpmn('revoke', friend_jid, device)

        def test_http_and_file_uris_are_refused(self):
            before = self.mpv_state('metadata', 'xesam:url')
            for uri in ('http://%s/MediaItems/1.wav' % self.nas.host, 'file:///etc/passwd'):
                r = self.xpmn('open', DEVICE, uri, ok=False)
                self.assertNotEqual(r.returncode, 0, uri)
                self.assertTrue('forbidden' in r.stderr or 'bad-request' in r.stderr, r.stderr)
            self.assertEqual(self.mpv_state('metadata', 'xesam:url'), before)

    class TestVlcControl(_Home, unittest.TestCase):
        """VLC (two bus names, one device) through the bridge: open, pause,
        play, checked against VLC's own state on the bus."""

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-vlc-')
            lib = os.path.join(cls.workdir, 'library')
            os.makedirs(os.path.join(lib, 'Players'), exist_ok=True)
            rel, title, seconds = LONG
            make_wav(os.path.join(lib, rel), seconds=seconds)
            cls.bus = PrivateBus(cls.workdir).start()
            cls.addClassCleanup(cls.bus.stop)
            cls.vlc = Vlc(cls.bus, cls.workdir).start()
            cls.addClassCleanup(cls.vlc.stop)
            start_secure_home(cls, Prosody, PASSWORD, NAS_NAME, mpris={'bus': cls.bus.address},
                              transfer={'interfaces': ['lo']})
            cls.owner = cls.controller('owner', 'home')
            wait_devices(cls.owner, lambda out: '/mpris-vlc' in out, timeout=60)
            entry = cls.nas.wait_item(rel, title)
            cls.uri = cls.uri_of(entry)
            cls.lan_url = entry['res'][0]['url']

        def vlc_state(self, *args):
            return playerctl(self.bus, 'vlc', *args)

        def position(self):
            return mpris_position(self.bus, Vlc.bus_name)

        def test_open_pause_play(self):
            r = self.xpmn('open', 'mpris-vlc', self.uri)
            self.assertIn(LONG[1], r.stdout)
            # VLC was handed the NAS's own LAN URL, and plays it.
            wait_until(lambda: self.vlc_state('metadata', 'xesam:url') == self.lan_url, 'VLC reports the LAN URL')
            wait_until(lambda: self.vlc_state('status') == 'Playing', 'VLC plays')
            wait_until(lambda: (self.position() or 0) > 0.2, 'VLC plays the file')
            self.xpmn('control', 'mpris-vlc', 'pause')
            wait_until(lambda: self.vlc_state('status') == 'Paused', 'VLC is paused')
            at = self.position() or 0
            self.xpmn('control', 'mpris-vlc', 'play')
            wait_until(lambda: self.vlc_state('status') == 'Playing', 'VLC plays again')
            wait_until(lambda: (self.position() or 0) > at + 0.3, 'VLC plays on')


if __name__ == '__main__':
    unittest.main()
