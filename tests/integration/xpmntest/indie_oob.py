"""An independent OOB session initiator, written from the wire profile (§6.2)
and the XEPs alone: what a third-party controller does to receive a device's
out-of-band data.

Jingle (XEP-0166) session-initiate by hand with the out-of-band application
(`urn:xmpp:jingle:apps:out-of-band:0`), an S5B transport (XEP-0260) and an
XTLS `<security>` with `x509` only; the SOCKS5 client and server sides
(RFC 1928, XEP-0065 hostname mode: DST.ADDR = hex SHA-1(sid + initiator full
JID + responder full JID), DST.PORT 0) on plain blocking sockets; nomination,
candidate-used / candidate-error / activated per XEP-0260 §2.3–2.5; then TLS
as the client with Python's ssl module (our paired certificate; the device's
must hash to the fingerprint of its <security> and be trusted) and the §6.2
chunk framing `HEXSIZE SP ID CRLF DATA CRLF` … `0 SP ID CRLF CRLF`.

    peer = IndiePeer(...); peer.connect(); peer.pair(bridge, pin)
    oob = OobSession(peer, device_full_jid, direct=True)   # our own 127.0.0.1 candidate
    oob.open()                  # raises IndieError with the Jingle reason if refused
    s = peer.open(device_full_jid)
    reply = s.iq("<transfer xmlns='urn:xmpp:media:server:0' uid='…'/>")
    data = oob.read(reply.find(...).get('id'))             # the id's bytes, until its end chunk
    oob.close()

When both sides report candidate-error the session falls back to IBB by
transport-replace (XEP-0260 §3), TLS then runs over the IBB stream.
`socks5='slixmpp'` connects to the device's candidates (and to our proxy)
with slixmpp's own SOCKS5 client and DST.ADDR hash (plugin xep_0065, which
the peer must load: slix_socks5.py) instead of `socks5_connect`; `links`
then holds what each such connection saw (cid -> Socks5Link).
`proxy=(jid, host, port)` adds a proxy candidate (XEP-0065 streamhost of our
server): when it is nominated we activate it (`<activate/>` to the proxy)
and send `activated`.
"""
import asyncio
import hashlib
import queue
import secrets
import socket
import ssl
import threading
import xml.etree.ElementTree as ET

from .indie_peer import (BLOCK_SIZE, CLIENT, IBB_TRANSPORT, JINGLE, IndieError, jingle_iq, parse_security, q,
                         security_element, sha256_hex)
from .indie_tls import IbbPipe, SslObjectTls, release
from .slix_socks5 import slix_socks5_connect
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

OOB_APP = 'urn:xmpp:jingle:apps:out-of-band:0'
S5B = 'urn:xmpp:jingle:transports:s5b:1'
BYTESTREAMS = 'http://jabber.org/protocol/bytestreams'
TYPE_PREFERENCE = {'direct': 126, 'assisted': 120, 'tunnel': 110, 'proxy': 10}
CONNECT_TIMEOUT = 3.0
MAX_CHUNK = 65536


def dstaddr(sid, initiator, responder):
    return hashlib.sha1((sid + initiator + responder).encode()).hexdigest()


def _recv_exact(sock, n):
    out = b''
    while len(out) < n:
        part = sock.recv(n - len(out))
        if not part:
            raise IndieError('failed-transport', 'connection closed after %d of %d bytes' % (len(out), n))
        out += part
    return out


