"""Proves the ejabberd fixture (xpmntest.ejabberd): a private ejabberd 23.01
on loopback only (c2s and Erlang distribution, no epmd), accounts registered
through its control interface, STARTTLS + SCRAM with slixmpp (message and IQ
between two accounts), the project's own `xpmn` CLI against it, restart, and
nothing left running after stop(). One test runs the same exchange against
Prosody and ejabberd: the pattern for tests parametrised over both servers.

    /usr/bin/python3 -m unittest -v test_ejabberd_fixture
"""
import os
import shutil
import tempfile
import unittest
import xml.etree.ElementTree as ET

from xpmntest import procfs
from xpmntest.bridge import class_workdir, run_xpmn, write_config, xmpp_section
from xpmntest.ejabberd import Ejabberd
from xpmntest.prosody import Prosody
from xpmntest.slix import SlixClient

PING = 'urn:xmpp:ping'
SM = 'urn:xmpp:sm:3'
TLS = 'urn:ietf:params:xml:ns:xmpp-tls'


class EjabberdFixtureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        class_workdir(cls, 'xpmn-ejabberd-')
        cls.srv = Ejabberd(os.path.join(cls.workdir, 'ejabberd'))
        cls.addClassCleanup(cls.srv.kill)   # after stop(): a no-op; on failure: no orphans
        cls.srv.add_user('alice', 'alice-pw')
        cls.srv.add_user('bob', 'bob-pw')
        cls.srv.start()
        cls.addClassCleanup(cls.srv.stop)

    def client(self, user, resource, srv=None, password=None, **kw):
        srv = srv or self.srv
        c = SlixClient(srv.jid(user, resource), password or user + '-pw',
                       port=srv.c2s_port, ca_file=srv.ca_file, **kw)
        self.addCleanup(c.close)
        return c

    def test_1_loopback_only_and_no_epmd(self):
        pids = self.srv.session_pids()
        self.assertIn(self.srv.pid, pids)
        self.assertNotIn('epmd', [procfs.process_name(p) for p in pids])
        listening = procfs.listening_tcp(pids)
        ports = {p for _, p in listening}
        self.assertIn(self.srv.c2s_port, ports, listening)
        self.assertIn(self.srv.dist_port, ports, listening)   # ejabberdctl's way in
        for addr, port in listening:
            self.assertIn(addr, ('127.0.0.1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'),
                          'listening on %s:%d' % (addr, port))
        # No port mapper anywhere on the private epmd port, nor one started by us.
        self.assertNotIn(self.srv.epmd_port, {p for _, p in procfs.listening_tcp(
            procfs.all_pids())})

    def test_2_two_accounts_starttls_scram_message_and_iq(self):
        a = self.client('alice', 'a').connect()
        b = self.client('bob', 'b').connect()
        self.assertIn('SCRAM-SHA-256', a.sasl_mechanisms)
        self.assertIn('SCRAM-SHA-1', a.sasl_mechanisms)
        features = ET.fromstring(a.stream_features[0])
        self.assertIsNotNone(features.find('{%s}starttls/{%s}required' % (TLS, TLS)))
        a.send_raw("<message to='%s' type='chat'><body>hello from alice</body></message>"
                   % b.full_jid)
        got = b.wait_message('hello from alice')
        self.assertIn("from=\"%s\"" % a.full_jid, got)
        reply = a.send_iq_raw("<iq type='get' to='%s'><ping xmlns='%s'/></iq>" % (b.full_jid, PING))
        self.assertIn('type="result"', reply)
        info = a.disco_info(self.srv.domain)
        self.assertIn(('server', 'im', None), [(c, t, None) for c, t, _ in info['identities']])
        self.assertIn(SM, ''.join(a.stream_features))   # mod_stream_mgmt offered

    def test_3_accounts_while_running(self):
        self.assertEqual(self.srv.registered_users()[:2], ['alice', 'bob'])
        self.srv.add_user('carol', 'carol-pw')
        self.client('carol', 'c').connect()
        self.srv.add_user('carol', 'new-pw')                   # overwrite = new password
        self.client('carol', 'd', password='new-pw').connect()
        with self.assertRaises(AssertionError):
            self.client('carol', 'e', password='carol-pw').connect(timeout=10)
        self.srv.remove_user('carol')
        self.assertNotIn('carol', self.srv.registered_users())

    def test_4_xpmn_cli_disco_of_the_server(self):
        # The project's C++ c2s stack (STARTTLS verified with the CA, SASL,
        # bind) against ejabberd, then a disco#info of the domain.
        config = write_config(os.path.join(self.workdir, 'xpmn.toml'), {
            'xmpp': xmpp_section(self.srv, 'alice', 'alice-pw'),
            'bridge': {'state_dir': os.path.join(self.workdir, 'xpmn-state')}})
        r = run_xpmn(config, 'disco', self.srv.domain)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('identity server/im', r.stdout)
        self.assertIn('feature ' + PING, r.stdout)

    def test_5_second_instance_restart_and_clean_stop(self):
        other = Ejabberd(os.path.join(self.workdir, 'other'), domain='other.test',
                         password_format='scram')
        self.addCleanup(other.kill)
        other.add_user('dave', 'dave-pw')
        with other:
            self.assertNotEqual(other.node, self.srv.node)
            self.assertNotEqual(other.cookie, self.srv.cookie)
            c = self.client('dave', 'x', srv=other).connect()
            self.assertEqual(c.full_jid, 'dave@other.test/x')
            # Only the stored hash's SCRAM variant (and PLAIN, checked against it).
            self.assertEqual(sorted(c.sasl_mechanisms), ['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-1-PLUS'])
            other.restart()
            c.wait_disconnected(15)
            self.client('dave', 'y', srv=other).connect()           # accounts survive
            pid = other.pid
        self.assertFalse(other.running)
        self.assertEqual(other.session_pids(), [])
        self.assertEqual(procfs.pids_mentioning(other.node), [])
        self.assertFalse(os.path.exists('/proc/%d' % pid))
        self.assertIn('SIGTERM received', other.log_text())
        # kill() leaves nothing either.
        other.start()
        other.kill()
        self.assertEqual(procfs.pids_mentioning(other.node), [])


