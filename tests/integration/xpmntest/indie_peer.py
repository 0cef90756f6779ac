"""An independent end-to-end peer, written from the wire profile (§3, §4.1)
alone: what a third-party controller would do to reach a bridge's devices.

Transport and crypto come from other code bases than the bridge's: slixmpp
with its IBB plugin (XEP-0047) for the bytestream, the Jingle session by hand
(raw XML, XEP-0166 / XEP-0261 / the `urn:xmpp:jingle:apps:xmlstream:0` and
`urn:xmpp:jingle:security:xtls:0` elements of §3.1), TLS over the IBB
stream with Python's ssl module (MemoryBIO/SSLObject) for `x509`, and for
`srp` (Python's ssl has no SRP; the openssl s_client/s_server SRP options
are broken in Debian 12) OpenSSL's SRP through ctypes (srp_tls.py), bridged
to the IBB stream through a loopback TCP socket; then the XEP-0246 XML
stream inside, and the
`urn:xmpp:pubkey:0` exchange of §4.1. The device certificate is self-signed
(ECDSA P-256, subjectAltName otherName id-on-xmppAddr = the bare JID) and
made with the openssl CLI.

    peer = IndiePeer('home@xpmn.test/phone', pw, port=srv.c2s_port, ca_file=srv.ca_file, workdir=d)
    peer.connect()
    fp = peer.pair('home@xpmn.test/bridge', '123456')   # srp + pubkeys; trusts the bridge's cert
    s = peer.open('home@xpmn.test/upnp-3fa2c1d0')       # x509 (needs a trusted fingerprint)
    reply = s.iq("<browse xmlns='urn:xmpp:media:server:0'/>")   # -> the <iq/> response (Element)
    s.close(); peer.close()

Responder role (to test the peer against itself, and as a stand-in device):

    dev = IndiePeer(...); dev.connect()
    dev.serve(methods=('x509',), handlers={('get', NS, 'name'): fn(iq_element) -> payload or None})
    dev.trust(other.fingerprint, other.cert_der)    # x509: the TLS server needs the peer's cert
    dev.serve(methods=('srp',), pin='123456')        # pairing: srp, then pubkeys both ways

Every blocking call is bounded and raises AssertionError (the SlixClient
convention) naming what failed; a refused session raises IndieError with
the Jingle reason (e.g. 'security-error').
"""
import asyncio
import base64
import hashlib
import os
import secrets
import ssl
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from .certs import XMPP_ADDR_OID, _openssl
from .indie_tls import IbbPipe, IndieError, SrpTls, SslObjectTls, release
from .slix import SlixClient

JINGLE = 'urn:xmpp:jingle:1'
XMLSTREAM_APP = 'urn:xmpp:jingle:apps:xmlstream:0'
IBB_TRANSPORT = 'urn:xmpp:jingle:transports:ibb:1'
XTLS = 'urn:xmpp:jingle:security:xtls:0'
PUBKEY = 'urn:xmpp:pubkey:0'
CLIENT = 'jabber:client'
STREAM = 'http://etherx.jabber.org/streams'
STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas'
BLOCK_SIZE = 4096


def q(tag, ns):
    return '{%s}%s' % (ns, tag)


def bare(jid):
    return jid.split('/', 1)[0]


def sha256_hex(der):
    return hashlib.sha256(der).hexdigest()


class Identity:
    """A self-signed device certificate (ECDSA P-256, SAN xmppAddr = bare JID)."""

    def __init__(self, directory, bare_jid):
        os.makedirs(directory, exist_ok=True)
        self.key = os.path.join(directory, 'identity.key')
        self.cert = os.path.join(directory, 'identity.crt')
        _openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                 '-keyout', self.key, '-out', self.cert, '-days', '365', '-sha256',
                 '-subj', '/CN=' + bare_jid,
                 '-addext', 'subjectAltName=otherName:%s;UTF8:%s' % (XMPP_ADDR_OID, bare_jid),
                 '-addext', 'basicConstraints=critical,CA:FALSE',
                 '-addext', 'keyUsage=critical,digitalSignature',
                 '-addext', 'extendedKeyUsage=serverAuth,clientAuth')
        os.chmod(self.key, 0o600)
        self.der = _openssl('x509', '-in', self.cert, '-outform', 'DER')
        self.fingerprint = sha256_hex(self.der)


