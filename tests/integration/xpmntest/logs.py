"""Bounded waits for text to show up in a growing log file."""
import time


def read_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except FileNotFoundError:
        return ''


def wait_for_text(read, text, timeout, start=0, check=None, describe=None):
    """Polls read() until `text` appears after offset `start`; returns its offset.

    check() may raise to end the wait early (e.g. the process died);
    describe() gives the diagnostics for the timeout error."""
    deadline = time.monotonic() + timeout
    while True:
        i = read().find(text, start)
        if i >= 0:
            return i
        if check:
            check()
        if time.monotonic() > deadline:
            raise AssertionError('%r did not appear within %ss\n%s' % (
                text, timeout, describe() if describe else ''))
        time.sleep(0.05)
