"""What the real XMPP server fixtures (prosody.Prosody, ejabberd.Ejabberd)
share, so that tests can use either: facts for clients (address, jid(),
ca_file, fingerprint), the process state, the start-up wait and diagnostics.

A subclass sets `name`, `error` (its exception class), `proc`, `domain`,
`c2s_port`, `pki`, `server_cert`, `log_file` and `console_file`.

Options both servers take (all default to the loopback-only server of before):
- netns: a netns.NetNs (or topology namespace) the server runs in; its
  `interfaces` are then addresses of that namespace, and the start-up check
  connects from inside it.
- interfaces: the addresses c2s listens on (first = `address`).
- proxy65: a XEP-0065 SOCKS5 bytestreams proxy component `proxy.DOMAIN`
  listening on proxy65_port (free port by default) of proxy65_interface
  (default: the first interface), announcing proxy65_host (default: that
  address) in its <streamhost/>. `streamhost` = (jid, host, port) for tests.
"""
import shutil
import socket
import subprocess
import time

from . import ports
from . import reaper
from .logs import read_text, wait_for_text


class XmppServer(reaper.Server):
    name = 'xmpp server'
    error = AssertionError
    proc = None
    netns = None
    interfaces = ('127.0.0.1',)
    proxy65 = False
    proxy65_port = None
    proxy65_interface = None
    proxy65_host = None

    def _init_network(self, netns, interfaces, proxy65, proxy65_port, proxy65_interface,
                      proxy65_host):
        """Stores the network options shared by both servers (see the module doc)."""
        self.netns = netns
        self.interfaces = tuple(interfaces)
        if not self.interfaces:
            raise ValueError('interfaces must name at least one address')
        self.proxy65 = bool(proxy65)
        if self.proxy65:
            self.proxy65_port = proxy65_port or ports.free_port()
            self.proxy65_interface = proxy65_interface or self.interfaces[0]
            self.proxy65_host = proxy65_host or self.proxy65_interface

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
        """(host, port) clients connect to (inside `netns` when the server runs in one)."""
        return (self.interfaces[0], self.c2s_port)

    @property
    def proxy65_jid(self):
        return 'proxy.' + self.domain if self.proxy65 else None

    @property
    def streamhost(self):
        """(jid, host, port) of the SOCKS5 proxy, as its <streamhost/> announces it."""
        if not self.proxy65:
            raise self.error('%s runs without a proxy65 component' % self.name)
        return (self.proxy65_jid, self.proxy65_host, self.proxy65_port)

    def connect_socket(self, address, timeout):
        """A TCP connection to `address` from the server's namespace."""
        if self.netns is not None:
            return self.netns.create_connection(address, timeout)
        return socket.create_connection(address, timeout=timeout)

    def _command(self, cmd, die_with_parent):
        """argv running `cmd` in the server's namespace; with die_with_parent,
        SIGKILLed when the thread that started it dies (no orphan servers)."""
        cmd = list(cmd)
        setpriv = shutil.which('setpriv')
        if die_with_parent and setpriv:
            cmd = [setpriv, '--pdeathsig', 'KILL', '--'] + cmd
        return (self.netns.prefix() if self.netns is not None else []) + cmd

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
                with self.connect_socket(self.address, 0.5):
                    if not self.proxy65:
                        return
                with self.connect_socket((self.proxy65_interface, self.proxy65_port), 0.5):
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
