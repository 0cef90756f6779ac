"""xpmn-bridge and xpmn against a real Prosody on loopback, with slixmpp as
an independent client: SASL mechanisms, wrong password and backoff, disco of
BARE/bridge, server restart, and XEP-0198 resumption after a cut connection.
"""
import base64
import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

from xpmntest.certs import TestPKI
from xpmntest.bridge import Bridge, check_config, run_xpmn, write_config, xmpp_section
from xpmntest.prosody import Prosody
from xpmntest.slix import SlixClient
from xpmntest.tcpproxy import TcpProxy

PASSWORD = 'c0rrect-h0rse'
DISCO_INFO = 'http://jabber.org/protocol/disco#info'
PING = 'urn:xmpp:ping'


class ProsodyCase(unittest.TestCase):
    """Each test gets its own Prosody (own port, data, certs) and work dir."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix='xpmn-it-')
        self.prosody = Prosody(os.path.join(self.workdir, 'prosody'))
        self.prosody.add_user('home', PASSWORD)
        self.prosody.start()
        self.cleanups = []

    def tearDown(self):
        failures = []
        for c in reversed(self.cleanups):
            try:
                c()
            except Exception as e:  # keep cleaning up, fail afterwards
                failures.append(e)
        self.prosody.stop()
        if os.environ.get('XPMN_KEEP_WORKDIR'):
            print('work dir kept:', self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if failures:
            raise failures[0]

    def bridge(self, name='bridge', port=None, **xmpp):
        x = xmpp_section(self.prosody, 'home', xmpp.pop('password', PASSWORD), **xmpp)
        if port:
            x['port'] = port
        b = Bridge(self.workdir, x, name=name)
        b.start()
        self.cleanups.append(b.kill)
        self.cleanups.append(b.stop)  # checks the exit code
        return b

    def slix(self, resource='phone', **kw):
        c = SlixClient(self.prosody.jid('home', resource), PASSWORD, '127.0.0.1', self.prosody.c2s_port,
                       self.prosody.ca_file, **kw)
        self.cleanups.append(c.close)
        c.connect()
        return c

    def xpmn_config(self, **xmpp):
        self.configs = getattr(self, 'configs', 0) + 1
        path = os.path.join(self.workdir, 'xpmn-%d.toml' % self.configs)
        return write_config(path, {'xmpp': xmpp_section(self.prosody, 'home', xmpp.pop('password', PASSWORD), **xmpp),
                                   'bridge': {'state_dir': os.path.join(self.workdir, 'xpmn-state')}})


class TestBridgeC2s(ProsodyCase):

    def bridge_behind_proxy(self, **xmpp):
        """A bridge connected through a fault-injecting proxy, seen online by a phone."""
        proxy = TcpProxy(self.prosody.c2s_port)
        proxy.start()
        self.cleanups.append(proxy.stop)
        b = self.bridge(port=proxy.listen_port, **xmpp)
        phone = self.slix()
        phone.wait_presence(self.prosody.jid('home', 'bridge'), timeout=15)
        return proxy, b, phone

    def ask_concurrently(self, phone, jid, n, prefix):
        """Sends n disco#info requests from threads; returns (join() -> results dict, errors list)."""
        results, errors = {}, []

        def ask(i):
            try:
                results[i] = phone.send_iq_raw(
                    "<iq type='get' to='%s' id='%s%d'><query xmlns='%s'/></iq>" % (jid, prefix, i, DISCO_INFO),
                    timeout=30)
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()

        def join():
            for t in threads:
                t.join(40)
            self.assertEqual(errors, [])
            self.assertEqual(sorted(results), list(range(n)))
            return results
        return join


    def test_login_with_each_offered_sasl_mechanism(self):
        probe = self.slix('probe')
        offered = [m for m in probe.sasl_mechanisms if not m.endswith('-PLUS')]
        supported = [m for m in offered if m in ('SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN', 'EXTERNAL')]
        self.assertIn('SCRAM-SHA-1', supported, offered)
        for mech in supported:
            with self.subTest(mechanism=mech):
                r = run_xpmn(self.xpmn_config(sasl_mechanisms=[mech]), '-v', 'devices')
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn('authenticating with %s' % mech, r.stderr)
                self.assertIn('online as home@xpmn.test/xpmn-', r.stderr)
                self.assertNotIn(PASSWORD, r.stderr + r.stdout)
        # Without a restriction the strongest offered mechanism is used.
        r = run_xpmn(self.xpmn_config(), '-v', 'devices')
        best = 'SCRAM-SHA-256' if 'SCRAM-SHA-256' in supported else 'SCRAM-SHA-1'
        self.assertIn('authenticating with %s' % best, r.stderr)

    def test_wrong_password_is_reported_and_retried_with_backoff(self):
        b = self.bridge(password='not-the-password')
        b.wait_for_log('reconnecting in', timeout=15)
        b.wait_for_log('(attempt 3)', timeout=15)
        log = b.log_text()
        self.assertIn('authentication as home@xpmn.test failed: not-authorized (wrong user name or password?)', log)
        self.assertNotIn('not-the-password', log)
        delays = [float(d) for d in re.findall(r'reconnecting in ([0-9.]+) s', log)]
        # 1 s doubling, jitter takes off at most a quarter.
        for i, d in enumerate(delays[:3]):
            self.assertGreaterEqual(d, 0.75 * 2 ** i - 0.05, delays)
            self.assertLessEqual(d, 2 ** i + 0.05, delays)
        # The CLI gives up with the reason instead of retrying forever.
        r = run_xpmn(self.xpmn_config(password='wrong'), '--timeout', '3', 'devices')
        self.assertEqual(r.returncode, 1)
        self.assertIn('timed out after 3 s (last error: authentication as home@xpmn.test failed: not-authorized',
                      r.stderr)

    def test_untrusted_server_certificate_is_refused(self):
        foreign = TestPKI(os.path.join(self.workdir, 'foreign-pki'))
        r = run_xpmn(self.xpmn_config(ca_file=foreign.ca_cert), '--timeout', '3', 'devices')
        self.assertEqual(r.returncode, 1)
        self.assertIn('certificate verification failed', r.stderr)
        # A pinned fingerprint replaces CA checks: right pin works, wrong pin fails.
        good = self.xpmn_config(ca_file=foreign.ca_cert, tls_fingerprint=self.prosody.fingerprint)
        self.assertEqual(run_xpmn(good, 'devices').returncode, 0)
        bad = self.xpmn_config(tls_fingerprint='00' * 32)
        r = run_xpmn(bad, '--timeout', '3', 'devices')
        self.assertEqual(r.returncode, 1)
        self.assertIn('does not match the pinned', r.stderr)

    def test_disco_of_the_bridge_from_slixmpp(self):
        self.bridge()
        phone = self.slix()
        bridge_jid = self.prosody.jid('home', 'bridge')
        phone.wait_presence(bridge_jid, timeout=15)
        info = phone.disco_info(bridge_jid)
        self.assertIn(('automation', 'gateway', 'xpmn-bridge'), info['identities'])
        self.assertIn(DISCO_INFO, info['features'])
        self.assertIn(PING, info['features'])
        phone.ping(bridge_jid)
        # Unknown payloads: service-unavailable, never silence.
        reply = phone.send_iq_raw("<iq type='get' to='%s' id='u1'><x xmlns='urn:example:unknown'/></iq>"
                                  % bridge_jid)
        self.assertIn("type=\"error\"", reply.replace("'", '"'))
        self.assertIn('service-unavailable', reply)
        # Every error carries a <text/> (wire profile §8): an unknown namespace,
        # a profile request to /bridge, an unknown element, the wrong IQ type.
        stanzas_ns = '{urn:ietf:params:xml:ns:xmpp-stanzas}'
        for n, (payload, iq_type) in enumerate((("<x xmlns='urn:example:unknown'/>", 'get'),
                                 ("<browse xmlns='urn:xmpp:media:server:0' id='0'/>", 'get'),
                                 ("<teleport xmlns='%s'/>" % DISCO_INFO, 'get'),
                                 ("<query xmlns='%s'/>" % DISCO_INFO, 'set'))):
            raw = phone.send_iq_raw("<iq type='%s' to='%s' id='t%d'>%s</iq>" % (iq_type, bridge_jid, n, payload))
            error = next((c for c in ET.fromstring(raw) if c.tag.rsplit('}', 1)[-1] == 'error'), None)
            self.assertIsNotNone(error, raw)
            self.assertEqual(error.get('type'), 'cancel', raw)
            self.assertIsNotNone(error.find(stanzas_ns + 'service-unavailable'), raw)
            text = error.find(stanzas_ns + 'text')
            self.assertTrue(text is not None and text.text, raw)
        # The XEP-0115 caps in its presence match its disco#info (ver computed here, §5.1).
        caps = ET.fromstring(phone.presence_xml[bridge_jid]).find('{http://jabber.org/protocol/caps}c')
        self.assertIsNotNone(caps, phone.presence_xml[bridge_jid])
        self.assertEqual(caps.get('hash'), 'sha-1')
        self.assertEqual(caps.get('node'), 'https://xpmn.org/xpmn-bridge')
        raw = phone.send_iq_raw("<iq type='get' to='%s' id='c1'><query xmlns='%s'/></iq>" % (bridge_jid, DISCO_INFO))
        query = ET.fromstring(raw).find('{%s}query' % DISCO_INFO)
        idents = sorted('%s/%s/%s/%s' % (i.get('category'), i.get('type'), i.get('{http://www.w3.org/XML/1998/namespace}lang', ''),
                                         i.get('name', '')) for i in query.findall('{%s}identity' % DISCO_INFO))
        feats = sorted(f.get('var') for f in query.findall('{%s}feature' % DISCO_INFO))
        s = ''.join(x + '<' for x in idents + feats)
        self.assertEqual(caps.get('ver'), base64.b64encode(hashlib.sha1(s.encode()).digest()).decode())

    def test_xpmn_devices_and_disco(self):
        self.bridge()
        phone = self.slix()
        phone.wait_presence(self.prosody.jid('home', 'bridge'), timeout=15)
        r = run_xpmn(self.xpmn_config(), 'devices')
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        bridge_lines = [l for l in lines if l.startswith('home@xpmn.test/bridge ')]
        self.assertEqual(len(bridge_lines), 1, r.stdout)
        self.assertIn('automation/gateway "xpmn-bridge"', bridge_lines[0])
        self.assertTrue(any(l.startswith('home@xpmn.test/phone ') for l in lines), r.stdout)
        self.assertIn('features: ' + DISCO_INFO, r.stdout)
        r = run_xpmn(self.xpmn_config(), 'disco', 'bridge')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('identity automation/gateway "xpmn-bridge"', r.stdout)
        self.assertIn('feature ' + PING, r.stdout)
        # The account's own domain is the server, not a resource of the account.
        r = run_xpmn(self.xpmn_config(), 'disco', self.prosody.domain)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('identity server/', r.stdout)
        r = run_xpmn(self.xpmn_config(), '--timeout', '10', 'disco', 'nobody-here')
        self.assertEqual(r.returncode, 1)
        self.assertIn('failed: service-unavailable', r.stderr)

    def test_back_online_after_server_restart(self):
        b = self.bridge()
        bridge_jid = self.prosody.jid('home', 'bridge')
        b.wait_for_log('online as', timeout=15)
        mark = b.log_mark()
        self.prosody.kill()
        b.wait_for_log('connection lost', start=mark, timeout=10)
        self.prosody.start()
        # Backoff 1, 2, 4 s (minus jitter): back within the first few attempts.
        b.wait_for_log('online as', start=mark, timeout=20)
        phone = self.slix()
        phone.wait_presence(bridge_jid, timeout=10)
        self.assertIn(('automation', 'gateway', 'xpmn-bridge'), phone.disco_info(bridge_jid)['identities'])

    def test_resume_after_cut_loses_no_iq_response(self):
        proxy, b, phone = self.bridge_behind_proxy()
        bridge_jid = self.prosody.jid('home', 'bridge')
        mark = b.log_mark()
        # Hold the bridge's connection, send requests into it, then cut it:
        # the server keeps them for the hibernating session.
        proxy.stall()
        join = self.ask_concurrently(phone, bridge_jid, 5, 'r')
        time.sleep(0.5)  # let the requests reach the held connection
        self.assertEqual(proxy.cut_all(), 1)
        proxy.unstall()
        for reply in join().values():
            self.assertIn('xpmn-bridge', reply)
        b.wait_for_log('session resumed', start=mark, timeout=5)
        # No unavailable presence was broadcast: the session survived.
        self.assertEqual(phone.presence_of(bridge_jid), 'available')

    def test_resume_resends_responses_the_server_never_got(self):
        proxy, b, phone = self.bridge_behind_proxy()
        bridge_jid = self.prosody.jid('home', 'bridge')
        mark = b.log_mark()
        # Requests reach the bridge, its answers are held and then lost with
        # the connection: only the bridge's own XEP-0198 queue can deliver them.
        proxy.stall_upstream()
        join = self.ask_concurrently(phone, bridge_jid, 5, 's')
        time.sleep(1.0)  # let the answers pile up in the held direction
        self.assertEqual(proxy.cut_all(), 1)
        proxy.unstall_upstream()
        join()
        b.wait_for_log('session resumed', start=mark, timeout=5)
        resent = [int(n) for n in re.findall(r'resending (\d+) unacknowledged', b.log_text()[mark:])]
        self.assertTrue(resent and resent[0] >= 1, b.log_text()[mark:])

    def test_silent_connection_is_detected_by_ping(self):
        proxy, b, phone = self.bridge_behind_proxy(ping_interval=1, iq_timeout=2)
        # A second ping is only sent once the first was answered.
        first = b.wait_for_log('liveness ping', timeout=5)
        b.wait_for_log('liveness ping', start=first + 1, timeout=5)
        mark = b.log_mark()
        # The TCP connection stays open but nothing gets through: only the
        # liveness ping can notice.
        proxy.stall()
        b.wait_for_log('the server did not answer a ping', start=mark, timeout=10)
        proxy.unstall()
        b.wait_for_log('session resumed', start=mark, timeout=15)

    def test_config_errors_stop_before_connecting(self):
        bad = os.path.join(self.workdir, 'bad.toml')
        with open(bad, 'w') as f:
            f.write('[xmpp]\njid = "home@xpmn.test"\npassword = "x"\nport = "5222"\nnonsense = 1\n')
        r = check_config(bad)
        self.assertEqual(r.returncode, 2)
        self.assertIn('bad.toml:4: xmpp.port must be an integer', r.stderr)
        self.assertIn("bad.toml:5: unknown key 'nonsense' in [xmpp]", r.stderr)
        b = Bridge(self.workdir, {}, name='bad')
        b.config = bad
        b.start()
        self.assertEqual(b.proc.wait(10), 2)
        b.stop(expect=2)
        self.assertNotIn('connecting', b.log_text())
        good = write_config(os.path.join(self.workdir, 'good.toml'),
                            {'xmpp': xmpp_section(self.prosody, 'home', PASSWORD)})
        r = check_config(good)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('OK', r.stdout)


