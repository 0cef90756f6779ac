"""A player of one bridge plays an item of another bridge's media server (wire
profile §7.1, issue 10 item 4): Prosody, minidlna and two bridges in a private
network namespace. Bridge B (account `home`) exports the NAS; bridge A
(account `away`) exports mpv (mpv-mpris on a private D-Bus bus) and no media
server of its own ([upnp] exclude = ["*"]). Bridge A was paired as a
controller of bridge B (its state directory's certificate, through `xpmn
pair`, before A started) and B's owner granted `away` read on the NAS.

`xpmn open <A's mpv> <xmpp URI of an item on B's NAS>` hands mpv a loopback
http URL of bridge A with a random token (checked on the bus: xesam:url), and
the URL's bytes equal the file (whole and a range: ranges travel as
transfers of that range); mpv plays it, pauses, seeks (a new range request)
and plays on. Opening something else drops the
old URL (404); a uid B does not know is refused clearly and mpv is untouched.

A UPnP renderer of bridge A (gmediarender, in a namespace of its own behind
a veth link, so its requests come from its own LAN address): `xpmn open
<renderer> <xmpp URI>` hands it a URL on bridge A's address on that link,
which it plays and seeks (its own GetTransportInfo/GetPositionInfo tell);
the same URL asked from another address of that LAN is refused (403).

Bridge A, its mpv and the renderer's link live in a namespace of their own
(A's LAN), joined to the rest (Prosody, minidlna, bridge B) by one veth link
on which Prosody and bridge B's transfers listen: the NAS's address is not
reachable from A's LAN (asserted), so A gets the bytes only through the OOB
session with B.
"""
import http.client
import os
import unittest
import urllib.parse

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'remote-s3cret'
NAS_NAME = 'Remote NAS'
LONG = ('Remote/Long Tone.wav', 'Long Tone', 30)
SHORT = ('Remote/Short Tone.wav', 'Short Tone', 20)
DEVICE = 'mpris-mpv'
# The renderer's LAN: bridge A's side (rnd0) and the renderer's (eth0), and
# another host's address on it.
LAN_BRIDGE, LAN_RENDERER, LAN_OTHER = '10.251.0.1', '10.251.0.2', '10.251.0.3'
# The link between B's side (xpmn0: Prosody, bridge B's transfers) and A's LAN.
WAN_B, WAN_A = '10.252.0.1', '10.252.0.2'


if not inside_namespace():
    InNamespace = module_in_namespace('test_remote_open', prefix='xpmn-remote')

