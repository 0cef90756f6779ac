"""Real UPnP/DLNA media servers (Debian's minidlna 1.3, gerbera 1.1 and rygel 0.42)
serving a library dir, each self-contained in a work dir, for tests of the UPnP side.

    ns = NetNs()
    library = os.path.join(tmp, 'lib')
    manifest = media.make_library(library, n_extra=1200)
    mdl = MiniDlna(os.path.join(tmp, 'minidlna'), library, netns=ns, port=8200)
    gb = Gerbera(os.path.join(tmp, 'gerbera'), library, netns=ns)
    ry = Rygel(os.path.join(tmp, 'rygel'), library, netns=ns)   # slow scan: see below
    mdl.start(); gb.start()                # bounded: description answers, scan complete
    cd = mdl.content_directory()           # upnp_direct.ContentDirectory (through the namespace)
    mdl.add_file('Music/Neu/neu.mp3', title='Neu')    # atomic rename into the library
    mdl.stop(); mdl.restart(); mdl.kill()

All run in the foreground as children in their own session, under `setpriv
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

rygel (`rygel`, media-export plugin only; its stderr is workdir/rygel.log):
- standalone, without a user session: the environment is built from scratch
  (PATH, LANG=C.UTF-8, HOME and XDG_CONFIG_HOME/XDG_CACHE_HOME/XDG_DATA_HOME
  under workdir/home, XDG_RUNTIME_DIR=workdir/run, GSETTINGS_BACKEND=memory: no
  dconf, GIO_USE_VFS=local: no gvfs). With no DBUS_SESSION_BUS_ADDRESS, no
  $XDG_RUNTIME_DIR/bus and no DISPLAY there is no session bus, and rygel (a
  GApplication "org.gnome.Rygel") just runs as a non-unique application: no
  dbus-daemon is needed (only its own D-Bus interface and the MPRIS/External
  plugins would use one). A NetNs is required (Rygel(netns=None) raises
  NasError): on the host it would announce itself on every interface.
- config: `rygel -c FILE` is ignored by 0.42.1, it reads $XDG_CONFIG_HOME/
  rygel.conf on top of /etc/rygel.conf (which enables Tracker, Tracker3 and
  Playbin), so the generated one names every plugin and disables all but
  MediaExport (installed with Debian's rygel: media-export, mpris, external).
  [general] interface=lo (gupnp makes a context for lo: "New network
  127.0.0.0/8 (lo) context available"), ipv6=false, port=PORT (HTTP, default a
  free one in 20000-30000), enable-transcoding=false, no upload/deletion.
  [MediaExport] title=<friendly name>, uris=<library>, extract-metadata=true,
  monitor-changes=true, monitor-grace-timeout=0 (rygel's default is 5 s: it
  waits that long after a file event; add_file() renames atomically, so 0 is
  safe), virtual-folders=true. debug=True adds log-level *:5 and
  G_MESSAGES_DEBUG for rygel's own domains.
- UDN: rygel keeps the description it derives from its template
  (/usr/share/rygel/xml/MediaServer3.xml) in $XDG_CONFIG_HOME/Rygel/
  MediaExport.xml and reuses it (with the random UDN it made up) while that
  file is newer than the template; the class writes the template with
  <UDN>uuid:<uuid></UDN> there before every start, so the UDN is the one given.
- description http://127.0.0.1:PORT/<uuid>.xml: device MediaServer:3 (model
  "Rygel" 0.42.1) with ContentDirectory:3, ConnectionManager:2 and
  X_MS_MediaReceiverRegistrar:1; it answers an M-SEARCH for MediaServer:1 with
  ST MediaServer:1 (SERVER "Linux/... UPnP/1.0 GUPnP/1.6.3"). It answers ~0.3 s
  after the start, while the scan goes on. rygel coexists with minidlna on lo
  in one namespace (both answer the same M-SEARCH).
- scan: the media-export database ($XDG_CACHE_HOME/rygel/media-export.db; the
  GStreamer registry is built under $XDG_CACHE_HOME too) is brought up to date
  at every start. Metadata is extracted by one helper process (/usr/libexec/
  rygel/mx-extract, GstDiscoverer) at ~55 ms per file, mostly waiting: ~9 s for
  the library with n_extra=150 (159 files), ~66 s with n_extra=1200 (1 209), so
  tests give rygel a small library of its own. With the database kept
  (restart()) nothing is extracted again: ready in ~0.15 s; rescan=True
  deletes the database. Items appear one by one during the scan; rygel logs
  "Harvesting of file:///LIBRARY done in N" at the end: start() waits for that
  line and for Search to count every media file (harvest_seconds = N).
- changes: a file renamed into the library shows up (Browse, Search) and is
  evented ~0.4 s later, a deleted one ~0.2 s later.
- GENA: works, unlike minidlna and gerbera. SUBSCRIBE gets the initial event
  (SEQ 0) with SystemUpdateID, ContainerUpdateIDs (the containers of rygel's
  last batch of changes, e.g. the end of the scan), LastChange (a CDS:3
  <StateEvent>) and TransferIDs. After a change (moderated 0.2 s) three
  NOTIFYs follow within a few ms: ContainerUpdateIDs "<folder>,N,virtual-parent:
  object.item.audioItem.musicTrack,N,virtual-parent:object.item.imageItem.photo,
  N,virtual-parent:object.item.videoItem,N,virtual-parent:object.item.
  playlistItem,N,0,N" (the file's own folder in "Files & Folders", the four
  view roots and the root, not the Album/Artist/... containers), then
  SystemUpdateID (the highest of those N), then LastChange with <objAdd
  objID=.. objParentID=.. objClass=..> (<objDel> for a deleted file) and
  <objMod> for the folder and the root. SystemUpdateID grows with every object
  changed (about 2 per file during a scan: 355 after 159 files), survives
  restarts (it is in the database) and is what GetSystemUpdateID and Browse's
  UpdateID return.
- views: "Files & Folders" (id "Filesystem") > <library dir name> > the tree,
  "Music" (Album/All/Artist/Genre/Year), "Pictures" (All/Year), "Videos"
  (All/Year), "Playlists". Real objects have the MD5 of their URI as id; the
  views hold "virtual-container:..." containers and "virtual-id:<container>:
  <md5>" items. Browse with RequestedCount 0 returns everything.
- titles: the title tag for MP3/FLAC/MP4 (the container's global tags); an Ogg
  file's title tag is ignored (Vorbis comments are stream tags) although its
  artist/album/genre/track are read; untagged and Ogg files are titled after
  the cleaned-up file name (rygel_file_title(): 'many-0001.mp3' -> 'many-0001',
  '01 - Ogg Eins.ogg' -> '01 - Eins'). dc:date is the date tag ('2021-01-01'),
  else the file's mtime; durations are whole seconds ('0:00:02.000'); MIME types
  audio/mpeg, audio/flac, audio/x-vorbis+ogg, video/mp4, image/jpeg.
- resources: an http-get res (http://127.0.0.1:PORT/MediaExport/i/<base64 of
  the id>/res/primary_http.<ext>) and, for a client on rygel's own host (as
  every test client is), a second res "internal:*:<mime>:..." with the file://
  URI of the file.
- Search works: SearchCaps "@id,@parentID,@refID,upnp:class,dc:title,
  upnp:artist,upnp:album,dc:creator,upnp:createClass,@childCount,
  upnp:objectUpdateID,upnp:containerUpdateID"; it counts real objects only
  (count_items() searches 'upnp:class derivedfrom "object.item"' below 0).
- stop(): SIGTERM, ssdp:byebye for every USN, exit status 0 within ~0.05 s.
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from xml.sax.saxutils import escape, quoteattr

from . import media, ports
from . import reaper
from .logs import read_text, wait_for_text
from .upnp_direct import ContentDirectory, UpnpError, answers

MINIDLNAD = shutil.which('minidlnad') or '/usr/sbin/minidlnad'
GERBERA = shutil.which('gerbera') or '/usr/bin/gerbera'
RYGEL = shutil.which('rygel') or '/usr/bin/rygel'
RYGEL_DEVICE_TEMPLATE = '/usr/share/rygel/xml/MediaServer3.xml'

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
    """What MiniDlna, Gerbera and Rygel share: process control, waits, helpers."""
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

    def _environment(self):
        """The server's environment (None: the test's own)."""
        return None

    def _popen(self, argv):
        self._console = open(self.console_file, 'ab')
        kw = dict(stdin=subprocess.DEVNULL, stdout=self._console, stderr=subprocess.STDOUT,
                  cwd=self.workdir, start_new_session=True, env=self._environment())
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
                 uuid='4d696e69-444c-4e41-0000-000000000001', inotify=True, notify_interval=60,
                 interface=('lo', '127.0.0.1'), **kw):
        """interface: (name, its address) minidlna serves on; another than lo is one
        NetNs.add_upnp_interface() made."""
        super().__init__(workdir, library, netns, port, friendly_name, uuid, **kw)
        self.interface, self._host = interface
        self.inotify = inotify
        self.notify_interval = notify_interval
        if self.port is None:
            self.port = _pick_port(netns, 20000, 30000, self._host) if netns else ports.free_port()
        self.config_file = os.path.join(self.workdir, 'minidlna.conf')
        self.db_dir = os.path.join(self.workdir, 'db')
        self.pid_file = os.path.join(self.workdir, 'minidlna.pid')

    @property
    def host(self):
        return self._host

    @property
    def description_url(self):
        return 'http://%s:%d/rootDesc.xml' % (self._host, self.port)

    def write_config(self):
        os.makedirs(self.db_dir, exist_ok=True)
        lines = [
            '# Generated by xpmntest.nas for one test run.',
            'port=%d' % self.port,
            'network_interface=%s' % self.interface,
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


# How rygel's media-export (0.42, Rygel.MediaExport.Extractor.strip_invalid_entities)
# turns a file name into the title of an item whose tags carry none.
_RYGEL_TITLE_BLACKLIST = ('720p', '1080p', 'x264', 'ws', 'proper', 'real.repack', 'repack', 'hdtv', 'pdtv',
                          'notv', 'dsr', 'DVDRip', 'divx', 'xvid')
_RYGEL_TITLE_SUFFIXES = ('webm', 'mkv', 'flv', 'ogv', 'ogg', 'avi', 'mov', 'wmv', 'mp4', 'm4v', 'mpeg', 'mpg',
                         'iso', 'mp3', 'm4a', 'png', 'jpg', 'jpeg', 'oga', '3gp', 'xml')


def rygel_file_title(name):
    """The title rygel gives a file without a title tag: the file name with the
    blacklisted words (case-sensitive) and every media suffix (anywhere, any case)
    cut out, (...)/[...]/{...}/<...> blocks and ()[]<>{}!@#$^&*+=|\\/"'?~ removed,
    tabs, '_' and '.' turned into spaces, spaces squeezed, the ends stripped:
    'many-0001.mp3' -> 'many-0001', '01 - Ogg Eins.ogg' -> '01 - Eins'."""
    p = name
    for word in _RYGEL_TITLE_BLACKLIST:
        p = p.replace(word, '')
    for suffix in _RYGEL_TITLE_SUFFIXES:
        p = re.sub(re.escape(suffix), '', p, flags=re.IGNORECASE)
    for opening, closing in ('()', '{}', '[]', '<>'):
        p = re.sub('%s[^%s]*%s' % (re.escape(opening), re.escape(closing), re.escape(closing)), '', p)
    p = re.sub('[%s]' % re.escape('()[]<>{}!@#$^&*+=|\\/"\'?~'), '', p)
    p = re.sub('[\t_.]', ' ', p)
    return re.sub(r'\s+', ' ', p).strip()


def _keyfile_value(value):
    """A string as a GKeyFile value (rygel.conf)."""
    v = str(value).replace('\\', '\\\\').replace('\n', '\\n').replace('\t', '\\t').replace('\r', '\\r')
    return '\\s' + v[1:] if v.startswith(' ') else v


class Rygel(_MediaServer):
    kind = 'rygel'
    log_name = 'rygel.log'
    FOLDERS = 'Filesystem'  # "Files & Folders": the exported directory's own tree
    DEBUG_DOMAINS = 'Rygel RygelCore RygelServer RygelDb MediaExport MxExtract'

    def __init__(self, workdir, library, netns=None, port=None, friendly_name='xpmn rygel',
                 uuid='52796765-6c00-0000-0000-000000000001', grace_timeout=0, debug=False, **kw):
        if netns is None:
            raise NasError('rygel needs a NetNs: on the host it would serve and announce the '
                           'library on the host\'s own network')
        super().__init__(workdir, library, netns, port, friendly_name, uuid, **kw)
        if ';' in self.library:
            raise NasError('rygel.conf separates its uris with ";": %s cannot be exported' % self.library)
        self.grace_timeout = grace_timeout
        self.debug = debug
        if self.port is None:
            self.port = _pick_port(netns, 20000, 30000)
        self.home = os.path.join(self.workdir, 'home')
        self.config_dir = os.path.join(self.home, 'config')
        self.cache_dir = os.path.join(self.home, 'cache')
        self.data_dir = os.path.join(self.home, 'data')
        self.runtime_dir = os.path.join(self.workdir, 'run')
        self.config_file = os.path.join(self.config_dir, 'rygel.conf')
        self.description_file = os.path.join(self.config_dir, 'Rygel', 'MediaExport.xml')
        self.db_file = os.path.join(self.cache_dir, 'rygel', 'media-export.db')
        self.console_file = self.log_file  # rygel logs to stderr only: one file per run
        self.harvest_seconds = None

    @property
    def description_url(self):
        return 'http://127.0.0.1:%d/%s.xml' % (self.port, self.uuid)

    def _environment(self):
        """Everything per-user under the work dir, no session bus, no dconf, no gvfs."""
        env = {'PATH': os.environ.get('PATH') or '/usr/sbin:/usr/bin:/sbin:/bin',
               'LANG': 'C.UTF-8', 'HOME': self.home,
               'XDG_CONFIG_HOME': self.config_dir, 'XDG_CACHE_HOME': self.cache_dir,
               'XDG_DATA_HOME': self.data_dir, 'XDG_RUNTIME_DIR': self.runtime_dir,
               'GSETTINGS_BACKEND': 'memory', 'GIO_USE_VFS': 'local'}
        if self.debug:
            env['G_MESSAGES_DEBUG'] = self.DEBUG_DOMAINS
        return env

    def write_config(self):
        for d in (self.home, self.config_dir, self.cache_dir, self.data_dir, self.runtime_dir,
                  os.path.dirname(self.description_file)):
            os.makedirs(d, mode=0o700, exist_ok=True)
        v = _keyfile_value
        # Every plugin rygel might find is named: /etc/rygel.conf (read first, then
        # this file on top of it) enables Tracker, Tracker3 and Playbin.
        disabled = ''.join('[%s]\nenabled=false\n\n' % name for name in (
            'Tracker', 'Tracker3', 'LMS', 'Playbin', 'GstLaunch', 'MPRIS', 'External', 'Ruih', 'Test',
            'ExampleServerPluginVala', 'ExampleServerPluginC', 'ExampleRendererPluginVala',
            'ExampleRendererPluginC'))
        text = ('# Generated by xpmntest.nas for one test run.\n'
                '[general]\n'
                'ipv6=false\n'
                'interface=lo\n'
                'port=%d\n'
                'enable-transcoding=false\n'
                'allow-upload=false\n'
                'allow-deletion=false\n'
                'acl-fallback-policy=true\n'
                'media-engine=librygel-media-engine-gst.so\n'
                'log-level=*:%d\n'
                '\n'
                '[MediaExport]\n'
                'enabled=true\n'
                'title=%s\n'
                'uris=%s\n'
                'extract-metadata=true\n'
                'monitor-changes=true\n'
                'monitor-grace-timeout=%d\n'
                'virtual-folders=true\n'
                '\n%s' % (self.port, 5 if self.debug else 4, v(self._friendly_name), v(self.library),
                          self.grace_timeout, disabled))
        with open(self.config_file, 'w') as f:
            f.write(text)
        # rygel keeps the device description it derives from the template (and the
        # UDN it made up for it) in $XDG_CONFIG_HOME/Rygel/<plugin>.xml, and reuses
        # that file while it is newer than the template: ours carries our UDN.
        with open(RYGEL_DEVICE_TEMPLATE) as f:
            template = f.read()
        if '<UDN></UDN>' not in template:
            raise NasError('%s has no empty <UDN></UDN> to fill in' % RYGEL_DEVICE_TEMPLATE)
        with open(self.description_file, 'w') as f:
            f.write(template.replace('<UDN></UDN>', '<UDN>%s</UDN>' % escape(self.udn)))
        return self.config_file

    def _command(self, rescan):
        self.write_config()
        if rescan:  # a fresh media-export database: everything is extracted again
            for suffix in ('', '-journal', '-wal', '-shm'):
                if os.path.exists(self.db_file + suffix):
                    os.remove(self.db_file + suffix)
        return [RYGEL]  # `-c FILE` is ignored by 0.42.1: it reads $XDG_CONFIG_HOME/rygel.conf

    def harvested(self):
        """Seconds the harvest of the library took in this run (from the log), or None."""
        for m in re.finditer(r'Harvesting of (file://\S+) done in ([0-9.]+)', self.log_text()):
            path = urllib.parse.unquote(urllib.parse.urlsplit(m.group(1)).path)
            if path.rstrip('/') == self.library:
                return float(m.group(2))
        return None

    def count_items(self):
        """Every item below the root (Search counts real objects, not the virtual views)."""
        return self.content_directory().search('0', 'upnp:class derivedfrom "object.item"', count=1)[2]

    def _wait_ready(self, expected, deadline):
        if expected is None:
            c = library_counts(self.library)
            expected = c['audio'] + c['video'] + c['image']

        def ready():
            secs = self.harvested()
            if secs is None:
                return False
            try:
                if self.count_items() < expected:
                    return False
            except (OSError, UpnpError):
                return False
            self.harvest_seconds = secs
            return True
        self._wait(ready, deadline, 'the harvest of %s and %d items' % (self.library, expected), interval=0.2)

    def folder_path(self, relpath):
        d = os.path.dirname(relpath)
        return [self.FOLDERS, os.path.basename(self.library)] + (d.split('/') if d else [])

    def item_title(self, relpath, title=None):
        """`title` (the title tag), or the cleaned-up file name for untagged files and for
        Ogg files (rygel only reads the container's global tags for the title; Vorbis
        comments are stream tags, so an Ogg file is titled after its name)."""
        if title is None or os.path.splitext(relpath)[1].lower() in ('.ogg', '.oga'):
            return rygel_file_title(os.path.basename(relpath))
        return title

    def diagnostics(self, lines=60):
        log = self.log_text().splitlines()[-lines:]
        return '--- last %d lines of %s (rygel\'s stderr) ---\n%s' % (len(log), self.log_file, '\n'.join(log))
