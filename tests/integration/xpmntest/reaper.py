"""Kills the servers a test started if the test process exits without
stopping them (a failed assertion, Ctrl-C): objects register while running
and must have a kill() method."""
import atexit
import subprocess
import threading
import weakref

_running = weakref.WeakSet()
_lock = threading.Lock()


def track(server):
    with _lock:
        _running.add(server)


def untrack(server):
    with _lock:
        _running.discard(server)


@atexit.register
def _kill_leftovers():
    with _lock:
        left = list(_running)
    for server in left:
        try:
            server.kill()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


class Server:
    """What a test server class shares: a context manager around start()/stop(),
    and _finish() after it ended (untracks it, closes its console log)."""
    _console = None

    def _finish(self):
        untrack(self)
        if self._console:
            self._console.close()
            self._console = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def terminate(proc, timeout=10):
    """SIGTERM, wait up to `timeout`, then SIGKILL; returns True when it
    ended on SIGTERM (False: it had to be killed). No-op if it has ended."""
    if proc is None or proc.poll() is not None:
        return True
    proc.terminate()
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        return False


def kill(proc):
    """SIGKILL and reap, if still running."""
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(5)