def socks5_connect(host, port, addr, timeout=CONNECT_TIMEOUT, netns=None):
    """RFC 1928 client: no authentication, CONNECT to the domain name `addr`,
    port 0 (from namespace `netns` if given). Returns the connected socket."""
    connect = netns.create_connection if netns is not None else socket.create_connection
    sock = connect((host, int(port)), timeout=timeout)
    try:
        sock.sendall(b'\x05\x01\x00')
        if _recv_exact(sock, 2) != b'\x05\x00':
            raise IndieError('failed-transport', 'SOCKS5 server refused the no-auth method')
        a = addr.encode()
        sock.sendall(b'\x05\x01\x00\x03' + bytes([len(a)]) + a + b'\x00\x00')
        head = _recv_exact(sock, 4)
        if head[:2] != b'\x05\x00':
            raise IndieError('failed-transport', 'SOCKS5 CONNECT refused: reply %r' % head)
        if head[3] == 3:
            _recv_exact(sock, _recv_exact(sock, 1)[0] + 2)
        elif head[3] == 1:
            _recv_exact(sock, 6)
        elif head[3] == 4:
            _recv_exact(sock, 18)
        sock.settimeout(None)
        return sock
    except BaseException:
        sock.close()
        raise


class Socks5Listener:
    """Our direct candidate: the SOCKS5 server side on 127.0.0.1 that accepts
    only CONNECTs to the expected DST.ADDR (any other is refused)."""

    def __init__(self, expected_addr, host='127.0.0.1', netns=None):
        self.expected = expected_addr
        self.host = host
        self.sock = netns.socket() if netns is not None else socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.connected = queue.Queue()   # sockets that completed the handshake
        self.refused = []                # DST.ADDRs that did not match
        self._thread = threading.Thread(target=self._run, daemon=True, name='indie s5b listener')
        self._thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handshake, args=(conn,), daemon=True).start()

    def _handshake(self, conn):
        try:
            conn.settimeout(CONNECT_TIMEOUT * 3)
            ver, n = _recv_exact(conn, 2)
            methods = _recv_exact(conn, n)
            if ver != 5 or 0 not in methods:
                conn.sendall(b'\x05\xff')
                raise IndieError('failed-transport', 'no no-auth method offered')
            conn.sendall(b'\x05\x00')
            ver, cmd, _rsv, atyp = _recv_exact(conn, 4)
            if atyp != 3:
                raise IndieError('failed-transport', 'address type %d, not a domain name' % atyp)
            addr = _recv_exact(conn, _recv_exact(conn, 1)[0])
            _recv_exact(conn, 2)   # DST.PORT: 0 in XEP-0065
            ok = ver == 5 and cmd == 1 and addr.decode(errors='replace') == self.expected
            reply = b'\x05' + (b'\x00' if ok else b'\x02') + b'\x00\x03' + bytes([len(addr)]) + addr + b'\x00\x00'
            conn.sendall(reply)
            if not ok:
                self.refused.append(addr.decode(errors='replace'))
                raise IndieError('failed-transport', 'unexpected DST.ADDR %r' % addr)
            conn.settimeout(None)
            self.connected.put(conn)
        except (IndieError, OSError, ValueError):
            conn.close()

    def close(self):
        self.sock.close()