class BothServersTest(unittest.TestCase):
    """The same exchange against Prosody and ejabberd (subTest per server)."""

    SERVERS = (('prosody', Prosody), ('ejabberd', Ejabberd))

    def test_message_and_iq_on_each_server(self):
        workdir = tempfile.mkdtemp(prefix='xpmn-both-')
        if not os.environ.get('XPMN_KEEP_WORKDIR'):
            self.addCleanup(shutil.rmtree, workdir, True)
        for name, cls in self.SERVERS:
            with self.subTest(server=name):
                srv = cls(os.path.join(workdir, name))
                self.addCleanup(srv.kill)
                srv.add_user('alice', 'pw-a')
                srv.add_user('bob', 'pw-b')
                with srv:
                    a = SlixClient(srv.jid('alice', 'r'), 'pw-a', port=srv.c2s_port, ca_file=srv.ca_file)
                    b = SlixClient(srv.jid('bob', 'r'), 'pw-b', port=srv.c2s_port, ca_file=srv.ca_file)
                    self.addCleanup(a.close)
                    self.addCleanup(b.close)
                    a.connect()
                    b.connect()
                    a.send_raw("<message to='%s'><body>hi %s</body></message>" % (b.full_jid, name))
                    b.wait_message('hi ' + name)
                    reply = b.send_iq_raw("<iq type='get' to='%s'><ping xmlns='%s'/></iq>"
                                          % (a.full_jid, PING))
                    self.assertIn('type="result"', reply)
                    a.close()
                    b.close()


if __name__ == '__main__':
    unittest.main(verbosity=2)
