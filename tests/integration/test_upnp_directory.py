"""UPnP MediaServers through the bridge: a real minidlna and a real Gerbera
(two DIDL-Lite dialects; Gerbera has no Search, so the bridge's search by
browsing is used) in a private network namespace with multicast on lo,
Prosody and the bridge beside them. The xpmn CLI and slixmpp browse, search
and watch through the bridge; answers are compared with a direct
ContentDirectory Browse of the same server.

The whole module runs inside a fresh namespace: when started outside one it
creates it, re-runs itself there, and deletes it (xpmntest.netns).
"""
import os
import re
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

from xpmntest.netns import inside_namespace, module_in_namespace  # noqa: E402


META = '{urn:xmpp:media:metadata:0}'
SERVER_NS = 'urn:xmpp:media:server:0'
MDL = 'Test NAS'          # minidlna's friendly name
GB = 'Test Gerbera'       # gerbera's
RY = 'Test Rygel'         # rygel's: the one that sends GENA events
MDL_EXTRA = 1200          # untagged files in Many/ on minidlna: paging
GB_EXTRA = 150            # … on gerbera: paging through the search fallback
POLL = 1                  # [upnp] watch_poll_interval for the test


def parse_container(text):
    """The <container/> xpmn --xml printed: (its attributes, [(tag, attributes, element)] of its children).
    Attribute order is not kept by servers (Prosody re-serializes), so parse, don't match text."""
    root = ET.fromstring(text)
    kids = [(c.tag[len(META):], c.attrib, c) for c in root if c.tag in (META + 'item', META + 'container')]
    return root.attrib, kids


def seconds(upnp_duration):
    """H+:MM:SS[.F+] → seconds (None when absent or odd)."""
    m = re.match(r'^(\d+):(\d\d):(\d\d(?:\.\d+)?)$', upnp_duration or '')
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None


if not inside_namespace():
    InNamespace = module_in_namespace('test_upnp_directory', prefix='xpmn-upnp')

