#!/usr/bin/python3
"""Media transfer through the bridge (issue 9, wire profile §6) against `curl`
straight from the NAS, measured in one run; started by bench/run, which
documents the options (bench/README.md).

Network namespaces (xpmntest.topology, kind 'routed'): Prosody with mod_proxy65
in the server namespace; minidlna (a library with one big file) and the bridge
in the bridge namespace; `xpmn` in the controller namespace. The proxy65 path
is the 'isolated' topology made from the same namespaces by turning the server
namespace's forwarding off (topology.py: that is all 'isolated' differs in), so
curl, direct S5B and proxy65 downloads alternate in one run on one bridge. The
phone-abroad profile adds, for the controller only, a delaying TCP relay in
front of c2s and the proxy (bench/delay_relay.py, nft redirect of what comes
in from the controller's link) and `tbf` on both ends of that link.

Nothing is asserted: missed targets are findings; a failed download fails the
run, and so does an `xpmn` without the `get` command (after the baselines,
which are reported with the failure).
"""
import argparse
import contextlib
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

from delay_relay import DelayRelay  # noqa: E402  (bench/delay_relay.py)
from sections import machine, write_section  # noqa: E402  (bench/sections.py)
from transfer_report import report  # noqa: E402  (bench/transfer_report.py)

PASSWORD = 'bench-password'
NAS_NAME = 'Bench NAS'
BIG_REL = 'Big/bench-big.mp3'
BIG_TITLE = 'Bench Big File'
METADATA = '{urn:xmpp:media:metadata:0}'
LINK_DELAY = 0.040       # phone abroad: one way, each direction
LINK_RATE_MBIT = 20      # phone abroad: tbf rate of the controller's link, each direction
PATH_LINE = re.compile(r'got (\d+) bytes via (\S+)')

# rounds per measurement; one untimed warm-up precedes each kind
FULL = {'size': 1 << 30, 'rounds': 3, 'ttfb': 20, 'seek': 20, 'concurrent': 8, 'concurrent_bytes': 256 << 20,
        'abroad_bytes': 32 << 20, 'abroad_rounds': 2, 'abroad_seek': 8}
QUICK = {'size': 8 << 20, 'rounds': 1, 'ttfb': 2, 'seek': 2, 'concurrent': 8, 'concurrent_bytes': 1 << 20,
         'abroad_bytes': 1 << 20, 'abroad_rounds': 1, 'abroad_seek': 1}


class BenchError(Exception):
    pass


def vm_kib(pid, field):
    """A /proc/PID/status field in KiB (VmRSS, VmHWM)."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise BenchError('no %s in /proc/%d/status' % (field, pid))


class RssSampler:
    """Samples a process's VmRSS every `interval` s on a thread until stop()."""

    def __init__(self, pid, interval=0.02):
        self.pid, self.interval = pid, interval
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name='rss-sampler')

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append(vm_kib(self.pid, 'VmRSS'))
            except (OSError, BenchError):
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        return False


