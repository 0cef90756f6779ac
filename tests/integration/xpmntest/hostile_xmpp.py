"""A fake XMPP server that misbehaves on purpose, for faults Prosody cannot be
made to produce: a server that floods the client with requests while it
never reads the answers, and never answers the client's pings.

    server = HostileXmpp(pki.server_cert('xpmn.test'), 'home', 'secret')
    server.start()                      # 127.0.0.1:server.port
    server.behaviours = ['flood']       # per connection, in order; then 'normal'
    ... start the bridge against it ...
    first = server.wait_connection(0, 'online')
    first.wait('ended', 30)             # how it ended: first.ended ('reset', 'closed', ...)
    server.stop()

Each connection negotiates like a real server: STARTTLS (the given
certificate), SASL PLAIN (the given user and password), resource binding (no
stream management, no roster). Then:
  normal  reads everything; answers every IQ get/set with an empty result
          (pings included)
  flood   stops reading, and sends `flood_requests` disco#info requests to
          the client (from the account's own `phone` resource, so they are
          answered in full) as fast as the client takes them; afterwards it
          waits, still without reading, until the client closes or resets the
          connection. Records `flood_sent` (requests handed to the kernel).

Everything runs in threads of this process, on 127.0.0.1 only.
"""
import select
import socket
import ssl
import threading
import time
import xml.etree.ElementTree as ET

from .fake_server import BIND_NS, CLIENT_NS, ServerStream


class Connection(ServerStream):
    def __init__(self, index, sock, behaviour):
        super().__init__(sock)  # blocking: a flood waits as long as the client does not read
        self.index = index
        self.behaviour = behaviour
        self.events = set()      # 'online', 'flooded', 'ended'
        self.ended = None        # 'closed' (FIN), 'reset' (RST), or an error text
        self.flood_sent = 0
        self.jid = None
        self.cond = threading.Condition()

    def mark(self, event, **facts):
        with self.cond:
            for k, v in facts.items():
                setattr(self, k, v)
            self.events.add(event)
            self.cond.notify_all()

    def wait(self, event, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while event not in self.events:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('connection %d: no %r within %ss (events %s, ended %r)' % (
                        self.index, event, timeout, sorted(self.events), self.ended))
                self.cond.wait(left)


class HostileXmpp:
    def __init__(self, server_cert, user, password, flood_requests=200000):
        self.domain = server_cert.domain
        self.user = user
        self.password = password
        self.flood_requests = flood_requests
        self.behaviours = []
        self.connections = []
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl.load_cert_chain(server_cert.cert, server_cert.key)
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.port = self._listener.getsockname()[1]
        self._stopping = False
        self._lock = threading.Lock()
        self._threads = []

    # -- control ---------------------------------------------------------
    def start(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stopping = True
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self.connections)
        for c in conns:
            try:
                c.sock.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(5)

    def wait_connection(self, index, event='online', timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.connections) > index:
                    conn = self.connections[index]
                    break
            if time.monotonic() > deadline:
                raise AssertionError('no connection #%d within %ss' % (index, timeout))
            time.sleep(0.05)
        conn.wait(event, max(0.1, deadline - time.monotonic()))
        return conn

    # -- per connection ----------------------------------------------------
    def _accept_loop(self):
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                index = len(self.connections)
                behaviour = self.behaviours[index] if index < len(self.behaviours) else 'normal'
                conn = Connection(index, sock, behaviour)
                self.connections.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn):
        try:
            self._negotiate(conn)
            conn.mark('online')
            if conn.behaviour == 'flood':
                self._flood(conn)
            else:
                self._normal(conn)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
            # An RST under a blocked TLS write surfaces as an unexpected EOF.
            conn.mark('ended', ended='reset')
        except (OSError, ssl.SSLError, ET.ParseError, AssertionError) as e:
            conn.mark('ended', ended='error: %s' % e)
        finally:
            try:
                conn.sock.close()
            except OSError:
                pass

    def _negotiate(self, conn):
        conn.negotiate(self._ssl, self.domain, 'h%d' % conn.index, "<bind xmlns='%s'/>" % BIND_NS,
                       credentials=(self.user, self.password))
        conn.jid = conn.bind(conn.next_element(), self.user, self.domain)

    def _normal(self, conn):
        while not self._stopping:
            el = conn.next_element()
            if el.tag == '{%s}iq' % CLIENT_NS and el.get('type') in ('get', 'set'):
                conn.send("<iq type='result' id='%s' from='%s'/>" % (el.get('id'), self.domain))

    def _flood(self, conn):
        sender = '%s@%s/phone' % (self.user, self.domain)
        batch = 100
        while conn.flood_sent < self.flood_requests and not self._stopping:
            text = ''.join("<iq type='get' id='f%d' from='%s' to='%s'>"
                           "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>" % (
                               conn.flood_sent + i, sender, conn.jid) for i in range(batch))
            conn.send(text)  # blocks while the client does not read
            conn.flood_sent += batch
        conn.mark('flooded')
        # Still not reading: wait for the client to close (FIN) or reset.
        poller = select.poll()
        poller.register(conn.sock.fileno(), select.POLLRDHUP | select.POLLERR | select.POLLHUP)
        while not self._stopping:
            events = poller.poll(200)
            if events:
                flags = events[0][1]
                conn.mark('ended', ended='reset' if flags & (select.POLLERR | select.POLLHUP) else 'closed')
                return