# -- Jingle elements (§3.1) ---------------------------------------------------
def security_element(fingerprint, methods):
    sec = ET.Element(q('security', XTLS))
    if fingerprint:
        fp = ET.SubElement(sec, q('fingerprint', XTLS), {'algo': 'sha-256'})
        fp.text = fingerprint
    for m in methods:
        ET.SubElement(sec, q('method', XTLS), {'name': m})
    return sec


def parse_security(content):
    sec = content.find(q('security', XTLS)) if content is not None else None
    if sec is None:
        return None, []
    fp = sec.find(q('fingerprint', XTLS))
    fingerprint = (fp.text or '').strip().lower() if fp is not None and fp.get('algo') == 'sha-256' else ''
    return fingerprint, [m.get('name') for m in sec.findall(q('method', XTLS))]


def jingle_iq(to, action, sid, initiator, content=None, reason=None):
    iq = ET.Element(q('iq', CLIENT), {'type': 'set', 'to': to})
    j = ET.SubElement(iq, q('jingle', JINGLE), {'action': action, 'sid': sid})
    if initiator:
        j.set('initiator', initiator)
    if content is not None:
        j.append(content)
    if reason:
        r = ET.SubElement(j, q('reason', JINGLE))
        ET.SubElement(r, q(reason, JINGLE))
    return iq


def xmlstream_content(ibb_sid, security):
    c = ET.Element(q('content', JINGLE), {'creator': 'initiator', 'name': 'xmlstream'})
    ET.SubElement(c, q('description', XMLSTREAM_APP))
    ET.SubElement(c, q('transport', IBB_TRANSPORT), {'block-size': str(BLOCK_SIZE), 'sid': ibb_sid})
    c.append(security)
    return c


def pubkeys_element(name, der):
    pk = ET.Element(q('pubkeys', PUBKEY))
    ki = ET.SubElement(pk, q('keyinfo', PUBKEY))
    ET.SubElement(ki, q('name', PUBKEY)).text = name
    ET.SubElement(ki, q('x509cert', PUBKEY)).text = base64.b64encode(der).decode()
    return pk


def parse_pubkeys(element):
    """[(name, der)] of a <pubkeys/> element."""
    out = []
    for ki in element.findall(q('keyinfo', PUBKEY)):
        cert = ki.findtext(q('x509cert', PUBKEY)) or ''
        out.append((ki.findtext(q('name', PUBKEY)) or '', base64.b64decode(''.join(cert.split()))))
    return out


# -- the XEP-0246 stream inside TLS --------------------------------------------
def serialize(el, parent_ns=CLIENT):
    """XML text of an ElementTree element, with default-namespace declarations
    (xmlns='...') wherever the namespace changes: no generated prefixes."""
    tag = el.tag
    ns, name = (tag[1:].split('}', 1) if tag.startswith('{') else (parent_ns, tag))
    out = ['<', name]
    if ns != parent_ns:
        out.append(' xmlns=%s' % _quote(ns))
    for k, v in el.attrib.items():
        if k.startswith('{http://www.w3.org/XML/1998/namespace}'):
            k = 'xml:' + k.split('}', 1)[1]
        out.append(' %s=%s' % (k, _quote(v)))
    if not len(el) and not el.text:
        out.append('/>')
    else:
        out.append('>')
        out.append(_escape(el.text or ''))
        for child in el:
            out.append(serialize(child, ns))
            out.append(_escape(child.tail or ''))
        out.append('</%s>' % name)
    return ''.join(out)


def _escape(text):
    return text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def _quote(text):
    return "'" + _escape(text).replace("'", '&apos;') + "'"


