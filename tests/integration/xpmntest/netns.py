"""A throw-away network namespace with SSDP multicast on its loopback.

    with NetNs() as ns:                        # create() .. delete()
        srv = ns.popen(['minidlnad', ...])     # runs inside (ip netns exec NAME ...)
        out = ns.run_python('print(1)')        # a /usr/bin/python3 snippet inside, its stdout
        sock = ns.create_connection(('127.0.0.1', 8200), 5)   # a socket of the namespace,
                                               # used from this (host-side) process

A namespace has nothing but its own `lo`; create() brings it up, turns on
IFF_MULTICAST (`ip link set lo multicast on`: loopback lacks it by default, and
minidlna/libupnp only join SSDP's group on a multicast-capable interface) and
routes 224.0.0.0/4 via lo, so an M-SEARCH to 239.255.255.250:1900 sent inside
the namespace loops back to every socket that joined the group on 127.0.0.1.
Nothing sent in it can leave the machine: it has no interface to the outside
(add_upnp_interface() adds a port-less bridge with 127.0.0.2 for gerbera, whose
libupnp refuses loopback interfaces; that one leads nowhere either).

Two ways to talk to a server in the namespace from a test running on the host:
- ns.socket() / ns.create_connection(): a helper thread setns(2)es into the
  namespace, creates the socket and exits; a socket stays in the namespace it
  was created in, so the test uses it like any other (http.client, SSDP...).
  upnp_direct.py takes `ns=` and does this.
- ns.run(argv) / ns.run_python(code): a process inside the namespace (what a
  separate client, e.g. the xpmn CLI, would be).

How a namespace is made: `ip netns add xpmn-<random>` (a bind mount under
/run/netns; `ip` mounts /run/netns itself). Should that fail while `unshare
--net` works (e.g. /run not writable), a holder process (`unshare --net sleep`)
keeps an anonymous namespace alive and commands enter it with `nsenter
--net=/proc/PID/ns/net` (mode='unshare' forces this). If neither works the
constructor raises NetNsError with the reason (a failure, not a skip: the
UPnP tests need a namespace, and running as root gives one).

delete() SIGKILLs every process still in the namespace (found by comparing
/proc/*/ns/net with the namespace's inode, as `ip netns pids` does, and
signalled through a pidfd re-checked against the namespace, so a recycled pid
is never hit), then removes it; an atexit hook deletes whatever a test left,
and popen() uses `setpriv --pdeathsig KILL` by default so a child dies with the
thread that started it (start servers from the main thread). A test runner
killed by SIGKILL leaves an empty namespace behind (its servers die with it):
NetNs(sweep=True) first deletes this prefix's empty namespaces older than 10
minutes (sweep_stale()).
"""
import atexit
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

IP = shutil.which('ip') or '/usr/sbin/ip'
PYTHON = '/usr/bin/python3'
CLONE_NEWNET = 0x40000000
SSDP_GROUP = '239.255.255.250'

NS_ENV = 'XPMN_TEST_NETNS'  # set for a command run_in_new_namespace() runs: the namespace's name

_live = {}                 # name -> NetNs (strong refs: the atexit hook must see them)
_live_lock = threading.Lock()


@atexit.register
def _delete_leftovers():
    with _live_lock:
        left = list(_live.values())
    for ns in left:
        try:
            ns.delete()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


class NetNsError(AssertionError):
    pass


def _run(argv, timeout=10):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def list_named():
    """Names of the named namespaces (`ip netns list`)."""
    r = _run([IP, 'netns', 'list'])
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _netns_inode(path):
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def _kill_if_in(pid, ns_path):
    """SIGKILL `pid` only if it (still) lives in the namespace at `ns_path`."""
    try:
        fd = os.pidfd_open(pid)
    except (ProcessLookupError, OSError):
        return
    try:
        # the pidfd pins this very process: check it is the one in our namespace
        if _netns_inode('/proc/%d/ns/net' % pid) == _netns_inode(ns_path):
            signal.pidfd_send_signal(fd, signal.SIGKILL)
    except (ProcessLookupError, OSError):
        pass
    finally:
        os.close(fd)


