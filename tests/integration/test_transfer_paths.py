"""Which way the media bytes take (issue 9, wire profile §6.2), each in its own
network topology (xpmntest.topology): Prosody with mod_proxy65 in the server
namespace, the bridge and a minidlna in the bridge namespace, `xpmn` in the
controller namespace.

- (a) 'routed': controller and bridge reach each other → S5B direct.
- (b) 'isolated': they reach only the server → S5B through the server's proxy65.
- (c) 'isolated-no-proxy': no proxy either → transport-replace to IBB.
- (d) 'routed' with the bridge behind a home router (miniupnpd in its own
  namespace) that the controller cannot be reached from, no proxy, and
  `[transfer] port_mapping = true` → S5B through the bridge's `assisted`
  candidate (a UPnP-IGD port mapping), removed again when the session ends.
  A router that refuses the mapping: no assisted candidate, and the session
  goes on without it (IBB here) instead of waiting.
- one path also through ejabberd's mod_proxy65.

Each case downloads a file with `xpmn get`, checks it byte for byte against the
NAS's file and reads which path was used from xpmn's `via PATH` line.
Run from tests/integration:  /usr/bin/python3 -m unittest -v test_transfer_paths
"""
import hashlib
import os
import re
import threading
import time
import unittest
import xml.etree.ElementTree as ET

from xpmntest import media
from xpmntest.miniupnpd import MiniUpnpd
from xpmntest.bridge import (Bridge, bridge_pair, class_workdir, run_xpmn, start_server, wait_devices,
                             write_config, xmpp_section)
from xpmntest.nas import MiniDlna
from xpmntest.topology import Topology

PASSWORD = 'paths-pw'
NAS_NAME = 'Paths NAS'
METADATA = '{urn:xmpp:media:metadata:0}'
BIG_REL = 'Big/paths-big.mp3'
BIG_TITLE = 'Paths Big File'


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 16), b''):
            h.update(block)
    return h.hexdigest()


