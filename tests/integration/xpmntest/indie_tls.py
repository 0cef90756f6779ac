"""Byte streams under the independent peer's end-to-end XML stream
(indie_peer.py): an IBB stream as ordered bytes, and TLS over it in both
roles, x509 with Python's ssl (MemoryBIO/SSLObject) and srp with srp_tls.py
(OpenSSL's SRP through ctypes) bridged over a loopback socket."""
import asyncio
import os
import socket
import ssl
import subprocess

from slixmpp.exceptions import IqError, IqTimeout


class IndieError(AssertionError):
    """A session the other side refused or ended; `reason` is the Jingle
    <reason/> condition (or 'security-error' for a failed check here)."""

    def __init__(self, reason, text=''):
        super().__init__('%s%s' % (reason, ': ' + text if text else ''))
        self.reason = reason
        self.text = text



# -- TLS over the IBB stream --------------------------------------------------
class IbbPipe:
    """Bytes in and out of one IBB stream (slixmpp's IBBytestream), in order."""

    def __init__(self, stream):
        self.stream = stream
        self._out = asyncio.Queue()
        self._writer = asyncio.ensure_future(self._write_loop())
        self.error = None

    async def _write_loop(self):
        while True:
            data = await self._out.get()
            if data is None:
                return
            try:
                await self.stream.sendall(data, timeout=15)
            except (IqError, IqTimeout, OSError) as e:
                self.error = 'IBB send failed: %r' % e
                return

    def write(self, data):
        if data:
            self._out.put_nowait(data)

    async def read(self):
        """Next block, or b'' when the stream was closed."""
        data = await self.stream.recv_queue.get()
        return data

    def push_eof(self):
        self.stream.recv_queue.put_nowait(b'')

    async def close(self):
        self._out.put_nowait(None)
        try:
            await asyncio.wait_for(self._writer, 15)
        except asyncio.TimeoutError:
            self._writer.cancel()
        if not self.stream.stream_out_closed:
            try:
                await self.stream.close(timeout=10)
            except (IqError, IqTimeout, OSError):
                pass


class SslObjectTls:
    """x509: Python's ssl over the IBB pipe (client = initiator, server = responder)."""

    def __init__(self, pipe, identity, server_side, trusted_ders=()):
        self.pipe = pipe
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(identity.cert, identity.key)
        if server_side:
            # Requests the client's certificate; Python's ssl has no verify
            # callback, so the trusted (self-signed) certificates are the CA list.
            ctx.verify_mode = ssl.CERT_REQUIRED
            for der in trusted_ders:
                ctx.load_verify_locations(cadata=der)
        else:
            # The server's self-signed certificate is checked by fingerprint below.
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_side=server_side)

    def _flush(self):
        self.pipe.write(self.outgoing.read())

    async def _feed(self):
        data = await self.pipe.read()
        if not data:
            self.incoming.write_eof()
        else:
            self.incoming.write(data)

    async def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self._flush()
                return self.obj.getpeercert(binary_form=True)
            except ssl.SSLWantReadError:
                self._flush()
                await self._feed()

    def write(self, data):
        self.obj.write(data)
        self._flush()

    async def read(self):
        """Plaintext, or b'' at the end (close_notify or EOF)."""
        while True:
            try:
                data = self.obj.read(65536)
                self._flush()
                return data
            except ssl.SSLWantReadError:
                self._flush()
                await self._feed()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b''

    def close(self):
        try:
            self.obj.unwrap()
        except ssl.SSLError:
            pass
        self._flush()


class SrpTls:
    """srp: srp_tls.py (OpenSSL's SRP through ctypes; the openssl tools crash
    or refuse every user in Debian 12) on a loopback TCP socket whose other
    end is bridged to the IBB pipe; its stdin/stdout carry the plaintext."""

    TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'srp_tls.py')

    def __init__(self, pipe, server_side, user, pin):
        self.pipe = pipe
        self.server_side = server_side
        self.user = user
        self.pin = pin
        self.proc = None
        self._tasks = []
        self._sock_writer = None

    async def handshake(self):
        """Starts the tool and the byte bridge. The tool finishes the handshake
        by itself; a failed one ends it, which read() reports."""
        loop = asyncio.get_running_loop()
        if self.server_side:
            port = _free_loopback_port()
            await self._start_tool('server', port)
            for _ in range(200):
                try:
                    self._sock_reader, self._sock_writer = await asyncio.open_connection('127.0.0.1', port)
                    break
                except OSError:
                    if self.proc.returncode is not None:
                        break
                    await asyncio.sleep(0.05)
            else:
                raise IndieError('security-error', 'srp_tls server did not listen')
        else:
            accepted = loop.create_future()

            def on_connect(reader, writer):
                if accepted.done():
                    writer.close()
                else:
                    accepted.set_result((reader, writer))
            server = await asyncio.start_server(on_connect, '127.0.0.1', 0)
            await self._start_tool('client', server.sockets[0].getsockname()[1])
            try:
                self._sock_reader, self._sock_writer = await asyncio.wait_for(accepted, 15)
            finally:
                server.close()
        if self._sock_writer is None:
            raise IndieError('security-error', 'srp_tls did not connect')
        # Bytes between the tool's TCP socket and the IBB stream, both ways.
        self._tasks = [asyncio.ensure_future(self._ibb_to_sock()),
                       asyncio.ensure_future(self._sock_to_ibb())]
        return None

    async def _start_tool(self, role, port):
        self.proc = await asyncio.create_subprocess_exec(
            '/usr/bin/python3', self.TOOL, role, str(port), self.user, self.pin,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    async def _ibb_to_sock(self):
        while True:
            data = await self.pipe.read()
            if not data:
                self._sock_writer.write_eof() if self._sock_writer.can_write_eof() else None
                return
            self._sock_writer.write(data)
            await self._sock_writer.drain()

    async def _sock_to_ibb(self):
        while True:
            data = await self._sock_reader.read(65536)
            if not data:
                return
            self.pipe.write(data)

    def write(self, data):
        self.proc.stdin.write(data)

    async def read(self):
        """Plaintext, or b'' at the end; a tool that failed raises IndieError."""
        data = await self.proc.stdout.read(65536)
        if data:
            return data
        try:
            code = await asyncio.wait_for(self.proc.wait(), 10)
        except asyncio.TimeoutError:
            return b''
        if code != 0:
            err = (await self.proc.stderr.read()).decode(errors='replace').strip()
            raise IndieError('security-error', 'SRP TLS failed: %s' % err[-400:])
        return b''

    def close(self):
        try:
            self.proc.stdin.close()
        except (OSError, AttributeError):
            pass

    async def finish(self):
        if self.proc and self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        for t in self._tasks:
            t.cancel()
        if self._sock_writer:
            self._sock_writer.close()


async def release(tls, pipe):
    """Ends TLS (close_notify where possible), the SRP tool, then the IBB stream."""
    try:
        tls.close()
    except (OSError, ValueError, ssl.SSLError):
        pass
    if isinstance(tls, SrpTls):
        await tls.finish()
    await pipe.close()


def _free_loopback_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
