"""Real UPnP/DLNA media servers (Debian's minidlna 1.3 and gerbera 1.1) serving a
library dir, each self-contained in a work dir, for tests of the UPnP side.

    ns = NetNs()
    library = os.path.join(tmp, 'lib')
    manifest = media.make_library(library, n_extra=1200)
    mdl = MiniDlna(os.path.join(tmp, 'minidlna'), library, netns=ns, port=8200)
    gb = Gerbera(os.path.join(tmp, 'gerbera'), library, netns=ns)
    mdl.start(); gb.start()                # bounded: description answers, scan complete
    cd = mdl.content_directory()           # upnp_direct.ContentDirectory (through the namespace)
    mdl.add_file('Music/Neu/neu.mp3', title='Neu')    # atomic rename into the library
    mdl.stop(); mdl.restart(); mdl.kill()

Both run in the foreground as children in their own session, under `setpriv
--pdeathsig KILL` (start them from the main thread), with an atexit hook that
kills what a test left; inside a NetNs they are started with `ip netns exec`.
Config, database, cache and logs live under the work dir; the friendly name
and the UUID are fixed per instance (constructor arguments).

minidlna (`minidlnad -S`, log in workdir/minidlna.log):
- bound to `lo` (network_interface=lo), HTTP on `port` (default: free one),
  description http://127.0.0.1:PORT/rootDesc.xml, UDN uuid:<uuid> (uuid=).
- scan: the first start (-R, new database) scans in ~1 s for 1 200 files and
  logs "Scanning DIR finished (N files)!"; start() waits until the folder view
  (object 64, "Browse Folders") holds every media file of the library, and,
  with inotify, until every directory has its watch ("Added watch to DIR").
- changes: inotify=yes; a file renamed or written into the library (or deleted)
  bumps SystemUpdateID (GetSystemUpdateID and Browse's UpdateID, 0 after a fresh
  scan) and shows up in the views: the first change after a quiet spell within
  ~0.1 s, the following ones ~1.5-2 s apart (minidlna's inotify thread batches).
- GENA: SUBSCRIBE is accepted (SID, TIMEOUT) and minidlna even opens the TCP
  connection to the callback, but 1.3.0 never sends a NOTIFY on it (not the
  initial event, not after changes): a watcher must poll SystemUpdateID.
- minidlna's own views: "Music" (Album/Artist/Genre/All Music/Folders/...),
  "Video", "Pictures", "Browse Folders"; item titles are the title tag, or the
  file name without extension for untagged files. Search is supported.

gerbera (`gerbera -c config.xml -l gerbera.log`):
- libupnp 1.8 refuses loopback interfaces (UPNP_E_INVALID_INTERFACE -121, both
  for <interface>lo</interface> and <ip>127.0.0.1</ip>), so gerbera needs a
  NetNs: it runs on the namespace's upnp interface (NetNs.add_upnp_interface:
  a port-less bridge `upnp0` with 127.0.0.2/32, IPv6 off), still loopback-range
  and local-only; on the host it would have to use a real LAN interface, so
  Gerbera(netns=None) raises NasError. SSDP between lo and upnp0 works both
  ways inside the namespace (see NetNs.add_upnp_interface).
- port >= 49152 (the SDK's rule; libupnp takes the next free one if that one is
  busy: the real port is read from "Initialized port: N" in the log);
  description http://127.0.0.2:PORT/description.xml, UDN from <udn>.
- scan: an <autoscan> directory in inotify mode (recursive) is scanned at every
  start (no --add needed); 3-5 s for 1 200 files with <storage caching="yes">
  and sqlite synchronous=off. Gerbera logs nothing when it is done, so start()
  waits until Audio/All Audio + Video/All Video + Photos/All Photos (the
  builtin layout) hold every media file and the sum stayed the same for 1 s.
- changes: inotify picks a new (or deleted) file up within ~0.1 s (it appears
  in "PC Directory" and the virtual views), but gerbera 1.1.0 never increments
  SystemUpdateID (always 0) and sends no GENA event after the initial one
  (SystemUpdateID 0, ContainerUpdateIDs "0,<root update id>"): a watcher must
  re-browse. GetSearchCapabilities and GetSortCapabilities are empty; Search
  fails with UPnP error 501 (Action Failed).
- views: "Audio" (Albums/All Audio/All - full name/Artists/Genres/Year...),
  "Video", "Photos", "PC Directory" (the file system from / down); titles are
  tag titles in the virtual views and file names *with* extension in "PC
  Directory" and for untagged files. Every track appears in ~8 containers, and
  rendering costs ~2 ms per object: a complete walk of the 1 200-file library
  takes ~45 s, hence ContentDirectory.walk(max_children=...).
- the autoscan also watches the parents of the library dir (non-recursively):
  harmless inotify noise from other files in /tmp.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from xml.sax.saxutils import escape, quoteattr

from . import media, ports
from . import reaper
from .logs import read_text, wait_for_text
from .upnp_direct import ContentDirectory, UpnpError, answers

MINIDLNAD = shutil.which('minidlnad') or '/usr/sbin/minidlnad'
GERBERA = shutil.which('gerbera') or '/usr/bin/gerbera'

MEDIA_EXTENSIONS = {'.mp3': 'audio', '.flac': 'audio', '.ogg': 'audio', '.oga': 'audio', '.m4a': 'audio',
                    '.wav': 'audio', '.mp4': 'video', '.mkv': 'video', '.avi': 'video', '.jpg': 'image',
                    '.jpeg': 'image', '.png': 'image'}



class NasError(AssertionError):
    pass


def library_counts(library):
    """{'audio': n, 'video': n, 'image': n, 'dirs': [every directory, root first]}."""
    counts = {'audio': 0, 'video': 0, 'image': 0, 'dirs': []}
    for dirpath, dirnames, filenames in os.walk(library):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
        counts['dirs'].append(dirpath)
        for f in filenames:
            kind = MEDIA_EXTENSIONS.get(os.path.splitext(f)[1].lower())
            if kind and not f.startswith('.'):
                counts[kind] += 1
    return counts


def _port_free(port, netns=None, host='127.0.0.1'):
    s = netns.socket() if netns else socket.socket()
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _pick_port(netns, low, high, host='127.0.0.1'):
    for _ in range(200):
        port = random.randint(low, high)
        if _port_free(port, netns, host):
            return port
    raise NasError('no free port in %d-%d' % (low, high))


class _MediaServer(reaper.Server):
    """What MiniDlna and Gerbera share: process control, waits, helpers."""
    kind = 'server'
    log_name = 'server.log'

    def __init__(self, workdir, library, netns=None, port=None, friendly_name=None, uuid=None,
                 start_timeout=60.0, die_with_parent=True):
        self.workdir = os.path.abspath(workdir)
        self.library = os.path.realpath(library)
        if not os.path.isdir(self.library):
            raise NasError('library %s is not a directory' % self.library)
        self.netns = netns
        self.port = port
        self._friendly_name = friendly_name
        self.uuid = uuid
        self.start_timeout = start_timeout
        self.die_with_parent = die_with_parent
        self.log_file = os.path.join(self.workdir, self.log_name)
        self.console_file = os.path.join(self.workdir, 'console.log')
        self.proc = None
        self._console = None
        self._cd = None
        self._log_mark = 0
        self.starts = 0
        self.last_scan_seconds = None
        os.makedirs(self.workdir, exist_ok=True)

    # -- facts for tests -------------------------------------------------------
    @property
    def friendly_name(self):
        return self._friendly_name

    @property
    def udn(self):
        return 'uuid:' + self.uuid

    @property
    def host(self):
        return '127.0.0.1'

    @property
    def description_url(self):
        raise NotImplementedError

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def content_directory(self, fresh=False):
        """A upnp_direct.ContentDirectory for this server (through its namespace)."""
        if self._cd is None or fresh:
            self._cd = ContentDirectory(self.description_url, ns=self.netns)
        return self._cd

    def answers(self, timeout=2.0):
        """True when the device description URL answers HTTP 200."""
        return answers(self.description_url, self.netns, timeout)

    # -- process control -------------------------------------------------------
    def _command(self, rescan):
        raise NotImplementedError

    def _popen(self, argv):
        self._console = open(self.console_file, 'ab')
        kw = dict(stdin=subprocess.DEVNULL, stdout=self._console, stderr=subprocess.STDOUT,
                  cwd=self.workdir, start_new_session=True)
        if self.netns is not None:
            return self.netns.popen(argv, die_with_parent=self.die_with_parent, **kw)
        setpriv = shutil.which('setpriv')
        if self.die_with_parent and setpriv:
            argv = [setpriv, '--pdeathsig', 'KILL', '--'] + list(argv)
        return subprocess.Popen(argv, **kw)

    def start(self, expected=None, rescan=None):
        """Starts the server and waits (bounded by start_timeout) until its description
        answers and every media file of the library (or `expected` items) is visible."""
        if self.running:
            raise NasError('%s is already running (pid %d)' % (self.kind, self.proc.pid))
        if rescan is None:
            rescan = self.starts == 0
        argv = self._command(rescan)
        if os.path.exists(self.log_file):  # one log per run: X.log is the current one, X.log.1 the first
            n = 1
            while os.path.exists('%s.%d' % (self.log_file, n)):
                n += 1
            os.rename(self.log_file, '%s.%d' % (self.log_file, n))
        self._log_mark = 0
        t0 = time.monotonic()
        self.proc = self._popen(argv)
        self.starts += 1
        self._cd = None
        reaper.track(self)
        try:
            deadline = t0 + self.start_timeout
            self._wait_started(deadline)
            self._wait_ready(expected, deadline)
        except BaseException:
            self.kill()
            raise
        self.last_scan_seconds = time.monotonic() - t0
        return self

    def _wait(self, cond, deadline, what, interval=0.1):
        while True:
            if self.proc.poll() is not None:
                raise NasError('%s exited with status %s while waiting for %s\n%s' % (
                    self.kind, self.proc.returncode, what, self.diagnostics()))
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise NasError('%s: timed out waiting for %s\n%s' % (self.kind, what, self.diagnostics()))
            time.sleep(interval)

    def _wait_started(self, deadline):
        self._wait(lambda: self.answers(1.0), deadline, 'the description %s to answer' % self.description_url)

    def _wait_ready(self, expected, deadline):
        raise NotImplementedError

    def _signal(self, sig):
        """Signals the server's process group (it and any helper it forked) while
        the server is not reaped yet: its pid, the group's id, cannot be recycled."""
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _exited(self, timeout):
        """Waits until the server has exited, without reaping it (WNOWAIT)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return True  # reaped already
            if info is not None:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    def _end(self, first_signal, timeout):
        if self.proc is None or self.proc.returncode is not None:
            return
        self._signal(first_signal)
        if not self._exited(timeout):
            self._signal(signal.SIGKILL)
            self._exited(10)
        self._signal(signal.SIGKILL)  # helpers still in its group (the zombie leader pins the id)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def stop(self, timeout=10.0):
        """SIGTERM (the server says ssdp:byebye) and wait; SIGKILL after `timeout`."""
        if self.proc is None:
            return
        self._end(signal.SIGTERM, timeout)
        self._finish()

    def kill(self):
        """SIGKILL: the NAS loses power (no byebye)."""
        if self.proc is None:
            return
        self._end(signal.SIGKILL, 10)
        self._finish()

    def restart(self, rescan=False, expected=None, timeout=10.0):
        """Graceful stop, then start with the same config, port, UUID and database."""
        self.stop(timeout)
        return self.start(expected, rescan)

    def rescan(self, expected=None):
        """A full rescan of the library (a restart that rescans), bounded like start()."""
        return self.restart(rescan=True, expected=expected)

    # -- library changes -----------------------------------------------------------
    def add_file(self, relpath, seconds=1, frequency=550, **tags):
        """Generates an audio file (format from the extension) and renames it into
        the library at `relpath` (one IN_MOVED_TO: the server never sees a half
        written file). Returns its absolute path."""
        dest = os.path.join(self.library, relpath)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmpdir = os.path.join(self.workdir, 'incoming')
        os.makedirs(tmpdir, exist_ok=True)
        tmp = os.path.join(tmpdir, 'new' + os.path.splitext(relpath)[1])
        media.make_audio(tmp, seconds, frequency, **tags)
        try:
            os.rename(tmp, dest)
        except OSError:  # another file system
            shutil.copyfile(tmp, dest + '.part')
            os.rename(dest + '.part', dest)
            os.remove(tmp)
        return dest

    def folder_path(self, relpath):
        """Container titles from the root of the server's folder view to `relpath`'s dir."""
        raise NotImplementedError

    def item_title(self, relpath, title=None):
        raise NotImplementedError

    def find_item(self, relpath, title=None):
        """The entry of the item for library file `relpath` in the folder view, or None."""
        cd = self.content_directory()
        titles = self.folder_path(relpath)
        cid = cd.find_container(titles[1:], titles[0]) if titles else '0'
        if cid is None:
            return None
        want = self.item_title(relpath, title)
        for e in cd.browse_all(cid):
            if e['kind'] == 'item' and e['title'] == want:
                return e
        return None

    def wait_item(self, relpath, title=None, timeout=20.0):
        """Waits (bounded) until the file shows up in the folder view; returns its entry."""
        deadline = time.monotonic() + timeout
        return self._wait(lambda: self.find_item(relpath, title), deadline,
                          '%s to show up' % relpath, interval=0.2)

    # -- diagnostics ---------------------------------------------------------------
    def log_text(self):
        return read_text(self.log_file)

    def console_text(self):
        return read_text(self.console_file)

    def diagnostics(self, lines=40):
        log = self.log_text().splitlines()[-lines:]
        return '--- %s console (%s) ---\n%s\n--- last %d lines of %s ---\n%s' % (
            self.kind, self.console_file, self.console_text()[-3000:], len(log), self.log_file, '\n'.join(log))

    def wait_for_log(self, text, timeout=10.0, start=None):
        return wait_for_text(self.log_text, text, timeout, self._log_mark if start is None else start,
                             describe=self.diagnostics)


class MiniDlna(_MediaServer):
    kind = 'minidlna'
    log_name = 'minidlna.log'
    FOLDERS = '64'  # "Browse Folders": the media dir's own tree

    def __init__(self, workdir, library, netns=None, port=None, friendly_name='xpmn minidlna',
                 uuid='4d696e69-444c-4e41-0000-000000000001', inotify=True, notify_interval=60, **kw):
        super().__init__(workdir, library, netns, port, friendly_name, uuid, **kw)
        self.inotify = inotify
        self.notify_interval = notify_interval
        if self.port is None:
            self.port = _pick_port(netns, 20000, 30000) if netns else ports.free_port()
        self.config_file = os.path.join(self.workdir, 'minidlna.conf')
        self.db_dir = os.path.join(self.workdir, 'db')
        self.pid_file = os.path.join(self.workdir, 'minidlna.pid')

    @property
    def description_url(self):
        return 'http://127.0.0.1:%d/rootDesc.xml' % self.port

    def write_config(self):
        os.makedirs(self.db_dir, exist_ok=True)
        lines = [
            '# Generated by xpmntest.nas for one test run.',
            'port=%d' % self.port,
            'network_interface=lo',
            'media_dir=%s' % self.library,
            'db_dir=%s' % self.db_dir,
            'log_dir=%s' % self.workdir,
            'log_level=general,artwork,database,inotify,scanner,metadata,http,ssdp,tivo=info',
            'friendly_name=%s' % self._friendly_name,
            'uuid=%s' % self.uuid,
            'serial=%s' % self.uuid.replace('-', '')[-12:],
            'model_number=1.3.0',
            'inotify=%s' % ('yes' if self.inotify else 'no'),
            'notify_interval=%d' % self.notify_interval,
            'enable_tivo=no',
            'strict_dlna=no',
            'wide_links=no',
            'album_art_names=Cover.jpg/cover.jpg/Folder.jpg/folder.jpg',
            '',
        ]
        with open(self.config_file, 'w') as f:
            f.write('\n'.join(lines))
        return self.config_file

    def _command(self, rescan):
        self.write_config()
        argv = [MINIDLNAD, '-f', self.config_file, '-S', '-P', self.pid_file]
        if rescan:
            argv.append('-R')  # rebuild the database from scratch
        return argv

    def count_items(self):
        """Items in the folder view (every media file once)."""
        cd = self.content_directory()
        return sum(1 for e in cd.walk(self.FOLDERS, page=500) if e['kind'] == 'item')

    def _wait_ready(self, expected, deadline):
        counts = library_counts(self.library)
        if expected is None:
            expected = counts['audio'] + counts['video'] + counts['image']

        def scanned():
            try:
                return self.count_items() >= expected
            except (OSError, UpnpError):
                return False
        self._wait(scanned, deadline, '%d items in the folder view' % expected, interval=0.2)
        if self.inotify:
            def watched():
                text = self.log_text()[self._log_mark:]
                return all(('Added watch to %s [' % d) in text for d in counts['dirs'])
            self._wait(watched, deadline, 'inotify watches on all %d dirs' % len(counts['dirs']))

    def folder_path(self, relpath):
        return [self.FOLDERS] + os.path.dirname(relpath).split('/') if os.path.dirname(relpath) else [self.FOLDERS]

    def item_title(self, relpath, title=None):
        return title if title is not None else os.path.splitext(os.path.basename(relpath))[0]


class Gerbera(_MediaServer):
    kind = 'gerbera'
    log_name = 'gerbera.log'

    def __init__(self, workdir, library, netns=None, port=None, friendly_name='xpmn gerbera',
                 uuid='67657262-6572-6100-0000-000000000001', interface='upnp0', address='127.0.0.2', **kw):
        if netns is None:
            raise NasError('gerbera needs a NetNs: libupnp 1.8 refuses loopback interfaces, and any '
                           'other host interface would put it on the real LAN')
        super().__init__(workdir, library, netns, port, friendly_name, uuid, **kw)
        self.interface = interface
        self.address = netns.add_upnp_interface(interface, address)
        if self.port is None:
            self.port = _pick_port(netns, 49152, 60000, self.address)
        self.configured_port = self.port
        self.config_file = os.path.join(self.workdir, 'config.xml')
        self.home = os.path.join(self.workdir, 'home')

    @property
    def host(self):
        return self.address

    @property
    def description_url(self):
        return 'http://%s:%d/description.xml' % (self.address, self.port)

    def write_config(self):
        os.makedirs(self.home, exist_ok=True)
        e = escape
        maps = ''.join('        <map from="%s" to="%s"/>\n' % (ext.lstrip('.'), mime) for ext, mime in (
            ('.mp3', 'audio/mpeg'), ('.flac', 'audio/flac'), ('.ogg', 'audio/ogg'), ('.oga', 'audio/ogg'),
            ('.m4a', 'audio/mp4'), ('.wav', 'audio/x-wav'), ('.mp4', 'video/mp4'), ('.mkv', 'video/x-matroska'),
            ('.avi', 'video/x-msvideo'), ('.jpg', 'image/jpeg'), ('.jpeg', 'image/jpeg'), ('.png', 'image/png')))
        text = '''<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by xpmntest.nas for one test run. -->
<config version="2" xmlns="http://mediatomb.cc/config/2">
  <server>
    <ui enabled="no"/>
    <name>%(name)s</name>
    <udn>%(udn)s</udn>
    <home>%(home)s</home>
    <webroot>/usr/share/gerbera/web</webroot>
    <interface>%(iface)s</interface>
    <port>%(port)d</port>
    <alive>1800</alive>
    <storage caching="yes">
      <sqlite3 enabled="yes">
        <synchronous>off</synchronous>
        <database-file>gerbera.db</database-file>
      </sqlite3>
    </storage>
    <extended-runtime-options>
      <ffmpegthumbnailer enabled="no"/>
      <mark-played-items enabled="no"/>
    </extended-runtime-options>
  </server>
  <import hidden-files="no">
    <scripting script-charset="UTF-8">
      <common-script>/usr/share/gerbera/js/common.js</common-script>
      <playlist-script>/usr/share/gerbera/js/playlists.js</playlist-script>
      <virtual-layout type="builtin"/>
    </scripting>
    <autoscan use-inotify="yes">
      <directory location=%(lib)s mode="inotify" recursive="yes" hidden-files="no"/>
    </autoscan>
    <mappings>
      <extension-mimetype ignore-unknown="yes">
%(maps)s      </extension-mimetype>
      <mimetype-upnpclass>
        <map from="audio/*" to="object.item.audioItem.musicTrack"/>
        <map from="video/*" to="object.item.videoItem"/>
        <map from="image/*" to="object.item.imageItem"/>
      </mimetype-upnpclass>
      <mimetype-contenttype>
        <treat mimetype="audio/mpeg" as="mp3"/>
        <treat mimetype="audio/ogg" as="ogg"/>
        <treat mimetype="audio/flac" as="flac"/>
        <treat mimetype="audio/mp4" as="mp4"/>
        <treat mimetype="audio/x-wav" as="pcm"/>
        <treat mimetype="video/mp4" as="mp4"/>
        <treat mimetype="video/x-matroska" as="mkv"/>
        <treat mimetype="video/x-msvideo" as="avi"/>
        <treat mimetype="image/jpeg" as="jpg"/>
      </mimetype-contenttype>
    </mappings>
    <online-content>
      <YouTube enabled="no"/>
    </online-content>
  </import>
  <transcoding enabled="no"/>
</config>
''' % {'name': e(self._friendly_name), 'udn': e(self.udn), 'home': e(self.home), 'iface': e(self.interface),
       'port': self.configured_port, 'lib': quoteattr(self.library), 'maps': maps}
        with open(self.config_file, 'w') as f:
            f.write(text)
        return self.config_file

    def _command(self, rescan):
        self.write_config()
        if rescan:  # a fresh database: the autoscan imports everything again
            for name in os.listdir(self.home):
                if name.startswith('gerbera.db'):
                    os.remove(os.path.join(self.home, name))
        return [GERBERA, '-c', self.config_file, '-l', self.log_file]

    def _wait_started(self, deadline):
        def port():
            text = self.log_text()[self._log_mark:]
            i = text.find('Initialized port: ')
            if i < 0:
                return None
            return int(text[i + len('Initialized port: '):].split()[0])
        self.port = self.configured_port
        self.port = self._wait(port, deadline, 'gerbera to log its port ("Initialized port: N")')
        super()._wait_started(deadline)

    def count_items(self):
        """Audio + Video + Photos, from the builtin layout's "All ..." views."""
        cd = self.content_directory()
        top = {e['title']: e['id'] for e in cd.browse_all('0') if e['kind'] == 'container'}
        total = 0
        for view, everything in (('Audio', 'All Audio'), ('Video', 'All Video'), ('Photos', 'All Photos')):
            if view in top:
                cid = cd.find_container([everything], top[view])
                if cid is not None:
                    total += cd.browse(cid, count=1)[2]
        return total

    def _wait_ready(self, expected, deadline):
        if expected is None:
            c = library_counts(self.library)
            expected = c['audio'] + c['video'] + c['image']
        history = []

        def settled():
            try:
                n = self.count_items()
            except (OSError, UpnpError):
                return False
            now = time.monotonic()
            if not history or history[-1][1] != n:
                history.append((now, n))  # (since when, count)
            # the same count for >= 1 s: the scan (and its re-imports) is over
            return n >= expected and now - history[-1][0] >= 1.0
        self._wait(settled, deadline, '%d items in Audio/Video/Photos' % expected, interval=0.25)

    def folder_path(self, relpath):
        parts = [p for p in os.path.join(self.library, os.path.dirname(relpath)).split('/') if p]
        return ['0', 'PC Directory'] + parts

    def item_title(self, relpath, title=None):
        return os.path.basename(relpath)  # PC Directory titles are file names
