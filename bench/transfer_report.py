"""The Markdown section of bench/transfer.py in docs/benchmarks.md: each
measurement as a ratio to its baseline of the same run, beside the targets of
issue 9 (item 6)."""
import statistics

RTT = 2 * 0.040  # phone abroad: the relay's delay both ways (the link's own is negligible)


# What perf showed on the 2-core machine; each run's CPU line backs the proxy65 part.
WHAT_LIMITS = """**What limits throughput.** On two cores the NAS, the bridge and `xpmn` share the CPU with the
kernel's loopback/veth work, so a through-bridge byte costs what curl's costs plus two TLS passes
(AES-GCM encrypt in the bridge, decrypt in `xpmn`) and two more socket copies. perf on the direct
path found a quarter of the bridge's time in page faults and `brk` — glibc trimming the heap
between two 256 KiB buffers and growing it again — and more in zero-filling TLS output buffers:
both removed (`common/malloc_tuning`, `TlsStream::move_ciphertext`; the profiled download went from
320 to 430 MiB/s, the whole-file median from 214 to 308 MB/s). The bridge is no longer the
limit (its CPU line above is well under one core). `xpmn` spends half its time in the file's
`write` (ext4 page cache) and makes sure a reported download is on disk (write-back started
every 8 MiB, an `fsync` at the end; 308 → 333 MB/s with the write-behind); curl does neither: a
bare `fsync` of 1 GiB takes 1.1 s on this machine, a third of a 3.5 s download. Through proxy65 the limit is Prosody: it relays in
Lua, 4 KiB per read with a pause and a resume of the socket per read (`server.link`), on one core —
its CPU line above is most of a core while the bridge idles; the baseline `curl` does not go
through it. A deployment that needs more wants direct or assisted (router port mapping)
candidates, which the bridge tries first."""


def ms(seconds):
    return '%.1f ms' % (seconds * 1000) if seconds < 0.1 else '%.0f ms' % (seconds * 1000)


def met(ok):
    return 'yes' if ok else '**no**'


def med(xs):
    return statistics.median(xs)


