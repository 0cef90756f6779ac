"""slixmpp's own SOCKS5 client (plugin xep_0065) for an S5B candidate, the
connection then handed over as a plain blocking socket.

The DST.ADDR is the plugin's `_get_dest_sha1(sid, requester, target)`, which
is XEP-0260's hex SHA-1(sid + initiator full JID + responder full JID) when
the requester is the session's initiator; the RFC 1928 handshake is the
plugin's `Socks5Protocol` (via `_connect_proxy`). Once it reports the
CONNECT reply, asyncio stops reading the connection and a dup() of its
socket, blocking, is returned: what was read so far was the SOCKS5 reply
only (the bridge, a TLS server, speaks after our ClientHello), so TLS and
the §6.2 chunk reader carry on from there as with the hand-written client.

    link = slix_socks5_connect(peer._client, host, port, sid, initiator, responder)
    link.sock, link.dest, link.bound   # socket, DST.ADDR sent, (BND.ADDR, BND.PORT) of the reply
"""
import asyncio
from dataclasses import dataclass
import socket

from slixmpp import JID

from .indie_tls import IndieError


@dataclass
class Socks5Link:
    sock: socket.socket   # blocking, connected past the SOCKS5 handshake
    dest: str             # the DST.ADDR slixmpp sent
    bound: tuple          # (BND.ADDR, BND.PORT) of the server's reply, as slixmpp parsed it


def plugin_of(client):
    """The client's xep_0065 plugin; a clear error when it was not loaded."""
    if 'xep_0065' not in client.xmpp.plugin:
        raise AssertionError('%s: slixmpp plugin xep_0065 is not loaded (plugins=%s)' % (
            client.name, client.plugins))
    return client.xmpp['xep_0065']


def slix_dest(client, sid, initiator, responder):
    """The DST.ADDR slixmpp computes for (sid, requester, target)."""
    return plugin_of(client)._get_dest_sha1(sid, JID(initiator), JID(responder))


async def _handshake(plugin, dest, host, port, timeout):
    transport, proto = await asyncio.wait_for(plugin._connect_proxy(dest, host, port), timeout)
    try:
        # The plugin resolves `connected` with the reply's (BND.ADDR, BND.PORT),
        # or fails it (ReplyError) when the server refuses the CONNECT.
        bound = await asyncio.wait_for(asyncio.shield(proto.connected), timeout)
        transport.pause_reading()
        sock = transport.get_extra_info('socket').dup()
    finally:
        transport.abort()   # closes asyncio's descriptor only: the dup keeps the connection
    sock.settimeout(None)
    return sock, bound


def slix_socks5_connect(client, host, port, sid, initiator, responder, dest=None, timeout=3.0):
    """Connects to the SOCKS5 server host:port with slixmpp, on the client's
    loop (so from its network namespace); `dest` None: slixmpp's hash of
    (sid, initiator, responder). Raises IndieError('failed-transport') when
    the connection or the handshake fails."""
    plugin = plugin_of(client)
    dest = dest or slix_dest(client, sid, initiator, responder)

    async def run():
        try:
            return await _handshake(plugin, dest, host, int(port), timeout)
        except (OSError, asyncio.TimeoutError, ValueError) as e:
            raise IndieError('failed-transport', 'slixmpp SOCKS5 to %s:%s: %r' % (host, port, e)) from e
        except Exception as e:   # the plugin's ReplyError, ProtocolError, …
            raise IndieError('failed-transport', 'slixmpp SOCKS5 to %s:%s refused: %r' % (host, port, e)) from e

    sock, bound = client._call(run(), timeout * 2 + 5, 'slixmpp SOCKS5 to %s:%s' % (host, port))
    return Socks5Link(sock, dest, tuple(bound))
