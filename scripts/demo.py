"""Demo: a private Prosody, a sample NAS (minidlna with a generated library),
the bridge, and the xpmn controller pairing with the bridge (the PIN that
`xpmn-bridge pair` shows), then browsing, searching and watching the NAS over
an end-to-end encrypted stream (XTLS over Jingle in-band bytestreams) through
XMPP, downloading and playing a track out of band, and driving a player: a
headless mpv on a private D-Bus bus, which the bridge shows as a media-player
device. Runs inside its own network namespace (SSDP stays on its lo) and
stops everything at the end. Pass --keep to leave it running until Enter.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
os.environ.setdefault('XPMN_BUILD_DIR', os.path.join(ROOT, 'build', 'default'))

from xpmntest.bridge import XPMN_BIN, Bridge, bridge_pair, run_xpmn, write_config, xmpp_section  # noqa: E402
from xpmntest.media import make_library  # noqa: E402
from xpmntest.nas import MiniDlna  # noqa: E402
from xpmntest.players import Mpv, PrivateBus, make_wav  # noqa: E402
from xpmntest.netns import NetNs, inside_namespace, run_in_new_namespace  # noqa: E402
from xpmntest.prosody import Prosody  # noqa: E402


def step(text):
    print('\n--- ' + text, flush=True)


def quoted(args):
    return ' '.join("'%s'" % a if ' ' in a else a for a in args)


def show(config, *args, refused=False):
    """Runs xpmn and shows its output; `refused`: it must fail (its error is shown)."""
    print('$ xpmn ' + quoted(args), flush=True)
    r = run_xpmn(config, *args)
    sys.stdout.write(r.stdout)
    if (r.returncode != 0) != refused:
        sys.stdout.write(r.stderr)
        raise SystemExit('xpmn %s %s (exit %d)' % (quoted(args), 'succeeded' if refused else 'failed', r.returncode))
    if refused:
        sys.stdout.write(r.stderr)
    return r.stdout


def pair(bridge, config, bridge_jid):
    """`xpmn-bridge pair` on the bridge's side (PIN, URI, QR), then `xpmn pair` with that PIN."""
    print('$ xpmn-bridge --config %s pair' % bridge.config, flush=True)
    pin, out = bridge_pair(bridge.config)
    sys.stdout.write(out)
    print('(a phone app scans the QR code; the CLI is given the PIN)')
    show(config, 'pair', bridge_jid, '--pin', pin)


def watch_changes(config, nas):
    """`xpmn watch` on the NAS's folder view until one change, while a file arrives."""
    argv = [XPMN_BIN, '--config', config, 'watch', 'Demo NAS', nas.FOLDERS, '--count', '1']
    print('$ xpmn watch \'Demo NAS\' %s --count 1' % nas.FOLDERS, flush=True)
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True) as watch:
        first = watch.stdout.readline()  # "watching container …": subscribed
        sys.stdout.write(first)
        nas.add_file('Music/Neu/Neuer Song.mp3', title='Neuer Song', artist='Demo', album='Frisch')
        try:
            out, _ = watch.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            watch.kill()
            raise SystemExit('xpmn watch saw no change within 30 s')
        sys.stdout.write(out)
        if watch.returncode != 0:
            raise SystemExit('xpmn watch failed (exit %d)' % watch.returncode)


def download_and_play(config, work, library):
    """A track from the NAS through the bridge: `xpmn get` over the out-of-band
    stream (S5B + XTLS), checked against the NAS's own file, then played by a
    headless mpv through `xpmn url` (the loopback HTTP server of `xpmn serve`)."""
    import hashlib
    import xml.etree.ElementTree as ET
    meta = '{urn:xmpp:media:metadata:0}'
    print("$ xpmn search 'Demo NAS' class=audio --xml", flush=True)
    r = run_xpmn(config, 'search', 'Demo NAS', 'class=audio', '--xml')
    if r.returncode != 0:
        raise SystemExit('xpmn search failed: ' + r.stderr)
    item = next(ET.fromstring(r.stdout.strip().splitlines()[-1]).iter(meta + 'item'))
    uri, title = item.findtext(meta + 'uri'), item.findtext(meta + 'title')
    print('%s: %s' % (title, uri))
    target = os.path.join(work, 'download.bin')
    show(config, 'get', uri, '-o', target)
    original = [os.path.join(d, f) for d, _, files in os.walk(library) for f in files
                if open(os.path.join(d, f), 'rb').read() == open(target, 'rb').read()]
    digest = hashlib.sha256(open(target, 'rb').read()).hexdigest()
    print('SHA-256 %s — %s' % (digest, 'identical to the NAS file %s' % os.path.relpath(original[0], library)
                                if original else 'NOT identical to any NAS file'))
    if not original:
        raise SystemExit('the downloaded file differs from the NAS file')
    url = show(config, 'url', uri).strip()
    mpv = ['mpv', '--no-config', '--no-video', '--ao=null', '--really-quiet', '--end=1', url]
    print('$ ' + quoted(mpv), flush=True)
    played = subprocess.run(mpv, stdin=subprocess.DEVNULL, timeout=60)
    print('mpv played the first second and exited with %d' % played.returncode)
    if played.returncode != 0:
        raise SystemExit('mpv could not play the track through xpmn url')