def report(bench, quick, started, elapsed, machine, failure):
    s = bench.samples
    cfg = bench.cfg
    out = ['## Media transfer (`bench/transfer.py`)', '']
    if quick:
        out += ['**Smoke run (`bench/run --quick`): %d MiB file, one or two rounds — the numbers mean nothing.**'
                % (cfg['size'] >> 20), '']
    if failure:
        out += ['**The run failed: %s** The measurements that ran are below.' % failure.strip(), '']
    versions = bench.versions()
    out += ['- Run: %s UTC, %.0f s; %s (load average %.1f at the start); minidlna %s, Prosody %s, curl %s.' % (
                started.strftime('%Y-%m-%d %H:%M'), elapsed, machine, bench.load, versions['minidlna'],
                versions['prosody'], versions['curl']),
            '- Network namespaces (`xpmntest/topology.py`): Prosody with mod_proxy65 in the server namespace;',
            '  minidlna and the bridge in the bridge namespace; `xpmn` in the controller namespace, each joined',
            '  to the server by a veth pair. Direct S5B: the server namespace forwards (\'routed\'); proxy65:',
            '  it does not (\'isolated\': controller and bridge reach only the server), switched between the',
            '  downloads of one run. Transport security: XTLS (TLS 1.3) on the S5B stream in both cases.',
            '- File: %d MiB on minidlna (a real MP3 head, sparse after it, so no disk I/O on either side).'
            % (cfg['size'] >> 20),
            '- curl: `curl` in the bridge namespace, straight from minidlna (the NAS\'s own speed on the',
            '  home network); `xpmn get`: a whole process each (login, end-to-end stream, OOB session, the',
            '  bytes, written to a file; curl writes a file too). Rates are wall-clock, MB = 10^6 bytes.', '']

    out += ['| Measurement | Bridge | Baseline | Ratio | Target | Met |', '| --- | --- | --- | --- | --- | --- |']
    curl = s.get(('throughput', 'curl'))
    for kind, label in (('direct', 'direct S5B'), ('proxy', 'S5B via proxy65')):
        d = s.get(('throughput', kind))
        if d and curl:
            r = med(d['rate']) / med(curl['rate'])
            out.append('| Throughput, `xpmn get` of the whole file, %s (%d rounds) | %.0f MB/s | curl %.0f MB/s '
                       '| %.2f× | ≥ 0.5× | %s |' % (label, len(d['rate']), med(d['rate']), med(curl['rate']), r,
                                                  met(r >= 0.5)))
    cpu = []
    for kind, label in (('direct', 'direct S5B'), ('proxy', 'via proxy65')):
        d = s.get(('throughput', kind))
        if d and 'bridge_cpu' in d:
            cpu.append('%s: bridge %.0f %%, Prosody %.0f %%' % (
                label, 100 * med(d['bridge_cpu']), 100 * med(d.get('prosody_cpu', [0]))))
    cpu_line = ('CPU during the whole-file downloads, in %% of one core: %s.' % '; '.join(cpu)) if cpu else ''
    if curl and not s.get(('throughput', 'direct')):
        out.append('| Throughput, curl straight from the NAS (%d rounds) | — | %.0f MB/s | — | | |' % (
            len(curl['rate']), med(curl['rate'])))
    d = s.get(('serve', 'serve'))
    if d:
        out.append('| Time to first byte on an open OOB session (`xpmn serve`, curl `-r 0-0`, %d rounds) '
                   '| %s | | | < 20 ms | %s |' % (len(d['ttfb']), ms(med(d['ttfb'])), met(med(d['ttfb']) < 0.020)))
        out.append('| Seek: a new 64 KiB range on the open session (`xpmn serve`) | %s | | | < 30 ms | %s |' % (
            ms(med(d['seek'])), met(med(d['seek']) < 0.030)))
    d = s.get(('ttfb', 'get'))
    if d and None in d['get']:
        out.append('| Baselines only (no `xpmn get`): `xpmn disco` %s; curl time to first byte from the NAS %s '
                   '(`-r 0-0`), %s (64 KiB at a new offset) | | | | | |' % (
                       ms(med(d['disco'])), ms(med(d['curl'])), ms(med(s[('seek', 'get')]['curl']))))
    elif d:
        out.append('| `xpmn get --range 0-0`: a new process and session (%d rounds) | %s | `xpmn disco` %s; '
                   'curl TTFB %s | %.2f× disco | (< 20 ms applies to an open session) | |' % (
                       len(d['get']), ms(med(d['get'])), ms(med(d['disco'])), ms(med(d['curl'])),
                       med(d['get']) / med(d['disco'])))
        out.append('| … minus `xpmn disco` (login, one IQ, log out): session set-up + first byte | %s | | | | |'
                   % ms(max(med(d['get']) - med(d['disco']), 0.0)))
    d = s.get(('seek', 'get'))
    if d and None not in d['get']:
        out.append('| `xpmn get --range` of 64 KiB at spread offsets: a new process and session (%d rounds) '
                   '| %s | curl %s (TTFB) | | (< 30 ms applies to an open session) | |' % (
                       len(d['get']), ms(med(d['get'])), ms(med(d['curl']))))
    d = s.get(('rss', None))
    if d and 'peak' not in d:
        out.append('| Bridge RSS, idle (no `xpmn get`: no concurrent transfers) | | %.1f MB (VmHWM %.1f MB) '
                   '| | | |' % (d['idle'][0] / 1024, d['hwm'][0] / 1024))
    elif d:
        out.append('| Bridge RSS with %d concurrent `xpmn get` of %d MiB each (direct S5B; %d samples) '
                   '| peak %.1f MB (VmHWM %.1f MB) | idle %.1f MB | +%.1f MB | < 40 MB | %s |' % (
                       d['n'][0], d['each'][0] >> 20, d['samples'][0], d['peak'][0] / 1024, d['hwm'][0] / 1024,
                       d['idle'][0] / 1024, (d['peak'][0] - d['idle'][0]) / 1024, met(d['peak'][0] / 1024 < 40)))
        out.append('| … their aggregate rate | %.0f MB/s | | | | |' % d['rate'][0])

    out += ['', '### Phone abroad', '',
            'The controller\'s link: every connection it makes to the server (c2s, proxy65, a plain HTTP',
            'server for the baseline) goes through a userspace relay that delays each direction by %d ms'
            % (RTT / 2 * 1000),
            '(`bench/delay_relay.py`; this kernel has no netem), redirected there by nft in the server',
            'namespace, and `tbf` (rate %d Mbit/s, burst 32 KB) on both ends of the controller\'s veth (a qdisc'
            % 20,
            'shapes only what leaves: the download is shaped on the server\'s end). No forwarding: the transfer',
            'goes through proxy65. Round trip: %d ms.' % (RTT * 1000), '',
            '| Measurement | Bridge | Baseline | Ratio | Target | Met |', '| --- | --- | --- | --- | --- | --- |']
    g, c = s.get(('abroad', 'get')), s.get(('abroad', 'curl'))
    mib = cfg['abroad_bytes'] >> 20
    if c:
        out.append('| curl of %d MiB over the same link (plain HTTP, %d rounds) | | %.1f Mbit/s | %.2f× the link '
                   'rate | | |' % (mib, len(c['rate']), med(c['rate']), med(c['rate']) / 20))
        out.append('| Round trip measured: curl\'s time to first byte of `-r 0-0` over the link (its connect '
                   'ends at the relay: one request\'s round trip) | | %s | %.2f× the nominal %d ms | | |' % (
                       ms(med(c['rtt'])), med(c['rtt']) / RTT, RTT * 1000))
    if g:
        r = med(g['rate']) / 20
        out.append('| `xpmn get --range` of %d MiB (via %s; a whole process) | %.1f Mbit/s | link 20 Mbit/s '
                   '| %.2f× (%.2f× curl) | ≥ 0.8× | %s |' % (mib, ', '.join(sorted(set(g['path']))), med(g['rate']),
                                                          r, med(g['rate']) / med(c['rate']) if c else 0, met(r >= 0.8)))
        r = med(g['net_rate']) / 20
        out.append('| … less what `xpmn get --range 0-0` takes over the link (process, login, sessions): '
                   'the transfer alone | %.1f Mbit/s | link 20 Mbit/s | %.2f× | ≥ 0.8× | %s |' % (
                       med(g['net_rate']), r, met(r >= 0.8)))
    d = s.get(('abroad_serve', 'bulk'))
    if d:
        r = med(d['rate']) / 20
        out.append('| curl of %d MiB through `xpmn serve` (an open session: the transfer alone) | %.1f Mbit/s '
                   '| link 20 Mbit/s | %.2f× (%.2f× curl) | ≥ 0.8× | %s |' % (
                       mib, med(d['rate']), r, med(d['rate']) / med(c['rate']) if c else 0, met(r >= 0.8)))
    d = s.get(('abroad_serve', 'serve'))
    if d:
        out.append('| Seek on the open session (`xpmn serve`, 64 KiB at a new offset, TTFB) | %s | RTT %d ms '
                   '| %.1f RTT | ≤ 3 RTT | %s |' % (ms(med(d['seek'])), RTT * 1000, med(d['seek']) / RTT,
                                                    met(med(d['seek']) <= 3 * RTT)))
    d = s.get(('abroad_seek', 'get'))
    if d and None in d['get']:
        out.append('| Baseline only (no `xpmn get`): `xpmn disco` over the link (login, one IQ) | | %s (%.1f RTT) '
                   '| | | |' % (ms(med(d['disco'])), med(d['disco']) / RTT))
    elif d:
        out.append('| `xpmn get --range` of 64 KiB at a new offset: a new process and session | %s | `xpmn disco` '
                   '%s | %.1f RTT (%.1f RTT over disco) | (≤ 3 RTT applies to an open session) | |' % (
                       ms(med(d['get'])), ms(med(d['disco'])), med(d['get']) / RTT,
                       (med(d['get']) - med(d['disco'])) / RTT))
    if bench.notes:
        out += [''] + ['- %s' % n for n in bench.notes]
    if cpu_line:
        out += ['', cpu_line]
    out += ['', WHAT_LIMITS]
    out += ['', 'Each `xpmn get` opens its own session, so its time to first byte and its seek include',
            'process start, login, the end-to-end stream and the OOB session negotiation; what an open',
            'session answers is measured through `xpmn serve` (curl with `-r` against it), when present.',
            '', 'Re-run with `bench/run --only transfer` (as root); `bench/run --quick --output FILE` is the smoke',
            'run.', '']
    return '\n'.join(out)
