"""Proves the integration-test fixtures (xpmntest): the test PKI, a real Prosody
(accounts, STARTTLS, SASL, smacks, restart, kill, two instances at once),
slixmpp clients (disco#info between two resources, presence, raw iq, ping) and
the TCP proxy (cut, pause, stall). Run from tests/integration:

    /usr/bin/python3 -m unittest -v test_fixtures

Set XPMN_KEEP_TMP=1 to keep the work directory (Prosody logs) after the run.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from xpmntest import ports
from xpmntest.certs import TestPKI, XMPP_ADDR_OID
from xpmntest.prosody import Prosody
from xpmntest.slix import SlixClient
from xpmntest.tcpproxy import TcpProxy

DISCO_INFO = 'http://jabber.org/protocol/disco#info'


class FixturesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='xpmn-fixtures-')
        if os.environ.get('XPMN_KEEP_TMP'):
            print('work dir kept: %s' % cls.tmp, file=sys.stderr)
        else:
            cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.srv = Prosody(os.path.join(cls.tmp, 'prosody'), smacks_hibernation_time=30)
        cls.addClassCleanup(cls.srv.kill)  # after stop(): a no-op; on failure: no orphans
        cls.srv.add_user('alice', 'alice-pw')
        cls.srv.add_user('bob', 'bob-pw')
        cls.srv.start()
        cls.addClassCleanup(cls.srv.stop)

    def client(self, user, resource, password=None, port=None, srv=None, **kw):
        srv = srv or self.srv
        c = SlixClient(srv.jid(user, resource), password or user + '-pw',
                       port=port or srv.c2s_port, ca_file=srv.ca_file, **kw)
        self.addCleanup(c.close)
        return c

    # -- certs ----------------------------------------------------------------
    def test_1_certs(self):
        pki = TestPKI(os.path.join(self.tmp, 'pki-test'))
        srv = pki.server_cert('xpmn.test')
        cli = pki.client_cert('bridge@xpmn.test')
        pki.verify(srv.cert)
        pki.verify(cli.cert)
        text = subprocess.run(['openssl', 'x509', '-in', srv.cert, '-noout', '-text',
                               '-fingerprint', '-sha256'],
                              capture_output=True, text=True, timeout=10, check=True).stdout
        self.assertIn('DNS:xpmn.test, DNS:localhost, IP Address:127.0.0.1', text)
        self.assertIn('ASN1 OID: prime256v1', text)
        openssl_fp = text.split('sha256 Fingerprint=')[1].split()[0].replace(':', '').lower()
        self.assertEqual(srv.fingerprint, openssl_fp)
        self.assertRegex(srv.fingerprint, '^[0-9a-f]{64}$')
        text = subprocess.run(['openssl', 'x509', '-in', cli.cert, '-noout', '-text'],
                              capture_output=True, text=True, timeout=10, check=True).stdout
        self.assertIn('XmppAddr::bridge@xpmn.test', text)  # otherName id-on-xmppAddr
        self.assertEqual(XMPP_ADDR_OID, '1.3.6.1.5.5.7.8.5')
        self.assertIn('TLS Web Client Authentication', text)

    # -- two resources of one account -----------------------------------------
    def test_2_two_resources_disco_presence_iq(self):
        a = self.client('alice', 'one').connect()
        b = self.client('alice', 'two').connect()
        # Only after STARTTLS, with internal_plain and TLS 1.3 (no -PLUS).
        self.assertEqual(sorted(a.sasl_mechanisms), ['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256'])
        self.assertIn('starttls', a.stream_features[0])
        self.assertNotIn('mechanisms', a.stream_features[0])
        self.assertTrue(any('urn:xmpp:sm:3' in f for f in a.stream_features))

        a.wait_presence(b.full_jid)
        b.wait_presence(a.full_jid)
        info = a.disco_info(b.full_jid)
        self.assertIn(DISCO_INFO, info['features'])
        self.assertIn('urn:xmpp:ping', info['features'])
        self.assertTrue(any(cat == 'client' for cat, _t, _n in info['identities']), info)

        server = a.disco_info(self.srv.domain)
        self.assertIn(('server', 'im', 'Prosody'), server['identities'])
        self.assertIn('urn:xmpp:ping', server['features'])

        reply = a.send_iq_raw('<iq type="get" to="%s"><ping xmlns="urn:xmpp:ping"/></iq>'
                              % self.srv.domain)
        self.assertIn('type="result"', reply)
        reply = a.send_iq_raw('<iq type="get" to="%s"><nope xmlns="urn:x-nope"/></iq>'
                              % b.full_jid)
        self.assertIn('type="error"', reply)
        self.assertIn('feature-not-implemented', reply)  # slixmpp's answer
        self.assertGreater(a.ping(b.full_jid), 0)

        b.disconnect()
        a.wait_presence(b.full_jid, available=False)

        with self.assertRaisesRegex(AssertionError, 'failed_all_auth'):
            self.client('bob', 'x', password='wrong').connect(timeout=10)
        with self.assertRaisesRegex(AssertionError, 'connection_failed'):
            self.client('bob', 'y', port=ports.free_port()).connect(timeout=10)

    # -- TCP proxy --------------------------------------------------------------
    def test_3_tcpproxy_cut_pause_stall(self):
        proxy = TcpProxy(self.srv.c2s_port).start()
        self.addCleanup(proxy.stop)
        obs = self.client('alice', 'observer').connect()
        c = self.client('alice', 'proxied', port=proxy.listen_port,
                        plugins=('xep_0030', 'xep_0199', 'xep_0198')).connect()
        obs.wait_presence(c.full_jid)
        proxy.wait_connections(1)

        # Cut: the client sees its connection reset; the proxy keeps accepting and
        # Prosody's smacks hibernation lets the client resume its session.
        mark = c.event_mark()
        self.assertEqual(proxy.cut_all(), 1)
        c.wait_disconnected(10)
        proxy.wait_no_connections()
        c.connect()
        c.wait_event('session_resumed', since=mark)
        self.assertEqual(obs.presence_of(c.full_jid), 'available')
        c.ping(self.srv.domain)

        # Stall: bytes stop flowing; unstall: they flow again.
        proxy.stall()
        with self.assertRaises(AssertionError):
            c.ping(self.srv.domain, timeout=1)
        proxy.unstall()
        c.ping(self.srv.domain)

        # Pause (refuse): connection refused; resume: accepted again.
        proxy.pause()
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(proxy.address, timeout=2).close()
        proxy.resume()
        accepted = proxy.accepted_total
        socket.create_connection(proxy.address, timeout=2).close()
        proxy.wait_accepted(accepted + 1)

        # Pause (hold): the connect succeeds in the backlog but is not proxied.
        proxy.wait_active(1)  # the probe above is gone; the client's remains
        proxy.pause(refuse=False)
        before = proxy.active_connections
        held = socket.create_connection(proxy.address, timeout=2)
        self.addCleanup(held.close)
        time.sleep(0.2)
        self.assertEqual(proxy.active_connections, before)
        proxy.resume()
        proxy.wait_connections(before + 1)
        held.sendall(b"<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
                     b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
                     % self.srv.domain.encode())
        held.settimeout(5)
        got = b''
        while b'</stream:features>' not in got:
            chunk = held.recv(4096)
            if not chunk:
                break
            got += chunk
        self.assertIn(b'starttls', got)

    # -- several servers, restart, kill -----------------------------------------
    def test_4_second_instance(self):
        other = Prosody(os.path.join(self.tmp, 'other'), domain='other.test')
        self.addCleanup(other.kill)
        other.add_user('carol', 'carol-pw')
        with other:
            self.assertNotEqual(other.c2s_port, self.srv.c2s_port)
            c = self.client('carol', 'x', srv=other).connect()
            self.assertEqual(c.full_jid, 'carol@other.test/x')
            self.assertNotEqual(other.fingerprint, self.srv.fingerprint)
            c.close()
        self.assertFalse(other.running)
        # prosodyctl works against an instance's config too (bounded).
        r = other.prosodyctl('register', 'dave', 'other.test', 'dave-pw')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(other.account_file('dave')))

    def test_5_restart_and_kill(self):
        port = self.srv.c2s_port
        a = self.client('alice', 'r').connect()
        self.srv.restart()
        a.wait_disconnected(10)
        self.assertEqual(self.srv.c2s_port, port)
        b = self.client('alice', 'r2').connect()  # accounts survive a restart
        self.srv.kill()
        b.wait_disconnected(10)
        with self.assertRaises(OSError):
            socket.create_connection(self.srv.address, timeout=2).close()
        self.srv.start()
        self.client('bob', 'after-kill').connect()
        self.assertIn('Received SIGTERM', self.srv.log_text())

    def test_6_ports(self):
        got = ports.free_ports(5)
        self.assertEqual(len(set(got)), 5)
        for p in got:
            self.assertTrue(ports.is_free(p))
            self.assertLess(p, 32768)


if __name__ == '__main__':
    unittest.main(verbosity=2)
