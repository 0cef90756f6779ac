"""What the real XMPP server fixtures (prosody.Prosody, ejabberd.Ejabberd)
share, so that tests can use either: facts for clients (address, jid(),
ca_file, fingerprint), the process state, the start-up wait and diagnostics.

A subclass sets `name`, `error` (its exception class), `proc`, `domain`,
`c2s_port`, `pki`, `server_cert`, `log_file` and `console_file`."""
import socket
import subprocess
import time

from . import reaper
from .logs import read_text, wait_for_text


class XmppServer(reaper.Server):
    name = 'xmpp server'
    error = AssertionError
    proc = None

    # -- facts for tests ----------------------------------------------------
    @property
    def ca_file(self):
        return self.pki.ca_cert

    @property
    def fingerprint(self):
        """SHA-256 (hex) of the server certificate's DER."""
        return self.server_cert.fingerprint

    @property
    def address(self):
        return ('127.0.0.1', self.c2s_port)

    def jid(self, user, resource=None):
        return '%s@%s%s' % (user, self.domain, '/' + resource if resource else '')

    # -- process state ------------------------------------------------------
    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _wait_listening(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise self.error('%s exited with status %s during start-up\n%s' % (
                    self.name, self.proc.returncode, self.diagnostics()))
            try:
                with socket.create_connection(self.address, timeout=0.5):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise self.error('%s did not accept connections on %s:%d within %ss\n%s' % (
                    self.name, *self.address, timeout, self.diagnostics()))
            time.sleep(0.05)

    def _reap(self, timeout):
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _signal(self, sig):
        try:
            self.proc.send_signal(sig)
        except ProcessLookupError:
            pass

    # -- diagnostics --------------------------------------------------------
    def log_text(self):
        return read_text(self.log_file)

    def console_text(self):
        return read_text(self.console_file)

    def diagnostics(self, log_lines=60):
        log = self.log_text().splitlines()[-log_lines:]
        return '--- %s console (%s) ---\n%s--- last %d lines of %s ---\n%s' % (
            self.name, self.console_file, self.console_text()[-4000:], len(log), self.log_file,
            '\n'.join(log))

    def wait_for_log(self, text, timeout=10.0, start=0):
        """Waits until `text` appears in the log after offset `start`; returns its offset."""
        return wait_for_text(self.log_text, text, timeout, start, describe=self.diagnostics)
