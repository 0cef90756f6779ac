"""Proves the UPnP-side fixtures: a network namespace with SSDP multicast on its
loopback (xpmntest.netns), a generated media library (xpmntest.media), real
minidlna, gerbera and rygel servers in a namespace (xpmntest.nas) and the
independent UPnP client (xpmntest.upnp_direct). Needs root (network namespaces)
and Debian's minidlna, gerbera, rygel and ffmpeg (scripts/setup); fails with the
reason when a namespace cannot be made or a tool is missing. Run from tests/integration:

    /usr/bin/python3 -m unittest -v test_nas_fixtures

The test process stays on the host: its sockets into the namespace are made by
NetNs.socket() (setns on a helper thread); one SSDP search also runs as a
separate process inside it (ip netns exec). Set XPMN_KEEP_TMP=1 to keep the
work dir (server logs, configs, the library).

NasFixturesTest runs minidlna and gerbera on a library with 1 200 extra files;
RygelFixturesTest runs rygel in a namespace of its own on a library with 150
(rygel extracts metadata at ~18 files/s: 1 200 would take ~66 s).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from xpmntest import media, netns, upnp_direct
from xpmntest.nas import Gerbera, MiniDlna, Rygel, library_counts, rygel_file_title
from xpmntest.upnp_direct import ContentDirectory, SsdpListener, UpnpError, parse_duration

N_EXTRA = 1200
MDL_UUID = '4d696e69-444c-4e41-7878-706d6e000001'
GB_UUID = '67657262-6572-6100-7878-706d6e000002'
RY_UUID = '52796765-6c00-0000-7878-706d6e000003'
RY_EXTRA = 150


def log(msg, *args):
    print('  [nas-fixtures] ' + (msg % args if args else msg), file=sys.stderr, flush=True)


def own_processes(marker):
    """Pids of processes whose command line mentions `marker` (our work dir)."""
    out = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                if marker.encode() in f.read():
                    out.append(int(entry))
        except OSError:
            pass
    return out


def gone(pid):
    """True when `pid` no longer runs (no such process, or a zombie nobody reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except (OSError, IndexError):
        return True


def work_dir(case, prefix, tools):
    """setUpClass's common part: case.t0, case.tmp (removed at the end unless
    XPMN_KEEP_TMP is set), and a failure when one of `tools` is missing."""
    case.t0 = time.monotonic()
    case.tmp = tempfile.mkdtemp(prefix=prefix)
    if os.environ.get('XPMN_KEEP_TMP'):
        print('work dir kept: %s' % case.tmp, file=sys.stderr)
    else:
        case.addClassCleanup(shutil.rmtree, case.tmp, True)
    for tool in tools:
        if not shutil.which(tool):
            raise AssertionError('%s is not installed (scripts/setup installs it)' % tool)


class NasFixturesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        work_dir(cls, 'xpmn-nas-', ('minidlnad', 'gerbera', 'ffmpeg', 'ffprobe'))
        cls.ns = netns.NetNs(prefix='xpmn-nas', sweep=True)  # NetNsError when impossible
        cls.addClassCleanup(cls.ns.delete)
        log('namespace %s (%s) in %.2fs', cls.ns.name, cls.ns.mode, time.monotonic() - cls.t0)

        t = time.monotonic()
        cls.library = os.path.join(cls.tmp, 'lib')
        cls.manifest = media.make_library(cls.library, n_extra=N_EXTRA)
        cls.library_seconds = time.monotonic() - t
        log('library: %d files in %.2fs', len(cls.manifest), cls.library_seconds)

        cls.mdl = MiniDlna(os.path.join(cls.tmp, 'minidlna'), cls.library, netns=cls.ns, port=8200,
                           friendly_name='xpmn Test NAS (minidlna)', uuid=MDL_UUID)
        cls.gb = Gerbera(os.path.join(cls.tmp, 'gerbera'), cls.library, netns=cls.ns, port=49152,
                         friendly_name='xpmn Test NAS (gerbera) – Ärger', uuid=GB_UUID)
        cls.addClassCleanup(cls.mdl.kill)  # after stop(): no-ops; on failure: no orphans
        cls.addClassCleanup(cls.gb.kill)
        cls.mdl.start()
        log('minidlna ready (scan complete, inotify watches set) in %.2fs', cls.mdl.last_scan_seconds)
        cls.gb.start()
        log('gerbera ready (scan complete, stable) in %.2fs, port %d', cls.gb.last_scan_seconds, cls.gb.port)
        cls.mcd = cls.mdl.content_directory()
        cls.gcd = cls.gb.content_directory()

    def by_relpath(self, relpath):
        return next(m for m in self.manifest if m['relpath'] == relpath)

    # -- the library ---------------------------------------------------------------
    def test_1_library(self):
        counts = library_counts(self.library)
        self.assertEqual((counts['audio'], counts['video'], counts['image']), (7 + N_EXTRA, 1, 1))
        self.assertEqual(len(self.manifest), 9 + N_EXTRA)
        odd = self.by_relpath('Music/Misc/' + media.ODD_NAME)
        self.assertTrue(os.path.isfile(os.path.join(self.library, 'Music', 'Misc', 'a&b<c>\'d".mp3')))
        self.assertEqual(odd['title'], 'Odd & <Chars> \'quoted"')
        cafe = self.by_relpath('Music/Test Artist/Sine Album/01 - Ärger über Café.mp3')
        self.assertEqual((cafe['title'], cafe['artist'], cafe['album'], cafe['track'], cafe['mime']),
                         ('Ärger über Café', 'Test Artist', 'Sine Album', 1, 'audio/mpeg'))
        tags = media.probe(cafe['path'])['tags']
        self.assertEqual((tags['title'], tags['artist'], tags['album'], tags['track'], tags['date'], tags['genre']),
                         ('Ärger über Café', 'Test Artist', 'Sine Album', '1', '2021', 'Electronic'))
        for m in self.manifest:
            if m['nominal_duration']:
                self.assertAlmostEqual(m['duration'], m['nominal_duration'], delta=0.1, msg=m['relpath'])
        video = self.by_relpath('Video/Testbild.mp4')
        self.assertEqual((video['kind'], video['mime']), ('video', 'video/mp4'))
        many = [m for m in self.manifest if m['relpath'].startswith('Many/')]
        self.assertEqual(len(many), N_EXTRA)
        self.assertEqual(os.stat(many[0]['path']).st_nlink, N_EXTRA)  # hard links of one file
        self.assertIsNone(many[0]['title'])
        self.assertNotIn('tags', media.probe(many[0]['path']))  # untagged: titles come from names
        # deterministic: a second library made anew is byte-identical (the Many/ seed too)
        again = media.make_library(os.path.join(self.tmp, 'lib-again'), n_extra=1, cached=False)
        for m in again:
            ref = m['relpath'] if not m['relpath'].startswith('Many/') else many[0]['relpath']
            with open(m['path'], 'rb') as a, open(os.path.join(self.library, ref), 'rb') as b:
                self.assertEqual(a.read(), b.read(), m['relpath'])

    # -- SSDP inside the namespace ----------------------------------------------------
    def test_2_ssdp(self):
        netns.check_ssdp_loop(self.ns)                                  # lo
        netns.check_ssdp_loop(self.ns, interface=self.gb.address)       # upnp0 (gerbera's)
        for via in ('socket', 'process'):
            t = time.monotonic()
            found = upnp_direct.ssdp_search(self.ns, timeout=1.5, via=via)
            log('M-SEARCH MediaServer:1 via %s: %.2fs, %s', via, time.monotonic() - t,
                ['%s %s' % (r['udn'], r['location']) for r in found])
            by_udn = {r['udn']: r for r in found}
            self.assertEqual(by_udn[self.mdl.udn]['location'], self.mdl.description_url)
            self.assertEqual(by_udn[self.gb.udn]['location'], self.gb.description_url)
            self.assertIn('MiniDLNA', by_udn[self.mdl.udn]['server'])
            self.assertIn('Portable SDK for UPnP devices', by_udn[self.gb.udn]['server'])
        # a search on lo alone reaches gerbera on upnp0 too (IP_MULTICAST_ALL)
        only_lo = upnp_direct.ssdp_search(self.ns, timeout=1.0, interfaces=['127.0.0.1'])
        self.assertEqual({self.mdl.udn, self.gb.udn}, {r['udn'] for r in only_lo})
        # and none of it is reachable from the host's own network stack (another
        # test's server may answer on the same host port, but not as ours)
        for srv in (self.mdl, self.gb):
            try:
                self.assertNotEqual(ContentDirectory(srv.description_url, ns=None, timeout=2).udn, srv.udn)
            except (OSError, UpnpError, ValueError, SyntaxError):
                pass

    def test_3_descriptions(self):
        for srv, cd in ((self.mdl, self.mcd), (self.gb, self.gcd)):
            self.assertEqual(cd.udn, srv.udn)
            self.assertEqual(cd.friendly_name, srv.friendly_name)
            self.assertEqual(cd.device_type, upnp_direct.MEDIA_SERVER)
            log('%s: %r %s control %s events %s', srv.kind, cd.friendly_name, cd.udn, cd.control_url, cd.event_url)

    # -- browsing ------------------------------------------------------------------------
    def test_4_minidlna_browse(self):
        root = self.mcd.browse_all('0')
        self.assertEqual({e['title'] for e in root}, {'Browse Folders', 'Music', 'Pictures', 'Video'})
        t = time.monotonic()
        everything = self.mcd.walk('0', page=500)
        log('minidlna: complete walk, %d objects in %.2fs', len(everything), time.monotonic() - t)
        folders = [e for e in everything if e['path'][0] == 'Browse Folders' and e['kind'] == 'item']
        self.assertEqual(len(folders), len(self.manifest))
        seen = {'/'.join(e['path'][1:]) for e in folders}
        for m in self.manifest:
            title = m['title'] or os.path.splitext(os.path.basename(m['relpath']))[0]
            self.assertIn(os.path.dirname(m['relpath']) + '/' + title, seen)
        cafe = next(e for e in folders if e['title'] == 'Ärger über Café')
        self.assertEqual((cafe['artist'], cafe['album'], cafe['track'], cafe['genre'], cafe['date']),
                         ('Test Artist', 'Sine Album', 1, 'Electronic', '2021-01-01'))
        self.assertEqual(cafe['class'], 'object.item.audioItem.musicTrack')
        self.assertEqual(cafe['res'][0]['mime'], 'audio/mpeg')
        m = self.by_relpath('Music/Test Artist/Sine Album/01 - Ärger über Café.mp3')
        self.assertAlmostEqual(parse_duration(cafe['res'][0]['duration']), m['duration'], delta=0.15)
        self.assertEqual(int(cafe['res'][0]['size']), m['size'])
        odd = next(e for e in folders if e['path'][1:3] == ['Music', 'Misc'] and e['title'].startswith('Odd'))
        self.assertEqual(odd['title'], 'Odd & <Chars> \'quoted"')
        self.assertIn('&amp;', odd['xml'])  # escaped in the DIDL, unescaped by the parser
        for e in folders:  # every resource URL points at the server itself
            self.assertTrue(e['res'][0]['url'].startswith('http://127.0.0.1:%d/' % self.mdl.port), e['res'])

    def test_5_gerbera_browse(self):
        root = self.gcd.browse_all('0')
        self.assertEqual({e['title'] for e in root}, {'Audio', 'Photos', 'Video', 'PC Directory'})
        t = time.monotonic()
        everything = self.gcd.walk('0', max_children=100)
        log('gerbera: walk of every container (at most 100 children each), %d objects in %.2fs',
            len(everything), time.monotonic() - t)
        lib_path = ['PC Directory'] + [p for p in self.library.split('/') if p]
        files = {'/'.join(e['path'][len(lib_path):]) for e in everything
                 if e['kind'] == 'item' and e['path'][:len(lib_path)] == lib_path}
        for m in self.manifest:
            if not m['relpath'].startswith('Many/'):
                self.assertIn(m['relpath'], files)  # PC Directory: titles are file names
        truncated = [e for e in everything if e.get('truncated')]
        self.assertIn(lib_path + ['Many'], [e['path'] for e in truncated])
        cafe = next(e for e in everything if e['path'][:3] == ['Audio', 'Albums', 'Sine Album'] and
                    e['title'] == 'Ärger über Café')
        self.assertEqual((cafe['artist'], cafe['album'], cafe['track'], cafe['genre']),
                         ('Test Artist', 'Sine Album', 1, 'Electronic'))
        self.assertEqual(cafe['res'][0]['mime'], 'audio/mpeg')
        m = self.by_relpath('Music/Test Artist/Sine Album/01 - Ärger über Café.mp3')
        self.assertAlmostEqual(parse_duration(cafe['res'][0]['duration']), m['duration'], delta=0.15)
        odd = next(e for e in everything if e['kind'] == 'item' and e['title'] == 'Odd & <Chars> \'quoted"')
        self.assertEqual(odd['artist'], 'Sonderzeichen & Co')
        self.assertTrue(cafe['res'][0]['url'].startswith('http://%s:%d/' % (self.gb.address, self.gb.port)))

    def check_paging(self, cd, cid, page):
        ids, titles, t = [], [], time.monotonic()
        for start in range(0, N_EXTRA, page):
            didl, returned, total, _ = cd.browse(cid, start=start, count=page)
            self.assertEqual(total, N_EXTRA)
            self.assertEqual(returned, min(page, N_EXTRA - start))
            entries = upnp_direct.parse_didl(didl)
            self.assertEqual(len(entries), returned)
            ids += [e['id'] for e in entries]
            titles += [e['title'] for e in entries]
        self.assertEqual(len(set(ids)), N_EXTRA)
        didl, returned, total, _ = cd.browse(cid, start=N_EXTRA, count=page)  # past the end
        self.assertEqual((returned, total), (0, N_EXTRA))
        return titles, time.monotonic() - t

    def test_6_paging_1200(self):
        mdl_many = self.mcd.find_container(['Many'], MiniDlna.FOLDERS)
        titles, secs = self.check_paging(self.mcd, mdl_many, 100)
        self.assertEqual(set(titles), {'many-%04d' % i for i in range(1, N_EXTRA + 1)})
        log('minidlna: 1200 items in pages of 100 in %.2fs', secs)
        self.assertEqual(len(self.mcd.browse_all(mdl_many, page=N_EXTRA)), N_EXTRA)
        self.assertEqual(self.mcd.browse(mdl_many, count=0)[1], N_EXTRA)  # 0 = everything

        gb_many = self.gcd.find_container(['PC Directory'] + [p for p in self.library.split('/') if p] + ['Many'])
        titles, secs = self.check_paging(self.gcd, gb_many, 200)
        self.assertEqual(set(titles), {'many-%04d.mp3' % i for i in range(1, N_EXTRA + 1)})
        log('gerbera: 1200 items in pages of 200 in %.2fs', secs)

    def test_7_search(self):
        caps = self.mcd.search_capabilities()
        log('minidlna SearchCapabilities: %r, SortCapabilities: %r', caps, self.mcd.sort_capabilities())
        self.assertIn('dc:title', caps.split(','))
        found = self.mcd.search_all('0', 'upnp:class derivedfrom "object.item.audioItem" and dc:title contains "Ton"')
        self.assertEqual(sorted(e['title'] for e in found), ['Noch ein Ton', 'Zweiter Ton'])
        found = self.mcd.search_all('0', 'dc:title = "Ärger über Café"')
        self.assertEqual([e['title'] for e in found], ['Ärger über Café'])

        caps = self.gcd.search_capabilities()
        log('gerbera SearchCapabilities: %r, SortCapabilities: %r', caps, self.gcd.sort_capabilities())
        self.assertEqual(caps, '')
        with self.assertRaises(UpnpError) as ctx:
            self.gcd.search('0', 'dc:title contains "Ton"')
        log('gerbera Search: %s', ctx.exception)

    # -- a file added while running ---------------------------------------------------------
    def test_8_file_added(self):
        s0 = self.mcd.system_update_id()
        g0 = self.gcd.system_update_id()
        with self.mcd.subscribe() as msub, self.gcd.subscribe() as gsub:
            initial = gsub.wait_for(lambda v: 'SystemUpdateID' in v, 10)
            log('gerbera initial GENA event: %s', initial['vars'])
            rel = 'Music/Misc/Neu hinzugefügt.mp3'
            t = time.monotonic()
            self.mdl.add_file(rel, title='Neu hinzugefügt', artist='Test Artist', album='Nachschub', track=1)
            s1 = self.mcd.wait_system_update_id(lambda v: v > s0, timeout=20, interval=0.1)
            t_mdl = time.monotonic() - t
            item = self.mdl.wait_item(rel, 'Neu hinzugefügt', timeout=10)
            self.assertEqual(item['album'], 'Nachschub')
            gitem = self.gb.wait_item(rel, timeout=20)
            t_gb = time.monotonic() - t
            log('file added: minidlna SystemUpdateID %d -> %d after %.2fs; gerbera shows it after %.2fs',
                s0, s1, t_mdl, t_gb)
            self.assertEqual(gitem['title'], 'Neu hinzugefügt.mp3')
            time.sleep(2.5)  # gerbera's update manager batches changes for 2 s
            log('gerbera SystemUpdateID %d -> %d; GENA events: minidlna %s, gerbera %s', g0,
                self.gcd.system_update_id(), [e['vars'] for e in msub.events], [e['vars'] for e in gsub.events])
            self.assertGreaterEqual(self.mcd.browse('0')[3], s1)  # Browse's UpdateID follows

    # -- restart, stop, clean-up ----------------------------------------------------------------
    def test_9a_restart(self):
        n = self.mdl.count_items()
        self.mdl.restart()  # same database, no rescan
        log('minidlna restart (no rescan) ready in %.2fs', self.mdl.last_scan_seconds)
        cd = self.mdl.content_directory()
        self.assertEqual(cd.udn, self.mdl.udn)
        self.assertEqual(self.mdl.count_items(), n)
        self.gb.kill()
        self.assertFalse(self.gb.answers(1.0))
        self.gb.restart()  # gerbera rescans its autoscan dir at every start
        log('gerbera kill + restart ready in %.2fs', self.gb.last_scan_seconds)
        self.assertIsNotNone(self.gb.find_item('Music/Misc/Neu hinzugefügt.mp3'))

    def test_9b_stop(self):
        with SsdpListener(self.ns) as listener:
            for srv in (self.mdl, self.gb):
                self.assertTrue(srv.answers())
                srv.stop()
                self.assertFalse(srv.running)
                self.assertFalse(srv.answers(1.0), '%s still answers after stop()' % srv.kind)
                try:
                    bye = listener.wait_for(lambda n, u=srv.udn: n['nts'] == 'ssdp:byebye' and n['udn'] == u, 5)
                    log('%s said ssdp:byebye (%s)', srv.kind, bye['usn'])
                except AssertionError as e:
                    log('%s: no ssdp:byebye seen (%s)', srv.kind, str(e).splitlines()[0])

    def test_9c_cleanup(self):
        pids = [p for srv in (self.mdl, self.gb) for p in ([srv.pid] if srv.pid else [])]
        name = self.ns.name
        self.ns.delete()
        self.assertNotIn(name, netns.list_named())
        self.assertFalse(os.path.exists('/run/netns/' + name))
        for pid in pids:
            with self.assertRaises(ProcessLookupError):
                os.kill(pid, 0)
        self.assertEqual(own_processes(self.tmp), [])
        r = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True, timeout=10)
        self.assertNotIn(name, r.stdout)
        log('clean-up: namespace gone, no process left; whole class %.1fs', time.monotonic() - self.t0)