def sweep_stale(prefix, min_age=600.0):
    """Deletes named namespaces called PREFIX-* that hold no process and are older
    than `min_age` seconds (left behind by a test runner killed with SIGKILL)."""
    removed = []
    for name in list_named():
        if not name.startswith(prefix + '-'):
            continue
        path = '/run/netns/' + name
        try:
            age = time.time() - os.stat(path).st_mtime
            ino = _netns_inode(path)
        except OSError:
            continue
        if age < min_age:
            continue
        busy = False
        for entry in os.listdir('/proc'):
            if entry.isdigit():
                try:
                    if _netns_inode('/proc/%s/ns/net' % entry) == ino:
                        busy = True
                        break
                except OSError:
                    pass
        if not busy and _run([IP, 'netns', 'del', name]).returncode == 0:
            removed.append(name)
    return removed


class NetNs:
    def __init__(self, prefix='xpmn', mode='auto', die_with_parent=True, create=True, sweep=False):
        if sweep:
            sweep_stale(prefix)
        self.name = '%s-%s' % (prefix, secrets.token_hex(4))
        self.mode = mode
        self.die_with_parent = die_with_parent
        self.path = None         # a file whose open fd is the namespace (for setns)
        self._holder = None      # mode 'unshare': the process holding the namespace
        self._libc = None
        self.extra_interfaces = {}   # name -> IPv4 address (add_upnp_interface)
        if create:
            self.create()

    @classmethod
    def current(cls):
        """The namespace this process already runs in (as run_in_new_namespace() started
        it): commands run directly, sockets are ordinary ones, delete() leaves it alone."""
        ns = cls(create=False)
        ns.name = os.environ.get(NS_ENV) or 'current'
        ns.mode = 'current'
        ns.path = '/proc/%d/ns/net' % os.getpid()
        return ns

    # -- life cycle ---------------------------------------------------------
    def create(self):
        if self.path:
            return self
        errors = []
        if self.mode in ('auto', 'ip'):
            err = self._create_ip()
            if err is None:
                return self._setup()
            errors.append('ip netns add: ' + err)
        if self.mode in ('auto', 'unshare'):
            err = self._create_unshare()
            if err is None:
                return self._setup()
            errors.append('unshare --net: ' + err)
        raise NetNsError('cannot create a network namespace on this machine (%s)' % '; '.join(errors))

    def _create_ip(self):
        if os.geteuid() != 0:
            return 'not root'
        r = _run([IP, 'netns', 'add', self.name])
        if r.returncode != 0 and not os.path.isdir('/run/netns'):
            # ip creates and bind-mounts /run/netns itself; where that failed (a
            # container's odd /run), a tmpfs of our own there may do.
            try:
                os.makedirs('/run/netns', exist_ok=True)
                _run(['mount', '-t', 'tmpfs', '-o', 'mode=755', 'xpmn-netns', '/run/netns'])
            except OSError as e:
                return '%s; mkdir /run/netns: %s' % (r.stderr.strip(), e)
            r = _run([IP, 'netns', 'add', self.name])
        if r.returncode != 0:
            return r.stderr.strip() or 'exit %d' % r.returncode
        self.path = '/run/netns/' + self.name
        self.mode = 'ip'
        with _live_lock:
            _live[self.name] = self
        return None

    def _create_unshare(self):
        unshare = shutil.which('unshare')
        if not unshare or not shutil.which('nsenter'):
            return 'unshare/nsenter not installed'
        cmd = [unshare, '--net', '--', 'sleep', 'infinity']
        if shutil.which('setpriv'):
            cmd = ['setpriv', '--pdeathsig', 'KILL', '--'] + cmd
        try:
            holder = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            return str(e)
        own = _netns_inode('/proc/self/ns/net')
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if holder.poll() is not None:
                return holder.stderr.read().decode(errors='replace').strip() or 'exit %d' % holder.returncode
            try:
                if _netns_inode('/proc/%d/ns/net' % holder.pid) != own:
                    break  # setpriv/unshare have exec'd into sleep inside the new namespace
            except OSError:
                pass
            time.sleep(0.01)
        else:
            holder.kill()
            holder.wait(5)
            return 'the holder process did not enter a new namespace within 5s'
        holder.stderr.close()
        self._holder = holder
        self.path = '/proc/%d/ns/net' % holder.pid
        self.mode = 'unshare'
        with _live_lock:
            _live[self.name] = self
        return None

    def _setup(self):
        try:
            for argv in (['link', 'set', 'lo', 'up'],
                         ['link', 'set', 'lo', 'multicast', 'on'],
                         ['route', 'replace', '224.0.0.0/4', 'dev', 'lo']):
                r = self.run([IP] + argv, timeout=10)
                if r.returncode != 0:
                    raise NetNsError('ip %s in %s failed: %s' % (' '.join(argv), self.name, r.stderr))
        except BaseException:
            self.delete()
            raise
        return self

    @property
    def multicast_addresses(self):
        """IPv4 addresses of the namespace's multicast-capable interfaces (lo first):
        where an SSDP client should send its M-SEARCH and join the group."""
        return ['127.0.0.1'] + list(self.extra_interfaces.values())

    def add_upnp_interface(self, name='upnp0', address='127.0.0.2'):
        """A second, non-loopback interface for servers built on libupnp (gerbera):
        libupnp 1.8 skips every IFF_LOOPBACK interface, so it cannot run on `lo`.

        It is a bridge without ports (this kernel has no `dummy` module), up and
        multicast-capable, with a loopback-range address (/32) and IPv6 off
        (libupnp binds the IPv6 link-local address, which is still tentative
        right after creation: UPNP_E_SOCKET_BIND). Traffic to `address` is
        delivered locally like 127.0.0.1; multicast sent on it loops back to
        sockets of the namespace, and a socket bound to 0.0.0.0:1900 receives
        the group's datagrams of every interface that joined it (IP_MULTICAST_ALL),
        so an M-SEARCH on lo reaches gerbera and vice versa. Idempotent."""
        if name in self.extra_interfaces:
            return self.extra_interfaces[name]
        steps = [[IP, 'link', 'add', name, 'type', 'bridge'],
                 ['sysctl', '-q', '-w', 'net.ipv6.conf.%s.disable_ipv6=1' % name,
                  'net.ipv4.conf.%s.route_localnet=1' % name],
                 [IP, 'addr', 'add', address + '/32', 'dev', name],
                 [IP, 'link', 'set', name, 'multicast', 'on', 'up']]
        for argv in steps:
            r = self.run(argv, timeout=10)
            if r.returncode != 0:
                raise NetNsError('%s in %s failed: %s' % (' '.join(argv), self.name, r.stderr))
        self.extra_interfaces[name] = address
        return address

    @property
    def exists(self):
        return self.path is not None and os.path.exists(self.path)

    def delete(self, timeout=10.0):
        """Kills every process in the namespace (SIGKILL, bounded wait), then removes it."""
        if self.path is None:
            return
        if self.mode == 'current':  # not ours to delete
            self.path = None
            return
        holder = self._holder.pid if self._holder else None
        deadline = time.monotonic() + timeout
        while True:
            pids = [p for p in self.pids() if p != holder]
            if not pids:
                break
            if os.getpid() in pids:
                raise NetNsError('delete() called from inside namespace %s' % self.name)
            for pid in pids:
                _kill_if_in(pid, self.path)
            if time.monotonic() > deadline:
                raise NetNsError('processes %s in %s survived SIGKILL for %ss' % (pids, self.name, timeout))
            time.sleep(0.05)
        if self.mode == 'ip':
            r = _run([IP, 'netns', 'del', self.name])
            if r.returncode != 0 and os.path.exists(self.path):
                raise NetNsError('ip netns del %s: %s' % (self.name, r.stderr))
        if self._holder:
            self._holder.kill()
            self._holder.wait(5)
            self._holder = None
        self.path = None
        with _live_lock:
            _live.pop(self.name, None)

    def __enter__(self):
        return self.create()

    def __exit__(self, *exc):
        self.delete()
        return False

    def __repr__(self):
        return '<NetNs %s (%s)>' % (self.name, self.mode if self.path else 'deleted')

    # -- processes ----------------------------------------------------------
    def pids(self):
        """Pids of every process whose network namespace is this one."""
        if self.path is None:
            return []
        try:
            ino = _netns_inode(self.path)
        except OSError:
            return []
        out = []
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                if _netns_inode('/proc/%s/ns/net' % entry) == ino:
                    out.append(int(entry))
            except OSError:
                pass
        return sorted(out)

    def link_target(self):
        """What `ip link set DEV netns X` takes to move an interface here."""
        if self.mode == 'ip':
            return self.name
        if self.mode == 'unshare':
            return str(self._holder.pid)
        return str(os.getpid())

    def prefix(self):
        """argv prefix that runs a command inside the namespace."""
        if self.path is None:
            raise NetNsError('namespace %s is deleted' % self.name)
        if self.mode == 'current':
            return []
        if self.mode == 'ip':
            return [IP, 'netns', 'exec', self.name]
        return ['nsenter', '--net=' + self.path, '--']

    def wrap(self, argv, die_with_parent=None):
        argv = list(argv)
        if self.die_with_parent if die_with_parent is None else die_with_parent:
            setpriv = shutil.which('setpriv')
            if setpriv:
                argv = [setpriv, '--pdeathsig', 'KILL', '--'] + argv
        return self.prefix() + argv

    def popen(self, argv, die_with_parent=None, **kw):
        """subprocess.Popen inside the namespace; `ip netns exec` / nsenter / setpriv
        exec the command, so proc.pid is the command's own pid. Defaults: stdin
        /dev/null, a new session."""
        kw.setdefault('stdin', subprocess.DEVNULL)
        kw.setdefault('start_new_session', True)
        proc = subprocess.Popen(self.wrap(argv, die_with_parent), **kw)
        # Return once the child is inside (or gone): a delete() right after must see it.
        ino = _netns_inode(self.path)
        deadline = time.monotonic() + 5
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if _netns_inode('/proc/%d/ns/net' % proc.pid) == ino:
                    break
            except OSError:
                pass
            time.sleep(0.002)
        return proc

    def run(self, argv, timeout=30, **kw):
        """subprocess.run inside the namespace (bounded; text output captured by default;
        stdin /dev/null unless `input=` is given)."""
        if 'input' not in kw:
            kw.setdefault('stdin', subprocess.DEVNULL)
        if 'stdout' not in kw and 'stderr' not in kw:
            kw.setdefault('capture_output', True)
        kw.setdefault('text', True)
        return subprocess.run(self.prefix() + list(argv), timeout=timeout, **kw)

    def run_python(self, code, *args, timeout=30, check=True):
        """Runs `/usr/bin/python3 -c code args...` inside the namespace; returns its stdout."""
        r = self.run([PYTHON, '-c', code] + [str(a) for a in args], timeout=timeout)
        if check and r.returncode != 0:
            raise NetNsError('python in %s exited %d\n--- stderr ---\n%s' % (
                self.name, r.returncode, r.stderr))
        return r.stdout

    # -- sockets of the namespace, used from this process ----------------------
    def enter_current_thread(self):
        """Moves the calling thread (only it) into the namespace: the sockets it
        creates from now on live there. For a thread made for this purpose."""
        if self.path is None:
            raise NetNsError('namespace %s is deleted' % self.name)
        if self.mode == 'current':
            return
        if self._libc is None:
            self._libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if self._libc.setns(fd, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, 'setns(%s): %s' % (self.path, os.strerror(e)))
        finally:
            os.close(fd)

    def _setns_call(self, fn):
        """Runs fn() on a fresh thread that has joined the namespace; returns its result."""
        box = {}

        def body():
            try:
                self.enter_current_thread()
                box['result'] = fn()
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                box['error'] = e
        t = threading.Thread(target=body, name='setns-' + self.name, daemon=True)
        t.start()
        t.join(10)
        if 'error' in box:
            raise box['error']
        if 'result' not in box:
            raise NetNsError('setns helper thread for %s did not finish' % self.name)
        return box['result']

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0):
        """A socket that lives in the namespace (bind/connect/send happen there)."""
        if self.mode == 'current':
            return socket.socket(family, type, proto)
        return self._setns_call(lambda: socket.socket(family, type, proto))

    def create_connection(self, address, timeout=10.0):
        """socket.create_connection() for a numeric IPv4 address inside the namespace."""
        s = self.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect(address)
        except BaseException:
            s.close()
            raise
        return s

    def can_connect(self, address, timeout=1.0):
        try:
            self.create_connection(address, timeout).close()
            return True
        except OSError:
            return False


