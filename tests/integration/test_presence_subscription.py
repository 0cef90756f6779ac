"""Presence subscriptions to the home account (wire profile §2): approved
only for the bare JIDs of paired friends. A real XMPP server (Prosody, then
ejabberd), minidlna, the bridge; the friend's client is slixmpp (account
`friend`), its pairing is done with `xpmn` configured for that account.

- before pairing, the friend's subscription request stays pending: its
  roster item has no subscription to the home account, and no `subscribed`
  arrives (checked after a round trip through the bridge, which answers a
  subscription request at once when it answers at all);
- pairing approves the pending request (the bridge pre-approves a friend
  right after it paired), and the friend then gets the presence of the
  bridge's devices;
- a new request of a paired friend is answered `subscribed`.

The module runs inside a fresh network namespace (xpmntest.netns).
"""
import unittest

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'presence-s3cret'
NAS_NAME = 'Presence NAS'


if not inside_namespace():
    InNamespace = module_in_namespace('test_presence_subscription', prefix='xpmn-pres')

else:
    from xpmntest.bridge import class_workdir, controller_config, open_pairing, run_xpmn, start_secure_home
    from xpmntest.ejabberd import Ejabberd
    from xpmntest.prosody import Prosody
    from xpmntest.slix import SlixClient

    class PresenceBase:
        """The tests, run once per XMPP server (the subclasses)."""
        server_class = None

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-presence-')
            start_secure_home(cls, cls.server_class, PASSWORD, NAS_NAME, users=('home', 'friend'))
            cls.home = cls.server.jid('home')
            cls.friend_config = controller_config(cls.workdir, cls.server, 'friend', PASSWORD, 'friend')

        def friend_client(self):
            c = SlixClient(self.server.jid('friend', 'phone'), PASSWORD, port=self.server.c2s_port,
                           ca_file=self.server.ca_file)
            self.addCleanup(c.close)
            c.connect()

            def subscription():
                item = c.xmpp.client_roster[self.home]
                return item['subscription'], bool(item['pending_out'])

            def changed(_event):
                c._record('subscription', subscription()[0])
            # Roster pushes go to resources that asked for the roster (RFC 6121 §2.1.6).
            async def get_roster():
                await c.xmpp.get_roster(timeout=10)
            c._call(get_roster(), 15, 'roster of the friend')
            c._call_sync(lambda: (c.xmpp.add_event_handler('roster_update', changed),
                                  c.xmpp.add_event_handler('roster_subscription_authorized', changed)), 5, 'handlers')
            c.subscription = lambda: c._call_sync(subscription, 5, 'roster item of the home account')
            return c

        def round_trip_through_bridge(self, client):
            """A reply from BARE/bridge: it has handled what the client sent before."""
            client.send_iq_raw("<iq type='get' to='%s/bridge'><query xmlns='http://jabber.org/protocol/disco#info'/>"
                               "</iq>" % self.home)

        def wait_subscription(self, client, states=('to', 'both')):
            client._wait(lambda: any(name == 'subscription' and detail in states
                                     for name, detail in list(client._events)), 20,
                         'a subscription to %s' % self.home)

        def test_only_a_paired_friend_is_approved(self):
            friend = self.friend_client()
            friend.send_presence(pto=self.home, ptype='subscribe')
            self.round_trip_through_bridge(friend)
            self.round_trip_through_bridge(friend)
            self.assertEqual(friend.subscription(), ('none', True))  # asked, not approved
            self.assertIsNone(friend.presence_of(self.home + '/bridge'))

            pin, _ = open_pairing(self.bridge)
            r = run_xpmn(self.friend_config, 'pair', self.home + '/bridge', '--pin', pin)
            self.assertEqual(r.returncode, 0, r.stderr)
            # The pending request is approved right after pairing …
            self.wait_subscription(friend)
            self.assertIn(friend.subscription()[0], ('to', 'both'))
            # … and the friend sees the bridge's devices come and go from now on.
            friend.wait_presence(self.home + '/bridge', timeout=20)
            friend.wait_presence(self.device, timeout=20)

            # A new request (after unsubscribing) is answered by the bridge itself.
            mark = friend.event_mark()
            friend.send_presence(pto=self.home, ptype='unsubscribe')
            friend._wait(lambda: any(n == 'subscription' and d in ('none', 'from')
                                     for n, d in list(friend._events)[mark:]), 20, 'unsubscribed')
            mark = friend.event_mark()
            friend.send_presence(pto=self.home, ptype='subscribe')
            friend._wait(lambda: any(n == 'subscription' and d in ('to', 'both')
                                     for n, d in list(friend._events)[mark:]), 20, 'approved again')

    class TestPresenceProsody(PresenceBase, unittest.TestCase):
        server_class = Prosody

    class TestPresenceEjabberd(PresenceBase, unittest.TestCase):
        server_class = Ejabberd


if __name__ == '__main__':
    unittest.main(verbosity=2)
