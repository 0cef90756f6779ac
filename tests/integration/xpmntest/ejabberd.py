"""A real ejabberd 23.01 server for integration tests, self-contained in a work dir.

Same API as xpmntest.prosody.Prosody, so a test can be parametrised over both:

    with Ejabberd(workdir, domain='xpmn.test') as srv:   # start() .. stop()
        srv.add_user('alice', 'secret')                  # works before or after start
        ... connect to 127.0.0.1:srv.c2s_port, verify with srv.ca_file ...
        srv.restart()                                    # same port, same data

Everything (ejabberd.yml, certs, Mnesia spool, logs, Erlang cookie, crash
dump) lives under `workdir`; the system service, /etc/ejabberd and
/var/lib/ejabberd are never used. The Erlang VM is started directly (`erl
... -s ejabberd`, what `ejabberdctl foreground` runs, but as the current
user: ejabberdctl would `su` to the ejabberd user, who cannot enter a test's
private temp dir) in its own session, with the same die-with-parent and
atexit safety nets as the Prosody fixture.

Erlang distribution (needed to register accounts while it runs, as
ejabberdctl does) is confined to loopback without any port mapper: the node
listens on a fixed private port on 127.0.0.1 (`-erl_epmd_port PORT
-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}`), so no epmd
is started or asked; the control node runs with `-dist_listen false` and
listens nowhere. ERL_EPMD_ADDRESS/ERL_EPMD_PORT point at loopback and a
private port anyway, so a stray epmd could not bind the machine's
interfaces or meet the system one. The node name and cookie are random per
instance.

Configuration: c2s on 127.0.0.1 only with STARTTLS required, the fixture's
own certificate (test PKI) for the domain, internal (Mnesia) auth with SCRAM
(password_format 'plain' stores the password and offers PLAIN and every
SCRAM-SHA-* with -PLUS; 'scram' stores only a SCRAM-SHA-1 hash and offers
SCRAM-SHA-1(-PLUS) and PLAIN; X-OAUTH2 is switched off),
no s2s/http/other listeners, in-band registration off; mod_disco, mod_ping,
mod_roster, mod_stream_mgmt (XEP-0198, resume_timeout = the
smacks_hibernation_time argument), mod_caps, mod_carboncopy (presence
itself is core). Logs at `loglevel` to workdir/logs/ejabberd.log (log_text()).

Network options (see xmpp_server): `netns=` runs the VM (and the control
nodes, which reach it on the namespace's loopback) inside a namespace,
`interfaces=` are the addresses c2s listens on (one listener each),
`proxy65=True` adds mod_proxy65 (XEP-0065) as `proxy.DOMAIN` with ip =
proxy65_interface, port = proxy65_port, hostname = proxy65_host (what its
<streamhost/> announces; its jid there is proxy.DOMAIN with a resource of
ejabberd's own); access: all (every user of the server).
"""
import os
import secrets
import signal
import subprocess
import time

from . import ports
from . import procfs
from . import reaper
from .certs import TestPKI
from .xmpp_server import XmppServer

ERL = '/usr/bin/erl'
# ejabberd and its Erlang dependencies as Debian installs them (ejabberdctl's ERL_LIBS).
EJABBERD_LIBS = '/usr/lib/x86_64-linux-gnu'


class EjabberdError(AssertionError):
    pass


def yaml_string(text):
    """A double-quoted YAML scalar for `text`."""
    out = ['"']
    for ch in str(text):
        o = ord(ch)
        if ch in '"\\':
            out.append('\\' + ch)
        elif o < 32 or o == 127:
            out.append('\\x%02x' % o)
        else:
            out.append(ch)
    out.append('"')
    return ''.join(out)


def erl_string(text):
    """An Erlang string literal (for -mnesia dir "...")."""
    return '"' + str(text).replace('\\', '\\\\').replace('"', '\\"') + '"'