class ChunkReader:
    """§6.2 framing on the secured stream, demultiplexed per id."""

    def __init__(self, tls):
        self.tls = tls
        self.buf = b''
        self.data = {}       # id -> bytearray
        self.ended = set()
        self.chunks = {}     # id -> number of chunks
        self.error = None
        self.eof = False
        self.cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True, name='indie oob reader')
        self._thread.start()

    def _fill(self, n):
        while len(self.buf) < n:
            part = self.tls.recv(1 << 16)
            if not part:
                raise EOFError
            self.buf += part

    def _line(self):
        while b'\r\n' not in self.buf:
            if len(self.buf) > 64:
                raise IndieError('bad-request', 'chunk header too long: %r' % self.buf[:64])
            self._fill(len(self.buf) + 1)
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def _run(self):
        try:
            while True:
                line = self._line()
                size_hex, sep, id_ = line.decode('ascii').partition(' ')
                if not sep or not id_.isalnum() or not id_.isascii() or not size_hex or \
                        any(c not in '0123456789abcdefABCDEF' for c in size_hex):
                    raise IndieError('bad-request', 'bad chunk header %r' % line)
                size = int(size_hex, 16)
                if size > MAX_CHUNK:
                    raise IndieError('bad-request', 'chunk of %d bytes (limit %d)' % (size, MAX_CHUNK))
                self._fill(size + 2)
                body, trailer, self.buf = self.buf[:size], self.buf[size:size + 2], self.buf[size + 2:]
                if trailer != b'\r\n':
                    raise IndieError('bad-request', 'chunk of %s not followed by CRLF: %r' % (id_, trailer))
                with self.cond:
                    if id_ in self.ended:
                        raise IndieError('bad-request', 'chunk for %s after its end' % id_)
                    if size == 0:
                        self.ended.add(id_)
                    else:
                        self.data.setdefault(id_, bytearray()).extend(body)
                        self.chunks[id_] = self.chunks.get(id_, 0) + 1
                    self.cond.notify_all()
        except EOFError:
            pass
        except (IndieError, OSError, ssl.SSLError, UnicodeDecodeError) as e:
            self.error = repr(e)
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def read(self, id_, timeout=30):
        with self.cond:
            if not self.cond.wait_for(lambda: id_ in self.ended or self.eof, timeout):
                raise AssertionError('id %s not ended within %ss (%d bytes so far)' % (
                    id_, timeout, len(self.data.get(id_, b''))))
            if id_ not in self.ended:
                raise AssertionError('OOB stream ended before id %s did: %s' % (id_, self.error))
            return bytes(self.data.get(id_, b''))


def discover_proxies(peer, timeout=10):
    """XEP-0065 §4: disco#items of our server, disco#info of each item, and
    the streamhost of every proxy/bytestreams one: [(jid, host, port)]."""
    domain = peer.jid.split('@', 1)[1].split('/', 1)[0]

    async def get(to, ns):
        iq = ET.Element(q('iq', CLIENT), {'type': 'get', 'to': to})
        ET.SubElement(iq, q('query', ns))
        return (await peer._send_set(iq, timeout)).xml

    async def run():
        found = []
        items = await get(domain, 'http://jabber.org/protocol/disco#items')
        for item in items.iter('{http://jabber.org/protocol/disco#items}item'):
            try:
                info = await get(item.get('jid'), 'http://jabber.org/protocol/disco#info')
                if not any(i.get('category') == 'proxy' and i.get('type') == 'bytestreams'
                           for i in info.iter('{http://jabber.org/protocol/disco#info}identity')):
                    continue
                hosts = await get(item.get('jid'), BYTESTREAMS)
            except IndieError:
                continue
            found += [(h.get('jid'), h.get('host'), int(h.get('port')))
                      for h in hosts.iter(q('streamhost', BYTESTREAMS)) if h.get('host') and h.get('port')]
        return found
    return peer._client._call(run(), timeout * 4, 'proxy discovery on %s' % domain)


