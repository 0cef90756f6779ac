"""A loopback TCP proxy for fault injection ("the TCP connection was cut").

    with TcpProxy(target_port=srv.c2s_port) as proxy:     # listens on proxy.listen_port
        ... connect the client under test to 127.0.0.1:proxy.listen_port ...
        proxy.wait_connections(1)
        proxy.cut_all()        # every current connection reset (RST, SO_LINGER 0), both sides
        proxy.pause()          # new connections refused (listener closed) ...
        proxy.pause(refuse=False)  # ... or left hanging in the backlog, unanswered
        proxy.resume()         # accept again, same port
        proxy.stall()          # stop forwarding bytes (a silent, half-dead link) / unstall()

The proxy runs an asyncio loop in its own thread; the public methods are
thread-safe and bounded. Connections to the target that fail are reset.
"""
import asyncio
import socket
import struct
import threading

from . import ports

_LINGER_RST = struct.pack('ii', 1, 0)


def _rst_close(sock):
    """Closes `sock` so that the peer sees a reset, not a FIN."""
    if sock.fileno() < 0:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    except OSError:
        pass
    sock.close()


class _Conn:
    def __init__(self, client, upstream):
        self.client = client
        self.upstream = upstream
        self.tasks = []
        self.cut = False


class TcpProxy:
    def __init__(self, target_port, target_host='127.0.0.1', listen_port=None,
                 listen_host='127.0.0.1', connect_timeout=5.0):
        self.target = (target_host, target_port)
        self.listen_host = listen_host
        self.listen_port = listen_port or ports.free_port(listen_host)
        self.connect_timeout = connect_timeout

        self._cond = threading.Condition()
        self.accepted_total = 0
        self._conns = set()
        self._listen_sock = None
        self._accepting = False
        self._flowing = None  # asyncio.Event, made on the loop
        self._upstream_flowing = None  # client -> target only
        self._loop = asyncio.new_event_loop()
        self._thread = None

    # -- plumbing -----------------------------------------------------------
    def _run(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _thread_main(self):
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()
        self._loop.close()

    def start(self):
        self._thread = threading.Thread(target=self._thread_main, daemon=True,
                                        name='tcpproxy-%d' % self.listen_port)
        self._thread.start()
        self._run(self._start())
        return self

    async def _start(self):
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._upstream_flowing = asyncio.Event()
        self._upstream_flowing.set()
        self._listen()

    def _listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.listen_host, self.listen_port))
        s.listen(64)
        s.setblocking(False)
        self._listen_sock = s
        self._start_accepting()

    # Accepting is a reader callback on the listening socket (not a task
    # awaiting sock_accept, whose cancellation could drop an accepted socket).
    def _start_accepting(self):
        if not self._accepting:
            self._loop.add_reader(self._listen_sock.fileno(), self._on_acceptable)
            self._accepting = True

    def _stop_accepting(self):
        if self._accepting:
            self._loop.remove_reader(self._listen_sock.fileno())
            self._accepting = False

    def _on_acceptable(self):
        for _ in range(64):
            try:
                client, _ = self._listen_sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            client.setblocking(False)
            upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            upstream.setblocking(False)
            conn = _Conn(client, upstream)
            with self._cond:  # counted from the accept on, not from the task's start
                self.accepted_total += 1
                self._conns.add(conn)
                self._cond.notify_all()
            self._loop.create_task(self._handle(conn))

    async def _handle(self, conn):
        client, upstream = conn.client, conn.upstream
        try:
            if conn.cut:
                return
            connecting = self._loop.create_task(asyncio.wait_for(
                self._loop.sock_connect(upstream, self.target), self.connect_timeout))
            conn.tasks = [connecting]
            try:
                await connecting
            except (OSError, asyncio.TimeoutError, asyncio.CancelledError):
                if not conn.cut:  # target down: reset the client too
                    _rst_close(upstream)
                    _rst_close(client)
                return
            if conn.cut:
                return
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.tasks = [self._loop.create_task(self._pump(client, upstream, self._upstream_flowing)),
                          self._loop.create_task(self._pump(upstream, client))]
            done, pending = await asyncio.wait(conn.tasks, return_when=asyncio.FIRST_EXCEPTION)
            if conn.cut:
                return
            failed = any(not t.cancelled() and t.exception() is not None for t in done)
            if failed:  # a reset on one side becomes a reset on the other
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                _rst_close(client)
                _rst_close(upstream)
            else:
                client.close()
                upstream.close()
        finally:
            with self._cond:
                self._conns.discard(conn)
                self._cond.notify_all()

    async def _pump(self, src, dst, gate=None):
        while True:
            await self._flowing.wait()
            data = await self._loop.sock_recv(src, 65536)
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            await self._flowing.wait()
            if gate is not None:
                await gate.wait()
            await self._loop.sock_sendall(dst, data)

    async def _cut_all(self):
        with self._cond:
            conns = list(self._conns)
        for c in conns:
            c.cut = True
            for t in c.tasks:
                t.cancel()
        for c in conns:
            # Let the cancelled socket operations unregister before closing.
            await asyncio.gather(*c.tasks, return_exceptions=True)
            _rst_close(c.client)
            _rst_close(c.upstream)
        with self._cond:
            for c in conns:
                self._conns.discard(c)
            self._cond.notify_all()
        return len(conns)

    async def _pause(self, refuse):
        if self._listen_sock is not None:
            self._stop_accepting()
        if refuse and self._listen_sock is not None:
            self._listen_sock.close()
            self._listen_sock = None

    async def _resume(self):
        if self._listen_sock is None:
            self._listen()
        else:
            self._start_accepting()

    # -- public API ---------------------------------------------------------
    @property
    def address(self):
        return (self.listen_host, self.listen_port)

    @property
    def active_connections(self):
        """Accepted connections not yet closed (including ones still connecting
        to the target)."""
        with self._cond:
            return len(self._conns)

    def cut_all(self):
        """Resets every current connection (both sides); keeps accepting new ones.
        Returns how many were cut."""
        return self._run(self._cut_all())

    def pause(self, refuse=True):
        """Stops accepting. refuse=True closes the listener (connection refused);
        refuse=False keeps it open so connects hang unanswered in the backlog."""
        self._run(self._pause(refuse))

    def resume(self):
        self._run(self._resume())

    def stall(self):
        """Stops forwarding bytes in both directions (connections stay open)."""
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def stall_upstream(self):
        """Holds what the client sends (client -> target); the other way still flows.
        What is held is lost if the connection is cut."""
        self._loop.call_soon_threadsafe(self._upstream_flowing.clear)

    def unstall_upstream(self):
        self._loop.call_soon_threadsafe(self._upstream_flowing.set)

    def unstall(self):
        self._loop.call_soon_threadsafe(self._flowing.set)

    def wait_connections(self, n, timeout=10):
        """Waits until at least `n` connections are being proxied."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._conns) >= n, timeout):
                raise AssertionError('tcpproxy %d: %d connections after %ss, wanted %d' % (
                    self.listen_port, len(self._conns), timeout, n))

    def wait_accepted(self, total, timeout=10):
        """Waits until `total` connections have been accepted since start."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.accepted_total >= total, timeout):
                raise AssertionError('tcpproxy %d: %d accepted after %ss, wanted %d' % (
                    self.listen_port, self.accepted_total, timeout, total))

    def wait_active(self, n, timeout=10):
        """Waits until exactly `n` connections are open (e.g. 0 after a cut)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._conns) == n, timeout):
                raise AssertionError('tcpproxy %d: %d connections after %ss, wanted exactly %d' % (
                    self.listen_port, len(self._conns), timeout, n))

    def wait_no_connections(self, timeout=10):
        self.wait_active(0, timeout)

    def stop(self):
        """Closes the listener, resets every connection, ends the thread."""
        if self._thread is None or not self._thread.is_alive():
            return
        try:
            self._run(self._pause(True))
            self._run(self._cut_all())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