else:
    import hashlib

    from xpmntest.bridge import (Bridge, class_workdir, controller_config, pair_other_bridge, pair_xpmn, run_xpmn,
                                 start_secure_home, start_server, transfer_uri, wait_devices, xmpp_section)
    from xpmntest.netns import NetNs
    from xpmntest.players import Mpv, PrivateBus, make_wav, mpris_position, playerctl
    from xpmntest.prosody import Prosody
    from xpmntest.renderers import GMediaRender
    from xpmntest.topology import NFT, ip, veth_link
    from xpmntest.waits import wait_until


    def get(ns, url, headers=None):
        """(status, body) of a GET of `url` from namespace `ns`."""
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.sock = ns.create_connection((u.hostname, u.port), timeout=30)
        try:
            conn.request('GET', u.path, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def status_from(ns, source, url):
        """The status of a GET of `url` from address `source` of namespace `ns`."""
        u = urllib.parse.urlsplit(url)
        s = ns.socket()
        try:
            s.settimeout(10)
            s.bind((source, 0))
            s.connect((u.hostname, u.port))
            s.sendall(('GET %s HTTP/1.0\r\nHost: %s\r\nRange: bytes=0-0\r\n\r\n' % (u.path, u.netloc)).encode())
            return int(s.makefile('rb').readline().split()[1])
        finally:
            s.close()

    def start_lan_renderer(cls, lan):
        """gmediarender in a namespace of its own, linked to `lan` by a veth
        pair (rnd0 there): its requests come from its own address."""
        ns = NetNs(prefix='xpmn-remote-r', sweep=True)
        cls.addClassCleanup(ns.delete)
        veth_link(lan, 'rnd0', LAN_BRIDGE + '/24', ns, 'eth0', LAN_RENDERER + '/24')
        ip(ns, 'addr', 'add', LAN_OTHER + '/24', 'dev', 'eth0')  # secondary: the renderer keeps its own
        ip(ns, 'route', 'replace', '224.0.0.0/4', 'dev', 'eth0')
        ns.extra_interfaces['eth0'] = LAN_RENDERER  # where the fixture's SSDP search goes out
        renderer = GMediaRender(os.path.join(cls.workdir, 'gm'), ns, friendly_name='Remote Renderer',
                                interface=('eth0', LAN_RENDERER))
        return ns, start_server(cls, renderer)

    def a_side():
        """Bridge A's LAN: a namespace linked to this one (xpmn0) only."""
        ns = NetNs(prefix='xpmn-remote-a', sweep=True)
        veth_link(NetNs.current(), 'xpmn0', WAN_B + '/24', ns, 'eth0', WAN_A + '/24')
        return ns

    def wall_off_nas(nas_port):
        """minidlna listens on every address: a firewall rule keeps A's LAN
        (coming in on xpmn0) from its HTTP port."""
        rules = ('table inet xpmn_remote {\n chain input {\n  type filter hook input priority 0;\n'
                 '  iifname "xpmn0" tcp dport %d reject\n }\n}\n' % nas_port)
        r = NetNs.current().run([NFT, '-f', '-'], input=rules)
        assert r.returncode == 0, r.stderr

    class MpvOnA(Mpv):
        """mpv inside A's LAN (it fetches bridge A's loopback URLs); D-Bus is a path."""
        netns = None

        def argv(self):
            return self.netns.prefix() + super().argv()

    class TestRemoteOpen(unittest.TestCase):

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-remote-')
            lib = os.path.join(cls.workdir, 'library')
            os.makedirs(os.path.join(lib, 'Remote'), exist_ok=True)
            cls.files = {}
            for rel, _, seconds in (LONG, SHORT):
                cls.files[rel] = os.path.join(lib, rel)
                make_wav(cls.files[rel], seconds=seconds)
            cls.a_ns = a_side()
            cls.addClassCleanup(cls.a_ns.delete)
            cls.bus = PrivateBus(cls.workdir).start()
            cls.addClassCleanup(cls.bus.stop)
            MpvOnA.netns = cls.a_ns
            cls.mpv = MpvOnA(cls.bus, cls.workdir).start()
            cls.addClassCleanup(cls.mpv.stop)
            # Bridge B (home) with the NAS; `away` is bridge A's account. Prosody
            # and B's transfers also on xpmn0, where A's LAN reaches them.
            start_secure_home(cls, lambda workdir: Prosody(workdir, interfaces=('127.0.0.1', WAN_B)), PASSWORD,
                              NAS_NAME, users=('home', 'away'), transfer={'interfaces': ['lo', 'xpmn0']})
            wall_off_nas(cls.nas.port)
            cls.owner_b = controller_config(cls.workdir, cls.server, 'home', PASSWORD, 'owner-b',
                                            transfer={'interfaces': ['lo']})
            pair_xpmn(cls.bridge, cls.owner_b, cls.bridge_jid)
            pair_other_bridge(cls, cls.owner_b, 'away', PASSWORD)  # before A starts
            cls.renderer_ns, cls.renderer = start_lan_renderer(cls, cls.a_ns)
            cls.renderer_device = 'renderer-' + hashlib.sha1(cls.renderer.udn.encode()).hexdigest()[:8]
            # Bridge A finds the renderer on rnd0, and has no media server of its own.
            cls.bridge_a = Bridge(cls.workdir, xmpp_section(cls.server, 'away', PASSWORD, server=WAN_B),
                                  name='bridge-a', netns=cls.a_ns, mpris={'bus': cls.bus.address},
                                  upnp={'interfaces': ['rnd0'], 'exclude': [NAS_NAME]},
                                  transfer={'interfaces': ['eth0']})
            cls.addClassCleanup(cls.bridge_a.kill)
            cls.addClassCleanup(cls.bridge_a.stop)
            cls.bridge_a.start()
            cls.owner_a = controller_config(cls.workdir, cls.server, 'away', PASSWORD, 'owner-a',
                                            transfer={'interfaces': ['lo']})
            wait_devices(cls.owner_a, lambda out: '/' + DEVICE in out and '/' + cls.renderer_device in out, timeout=60)
            pair_xpmn(cls.bridge_a, cls.owner_a, cls.server.jid('away') + '/bridge')
            cls.uris = {}
            for rel, title, _ in (LONG, SHORT):
                cls.uris[rel] = cls.uri_of(cls.nas.wait_item(rel, title))

        @classmethod
        def uri_of(cls, entry):
            return transfer_uri(cls.owner_b, cls.device, entry)

        def xpmn(self, *args, ok=True):
            r = run_xpmn(self.owner_a, *args)
            if ok:
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return r

        def mpv_state(self, *args):
            return playerctl(self.bus, 'mpv', *args)

        def position(self):
            return mpris_position(self.bus, Mpv.bus_name)

        def open_remote(self, track):
            """Opens `track` of B's NAS on A's mpv; returns the URL mpv was handed."""
            self.xpmn('open', DEVICE, self.uris[track[0]])
            return wait_until(lambda: (self.mpv_state('metadata', 'xesam:url') or '').startswith('http://127.0.0.1:')
                              and self.mpv_state('metadata', 'xesam:url'), 'mpv is handed a loopback URL')

        def test_bridge_a_cannot_reach_the_nas(self):
            entry = self.nas.wait_item(LONG[0], LONG[1])
            nas = urllib.parse.urlsplit(entry['res'][0]['url'])
            self.assertTrue(NetNs.current().can_connect((nas.hostname, nas.port)))
            self.assertFalse(self.a_ns.can_connect((nas.hostname, nas.port)))
            self.assertFalse(self.a_ns.can_connect((WAN_B, nas.port)))

        def test_the_served_url_gives_the_file_and_its_ranges(self):
            url = self.open_remote(LONG)
            # Bridge A's served URL (a random token), not the NAS's own.
            self.assertRegex(url, r'^http://127\.0\.0\.1:\d+/[0-9a-f]{32}$')
            with open(self.files[LONG[0]], 'rb') as f:
                data = f.read()
            self.assertEqual(get(self.a_ns, url, {'Range': 'bytes=1000-1999'}), (206, data[1000:2000]))
            status, body = get(self.a_ns, url)
            self.assertEqual((status, len(body)), (200, len(data)))
            self.assertEqual(body, data)
            # Another open: the old URL goes.
            second = self.open_remote(SHORT)
            self.assertNotEqual(second, url)
            self.assertEqual(get(self.a_ns, url)[0], 404)
            self.assertEqual(get(self.a_ns, second, {'Range': 'bytes=0-99'})[0], 206)

        def test_mpv_plays_and_seeks_an_item_of_the_other_bridge(self):
            self.open_remote(LONG)
            # mpv-mpris 0.7 says Stopped after OpenUri from idle while it plays: its position tells.
            wait_until(lambda: 0.2 < (self.position() or 0), 'mpv plays on')
            self.xpmn('control', DEVICE, 'pause')
            wait_until(lambda: self.mpv_state('status') == 'Paused', 'mpv is paused')
            self.xpmn('control', DEVICE, 'seek', '20')
            wait_until(lambda: abs((self.position() or 0) - 20) <= 0.5, 'mpv at 20 s after seek 20')
            self.xpmn('control', DEVICE, 'play')
            wait_until(lambda: (self.position() or 0) > 22.5, 'mpv plays on after the seek')

        def test_an_unknown_uid_is_refused_and_mpv_untouched(self):
            before = self.mpv_state('metadata', 'xesam:url')
            bad = self.uris[SHORT[0]].split('uid=')[0] + 'uid=nosuchuid'
            r = self.xpmn('open', DEVICE, bad, ok=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn('item-not-found', r.stderr)
            self.assertEqual(self.mpv_state('metadata', 'xesam:url'), before)

        def test_a_renderer_plays_and_seeks_an_item_of_the_other_bridge(self):
            r, dev = self.renderer, self.renderer_device
            self.xpmn('open', dev, self.uris[LONG[0]])
            wait_until(lambda: r.state() == 'PLAYING', 'the renderer plays')
            url = r.track_uri()
            # Bridge A's served URL on its address facing the renderer, not the NAS's own.
            self.assertRegex(url, r'^http://%s:\d+/[0-9a-f]{32}$' % LAN_BRIDGE.replace('.', r'\.'))
            first = wait_until(lambda: r.position(), 'the position to advance')
            wait_until(lambda: (r.position() or 0) > first, 'the position to advance further')
            self.xpmn('control', dev, 'seek', '20')
            wait_until(lambda: 19 <= (r.position() or 0) < LONG[2], 'the renderer at 20 s after seek 20')
            self.assertEqual(r.state(), 'PLAYING')
            # Served to the renderer's address only.
            self.assertEqual(status_from(self.renderer_ns, LAN_OTHER, url), 403)
            self.assertEqual(status_from(self.a_ns, LAN_BRIDGE, url), 403)
            self.xpmn('control', dev, 'stop')
            wait_until(lambda: r.state() == 'STOPPED', 'the renderer stopped')


if __name__ == '__main__':
    unittest.main()
