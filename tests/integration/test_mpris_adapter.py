"""The MPRIS adapter in the bridge: real mpv and VLC on a private D-Bus bus
become media-player devices BARE/mpris-mpv and BARE/mpris-vlc (VLC's two bus
names, …vlc and …vlc.instance<pid>, are one device), named by the players'
Identity; a player that quits sends unavailable presence and comes back under
the same resource; [mpris] exclude leaves a player out; the bridge keeps one
thread with D-Bus in its loop; when the bus daemon dies its players go
unavailable, and once a bus is back at the same address (and before: when
the bus is not there at start) the bridge connects to it and its players
come back.
"""
import unittest

from test_bridge_c2s import PASSWORD, ProsodyCase
from test_device_host import thread_count
from xpmntest.bridge import Bridge, xmpp_section
from xpmntest.players import Mpv, NonsensePlayer, PrivateBus, SecondMpv, SilentPlayer, Vlc


class TestMprisAdapter(ProsodyCase):

    def setUp(self):
        super().setUp()
        self.bus = PrivateBus(self.workdir).start()
        self.cleanups.append(self.bus.stop)

    def player(self, cls):
        p = cls(self.bus, self.workdir).start()
        self.cleanups.append(p.stop)
        return p

    def start_bridge(self, **mpris):
        # Without the daemon's guid, as a session's DBUS_SESSION_BUS_ADDRESS
        # is: a bus daemon started again at the path has another one.
        b = Bridge(self.workdir, xmpp_section(self.prosody, 'home', PASSWORD),
                   mpris=dict({'bus': self.bus.address.split(',guid=')[0]}, **mpris))
        b.start()
        self.cleanups.append(b.kill)
        self.cleanups.append(b.stop)
        return b

    def test_players_become_devices_and_come_back(self):
        mpv = self.player(Mpv)
        self.player(Vlc)
        phone = self.slix()
        bridge = self.start_bridge()
        mpv_jid = self.prosody.jid('home', 'mpris-mpv')
        vlc_jid = self.prosody.jid('home', 'mpris-vlc')
        phone.wait_presence(mpv_jid, timeout=20)
        phone.wait_presence(vlc_jid, timeout=20)
        info = phone.disco_info(mpv_jid)
        # Named by the player's Identity (mpv-mpris says 'mpv').
        self.assertEqual([i for i in info['identities'] if i[1] == 'media-player'],
                         [('automation', 'media-player', 'mpv')])
        self.assertIn(('automation', 'media-player', 'VLC media player'), phone.disco_info(vlc_jid)['identities'])
        # One device per player: no mpris-vlc-<pid> for VLC's second name.
        vlc_names = [n for n in self.bus.names() if n.startswith('org.mpris.MediaPlayer2.vlc')]
        self.assertEqual(len(vlc_names), 2, vlc_names)
        instance = vlc_names[0] if 'instance' in vlc_names[0] else vlc_names[1]
        extra = self.prosody.jid('home', 'mpris-vlc-' + instance.split('instance')[1])
        # Checked only once the bridge has handled both VLC names: both were on
        # the bus (above) before a marker player takes its name, and the bridge
        # reads the bus in order (each name's owner and process are asked for
        # before the next name change is read), so it handles the marker after
        # both VLC names; a device for VLC's second name would have been added
        # (its session started) before the marker's.
        self.player(NonsensePlayer)
        phone.wait_presence(self.prosody.jid('home', 'mpris-nonsense'), timeout=20)
        self.assertIsNone(phone.presence_of(extra))
        # D-Bus runs in the bridge's one loop.
        self.assertEqual(thread_count(bridge.proc.pid), 1)

        # mpv quits: unavailable; it starts again: the same resource is back.
        mpv.stop()
        phone.wait_presence(mpv_jid, available=False, timeout=10)
        self.assertEqual(phone.presence_of(vlc_jid), 'available')
        self.player(Mpv)
        phone.wait_presence(mpv_jid, timeout=20)

    def test_second_instance_keeps_its_number(self):
        self.player(Mpv)
        second = self.player(SecondMpv)
        phone = self.slix()
        self.start_bridge()
        phone.wait_presence(self.prosody.jid('home', 'mpris-mpv'), timeout=20)
        phone.wait_presence(self.prosody.jid('home', 'mpris-mpv-%d' % second.proc.pid), timeout=20)

    def test_faulty_players_do_not_stop_the_others(self):
        """A player that never answers and one that sends nonsense types: each still becomes a
        device (named by its bus name: no usable Identity), mpv next to them too, and the
        bridge keeps running."""
        self.player(SilentPlayer)
        self.player(NonsensePlayer)
        self.player(Mpv)
        phone = self.slix()
        bridge = self.start_bridge(call_timeout_ms=1000)
        phone.wait_presence(self.prosody.jid('home', 'mpris-mpv'), timeout=20)
        for name in ('silent', 'nonsense'):
            jid = self.prosody.jid('home', 'mpris-' + name)
            phone.wait_presence(jid, timeout=20)
            self.assertIn(('automation', 'media-player', name), phone.disco_info(jid)['identities'])
        self.assertIsNone(bridge.proc.poll())

    def test_exclude_leaves_a_player_out(self):
        self.player(Mpv)
        self.player(Vlc)
        phone = self.slix()
        bridge = self.start_bridge(exclude=['vlc*'])
        phone.wait_presence(self.prosody.jid('home', 'mpris-mpv'), timeout=20)
        bridge.wait_for_log('left out by [mpris] include / exclude', timeout=10)
        self.assertIsNone(phone.presence_of(self.prosody.jid('home', 'mpris-vlc')))

    def test_the_bus_goes_away_and_comes_back(self):
        mpv = self.player(Mpv)
        phone = self.slix()
        bridge = self.start_bridge()
        mpv_jid = self.prosody.jid('home', 'mpris-mpv')
        phone.wait_presence(mpv_jid, timeout=20)
        self.bus.kill()  # the bus daemon dies (a session restart): mpv loses it too
        phone.wait_presence(mpv_jid, available=False, timeout=10)
        mpv.stop()
        self.bus.start()  # the same address
        self.player(Mpv)
        # Retried 1, 2, 4 … s after the loss: back within a few attempts.
        phone.wait_presence(mpv_jid, timeout=30)  # the same resource as before the loss
        self.assertIn(('automation', 'media-player', 'mpv'), phone.disco_info(mpv_jid)['identities'])
        self.assertIsNone(bridge.proc.poll())

    def test_a_bus_that_is_not_there_at_start_is_used_once_it_is(self):
        self.bus.kill()
        phone = self.slix()
        bridge = self.start_bridge()
        phone.wait_presence(self.prosody.jid('home', 'bridge'), timeout=20)
        self.bus.start()
        self.player(Mpv)
        phone.wait_presence(self.prosody.jid('home', 'mpris-mpv'), timeout=30)
        self.assertIsNone(bridge.proc.poll())


if __name__ == '__main__':
    unittest.main()
