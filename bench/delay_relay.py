"""A TCP relay that delays every byte by a fixed time each way: a long link
without netem (this kernel has none). Used by bench/transfer.py's phone-abroad
profile, together with a `tbf` qdisc that gives the link its rate.

    relay = DelayRelay(('10.250.0.1', 5222), delay=0.040, netns=topo.server).start()
    ...  # connections to relay.listen_port (any address of the namespace) reach the target
    relay.stop()

Each direction is a delay line: what is read is stamped and written on once
its time has come, reads continuing meanwhile (so the delay does not cap the
rate: a window's worth of data is in flight, as on a real long link). What a
direction holds is bounded (QUEUE_LIMIT): when the far side does not take it,
reading stops and TCP pushes back. The loop runs on a thread that joined
`netns` (xpmntest.netns.NetNs), so listening and upstream sockets live there.
"""
import asyncio
import collections
import socket
import threading

QUEUE_LIMIT = 1 << 20  # bytes held per direction before the relay stops reading
READ_SIZE = 65536


class DelayRelay:
    def __init__(self, target, delay, netns=None, listen_host='0.0.0.0'):
        self.target = target
        self.delay = delay
        self.netns = netns
        self.listen_host = listen_host
        self.listen_port = None
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = None
        self._server = None
        self._tasks = set()

    def start(self):
        ready = threading.Event()
        failure = []

        def main():
            try:
                if self.netns is not None:
                    self.netns.enter_current_thread()
                asyncio.set_event_loop(self._loop)
                self._server = self._loop.run_until_complete(
                    asyncio.start_server(self._handle, self.listen_host, 0, reuse_address=True))
                self.listen_port = self._server.sockets[0].getsockname()[1]
            except BaseException as e:  # noqa: BLE001 - handed to start()'s caller
                failure.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.close()
        self._thread = threading.Thread(target=main, daemon=True, name='delay-relay')
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError('delay relay did not start')
        if failure:
            raise failure[0]
        return self

    async def _handle(self, client_r, client_w):
        self.accepted += 1
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            up_r, up_w = await asyncio.wait_for(asyncio.open_connection(*self.target), 10)
        except (OSError, asyncio.TimeoutError):
            client_w.close()
            self._tasks.discard(task)
            return
        for w in (client_w, up_w):
            w.get_extra_info('socket').setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await asyncio.gather(self._line(client_r, up_w), self._line(up_r, client_w))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for w in (client_w, up_w):
                w.close()
            self._tasks.discard(task)

    async def _line(self, reader, writer):
        """One direction: read, stamp, hand on after `delay`; EOF passes on delayed too."""
        queue = collections.deque()
        held = 0
        room = asyncio.Event()
        room.set()
        arrived = asyncio.Event()
        loop = asyncio.get_running_loop()

        async def read():
            nonlocal held
            while True:
                await room.wait()
                data = await reader.read(READ_SIZE)
                queue.append((loop.time() + self.delay, data))
                arrived.set()
                if not data:
                    return
                held += len(data)
                if held >= QUEUE_LIMIT:
                    room.clear()

        async def write():
            nonlocal held
            while True:
                while not queue:
                    arrived.clear()
                    await arrived.wait()
                due, data = queue.popleft()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
                held -= len(data)
                if held < QUEUE_LIMIT:
                    room.set()
        reading = asyncio.ensure_future(read())
        try:
            await write()
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    def stop(self):
        if self._thread is None or not self._thread.is_alive():
            return

        async def close():
            self._server.close()
            tasks = list(self._tasks)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # each closes its sockets
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