class OobSession:
    """One OOB Jingle session from an IndiePeer to a device (§6.2)."""

    def __init__(self, peer, device, direct=True, proxy=None, offer_nothing=False, local_preference=0,
                 direct_host='127.0.0.1', connect_theirs=True, claim_fingerprint=None, socks5='own'):
        if socks5 not in ('own', 'slixmpp'):
            raise ValueError('socks5: own or slixmpp, not %r' % (socks5,))
        self.peer = peer
        self.device = device
        self.sid = secrets.token_hex(8)
        self.transport_sid = secrets.token_hex(6)
        self.direct = direct and not offer_nothing
        self.proxy = None if offer_nothing else proxy   # (jid, host, port)
        self.direct_host = direct_host
        self.connect_theirs = connect_theirs   # False: as if none of theirs were reachable
        self.claim_fingerprint = claim_fingerprint   # sent instead of ours (an impostor)
        self.local_preference = local_preference   # of our direct candidate (0..65535)
        self.socks5 = socks5              # whose SOCKS5 client connects: 'own' or 'slixmpp'
        self.links = {}                   # cid -> Socks5Link of slixmpp's connections
        self.listener = None
        self.infos = queue.Queue()        # transport-info <jingle/> of the device
        self.session = None
        self.ours = {}                    # cid -> candidate attrs
        self.theirs = {}
        self.their_fp = None
        self.used_by_us = None            # cid of theirs we connected to
        self.used_by_them = None          # cid of ours they reported
        self.nominated = None             # (who, cid)
        self.sock = None
        self.ibb = None                   # the IBB fallback: tls, pipe, plain (socket), pump
        self.their_sock = None
        self.tls = None
        self.reader = None
        self.accept = None                # the device's session-accept, once it came
        self.their_reason = None          # the <reason/> of the device's session-terminate
        self.ended = threading.Condition()
        self.log = []                     # what the device sent (serialized), for messages

    # -- Jingle --------------------------------------------------------------
    def _content(self, transport, description=True, security=None):
        c = ET.Element(q('content', JINGLE), {'creator': 'initiator', 'name': 'oob'})
        if description:
            ET.SubElement(c, q('description', OOB_APP))
        c.append(transport)
        if security is not None:
            c.append(security)
        return c

    def _transport(self, **attrs):
        return ET.Element(q('transport', S5B), dict({'sid': self.transport_sid}, **attrs))

    def _candidates(self):
        t = self._transport(dstaddr=self.addr, mode='tcp')
        if self.direct:
            self.listener = Socks5Listener(self.addr, self.direct_host, self.peer.netns)
            self.ours['d' + secrets.token_hex(4)] = {'type': 'direct', 'host': self.direct_host,
                                                    'port': str(self.listener.port),
                                                    'jid': self.peer.full_jid,
                                                    'priority': str((1 << 16) * 126 + self.local_preference)}
        if self.proxy:
            jid, host, port = self.proxy
            self.ours['p' + secrets.token_hex(4)] = {'type': 'proxy', 'host': host, 'port': str(port),
                                                    'jid': jid, 'priority': str((1 << 16) * 10)}
        for cid, c in self.ours.items():
            ET.SubElement(t, q('candidate', S5B), dict(c, cid=cid))
        return t

    def _send(self, action, transport, timeout=15, **kw):
        el = jingle_iq(self.device, action, self.sid, self.peer.full_jid if action == 'session-initiate' else None,
                       self._content(transport, description=(action == 'session-initiate'), **kw))
        return self.peer._client._call(self.peer._send_set(el, timeout), timeout + 5, 'jingle %s' % action)

    def _install(self):
        self.peer.xmpp.register_handler(Callback(
            'indie oob %s' % self.sid, MatchXPath('{%s}iq/{%s}jingle' % (CLIENT, JINGLE)), self._on_jingle))

    def _on_jingle(self, stanza):
        j = stanza.xml.find(q('jingle', JINGLE))
        if stanza.xml.get('type') == 'set' and j.get('sid') == self.sid and j.get('action') == 'session-terminate':
            r = j.find(q('reason', JINGLE))
            with self.ended:
                self.their_reason = r[0].tag.split('}', 1)[1] if r is not None and len(r) else 'success'
                self.ended.notify_all()
        if stanza.xml.get('type') == 'set' and j.get('sid') == self.sid and \
                j.get('action') in ('transport-info', 'transport-accept', 'transport-reject'):
            self.log.append(ET.tostring(j, encoding='unicode'))
            self.infos.put(j)   # IndiePeer's own handler acknowledges it

    def open(self, timeout=30):
        """session-initiate, session-accept, S5B negotiation, TLS. Raises
        IndieError (the Jingle reason) when the device refuses or fails."""
        client = self.peer._client
        self.addr = dstaddr(self.transport_sid, self.peer.full_jid, self.device)
        loop_future = client._call(self._make_future(), 5, 'future')
        self.session = {'sid': self.sid, 'peer': self.device, 'initiator': True, 'ibb_sid': None,
                        'accept': loop_future}
        self.peer.sessions[self.sid] = self.session
        client._call_sync(self._install, 5, 'install OOB handler')
        self._send('session-initiate', self._candidates(),
                   security=security_element(self.claim_fingerprint or self.peer.fingerprint, ('x509',)))
        accept = client._call(self._wait_accept(timeout), timeout + 5, 'session-accept of %s' % self.device)
        self.accept = accept
        self.log.append(ET.tostring(accept, encoding='unicode'))
        content = accept.find(q('content', JINGLE))
        self.their_fp, methods = parse_security(content)
        if 'x509' not in methods or self.their_fp not in self.peer.trusted:
            self.terminate('security-error')
            raise IndieError('security-error', 'session-accept security %s %s' % (self.their_fp, methods))
        t = content.find(q('transport', S5B)) if content is not None else None
        if t is None:
            self.terminate('failed-transport')
            raise IndieError('failed-transport', 'no S5B transport in the session-accept')
        self.their_dstaddr = t.get('dstaddr')
        self.accept_transport = t
        for c in t.findall(q('candidate', S5B)):
            self.theirs[c.get('cid')] = dict(c.attrib)
        self._connect_theirs()
        self._await_their_choice(timeout)
        if self.used_by_us is None and self.used_by_them is None:
            self._fallback_ibb(timeout)
            return self
        self._nominate(timeout)
        self._secure()
        return self

    async def _make_future(self):
        return asyncio.get_running_loop().create_future()

    async def _wait_accept(self, timeout):
        return await asyncio.wait_for(asyncio.shield(self.session['accept']), timeout)

    def _connect_theirs(self):
        """Their candidates in priority order; the first that completes TCP +
        SOCKS5 is the one we report (XEP-0260 §2.3)."""
        order = sorted(self.theirs.items(), key=lambda kv: -int(kv[1].get('priority', '0')))
        for cid, c in order if self.connect_theirs else ():
            try:
                # A proxy candidate is named by the DST.ADDR its sender announced
                # (XEP-0260 `dstaddr`): both sides' proxy connections must differ.
                announced = self.their_dstaddr if c.get('type') == 'proxy' else None
                self.their_sock = self._socks5_connect(cid, c, announced)
                self.used_by_us = cid
                break
            except (IndieError, OSError, KeyError, ValueError):
                continue
        t = self._transport()
        if self.used_by_us:
            ET.SubElement(t, q('candidate-used', S5B), {'cid': self.used_by_us})
        else:
            ET.SubElement(t, q('candidate-error', S5B))
        self._send('transport-info', t)

    def _socks5_connect(self, cid, c, announced=None):
        """A SOCKS5 connection to candidate `c` for DST.ADDR `announced` or
        else XEP-0260's hash: ours (self.addr) or, with socks5='slixmpp',
        the one slixmpp computes."""
        if self.socks5 == 'slixmpp':
            link = slix_socks5_connect(self.peer._client, c['host'], c['port'], self.transport_sid,
                                       self.peer.full_jid, self.device, dest=announced)
            self.links[cid] = link
            return link.sock
        return socks5_connect(c['host'], c['port'], announced or self.addr, netns=self.peer.netns)

    def _next_info(self, timeout):
        try:
            return self.infos.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError('no transport-info from %s within %ss; it sent: %s' % (
                self.device, timeout, self.log)) from None

    def _await_their_choice(self, timeout):
        while True:
            j = self._next_info(timeout)
            t = j.find('%s/%s' % (q('content', JINGLE), q('transport', S5B)))
            if t is None:
                continue
            used, err = t.find(q('candidate-used', S5B)), t.find(q('candidate-error', S5B))
            if used is not None:
                if used.get('cid') not in self.ours:
                    raise IndieError('failed-transport', 'candidate-used names no candidate of ours: %s' %
                                     ET.tostring(j, encoding='unicode'))
                self.used_by_them = used.get('cid')
                return
            if err is not None:
                return

    def _nominate(self, timeout):
        """XEP-0260 §2.4: the used candidate of higher priority wins; on a tie
        the one the initiator (we) chose."""
        mine = self.theirs.get(self.used_by_us) if self.used_by_us else None
        theirs = self.ours.get(self.used_by_them) if self.used_by_them else None
        if mine is None and theirs is None:
            self.terminate('failed-transport')
            raise IndieError('failed-transport', 'both sides sent candidate-error: %s' % self.log)
        if theirs is None or (mine is not None and int(mine['priority']) >= int(theirs['priority'])):
            self.nominated = ('responder', self.used_by_us, mine)
            self.sock = self.their_sock
            if mine['type'] == 'proxy':
                self._wait_activated(timeout)
        else:
            self.nominated = ('initiator', self.used_by_them, theirs)
            if mine is not None:
                self.their_sock.close()
            if theirs['type'] == 'proxy':
                self.sock = self._socks5_connect(self.used_by_them, theirs)
                self._activate(theirs)
            else:
                try:
                    self.sock = self.listener.connected.get(timeout=timeout)
                except queue.Empty:
                    raise AssertionError('the device reported candidate-used of our direct candidate '
                                         'but no SOCKS5 connection arrived') from None

    def _fallback_ibb(self, timeout):
        """§6.2 / XEP-0260 §3: both sides sent candidate-error, so we replace
        the transport by IBB (XEP-0261); TLS then runs over the IBB stream,
        its plaintext handed to the chunk reader through a socket pair."""
        ibb_sid = secrets.token_hex(6)
        self._send('transport-replace', ET.Element(q('transport', IBB_TRANSPORT),
                                                   {'block-size': str(BLOCK_SIZE), 'sid': ibb_sid}))
        j = self._next_info(timeout)
        t = j.find('%s/%s' % (q('content', JINGLE), q('transport', IBB_TRANSPORT)))
        if j.get('action') != 'transport-accept' or t is None or t.get('sid') != ibb_sid:
            self.terminate('failed-transport')
            raise IndieError('failed-transport', 'transport-replace to IBB not accepted: %s' %
                             ET.tostring(j, encoding='unicode'))
        block = BLOCK_SIZE
        if t.get('block-size', '').isdigit():
            block = max(1, min(block, int(t.get('block-size'))))
        self.nominated = ('ibb', ibb_sid, {'type': 'ibb', 'block-size': block})
        self.ibb = self.peer._client._call(self._ibb_tls(ibb_sid, block, timeout), timeout + 10, 'TLS over IBB')
        self.reader = ChunkReader(self.ibb['plain'])

    async def _ibb_tls(self, ibb_sid, block, timeout):
        ibb = await self.peer.xmpp['xep_0047'].open_stream(self.device, block_size=block, sid=ibb_sid)
        pipe = IbbPipe(ibb)
        self.peer._watch_ibb_end(ibb, pipe)
        tls = SslObjectTls(pipe, self.peer.identity, server_side=False)
        try:
            der = await asyncio.wait_for(tls.handshake(), timeout)
        except (ssl.SSLError, asyncio.TimeoutError) as e:
            await release(tls, pipe)
            raise IndieError('security-error', 'TLS over IBB: %r' % e) from e
        self.peer_fingerprint = sha256_hex(der or b'')
        if self.peer_fingerprint != self.their_fp or self.peer_fingerprint not in self.peer.trusted:
            await release(tls, pipe)
            raise IndieError('security-error', 'device certificate %s is not the announced/trusted %s' % (
                self.peer_fingerprint, self.their_fp))
        ours, plain = socket.socketpair()
        ours.setblocking(False)

        async def pump():
            loop = asyncio.get_running_loop()
            try:
                while True:
                    data = await tls.read()
                    if not data:
                        break
                    await loop.sock_sendall(ours, data)
            except (OSError, ssl.SSLError, IndieError):
                pass
            finally:
                ours.close()
        return {'tls': tls, 'pipe': pipe, 'plain': plain, 'pump': asyncio.ensure_future(pump())}

    async def _release_ibb(self):
        self.ibb['pump'].cancel()
        await release(self.ibb['tls'], self.ibb['pipe'])

    def _activate(self, candidate):
        """XEP-0065 §6.3.5 activation of our proxy, then `activated` (XEP-0260 §2.5)."""
        iq = ET.Element(q('iq', CLIENT), {'type': 'set', 'to': candidate['jid']})
        query = ET.SubElement(iq, q('query', BYTESTREAMS), {'sid': self.transport_sid})
        ET.SubElement(query, q('activate', BYTESTREAMS)).text = self.device
        self.peer._client._call(self.peer._send_set(iq), 20, 'activate proxy %s' % candidate['jid'])
        t = self._transport()
        ET.SubElement(t, q('activated', S5B), {'cid': self.used_by_them})
        self._send('transport-info', t)

    def _wait_activated(self, timeout):
        while True:
            j = self._next_info(timeout)
            t = j.find('%s/%s' % (q('content', JINGLE), q('transport', S5B)))
            if t is not None and t.find(q('activated', S5B)) is not None:
                return
            if t is not None and t.find(q('proxy-error', S5B)) is not None:
                raise IndieError('failed-transport', 'the device could not activate its proxy')

    def _secure(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.peer.identity.cert, self.peer.identity.key)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE      # self-signed: checked by fingerprint below
        try:
            self.sock.settimeout(30)
            self.tls = ctx.wrap_socket(self.sock, server_hostname=None)
            self.tls.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            self.terminate('security-error')
            raise IndieError('security-error', 'TLS handshake: %r' % e) from e
        self.peer_fingerprint = sha256_hex(self.tls.getpeercert(binary_form=True) or b'')
        if self.peer_fingerprint != self.their_fp or self.peer_fingerprint not in self.peer.trusted:
            self.terminate('security-error')
            raise IndieError('security-error', 'device certificate %s is not the announced/trusted %s' % (
                self.peer_fingerprint, self.their_fp))
        self.reader = ChunkReader(self.tls)

    # -- data and end ----------------------------------------------------------
    def read(self, id_, timeout=30):
        """All bytes of `id_` once its end chunk arrived."""
        return self.reader.read(id_, timeout)

    def terminate(self, reason='success'):
        if self.session is not None and not self.session.get('terminated'):
            self.peer._client._call(self.peer._terminate(self.session, reason), 20, 'session-terminate')

    def wait_terminated_by_device(self, timeout=15):
        """The <reason/> of the device's session-terminate (bounded wait)."""
        with self.ended:
            if not self.ended.wait_for(lambda: self.their_reason is not None, timeout):
                raise AssertionError('%s did not end the session within %ss' % (self.device, timeout))
            return self.their_reason

    @property
    def terminated(self):
        return self.session.get('terminated') if self.session else None

    def close(self):
        spare = []
        while self.listener and not self.listener.connected.empty():
            spare.append(self.listener.connected.get_nowait())
        for s in [self.tls, self.sock, self.their_sock] + spare:
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        if self.listener:
            self.listener.close()
        if self.ibb:
            self.ibb['plain'].close()
            try:
                self.peer._client._call(self._release_ibb(), 30, 'release TLS over IBB')
            except AssertionError:
                pass
        try:
            self.terminate('success')
        finally:
            try:
                self.peer._client._call_sync(
                    lambda: self.peer.xmpp.remove_handler('indie oob %s' % self.sid), 5, 'remove handler')
            except AssertionError:
                pass
