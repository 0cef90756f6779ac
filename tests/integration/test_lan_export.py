"""Another home's media server shown to this LAN's UPnP control points
(`[upnp] show_remote_servers`): Prosody, minidlna and two bridges in a
private network namespace. Bridge B (account `home`) exports the NAS; bridge
A (account `away`) was paired with B as a controller (its state directory,
through `xpmn pair`, before it started), B's owner granted `away` read on the
NAS, and A shows B's server on its network (loopback here) as a UPnP
MediaServer.

An independent UPnP client (xpmntest.upnp_direct, stdlib only) finds that
device by SSDP, reads its description, browses it (the tree has the NAS's
own titles; BrowseMetadata of the root, of a container and of an item;
an unknown id is UPnP error 701), searches it (title, artist, class; what
the profile cannot express is error 708) and fetches an item's resource whole and
by range (bytes equal to the NAS's file; 206 + Content-Range). Bridge B
never shows A's device as one of its own (the loop guard), and when B
stops, A's device leaves the network (byebye) and comes back with B.
"""
import functools
import time
import unittest
import urllib.parse

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'lan-export-s3cret'
NAS_NAME = 'Faraway NAS'
EXPORT_MODEL = 'xpmn-bridge export'
WAIT = 60  # seconds: bound of every wait (a guard against hanging, not a speed goal)


if not inside_namespace():
    InNamespace = module_in_namespace('test_lan_export', prefix='xpmn-export')