class PathCase:
    """One topology kind and XMPP server; subclasses set KIND, SERVER, EXPECTED_PATH."""
    KIND = None
    SERVER = 'prosody'
    EXPECTED_PATH = None
    BIG_SIZE = 8 << 20   # 0: the path is too slow for a multi-MiB file (IBB)
    ROUTER = False       # the bridge behind a home router running miniupnpd
    IGD_OPTIONS = {}     # MiniUpnpd(...) settings, e.g. its allow/deny rules
    SERVER_OPTIONS = {}  # e.g. proxy65=False
    TRANSFER = {}        # more [transfer] settings: (bridge, controller)

    @classmethod
    def make_topology(cls):
        return Topology(cls.KIND, router=cls.ROUTER).create()

    @classmethod
    def transfer(cls, side):
        extra = cls.TRANSFER.get(side, {}) if cls.TRANSFER else {}
        return dict({'interfaces': ['eth0']}, **extra)

    @classmethod
    def setUpClass(cls):
        # Once per class: each test runs its own `xpmn` invocations against
        # the same topology, servers and paired bridge.
        cls.workdir = class_workdir(cls, 'xpmn-paths-')
        topo = cls.make_topology()
        cls.addClassCleanup(topo.delete)
        cls.topo = topo
        if cls.ROUTER:
            cls.igd = MiniUpnpd(os.path.join(cls.workdir, 'igd'), topo, **cls.IGD_OPTIONS)
            cls.addClassCleanup(cls.igd.kill)
            cls.igd.start()
        server = getattr(topo, cls.SERVER)(os.path.join(cls.workdir, 'xmpp'), **cls.SERVER_OPTIONS)
        cls.addClassCleanup(server.stop)
        server.add_user('home', PASSWORD)
        server.start()
        cls.library = os.path.join(cls.workdir, 'library')
        cls.manifest = media.make_library(cls.library)
        if cls.BIG_SIZE:
            # Many chunks through the chosen path (a stall after the first few
            # hundred KiB went unseen with the library's small files). Sparse
            # beyond a real MP3 head: minidlna lists it, the disk stays idle.
            cls.big = os.path.join(cls.library, BIG_REL)
            os.makedirs(os.path.dirname(cls.big), exist_ok=True)
            media.make_audio(cls.big, 1, 330, title=BIG_TITLE)
            with open(cls.big, 'r+b') as f:
                f.seek(cls.BIG_SIZE - 4096)
                f.write(os.urandom(4096))
        nas = MiniDlna(os.path.join(cls.workdir, 'minidlna'), cls.library, netns=topo.bridge,
                       friendly_name=NAS_NAME)
        start_server(cls, nas)
        xmpp = xmpp_section(server, 'home', PASSWORD)
        bridge = Bridge(cls.workdir, xmpp, netns=topo.bridge, transfer=cls.transfer('bridge'))
        cls.addClassCleanup(bridge.kill)
        cls.addClassCleanup(bridge.stop)
        bridge.start()
        cls.bridge = bridge
        cls.config = write_config(os.path.join(cls.workdir, 'controller.toml'), {
            'xmpp': xmpp, 'bridge': {'state_dir': os.path.join(cls.workdir, 'controller-state')},
            'transfer': cls.transfer('controller')})
        out = wait_devices(cls.config, lambda out: NAS_NAME in out and '/bridge' in out, timeout=90,
                           netns=topo.controller)
        cls.device = [line.split()[0] for line in out.splitlines() if NAS_NAME in line][0]
        pin, _ = bridge_pair(bridge.config)
        r = cls.xpmn('pair', server.jid('home') + '/bridge', '--pin', pin)
        if r.returncode != 0:
            raise AssertionError('xpmn pair failed (%s): %s%s' % (r.returncode, r.stdout, r.stderr))

    @classmethod
    def xpmn(cls, *args, timeout=120):
        return run_xpmn(cls.config, *args, timeout=timeout, netns=cls.topo.controller)

    def transfer_uri(self, title):
        r = self.xpmn('search', self.device, 'title=%s' % title, '--xml')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        root = ET.fromstring(r.stdout.strip().splitlines()[-1])
        uris = [item.findtext(METADATA + 'uri') for item in root.iter(METADATA + 'item')]
        self.assertTrue(uris and uris[0], r.stdout)
        return uris[0]

    def get_via_expected_path(self, title, path):
        uri = self.transfer_uri(title)
        out = os.path.join(self.workdir, 'got-%s.bin' % self._testMethodName)  # a file of its own: xpmn resumes one
        r = self.xpmn('get', uri, '-o', out)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(sha256(out), sha256(path))
        via = re.search(r'via (\S+)', r.stdout)
        self.assertTrue(via, r.stdout)
        self.assertEqual(via.group(1), self.EXPECTED_PATH, r.stdout + r.stderr)

    def test_get_takes_the_expected_path(self):
        track = self.manifest[0]
        self.get_via_expected_path(track['title'], track['path'])

    def test_get_a_multi_mib_file(self):
        self.get_via_expected_path(BIG_TITLE, self.big)


class DirectPath(PathCase, unittest.TestCase):
    KIND = 'routed'
    EXPECTED_PATH = 's5b-direct'


class ProxyPath(PathCase, unittest.TestCase):
    KIND = 'isolated'
    EXPECTED_PATH = 's5b-proxy'


class InBandPath(PathCase, unittest.TestCase):
    KIND = 'isolated-no-proxy'
    EXPECTED_PATH = 'ibb'
    # No candidate can work here: each fails at its deadline, not sooner (the
    # packets are dropped), and every session waits that long for IBB.
    TRANSFER = {side: {'candidate_timeout': 1} for side in ('bridge', 'controller')}
    BIG_SIZE = 0
    test_get_a_multi_mib_file = None  # in-band: multi-MiB files are not its job (not collected, not skipped)


