"""MprisPlayer (the MPRIS adapter's MediaPlayer) against real players on a
private D-Bus bus: mpv with mpv-mpris and VLC (as `nobody`, VLC refuses
root), driven through tests/tools/mpris_probe (one command per run, on the
bridge's SdbusIntegration). After each command the player's own state is read
with playerctl, not the probe's echo. Two fake players: one that never
answers (→ remote-server-timeout, while the others keep working) and one
that sends nonsense types (→ a clear error, no crash). Media: sox-made WAV.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from xpmntest.bridge import BUILD
from xpmntest.players import (Mpv, NonsensePlayer, PrivateBus, SilentPlayer, Vlc, make_wav, mpris_position,
                              playerctl)

PROBE = os.path.join(BUILD, 'tests', 'mpris_probe')
TOLERANCE = 0.5  # seconds, for positions after a seek


def eventually(read, want, timeout=5.0):
    """Polls read() (the player's own state) until it equals `want`; returns the last value."""
    end = time.monotonic() + timeout
    value = read()
    while value != want and time.monotonic() < end:
        time.sleep(0.05)
        value = read()
    return value


class PlayerCase:
    """The same scenario for each real player (a mixin: player_class, playerctl_name)."""
    player_class = None
    playerctl_name = None
    opened = 0

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='xpmn-mpris-')
        cls.wav = make_wav(os.path.join(cls.dir, 'tone.wav'), seconds=20)
        cls.bus = PrivateBus(cls.dir).start()
        cls.player = cls.player_class(cls.bus, cls.dir).start()

    @classmethod
    def tearDownClass(cls):
        cls.player.stop()
        cls.bus.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def probe(self, *args, name=None, timeout_ms=5000):
        r = subprocess.run([PROBE, self.bus.address, name or self.player.bus_name] + list(args) +
                           ['--timeout-ms', str(timeout_ms)], capture_output=True, text=True, timeout=30)
        self.assertIn(r.returncode, (0, 1), r.stderr)  # 2+ or a signal: usage error or a crash
        return json.loads(r.stdout)

    def ctl(self, *args):
        return playerctl(self.bus, self.playerctl_name, *args)

    def position(self):
        text = self.ctl('position')
        return float(text) if text else None

    def open_and_pause(self):
        """Opens a file of its own (a new URL: tests share the player, and mpv-mpris's
        PlaybackStatus lags around idle, so the URL tells the new item apart) and pauses it."""
        PlayerCase.opened += 1
        path = os.path.join(self.dir, 'tone-%d.wav' % PlayerCase.opened)
        os.link(self.wav, path)
        url = 'file://' + path
        opened = self.probe('open', url)
        self.assertTrue(opened['ok'], opened)
        self.assertEqual(eventually(lambda: self.ctl('metadata', 'xesam:url'), url), url)
        # It plays: the player's own Position moves on (mpv-mpris 0.7 may still say Stopped here,
        # see xpmntest.players.mpris_position).
        self.assertTrue(eventually(lambda: (mpris_position(self.bus, self.player.bus_name) or 0) > 0.3, True))
        self.assertTrue(eventually(lambda: self.probe('status').get('seekable'), True))
        self.assertTrue(self.probe('pause')['ok'])
        self.assertEqual(eventually(lambda: self.ctl('status'), 'Paused'), 'Paused')
        return path

    def test_open_play_pause(self):
        self.open_and_pause()
        self.assertTrue(self.probe('play')['ok'])
        self.assertEqual(eventually(lambda: self.ctl('status'), 'Playing'), 'Playing')
        status = self.probe('status')
        self.assertEqual(status['state'], 'playing')
        self.assertAlmostEqual(status['duration'], 20, delta=0.1)
        self.assertTrue(status['seekable'])
        # A local file's URL never reaches the wire.
        self.assertNotIn(self.dir, status['item'])

    def settled_position(self):
        """The paused player's position once two reads agree (a seek takes effect asynchronously)."""
        last = None
        end = time.monotonic() + 5
        while time.monotonic() < end:
            time.sleep(0.15)
            now = self.position()
            if now is not None and last is not None and abs(now - last) < 0.01:
                return now
            last = now
        return last

    def test_seek_absolute_and_relative(self):
        self.open_and_pause()
        self.assertTrue(self.probe('seek-to', '8')['ok'])
        self.assertAlmostEqual(self.settled_position(), 8, delta=TOLERANCE)
        # Relative seeks from where the player is (each player lands near, not on, a target).
        for offset in (3, -5):
            before = self.settled_position()
            self.assertTrue(self.probe('seek-by', str(offset))['ok'])
            self.assertAlmostEqual(self.settled_position(), before + offset, delta=TOLERANCE)
        self.assertAlmostEqual(self.probe('status')['position'], self.position(), delta=0.05)

    def test_events_within_250_ms(self):
        """A change made by someone else (dbus-send, like a desktop applet) reaches the
        adapter's listener: PropertiesChanged → status, Seeked → seeked."""
        self.open_and_pause()
        watch = subprocess.Popen([PROBE, self.bus.address, self.player.bus_name, 'watch', '5000'],
                                 stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(json.loads(watch.stdout.readline()), {'ready': True})
            # Seek while playing: VLC signals Seeked only then.
            for method, flag in (('Play', 'status'), ('Seek', 'seeked'), ('Pause', 'status')):
                argv = ['dbus-send', '--bus=' + self.bus.address, '--type=method_call', '--dest=' + self.player.bus_name,
                        '/org/mpris/MediaPlayer2', 'org.mpris.MediaPlayer2.Player.' + method]
                if method == 'Seek':
                    argv.append('int64:1000000')
                sent = time.monotonic()
                subprocess.run(argv, check=True, timeout=10)
                while True:
                    line = watch.stdout.readline()
                    self.assertTrue(line, 'no %s event after %s' % (flag, method))
                    event = json.loads(line)
                    if event[flag] and event['t'] >= sent:  # not an earlier command's event
                        break
                self.assertLess(event['t'] - sent, 0.25, method)
        finally:
            watch.kill()
            watch.wait(5)

    def test_volume(self):
        self.assertTrue(self.probe('volume', '30')['ok'])
        self.assertEqual(eventually(lambda: self.ctl('volume')[:4], '0.30'), '0.30')
        controls = self.probe('controls')
        self.assertEqual(controls['volume'], 30)
        self.assertIsNone(controls['mute'])  # MPRIS has no mute: the profile emulates it


class MpvTest(PlayerCase, unittest.TestCase):
    player_class = Mpv
    playerctl_name = 'mpv'

    def test_title_of_opened_track(self):
        name = os.path.basename(self.open_and_pause())
        self.assertEqual(self.ctl('metadata', 'xesam:title'), name)
        status = self.probe('status')
        self.assertIn('<title>%s</title>' % name, status['item'])


class VlcTest(PlayerCase, unittest.TestCase):
    player_class = Vlc
    playerctl_name = 'vlc'
    # VLC's file audio output (--aout=afile, the only one without a sound card)
    # has no volume: VLC reports 0.0 whatever is set. Volume is checked on mpv
    # (issue 10); not collected here rather than skipped.
    test_volume = None

    def test_one_player_two_names(self):
        def names():
            return [n for n in self.bus.names() if n.startswith('org.mpris.MediaPlayer2.vlc')]
        eventually(lambda: len(names()), 2)
        self.assertEqual(len(names()), 2, names())  # …vlc and …vlc.instance<pid>: the adapter makes one device


class FaultyPlayersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='xpmn-mpris-')
        cls.bus = PrivateBus(cls.dir).start()
        cls.mpv = Mpv(cls.bus, cls.dir).start()
        cls.silent = SilentPlayer(cls.bus, cls.dir).start()
        cls.nonsense = NonsensePlayer(cls.bus, cls.dir).start()

    @classmethod
    def tearDownClass(cls):
        for p in (cls.nonsense, cls.silent, cls.mpv):
            p.stop()
        cls.bus.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    probe = PlayerCase.probe

    @property
    def player(self):
        return self.mpv

    def test_silent_player_times_out_while_others_work(self):
        t0 = time.monotonic()
        r = self.probe('play', name=self.silent.bus_name, timeout_ms=2000)
        took = time.monotonic() - t0
        self.assertFalse(r['ok'])
        self.assertEqual(r['condition'], 'remote-server-timeout')
        self.assertLess(took, 10)
        self.assertTrue(self.probe('status')['ok'])  # mpv still answers

    def test_nonsense_types_are_clear_errors(self):
        r = self.probe('status', name=self.nonsense.bus_name)
        self.assertFalse(r['ok'])
        self.assertEqual(r['condition'], 'internal-server-error')
        self.assertIn('PlaybackStatus', r['text'])
        r = self.probe('controls', name=self.nonsense.bus_name)
        self.assertFalse(r['ok'])
        self.assertIn('Volume', r['text'])
        r = self.probe('seek-to', '3', name=self.nonsense.bus_name)
        self.assertFalse(r['ok'])
        # Play answers a value nobody expects: the call still succeeded.
        self.assertTrue(self.probe('play', name=self.nonsense.bus_name)['ok'])

    def test_player_that_is_not_there(self):
        r = self.probe('play', name='org.mpris.MediaPlayer2.nobody')
        self.assertEqual(r['condition'], 'service-unavailable')


if __name__ == '__main__':
    unittest.main()