else:
    from test_bridge_c2s import PASSWORD
    from xpmntest import media
    from xpmntest.bridge import (XPMN_BIN, class_workdir, device_jids, run_xpmn, start_home_network, start_server,
                                 wait_devices, xpmn_ok)
    from xpmntest.logs import read_text, wait_for_text
    from xpmntest.reaper import kill
    from xpmntest.nas import Gerbera, MiniDlna, Rygel
    from xpmntest.netns import NetNs
    from xpmntest.slix import SlixClient

    class TestUpnpDirectory(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-upnp-')
            ns = NetNs.current()
            cls.mdl_lib = os.path.join(cls.workdir, 'lib-minidlna')
            cls.manifest = media.make_library(cls.mdl_lib, n_extra=MDL_EXTRA)
            cls.gb_lib = os.path.join(cls.workdir, 'lib-gerbera')
            media.make_library(cls.gb_lib, n_extra=GB_EXTRA)
            cls.mdl = start_server(cls, MiniDlna(os.path.join(cls.workdir, 'minidlna'), cls.mdl_lib, netns=ns,
                                                 port=8200, friendly_name=MDL))
            cls.gb = start_server(cls, Gerbera(os.path.join(cls.workdir, 'gerbera'), cls.gb_lib, netns=ns,
                                               friendly_name=GB))
            cls.ry_lib = os.path.join(cls.workdir, 'lib-rygel')
            media.make_library(cls.ry_lib)  # rygel scans ~55 ms per file: the tagged files only
            cls.ry = start_server(cls, Rygel(os.path.join(cls.workdir, 'rygel'), cls.ry_lib, netns=ns,
                                             friendly_name=RY))
            # No [upnp] interfaces: all of the namespace's (lo, and gerbera's upnp0).
            # plain_c2s: the watch tests subscribe with slixmpp, a browse IQ straight to
            # the device over c2s (the profile without the XTLS stream); the xpmn CLI
            # is paired and goes end-to-end all the same.
            start_home_network(cls, PASSWORD, plain_c2s=True,
                               upnp={'watch_poll_interval': POLL, 'exclude': ['Excluded*']})
            for name in (MDL, GB, RY):
                cls.bridge.wait_for_log("media server '%s'" % name, timeout=30)
            out = wait_devices(cls.config, lambda out: out.count('/upnp-') == 3)
            cls.jids = device_jids(out)

        xpmn = xpmn_ok

        def browse_all(self, device, cid, page=1000):
            """Every child of container `cid` through the bridge, page by page."""
            kids, start = [], 0
            while True:
                xml_out = self.xpmn('browse', device, cid, '--start', str(start), '--max', str(page), '--xml')
                self.assertNotIn('http://', xml_out)  # NAS URLs (and paths) never leave the bridge
                self.assertNotIn('file://', xml_out)
                attrs, part = parse_container(xml_out)
                self.assertEqual(attrs['id'], cid)
                self.assertEqual(int(attrs['returned']), len(part))
                kids += part
                start += len(part)
                if not part or start >= int(attrs['total']):
                    return attrs, kids

        def phone(self):
            phone = SlixClient(self.prosody.jid('home', 'phone-%d' % time.monotonic_ns()), PASSWORD, '127.0.0.1',
                               self.prosody.c2s_port, self.prosody.ca_file)
            self.addCleanup(phone.close)
            phone.connect()
            return phone

        # -- discovery ---------------------------------------------------------------
        def test_devices_show_the_media_servers(self):
            out = self.xpmn('devices')
            lines = [line for line in out.splitlines() if '/upnp-' in line]
            self.assertEqual(len(lines), 3, out)
            for name in (MDL, GB, RY):
                self.assertTrue(any(('automation/media-server "%s"' % name) in line for line in lines), out)
            self.assertIn(SERVER_NS, out)

        def test_excluded_server_is_not_a_device(self):
            # [upnp] exclude = ['Excluded*'] (by friendly name); include/exclude rules: unit tests.
            mark = self.bridge.log_mark()
            extra = MiniDlna(os.path.join(self.workdir, 'excluded'), self.gb_lib, netns=NetNs.current(),
                             port=8201, friendly_name='Excluded NAS', uuid='4d696e69-444c-4e41-0000-0000000000ee')
            self.addCleanup(extra.kill)
            extra.start()
            self.bridge.wait_for_log("media server 'Excluded NAS' (uuid:%s) excluded by configuration" % extra.uuid,
                                     timeout=30, start=mark)
            out = self.xpmn('devices')
            self.assertNotIn('Excluded NAS', out)
            self.assertEqual(len([line for line in out.splitlines() if '/upnp-' in line]), 3, out)
            extra.stop()

        # -- browse ------------------------------------------------------------------
        def compare_walk(self, nas, name, max_containers):
            """Walks containers through the bridge and directly: same ids, titles, child
            counts and durations, in the same order."""
            cd = nas.content_directory()
            pending, containers, items = ['0'], 0, 0
            while pending and containers < max_containers:
                cid = pending.pop(0)
                containers += 1
                attrs, kids = self.browse_all(name, cid)
                direct = cd.browse_all(cid, page=500)
                where = '%s container %s' % (nas.kind, cid)
                self.assertEqual(int(attrs['total']), len(direct), where)
                self.assertEqual([k['id'] for _, k, _ in kids], [o['id'] for o in direct], where)
                for (kind, k, el), o in zip(kids, direct):
                    self.assertEqual(kind, o['kind'], where)
                    self.assertEqual(k['parent'], cid, where)
                    self.assertEqual(el.findtext(META + 'title'), o['title'], where)
                    if kind == 'container':
                        if o['child_count'] is not None:
                            self.assertEqual(int(k['child-count']), o['child_count'], where)
                        pending.append(k['id'])
                        continue
                    items += 1
                    durations = [seconds(r.get('duration')) for r in o['res'] if r.get('duration')]
                    ours = el.findtext(META + 'duration')
                    if durations:
                        self.assertTrue(any(abs(float(ours) - d) < 0.001 for d in durations if d is not None),
                                        '%s: %s vs %s' % (where, ours, durations))
                    self.assertIn(el.findtext(META + 'class'), ('audio', 'video', 'image'), where)
                    self.assertTrue(el.findtext(META + 'uri').startswith('xmpp:' + self.jids[name]), where)
            return containers, items

        def test_browse_minidlna_matches_direct_content_directory(self):
            containers, items = self.compare_walk(self.mdl, MDL, max_containers=1000)
            self.assertGreater(items, len(self.manifest))  # every file, and again in the views

        def test_browse_gerbera_matches_direct_content_directory(self):
            # Gerbera repeats each track in many virtual views and renders slowly: a bounded walk.
            containers, items = self.compare_walk(self.gb, GB, max_containers=60)
            self.assertGreater(items, 0)
            attrs, kids = parse_container(self.xpmn('browse', GB, '0', '--xml'))
            self.assertNotIn('parent', attrs)  # UPnP's parentID "-1" of the root is left out

        def test_browse_rygel_matches_direct_content_directory(self):
            containers, items = self.compare_walk(self.ry, RY, max_containers=60)
            self.assertGreater(items, 0)

        def test_search_on_rygel(self):
            out = self.xpmn('search', RY, 'artist=test artist')
            self.assertIn('4 of 4', out)
            self.assertIn('Ärger über Café', out)

        def test_root_has_no_parent(self):
            attrs, _ = parse_container(self.xpmn('browse', MDL, '0', '--xml'))
            self.assertEqual(attrs['id'], '0')
            self.assertNotIn('parent', attrs)

        def test_paging_across_1200_items(self):
            attrs, kids = parse_container(self.xpmn('search', MDL, 'title=many-', '--max', '1', '--xml'))
            self.assertEqual(attrs['total'], str(MDL_EXTRA))
            many = kids[0][1]['parent']
            ids, start = [], 0
            while True:
                attrs, kids = parse_container(
                    self.xpmn('browse', MDL, many, '--start', str(start), '--max', '500', '--xml'))
                self.assertEqual(attrs['total'], str(MDL_EXTRA))
                self.assertEqual(attrs['returned'], str(len(kids)))
                if not kids:
                    break
                ids += [k['id'] for _, k, _ in kids]
                start += len(kids)
            self.assertEqual(len(ids), MDL_EXTRA)
            self.assertEqual(len(set(ids)), MDL_EXTRA)  # nothing repeated
            direct = [o['id'] for o in self.mdl.content_directory().browse_all(many, page=500)]
            self.assertEqual(ids, direct)  # same order, nothing missing
            # max is capped at 1000; start past the end gives zero children.
            # A result stays under the stanza size limit: fewer children, the client pages on.
            attrs, kids = parse_container(self.xpmn('browse', MDL, many, '--max', '5000', '--xml'))
            self.assertTrue(0 < int(attrs['returned']) <= 1000, attrs)
            self.assertEqual(int(attrs['returned']), len(kids))
            attrs, kids = parse_container(self.xpmn('browse', MDL, many, '--start', '5000', '--xml'))
            self.assertEqual((attrs['returned'], kids), ('0', []))

        # -- search ------------------------------------------------------------------
        def test_search_by_artist_and_class_on_the_server(self):
            out = self.xpmn('search', MDL, 'artist=test artist')  # case-insensitive substring
            for title in ('Ärger über Café', 'Zweiter Ton', 'Ganz verlustfrei', 'Noch ein Ton'):
                self.assertIn(title, out)
            self.assertIn('4 of 4', out)
            self.assertNotIn('Ogg Eins', out)
            out = self.xpmn('search', MDL, 'artist=test artist', 'title=zweiter')  # AND
            self.assertIn('1 of 1', out)
            self.assertIn('Zweiter Ton', out)
            attrs, kids = parse_container(self.xpmn('search', MDL, 'class=video', '--xml'))
            self.assertEqual([el.findtext(META + 'title') for _, _, el in kids], ['Testbild'])
            self.assertNotIn('id', attrs)  # a search result names no container

        def test_search_folds_case_whatever_the_server_does(self):
            # minidlna's own `contains` folds ASCII only and misses '&' (it stores it escaped):
            cd = self.mdl.content_directory()
            self.assertEqual(cd.search('0', 'upnp:artist contains "öther ärtist"')[2], 0)
            self.assertEqual(cd.search('0', 'upnp:artist contains "sonderzeichen & co"')[2], 0)
            # …the bridge narrows such terms for the server and matches them itself.
            for device in (MDL, GB, RY):
                attrs, kids = parse_container(self.xpmn('search', device, 'artist=öTHER äRTIST', '--xml'))
                titles = {el.findtext(META + 'title') for _, _, el in kids}
                wanted = ('Eins', '日本語のタイトル')  # servers title them differently (file name or tag)
                self.assertTrue(all(any(w in t for w in wanted) for t in titles), (device, titles))
                self.assertTrue(all(any(w in t for t in titles) for w in wanted), (device, titles))
                self.assertEqual(int(attrs['total']), len(kids), device)
            out = self.xpmn('search', MDL, 'artist=SONDERZEICHEN & co')
            self.assertIn('1 of 1', out)
            self.assertIn("Odd & <Chars> 'quoted\"", out)
            attrs, kids = parse_container(self.xpmn('search', MDL, 'title=ärger Über', '--xml'))
            self.assertEqual([el.findtext(META + 'title') for _, _, el in kids], ['Ärger über Café'])
            attrs, kids = parse_container(self.xpmn('search', MDL, 'title=日本語', '--xml'))
            self.assertEqual([el.findtext(META + 'title') for _, _, el in kids], ['日本語のタイトル'])
            # A term the server matches as asked still pages through the server.
            self.assertIn('4 of 4', self.xpmn('search', MDL, 'artist=TEST artist'))

        def test_search_by_browsing_without_server_search(self):
            # Gerbera has no Search: the bridge walks the containers and filters.
            attrs, kids = parse_container(self.xpmn('search', GB, 'artist=Öther Ärtist', '--xml'))
            self.assertGreater(len(kids), 0)
            titles = {os.path.splitext(el.findtext(META + 'title'))[0].split(' - ')[-1] for _, _, el in kids}
            self.assertEqual(titles, {'Ogg Eins', '日本語のタイトル'})
            for _, _, el in kids:
                self.assertEqual(el.findtext(META + 'artist'), 'Öther Ärtist')
            attrs, kids = parse_container(self.xpmn('search', GB, 'class=image', '--xml'))
            self.assertGreater(len(kids), 0)
            self.assertEqual({el.findtext(META + 'class') for _, _, el in kids}, {'image'})

        def search_pages(self, device, term, page):
            """Every hit of a search, `page` at a time: (total, [ids])."""
            ids, start, total = [], 0, None
            while True:
                attrs, kids = parse_container(
                    self.xpmn('search', device, term, '--start', str(start), '--max', str(page), '--xml'))
                total = total if total is not None else int(attrs['total'])
                self.assertEqual(int(attrs['total']), total)  # the same on every page
                self.assertLessEqual(len(kids), page)
                if not kids:
                    return total, ids
                ids += [k['id'] for _, k, _ in kids]
                start += len(kids)

        def test_paging_through_search_by_browsing(self):
            total, ids = self.search_pages(GB, 'title=many-', 1000)  # pages cut by the result size budget
            self.assertGreaterEqual(total, GB_EXTRA)  # each file is in several of gerbera's views
            self.assertEqual(len(ids), total)
            self.assertEqual(len(set(ids)), total)     # nothing repeated
            self.assertEqual(self.search_pages(GB, 'title=many-', 97), (total, ids))  # same order, nothing missing

        def test_errors(self):
            r = run_xpmn(self.config, 'browse', MDL, 'no-such-id')
            self.assertEqual(r.returncode, 1)
            self.assertIn('item-not-found', r.stderr)
            r = run_xpmn(self.config, 'search', MDL, 'colour=red')
            self.assertEqual(r.returncode, 1)
            self.assertIn('bad-request', r.stderr)

        # -- watching ------------------------------------------------------------------
        def watch(self, phone, device, cid):
            reply = phone.send_iq_raw("<iq type='get' to='%s'><browse xmlns='%s' id='%s' max='1' "
                                      "subscribe='true'/></iq>" % (device, SERVER_NS, cid))
            self.assertIn("type=\"result\"", reply.replace("'", '"'), reply)
            node = ET.fromstring(reply).find(META + 'container').get('node')
            self.assertTrue(node and node.startswith('dyn-'), reply)
            return node

        def wait_event(self, phone, node, since, timeout=20):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                for m in phone.messages[since:]:
                    if "node=\"%s\"" % node in m.replace("'", '"'):
                        return ET.fromstring(m).find('.//' + META + 'container')
                time.sleep(0.1)
            self.fail('no watch event on %s within %ss' % (node, timeout))

        def test_watch_file_added(self):
            phone = self.phone()
            rel = 'Music/Misc/Neu hinzugefügt.mp3'
            # minidlna counts changes in SystemUpdateID (and sends no GENA event): any watch sees them.
            node_m = self.watch(phone, self.jids[MDL], self.mdl.FOLDERS)
            # gerbera's SystemUpdateID stays 0: the bridge re-reads the watched folder itself.
            folder = self.gb.folder_path(rel)
            gb_folder = self.gb.content_directory().find_container(folder[1:], folder[0])
            node_g = self.watch(phone, self.jids[GB], gb_folder)
            self.assertNotEqual(node_m, node_g)
            # rygel sends GENA events (ContainerUpdateIDs names the folder).
            folder = self.ry.folder_path(rel)
            ry_folder = self.ry.content_directory().find_container(folder[1:], folder[0])
            node_r = self.watch(phone, self.jids[RY], ry_folder)
            # The xpmn CLI watches gerbera's folder too, until the first change.
            cli_out = os.path.join(self.workdir, 'xpmn-watch.out')
            with open(cli_out, 'w') as f:
                cli = subprocess.Popen([XPMN_BIN, '-v', '--config', self.config, 'watch', GB, gb_folder, '--count', '1'],
                                       stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
            self.addCleanup(kill, cli)
            wait_for_text(lambda: read_text(cli_out), 'watching container %s' % gb_folder, timeout=20)
            time.sleep(2 * POLL + 0.5)  # a quiet spell: nothing changed, nothing is sent
            self.assertEqual([m for m in phone.messages if 'pubsub#event' in m], [])
            self.assertNotIn('changed', read_text(cli_out))
            since = len(phone.messages)
            self.mdl.add_file(rel, title='Neu hinzugefügt', artist='Test Artist', album='Nachschub', track=1)
            self.gb.add_file(rel, title='Neu hinzugefügt', artist='Test Artist', album='Nachschub', track=1)
            mark = self.bridge.log_mark()
            self.ry.add_file(rel, title='Neu hinzugefügt', artist='Test Artist', album='Nachschub', track=1)
            ev = self.wait_event(phone, node_r, since)
            self.assertEqual(ev.get('id'), ry_folder)
            # rygel's GENA event reached the bridge (the poll may have pushed the change first)
            # (bounded like every wait for an event: 5 s was too short with two modules at once)
            self.bridge.wait_for_log('upnp: event ContainerUpdateIDs', timeout=20, start=mark)
            ev = self.wait_event(phone, node_m, since)
            self.assertEqual(ev.get('id'), self.mdl.FOLDERS)
            self.assertGreater(int(ev.get('update-id')), 0)
            ev = self.wait_event(phone, node_g, since)
            self.assertEqual(ev.get('id'), gb_folder)
            self.assertEqual(cli.wait(20), 0, read_text(cli_out))  # --count 1: one change, unsubscribed
            self.assertIn('container %s changed, update-id' % gb_folder, read_text(cli_out))
            # The new file is there when the controller browses again.
            self.assertIn('Neu hinzugefügt', self.xpmn('search', MDL, 'album=nachschub'))
            # Unsubscribing ends the watch; a second time it is unknown.
            for node, device in ((node_m, MDL), (node_g, GB), (node_r, RY)):
                iq = ("<iq type='set' to='%s'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                      "<unsubscribe node='%s'/></pubsub></iq>" % (self.jids[device], node))
                self.assertIn('type="result"', phone.send_iq_raw(iq).replace("'", '"'))
                self.assertIn('item-not-found', phone.send_iq_raw(iq))

        def test_watch_ends_when_the_controller_goes_offline(self):
            phone = self.phone()
            self.watch(phone, self.jids[MDL], '0')
            mark = self.bridge.log_mark()
            phone.close()
            self.bridge.wait_for_log('went offline', timeout=10, start=mark)

        # -- the NAS goes and comes back (last: it restarts minidlna) -------------------
        def test_zz_nas_gone_and_back(self):
            phone = self.phone()
            device = self.jids[MDL]
            phone.wait_presence(device, timeout=10)
            # Crashed NAS (no byebye): the device is still announced, requests fail cleanly.
            self.mdl.kill()
            r = run_xpmn(self.config, 'browse', MDL, '0')
            self.assertEqual(r.returncode, 1)
            self.assertIn('remote-server-not-found', r.stderr)
            self.mdl.start()
            self.xpmn('browse', MDL, '0')
            # A NAS that shuts down says byebye: the device goes unavailable…
            self.mdl.stop()
            phone.wait_presence(device, available=False, timeout=15)
            # …and comes back with the same resource.
            self.mdl.start()
            phone.wait_presence(device, timeout=30)
            self.assertIn('1 of 1', self.xpmn('search', MDL, 'title=zweiter'))


if __name__ == '__main__':
    unittest.main()
