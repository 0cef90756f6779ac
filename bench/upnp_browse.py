#!/usr/bin/python3
"""Browse latency and walk throughput through the bridge against direct UPnP,
and XEP-0199 ping round trips to a bridge device against the XMPP server's own;
started by bench/run, which documents the options.

Everything runs in a fresh network namespace (it re-runs itself inside one, as
the UPnP tests do): a generated library of several thousand files on minidlna,
Prosody, the bridge (`[security] require_e2e = false`, so its profiles answer
over c2s) and long-lived sessions of xpmn-bench-client (bench/bench_client.cpp,
the project's own XMPP stack: what a native controller sees) plus one slixmpp
session for comparison. Each measurement pairs a request
through the bridge (A) with the same request made directly (B), alternating
A, B, A, B ... in one run, so both see the same machine load; the result is a
ratio of medians, never an absolute time. The report (Markdown) lists each
ratio beside its target. Nothing is asserted: a missed target is a finding,
only a failed request fails the run.
"""
import argparse
import contextlib
import datetime
import hashlib
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

from xpmntest.netns import PYTHON, NetNs, inside_namespace, run_in_new_namespace  # noqa: E402

from report import report  # noqa: E402  (bench/report.py)
from sections import write_section  # noqa: E402  (bench/sections.py)

SERVER_NS = 'urn:xmpp:media:server:0'
META_NS = 'urn:xmpp:media:metadata:0'
PASSWORD = 'bench-password'
NAS_NAME = 'Bench NAS'
WALK_PAGE = 1000  # children per request while walking (the bridge may deliver fewer: page by `returned`)
# S5B for the end-to-end stream and the OOB session: a direct candidate on loopback, as direct UPnP is
# (a proxy candidate would put Prosody back on the path).
TRANSFER = {'interfaces': ['lo'], 'proxies': False}

# rounds per measurement; one untimed warm-up pair precedes each
FULL = {'files': 3000, 'browse': {10: 30, 100: 30, 1000: 10}, 'walk': 3, 'ping': 40, 'cli': 10}
QUICK = {'files': 120, 'browse': {10: 2, 100: 2, 1000: 1}, 'walk': 1, 'ping': 2, 'cli': 2}

class BenchError(Exception):
    pass