class AssistedPath(PathCase, unittest.TestCase):
    """(d): the controller reaches the router's WAN address but not the
    bridge's LAN, the bridge cannot reach the controller (a home LAN's view
    of a phone behind carrier NAT), no proxy: only the port the bridge has
    its router map for the session carries the bytes."""
    KIND = 'routed'
    ROUTER = True
    EXPECTED_PATH = 's5b-assisted'
    SERVER_OPTIONS = {'proxy65': False}
    TRANSFER = {'bridge': {'port_mapping': True, 'proxies': False}, 'controller': {'proxies': False}}

    @classmethod
    def make_topology(cls):
        return Topology(cls.KIND, router=True, lan_reaches_controller=False).create()

    def setUp(self):
        self.assertFalse(Topology.can_connect(self.topo.controller, (self.topo.bridge_ip, 9), timeout=1.0))
        self.assertEqual(self.igd.mappings(), [])

    def mappings_gone(self, timeout=45.0):
        """The router's mappings (its lease file and its own answer), once
        they are empty or `timeout` passed."""
        cp = self.igd.control_point(self.topo.bridge)
        deadline = time.monotonic() + timeout
        while True:
            leases, listed = self.igd.mappings(), cp.port_mappings()
            if (not leases and not listed) or time.monotonic() > deadline:
                return leases, listed
            time.sleep(0.2)

    # `xpmn search` and `xpmn get` each open an end-to-end stream and an OOB
    # session (search opens one before it asks): two S5B Jingle sessions per
    # invocation, and the bridge maps its listener's port for each.
    INVOCATIONS = 2  # search (transfer_uri), get
    SESSIONS_PER_INVOCATION = 2  # end-to-end stream, OOB session

    def get_via_expected_path(self, title, path):
        # The router's lease file is watched while xpmn runs: each mapping the
        # bridge makes is counted once when it appears (keyed without its
        # lease time, so a renewal is not a new one; a port used again by a
        # later session is).
        seen, stop = [], threading.Event()

        def key(m):
            return (m['protocol'], m['external_port'], m['internal_client'], m['internal_port'])

        def watch():
            present = set()
            while not stop.is_set():
                now = self.igd.mappings()
                for m in now:
                    if key(m) not in present:
                        seen.append(m)
                present = {key(m) for m in now}
                stop.wait(0.01)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            super().get_via_expected_path(title, path)
        finally:
            stop.set()
            watcher.join(5)
        self.assertTrue(seen, 'no port mapping seen on the router during the transfer\n' + self.igd.diagnostics())
        for m in seen:
            self.assertEqual((m['protocol'], m['internal_client'], m['description']),
                             ('TCP', self.topo.bridge_ip, 'xpmn-bridge S5B'), seen)
            self.assertEqual(m['external_port'], m['internal_port'], seen)
            self.assertGreater(m['expires'], 0, seen)  # a lease as a safety net
        self.assertEqual(len(seen), self.INVOCATIONS * self.SESSIONS_PER_INVOCATION, seen)
        # xpmn has exited: its OOB session ended, so did the bridge's mapping.
        self.assertEqual(self.mappings_gone(), ([], []), self.igd.diagnostics())


class AssistedRefusedPath(AssistedPath):
    """(d) with a router whose rules deny every mapping: the bridge offers
    no assisted candidate and does not wait for one (IBB is left)."""
    EXPECTED_PATH = 'ibb'
    BIG_SIZE = 0
    test_get_a_multi_mib_file = None  # in-band: multi-MiB files are not its job (not collected, not skipped)
    IGD_OPTIONS = {'allow': ['deny 0-65535 0.0.0.0/0 0-65535']}
    # No candidate can work (see InBandPath): a short deadline for each.
    TRANSFER = {side: dict(AssistedPath.TRANSFER[side], candidate_timeout=1) for side in ('bridge', 'controller')}

    def get_via_expected_path(self, title, path):
        started = time.monotonic()
        PathCase.get_via_expected_path(self, title, path)
        self.assertEqual(self.igd.mappings(), [])
        self.assertEqual(self.igd.control_point(self.topo.bridge).port_mappings(), [])
        # search + get, each with its IBB fallback: well within the timeouts
        # a stalled session-accept would run into (15 s each).
        self.assertLess(time.monotonic() - started, 25)


class EjabberdProxyPath(PathCase, unittest.TestCase):
    KIND = 'isolated'
    SERVER = 'ejabberd'
    EXPECTED_PATH = 's5b-proxy'


if __name__ == '__main__':
    unittest.main()
