"""SRV lookup (xmpp/net/srv_resolver, xmpp/net/xmpp_connector) against a real
DNS server: a dnsmasq on a loopback UDP port serving a few SRV records, and
the SrvLive.* cases of the test_srv_resolver binary pointed at it through
XPMN_TEST_* variables. Run from tests/integration:

    /usr/bin/python3 -m unittest -v test_srv_lookup

Needs dnsmasq (Debian: apt-get install -y dnsmasq-base) and the built
test_srv_resolver ($XPMN_BUILD_DIR, default build/default).
"""
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from xpmntest import ports, reaper
from xpmntest.bridge import BUILD

DRIVER = os.path.join(BUILD, 'tests', 'test_srv_resolver')
DNSMASQ = shutil.which('dnsmasq') or shutil.which('dnsmasq', path='/usr/sbin:/sbin')

LIVE_TESTS = 5  # SrvLive.* cases in tests/unit/test_srv_resolver.cpp

ORDERED = '_xmpp-client._tcp.ordered.test'
# Expected order; given to dnsmasq shuffled. Distinct priorities make the
# RFC 2782 order deterministic.
ORDERED_RECORDS = [('a.ordered.test', 5001, 10, 5), ('b.ordered.test', 5002, 20, 5),
                   ('c.ordered.test', 5003, 30, 0)]
NXDOMAIN = '_xmpp-client._tcp.none.test'
NODATA = '_xmpp-client._tcp.nodata.test'   # has a TXT record, no SRV
DOT_DOMAIN = 'dot.test'                     # a lone SRV target "."
LIVE_DOMAIN = 'live.test'                   # refused port first, then the listening one


def free_udp_port():
    """A port free for both TCP (ports.py's bookkeeping) and UDP."""
    for _ in range(100):
        port = ports.free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue
        return port
    raise RuntimeError('no free UDP port')


def dns_query(port, name, qtype=33, timeout=1.0):
    """(rcode, ancount) of a plain query to 127.0.0.1:port; None on timeout."""
    qid = random.randrange(65536)
    qname = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0'
    packet = struct.pack('!6H', qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack('!2H', qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, ('127.0.0.1', port))
        try:
            while True:
                reply = s.recv(65536)
                if len(reply) >= 12 and struct.unpack('!H', reply[:2])[0] == qid:
                    flags, _, ancount = struct.unpack('!3H', reply[2:8])
                    return flags & 0xF, ancount
        except socket.timeout:
            return None


class SrvLookupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not DNSMASQ:
            raise RuntimeError('dnsmasq not found; apt-get install -y dnsmasq-base')
        if not os.access(DRIVER, os.X_OK):
            raise RuntimeError('%s not built (cmake --build build/default --target test_srv_resolver)' % DRIVER)
        cls.tmp = tempfile.mkdtemp(prefix='xpmn-srv-')
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)

        cls.dns_port = free_udp_port()
        cls.live_port, cls.dead_port, cls.fallback_port = ports.free_ports(3)
        shuffled = [ORDERED_RECORDS[i] for i in (1, 2, 0)]
        args = [DNSMASQ, '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
                '--user=root', '--pid-file=', '--port=%d' % cls.dns_port,
                '--listen-address=127.0.0.1', '--bind-interfaces', '--log-queries', '--log-facility=-',
                # Authoritative "no such name" for these instead of REFUSED (no upstream).
                '--local=/test/', '--local=/localhost/',
                '--txt-record=%s,no srv here' % NODATA,
                '--srv-host=_xmpp-client._tcp.%s' % DOT_DOMAIN,
                '--srv-host=_xmpp-client._tcp.%s,127.0.0.1,%d,10,5' % (LIVE_DOMAIN, cls.dead_port),
                '--srv-host=_xmpp-client._tcp.%s,127.0.0.1,%d,20,5' % (LIVE_DOMAIN, cls.live_port)]
        args += ['--srv-host=%s,%s,%d,%d,%d' % ((ORDERED,) + r) for r in shuffled]
        cls.log_path = os.path.join(cls.tmp, 'dnsmasq.log')
        cls.log = open(cls.log_path, 'w')
        cls.addClassCleanup(cls.log.close)
        cls.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=cls.log, stderr=subprocess.STDOUT)
        cls.addClassCleanup(cls.stop_dnsmasq)

        deadline = time.monotonic() + 10
        while dns_query(cls.dns_port, 'ready.test', qtype=1, timeout=0.2) is None:
            if cls.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError('dnsmasq did not come up:\n' + cls.dnsmasq_log())
        cls.env = dict(os.environ,
                       XPMN_TEST_DNS='127.0.0.1:%d' % cls.dns_port,
                       XPMN_TEST_SRV_ORDERED=ORDERED + '=' + ','.join('%s:%d:%d:%d' % r for r in ORDERED_RECORDS),
                       XPMN_TEST_SRV_EMPTY=NXDOMAIN + ',' + NODATA,
                       XPMN_TEST_SRV_DOT_DOMAIN=DOT_DOMAIN,
                       XPMN_TEST_SRV_LIVE='%s:%d' % (LIVE_DOMAIN, cls.live_port),
                       XPMN_TEST_SRV_FALLBACK='localhost:%d' % cls.fallback_port)

    @classmethod
    def stop_dnsmasq(cls):
        reaper.terminate(cls.proc, 5)

    @classmethod
    def dnsmasq_log(cls):
        cls.log.flush()
        with open(cls.log_path) as f:
            return f.read()[-4000:]

    def test_1_fixture_answers(self):
        """dnsmasq itself answers as the C++ cases expect (so a failure there is theirs)."""
        self.assertEqual(dns_query(self.dns_port, ORDERED), (0, 3))
        self.assertEqual(dns_query(self.dns_port, '_xmpp-client._tcp.' + DOT_DOMAIN), (0, 1))
        self.assertEqual(dns_query(self.dns_port, '_xmpp-client._tcp.' + LIVE_DOMAIN), (0, 2))
        self.assertEqual(dns_query(self.dns_port, NXDOMAIN), (3, 0))
        self.assertEqual(dns_query(self.dns_port, NODATA), (0, 0))
        self.assertEqual(dns_query(self.dns_port, '_xmpp-client._tcp.localhost'), (3, 0))

    def test_2_srv_live(self):
        """The resolver and connector against dnsmasq: ordering, no record, '.', connecting, fallback."""
        run = subprocess.run([DRIVER, '--gtest_filter=SrvLive.*', '--gtest_color=no'], env=self.env,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        out = run.stdout + run.stderr
        if run.returncode != 0:
            print(out, '\n--- dnsmasq log ---\n' + self.dnsmasq_log(), file=sys.stderr)
        self.assertEqual(run.returncode, 0, 'SrvLive cases failed (output above)')
        self.assertNotIn('SKIPPED', out)
        passed = re.search(r'^\[  PASSED  \] (\d+) tests?\.', out, re.M)
        self.assertTrue(passed, out)
        self.assertEqual(int(passed.group(1)), LIVE_TESTS, out)


if __name__ == '__main__':
    unittest.main()