class NativeClient:
    """xpmn-bench-client (bench/bench_client.cpp): one logged-in session of the
    project's own XMPP stack that times each request itself and answers one
    line per command line (the pipe's own cost is outside what it times)."""

    def __init__(self, binary, config, resource, workdir):
        self.resource = resource
        self.stderr = open(os.path.join(workdir, 'bench-client-%s.log' % resource), 'w')
        self.proc = subprocess.Popen([binary, '--config', config, '--resource', resource, '--timeout', '60'],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
                                     bufsize=1)
        line = self._line(60)
        if not line.startswith('online '):
            raise BenchError('bench client %s did not come online: %r' % (resource, line))
        self.full_jid = line.split()[1]

    def _line(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ''
        if not line:
            raise BenchError('bench client %s: no answer within %d s (exit %s)' % (
                self.resource, timeout, self.proc.poll()))
        return line.strip()

    def cmd(self, *words, timeout=600):
        """Sends one command; returns (seconds, [further fields]); a failed request is a BenchError."""
        line = ' '.join(str(w) for w in words)
        self.proc.stdin.write(line + '\n')
        self.proc.stdin.flush()
        answer = self._line(timeout).split()
        if len(answer) < 2 or answer[0] == 'bad' or answer[1] != 'result':
            raise BenchError('bench client %s: %r answered %r' % (self.resource, line, ' '.join(answer)))
        return int(answer[0]) / 1e6, answer[2:]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()  # end of commands: it logs out and exits
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


# -- requests through the bridge by slixmpp (on the slixmpp client's loop, timed there) ---
async def send_timed(xmpp, to, payload, timeout=60):
    """Sends <iq type='get' to=TO>payload</iq>; returns (seconds, reply payload element)."""
    iq = xmpp.Iq()
    iq['type'] = 'get'
    iq['to'] = to
    iq.xml.append(payload)
    t0 = time.perf_counter()
    try:
        reply = await iq.send(timeout=timeout)
    except Exception as e:  # IqError, IqTimeout: the benchmark cannot go on
        raise BenchError('%s to %s failed: %s' % (ET.tostring(payload, encoding='unicode'), to, e)) from e
    dt = time.perf_counter() - t0
    return dt, next(iter(reply.xml), None)


def browse_payload(cid, start, count):
    return ET.Element('{%s}browse' % SERVER_NS, {'id': cid, 'start': str(start), 'max': str(count)})


def container_of(reply, cid):
    if reply is None or reply.tag != '{%s}container' % META_NS:
        raise BenchError('browse %s: no <container/> in the result' % cid)
    return reply


async def bridge_browse(xmpp, device, cid, start, count):
    """(seconds, items returned, result) of one browse: the container's metadata and one page of children."""
    dt, reply = await send_timed(xmpp, device, browse_payload(cid, start, count))
    return dt, int(container_of(reply, cid).get('returned')), reply


def walker(root):
    """Walks every object below `root`, depth first, paging by what each answer
    returned. A generator: it yields (container id, start) and is sent back that
    page as ([(is_item, id)], total); it returns (items, containers)."""
    items = containers = 0
    todo = [root]
    while todo:
        cid = todo.pop()
        start = 0
        while True:
            kids, total = yield cid, start
            for is_item, oid in kids:
                if is_item:
                    items += 1
                else:
                    containers += 1
                    todo.append(oid)
            start += len(kids)
            if not kids or start >= total:
                break
    return items, containers


def kids_of(parent, item_tag, container_tag):
    return [(k.tag == item_tag, k.get('id')) for k in parent if k.tag in (item_tag, container_tag)]


# -- the same requests made directly (plain HTTP/SOAP client, this thread) ---------------
def direct_browse(cd, cid, start, count):
    t0 = time.perf_counter()
    cd.browse(cid, 'BrowseMetadata')
    _, returned, _, _ = cd.browse(cid, start=start, count=count)
    return time.perf_counter() - t0, returned


def direct_walk(cd, root):
    t0 = time.perf_counter()
    walk = walker(root)
    try:
        cid, start = next(walk)
        while True:
            didl, _, total, _ = cd.browse(cid, start=start, count=WALK_PAGE)
            didl_ns = '{urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/}'
            cid, start = walk.send((kids_of(ET.fromstring(didl), didl_ns + 'item', didl_ns + 'container'), total))
    except StopIteration as done:
        return (time.perf_counter() - t0, *done.value)


# -- the run -----------------------------------------------------------------------------
class Bench:
    def __init__(self, cfg, workdir, log, prosody_nodelay=False):
        self.cfg = cfg
        self.prosody_nodelay = prosody_nodelay
        self.workdir = workdir
        self.log = log
        self.samples = {}  # key -> {'a': [...], 'b': [...], ...}
        self.walk_page = WALK_PAGE
        self.e2e_path = self.oob_path = '?'  # how the end-to-end stream and the OOB session travel
        self.load = os.getloadavg()[0]  # other work on the machine shifts both sides of each pair

    def setup(self, stack):
        from xpmntest import media
        from xpmntest.bridge import Bridge, xmpp_section
        from xpmntest.nas import MiniDlna
        from xpmntest.prosody import Prosody
        from xpmntest.slix import SlixClient
        from xpmntest.upnp_direct import ContentDirectory

        ns = NetNs.current()
        lib = os.path.join(self.workdir, 'library')
        t0 = time.monotonic()
        manifest = media.make_library(lib, n_extra=self.cfg['files'])
        self.files = len(manifest)
        self.log('library: %d files (%.0f s)' % (self.files, time.monotonic() - t0))
        self.nas = MiniDlna(os.path.join(self.workdir, 'minidlna'), lib, netns=ns, friendly_name=NAS_NAME,
                            start_timeout=240)
        stack.callback(self.nas.kill)
        self.nas.start()
        self.log('minidlna: %d files scanned (%.0f s)' % (self.files, self.nas.last_scan_seconds))
        self.cd = ContentDirectory(self.nas.description_url, ns=None)  # this process is in the namespace
        self.many = self.cd.find_container([media.MANY_DIR], start=MiniDlna.FOLDERS)
        if self.many is None:
            raise BenchError('no %s folder on minidlna' % media.MANY_DIR)
        self.walk_root = MiniDlna.FOLDERS

        # Prosody's defaults (Nagle on) unless asked: the stall of item 11 is measured against them.
        # Logging at info, as Prosody's own default (the test fixture logs every stanza at debug).
        prosody_dir = os.path.join(self.workdir, 'prosody')
        self.prosody = Prosody(prosody_dir, extra_global_config='\n'.join([
            'log = { info = "%s" }' % os.path.join(prosody_dir, 'prosody.log'),
            'network_settings = { nagle = false }' if self.prosody_nodelay else '']))
        stack.callback(self.prosody.kill)
        stack.callback(self.prosody.stop)
        self.prosody.add_user('home', PASSWORD)
        self.prosody.start()
        # Logging at info: debug logging per stanza would be measured too.
        self.bridge = Bridge(self.workdir, xmpp_section(self.prosody, 'home', PASSWORD),
                             bridge={'log_level': 'info'}, security={'require_e2e': False}, transfer=TRANSFER)
        stack.callback(self.bridge.kill)
        stack.callback(self.bridge.stop)
        self.bridge.start()
        self.device = self.prosody.jid('home', 'upnp-' + hashlib.sha1(self.cd.udn.encode()).hexdigest()[:8])
        self.server = self.prosody.domain
        self.client = SlixClient(self.prosody.jid('home', 'bench'), PASSWORD, '127.0.0.1', self.prosody.c2s_port,
                                 self.prosody.ca_file)
        stack.callback(self.client.close)
        self.client.connect()
        self.client.wait_presence(self.device, timeout=60)
        self.log('bridge device %s online' % self.device)
        # The measuring clients: the project's own XMPP stack, as a native controller would be.
        # `bench` measures; `echo` keeps a browse result of each size and sends it back on request.
        from xpmntest.bridge import BUILD, XPMN_BIN, write_config
        self.xpmn_bin = XPMN_BIN
        self.xpmn_config = write_config(os.path.join(self.workdir, 'xpmn.toml'), {
            'xmpp': xmpp_section(self.prosody, 'home', PASSWORD),
            'bridge': {'state_dir': os.path.join(self.workdir, 'xpmn-state')}, 'transfer': TRANSFER})
        self.pair_with_bridge()
        client_bin = os.path.join(BUILD, 'bench', 'xpmn-bench-client')
        self.native = NativeClient(client_bin, self.xpmn_config, 'bench-native', self.workdir)
        stack.callback(self.native.close)
        self.native_echo = NativeClient(client_bin, self.xpmn_config, 'bench-echo', self.workdir)
        stack.callback(self.native_echo.close)

    def pair_with_bridge(self):
        """Pairs the measuring clients' state dir with the bridge (the PIN `xpmn-bridge pair`
        prints), so that they can also browse over the end-to-end stream (XTLS over S5B)."""
        from xpmntest.bridge import BRIDGE_BIN
        r = subprocess.run([BRIDGE_BIN, '--config', self.bridge.config, 'pair'], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        pin = re.search(r'^PIN (\d+)$', r.stdout, re.M)
        if r.returncode != 0 or not pin:
            raise BenchError('xpmn-bridge pair: exit %d: %s' % (r.returncode, r.stderr.strip()))
        r = subprocess.run([self.xpmn_bin, '--config', self.xpmn_config, 'pair', self.prosody.jid('home', 'bridge'),
                            '--pin', pin.group(1)], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise BenchError('xpmn pair: exit %d: %s' % (r.returncode, r.stderr.strip()))

    def on_loop(self, coro, what, timeout=600):
        return self.client._call(coro, timeout, what)

    def add(self, key, **values):
        d = self.samples.setdefault(key, {})
        for k, v in values.items():
            d.setdefault(k, []).append(v)

    def cpu_seconds(self):
        """CPU time (user + system) of each process on the path, by role."""
        def of(pid):
            with open('/proc/%d/stat' % pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
        return {'prosody': of(self.prosody.pid), 'bridge': of(self.bridge.proc.pid),
                'clients': of(self.native.proc.pid) + of(self.native_echo.proc.pid)}

    def with_cpu(self, fn):
        """fn()'s result and the CPU seconds each role spent meanwhile."""
        before = self.cpu_seconds()
        result = fn()
        after = self.cpu_seconds()
        return result, {k: after[k] - before[k] for k in after}

    def browse_pair(self, size, start, record):
        """Bridge (native client), direct, the bridge's result echoed between two native
        clients (XMPP alone), then the bridge again with the slixmpp client."""
        (a, (a_n, _, nbytes)), a_cpu = self.with_cpu(
            lambda: self.native.cmd('browse', self.device, self.many, start, size))
        b, b_n = direct_browse(self.cd, self.many, start, size)
        (e, (e_n, _, _, e_via)), e_cpu = self.with_cpu(
            lambda: self.native.cmd('browse-e2e', self.device, self.many, start, size))
        if int(e_n) != int(a_n):
            raise BenchError('browse %d: %s items over c2s, %s over the end-to-end stream' % (size, a_n, e_n))
        if not record:  # warm-up (also opens the end-to-end stream and the OOB session): the echo client keeps a result
            self.native_echo.cmd('browse', self.device, self.many, start, size)
            self.on_loop(bridge_browse(self.client.xmpp, self.device, self.many, start, size), 'browse via slixmpp')
            _, (self.e2e_path, self.oob_path) = self.native.cmd('paths', self.device)
            return
        self.add(('via', size), oob=e_via == 'oob')
        (c, _), c_cpu = self.with_cpu(lambda: self.native.cmd('echo', self.native_echo.full_jid, size))
        slix, _, _ = self.on_loop(bridge_browse(self.client.xmpp, self.device, self.many, start, size),
                                  'browse via slixmpp')
        self.add(('browse', size), a=a, b=b, c=c, e=e, slix=slix, a_items=int(a_n), b_items=b_n,
                 kib=int(nbytes) / 1024, **{'cpu_a_' + k: v for k, v in a_cpu.items()},
                 **{'cpu_c_' + k: v for k, v in c_cpu.items()}, **{'cpu_e_' + k: v for k, v in e_cpu.items()})

    def walk_pair(self, record):
        a, (a_items, a_cont) = self.native.cmd('walk', self.device, self.walk_root, WALK_PAGE)
        a_items, a_cont = int(a_items), int(a_cont)
        b, b_items, b_cont = direct_walk(self.cd, self.walk_root)
        if (a_items, a_cont) != (b_items, b_cont):
            raise BenchError('the walks differ: bridge %d items / %d containers, direct %d / %d' % (
                a_items, a_cont, b_items, b_cont))
        e, (e_items, e_cont) = self.native.cmd('walk-e2e', self.device, self.walk_root, WALK_PAGE)
        if (int(e_items), int(e_cont)) != (b_items, b_cont):
            raise BenchError('the walks differ: end-to-end %s items / %s containers, direct %d / %d' % (
                e_items, e_cont, b_items, b_cont))
        if record:
            self.add(('walk', None), a=a_items / a, b=b_items / b, e=b_items / e, items=a_items)

    def ping_pair(self, record):
        """A ping to the device 100 ms after the previous answer, one 2 ms after, one to the server 2 ms after."""
        time.sleep(0.1)
        slow, _ = self.native.cmd('ping', self.device)
        time.sleep(0.002)
        quick, _ = self.native.cmd('ping', self.device)
        time.sleep(0.002)
        srv, _ = self.native.cmd('ping', self.server)
        if record:
            self.add(('ping', None), slow=slow, quick=quick, server=srv)

    def cli_disco(self, record):
        """Wall time of `xpmn disco DOMAIN`: start, TLS, SASL, bind, one IQ, log out."""
        t0 = time.perf_counter()
        r = subprocess.run([self.xpmn_bin, '--config', self.xpmn_config, 'disco', self.server],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise BenchError('xpmn disco %s: exit %d: %s' % (self.server, r.returncode, r.stderr.strip()))
        if record:
            self.add(('cli', None), disco=dt)

    def run(self):
        total = self.nas_total = self.cd.browse(self.many, count=1)[2]
        rounds = self.cfg['browse']
        for size in rounds:  # warm-up: connections, caches
            self.browse_pair(size, 0, False)
        for r in range(max(rounds.values())):
            for size, n in rounds.items():
                if r < n:  # A/B pairs walk through the container page by page
                    self.browse_pair(size, (r * size) % max(total - size, 1), True)
        self.log('browse: done')
        self.walk_pair(False)
        for _ in range(self.cfg['walk']):
            self.walk_pair(True)
        self.log('walk: done')
        self.ping_pair(False)
        for _ in range(self.cfg['ping']):
            self.ping_pair(True)
        self.log('ping: done')
        self.cli_disco(False)
        for _ in range(self.cfg['cli']):
            self.cli_disco(True)
        self.log('xpmn CLI: done')

    def versions(self):
        def first_line(argv):
            try:
                r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
                return (r.stdout or r.stderr).strip().splitlines()[0]
            except (OSError, IndexError, subprocess.SubprocessError):
                return '?'
        return {'minidlna': first_line(['dpkg-query', '-W', '-f=${Version}', 'minidlna']),
                'prosody': first_line(['dpkg-query', '-W', '-f=${Version}', 'prosody']),
                'slixmpp': first_line(['dpkg-query', '-W', '-f=${Version}', 'python3-slixmpp'])}


def main(argv):
    p = argparse.ArgumentParser(prog='bench/run', description=__doc__.split('\n\n')[0])
    p.add_argument('--quick', action='store_true', help='smoke run: tiny library, few rounds')
    p.add_argument('--prosody-nodelay', action='store_true',
                   help="turn Nagle off in Prosody (network_settings.nagle = false; not its default): shows what the XMPP path costs without it")
    p.add_argument('--output', default=os.path.join(ROOT, 'docs', 'benchmarks.md'), help='report file (Markdown)')
    args = p.parse_args(argv)
    args.output = os.path.abspath(args.output)
    if not inside_namespace():
        return run_in_new_namespace([PYTHON, os.path.abspath(__file__), '--output', args.output] +
                                    (['--quick'] if args.quick else []) +
                                    (['--prosody-nodelay'] if args.prosody_nodelay else []),
                                    prefix='xpmn-bench', timeout=1200)

    def log(msg):
        print('bench: ' + msg, flush=True)
    cfg = QUICK if args.quick else FULL
    workdir = tempfile.mkdtemp(prefix='xpmn-bench-')
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    with contextlib.ExitStack() as stack:
        if not os.environ.get('XPMN_KEEP_WORKDIR'):
            stack.callback(shutil.rmtree, workdir, True)
        bench = Bench(cfg, workdir, log, args.prosody_nodelay)
        try:
            bench.setup(stack)
            bench.run()
        except (BenchError, AssertionError) as e:
            log('failed: %s' % e)
            return 1
        text = report(bench, args.quick, args.prosody_nodelay, started, time.monotonic() - t0)
    write_section(args.output, 'browse', text)
    print(text)
    log('section "browse" written to %s' % args.output)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