class TransferBench:
    def __init__(self, cfg, workdir, log):
        self.cfg = cfg
        self.workdir = workdir
        self.log = log
        self.samples = {}
        self.notes = []          # what could not be measured, and why
        self.load = os.getloadavg()[0]
        self.has_get = self.has_serve = False

    def add(self, key, **values):
        d = self.samples.setdefault(key, {})
        for k, v in values.items():
            d.setdefault(k, []).append(v)

    # -- setup -------------------------------------------------------------------------
    def setup(self, stack):
        from xpmntest import media
        from xpmntest.bridge import (XPMN_BIN, Bridge, bridge_pair, device_jids, run_xpmn, wait_devices,
                                     write_config, xmpp_section)
        from xpmntest.nas import MiniDlna
        from xpmntest.topology import Topology

        self.xpmn_bin = XPMN_BIN
        self.run_xpmn = run_xpmn
        topo = self.topo = Topology('routed', prefix='xpmn-bench').create()
        stack.callback(topo.delete)
        prosody_dir = os.path.join(self.workdir, 'prosody')
        self.prosody = topo.prosody(prosody_dir, extra_global_config='log = { info = "%s" }' % os.path.join(
            prosody_dir, 'prosody.log'))
        stack.callback(self.prosody.kill)
        stack.callback(self.prosody.stop)
        self.prosody.add_user('home', PASSWORD)
        self.prosody.start()

        lib = os.path.join(self.workdir, 'library')
        media.make_library(lib)
        big = os.path.join(lib, BIG_REL)
        os.makedirs(os.path.dirname(big), exist_ok=True)
        media.make_audio(big, 1, 330, title=BIG_TITLE)
        # Sparse beyond a real MP3 head: no disk I/O on either side, so the
        # measurement is the path's, not the disk's (TLS does not compress).
        with open(big, 'r+b') as f:
            f.truncate(self.cfg['size'])
        self.size = self.cfg['size']
        self.nas = MiniDlna(os.path.join(self.workdir, 'minidlna'), lib, netns=topo.bridge, friendly_name=NAS_NAME)
        stack.callback(self.nas.kill)
        self.nas.start()
        entry = self.nas.find_item(BIG_REL, BIG_TITLE)
        if not entry or not entry['res']:
            raise BenchError('minidlna does not list %s' % BIG_REL)
        res = entry['res'][0]
        self.nas_url = res['url'] if isinstance(res, dict) else res

        xmpp = xmpp_section(self.prosody, 'home', PASSWORD)
        self.bridge = Bridge(self.workdir, xmpp, netns=topo.bridge, bridge={'log_level': 'info'},
                             transfer={'interfaces': [topo.bridge_ifname]})
        stack.callback(self.bridge.kill)
        stack.callback(self.bridge.stop)
        self.bridge.start()
        self.config = write_config(os.path.join(self.workdir, 'controller.toml'), {
            'xmpp': xmpp, 'bridge': {'state_dir': os.path.join(self.workdir, 'controller-state')},
            'transfer': {'interfaces': ['eth0']}})
        out = wait_devices(self.config, lambda out: NAS_NAME in out and '/bridge' in out, timeout=90,
                           netns=topo.controller)
        self.device = device_jids(out)[NAS_NAME]
        pin, _ = bridge_pair(self.bridge.config)
        r = self.xpmn('pair', self.prosody.jid('home') + '/bridge', '--pin', pin)
        if r.returncode != 0:
            raise BenchError('xpmn pair: exit %d: %s' % (r.returncode, r.stderr.strip()))
        self.log('bridge device %s online, paired' % self.device)
        r = self.xpmn('search', self.device, 'title=%s' % BIG_TITLE, '--xml')
        if r.returncode != 0:
            raise BenchError('xpmn search: exit %d: %s' % (r.returncode, r.stderr.strip()))
        root = ET.fromstring(r.stdout.strip().splitlines()[-1])
        uris = [i.findtext(METADATA + 'uri') for i in root.iter(METADATA + 'item')]
        if not uris or not uris[0]:
            raise BenchError('xpmn search found no transfer URI for %r:\n%s' % (BIG_TITLE, r.stdout))
        self.uri = uris[0]
        commands = self.xpmn('--help').stdout
        self.has_get = re.search(r'^\s+get\b', commands, re.M) is not None
        self.has_serve = re.search(r'^\s+serve\b', commands, re.M) is not None

    def xpmn(self, *args, timeout=120):
        return self.run_xpmn(self.config, *args, timeout=timeout, netns=self.topo.controller)

    def forwarding(self, on):
        """Server namespace forwarding: on = 'routed' (direct S5B), off = 'isolated' (proxy65)."""
        r = self.topo.server.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=%d' % on], timeout=10)
        if r.returncode != 0:
            raise BenchError('sysctl ip_forward: %s' % r.stderr.strip())

    # -- single measurements -------------------------------------------------------------
    def out_file(self, name='got.bin'):
        path = os.path.join(self.workdir, name)
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        return path

    def curl(self, ns, url, rng=None, out=None):
        """(wall seconds, bytes, seconds to the first byte) of one curl in namespace `ns`."""
        out = out or self.out_file('curl.bin')
        argv = ['curl', '-sS', '--fail', '-o', out, '-w', '%{size_download} %{time_starttransfer}', url]
        if rng:
            argv[1:1] = ['-r', rng]
        t0 = time.perf_counter()
        r = ns.run(argv, timeout=1800)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise BenchError('curl %s: exit %d: %s' % (url, r.returncode, r.stderr.strip()))
        n, ttfb = r.stdout.split()
        return dt, int(n), float(ttfb)

    def get(self, rng=None, expect_path=None, out=None):
        """(wall seconds, bytes, path) of one `xpmn get` in the controller namespace."""
        out = out or self.out_file()
        args = ['get', self.uri, '-o', out] + (['--range', rng] if rng else [])
        t0 = time.perf_counter()
        r = self.xpmn(*args, timeout=1800)
        dt = time.perf_counter() - t0
        m = PATH_LINE.search(r.stdout)
        if r.returncode != 0 or not m:
            raise BenchError('xpmn get %s: exit %d: %s%s' % (rng or '', r.returncode, r.stdout[-500:],
                                                               r.stderr.strip()[-1500:]))
        n, path = int(m.group(1)), m.group(2)
        if expect_path and path != expect_path:
            raise BenchError('xpmn get went via %s, expected %s' % (path, expect_path))
        return dt, n, path

    def busy_pids(self):
        """The long-lived processes on the path whose CPU share tells what limits a transfer."""
        from xpmntest import procfs
        pids = {'bridge': self.bridge.proc.pid}
        for pid in procfs.pids_mentioning(self.prosody.config_file):
            with contextlib.suppress(OSError), open('/proc/%d/comm' % pid) as f:
                if f.read().strip().startswith('lua'):
                    pids['prosody'] = pid
        return pids

    def need_get(self):
        if not self.has_get:
            raise BenchError('`xpmn get` is missing from %s (`xpmn --help` lists no get command): the '
                             'transfer measurements need it' % os.path.relpath(self.xpmn_bin, ROOT))

    # -- the run ---------------------------------------------------------------------------
    def throughput(self):
        """curl, direct S5B, proxy65 in turn: MB/s of a whole-file download each."""
        def one(kind, record):
            if kind == 'curl':
                dt, n, _ = self.curl(self.topo.bridge, self.nas_url)
                cpu = {}
            else:
                self.forwarding(kind == 'direct')
                before = {who: cpu_seconds(pid) for who, pid in self.busy_pids().items()}
                dt, n, _ = self.get(expect_path='s5b-direct' if kind == 'direct' else 's5b-proxy')
                cpu = {who + '_cpu': (cpu_seconds(pid) - before[who]) / dt for who, pid in self.busy_pids().items()}
            if n != self.size:
                raise BenchError('%s: %d bytes, the file has %d' % (kind, n, self.size))
            if record:
                self.add(('throughput', kind), rate=n / dt / 1e6, seconds=dt, **cpu)
        kinds = ['curl', 'direct', 'proxy'] if self.has_get else ['curl']
        for kind in kinds:
            one(kind, False)
        for _ in range(self.cfg['rounds']):
            for kind in kinds:
                one(kind, True)
        self.forwarding(True)
        self.log('throughput: done')

    def first_byte(self):
        """TTFB and seek. Each `xpmn get` is a new process with a new session (login, end-to-end
        stream, OOB session, transfer): measured as such, beside `xpmn disco` (login alone) and
        curl's own time to first byte. Through `xpmn serve`, when present, on one open session."""
        size = self.size
        for i in range(self.cfg['ttfb'] + 1):
            g = self.get('0-0')[0] if self.has_get else None
            t0 = time.perf_counter()
            r = self.xpmn('disco', self.prosody.domain)
            d = time.perf_counter() - t0
            if r.returncode != 0:
                raise BenchError('xpmn disco: %s' % r.stderr.strip())
            _, _, c = self.curl(self.topo.bridge, self.nas_url, '0-0')
            if i:
                self.add(('ttfb', 'get'), get=g, disco=d, curl=c)
        step = max(size // (self.cfg['seek'] + 1), 1)
        for i in range(self.cfg['seek']):
            start = (i + 1) * step - (i + 1) * 4099 % step  # spread over the file, not page-aligned
            rng = '%d-%d' % (start, min(start + 65535, size - 1))
            g = self.get(rng)[0] if self.has_get else None
            _, _, c = self.curl(self.topo.bridge, self.nas_url, rng)
            self.add(('seek', 'get'), get=g, curl=c)
        if self.has_serve and self.has_get:
            self.serve_first_byte()
        else:
            self.notes.append('`xpmn serve` is missing: no time to first byte on an already open OOB session.')
        self.log('first byte / seek: done')

    def serve_first_byte(self, key='serve', rounds=None, bulk=0):
        """TTFB and seek on one open OOB session: curl's time to first byte through `xpmn serve`;
        with `bulk`, also the rate of a download of that many bytes on the open session."""
        from xpmntest.ports import free_port
        port = free_port()
        log = open(os.path.join(self.workdir, 'xpmn-serve-%s.log' % key), 'w')
        proc = self.topo.controller.popen([self.xpmn_bin, '--config', self.config, 'serve', '--port', str(port)],
                                          stdout=log, stderr=log)
        try:
            url = 'http://127.0.0.1:%d/%s' % (port, urllib.parse.quote(self.uri, safe=''))
            deadline = time.monotonic() + 60
            while True:  # the first request opens the session (untimed)
                try:
                    self.curl(self.topo.controller, url, '0-0')
                    break
                except BenchError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            n = rounds or self.cfg['ttfb']
            step = max(self.size // (n + 1), 1)
            for i in range(n):
                _, _, first = self.curl(self.topo.controller, url, '0-0')
                start = (i + 1) * step
                _, _, seek = self.curl(self.topo.controller, url, '%d-%d' % (start, start + 65535))
                self.add((key, 'serve'), ttfb=first, seek=seek)
            if bulk:
                dt, got, _ = self.curl(self.topo.controller, url, '0-%d' % (bulk - 1))
                self.add((key, 'bulk'), rate=got * 8 / dt / 1e6)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()

    def concurrent(self):
        """Bridge RSS (VmRSS sampled, and VmHWM) while N `xpmn get` run at once (direct S5B)."""
        pid = self.bridge.proc.pid
        idle = vm_kib(pid, 'VmRSS')
        if not self.has_get:
            self.add(('rss', None), idle=idle, hwm=vm_kib(pid, 'VmHWM'))
            return
        n, each = self.cfg['concurrent'], min(self.cfg['concurrent_bytes'], self.size // self.cfg['concurrent'])
        errors = []
        results = []

        def worker(i):
            try:
                rng = '%d-%d' % (i * each, (i + 1) * each - 1)
                results.append(self.get(rng, expect_path='s5b-direct', out=self.out_file('conc-%d.bin' % i)))
            except BenchError as e:
                errors.append(str(e))
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        t0 = time.perf_counter()
        with RssSampler(pid) as sampler:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        dt = time.perf_counter() - t0
        if errors:
            raise BenchError('concurrent downloads: %s' % '; '.join(errors))
        for i in range(n):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self.workdir, 'conc-%d.bin' % i))
        self.add(('rss', None), idle=idle, peak=max(sampler.samples + [idle]), hwm=vm_kib(pid, 'VmHWM'),
                 n=n, each=each, seconds=dt, rate=n * each / dt / 1e6, samples=len(sampler.samples))
        self.log('concurrent: done')

    @contextlib.contextmanager
    def phone_abroad(self):
        """The controller's link becomes a long, thin one: its c2s and proxy connections go
        through delay relays in the server namespace (redirected there by nft as they come in
        from the controller's link), the link is shaped to LINK_RATE_MBIT both ways (tbf on
        each end: a qdisc shapes what leaves), and it cannot reach the bridge (no forwarding).
        Also a plain HTTP server behind a relay: curl over the same link is the baseline."""
        topo = self.topo
        server_ip = topo.server_ip
        http_port = free_port_in(topo.server)
        web = os.path.join(self.workdir, 'web')
        os.makedirs(web, exist_ok=True)
        with open(os.path.join(web, 'blob.bin'), 'wb') as f:
            f.truncate(self.cfg['abroad_bytes'])
        http = topo.server.popen(['/usr/bin/python3', '-m', 'http.server', '--bind', server_ip, '--directory', web,
                                  str(http_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        relays = []
        try:
            targets = [self.prosody.c2s_port, self.prosody.proxy65_port, http_port]
            for port in targets:
                relays.append(DelayRelay((server_ip, port), LINK_DELAY, netns=topo.server).start())
            rules = '\n'.join('  iifname "ctl0" ip daddr %s tcp dport %d redirect to :%d' % (
                server_ip, port, relay.listen_port) for port, relay in zip(targets, relays))
            nft(topo.server, 'table ip xpmn_bench {\n chain pre {\n  type nat hook prerouting priority -100;\n'
                '%s\n }\n}\n' % rules)
            self.forwarding(False)
            tbf = ['tbf', 'rate', '%dmbit' % LINK_RATE_MBIT, 'burst', '32kb', 'latency', '100ms']
            tc(topo.server, 'qdisc', 'add', 'dev', 'ctl0', 'root', *tbf)
            tc(topo.controller, 'qdisc', 'add', 'dev', 'eth0', 'root', *tbf)
            self.abroad_http = 'http://%s:%d/blob.bin' % (server_ip, http_port)
            wait_http(topo.controller, self.abroad_http)
            yield relays
        finally:
            for argv in (['tc', 'qdisc', 'del', 'dev', 'ctl0', 'root'], ['nft', 'delete', 'table', 'ip', 'xpmn_bench']):
                topo.server.run(argv, timeout=10)
            topo.controller.run(['tc', 'qdisc', 'del', 'dev', 'eth0', 'root'], timeout=10)
            self.forwarding(True)
            for relay in relays:
                relay.stop()
            http.terminate()
            http.wait(10)

    def abroad(self):
        n = self.cfg['abroad_bytes']
        with self.phone_abroad() as relays:
            rng = '0-%d' % (n - 1)
            for i in range(self.cfg['abroad_rounds'] + 1):
                dt, got, _ = self.curl(self.topo.controller, self.abroad_http)
                _, _, first = self.curl(self.topo.controller, self.abroad_http, '0-0')  # one request's round trip
                if i:
                    self.add(('abroad', 'curl'), rate=got * 8 / dt / 1e6, rtt=first)
                if self.has_get:
                    dt, got, path = self.get(rng)
                    setup, _, _ = self.get('0-0')  # the same process and session for one byte
                    if i:
                        self.add(('abroad', 'get'), rate=got * 8 / dt / 1e6, path=path,
                                 net_rate=(got - 1) * 8 / max(dt - setup, 1e-3) / 1e6)
            for i in range(self.cfg['abroad_seek']):
                start = self.size // 2 + i * 1048573
                g = self.get('%d-%d' % (start, start + 65535))[0] if self.has_get else None
                t0 = time.perf_counter()
                r = self.xpmn('disco', self.prosody.domain)
                d = time.perf_counter() - t0
                if r.returncode != 0:
                    raise BenchError('xpmn disco over the long link: %s' % r.stderr.strip())
                self.add(('abroad_seek', 'get'), get=g, disco=d)
            if self.has_serve and self.has_get:
                self.serve_first_byte(key='abroad_serve', rounds=self.cfg['abroad_seek'], bulk=n)
            if sum(r.accepted for r in relays[:2]) == 0:
                raise BenchError('nothing went through the delay relays: the profile did not apply')
        self.log('phone abroad: done')

    def run(self):
        self.throughput()
        self.first_byte()
        self.concurrent()
        self.abroad()
        self.need_get()  # without it only the baselines ran: the run fails, and says why

    def versions(self):
        def version(pkg):
            r = subprocess.run(['dpkg-query', '-W', '-f=${Version}', pkg], capture_output=True, text=True, timeout=10)
            return r.stdout.strip() or '?'
        return {p: version(p) for p in ('minidlna', 'prosody', 'curl')}


def cpu_seconds(pid):
    """User + system CPU time of a process so far (/proc/PID/stat)."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def free_port_in(ns):
    s = ns.socket()
    try:
        s.bind(('0.0.0.0', 0))
        return s.getsockname()[1]
    finally:
        s.close()


def nft(ns, ruleset):
    r = ns.run(['nft', '-f', '-'], input=ruleset, timeout=10)
    if r.returncode != 0:
        raise BenchError('nft in %s: %s' % (ns.name, r.stderr.strip()))


def tc(ns, *argv):
    r = ns.run(['tc', *argv], timeout=10)
    if r.returncode != 0:
        raise BenchError('tc %s in %s: %s' % (' '.join(argv), ns.name, r.stderr.strip()))


def wait_http(ns, url, timeout=20):
    deadline = time.monotonic() + timeout
    while ns.run(['curl', '-sS', '--fail', '-o', '/dev/null', '-r', '0-0', url], timeout=30).returncode != 0:
        if time.monotonic() > deadline:
            raise BenchError('%s does not answer' % url)
        time.sleep(0.1)


def main(argv):
    p = argparse.ArgumentParser(prog='bench/run --only transfer', description=__doc__.split('\n\n')[0])
    p.add_argument('--quick', action='store_true', help='smoke run: small file, few rounds')
    p.add_argument('--output', default=os.path.join(ROOT, 'docs', 'benchmarks.md'), help='report file (Markdown)')
    args, _ = p.parse_known_args(argv)  # bench/run passes the browse benchmark's options too
    args.output = os.path.abspath(args.output)

    def log(msg):
        print('bench transfer: ' + msg, flush=True)
    cfg = QUICK if args.quick else FULL
    workdir = tempfile.mkdtemp(prefix='xpmn-bench-transfer-')
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    failure = None
    with contextlib.ExitStack() as stack:
        if not os.environ.get('XPMN_KEEP_WORKDIR'):
            stack.callback(shutil.rmtree, workdir, True)
        bench = TransferBench(cfg, workdir, log)
        try:
            bench.setup(stack)
            bench.run()
        except (BenchError, AssertionError, subprocess.TimeoutExpired, OSError) as e:
            failure = str(e)
            log('failed: %s' % failure)
        text = report(bench, args.quick, started, time.monotonic() - t0, machine(), failure)
    write_section(args.output, 'transfer', text)
    print(text)
    log('section "transfer" written to %s' % args.output)
    return 1 if failure else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