class RygelFixturesTest(unittest.TestCase):
    """Rygel 0.42 (media-export plugin) in its own namespace, on its own library."""

    @classmethod
    def setUpClass(cls):
        work_dir(cls, 'xpmn-rygel-', ('rygel', 'ffmpeg', 'ffprobe'))
        cls.ns = netns.NetNs(prefix='xpmn-nas', sweep=True)
        cls.addClassCleanup(cls.ns.delete)
        t = time.monotonic()
        cls.library = os.path.join(cls.tmp, 'lib')
        cls.manifest = media.make_library(cls.library, n_extra=RY_EXTRA)
        log('rygel library: %d files in %.2fs', len(cls.manifest), time.monotonic() - t)
        cls.ry = Rygel(os.path.join(cls.tmp, 'rygel'), cls.library, netns=cls.ns, port=8300,
                       friendly_name='xpmn Test NAS (rygel) – Ärger', uuid=RY_UUID)
        cls.addClassCleanup(cls.ry.kill)
        cls.ry.start()
        log('rygel ready (harvest of %d files done in %.2fs) in %.2fs', len(cls.manifest),
            cls.ry.harvest_seconds, cls.ry.last_scan_seconds)
        cls.cd = cls.ry.content_directory()

    def by_relpath(self, relpath):
        return next(m for m in self.manifest if m['relpath'] == relpath)

    def test_1_ssdp_and_description(self):
        found = {r['udn']: r for r in upnp_direct.ssdp_search(self.ns, timeout=1.5)}
        self.assertEqual(found[self.ry.udn]['location'], self.ry.description_url)
        self.assertIn('GUPnP', found[self.ry.udn]['server'])
        # a MediaServer:3 that answers a search for :1 with ST :1 (gssdp's version matching)
        self.assertEqual(found[self.ry.udn]['st'], upnp_direct.MEDIA_SERVER)
        cd = self.cd
        self.assertEqual((cd.udn, cd.friendly_name, cd.model_name), (self.ry.udn, self.ry.friendly_name, 'Rygel'))
        self.assertEqual(cd.device_type, 'urn:schemas-upnp-org:device:MediaServer:3')
        self.assertEqual(cd.service_type, 'urn:schemas-upnp-org:service:ContentDirectory:3')
        log('rygel: %r %s control %s events %s', cd.friendly_name, cd.udn, cd.control_url, cd.event_url)

    def test_2_browse(self):
        root = self.cd.browse_all('0')
        self.assertEqual({e['title']: e['id'] for e in root},
                         {'Files & Folders': Rygel.FOLDERS, 'Music': 'virtual-parent:object.item.audioItem.musicTrack',
                          'Pictures': 'virtual-parent:object.item.imageItem.photo',
                          'Videos': 'virtual-parent:object.item.videoItem',
                          'Playlists': 'virtual-parent:object.item.playlistItem'})
        music = {e['title'] for e in self.cd.browse_all('virtual-parent:object.item.audioItem.musicTrack')}
        self.assertEqual(music, {'Album', 'All', 'Artist', 'Genre', 'Year'})
        t = time.monotonic()
        everything = self.cd.walk('0', max_children=50)
        log('rygel: walk of every container (at most 50 children each), %d objects in %.2fs',
            len(everything), time.monotonic() - t)
        lib_path = ['Files & Folders', os.path.basename(self.library)]
        files = {'/'.join(e['path'][len(lib_path):]) for e in everything
                 if e['kind'] == 'item' and e['path'][:len(lib_path)] == lib_path}
        for m in self.manifest:
            if not m['relpath'].startswith('Many/'):
                self.assertIn(os.path.dirname(m['relpath']) + '/' + self.ry.item_title(m['relpath'], m['title']),
                              files)
        self.assertIn('Music/Öther Ärtist/Vorbis Album/01 - Eins', files)  # Ogg: the name, "Ogg" cut out
        cafe = next(e for e in everything if e['path'][:3] == ['Music', 'Album', 'Sine Album'] and
                    e['title'] == 'Ärger über Café')
        self.assertEqual((cafe['artist'], cafe['album'], cafe['track'], cafe['genre'], cafe['date']),
                         ('Test Artist', 'Sine Album', 1, 'Electronic', '2021-01-01'))
        self.assertEqual(cafe['class'], 'object.item.audioItem.musicTrack')
        m = self.by_relpath('Music/Test Artist/Sine Album/01 - Ärger über Café.mp3')
        http_res, internal_res = cafe['res'][0], cafe['res'][1]
        self.assertEqual((http_res['mime'], int(http_res['size'])), ('audio/mpeg', m['size']))
        self.assertAlmostEqual(parse_duration(http_res['duration']), m['duration'], delta=1.0)  # whole seconds
        self.assertTrue(http_res['url'].startswith('http://127.0.0.1:%d/' % self.ry.port), http_res)
        self.assertTrue(internal_res['protocol_info'].startswith('internal:'), internal_res)
        self.assertTrue(internal_res['url'].startswith('file:///'), internal_res)
        status, headers, body = upnp_direct.http_get(http_res['url'], ns=self.ns)
        with open(m['path'], 'rb') as f:
            self.assertEqual((status, body), (200, f.read()))
        odd = next(e for e in everything if e['kind'] == 'item' and e['title'] == 'Odd & <Chars> \'quoted"')
        self.assertEqual(odd['artist'], 'Sonderzeichen & Co')
        video = next(e for e in everything if e['path'] == ['Videos', 'All', 'Testbild'])
        self.assertEqual((video['class'], video['res'][0]['mime']), ('object.item.videoItem', 'video/mp4'))
        photo = next(e for e in everything if e['path'] == ['Pictures', 'All', 'Testbild'])
        self.assertEqual((photo['class'], photo['res'][0]['mime']), ('object.item.imageItem.photo', 'image/jpeg'))

    def test_3_paging(self):
        many = self.cd.find_container([os.path.basename(self.library), 'Many'], Rygel.FOLDERS)
        ids, titles = [], []
        for start in range(0, RY_EXTRA, 40):
            didl, returned, total, _ = self.cd.browse(many, start=start, count=40)
            self.assertEqual((returned, total), (min(40, RY_EXTRA - start), RY_EXTRA))
            entries = upnp_direct.parse_didl(didl)
            ids += [e['id'] for e in entries]
            titles += [e['title'] for e in entries]
        self.assertEqual(len(set(ids)), RY_EXTRA)
        self.assertEqual(sorted(titles), ['many-%04d' % i for i in range(1, RY_EXTRA + 1)])
        self.assertEqual(rygel_file_title(media.many_name(7)), 'many-0007')
        self.assertEqual(self.cd.browse(many, start=RY_EXTRA, count=40)[1:3], (0, RY_EXTRA))
        self.assertEqual(self.cd.browse(many, count=0)[1], RY_EXTRA)  # 0 = everything

    def test_4_search(self):
        caps = self.cd.search_capabilities()
        log('rygel SearchCapabilities: %r, SortCapabilities: %r', caps, self.cd.sort_capabilities())
        self.assertTrue({'dc:title', 'upnp:class', 'upnp:artist', 'upnp:album'} <= set(caps.split(',')))
        found = self.cd.search_all('0', 'upnp:class derivedfrom "object.item.audioItem" and dc:title contains "Ton"')
        self.assertEqual(sorted(e['title'] for e in found), ['Noch ein Ton', 'Zweiter Ton'])
        found = self.cd.search_all('0', 'dc:title = "Ärger über Café"')
        self.assertEqual([e['title'] for e in found], ['Ärger über Café'])
        self.assertEqual(self.ry.count_items(), len(self.manifest))

    def test_5_file_added_gena(self):
        s0 = self.cd.system_update_id()
        misc = self.cd.find_container(self.ry.folder_path('Music/Misc/x.mp3')[1:], Rygel.FOLDERS)
        with self.cd.subscribe() as sub:
            initial = sub.wait_for(lambda v: 'SystemUpdateID' in v, 10)
            self.assertEqual(initial['seq'], 0)
            self.assertEqual(int(initial['vars']['SystemUpdateID']), s0)
            self.assertIn('ContainerUpdateIDs', initial['vars'])
            self.assertIn('LastChange', initial['vars'])
            rel = 'Music/Misc/Neu hinzugefügt.mp3'
            t = time.monotonic()
            path = self.ry.add_file(rel, title='Neu hinzugefügt', artist='Test Artist', album='Nachschub', track=1)
            # (the initial event lists the containers of rygel's last batch of changes)
            ev = sub.wait_for(lambda v: misc in v.get('ContainerUpdateIDs', '').split(',')[::2], 10, start=1)
            t_cu = time.monotonic() - t
            updates = ev['vars']['ContainerUpdateIDs'].split(',')
            updated = dict(zip(updates[::2], map(int, updates[1::2])))
            self.assertEqual(set(updated), {misc, '0', 'virtual-parent:object.item.audioItem.musicTrack',
                                            'virtual-parent:object.item.imageItem.photo',
                                            'virtual-parent:object.item.videoItem',
                                            'virtual-parent:object.item.playlistItem'})
            sysev = sub.wait_for(lambda v: int(v.get('SystemUpdateID', -1)) > s0, 5, start=1)
            s1 = int(sysev['vars']['SystemUpdateID'])
            self.assertEqual(s1, max(updated.values()))
            lastchange = sub.wait_for(lambda v: '<objAdd' in v.get('LastChange', ''), 5, start=1)['vars']['LastChange']
            item = self.ry.wait_item(rel, 'Neu hinzugefügt', timeout=10)
            self.assertEqual((item['album'], item['parent_id']), ('Nachschub', misc))
            self.assertRegex(lastchange, r'<objAdd objID="%s"' % re.escape(item['id']))
            self.assertEqual(self.cd.system_update_id(), s1)
            self.assertEqual(self.cd.browse('0')[3], s1)  # Browse's UpdateID is the SystemUpdateID
            log('file added: GENA ContainerUpdateIDs after %.2fs (%s), SystemUpdateID %d -> %d; seqs %s',
                t_cu, ev['vars']['ContainerUpdateIDs'], s0, s1, [e['seq'] for e in sub.events])
            # and removed again
            n, t = len(sub.events), time.monotonic()
            os.remove(path)
            sub.wait_for(lambda v: misc in v.get('ContainerUpdateIDs', '').split(',')[::2], 10, start=n)
            t_del = time.monotonic() - t
            sub.wait_for(lambda v: '<objDel objID="%s"' % item['id'] in v.get('LastChange', ''), 5, start=n)
            self.assertIsNone(self.ry.find_item(rel, 'Neu hinzugefügt'))
            self.assertGreater(self.cd.system_update_id(), s1)
            log('file removed: GENA ContainerUpdateIDs after %.2fs; SystemUpdateID now %d',
                t_del, self.cd.system_update_id())

    def test_6_restart(self):
        n, s = self.ry.count_items(), self.cd.system_update_id()
        self.ry.restart()  # same database: nothing is extracted again
        log('rygel restart (same database) ready in %.2fs', self.ry.last_scan_seconds)
        cd = self.ry.content_directory()
        self.assertEqual(cd.udn, self.ry.udn)
        self.assertEqual(self.ry.count_items(), n)
        self.assertGreaterEqual(cd.system_update_id(), s)  # kept in the database
        self.ry.kill()
        self.assertFalse(self.ry.answers(1.0))
        self.ry.restart()
        log('rygel kill + restart ready in %.2fs', self.ry.last_scan_seconds)
        self.assertEqual(self.ry.count_items(), n)

    def test_7_stop_byebye(self):
        with SsdpListener(self.ns) as listener:
            self.assertTrue(self.ry.answers())
            self.ry.stop()
            self.assertFalse(self.ry.running)
            self.assertEqual(self.ry.proc.returncode, 0)
            self.assertFalse(self.ry.answers(1.0))
            root = self.ry.udn + '::upnp:rootdevice'
            bye = listener.wait_for(lambda n: n['nts'] == 'ssdp:byebye' and n['usn'] == root, 5)
            log('rygel said ssdp:byebye (%s and %d more)', bye['usn'],
                sum(1 for n in listener.notifies if n['nts'] == 'ssdp:byebye') - 1)

    def test_8_cleanup(self):
        self.ry.start()  # running again: the namespace's deletion must end it (and mx-extract)
        pids = self.ns.pids()
        self.assertIn(self.ry.pid, pids)
        name = self.ns.name
        self.ns.delete()
        self.assertNotIn(name, netns.list_named())
        self.assertEqual(self.ry.proc.wait(5), -signal.SIGKILL)  # reaped here
        self.ry.kill()  # only the bookkeeping is left
        for pid in pids:
            self.assertTrue(gone(pid), 'pid %d survived the namespace' % pid)
        self.assertEqual(own_processes(self.tmp), [])
        log('rygel clean-up: namespace gone, no process left; whole class %.1fs', time.monotonic() - self.t0)


if __name__ == '__main__':
    unittest.main()