class Ejabberd(XmppServer):
    name = 'ejabberd'
    error = EjabberdError

    def __init__(self, workdir, domain='xpmn.test', c2s_port=None, *,
                 smacks_hibernation_time=60, password_format='plain', loglevel='info',
                 modules=None, extra_config='', pki=None, start_timeout=60.0,
                 die_with_parent=True, netns=None, interfaces=('127.0.0.1',), proxy65=False,
                 proxy65_port=None, proxy65_interface=None, proxy65_host=None):
        self._init_network(netns, interfaces, proxy65, proxy65_port, proxy65_interface,
                           proxy65_host)
        self.workdir = os.path.abspath(workdir)
        self.domain = domain
        self.c2s_port = c2s_port or ports.free_port()
        self.dist_port = ports.free_port()    # Erlang distribution, loopback
        self.epmd_port = ports.free_port()    # never used (no epmd), kept private anyway
        self.smacks_hibernation_time = smacks_hibernation_time
        if password_format not in ('plain', 'scram'):
            raise ValueError('password_format must be plain or scram')
        self.password_format = password_format
        self.loglevel = loglevel
        self.extra_modules = dict(modules or {})   # name -> YAML text of its options
        self.extra_config = extra_config
        self.start_timeout = start_timeout
        self.die_with_parent = die_with_parent

        tag = secrets.token_hex(4)
        self.node = 'xpmntest-%s@127.0.0.1' % tag
        self.cookie = secrets.token_hex(16)

        self.config_file = os.path.join(self.workdir, 'ejabberd.yml')
        self.spool_dir = os.path.join(self.workdir, 'spool')
        self.log_dir = os.path.join(self.workdir, 'logs')
        self.log_file = os.path.join(self.log_dir, 'ejabberd.log')
        self.console_file = os.path.join(self.workdir, 'ejabberd.console')
        self.home = os.path.join(self.workdir, 'home')   # HOME: where erl looks for .erlang.cookie
        for d in (self.spool_dir, self.log_dir, self.home):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.home, 0o700)

        self.pki = pki or TestPKI(os.path.join(self.workdir, 'pki'))
        self.server_cert = self.pki.server_cert(domain)
        self._users = {}        # user -> password, registered at start()
        self.proc = None
        self._console = None

    # -- configuration ------------------------------------------------------
    def modules(self):
        mods = {
            'mod_disco': '{}',
            'mod_ping': '{}',
            'mod_roster': '{}',
            'mod_caps': '{}',
            'mod_carboncopy': '{}',
            'mod_stream_mgmt': '{resume_timeout: %d, max_ack_queue: infinity}'
                               % self.smacks_hibernation_time,
        }
        if self.proxy65:
            q = yaml_string
            mods['mod_proxy65'] = ('{host: %s, name: "SOCKS5 Bytestreams Service", ip: %s, '
                                   'port: %d, hostname: %s, access: all, max_connections: infinity}'
                                   % (q(self.proxy65_jid), q(self.proxy65_interface),
                                      self.proxy65_port, q(self.proxy65_host)))
        mods.update(self.extra_modules)
        return mods

    def _c2s_listeners(self):
        lines = []
        for ip in self.interfaces:
            lines += [
                '  -',
                '    port: %d' % self.c2s_port,
                '    ip: %s' % yaml_string(ip),
                '    module: ejabberd_c2s',
                '    starttls: true',
                '    starttls_required: true',
                '    max_stanza_size: 262144',
                '    shaper: none',
                '    access: all',
            ]
        return lines

    def write_config(self):
        q = yaml_string
        lines = [
            '# Generated by xpmntest.ejabberd for one test run; not for production.',
            'hosts: [%s]' % q(self.domain),
            'loglevel: %s' % self.loglevel,
            'log_rotate_count: 0',
            'hide_sensitive_log_data: false',
            'certfiles: [%s, %s]' % (q(self.server_cert.cert), q(self.server_cert.key)),
            'ca_file: %s' % q(self.pki.ca_cert),
            'auth_method: [internal]',
            'auth_password_format: %s' % self.password_format,
            'disable_sasl_mechanisms: ["X-OAUTH2"]',
            'default_db: mnesia',
            'language: "en"',
            'listen:',
            *self._c2s_listeners(),
            's2s_access: none',
            'acl:',
            '  loopback:',
            '    ip: ["127.0.0.0/8"]',
            'access_rules:',
            '  register:',
            '    deny: all',
            'shaper: {}',
            'modules:',
        ]
        lines += ['  %s: %s' % (name, opts) for name, opts in self.modules().items()]
        lines += [self.extra_config, '']
        with open(self.config_file, 'w') as f:
            f.write('\n'.join(lines))
        return self.config_file

    # -- the Erlang command lines -------------------------------------------
    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(('ERL_', 'EJABBERD'))}
        env.update({
            'HOME': self.home,
            'EJABBERD_CONFIG_PATH': self.config_file,
            'EJABBERD_LOG_PATH': self.log_file,
            'ERL_LIBS': EJABBERD_LIBS,
            'ERL_CRASH_DUMP': os.path.join(self.log_dir, 'erl_crash.dump'),
            'ERL_CRASH_DUMP_BYTES': '0',
            'ERL_EPMD_ADDRESS': '127.0.0.1',
            'ERL_EPMD_PORT': str(self.epmd_port),
        })
        return env

    def _dist_args(self):
        """Distribution without epmd, node on loopback:dist_port."""
        return ['-setcookie', self.cookie, '-start_epmd', 'false',
                '-erl_epmd_port', str(self.dist_port),
                '-kernel', 'inet_dist_use_interface', '{127,0,0,1}']

    def server_command(self):
        return [ERL, '-name', self.node, *self._dist_args(), '-noinput', '+K', 'true',
                '-mnesia', 'dir', erl_string(self.spool_dir), '-s', 'ejabberd']

    def ctl(self, *args, timeout=60):
        """Runs an ejabberdctl command (`register`, `registered_users`, `status`, ...)
        against the running node from a hidden control node that listens nowhere;
        returns the CompletedProcess (returncode 0 = success)."""
        name = 'ctl-%s@127.0.0.1' % secrets.token_hex(4)
        # In the server's namespace: the node's distribution port is on its loopback.
        cmd = self._command([ERL, '-name', name, *self._dist_args(), '-dist_listen', 'false',
                             '-hidden', '-noinput', '-s', 'ejabberd_ctl', '-extra', self.node,
                             *args], die_with_parent=False)
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL, cwd=self.spool_dir, env=self._env(),
                                  start_new_session=True)
        except subprocess.TimeoutExpired as e:
            raise EjabberdError('ejabberdctl %s timed out after %ss' % (' '.join(args), timeout)) from e

    def _ctl_ok(self, *args):
        r = self.ctl(*args)
        if r.returncode != 0:
            raise EjabberdError('ejabberdctl %s failed (%d): %s%s\n%s' % (
                ' '.join(args), r.returncode, r.stdout, r.stderr, self.diagnostics()))
        return r.stdout

    # -- accounts -----------------------------------------------------------
    def add_user(self, user, password):
        """Creates (or overwrites) an account; works before start() and while running."""
        self._users[user] = password
        if self.running:
            self._register(user, password)
        return self.jid(user)

    def _register(self, user, password, ready_timeout=30.0):
        r = self.ctl('register', user, self.domain, password)
        # The c2s port opens before the auth backend has created its table
        # (mnesia `passwd`): a register then fails with no_exists. Wait for it.
        deadline = time.monotonic() + ready_timeout
        while r.returncode != 0 and 'no_exists' in (r.stdout + r.stderr) and time.monotonic() < deadline:
            time.sleep(0.2)
            r = self.ctl('register', user, self.domain, password)
        if r.returncode != 0 and 'conflict' in (r.stdout + r.stderr):
            # change_password lives in mod_admin_extra: re-create the account.
            self._ctl_ok('unregister', user, self.domain)
            r = self.ctl('register', user, self.domain, password)
        if r.returncode != 0:
            raise EjabberdError('ejabberdctl register %s failed (%d): %s%s' % (
                user, r.returncode, r.stdout, r.stderr))

    def remove_user(self, user):
        self._users.pop(user, None)
        if self.running:
            self._ctl_ok('unregister', user, self.domain)

    def registered_users(self):
        """The server's own list of accounts on the domain (needs it running)."""
        return sorted(self._ctl_ok('registered_users', self.domain).split())

    # -- process control ----------------------------------------------------
    def start(self):
        if self.running:
            raise EjabberdError('ejabberd is already running (pid %d)' % self.proc.pid)
        self.write_config()
        self._console = open(self.console_file, 'ab')
        # die_with_parent: SIGKILL the VM if the thread that started it dies: no orphans.
        cmd = self._command(self.server_command(), self.die_with_parent)
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._console, stderr=subprocess.STDOUT,
            cwd=self.spool_dir, env=self._env(), start_new_session=True)
        reaper.track(self)
        try:
            self._wait_listening(self.start_timeout)
            for user, password in self._users.items():
                self._register(user, password)
        except BaseException:
            self.kill()
            raise
        return self

    def session_pids(self):
        """Every live process of the server's session (VM, erl_child_setup,
        inet_gethost, a stray epmd): what must be gone after stop()."""
        # start_new_session: the session id is the leader's pid.
        return procfs.session_pids(self.proc.pid) if self.proc else []

    def _kill_session(self, sig):
        # Each live member by pid (not killpg after the leader was reaped: its
        # id could be a new group's by then).
        for pid in self.session_pids():
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def _wait_session_gone(self, timeout):
        deadline = time.monotonic() + timeout
        while self.session_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.session_pids()

    def stop(self, timeout=20.0):
        """SIGTERM (the VM stops ejabberd cleanly) and wait; SIGKILL the whole
        session if anything is left after `timeout`."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            if not self._reap(timeout):
                self._kill_session(signal.SIGKILL)
                self._reap(10)
        if not self._wait_session_gone(5):
            self._kill_session(signal.SIGKILL)
            self._wait_session_gone(5)
        self._finish()

    def kill(self):
        """SIGKILL the whole session (a crash: no stream closes are sent)."""
        if self.proc is None:
            return
        self._kill_session(signal.SIGKILL)
        self._reap(10)
        self._wait_session_gone(5)
        self._finish()

    def restart(self, timeout=20.0):
        """Graceful stop then start: same port, node, config and data."""
        self.stop(timeout)
        return self.start()
