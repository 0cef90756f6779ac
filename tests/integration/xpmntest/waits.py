"""Bounded waiting for something a test can observe (a guard against hanging,
never a speed goal)."""
import time


def wait_until(predicate, what, timeout=20.0, interval=0.1):
    """Calls `predicate` until it returns something true and returns that;
    AssertionError naming `what` (and the last value) after `timeout` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError('not within %ss: %s (last: %r)' % (timeout, what, value))
        time.sleep(interval)
