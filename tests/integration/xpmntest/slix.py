"""slixmpp clients for tests, with a blocking, thread-safe API and bounded waits.

Each SlixClient runs its own asyncio loop in a background thread; every public
method hands work to that loop and waits for the outcome with a timeout, and
every failure (timeout, auth failure, TLS failure, error reply where a result
was expected) raises AssertionError with a message naming the client.

    c = SlixClient('alice@xpmn.test/a', 'pw', port=srv.c2s_port, ca_file=srv.ca_file)
    c.connect()                                    # STARTTLS (required), verified with ca_file
    c.wait_presence('alice@xpmn.test/b')           # available (or available=False)
    info = c.disco_info('alice@xpmn.test/b')       # {'identities': [(cat, type, name)], 'features': [...]}
    reply = c.send_iq_raw('<iq type="get" to="xpmn.test"><ping xmlns="urn:xmpp:ping"/></iq>')
    c.ping('xpmn.test'); c.disconnect()

Plugins loaded by default: xep_0030 (disco, answers disco#info), xep_0199
(ping, answers pings). Pass plugins=(...) for more (e.g. 'xep_0198').

netns=NS runs the client's loop thread inside a network namespace (a
netns.NetNs or a topology namespace): every socket it makes (the stream,
SOCKS5 connections) lives there, as for a client on that host.

SOCKS5 bytestreams (XEP-0065, plugin 'xep_0065') through the server's proxy:
    b.s5b_accept()                                  # accept offers, keep what arrives
    sid = a.s5b_send(b.full_jid, b'data')           # discover proxy, offer, activate, send
    b.s5b_wait_received(sid, 4)                     # -> b'data'
"""
import asyncio
import concurrent.futures
import logging
import threading
import time
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

CLIENT_NS = 'jabber:client'
SASL_NS = 'urn:ietf:params:xml:ns:xmpp-sasl'
STREAM_NS = 'http://etherx.jabber.org/streams'

log = logging.getLogger(__name__)