if __name__ == '__main__':
    unittest.main()


class TestSaslExternal(unittest.TestCase):
    """SASL EXTERNAL with a client certificate (XEP-0178), against Prosody
    with mod_auth_ccert from Debian's prosody-modules."""

    def test_login_with_client_certificate(self):
        workdir = tempfile.mkdtemp(prefix='xpmn-ext-')
        if not os.environ.get('XPMN_KEEP_WORKDIR'):
            self.addCleanup(shutil.rmtree, workdir, True)
        pki = TestPKI(os.path.join(workdir, 'pki'))
        prosody = Prosody(os.path.join(workdir, 'prosody'), pki=pki,
                          extra_global_config='c2s_ssl = { cafile = "%s"; capath = false; '
                                              'verify = { "peer"; "client_once" }; }' % pki.ca_cert,
                          extra_host_config='authentication = "ccert"\ncertificate_match = "xmppaddr"')
        prosody.start()
        self.addCleanup(prosody.stop)
        cert = pki.client_cert(prosody.jid('home'))
        config = write_config(os.path.join(workdir, 'ext.toml'), {
            'xmpp': {'jid': prosody.jid('home'), 'server': '127.0.0.1', 'port': prosody.c2s_port,
                     'ca_file': prosody.ca_file, 'client_cert': cert.cert, 'client_key': cert.key},
            'bridge': {'state_dir': os.path.join(workdir, 'state')}})
        r = run_xpmn(config, '-v', 'devices')
        self.assertEqual(r.returncode, 0, r.stderr + prosody.diagnostics())
        self.assertIn('authenticating with EXTERNAL', r.stderr)
        self.assertIn('online as home@xpmn.test/xpmn-', r.stderr)
        # A certificate for another account is refused.
        other = pki.client_cert(prosody.jid('intruder'))
        bad = write_config(os.path.join(workdir, 'bad.toml'), {
            'xmpp': {'jid': prosody.jid('home'), 'server': '127.0.0.1', 'port': prosody.c2s_port,
                     'ca_file': prosody.ca_file, 'client_cert': other.cert, 'client_key': other.key},
            'bridge': {'state_dir': os.path.join(workdir, 'state')}})
        r = run_xpmn(bad, '--timeout', '3', 'devices')
        self.assertEqual(r.returncode, 1)
        self.assertIn('logged us in as intruder@xpmn.test, not as the configured home@xpmn.test', r.stderr)
