"""A real Prosody 0.12 server for integration tests, self-contained in a work dir.

    with Prosody(workdir, domain='xpmn.test') as srv:    # start() .. stop()
        srv.add_user('alice', 'secret')                  # works before or after start
        ... connect to 127.0.0.1:srv.c2s_port, verify with srv.ca_file ...
        srv.restart()                                    # same port, same data

Everything (config, certs, data, log, pid file) lives under `workdir`, so
several instances can run at once (each gets its own free c2s port). The
server runs in the foreground (`prosody -F --config FILE`) as a child process
in its own session; stop() sends SIGTERM, kill() SIGKILL, an atexit hook
kills whatever a test left running, and (die_with_parent, via `setpriv
--pdeathsig KILL`) the kernel kills it if the thread that started it dies, so
start it from the main thread (or one that outlives the server).

Configuration: loopback only, c2s with STARTTLS required, no s2s / http /
components, authentication = internal_plain (accounts are Lua files written
directly in data_path; SASL offered after STARTTLS: PLAIN, SCRAM-SHA-1,
SCRAM-SHA-256, plus the -PLUS variants when TLS <= 1.2), XEP-0198 via
mod_smacks (smacks_hibernation_time etc. are constructor arguments),
XEP-0199 ping, disco, roster, presence. Logs at debug level to
workdir/prosody.log (log_text()).

An untrusted server (mitm=True): prosody_modules/mod_xpmn_mitm.lua is loaded
and rewrites, in transit, the XTLS <fingerprint/> of Jingle IQs between its
clients (session-initiate, session-accept) to `mitm_fingerprint` (64 hex
digits; default: the original with every digit d replaced by 15-d).
mitm_rewrites() lists what it rewrote, so a test can check that the attack
happened.

Network options (see xmpp_server): `netns=` runs Prosody inside a namespace,
`interfaces=` are the addresses c2s listens on, `proxy65=True` adds the
component `proxy.DOMAIN` (mod_proxy65, XEP-0065) on proxy65_port of
proxy65_interface, announcing proxy65_host. Prosody lets every local (c2s)
user use it unless `proxy65_acl` lists who may; the component is a subdomain
of the VirtualHost, so the host's disco#items lists it.
"""
import os
import shutil
import signal
import subprocess

from . import ports
from .certs import TestPKI
from . import reaper
from .xmpp_server import XmppServer

PROSODY = '/usr/bin/prosody'
PROSODYCTL = '/usr/bin/prosodyctl'
MODULES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'prosody_modules')



def lua_string(text):
    """A Lua string literal for `text` (any bytes-safe str)."""
    out = ['"']
    for ch in str(text):
        o = ord(ch)
        if ch in '"\\':
            out.append('\\' + ch)
        elif o < 32 or o == 127:
            out.append('\\%03d' % o)
        elif o > 127:
            out.extend('\\%03d' % b for b in ch.encode('utf-8'))
        else:
            out.append(ch)
    out.append('"')
    return ''.join(out)


def datamanager_encode(text):
    """Prosody's util.datamanager path encoding: every non-alphanumeric -> %xx."""
    return ''.join(c if (c.isascii() and c.isalnum()) else ''.join('%%%02x' % b for b in c.encode())
                   for c in text)


class ProsodyError(AssertionError):
    pass