class IqFailure(Exception):
    """Raised by a request handler: answered as a stanza error."""

    def __init__(self, condition, text, type_='cancel'):
        super().__init__(condition)
        self.condition, self.text, self.type = condition, text, type_


class E2eStream:
    """One end-to-end XML stream (XEP-0246) over TLS over IBB; lives on the
    client's loop. The blocking API (iq(), close()) is in E2eHandle."""

    def __init__(self, peer, session, tls, pipe, initiator, peer_fingerprint, method):
        self.peer = peer                # the IndiePeer
        self.session = session          # Jingle bookkeeping (sid, peer JID)
        self.tls = tls
        self.pipe = pipe
        self.initiator = initiator
        self.peer_fingerprint = peer_fingerprint   # x509: of the proven certificate
        self.method = method
        self.header = None              # the peer's <stream:stream> attributes
        self.closed = asyncio.get_running_loop().create_future()
        self._header_seen = asyncio.get_running_loop().create_future()
        self._parser = ET.XMLPullParser(events=('start', 'end'))
        self._depth = 0
        self._root = None
        self._waiting = {}              # iq id -> future
        self._next_id = 0
        self._reader = None
        self._sent_close = False
        self._torn_down = False
        self.pubkeys_asked = False      # the other side asked for our pubkeys (§4.1)

    def send_header(self):
        self.tls.write((
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' from=%s to=%s version='1.0'>" % (
                _quote(bare(self.peer.jid)), _quote(bare(self.session['peer'])))).encode())

    async def open(self, timeout):
        self._reader = asyncio.ensure_future(self._read_loop())
        if self.initiator:
            self.send_header()
        await asyncio.wait_for(asyncio.shield(self._header_seen), timeout)
        if not self.initiator:
            self.send_header()

    async def _read_loop(self):
        reason = ''
        try:
            while not self.closed.done():
                data = await self.tls.read()
                if not data:
                    break
                self._parser.feed(data)
                for event, el in self._parser.read_events():
                    self._event(event, el)
        except IndieError as e:
            reason = str(e)
        except ET.ParseError as e:
            reason = 'not-well-formed: %s' % e
        if not self._header_seen.done():
            self._header_seen.set_exception(IndieError('security-error', reason or 'stream ended before its header'))
        self._finish(reason)
        await self.teardown()   # the peer ended it: release TLS, IBB and the SRP tool

    def _event(self, event, el):
        if event == 'start':
            self._depth += 1
            if self._depth == 1:
                if el.tag != q('stream', STREAM):
                    raise ET.ParseError('not a stream header: %s' % el.tag)
                self._root = el
                self.header = dict(el.attrib)
                if not self._header_seen.done():
                    self._header_seen.set_result(True)
            return
        self._depth -= 1
        if self._depth == 0:
            self._send_close()       # the peer ended its stream: end ours too
            self._finish('')
        elif self._depth == 1:
            self._root.remove(el)
            self._stanza(el)

    def _stanza(self, el):
        if el.tag != q('iq', CLIENT):
            return
        type_, id_ = el.get('type'), el.get('id', '')
        if type_ in ('result', 'error'):
            fut = self._waiting.pop(id_, None)
            if fut and not fut.done():
                fut.set_result(el)
        elif type_ in ('get', 'set') and id_:
            self._answer(el, type_)

    async def fetch_pubkeys(self, timeout=15):
        """§4.1: asks the other side for its pubkeys; returns (name, DER) of the first."""
        reply = await self.iq(ET.Element(q('pubkeys', PUBKEY)), 'get', timeout)
        keys = reply.find(q('pubkeys', PUBKEY))
        found = parse_pubkeys(keys) if reply.get('type') == 'result' and keys is not None else []
        if not found:
            raise IndieError('bad-request', 'no usable pubkeys answer: %s' % serialize(reply))
        return found[0]

    def _answer(self, iq, type_):
        payload = iq[0] if len(iq) else None
        reply = ET.Element(q('iq', CLIENT), {'type': 'result', 'id': iq.get('id')})
        key = (type_,) + tuple(payload.tag[1:].split('}', 1)) if payload is not None and payload.tag.startswith('{') else None
        handler = self.peer.handlers.get(key) if key else None
        try:
            if handler is None:
                raise IqFailure('service-unavailable', 'not offered by this peer: %s' % (key,))
            result = handler(self, iq)
            if result is not None:
                reply.append(result)
        except IqFailure as f:
            reply = ET.Element(q('iq', CLIENT), {'type': 'error', 'id': iq.get('id')})
            err = ET.SubElement(reply, q('error', CLIENT), {'type': f.type})
            ET.SubElement(err, q(f.condition, STANZAS))
            ET.SubElement(err, q('text', STANZAS)).text = f.text
        self.send(reply)

    def send(self, el):
        if self.closed.done():
            raise IndieError('closed', 'the end-to-end stream is closed')
        self.tls.write(serialize(el).encode())

    async def iq(self, payload, type_='get', timeout=15):
        self._next_id += 1
        id_ = 'indie-%d' % self._next_id
        iq = ET.Element(q('iq', CLIENT), {'type': type_, 'id': id_})
        iq.append(ET.fromstring(payload) if isinstance(payload, str) else payload)
        fut = asyncio.get_running_loop().create_future()
        self._waiting[id_] = fut
        self.send(iq)
        done, _ = await asyncio.wait({fut, self.closed}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if fut.done():
            return fut.result()
        self._waiting.pop(id_, None)
        if self.closed.done():
            raise IndieError('closed', 'stream closed before the answer to %s: %s' % (
                serialize(iq), self.closed.result()))
        raise AssertionError('no answer within %ss to %s' % (timeout, serialize(iq)))

    def _finish(self, reason):
        if not self.closed.done():
            self.closed.set_result(reason)
        for fut in self._waiting.values():
            if not fut.done():
                fut.cancel()
        self._waiting.clear()

    def _send_close(self):
        if self._sent_close:
            return
        self._sent_close = True
        try:
            self.tls.write(b'</stream:stream>')
        except (OSError, ValueError, ssl.SSLError):
            pass

    async def close(self, terminate=True):
        """</stream:stream>, TLS close, IBB close, then session-terminate <success/>."""
        if not self.closed.done():
            self._send_close()
            try:
                await asyncio.wait_for(asyncio.shield(self.closed), 5)
            except asyncio.TimeoutError:
                pass
        self._finish('')
        await self.teardown()
        if terminate:
            await self.peer._terminate(self.session, 'success')

    async def teardown(self):
        if self._torn_down:
            return
        self._torn_down = True
        await release(self.tls, self.pipe)
        if self._reader and self._reader is not asyncio.current_task():
            self._reader.cancel()


class E2eHandle:
    """Thread-side view of an E2eStream (what IndiePeer.open() returns)."""

    def __init__(self, peer, stream):
        self._peer = peer
        self.stream = stream

    @property
    def method(self):
        return self.stream.method

    @property
    def peer_fingerprint(self):
        return self.stream.peer_fingerprint

    @property
    def header(self):
        return self.stream.header

    def iq(self, payload_xml, type='get', timeout=15):
        """Sends <iq type=TYPE>PAYLOAD</iq>; returns the response <iq/> Element."""
        return self._peer._client._call(self.stream.iq(payload_xml, type, timeout), timeout + 5,
                                        'end-to-end iq %s' % payload_xml)

    @property
    def closed(self):
        return self.stream.closed.done()

    def wait_closed(self, timeout=15):
        async def run():
            return await asyncio.wait_for(asyncio.shield(self.stream.closed), timeout)
        return self._peer._client._call(run(), timeout + 2, 'end-to-end stream close')

    def close(self, timeout=20):
        self._peer._client._call(self.stream.close(), timeout, 'end-to-end stream close')


# -- the peer ----------------------------------------------------------------
def connected_peer(case, user, resource, password, netns=None, plugins=()):
    """For a TestCase with case.server (an XMPP server fixture) and
    case.workdir: a connected IndiePeer `user@…/resource` with a work dir
    (and so a certificate) of its own, closed by the test's cleanup
    (`netns`: the namespace it lives in, with the server's own address;
    `plugins`: slixmpp plugins beyond the peer's own, e.g. 'xep_0065')."""
    type(case).count = getattr(case, 'count', 0) + 1
    host = getattr(case.server, 'address', ('127.0.0.1',))[0]
    p = IndiePeer(case.server.jid(user, resource), password, host=host, port=case.server.c2s_port,
                  ca_file=case.server.ca_file,
                  workdir=os.path.join(case.workdir, '%s-%d' % (resource, case.count)),
                  device_name='Indie %s' % resource, netns=netns, plugins=plugins)
    case.addCleanup(p.close)
    return p.connect()


class IndiePeer:
    def __init__(self, jid, password, host='127.0.0.1', port=5222, ca_file=None, *, workdir,
                 device_name='indie peer', name=None, netns=None, plugins=()):
        self.jid = jid
        self.netns = netns         # a netns.NetNs the peer's sockets live in (None: this one)
        self.device_name = device_name
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.identity = Identity(os.path.join(self.workdir, 'identity'), bare(jid))
        self.trusted = {}          # fingerprint -> DER (None when only the fingerprint is known)
        self.sessions = {}         # Jingle sid -> dict
        self.accepted = []         # E2eHandles opened to us (responder role)
        self.failures = []         # why sessions to us failed (responder role)
        self.handlers = {('get', PUBKEY, 'pubkeys'): self._answer_pubkeys}
        self.received_pubkeys = []  # [(name, der)] the other side sent us
        self._serving = None       # responder policy: {'methods': (...), 'pin': str|None}
        self._client = SlixClient(jid, password, host, port, ca_file, name=name or 'indie ' + jid,
                                  plugins=('xep_0030', 'xep_0199', 'xep_0047') + tuple(plugins), netns=netns)
        self._client._call_sync(self._install, 10, 'install Jingle handlers')

    # -- facts and setup (any thread) ---------------------------------------
    @property
    def fingerprint(self):
        return self.identity.fingerprint

    @property
    def cert_der(self):
        return self.identity.der

    @property
    def full_jid(self):
        return self._client.full_jid

    def trust(self, fingerprint, der=None):
        self.trusted[fingerprint.lower()] = der

    def connect(self, timeout=15):
        self._client.connect(timeout)
        return self

    def close(self):
        """Releases every stream (TLS, IBB, SRP tool), then disconnects."""
        async def release_all():
            for session in list(self.sessions.values()):
                if session.get('stream') is not None:
                    await session['stream'].teardown()
        try:
            self._client._call(release_all(), 30, 'release end-to-end streams')
        except AssertionError:
            pass   # the client loop is gone already
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def serve(self, methods=('x509',), pin=None, handlers=None):
        """Acts as a responder: accepts session-initiates offering one of
        `methods` (x509 only from trusted fingerprints; srp only with a `pin`)."""
        self._serving = {'methods': tuple(methods), 'pin': pin}
        self.handlers.update(handlers or {})

    def pair(self, bridge_full_jid, pin, timeout=30):
        """§4.1: an srp stream with the PIN, then pubkeys both ways (we ask,
        and wait until the bridge has asked us); trusts the bridge's
        certificate and returns its fingerprint."""
        h = self.open(bridge_full_jid, methods=('srp',), pin=pin, timeout=timeout)
        try:
            name, der = self._client._call(h.stream.fetch_pubkeys(timeout), timeout + 5,
                                           'pubkeys of %s' % bridge_full_jid)
            fp = sha256_hex(der)
            self.trust(fp, der)
            self._client._wait(lambda: h.stream.pubkeys_asked, timeout,
                               '%s asking for our pubkeys (wire profile 4.1)' % bridge_full_jid)
            return fp
        finally:
            h.close()

    def open(self, peer_full_jid, methods=('x509',), pin=None, timeout=30):
        """Opens an end-to-end stream to `peer_full_jid` as initiator; returns an E2eHandle."""
        stream = self._client._call(self._initiate(peer_full_jid, tuple(methods), pin, timeout),
                                    timeout + 10, 'open end-to-end stream to %s' % peer_full_jid)
        return E2eHandle(self, stream)

    def wait_accepted(self, count=1, timeout=30):
        """Responder role: waits until `count` streams were opened to us."""
        self._client._wait(lambda: len(self.accepted) >= count or self.failures, timeout,
                           'end-to-end stream opened to %s' % self.jid)
        if len(self.accepted) < count:
            raise AssertionError('session to %s failed: %s' % (self.jid, self.failures))
        return self.accepted[count - 1]

    # -- on the client loop -------------------------------------------------
    @property
    def xmpp(self):
        return self._client.xmpp

    def _install(self):
        self.xmpp['xep_0047'].auto_accept = False
        self.xmpp['xep_0047'].api.register(self._ibb_authorized, 'authorized')
        self.xmpp.register_handler(Callback(
            'indie jingle', MatchXPath('{%s}iq/{%s}jingle' % (CLIENT, JINGLE)), self._on_jingle))

    def _ibb_authorized(self, jid, sid, ifrom, iq):
        # Only IBB streams a session-accept of ours announced.
        return any(s.get('ibb_sid') == sid and s['peer'] == str(ifrom) and not s['initiator']
                   for s in self.sessions.values())

    def _ack(self, iq):
        reply = ET.Element(q('iq', CLIENT), {'type': 'result', 'to': iq.get('from'), 'id': iq.get('id')})
        self.xmpp.send_raw(ET.tostring(reply, encoding='unicode'))

    def _error(self, iq, condition, text, jingle_condition=None):
        reply = ET.Element(q('iq', CLIENT), {'type': 'error', 'to': iq.get('from'), 'id': iq.get('id')})
        err = ET.SubElement(reply, q('error', CLIENT),
                            {'type': 'cancel' if condition != 'unexpected-request' else 'wait'})
        ET.SubElement(err, q(condition, STANZAS))
        ET.SubElement(err, q('text', STANZAS)).text = text
        if jingle_condition:
            ET.SubElement(err, q(jingle_condition, 'urn:xmpp:jingle:errors:1'))
        self.xmpp.send_raw(serialize(reply))

    def _on_jingle(self, stanza):
        iq = stanza.xml
        if iq.get('type') != 'set':
            return
        j = iq.find(q('jingle', JINGLE))
        action, sid, sender = j.get('action'), j.get('sid', ''), iq.get('from', '')
        session = self.sessions.get(sid)
        if action == 'session-initiate':
            if session is not None:
                return self._error(iq, 'conflict', 'session id in use')
            if self._serving is None:
                return self._error(iq, 'service-unavailable', 'this peer accepts no sessions')
            self._ack(iq)
            asyncio.ensure_future(self._respond(iq, j))
            return
        if session is None or session['peer'] != sender:
            return self._error(iq, 'item-not-found', 'no such session', 'unknown-session')
        self._ack(iq)
        if action == 'session-accept' and session['initiator'] and not session['accept'].done():
            session['accept'].set_result(j)
        elif action == 'session-terminate':
            r = j.find(q('reason', JINGLE))
            reason = r[0].tag.split('}', 1)[1] if r is not None and len(r) else 'success'
            session['terminated'] = reason
            if not session['accept'].done():
                session['accept'].set_exception(IndieError(reason, 'session terminated by the peer'))
            stream = session.get('stream')
            if stream is not None:
                stream._finish(reason if reason != 'success' else '')

    async def _send_set(self, el, timeout=15):
        iq = self.xmpp.Iq(xml=el)
        iq['id'] = self.xmpp.new_id()
        try:
            return await iq.send(timeout=timeout)
        except IqError as e:
            raise IndieError(e.condition or 'error', 'refused: %s' % e.iq) from e
        except IqTimeout as e:
            raise IndieError('timeout', 'no answer to %s' % serialize(el)) from e

    async def _terminate(self, session, reason):
        if session.get('terminated'):
            return
        session['terminated'] = reason
        try:
            await self._send_set(jingle_iq(session['peer'], 'session-terminate', session['sid'], None,
                                           reason=reason), timeout=10)
        except IndieError:
            pass

    async def _initiate(self, peer, methods, pin, timeout):
        sid, ibb_sid = secrets.token_hex(8), secrets.token_hex(6)
        loop = asyncio.get_running_loop()
        session = {'sid': sid, 'peer': peer, 'initiator': True, 'ibb_sid': ibb_sid,
                   'accept': loop.create_future()}
        self.sessions[sid] = session
        offer = security_element(self.fingerprint if 'x509' in methods else '', methods)
        await self._send_set(jingle_iq(peer, 'session-initiate', sid, self.full_jid,
                                       xmlstream_content(ibb_sid, offer)))
        accept = await asyncio.wait_for(asyncio.shield(session['accept']), timeout)
        their_fp, their_methods = parse_security(accept.find(q('content', JINGLE)))
        method = next((m for m in methods if m in their_methods), None)
        try:
            if method is None:
                raise IndieError('security-error', 'no common method: ours %s, theirs %s' % (
                    methods, their_methods))
            if method == 'x509' and their_fp not in self.trusted:
                raise IndieError('security-error', 'the responder\'s fingerprint %s is not trusted' % their_fp)
            if method == 'srp' and not pin:
                raise IndieError('security-error', 'srp needs a PIN')
            # XEP-0261: the initiator opens the IBB stream with the sid and the
            # block size of the session-accept (a responder may lower it).
            block = BLOCK_SIZE
            t = accept.find('%s/%s' % (q('content', JINGLE), q('transport', IBB_TRANSPORT)))
            if t is not None and t.get('block-size', '').isdigit():
                block = max(1, min(block, int(t.get('block-size'))))
            ibb = await self.xmpp['xep_0047'].open_stream(peer, block_size=block, sid=ibb_sid)
            pipe = IbbPipe(ibb)
            self._watch_ibb_end(ibb, pipe)
            return await self._secure(session, pipe, method, their_fp, pin, initiator=True,
                                      timeout=timeout)
        except (IndieError, IqError, IqTimeout, OSError) as e:
            await self._terminate(session, 'security-error' if isinstance(e, IndieError) and
                                  e.reason == 'security-error' else 'failed-transport')
            if isinstance(e, IndieError):
                raise
            raise IndieError('failed-transport', repr(e)) from e

    def _watch_ibb_end(self, ibb, pipe):
        def ended(stream):
            if stream is ibb:
                pipe.push_eof()
                self.xmpp.del_event_handler('ibb_stream_end', ended)
        self.xmpp.add_event_handler('ibb_stream_end', ended)

    async def _secure(self, session, pipe, method, their_fp, pin, initiator, timeout):
        """TLS in the session's role and method, then the XEP-0246 stream."""
        if method == 'x509':
            tls = SslObjectTls(pipe, self.identity, server_side=not initiator,
                               trusted_ders=[d for d in self.trusted.values() if d])
        else:
            user = self.full_jid if initiator else session['peer']
            tls = SrpTls(pipe, server_side=not initiator, user=user, pin=pin)
        try:
            return await self._handshake_and_open(session, pipe, tls, method, their_fp, initiator, timeout)
        except BaseException:
            await release(tls, pipe)
            raise

    async def _handshake_and_open(self, session, pipe, tls, method, their_fp, initiator, timeout):
        try:
            peer_der = await asyncio.wait_for(tls.handshake(), timeout)
        except ssl.SSLError as e:
            raise IndieError('security-error', 'TLS handshake: %s' % e) from e
        except asyncio.TimeoutError as e:
            raise IndieError('security-error', 'TLS handshake timed out') from e
        peer_fp = None
        if method == 'x509':
            peer_fp = sha256_hex(peer_der or b'')
            if not peer_der or peer_fp != their_fp or peer_fp not in self.trusted:
                raise IndieError('security-error', 'peer certificate %s is not the announced/trusted %s' % (
                    peer_fp, their_fp))
        stream = E2eStream(self, session, tls, pipe, initiator, peer_fp, method)
        session['stream'] = stream
        try:
            await stream.open(timeout)
        except asyncio.TimeoutError as e:
            raise IndieError('security-error', 'no stream header from the peer') from e
        return stream

    async def _respond(self, iq, j):
        peer, sid = iq.get('from'), j.get('sid')
        content = j.find(q('content', JINGLE))
        transport = content.find(q('transport', IBB_TRANSPORT)) if content is not None else None
        their_fp, their_methods = parse_security(content)
        ok = []
        if 'x509' in their_methods and 'x509' in self._serving['methods'] and their_fp in self.trusted:
            ok.append('x509')
        if 'srp' in their_methods and 'srp' in self._serving['methods'] and self._serving['pin']:
            ok.append('srp')
        loop = asyncio.get_running_loop()
        session = {'sid': sid, 'peer': peer, 'initiator': False,
                   'ibb_sid': transport.get('sid') if transport is not None else None,
                   'accept': loop.create_future()}
        session['accept'].set_result(None)
        self.sessions[sid] = session
        if not ok or transport is None:
            self.failures.append('refused: methods %s, fingerprint %s' % (their_methods, their_fp))
            return await self._terminate(session, 'security-error')
        started = loop.create_future()

        def on_start(stream):
            if stream.sid == session['ibb_sid'] and str(stream.peer_jid) == peer and not started.done():
                started.set_result(stream)
        self.xmpp.add_event_handler('ibb_stream_start', on_start)
        c = ET.Element(q('content', JINGLE), {'creator': 'initiator', 'name': 'xmlstream'})
        ET.SubElement(c, q('description', XMLSTREAM_APP))
        ET.SubElement(c, q('transport', IBB_TRANSPORT),
                      {'block-size': transport.get('block-size', str(BLOCK_SIZE)), 'sid': session['ibb_sid']})
        c.append(security_element(self.fingerprint if 'x509' in ok else '', ok))
        try:
            await self._send_set(jingle_iq(peer, 'session-accept', sid, None, c))
            ibb = await asyncio.wait_for(started, 15)
            pipe = IbbPipe(ibb)
            self._watch_ibb_end(ibb, pipe)
            # The initiator names the method by what it offered first among ours.
            method = next(m for m in their_methods if m in ok)
            stream = await self._secure(session, pipe, method, their_fp, self._serving['pin'],
                                        initiator=False, timeout=30)
        except (IndieError, asyncio.TimeoutError, OSError) as e:
            self.failures.append(repr(e))
            await self._terminate(session, 'security-error')
            return
        finally:
            self.xmpp.del_event_handler('ibb_stream_start', on_start)
        if method == 'srp':
            # Pairing (§4.1): the initiator proved the PIN; learn its certificate.
            try:
                _name, der = await stream.fetch_pubkeys()
                self.trust(sha256_hex(der), der)
            except (IndieError, AssertionError, asyncio.CancelledError) as e:
                self.failures.append('pubkeys: %r' % e)
        self.accepted.append(E2eHandle(self, stream))
        self._client._record('e2e_accepted', peer)

    # -- §4.1 pubkeys --------------------------------------------------------
    def _answer_pubkeys(self, stream, iq):
        stream.pubkeys_asked = True
        self._client._record('pubkeys_asked', stream.session['peer'])
        return pubkeys_element(self.device_name, self.cert_der)
