"""The server side of one client's c2s connection, for the scripted and the
hostile fake XMPP servers (fake_xmpp.py, hostile_xmpp.py): the client's
stream read as a sequence of top-level elements, and negotiation as a real
server does it — STARTTLS with a given certificate, SASL PLAIN, resource
binding. What a server does once the client is online is its own.

    stream = ServerStream(sock, timeout=15)     # timeout None: block
    stream.negotiate(tls_context, 'xpmn.test', 's1', post_auth_features)
    el = stream.recv()                          # None once the stream or connection ended
    jid = stream.bind(el, 'home', 'xpmn.test')

Loopback only (the caller's listener); each wait is bounded by `timeout`
unless it is None.
"""
import base64
import socket
import ssl
import struct
import xml.etree.ElementTree as ET

STREAM_NS = 'http://etherx.jabber.org/streams'
CLIENT_NS = 'jabber:client'
TLS_NS = 'urn:ietf:params:xml:ns:xmpp-tls'
SASL_NS = 'urn:ietf:params:xml:ns:xmpp-sasl'
BIND_NS = 'urn:ietf:params:xml:ns:xmpp-bind'
SM_NS = 'urn:xmpp:sm:3'
STREAMS_ERR_NS = 'urn:ietf:params:xml:ns:xmpp-streams'


def tag(ns, name):
    return '{%s}%s' % (ns, name)


class Closed(ConnectionResetError):
    """The client closed the stream or the connection."""


class ServerStream:
    def __init__(self, sock, timeout=None):
        self.sock = sock
        self.timeout = timeout
        self.stream_closed = False
        self._new_parser()

    def _new_parser(self):
        self._parser = ET.XMLPullParser(events=('start', 'end'))
        self._depth = 0
        self._ready = []

    def send(self, text):
        self.sock.sendall(text.encode())

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

    def next_element(self):
        """The next top-level element; raises Closed once the stream or connection ended."""
        el = self.recv()
        if el is None:
            raise Closed('the client closed the connection')
        return el

    def expect(self, name, ns):
        el = self.recv()
        if el is None or el.tag != tag(ns, name):
            raise AssertionError('expected {%s}%s, got %s' % (ns, name, None if el is None else el.tag))
        return el

    def open(self, domain, stream_id, features):
        """Waits for the client's stream header, then sends ours and `features`."""
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
                  "<stream:features>%s</stream:features>" % (domain, stream_id, features))

    def negotiate(self, tls_context, domain, stream_id, post_auth_features, credentials=None):
        """STARTTLS and SASL PLAIN (any password, or only `credentials` = (user,
        password)); returns after offering `post_auth_features`."""
        self.open(domain, stream_id, "<starttls xmlns='%s'><required/></starttls>" % TLS_NS)
        self.expect('starttls', TLS_NS)
        self.send("<proceed xmlns='%s'/>" % TLS_NS)
        self.sock.settimeout(self.timeout)
        self.sock = tls_context.wrap_socket(self.sock, server_side=True)
        self.open(domain, stream_id, "<mechanisms xmlns='%s'><mechanism>PLAIN</mechanism></mechanisms>" % SASL_NS)
        auth = self.expect('auth', SASL_NS)
        if credentials is not None:
            parts = base64.b64decode(auth.text or '').split(b'\0')
            if parts[1:] != [c.encode() for c in credentials]:
                self.send("<failure xmlns='%s'><not-authorized/></failure></stream:stream>" % SASL_NS)
                raise AssertionError('authentication failed')
        self.send("<success xmlns='%s'/>" % SASL_NS)
        self.open(domain, stream_id, post_auth_features)

    def bind(self, iq, user, domain):
        """Answers a bind request with the resource the client asked for; returns the full JID."""
        res = iq.find('{%s}bind/{%s}resource' % (BIND_NS, BIND_NS))
        jid = '%s@%s/%s' % (user, domain, res.text if res is not None and res.text else 'r')
        self.send("<iq type='result' id='%s'><bind xmlns='%s'><jid>%s</jid></bind></iq>" % (iq.get('id'), BIND_NS, jid))
        return jid

    def reset(self):
        """Drops the connection with a TCP reset, as a dead link would."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        except OSError:
            pass
        self.sock.close()