class SlixClient:
    def __init__(self, jid, password, host='127.0.0.1', port=5222, ca_file=None, *,
                 plugins=('xep_0030', 'xep_0199'), client_cert=None, client_key=None,
                 send_presence=True, priority=0, name=None, netns=None):
        self.jid = jid
        self.netns = netns
        self.password = password
        self.host = host
        self.port = port
        self.ca_file = ca_file
        self.plugins = tuple(plugins)
        self.client_cert = client_cert
        self.client_key = client_key
        self.send_initial_presence = send_presence
        self.priority = priority
        self.name = name or jid

        self._cond = threading.Condition()
        self._presence = {}        # full JID -> 'available' | 'unavailable'
        self._events = []          # (name, detail) in order, for diagnostics and waits
        self._session_started = False
        self._disconnected = True
        self.stream_features = []  # raw XML of every <stream:features> received
        self.sasl_mechanisms = []  # from the last features offering SASL
        self.messages = []         # raw XML of every message received
        self.presence_xml = {}     # full JID -> raw XML of its last presence
        self.s5b_received = {}     # sid -> bytes received over an accepted SOCKS5 bytestream
        self.s5b_closed = set()    # sids whose accepted bytestream was closed

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name='slix-' + self.name,
                                        daemon=True)
        self._thread.start()
        self.xmpp = self._call_sync(self._create, timeout=10, what='create client')

    # -- loop plumbing ------------------------------------------------------
    def _run_loop(self):
        asyncio.set_event_loop(self._loop)
        try:
            if self.netns is not None:
                # setns(2) moves only this thread: the loop's sockets are the namespace's.
                self.netns.enter_current_thread()
            self._loop.run_forever()
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
                for t in pending:
                    t.cancel()
                if pending:
                    self._loop.run_until_complete(
                        asyncio.wait(pending, timeout=2))
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            finally:
                self._loop.close()

    def _fail(self, msg):
        raise AssertionError('%s: %s (events: %s)' % (self.name, msg, self._event_summary()))

    def _event_summary(self):
        with self._cond:
            return ', '.join(n if d is None else '%s(%s)' % (n, d) for n, d in self._events[-12:])

    def _call(self, coro, timeout, what):
        """Runs `coro` on the client loop; returns its result within `timeout` s."""
        if not self._thread.is_alive():
            coro.close()
            self._fail('%s: client loop is closed' % what)
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            self._fail('%s timed out after %ss' % (what, timeout))

    def _call_sync(self, fn, timeout, what):
        async def run():
            return fn()
        return self._call(run(), timeout, what)

    def _record(self, name, detail=None):
        with self._cond:
            self._events.append((name, detail))
            self._cond.notify_all()

    def _wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            else:
                return
        self._fail('%s: not within %ss' % (what, timeout))

    # -- construction (on the loop thread) ----------------------------------
    def _create(self):
        x = slixmpp.ClientXMPP(self.jid, self.password)
        x.loop = self._loop
        if self.ca_file:
            x.ca_certs = self.ca_file
        if self.client_cert:
            x.certfile = self.client_cert
            x.keyfile = self.client_key
        x.whitespace_keepalive = False
        for p in self.plugins:
            x.register_plugin(p)
        x.add_event_handler('session_start', self._on_session_start)
        x.add_event_handler('disconnected', self._on_disconnected)
        x.add_event_handler('connection_failed', lambda e: self._record('connection_failed', e))
        x.add_event_handler('failed_auth', lambda e: self._record('failed_auth'))
        x.add_event_handler('failed_all_auth', lambda e: self._record('failed_all_auth'))
        x.add_event_handler('ssl_invalid_chain', self._on_ssl_invalid)
        x.add_event_handler('stream_error', lambda e: self._record('stream_error', e['condition']))
        x.add_event_handler('session_end', lambda e: self._record('session_end'))
        x.add_event_handler('session_resumed', self._on_session_resumed)
        x.add_event_handler('sm_enabled', lambda e: self._record('sm_enabled', e['id'] or None))
        x.add_event_handler('presence_available', self._on_presence)
        x.add_event_handler('presence_unavailable', self._on_presence)
        x.register_handler(Callback('xpmntest messages', MatchXPath('{jabber:client}message'),
                                    self._on_message))
        x.register_handler(Callback('xpmntest features',
                                    MatchXPath('{%s}features' % STREAM_NS),
                                    self._on_features))
        return x

    def _on_features(self, features):
        xml = features.xml
        with self._cond:
            self.stream_features.append(ET.tostring(xml, encoding='unicode'))
            mechs = xml.find('{%s}mechanisms' % SASL_NS)
            if mechs is not None:
                self.sasl_mechanisms = [m.text for m in mechs.findall('{%s}mechanism' % SASL_NS)]

    def _on_ssl_invalid(self, err):
        self._record('ssl_invalid_chain', err)
        self._abort_now()

    def _on_session_start(self, _event):
        if self.send_initial_presence:
            self.xmpp.send_presence(ppriority=self.priority)
        with self._cond:
            self._session_started = True
            self._disconnected = False
        self._record('session_start')

    def _on_session_resumed(self, _event):
        # XEP-0198 resumption (plugin xep_0198): no session_start, same session.
        with self._cond:
            self._session_started = True
            self._disconnected = False
        self._record('session_resumed')

    def _on_disconnected(self, reason):
        with self._cond:
            self._session_started = False
            self._disconnected = True
        self._record('disconnected', reason or None)

    def _on_message(self, msg):
        with self._cond:
            self.messages.append(ET.tostring(msg.xml, encoding='unicode'))
            self._cond.notify_all()

    def wait_message(self, text, timeout=10):
        """Waits for a received message whose XML contains `text`; returns that XML."""
        def pred():
            return next((m for m in self.messages if text in m), None)
        self._wait(pred, timeout, 'a message containing %r' % text)
        return pred()

    def _on_presence(self, pres):
        full = str(pres['from'])
        state = 'unavailable' if pres['type'] == 'unavailable' else 'available'
        with self._cond:
            self._presence[full] = state
            self.presence_xml[full] = ET.tostring(pres.xml, encoding='unicode')
        self._record('presence', '%s %s' % (full, state))

    # -- public API ---------------------------------------------------------
    @property
    def full_jid(self):
        return str(self.xmpp.boundjid.full)

    @property
    def connected(self):
        with self._cond:
            return self._session_started

    def connect(self, timeout=15):
        """Connects with STARTTLS (required) and waits for the session to start
        (or to be resumed, with plugin xep_0198 after a lost connection)."""
        with self._cond:
            self._session_started = False
            self._disconnected = False
            mark = len(self._events)

        def start():
            self.xmpp.connect((self.host, self.port), force_starttls=True)
        self._call_sync(start, 5, 'connect')

        def done():
            new = [n for n, _ in self._events[mark:]]
            return self._session_started or any(
                n in ('failed_all_auth', 'ssl_invalid_chain', 'stream_error', 'disconnected',
                      'connection_failed')  # slixmpp would retry forever: fail fast
                for n in new)
        try:
            self._wait(done, timeout, 'session start on %s:%d' % (self.host, self.port))
        except AssertionError:
            self._abort_quietly()
            raise
        if not self.connected:
            self._abort_quietly()
            self._fail('could not start a session on %s:%d' % (self.host, self.port))
        if 'xep_0198' in self.plugins:
            # <enable/> is negotiated after session_start: a connection lost
            # before <enabled/> could not be resumed.
            self._wait(lambda: any(n in ('sm_enabled', 'session_resumed')
                                   for n, _ in self._events[mark:]),
                       timeout, 'stream management (XEP-0198) enabled')
        return self

    def _abort_now(self):
        """On the loop: drop the connection (attempt) without a stream close."""
        x = self.xmpp
        x.cancel_connection_attempt()
        transport = x.transport
        if transport is not None:
            try:
                # Not x.abort(): its close()+abort() on an SSL transport raises
                # AttributeError on Python 3.11 (sslproto already torn down).
                transport.abort()
            except Exception:  # noqa: BLE001 - already closing
                pass

    def _abort_quietly(self):
        try:
            self._call_sync(self._abort_now, 5, 'abort')
        except AssertionError:
            pass

    def wait_session(self, timeout=15):
        """Waits until a session is (re-)established (e.g. after resumption)."""
        self._wait(lambda: self._session_started, timeout, 'session start')

    def wait_disconnected(self, timeout=10):
        self._wait(lambda: self._disconnected, timeout, 'disconnection')

    def wait_event(self, name, timeout=10, since=0):
        """Waits for an event recorded at index >= since; returns its detail."""
        found = []

        def pred():
            for n, d in self._events[since:]:
                if n == name:
                    found.append(d)
                    return True
            return False
        self._wait(pred, timeout, 'event %r' % name)
        return found[0]

    def event_mark(self):
        """Index to pass as `since` to wait_event() for events after now."""
        with self._cond:
            return len(self._events)

    def presence_of(self, full_jid):
        with self._cond:
            return self._presence.get(full_jid)

    def wait_presence(self, full_jid, available=True, timeout=10, since=None):
        """Waits until `full_jid`'s presence is `available` (or not); with `since`
        (an event_mark()), until such a presence was received after that mark, even
        if a later one has changed it again (a device may go and come back quickly)."""
        want = 'available' if available else 'unavailable'
        if since is None:
            pred = lambda: self._presence.get(full_jid) == want  # noqa: E731
        else:
            detail = '%s %s' % (full_jid, want)
            pred = lambda: any(n == 'presence' and d == detail for n, d in self._events[since:])  # noqa: E731
        self._wait(pred, timeout, 'presence %s from %s' % (want, full_jid))

    def disco_info(self, jid, node=None, timeout=10):
        """disco#info of `jid`: {'identities': [(category, type, name)], 'features': [...]}."""
        async def run():
            try:
                iq = await self.xmpp['xep_0030'].get_info(jid=jid, node=node, timeout=timeout)
            except IqError as e:
                return e
            except IqTimeout:
                return None
            info = iq['disco_info']
            return {
                'identities': sorted(((c, t, n) for c, t, _lang, n in info.get_identities()),
                                     key=lambda i: (i[0], i[1], i[2] or '')),
                'features': sorted(info.get_features()),
            }
        res = self._call(run(), timeout + 2, 'disco#info of %s' % jid)
        if res is None:
            self._fail('disco#info of %s: no reply within %ss' % (jid, timeout))
        if isinstance(res, IqError):
            self._fail('disco#info of %s: error reply %s' % (jid, res.iq))
        return res

    def send_iq_raw(self, xml_string, timeout=10):
        """Sends an <iq/> given as XML (id added if missing); returns the reply as XML
        (type result or error)."""
        try:
            root = ET.fromstring(xml_string)
        except ET.ParseError as e:
            raise AssertionError('send_iq_raw: bad XML %r: %s' % (xml_string, e)) from e
        for el in root.iter():
            if not el.tag.startswith('{'):
                el.tag = '{%s}%s' % (CLIENT_NS, el.tag)
        if root.tag != '{%s}iq' % CLIENT_NS:
            raise AssertionError('send_iq_raw: not an <iq/>: %r' % xml_string)

        async def run():
            iq = self.xmpp.Iq(xml=root)
            if not iq['id']:
                iq['id'] = self.xmpp.new_id()
            try:
                reply = await iq.send(timeout=timeout)
            except IqError as e:
                reply = e.iq
            except IqTimeout:
                return None
            return str(reply)
        res = self._call(run(), timeout + 2, 'send_iq_raw')
        if res is None:
            self._fail('no reply within %ss to %s' % (timeout, xml_string))
        return res

    def ping(self, jid=None, timeout=10):
        """XEP-0199 ping; returns the RTT in seconds."""
        async def run():
            try:
                return await self.xmpp['xep_0199'].ping(jid=jid, timeout=timeout)
            except IqError as e:
                return e
            except IqTimeout:
                return None
        res = self._call(run(), timeout + 2, 'ping %s' % jid)
        if res is None:
            self._fail('ping %s: no reply within %ss' % (jid, timeout))
        if isinstance(res, IqError):
            self._fail('ping %s: error reply %s' % (jid, res.iq))
        return res

    def send_presence(self, **kwargs):
        self._call_sync(lambda: self.xmpp.send_presence(**kwargs), 5, 'send_presence')

    def send_raw(self, data):
        self._call_sync(lambda: self.xmpp.send_raw(data), 5, 'send_raw')

    # -- SOCKS5 bytestreams (XEP-0065 through a proxy; needs plugin xep_0065) --
    def s5b_accept(self):
        """Accepts every offered bytestream; what arrives is kept in
        s5b_received[sid] (see s5b_wait_received)."""
        def setup():
            plugin = self.xmpp['xep_0065']
            plugin.auto_accept = True

            def on_stream(conn):
                # Fired right after our streamhost-used reply, so before the proxy
                # is activated and relays data. The plugin's data events name no
                # stream: give this one an event function that does.
                sid = next(s for s, c in plugin._sessions.items() if c is conn)
                conn.event = lambda name, data: self._on_s5b_event(sid, name, data)
            self.xmpp.add_event_handler('socks5_stream', on_stream)
        self._call_sync(setup, 5, 's5b_accept')

    def _on_s5b_event(self, sid, name, data):
        with self._cond:
            if name == 'socks5_data':
                self.s5b_received[sid] = self.s5b_received.get(sid, b'') + data
            elif name == 'socks5_closed':
                self.s5b_closed.add(sid)
            self._cond.notify_all()

    def s5b_wait_received(self, sid, size, timeout=20):
        """Waits until `size` bytes arrived on bytestream `sid`; returns them."""
        self._wait(lambda: len(self.s5b_received.get(sid, b'')) >= size, timeout,
                   '%d bytes on bytestream %s' % (size, sid))
        with self._cond:
            return self.s5b_received[sid]

    def s5b_proxies(self, timeout=10):
        """The proxies the plugin discovers on our server: {jid: (host, port)}."""
        async def run():
            return dict(await self.xmpp['xep_0065'].discover_proxies(timeout=timeout))
        return {str(j): (h, int(p)) for j, (h, p) in
                self._call(run(), timeout * 3, 's5b proxy discovery').items()}

    def s5b_send(self, to, data, timeout=20):
        """Opens a bytestream to `to` through the discovered proxy, sends `data`
        and closes it; returns its sid."""
        import uuid
        sid = uuid.uuid4().hex

        async def run():
            plugin = self.xmpp['xep_0065']
            conn = await plugin.handshake(to, sid=sid, timeout=timeout)
            if conn is None:
                return None
            await conn.write(data)
            conn.transport.close()
            return sid
        res = self._call(run(), timeout * 2, 'bytestream to %s' % to)
        if res is None:
            self._fail('bytestream to %s: the proxy could not be used' % to)
        return res

    def disconnect(self, timeout=5):
        """Closes the stream (waits for the server's close, then aborts)."""
        if not self._thread.is_alive():
            return

        async def run():
            if self.xmpp.transport is None:
                self.xmpp.cancel_connection_attempt()
                return
            await self.xmpp.disconnect(wait=max(timeout - 1, 0.5))
        try:
            self._call(run(), timeout + 1, 'disconnect')
        except AssertionError:
            self._abort_quietly()

    def close(self, timeout=5):
        """disconnect() and stop the client's thread. Idempotent."""
        if not self._thread.is_alive():
            return
        try:
            self.disconnect(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
