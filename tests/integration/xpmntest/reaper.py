"""Kills the servers a test started if the test process exits without
stopping them (a failed assertion, Ctrl-C): objects register while running
and must have a kill() method."""
import atexit
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