else:
    import http.client

    from xpmntest.bridge import (Bridge, class_workdir, controller_config, pair_other_bridge, pair_xpmn, run_xpmn,
                                 start_secure_home, xmpp_section)
    from xpmntest.netns import NetNs
    from xpmntest.prosody import Prosody
    from xpmntest.upnp_direct import ContentDirectory, UpnpError, ssdp_search
    from xpmntest import waits

    wait_until = functools.partial(waits.wait_until, timeout=WAIT, interval=0.5)

    def get(url, headers=None):
        """(status, headers, body) of a GET of `url` in this namespace."""
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        try:
            path = u.path + ('?' + u.query if u.query else '')
            conn.request('GET', path, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    class TestLanExport(unittest.TestCase):

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-export-')
            start_secure_home(cls, Prosody, PASSWORD, NAS_NAME, users=('home', 'away'))
            cls.owner_b = controller_config(cls.workdir, cls.server, 'home', PASSWORD, 'owner-b')
            pair_xpmn(cls.bridge, cls.owner_b, cls.bridge_jid)
            pair_other_bridge(cls, cls.owner_b, 'away', PASSWORD)  # before A starts
            # Bridge A shows other bridges' servers and none of its own network's.
            cls.bridge_a = Bridge(cls.workdir, xmpp_section(cls.server, 'away', PASSWORD), name='bridge-a',
                                  upnp={'exclude': [NAS_NAME], 'renderers': False, 'show_remote_servers': True})
            cls.addClassCleanup(cls.bridge_a.kill)
            cls.addClassCleanup(cls.bridge_a.stop)
            cls.bridge_a.start()
            cls.export_name = '%s (%s)' % (NAS_NAME, cls.server.jid('home'))

        # -- finding the device ---------------------------------------------------
        @classmethod
        def exports(cls):
            """The ContentDirectories of the exported devices SSDP finds now."""
            out = []
            for found in ssdp_search(NetNs.current(), timeout=1.5):
                try:
                    cd = ContentDirectory(found['location'], ns=NetNs.current())
                except (UpnpError, OSError):
                    continue
                if cd.model_name == EXPORT_MODEL:
                    out.append(cd)
            return out

        def export(self):
            try:
                found = wait_until(self.exports, 'bridge A shows B\'s server on the LAN')
            except AssertionError as e:
                raise AssertionError('%s\n--- bridge A ---\n%s' % (e, self.bridge_a.log_tail())) from None
            self.assertEqual(len(found), 1, found)
            return found[0]

        def nas_directory(self):
            for found in ssdp_search(NetNs.current(), timeout=1.5):
                cd = ContentDirectory(found['location'], ns=NetNs.current())
                if cd.friendly_name == NAS_NAME:
                    return cd
            self.fail('the NAS itself is not found by SSDP')

        def item_of(self, cd, entry):
            """The exported item of a library entry (by title, in the tree)."""
            items = [o for o in cd.walk('0') if o['kind'] == 'item' and o['title'] == entry['title']]
            self.assertTrue(items, 'no item titled %r in the exported tree' % entry['title'])
            return items[0]

        # -- tests ----------------------------------------------------------------
        def test_description_names_the_server_and_its_home(self):
            cd = self.export()
            self.assertEqual(cd.friendly_name, self.export_name)
            self.assertTrue(cd.device_type.startswith('urn:schemas-upnp-org:device:MediaServer:'))
            self.assertIn('dc:title', cd.search_capabilities().split(','))
            root = cd.metadata('0')
            self.assertEqual((root['kind'], root['id'], root['parent_id']), ('container', '0', '-1'))
            self.assertEqual(root['title'], NAS_NAME)
            self.assertGreater(root['child_count'], 0)

        def test_tree_has_the_nas_titles(self):
            exported = {o['title'] for o in self.export().walk('0') if o['kind'] == 'item'}
            own = {o['title'] for o in self.nas_directory().walk('0') if o['kind'] == 'item'}
            self.assertTrue(own)
            self.assertEqual(exported, own)

        def test_metadata_of_a_container_and_an_item(self):
            cd = self.export()
            _, _, total, _ = cd.browse('0')
            children = cd.browse_all('0')
            self.assertEqual(len(children), total)
            container = next(c for c in children if c['kind'] == 'container')
            meta = cd.metadata(container['id'])
            self.assertEqual((meta['kind'], meta['title'], meta['parent_id']), ('container', container['title'], '0'))
            self.assertEqual(meta['child_count'], len(cd.browse_all(container['id'])))
            entry = next(e for e in self.manifest if e['kind'] == 'audio')
            item = self.item_of(cd, entry)
            meta = cd.metadata(item['id'])
            self.assertEqual((meta['kind'], meta['title'], meta['parent_id']), ('item', entry['title'],
                                                                                 item['parent_id']))
            self.assertEqual(meta['res'][0]['url'], item['res'][0]['url'])
            with self.assertRaises(UpnpError) as caught:
                cd.browse('no-such-object', 'BrowseMetadata')
            self.assertEqual(caught.exception.code, 701)

        def test_an_item_whole_and_by_range(self):
            cd = self.export()
            entry = next(e for e in self.manifest if e['kind'] == 'audio')
            with open(entry['path'], 'rb') as f:
                data = f.read()
            item = self.item_of(cd, entry)
            res = item['res'][0]
            self.assertEqual(res['mime'], entry['mime'])
            self.assertIn('DLNA.ORG_OP=01', res['protocol_info'])
            self.assertEqual(int(res['size']), len(data))
            url = res['url']
            self.assertEqual(urllib.parse.urlsplit(url).hostname, '127.0.0.1')
            status, _, body = get(url)
            self.assertEqual((status, body), (200, data))
            status, headers, body = get(url, {'Range': 'bytes=100-1099'})
            self.assertEqual(status, 206)
            self.assertEqual(headers.get('Content-Range'), 'bytes 100-1099/%d' % len(data))
            self.assertEqual(body, data[100:1100])
            # Not an item of a shown server: nothing.
            other = url.replace(urllib.parse.quote(self.device, safe=''), urllib.parse.quote(
                self.server.jid('home') + '/upnp-00000000', safe=''))
            self.assertNotEqual(other, url)
            self.assertEqual(get(other)[0], 404)

        def test_search_by_title_artist_and_class(self):
            cd = self.export()
            audio = [e for e in self.manifest if e['kind'] == 'audio']
            # Case-insensitive with Unicode folding, whatever the NAS's own search does.
            hits = cd.search_all('0', 'dc:title contains "ärger über" and upnp:class derivedfrom "object.item"')
            self.assertEqual([h['title'] for h in hits], ['Ärger über Café'])
            self.assertTrue(hits[0]['res'][0]['url'].startswith('http://127.0.0.1:'))
            artist = audio[0]['artist']
            hits = cd.search_all('0', '(upnp:artist contains "%s") and upnp:class derivedfrom '
                                      '"object.item.audioItem"' % artist)
            self.assertEqual(sorted(h['title'] for h in hits),
                             sorted(e['title'] for e in audio if e['artist'] == artist))
            videos = cd.search_all('0', 'upnp:class derivedfrom "object.item.videoItem" and dc:title contains "t"')
            self.assertTrue(videos)
            self.assertTrue(all(h['class'] == 'object.item.videoItem' for h in videos), videos)
            for unsupported in ('dc:title contains "a" or dc:title contains "b"', '*',
                                'upnp:class = "object.container.album.musicAlbum"', 'dc:title = "x'):
                with self.assertRaises(UpnpError) as caught:
                    cd.search('0', unsupported)
                self.assertEqual(caught.exception.code, 708, unsupported)

        def test_bridge_b_does_not_show_the_export_again(self):
            self.export()  # on the network B watches too
            time.sleep(3)  # B has had its announcement for a while (loopback): it would have added it
            r = run_xpmn(self.finder, 'devices')
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.count('media-server'), 1, r.stdout)

        def test_the_device_leaves_with_the_server_and_comes_back(self):
            udn = self.export().udn
            self.bridge.stop()
            try:
                wait_until(lambda: not self.exports(), 'the exported device gone after bridge B stopped')
            finally:
                self.bridge.start()
            self.assertEqual(self.export().udn, udn)


if __name__ == '__main__':
    unittest.main()
