"""The built xpmn-bridge and xpmn binaries, run as processes by tests.

    bridge = Bridge(workdir, xmpp={'jid': ..., 'password': ..., ...})
    bridge.start(); bridge.wait_for_log('online as'); ...; bridge.stop()
    out = run_xpmn(config_path, 'devices')

The build directory comes from $XPMN_BUILD_DIR (set by CTest), default
build/default. Logs go to files in the work dir; every wait is bounded.

In a transfer topology (xpmntest.topology) the bridge and the CLI run inside a
namespace: Bridge(..., netns=topo.bridge), run_xpmn(..., netns=topo.controller);
xmpp_section() points at the server's own address (server.address).
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from . import reaper
from .logs import read_text, wait_for_text
from .netns import NS_ENV

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
BUILD = os.environ.get('XPMN_BUILD_DIR', os.path.join(ROOT, 'build', 'default'))
BRIDGE_BIN = os.path.join(BUILD, 'daemon', 'xpmn-bridge')
XPMN_BIN = os.path.join(BUILD, 'tools', 'xpmn')


def sanitized_build():
    """True for an ASan/UBSan build (CMake's XPMN_SANITIZE): its memory use
    (quarantine, shadow) says nothing about the program's own."""
    try:
        with open(os.path.join(BUILD, 'CMakeCache.txt')) as f:
            return any(line.strip().upper() in ('XPMN_SANITIZE:BOOL=ON', 'XPMN_SANITIZE:BOOL=TRUE') for line in f)
    except OSError:
        return False


def toml_value(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return '[' + ', '.join(toml_value(x) for x in v) + ']'
    return '"' + str(v).replace('\\', '\\\\').replace('"', '\\"') + '"'


def write_config(path, sections):
    with open(path, 'w') as f:
        for name, keys in sections.items():
            f.write('[%s]\n' % name)
            for k, v in keys.items():
                f.write('%s = %s\n' % (k, toml_value(v)))
            f.write('\n')
    return path


def xmpp_section(prosody, user, password, **extra):
    """[xmpp] for `user` on a test Prosody; keys in `extra` override."""
    host = getattr(prosody, 'address', ('127.0.0.1',))[0]   # a server in a namespace: its own
    s = {'jid': prosody.jid(user), 'password': password, 'server': host,
         'port': prosody.c2s_port, 'ca_file': prosody.ca_file}
    s.update(extra)
    return s


def in_own_network_namespace():
    """True when this process runs in a network namespace other than the
    machine's (pid 1's), e.g. a test module that run_in_new_namespace() started."""
    if os.environ.get(NS_ENV):
        return True
    try:
        return os.stat('/proc/self/ns/net').st_ino != os.stat('/proc/1/ns/net').st_ino
    except OSError:
        return False  # cannot tell: assume the machine's, the safe side


def confine_upnp(sections, in_namespace=None):
    """Outside a test namespace the machine's real interfaces are reachable: a
    bridge there gets `[upnp] interfaces = ["lo"]` unless the test names its own,
    so SSDP never leaves loopback. Inside a namespace everything stays there.
    `in_namespace`: None to find out (in_own_network_namespace)."""
    if in_own_network_namespace() if in_namespace is None else in_namespace:
        return sections
    upnp = dict(sections.get('upnp') or {})
    upnp.setdefault('interfaces', ['lo'])
    return dict(confine_transfer(sections, False), upnp=upnp)


def confine_transfer(sections, in_namespace=None):
    """Likewise for S5B direct candidates (bridge and xpmn): outside a test
    namespace only on loopback, unless the test names its interfaces."""
    if in_own_network_namespace() if in_namespace is None else in_namespace:
        return sections
    transfer = dict(sections.get('transfer') or {})
    transfer.setdefault('interfaces', ['lo'])
    return dict(sections, transfer=transfer)


class Bridge:
    def __init__(self, workdir, xmpp, bridge=None, name='bridge', netns=None, **sections):
        """`sections`: further config sections, e.g. security={'require_e2e': False}.
        Outside a network namespace UPnP is confined to loopback (confine_upnp).
        `netns`: a netns.NetNs the bridge runs in (its UPnP stays there)."""
        self.netns = netns
        sections = confine_upnp(sections, in_namespace=True if netns is not None else None)
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        b = {'state_dir': os.path.join(workdir, name + '-state'), 'log_level': 'debug'}
        b.update(bridge or {})
        self.config = write_config(os.path.join(workdir, name + '.toml'), dict({'xmpp': xmpp, 'bridge': b}, **sections))
        self.log_file = os.path.join(workdir, name + '.log')
        self.proc = None

    def start(self):
        self._log = open(self.log_file, 'ab')
        prefix = self.netns.prefix() if self.netns is not None else []
        self.proc = subprocess.Popen(prefix + [BRIDGE_BIN, '--config', self.config], stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log, start_new_session=True)
        return self

    def log_text(self):
        return read_text(self.log_file)

    def log_tail(self, limit=4000):
        """The end of the log; a sanitizer report from its first line (its
        first frames say where it happened), however long."""
        text = self.log_text()
        at = text.find('==ERROR: ')
        if at < 0:
            return text[-limit:]
        at = text.rfind('\n', 0, at) + 1
        return text[max(0, at - limit // 2):at] + text[at:at + 20000]

    def log_mark(self):
        return len(self.log_text())

    def wait_for_log(self, text, timeout=20.0, start=0):
        """Waits until `text` appears in the log after offset `start`; returns its offset."""
        def check():
            if self.proc and self.proc.poll() is not None:
                raise AssertionError('xpmn-bridge exited (%s) before logging %r\n%s' % (
                    self.proc.returncode, text, self.log_tail()))
        return wait_for_text(self.log_text, text, timeout, start, check, self.log_tail)

    def count(self, text):
        return self.log_text().count(text)

    def stop(self, timeout=10, expect=0):
        """SIGTERM, wait, and check the exit code (a sanitizer report fails it)."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError('xpmn-bridge did not stop within %ss of SIGTERM' % timeout)
            finally:
                self._log.close()
        else:
            self._log.close()
        rc = self.proc.returncode
        if expect is not None and rc != expect:
            raise AssertionError('xpmn-bridge exited with %s, expected %s\n%s' % (rc, expect, self.log_tail()))
        return rc

    def kill(self):
        reaper.kill(self.proc)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            self.kill()


def run_xpmn(config, *args, timeout=30, netns=None):
    """Runs the xpmn CLI (inside `netns` if given); returns CompletedProcess (text)."""
    prefix = netns.prefix() if netns is not None else []
    return subprocess.run(prefix + [XPMN_BIN, '--config', config] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def check_config(path):
    return subprocess.run([BRIDGE_BIN, '--check-config', path], capture_output=True, text=True, timeout=30)


def class_workdir(case, prefix):
    """For setUpClass: case.workdir, a new temporary directory removed by a
    class cleanup unless XPMN_KEEP_WORKDIR is set."""
    case.workdir = tempfile.mkdtemp(prefix=prefix)
    if not os.environ.get('XPMN_KEEP_WORKDIR'):
        case.addClassCleanup(shutil.rmtree, case.workdir, True)
    return case.workdir


def start_server(case, server):
    """Starts a fixture server (a NAS, say) for a TestCase class; a class cleanup kills it."""
    case.addClassCleanup(server.kill)
    server.start()
    return server


def device_jids(devices_output):
    """`xpmn devices` output → {friendly name: full JID} of the UPnP devices."""
    return {m.group(2): m.group(1) for m in
            re.finditer(r'^(home@xpmn\.test/upnp-[0-9a-f]{8}) .*"(.*)"$', devices_output, re.M)}


def xpmn_ok(case, *args):
    """Runs xpmn with the case's config, asserts it succeeded, returns its output
    (as a TestCase method: `xpmn = xpmn_ok`)."""
    r = run_xpmn(case.config, *args)
    case.assertEqual(r.returncode, 0, r.stderr)
    return r.stdout


PIN_LINE = re.compile(r'^PIN (\d{6,})$', re.M)


def bridge_pair(bridge_config, timeout=30):
    """Runs `xpmn-bridge --config BRIDGE_CONFIG pair` (the running bridge opens
    its pairing window and prints the PIN line, the pairing URI and its QR
    code); returns (PIN, the whole output)."""
    r = subprocess.run([BRIDGE_BIN, '--config', bridge_config, 'pair'], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError('xpmn-bridge pair failed (%s): %s' % (r.returncode, r.stderr))
    m = PIN_LINE.search(r.stdout)
    if not m:
        raise AssertionError('xpmn-bridge pair printed no PIN line:\n%s' % r.stdout)
    return m.group(1), r.stdout


def pair_xpmn(bridge, config, bridge_jid):
    """Pairs the xpmn config `config` with the running `bridge` (its device
    `bridge_jid`, BARE/bridge): a PIN from `xpmn-bridge pair`, then
    `xpmn pair BRIDGE_JID --pin PIN` (an SRP-authenticated XTLS stream that
    swaps the two certificates). From then on that config's profile requests go
    end-to-end. Returns the `xpmn pair` output."""
    pin, _ = bridge_pair(bridge.config)
    r = run_xpmn(config, 'pair', bridge_jid, '--pin', pin)
    if r.returncode != 0:
        raise AssertionError('xpmn pair %s failed (%s): %s%s' % (bridge_jid, r.returncode, r.stdout, r.stderr))
    return r.stdout


def start_home_network(case, password, plain_c2s=False, **sections):
    """For a TestCase class's setUpClass: Prosody with the home account, the bridge
    (further config `sections`) and an xpmn config for the same account, paired
    with the bridge, so the case's xpmn browse/search/watch go over the
    end-to-end XTLS stream. The bridge keeps its default `[security]
    require_e2e = true` unless `plain_c2s`: then it also answers profile
    requests over plain c2s (for slixmpp clients that browse a device
    directly). Sets case.prosody, case.xmpp, case.bridge, case.bridge_jid and
    case.config (needs case.workdir); class cleanups stop them, and the
    bridge's exit status is checked (0: no crash, no sanitizer report)."""
    from .prosody import Prosody
    case.prosody = Prosody(os.path.join(case.workdir, 'prosody'))
    case.addClassCleanup(case.prosody.stop)
    case.prosody.add_user('home', password)
    case.prosody.start()
    case.xmpp = xmpp_section(case.prosody, 'home', password)
    if plain_c2s:
        sections['security'] = dict(sections.get('security') or {}, require_e2e=False)
    case.bridge = Bridge(case.workdir, case.xmpp, **sections)
    case.addClassCleanup(case.bridge.kill)
    case.addClassCleanup(case.bridge.stop)
    case.bridge.start()
    case.config = write_config(os.path.join(case.workdir, 'xpmn.toml'), confine_transfer({
        'xmpp': case.xmpp, 'bridge': {'state_dir': os.path.join(case.workdir, 'xpmn-state')}}))
    case.bridge_jid = case.xmpp['jid'] + '/bridge'
    wait_devices(case.config, lambda out: case.bridge_jid in out, timeout=60)
    pair_xpmn(case.bridge, case.config, case.bridge_jid)


PIN_LINE = re.compile(r'^PIN (\d{6,})$', re.M)


def start_secure_home(case, server_class, password, nas_name, users=('home',), security=None, n_extra=0,
                      nas_class=None, **bridge_sections):
    """For setUpClass in a test namespace (xpmntest.netns): a minidlna serving
    media.make_library, the XMPP server (`server_class`) with `users`, and the
    bridge of `home` with its default security (require_e2e on), and waits
    until the bridge has announced the NAS (`security`: more [security] keys;
    `n_extra`: media.make_library's; `nas_class`: another NAS fixture, e.g.
    nas.Gerbera; `bridge_sections`: more bridge config
    sections, e.g. transfer). Sets case.manifest, case.nas, case.server,
    case.bridge, case.bridge_jid, case.device (the NAS device's full JID) and
    case.finder (an unpaired xpmn config of `home`, for `xpmn devices`)
    (needs case.workdir); class cleanups stop them."""
    from . import media
    from .nas import MiniDlna
    from .netns import NetNs
    lib = os.path.join(case.workdir, 'library')
    case.manifest = media.make_library(lib, n_extra=n_extra)
    nas_class = nas_class or MiniDlna
    case.nas = start_server(case, nas_class(os.path.join(case.workdir, nas_class.kind), lib, netns=NetNs.current(),
                                            friendly_name=nas_name))
    case.server = server_class(os.path.join(case.workdir, 'xmpp'))
    case.addClassCleanup(case.server.stop)
    for user in users:
        case.server.add_user(user, password)
    case.server.start()
    case.bridge_jid = case.server.jid('home') + '/bridge'
    case.bridge = Bridge(case.workdir, xmpp_section(case.server, 'home', password), security=security or {},
                         **bridge_sections)
    case.addClassCleanup(case.bridge.kill)
    case.addClassCleanup(case.bridge.stop)
    case.bridge.start()
    # Discovery is plain c2s: the home account lists its own devices.
    case.finder = finder = controller_config(case.workdir, case.server, 'home', password, 'finder')
    try:
        out = wait_devices(finder, lambda out: nas_name in out and '/bridge' in out, timeout=60)
    except AssertionError as e:  # what the bridge and the NAS said: a discovery miss is rare and needs both
        raise AssertionError('%s\n--- bridge log ---\n%s\n%s' % (e, case.bridge.log_tail(), case.nas.diagnostics()))
    case.device = device_jids(out)[nas_name]


def pair_other_bridge(case, owner, user, password, name='bridge-a'):
    """For a second bridge (account `user`, Bridge name `name`, not started
    yet): pairs its state directory's certificate with case.bridge as a
    controller (`xpmn` and the bridge share the identity and trust store
    formats) and has `owner` (an owner's xpmn config of case.bridge) grant
    `user` read on case.device."""
    state = os.path.join(case.workdir, name + '-state')
    pairing = controller_config(case.workdir, case.server, user, password, name + '-pairing',
                                bridge={'state_dir': state})
    pair_xpmn(case.bridge, pairing, case.bridge_jid)
    r = run_xpmn(owner, 'grant', case.server.jid(user), case.device, 'read')
    assert r.returncode == 0, r.stdout + r.stderr


def controller_config(workdir, server, user, password, name, **sections):
    """An xpmn config `workdir/NAME.toml` for `user` with a state dir of its own
    (`NAME-state`: its own key and trust store) and further `sections`
    (e.g. transfer); returns its path."""
    return write_config(os.path.join(workdir, name + '.toml'), confine_transfer(dict({
        'xmpp': xmpp_section(server, user, password),
        'bridge': {'state_dir': os.path.join(workdir, name + '-state')}}, **sections)))


def transfer_uri(config, device, entry):
    """The transfer URI (wire profile §6) of a NAS fixture's `entry` (NAS.find_item /
    wait_item), from a browse of its parent through the bridge with `config`."""
    import xml.etree.ElementTree as ET
    r = run_xpmn(config, 'browse', device, entry['parent_id'], '--xml', '--max', '1000')
    assert r.returncode == 0, r.stderr
    for item in ET.fromstring(r.stdout):
        if item.get('id') == entry['id']:
            return item.find('{urn:xmpp:media:metadata:0}uri').text
    raise AssertionError('no item %s in the browse of %s' % (entry['id'], entry['parent_id']))


def open_pairing(bridge):
    """`xpmn-bridge pair` for a Bridge: returns (PIN, all it printed)."""
    return bridge_pair(bridge.config)


def wait_devices(config, predicate, timeout=30.0, netns=None):
    """Runs `xpmn devices` (inside `netns` if given) until predicate(output) holds
    (bounded); returns the output."""
    deadline = time.monotonic() + timeout
    while True:
        out = run_xpmn(config, 'devices', netns=netns).stdout
        if predicate(out):
            return out
        if time.monotonic() > deadline:
            raise AssertionError('xpmn devices did not show what the test waits for within %ss:\n%s' % (
                timeout, out))
        time.sleep(0.2)
