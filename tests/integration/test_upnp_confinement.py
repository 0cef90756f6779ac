"""A bridge that a test starts outside a network namespace keeps UPnP on loopback.

The Bridge fixture gives such a bridge `[upnp] interfaces = ["lo"]` unless the
test names its interfaces (xpmntest.bridge.confine_upnp), so the tests that
run the daemon beside a loopback Prosody (test_bridge_c2s, test_device_host,
...) do not search for media servers on the machine's real interfaces.

- On this machine: the config such a bridge gets.
- What the daemon then does is observed in a fresh namespace with a second,
  non-loopback interface (`upnp0`, a port-less bridge), so that nothing is
  sent on a real interface: a bridge confined the same way sends its SSDP
  M-SEARCHes only on lo (seen by a sniffer that notes each datagram's
  interface), while an unconfined one searches on upnp0 too (proof that the
  observation sees it). Its UDP sockets (its /proc/PID/fd against
  /proc/PID/net/udp) and group memberships (/proc/net/igmp) are checked too:
  it binds and joins the SSDP group on lo only.

The bridges log in nowhere (their XMPP server port is closed): UPnP starts
without XMPP, and that is all these tests look at.
"""
import ipaddress
import os
import shutil
import socket
import struct
import tempfile
import threading
import time
import tomllib
import unittest

from xpmntest import ports
from xpmntest.bridge import Bridge, confine_upnp, in_own_network_namespace
from xpmntest.netns import NetNs, inside_namespace, module_in_namespace
from xpmntest.waits import wait_until

SSDP_GROUP = '239.255.255.250'
OTHER_ADDRESS = '198.51.100.7'  # upnp0's address inside the test namespace (documentation range)


def xmpp_nowhere():
    """An [xmpp] section whose server port has nothing listening."""
    return {'jid': 'home@xpmn.test', 'password': 'unused', 'server': '127.0.0.1', 'port': ports.free_port()}


def _ipv4(hex_le):
    return socket.inet_ntoa(int(hex_le, 16).to_bytes(4, 'little'))


def udp_bindings(pid):
    """(address, port) of every IPv4 UDP socket process `pid` holds."""
    inodes = set()
    fd_dir = '/proc/%d/fd' % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith('socket:['):
            inodes.add(target[8:-1])
    out = []
    with open('/proc/%d/net/udp' % pid) as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[9] in inodes:
                addr, port = fields[1].split(':')
                out.append((_ipv4(addr), int(port, 16)))
    return out


def igmp_memberships(pid):
    """{device: set of IPv4 groups joined} in the network namespace of `pid`."""
    out, dev = {}, None
    with open('/proc/%d/net/igmp' % pid) as f:
        next(f)
        for line in f:
            if not line[:1].isspace():
                dev = line.split()[1]
                out.setdefault(dev, set())
            elif dev is not None and line.split():
                out[dev].add(_ipv4(line.split()[0]))
    return out


def only_loopback(bindings):
    """Bindings on anything but loopback, the SSDP group or the wildcard address."""
    return [(a, p) for a, p in bindings
            if not (ipaddress.ip_address(a).is_loopback or a in (SSDP_GROUP, '0.0.0.0'))]