def run_in_new_namespace(argv, cwd=None, timeout=900, prefix='xpmn'):
    """Runs a command (a whole test module, the demo) in a fresh namespace, with
    $XPMN_TEST_NETNS naming it, then deletes the namespace and everything still
    running in it. Returns the command's exit code."""
    with NetNs(prefix=prefix, sweep=True) as ns:
        env = dict(os.environ, **{NS_ENV: ns.name})
        return ns.run(argv, timeout=timeout, cwd=cwd, env=env, stdout=None, stderr=None).returncode


def module_in_namespace(module, prefix='xpmn', cwd=None):
    """A TestCase class for a test module that must run in its own namespace:
    outside one, its single test re-runs `module` (unittest -v) inside a fresh
    namespace; the module defines its real tests only when inside_namespace().

        if not inside_namespace():
            InNamespace = module_in_namespace('test_x', prefix='xpmn-x')
        else:
            class TestX(unittest.TestCase): ...
    """
    here = cwd or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    class InNamespace(unittest.TestCase):
        def test_module_in_fresh_network_namespace(self):
            # XPMN_NS_ONLY="Class Class.test_x": only those, for a developer's quick run.
            only = os.environ.get('XPMN_NS_ONLY', '').split()
            names = ['%s.%s' % (module, n) for n in only] or [module]
            rc = run_in_new_namespace([PYTHON, '-m', 'unittest', '-v'] + names, cwd=here, prefix=prefix)
            self.assertEqual(rc, 0, 'the tests inside the namespace failed (output above)')

    InNamespace.__qualname__ = InNamespace.__name__ = 'InNamespace'
    return InNamespace


