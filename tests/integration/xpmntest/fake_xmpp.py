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
import threading

from . import ports
from .certs import TestPKI
from .fake_server import BIND_NS, SM_NS, Closed, ServerStream


class Conn(ServerStream):
    """One client connection, seen as a sequence of top-level elements
    (recv, recv_all, expect, send, reset: see fake_server.ServerStream)."""

    def __init__(self, sock, server, timeout):
        super().__init__(sock, timeout)
        self.server = server

    def recv_all(self, timeout=None):
        """Every element until the stream or connection ends (each wait bounded by `timeout`)."""
        out = []
        while True:
            el = self.recv(timeout)
            if el is None:
                return out
            out.append(el)

    def negotiate(self):
        """STARTTLS and SASL PLAIN; returns after offering bind and stream management."""
        super().negotiate(self.server.tls, self.server.domain, id(self),
                          "<bind xmlns='%s'/><sm xmlns='%s'/>" % (BIND_NS, SM_NS))

    def bind(self, iq):
        """Answers a bind request with the resource the client asked for."""
        return super().bind(iq, self.server.user, self.server.domain)


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