def wait_bindings(bridge, predicate, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        if bridge.proc.poll() is not None:
            raise AssertionError('xpmn-bridge exited (%s)\n%s' % (bridge.proc.returncode, bridge.log_text()[-3000:]))
        b = udp_bindings(bridge.proc.pid)
        if predicate(b):
            return b
        if time.monotonic() > deadline:
            raise AssertionError('%s: not within %ss; UDP sockets: %s\n%s' % (
                what, timeout, b, bridge.log_text()[-3000:]))
        time.sleep(0.1)


class SsdpSniffer:
    """Every SSDP datagram to the group on the given interfaces of this
    namespace, with the interface it arrived on (IP_PKTINFO) and its source."""

    def __init__(self, addresses):
        self.seen = []  # (ifindex, (source address, port), first line)
        self._lock = threading.Lock()
        self._stop = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.IPPROTO_IP, getattr(socket, 'IP_PKTINFO', 8), 1)
        self.sock.bind(('', 1900))
        for a in addresses:
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                                 socket.inet_aton(SSDP_GROUP) + socket.inet_aton(a))
        self.sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._loop, name='ssdp-sniffer', daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop:
            try:
                data, anc, _, src = self.sock.recvmsg(65507, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            except OSError:
                return
            ifindex = next((struct.unpack('i4s4s', d[:12])[0] for level, kind, d in anc
                            if level == socket.IPPROTO_IP and kind == getattr(socket, 'IP_PKTINFO', 8)), None)
            with self._lock:
                self.seen.append((ifindex, src, data.split(b'\r\n', 1)[0].decode('latin-1')))

    def searches_from(self, ports, ifindex):
        """M-SEARCHes sent from one of `ports` that arrived on interface `ifindex`."""
        with self._lock:
            return [s for s in self.seen if s[0] == ifindex and s[1][1] in ports and s[2].startswith('M-SEARCH')]

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


class _Workdir(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix='xpmn-confine-')
        if not os.environ.get('XPMN_KEEP_WORKDIR'):
            self.addCleanup(shutil.rmtree, self.workdir, True)

    def bridge(self, name, **sections):
        b = Bridge(self.workdir, xmpp_nowhere(), name=name, **sections)
        self.addCleanup(b.kill)
        self.addCleanup(b.stop)
        return b

    @staticmethod
    def upnp_of(bridge):
        with open(bridge.config, 'rb') as f:
            return tomllib.load(f).get('upnp')


if not inside_namespace():
    InNamespace = module_in_namespace('test_upnp_confinement', prefix='xpmn-confine')

    class OnThisMachine(_Workdir):
        def test_default_config_is_loopback_only(self):
            self.assertFalse(in_own_network_namespace(), 'CTest runs this module on the machine itself')
            self.assertEqual(self.upnp_of(self.bridge('default')), {'interfaces': ['lo']})
            self.assertEqual(self.upnp_of(self.bridge('poll', upnp={'watch_poll_interval': 2})),
                             {'interfaces': ['lo'], 'watch_poll_interval': 2})
            # A test that names interfaces is taken at its word.
            self.assertEqual(self.upnp_of(self.bridge('named', upnp={'interfaces': ['lo', 'x']})),
                             {'interfaces': ['lo', 'x']})

else:
    class InOwnNamespace(_Workdir):
        @classmethod
        def setUpClass(cls):
            NetNs.current().add_upnp_interface('upnp0', OTHER_ADDRESS)

        def setUp(self):
            super().setUp()
            self.upnp0 = socket.if_nametoindex('upnp0')
            self.lo = socket.if_nametoindex('lo')
            self.sniffer = SsdpSniffer(['127.0.0.1', OTHER_ADDRESS])
            self.addCleanup(self.sniffer.close)

        def confined(self):
            self.assertTrue(in_own_network_namespace())
            # In a namespace the fixture leaves the config alone ...
            self.assertIsNone(self.upnp_of(self.bridge('plain')))
            # ... and confines it as it would outside one.
            b = self.bridge('confined', **confine_upnp({}, in_namespace=False))
            self.assertEqual(self.upnp_of(b), {'interfaces': ['lo']})
            return b.start()

        def test_confined_bridge_searches_only_on_loopback(self):
            confined = self.confined()
            ports = lambda b: {p for _, p in udp_bindings(b.proc.pid) if p != 1900}  # noqa: E731 (search sockets)
            wait_until(lambda: self.sniffer.searches_from(ports(confined), self.lo), 'an M-SEARCH on lo')
            # The same observation sees an unconfined bridge search on upnp0 ...
            open_all = self.bridge('open').start()
            wait_until(lambda: self.sniffer.searches_from(ports(open_all), self.upnp0), 'an M-SEARCH on upnp0')
            # ... by when the confined one has long sent its first searches everywhere it will.
            self.assertEqual(self.sniffer.searches_from(ports(confined), self.upnp0), [])

        # gupnp's own context filter would still bind port 1900 and join the
        # SSDP group on every interface (on a real machine: IGMP reports on its
        # LAN); the bridge makes contexts only for the configured interfaces.
        def test_confined_bridge_binds_and_joins_only_on_loopback(self):
            # Group memberships are counted per namespace: the sniffer's own
            # (on upnp0 too) would hide the bridge's.
            self.sniffer.close()
            confined = self.confined()
            wait_bindings(confined, lambda bs: any(a == '127.0.0.1' for a, _ in bs), 'a UDP socket on 127.0.0.1')
            open_all = self.bridge('open').start()
            # The same observation sees an unconfined bridge bind and join on upnp0.
            wait_bindings(open_all, lambda bs: any(a == OTHER_ADDRESS for a, _ in bs), 'a UDP socket on upnp0')
            wait_until(lambda: SSDP_GROUP in igmp_memberships(open_all.proc.pid).get('upnp0', set()),
                       'the unconfined bridge joining the group on upnp0')
            open_all.stop()
            wait_until(lambda: SSDP_GROUP not in igmp_memberships(confined.proc.pid).get('upnp0', set()),
                       'no SSDP membership on upnp0 once only the confined bridge runs')
            found = udp_bindings(confined.proc.pid)
            self.assertEqual(only_loopback(found), [], found)


if __name__ == '__main__':
    unittest.main()