def inside_namespace():
    """True in a command run_in_new_namespace() started."""
    return bool(os.environ.get(NS_ENV))


def check_ssdp_loop(ns, timeout=3.0, interface='127.0.0.1'):
    """Proves multicast on an interface inside `ns` (lo by default): a receiver that
    joined 239.255.255.250 there gets a datagram sent to the group on it (raises
    NetNsError if not)."""
    rx = ns.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = ns.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        rx.bind(('', 0))
        port = rx.getsockname()[1]
        rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                      socket.inet_aton(SSDP_GROUP) + socket.inet_aton(interface))
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
        token = secrets.token_bytes(8)
        tx.sendto(token, (SSDP_GROUP, port))
        rx.settimeout(timeout)
        data, _ = rx.recvfrom(64)
        if data != token:
            raise NetNsError('unexpected multicast datagram in %s: %r' % (ns.name, data))
    except socket.timeout as e:
        raise NetNsError('multicast to %s via %s in %s was not looped back within %ss' % (
            SSDP_GROUP, interface, ns.name, timeout)) from e
    finally:
        rx.close()
        tx.close()


if __name__ == '__main__':  # a quick self-check: /usr/bin/python3 -m xpmntest.netns
    with NetNs() as n:
        check_ssdp_loop(n)
        check_ssdp_loop(n, interface=n.add_upnp_interface())
        print(n, 'multicast on lo works;', n.run([IP, '-br', 'addr']).stdout.strip(), file=sys.stderr)