class Prosody(XmppServer):
    name = 'prosody'
    error = ProsodyError

    def __init__(self, workdir, domain='xpmn.test', c2s_port=None, *,
                 smacks_hibernation_time=60, smacks_max_unacked_stanzas=0,
                 smacks_max_ack_delay=30, modules=(), extra_global_config='',
                 extra_host_config='', pki=None, start_timeout=20.0, die_with_parent=True,
                 mitm=False, mitm_fingerprint=None, netns=None, interfaces=('127.0.0.1',),
                 proxy65=False, proxy65_port=None, proxy65_interface=None, proxy65_host=None,
                 proxy65_acl=None):
        self._init_network(netns, interfaces, proxy65, proxy65_port, proxy65_interface,
                           proxy65_host)
        self.proxy65_acl = list(proxy65_acl or ())
        self.workdir = os.path.abspath(workdir)
        self.domain = domain
        self.c2s_port = c2s_port or ports.free_port()
        self.smacks_hibernation_time = smacks_hibernation_time
        self.smacks_max_unacked_stanzas = smacks_max_unacked_stanzas
        self.smacks_max_ack_delay = smacks_max_ack_delay
        self.extra_modules = list(modules)
        self.extra_global_config = extra_global_config
        self.extra_host_config = extra_host_config
        self.start_timeout = start_timeout
        self.die_with_parent = die_with_parent
        self.mitm = mitm
        self.mitm_fingerprint = mitm_fingerprint
        self.mitm_record = os.path.join(self.workdir, 'mitm_rewrites.log')

        self.config_file = os.path.join(self.workdir, 'prosody.cfg.lua')
        self.data_path = os.path.join(self.workdir, 'data')
        self.log_file = os.path.join(self.workdir, 'prosody.log')
        self.console_file = os.path.join(self.workdir, 'prosody.console')
        self.pid_file = os.path.join(self.workdir, 'prosody.pid')
        self.plugin_dir = os.path.join(self.workdir, 'plugins')
        os.makedirs(self.data_path, exist_ok=True)
        os.makedirs(self.plugin_dir, exist_ok=True)

        self.pki = pki or TestPKI(os.path.join(self.workdir, 'pki'))
        self.server_cert = self.pki.server_cert(domain)
        self.proc = None
        self._console = None

    # -- configuration ------------------------------------------------------
    def write_config(self):
        q = lua_string
        modules = ['roster', 'saslauth', 'tls', 'disco', 'ping', 'presence', 'smacks']
        modules += [m for m in self.extra_modules if m not in modules]
        mitm_config = []
        if self.mitm:
            shutil.copy(os.path.join(MODULES_DIR, 'mod_xpmn_mitm.lua'), self.plugin_dir)
            modules.append('xpmn_mitm')
            mitm_config.append('xpmn_mitm_record = %s' % q(self.mitm_record))
            if self.mitm_fingerprint:
                mitm_config.append('xpmn_mitm_fingerprint = %s' % q(self.mitm_fingerprint))
        lines = [
            '-- Generated by xpmntest.prosody for one test run; not for production.',
            'run_as_root = %s' % ('true' if os.getuid() == 0 else 'false'),
            'pidfile = %s' % q(self.pid_file),
            'data_path = %s' % q(self.data_path),
            'plugin_paths = { %s }' % q(self.plugin_dir),
            'installer_plugin_path = %s' % q(os.path.join(self.workdir, 'custom_plugins')),
            'certificates = %s' % q(os.path.join(self.workdir, 'certs')),
            'log = { debug = %s }' % q(self.log_file),
            'interfaces = { %s }' % ', '.join(q(a) for a in self.interfaces),
            'local_interfaces = { %s }' % ', '.join(q(a) for a in self.interfaces),
            'c2s_ports = { %d }' % self.c2s_port,
            'c2s_direct_tls_ports = { }',
            'legacy_ssl_ports = { }',
            's2s_ports = { }',
            's2s_direct_tls_ports = { }',
            'http_ports = { }',
            'https_ports = { }',
            'component_ports = { }',
            'c2s_require_encryption = true',
            's2s_require_encryption = true',
            'allow_registration = false',
            'authentication = "internal_plain"',
            'storage = "internal"',
            'modules_enabled = { %s }' % ', '.join(q(m) for m in modules),
            'modules_disabled = { "s2s", "s2s_auth_certs" }',
            'smacks_hibernation_time = %d' % self.smacks_hibernation_time,
            'smacks_max_unacked_stanzas = %d' % self.smacks_max_unacked_stanzas,
            'smacks_max_ack_delay = %d' % self.smacks_max_ack_delay,
            *mitm_config,
            *self._proxy65_global_config(),
            self.extra_global_config,
            '',
            'VirtualHost %s' % q(self.domain),
            '    ssl = { key = %s; certificate = %s; }' % (q(self.server_cert.key),
                                                          q(self.server_cert.cert)),
            self.extra_host_config,
            '',
            *self._proxy65_component_config(),
        ]
        os.makedirs(os.path.join(self.workdir, 'certs'), exist_ok=True)
        with open(self.config_file, 'w') as f:
            f.write('\n'.join(lines))
        return self.config_file

    def _proxy65_global_config(self):
        # The proxy's listener is a global network service ("proxy65").
        if not self.proxy65:
            return []
        return ['proxy65_ports = { %d }' % self.proxy65_port,
                'proxy65_interfaces = { %s }' % lua_string(self.proxy65_interface)]

    def _proxy65_component_config(self):
        if not self.proxy65:
            return []
        lines = ['Component %s "proxy65"' % lua_string(self.proxy65_jid),
                 '    proxy65_address = %s' % lua_string(self.proxy65_host)]
        if self.proxy65_acl:
            lines.append('    proxy65_acl = { %s }' % ', '.join(lua_string(j) for j in self.proxy65_acl))
        return lines + ['']

    def mitm_rewrites(self):
        """mitm=True: the rewrites so far, as dicts (action, sid, original, replacement)."""
        try:
            with open(self.mitm_record) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        return [dict(zip(('action', 'sid', 'original', 'replacement'), line.split(' ')))
                for line in lines if line]

    # -- accounts -----------------------------------------------------------
    def account_file(self, user):
        return os.path.join(self.data_path, datamanager_encode(self.domain), 'accounts',
                            datamanager_encode(user.lower()) + '.dat')

    def add_user(self, user, password):
        """Creates (or overwrites) an internal_plain account; works while running."""
        path = self.account_file(user)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            f.write('return {\n\t["password"] = %s;\n};\n' % lua_string(password))
        os.replace(tmp, path)
        return self.jid(user)

    def remove_user(self, user):
        try:
            os.remove(self.account_file(user))
        except FileNotFoundError:
            pass

    def prosodyctl(self, *args, timeout=30):
        """Runs prosodyctl against this instance's config (bounded)."""
        if not os.path.exists(self.config_file):
            self.write_config()
        try:
            return subprocess.run([PROSODYCTL, '--config', self.config_file, *args],
                                  capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL, cwd=self.workdir)
        except subprocess.TimeoutExpired as e:
            raise ProsodyError('prosodyctl %s timed out after %ss' % (' '.join(args), timeout)) from e

    # -- process control ----------------------------------------------------
    def start(self):
        if self.running:
            raise ProsodyError('Prosody is already running (pid %d)' % self.proc.pid)
        self.write_config()
        self._console = open(self.console_file, 'ab')
        env = dict(os.environ)
        env.pop('PROSODY_CONFIG', None)
        # die_with_parent: SIGKILL Prosody if the thread that started it dies
        # (test runner killed by a timeout): no orphan servers, whatever happens.
        cmd = self._command([PROSODY, '-F', '--config', self.config_file], self.die_with_parent)
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL, stdout=self._console, stderr=subprocess.STDOUT,
            cwd=self.workdir, env=env, start_new_session=True)
        reaper.track(self)
        try:
            self._wait_listening(self.start_timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def stop(self, timeout=10.0):
        """SIGTERM and wait; SIGKILL if it does not exit within `timeout`."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            if not self._reap(timeout):
                self._signal(signal.SIGKILL)
                self._reap(10)
        self._finish()

    def kill(self):
        """SIGKILL (a crash: no stream closes are sent, smacks sessions are lost)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGKILL)
            self._reap(10)
        self._finish()

    def restart(self, timeout=10.0):
        """Graceful stop then start: same port, same config, same data."""
        self.stop(timeout)
        return self.start()
