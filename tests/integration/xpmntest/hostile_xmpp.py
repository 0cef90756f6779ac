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
import base64
import select
import socket
import ssl
import threading
import time
import xml.etree.ElementTree as ET

STREAM = 'http://etherx.jabber.org/streams'
TLS = 'urn:ietf:params:xml:ns:xmpp-tls'
SASL = 'urn:ietf:params:xml:ns:xmpp-sasl'
BIND = 'urn:ietf:params:xml:ns:xmpp-bind'
CLIENT = 'jabber:client'


class Connection:
    def __init__(self, index, sock, behaviour):
        self.index = index
        self.sock = sock
        self.behaviour = behaviour
        self.events = set()      # 'online', 'flooded', 'ended'
        self.ended = None        # 'closed' (FIN), 'reset' (RST), or an error text
        self.flood_sent = 0
        self.jid = None
        self.cond = threading.Condition()
        self.parser = None

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

    def _send(self, conn, text):
        conn.sock.sendall(text.encode())

    def _new_stream(self, conn):
        conn.parser = ET.XMLPullParser(events=('start', 'end'))
        conn.depth = 0

    def _next_element(self, conn):
        """The next complete top-level element of the client's stream."""
        while True:
            for event, el in conn.parser.read_events():
                if event == 'start':
                    conn.depth += 1
                    if conn.depth == 1:
                        conn.header_seen = True
                else:
                    conn.depth -= 1
                    if conn.depth == 1:
                        return el
            data = conn.sock.recv(65536)
            if not data:
                raise ConnectionResetError('the client closed the connection')
            conn.parser.feed(data)

    def _wait_header(self, conn):
        conn.header_seen = False
        while not conn.header_seen:
            for event, _ in conn.parser.read_events():
                if event == 'start':
                    conn.depth += 1
                    conn.header_seen = True
                    break
            else:
                data = conn.sock.recv(65536)
                if not data:
                    raise ConnectionResetError('the client closed the connection')
                conn.parser.feed(data)

    def _open(self, conn, features):
        self._new_stream(conn)
        self._wait_header(conn)
        self._send(conn, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                         "xmlns:stream='http://etherx.jabber.org/streams' from='%s' id='h%d' version='1.0'>"
                         "<stream:features>%s</stream:features>" % (self.domain, conn.index, features))

    def _negotiate(self, conn):
        self._open(conn, "<starttls xmlns='%s'><required/></starttls>" % TLS)
        el = self._next_element(conn)
        assert el.tag == '{%s}starttls' % TLS, el.tag
        self._send(conn, "<proceed xmlns='%s'/>" % TLS)
        conn.sock = self._ssl.wrap_socket(conn.sock, server_side=True)
        self._open(conn, "<mechanisms xmlns='%s'><mechanism>PLAIN</mechanism></mechanisms>" % SASL)
        el = self._next_element(conn)
        parts = base64.b64decode(el.text or '').split(b'\0')
        if el.tag != '{%s}auth' % SASL or parts[1:] != [self.user.encode(), self.password.encode()]:
            self._send(conn, "<failure xmlns='%s'><not-authorized/></failure></stream:stream>" % SASL)
            raise AssertionError('authentication failed')
        self._send(conn, "<success xmlns='%s'/>" % SASL)
        self._open(conn, "<bind xmlns='%s'/>" % BIND)
        el = self._next_element(conn)
        resource = el.findtext('{%s}bind/{%s}resource' % (BIND, BIND)) or 'r'
        conn.jid = '%s@%s/%s' % (self.user, self.domain, resource)
        self._send(conn, "<iq type='result' id='%s'><bind xmlns='%s'><jid>%s</jid></bind></iq>" % (
            el.get('id'), BIND, conn.jid))

    def _normal(self, conn):
        while not self._stopping:
            el = self._next_element(conn)
            if el.tag == '{%s}iq' % CLIENT and el.get('type') in ('get', 'set'):
                self._send(conn, "<iq type='result' id='%s' from='%s'/>" % (el.get('id'), self.domain))

    def _flood(self, conn):
        sender = '%s@%s/phone' % (self.user, self.domain)
        batch = 100
        while conn.flood_sent < self.flood_requests and not self._stopping:
            text = ''.join("<iq type='get' id='f%d' from='%s' to='%s'>"
                           "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>" % (
                               conn.flood_sent + i, sender, conn.jid) for i in range(batch))
            self._send(conn, text)  # blocks while the client does not read
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
