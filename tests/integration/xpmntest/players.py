"""Real MPRIS media players on a private D-Bus bus, for the MPRIS adapter's tests.

    with PrivateBus(tmpdir) as bus:                    # dbus-daemon, root and `nobody` may connect
        with Mpv(bus, tmpdir) as mpv, Vlc(bus, tmpdir) as vlc:
            playerctl(bus, 'mpv', 'status')            # → 'Playing'
    wav = make_wav(path, seconds=10)                   # sox-made (sox OGG has wrong durations)

- PrivateBus: `dbus-daemon --nofork --print-address` with its own config (a
  session-like bus on unix:path=DIR/bus whose policy lets every user connect
  and own names, so VLC, which refuses to run as root, can join as `nobody`).
- Mpv: `mpv --no-config --idle=yes --no-video --ao=null --load-scripts=no
  --script=MPRIS_SO` (mpv-mpris), bus name org.mpris.MediaPlayer2.mpv.
- Vlc: `vlc -I dummy --no-video --aout=afile --audiofile-file=/dev/null
  --control=dbus` as `nobody` through setpriv; org.mpris.MediaPlayer2.vlc
  (and …vlc.instance<pid>).
- SilentPlayer: owns org.mpris.MediaPlayer2.silent and never reads its
  socket: every call to it goes unanswered.
- NonsensePlayer: answers GetAll with PlaybackStatus as an int32 and
  Metadata as a string (python3-dbus + GLib).
Every process is a child in its own session with --pdeathsig KILL; start()
waits for the bus name (gdbus wait) and, for real players, until they answer a
property read, bounded.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

from xpmntest import reaper

MPRIS_SO_CANDIDATES = ['/usr/lib/mpv-mpris/mpris.so', '/etc/mpv/scripts/mpris.so',
                       '/usr/lib/x86_64-linux-gnu/mpv/scripts/mpris.so']
UNPRIVILEGED = 'nobody'
START_TIMEOUT = 15

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""


class PlayerError(Exception):
    pass


def mpris_so():
    for p in MPRIS_SO_CANDIDATES:
        if os.path.exists(p):
            return p
    raise PlayerError('mpv-mpris is not installed (scripts/setup)')


def make_wav(path, seconds=10, frequency=440):
    """A stereo 44.1 kHz sine WAV made by sox."""
    subprocess.run(['sox', '-n', '-r', '44100', '-c', '2', '-b', '16', path, 'synth', str(seconds),
                    'sine', str(frequency)], check=True, timeout=30)
    return path


class PrivateBus(reaper.Server):
    def __init__(self, workdir):
        self.dir = tempfile.mkdtemp(prefix='bus-', dir=workdir)
        os.chmod(self.dir, 0o755)
        os.chmod(workdir, os.stat(workdir).st_mode | 0o055)  # `nobody` walks to the socket
        self.config = os.path.join(self.dir, 'bus.conf')
        with open(self.config, 'w') as f:
            f.write(BUS_CONFIG.format(path=os.path.join(self.dir, 'bus')))
        self.proc = None
        self.address = None

    def start(self):
        self.proc = subprocess.Popen(
            ['setpriv', '--pdeathsig', 'KILL', '--', 'dbus-daemon', '--config-file=' + self.config, '--nofork',
             '--print-address'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, start_new_session=True)
        reaper.track(self)
        self.address = self.proc.stdout.readline().decode().strip()
        if not self.address:
            self.kill()
            raise PlayerError('dbus-daemon printed no address')
        return self

    def env(self, **extra):
        e = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address)
        e.pop('DISPLAY', None)
        e.update(extra)
        return e

    def has_name(self, name):
        return name in self.names()

    def names(self):
        out = subprocess.run(['dbus-send', '--bus=' + self.address, '--print-reply', '--dest=org.freedesktop.DBus',
                              '/org/freedesktop/DBus', 'org.freedesktop.DBus.ListNames'],
                             capture_output=True, text=True, timeout=10)
        return [line.split('"')[1] for line in out.stdout.splitlines() if line.strip().startswith('string "')]

    def wait_for_name(self, name, timeout=START_TIMEOUT):
        r = subprocess.run(['gdbus', 'wait', '--session', '--timeout', str(timeout), name],
                           env=self.env(), capture_output=True, text=True, timeout=timeout + 5)
        if r.returncode != 0:
            raise PlayerError('%s did not appear on the bus: %s' % (name, r.stderr.strip()))

    def stop(self):
        reaper.terminate(self.proc)
        self._finish()
        shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self):
        reaper.kill(self.proc)


class _Player(reaper.Server):
    """A player process on `bus`, its console in WORKDIR/<name>.log."""
    bus_name = None
    name = None

    def __init__(self, bus, workdir):
        self.bus = bus
        self.workdir = workdir
        self.console_file = os.path.join(workdir, '%s.log' % self.name)
        self.proc = None

    def argv(self):
        raise NotImplementedError

    def environment(self):
        return self.bus.env()

    def started(self):
        """Called once the process runs (before waiting for bus_name)."""

    def start(self, stdin=subprocess.DEVNULL):
        self._console = open(self.console_file, 'ab')
        self.proc = subprocess.Popen(self.argv(), stdin=stdin, stdout=self._console,
                                     stderr=subprocess.STDOUT, start_new_session=True, env=self.environment(),
                                     cwd=self.workdir)
        reaper.track(self)
        self.started()
        try:
            self.bus.wait_for_name(self.bus_name)
            self.wait_ready()
        except PlayerError:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        """Until the player answers a property read (VLC owns its name before it answers)."""
        end = time.monotonic() + timeout
        while True:
            r = subprocess.run(['dbus-send', '--bus=' + self.bus.address, '--print-reply', '--reply-timeout=2000',
                                '--dest=' + self.bus_name, '/org/mpris/MediaPlayer2',
                                'org.freedesktop.DBus.Properties.Get', 'string:org.mpris.MediaPlayer2', 'string:Identity'],
                               capture_output=True, text=True, timeout=10)
            if r.returncode == 0:
                return
            if time.monotonic() > end:
                raise PlayerError('%s does not answer: %s' % (self.bus_name, r.stderr.strip()))
            time.sleep(0.1)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        reaper.terminate(self.proc)
        self._finish()

    def kill(self):
        reaper.kill(self.proc)


class Mpv(_Player):
    bus_name = 'org.mpris.MediaPlayer2.mpv'
    name = 'mpv'

    def argv(self):
        # --hr-seek=yes: mpv's relative seeks (MPRIS Seek) otherwise land on a
        # demuxer seek point, up to a second off in a WAV file.
        return ['setpriv', '--pdeathsig', 'KILL', '--', 'mpv', '--no-config', '--idle=yes', '--no-video',
                '--ao=null', '--no-terminal', '--hr-seek=yes', '--load-scripts=no', '--script=' + mpris_so()] + (
                    ['--log-file=' + os.environ['XPMN_MPV_LOG']] if os.environ.get('XPMN_MPV_LOG') else [])


class SecondMpv(Mpv):
    """An mpv started while another owns org.mpris.MediaPlayer2.mpv: mpv-mpris then takes
    org.mpris.MediaPlayer2.mpv.instance<pid> (setpriv execs mpv: the pid is mpv's)."""
    name = 'mpv2'

    def started(self):
        self.bus_name = 'org.mpris.MediaPlayer2.mpv.instance%d' % self.proc.pid


class Vlc(_Player):
    """VLC refuses to run as root: it runs as `nobody`, with its own HOME."""
    bus_name = 'org.mpris.MediaPlayer2.vlc'
    name = 'vlc'

    def __init__(self, bus, workdir):
        super().__init__(bus, workdir)
        self.home = tempfile.mkdtemp(prefix='vlc-home-', dir=workdir)
        shutil.chown(self.home, UNPRIVILEGED)

    def environment(self):
        return self.bus.env(HOME=self.home, XDG_RUNTIME_DIR=self.home, XDG_CONFIG_HOME=self.home,
                            XDG_CACHE_HOME=self.home, XDG_DATA_HOME=self.home)

    def argv(self):
        return ['setpriv', '--reuid=' + UNPRIVILEGED, '--regid=nogroup', '--clear-groups', '--pdeathsig', 'KILL',
                '--', 'vlc', '-I', 'dummy', '--no-video', '--aout=afile', '--audiofile-file=/dev/null',
                '--control=dbus', '--no-qt-privacy-ask', '--no-metadata-network-access']


_SILENT = textwrap.dedent('''
    import dbus, os, sys
    bus = dbus.bus.BusConnection(sys.argv[1])
    bus.request_name(sys.argv[2])
    os.write(1, b"ready\\n")
    sys.stdin.read()  # never dispatches: calls to the name go unanswered
''')

_NONSENSE = textwrap.dedent('''
    import dbus, dbus.service, sys
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib
    DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(sys.argv[1])
    name = dbus.service.BusName(sys.argv[2], bus)

    class Nonsense(dbus.service.Object):
        @dbus.service.method('org.freedesktop.DBus.Properties', in_signature='s', out_signature='a{sv}')
        def GetAll(self, interface):
            if interface == 'org.mpris.MediaPlayer2':
                return {'Identity': dbus.Int32(5)}
            return {'PlaybackStatus': dbus.Int32(3), 'Metadata': dbus.String('nonsense'),
                    'Volume': dbus.String('loud'), 'CanSeek': dbus.String('yes')}

        @dbus.service.method('org.mpris.MediaPlayer2.Player', in_signature='', out_signature='s')
        def Play(self):
            return 'unexpected reply value'

    Nonsense(bus, '/org/mpris/MediaPlayer2')
    GLib.MainLoop().run()
''')


class _ScriptPlayer(_Player):
    script = None

    def argv(self):
        return ['setpriv', '--pdeathsig', 'KILL', '--', sys.executable, '-c', self.script, self.bus.address,
                self.bus_name]

    def start(self):
        return super().start(stdin=subprocess.PIPE)  # the silent one waits for its stdin to close

    def wait_ready(self, timeout=START_TIMEOUT):
        pass  # the silent one never answers; the nonsense one answers once it owns its name

    def stop(self):
        if self.proc and self.proc.stdin:
            self.proc.stdin.close()
        super().stop()


class SilentPlayer(_ScriptPlayer):
    bus_name = 'org.mpris.MediaPlayer2.silent'
    name = 'silent'
    script = _SILENT


class NonsensePlayer(_ScriptPlayer):
    bus_name = 'org.mpris.MediaPlayer2.nonsense'
    name = 'nonsense'
    script = _NONSENSE


def playerctl(bus, player, *args, timeout=10):
    """`playerctl --player=PLAYER ARGS…` on the private bus; its stdout, stripped ('' on failure)."""
    r = subprocess.run(['playerctl', '--player=' + player] + list(args), env=bus.env(), capture_output=True,
                       text=True, timeout=timeout)
    return r.stdout.strip() if r.returncode == 0 else ''


def mpris_position(bus, bus_name):
    """The player's Position property in seconds, read with dbus-send (playerctl says 0 while a
    player reports Stopped; mpv-mpris 0.7 reports Stopped after OpenUri from idle until the first
    pause / play, though it plays); None when unreadable."""
    r = subprocess.run(['dbus-send', '--bus=' + bus.address, '--print-reply', '--dest=' + bus_name,
                        '/org/mpris/MediaPlayer2', 'org.freedesktop.DBus.Properties.Get',
                        'string:org.mpris.MediaPlayer2.Player', 'string:Position'],
                       capture_output=True, text=True, timeout=10)
    for word in r.stdout.split():
        if word.lstrip('-').isdigit():
            return int(word) / 1e6
    return None
