"""xpmn-bridge against a scripted XMPP server that does what Prosody never
does: lie about XEP-0198 counters. Prosody is no use here; the fake server
(xpmntest.fake_xmpp) speaks just enough c2s to get the bridge online.
"""
import os
import shutil
import tempfile
import threading
import unittest

from xpmntest.bridge import Bridge
from xpmntest.fake_server import BIND_NS, CLIENT_NS, SM_NS, STREAM_NS, STREAMS_ERR_NS, tag
from xpmntest.fake_xmpp import FakeXmppServer

PINGS = 3


class TestLyingServer(unittest.TestCase):

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix='xpmn-faults-')

    def tearDown(self):
        if os.environ.get('XPMN_KEEP_WORKDIR'):
            print('work dir kept:', self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def run_bridge(self, server):
        xmpp = {'jid': '%s@%s' % (server.user, server.domain), 'password': 'any', 'server': '127.0.0.1',
                'port': server.port, 'ca_file': server.ca_file, 'sasl_mechanisms': ['PLAIN']}
        b = Bridge(self.workdir, xmpp)
        b.start()
        self.addCleanup(b.kill)
        self.addCleanup(b.stop)
        return b

    def assert_stream_error(self, elements, condition):
        errors = [e for e in elements if e.tag == tag(STREAM_NS, 'error')]
        self.assertTrue(errors, 'no stream error; the bridge sent %s' % [e.tag for e in elements])
        self.assertIsNotNone(errors[0].find(tag(STREAMS_ERR_NS, condition)))

    def online_with_answers(self, conn, first, sm_id):
        """Binds, enables resumable stream management and has the bridge answer
        pings; returns the ids answered, in order, and what else it sent."""
        assert first is not None and first.find(tag(BIND_NS, 'bind')) is not None, first
        conn.bind(first)
        conn.expect('enable', SM_NS)
        conn.send("<enabled xmlns='%s' id='%s' resume='true'/>" % (SM_NS, sm_id))
        for i in range(PINGS):
            conn.send("<iq type='get' id='%s-p%d' from='xpmn.test'><ping xmlns='urn:xmpp:ping'/></iq>" % (sm_id, i))
        answered, other = [], []
        while len(answered) < PINGS:
            el = conn.recv()
            assert el is not None, 'the bridge closed the stream'
            if el.tag == tag(CLIENT_NS, 'iq') and el.get('type') == 'result':
                answered.append(el.get('id'))
            else:
                other.append(el)
        return answered, other

    def test_ack_acknowledging_more_than_was_sent_is_a_stream_error(self):
        seen = {}
        second = threading.Event()

        def script(conn, n):
            conn.negotiate()
            first = conn.recv()
            if n == 1:
                self.online_with_answers(conn, first, 'sm-1')
                conn.send("<a xmlns='%s' h='1000'/>" % SM_NS)
                seen['after'] = conn.recv_all(timeout=10)
            else:
                # A new session: whatever the bridge resends comes before the
                # answer to a fresh ping (it is written as soon as it is online).
                seen['second'] = first
                if first is None or first.tag != tag(CLIENT_NS, 'iq'):
                    second.set()  # not a new session (a resume?): the test fails on it
                    return
                answered, other = self.online_with_answers(conn, first, 'sm-%d' % n)
                seen['second_stanzas'] = other
                second.set()
                conn.recv(timeout=10)

        with FakeXmppServer(os.path.join(self.workdir, 'pki'), script) as server:
            self.run_bridge(server)
            self.assertTrue(second.wait(40), 'the bridge did not reconnect')
            server.check()
            self.assert_stream_error(seen['after'], 'undefined-condition')
            # Not resumed, and the first session's answers are not sent again.
            self.assertIsNotNone(seen['second'].find(tag(BIND_NS, 'bind')), seen['second'].tag)
            resent = [e.get('id') for e in seen.get('second_stanzas', [])
                      if e.tag == tag(CLIENT_NS, 'iq') and e.get('id', '').startswith('sm-1-')]
            self.assertEqual(resent, [])

    def test_resumed_acknowledging_more_than_was_sent_is_a_stream_error(self):
        seen = {}
        resumed_done = threading.Event()
        third = threading.Event()

        def script(conn, n):
            conn.negotiate()
            first = conn.recv()
            if n == 1:
                # Online with resumable stream management; the bridge answers
                # pings, then the link dies before the server acked anything.
                self.online_with_answers(conn, first, 'sm-1')
                conn.reset()
            elif n == 2:
                # Resumption, with an h far beyond the handful of stanzas sent.
                seen['resume'] = first
                conn.send("<resumed xmlns='%s' previd='sm-1' h='1000'/>" % SM_NS)
                seen['after'] = conn.recv_all(timeout=10)
                resumed_done.set()
            else:
                seen['third'] = first
                third.set()
                conn.recv(timeout=10)

        with FakeXmppServer(os.path.join(self.workdir, 'pki'), script) as server:
            self.run_bridge(server)
            self.assertTrue(resumed_done.wait(40), 'the bridge never tried to resume')
            server.check()
            self.assertEqual(seen['resume'].tag, tag(SM_NS, 'resume'))
            after = seen['after']
            self.assert_stream_error(after, 'undefined-condition')
            # Nothing resent into the session it cannot trust.
            self.assertEqual([e for e in after if e.tag.startswith('{%s}' % CLIENT_NS)], [])
            # The next connection starts a new session instead of resuming that one.
            self.assertTrue(third.wait(40), 'the bridge did not reconnect')
            self.assertIsNotNone(seen['third'].find(tag(BIND_NS, 'bind')), seen['third'].tag)
            server.check()


if __name__ == '__main__':
    unittest.main()
