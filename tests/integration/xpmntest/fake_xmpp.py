"""A scripted XMPP c2s server for faults a real server never produces (a
server that lies about XEP-0198 counters, say). It does just enough of
RFC 6120 to get a client online: STARTTLS with a certificate from the test
PKI, SASL PLAIN accepting any password, then hands each connection to the
test's script, one thread per connection:

    def script(conn, n):                 # n: 1 for the first connection, 2 for the next…
        conn.negotiate()                 # up to the post-auth features (bind + sm)
        el = conn.recv()                 # next top-level element (ElementTree), None once closed
        conn.send("<enabled xmlns='urn:xmpp:sm:3' id='x' resume='true'/>")
        conn.reset()                     # drop the TCP connection (RST)

    with FakeXmppServer(workdir, script) as srv:   # srv.port, srv.ca_file
        ...
        srv.wait_connections(2)

Loopback only; every wait is bounded; a failing script is reported by
check() (call it at the end of the test).
"""
import socket
import ssl
import struct
import threading
import xml.etree.ElementTree as ET

from . import ports
from .certs import TestPKI

STREAM_NS = 'http://etherx.jabber.org/streams'
CLIENT_NS = 'jabber:client'
TLS_NS = 'urn:ietf:params:xml:ns:xmpp-tls'
SASL_NS = 'urn:ietf:params:xml:ns:xmpp-sasl'
BIND_NS = 'urn:ietf:params:xml:ns:xmpp-bind'
SM_NS = 'urn:xmpp:sm:3'
STREAMS_ERR_NS = 'urn:ietf:params:xml:ns:xmpp-streams'


def tag(ns, name):
    return '{%s}%s' % (ns, name)


class Closed(Exception):
    """The client closed the stream or the connection."""


class Conn:
    """One client connection, seen as a sequence of top-level elements."""

    def __init__(self, sock, server, timeout):
        self.sock = sock
        self.server = server
        self.timeout = timeout
        self.stream_closed = False
        self._new_parser()

    def _new_parser(self):
        self._parser = ET.XMLPullParser(events=('start', 'end'))
        self._depth = 0
        self._ready = []

    def send(self, text):
        data = text.encode()
        self.sock.sendall(data)

    def recv(self, timeout=None):
        """The next top-level element; None when the stream or connection ended."""
        self.sock.settimeout(timeout or self.timeout)
        while not self._ready:
            if self.stream_closed:
                return None
            try:
                data = self.sock.recv(65536)
            except (ConnectionError, ssl.SSLError, OSError):
                data = b''
            if not data:
                self.stream_closed = True
                return None
            self._parser.feed(data)
            for event, el in self._parser.read_events():
                if event == 'start':
                    self._depth += 1
                else:
                    self._depth -= 1
                    if self._depth == 1:
                        self._ready.append(el)
                    elif self._depth == 0:
                        self.stream_closed = True  # </stream:stream>
        return self._ready.pop(0)

    def recv_all(self, timeout=None):
        """Every element until the stream or connection ends (each wait bounded by `timeout`)."""
        out = []
        while True:
            el = self.recv(timeout)
            if el is None:
                return out
            out.append(el)

    def expect(self, name, ns):
        el = self.recv()
        if el is None or el.tag != tag(ns, name):
            raise AssertionError('expected {%s}%s, got %s' % (ns, name, None if el is None else el.tag))
        return el

    def _open(self, features):
        # The client's header first: read until the root start tag is seen.
        self._new_parser()
        self.sock.settimeout(self.timeout)
        while self._depth == 0:
            data = self.sock.recv(65536)
            if not data:
                raise Closed('closed before the stream header')
            self._parser.feed(data)
            for event, el in self._parser.read_events():
                self._depth += 1 if event == 'start' else -1
        self.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' from='%s' id='%s' version='1.0'>"
                  "<stream:features>%s</stream:features>" % (self.server.domain, id(self), features))

    def negotiate(self):
        """STARTTLS and SASL PLAIN; returns after offering bind and stream management."""
        self._open("<starttls xmlns='%s'><required/></starttls>" % TLS_NS)
        self.expect('starttls', TLS_NS)
        self.send("<proceed xmlns='%s'/>" % TLS_NS)
        self.sock.settimeout(self.timeout)
        self.sock = self.server.tls.wrap_socket(self.sock, server_side=True)
        self._open("<mechanisms xmlns='%s'><mechanism>PLAIN</mechanism></mechanisms>" % SASL_NS)
        self.expect('auth', SASL_NS)
        self.send("<success xmlns='%s'/>" % SASL_NS)
        self._open("<bind xmlns='%s'/><sm xmlns='%s'/>" % (BIND_NS, SM_NS))

    def bind(self, iq):
        """Answers a bind request with the resource the client asked for."""
        res = iq.find('{%s}bind/{%s}resource' % (BIND_NS, BIND_NS))
        jid = '%s@%s/%s' % (self.server.user, self.server.domain, res.text if res is not None else 'r')
        self.send("<iq type='result' id='%s'><bind xmlns='%s'><jid>%s</jid></bind></iq>" % (iq.get('id'), BIND_NS, jid))
        return jid

    def reset(self):
        """Drops the connection with a TCP reset, as a dead link would."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        except OSError:
            pass
        self.sock.close()


class FakeXmppServer:
    def __init__(self, workdir, script, domain='xpmn.test', user='home', timeout=15.0):
        self.domain = domain
        self.user = user
        self.script = script
        self.timeout = timeout
        self.pki = TestPKI(workdir)
        cert = self.pki.server_cert(domain)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert.cert, cert.key)
        self.port = ports.free_port()
        self._cond = threading.Condition()
        self.connections = 0
        self.errors = []
        self._threads = []
        self._listener = None
        self._stopping = False

    @property
    def ca_file(self):
        return self.pki.ca_cert

    def start(self):
        self._listener = socket.create_server(('127.0.0.1', self.port))
        self._listener.settimeout(0.5)
        t = threading.Thread(target=self._accept, daemon=True, name='fake-xmpp')
        t.start()
        self._threads.append(t)
        return self

    def _accept(self):
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._cond:
                self.connections += 1
                n = self.connections
                self._cond.notify_all()
            t = threading.Thread(target=self._serve, args=(sock, n), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, sock, n):
        conn = Conn(sock, self, self.timeout)
        try:
            self.script(conn, n)
        except Closed:
            pass
        except Exception as e:  # reported by check()
            with self._cond:
                self.errors.append('connection %d: %r' % (n, e))
                self._cond.notify_all()
        finally:
            try:
                conn.sock.close()
            except OSError:
                pass

    def wait_connections(self, n, timeout=20.0):
        with self._cond:
            if not self._cond.wait_for(lambda: self.connections >= n or self.errors, timeout):
                raise AssertionError('only %d of %d connections within %ss' % (self.connections, n, timeout))
        self.check()

    def check(self):
        if self.errors:
            raise AssertionError('; '.join(self.errors))

    def stop(self):
        self._stopping = True
        if self._listener:
            self._listener.close()
        for t in self._threads:
            t.join(self.timeout + 5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