def drive_player(config):
    """Opens a NAS track on mpv (the bridge hands mpv the NAS's own LAN URL), then
    pauses, seeks and sets the volume, showing the player's status as it goes."""
    import xml.etree.ElementTree as ET
    meta = '{urn:xmpp:media:metadata:0}'
    show(config, 'players')
    print("$ xpmn search 'Demo NAS' 'title=Long Tone' --xml", flush=True)
    r = run_xpmn(config, 'search', 'Demo NAS', 'title=Long Tone', '--xml')
    if r.returncode != 0:
        raise SystemExit('xpmn search failed: ' + r.stderr)
    uri = next(ET.fromstring(r.stdout.strip().splitlines()[-1]).iter(meta + 'item')).findtext(meta + 'uri')
    show(config, 'open', 'mpv', uri)
    show(config, 'status', 'mpv')
    show(config, 'control', 'mpv', 'pause')
    show(config, 'control', 'mpv', 'seek', '20')
    show(config, 'control', 'mpv', 'volume', '40')
    show(config, 'status', 'mpv')
    show(config, 'control', 'mpv', 'play')


def main():
    keep = '--keep' in sys.argv
    work = tempfile.mkdtemp(prefix='xpmn-demo-')
    try:
        step('generating a sample library and starting a NAS (minidlna) on lo')
        library = os.path.join(work, 'media')
        make_library(library)
        os.makedirs(os.path.join(library, 'Demo'), exist_ok=True)
        make_wav(os.path.join(library, 'Demo', 'Long Tone.wav'), seconds=60)
        nas = MiniDlna(os.path.join(work, 'nas'), library, netns=NetNs.current(), friendly_name='Demo NAS')
        started = []  # stopped in reverse order, whatever fails
        try:
            started.append(nas.start() or nas)
            step('starting a player: mpv (headless) with mpv-mpris on a private D-Bus bus')
            bus = PrivateBus(work).start()
            started.append(bus)
            mpv = Mpv(bus, work).start()
            started.append(mpv)
            print('mpv on the bus %s' % bus.address)
            step('starting Prosody on 127.0.0.1')
            with Prosody(os.path.join(work, 'prosody'), domain='home.test') as prosody:
                prosody.add_user('home', 'demo-password')
                print('XMPP server on 127.0.0.1:%d, account home@home.test' % prosody.c2s_port)
                step('starting xpmn-bridge')
                xmpp = xmpp_section(prosody, 'home', 'demo-password')
                # [security] require_e2e stays on (the default): the NAS answers only
                # over an end-to-end stream from a paired controller.
                with Bridge(work, xmpp, bridge={'log_level': 'info'}, transfer={'interfaces': ['lo']},
                            upnp={'interfaces': ['lo'], 'watch_poll_interval': 1},
                            mpris={'bus': bus.address}) as bridge:
                    bridge.wait_for_log("media server 'Demo NAS'", timeout=30)
                    bridge.wait_for_log('online as home@home.test/upnp-', timeout=30)
                    bridge.wait_for_log('online as home@home.test/bridge', timeout=30)
                    bridge.wait_for_log('online as home@home.test/mpris-mpv', timeout=30)
                    print('bridge online (log: %s)' % bridge.log_file)
                    config = write_config(os.path.join(work, 'xpmn.toml'), {
                        'xmpp': xmpp, 'bridge': {'state_dir': os.path.join(work, 'xpmn-state')},
                        'transfer': {'interfaces': ['lo']}})
                    step('the controller lists the devices of the media network')
                    show(config, 'devices')
                    step('an unpaired controller may not browse')
                    show(config, 'browse', 'Demo NAS', refused=True)
                    step('pairing: the bridge opens a pairing window and shows a PIN')
                    pair(bridge, config, 'home@home.test/bridge')
                    step('paired: from here on every request goes over an end-to-end encrypted stream '
                         '(XTLS over Jingle in-band bytestreams: the XMPP server relays only encrypted data)')
                    step('browses the NAS over the secure stream')
                    show(config, 'browse', 'Demo NAS')
                    show(config, 'browse', 'Demo NAS', '1')
                    step('and searches it over the secure stream')
                    show(config, 'search', 'Demo NAS', 'artist=test artist')
                    show(config, 'search', 'Demo NAS', 'class=video')
                    step('watches its folder view over the secure stream while a file is added to the NAS')
                    watch_changes(config, nas)
                    step('downloads a track through the bridge (out-of-band stream: SOCKS5 bytestream + XTLS, '
                         'with byte ranges) and plays it with mpv through xpmn url')
                    download_and_play(config, work, library)
                    step('drives a player: mpv is the device mpris-mpv; a NAS track opened on it '
                         'plays from the NAS directly')
                    drive_player(config)
                    if keep:
                        input('\nrunning; config in %s. Press Enter to stop. ' % config)
        finally:
            for server in reversed(started):
                try:
                    server.stop()
                except Exception as e:  # the others still get stopped
                    print('stopping %s failed: %s' % (type(server).__name__, e))
        step('stopped')
        print('demo finished')
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    if not inside_namespace():
        sys.exit(run_in_new_namespace([sys.executable] + sys.argv, cwd=ROOT))
    main()
