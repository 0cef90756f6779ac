"""A small generated media library served by a real minidlna, and a direct
ContentDirectory client to compare the bridge's answers with.

Run inside a network namespace with multicast on lo (see
test_upnp_directory.py): minidlna announces itself over SSDP on lo.
"""
import html
import http.client
import os
import subprocess
import time
import urllib.parse
import xml.etree.ElementTree as ET

from . import reaper
from .logs import read_text


def _ffmpeg(*args):
    subprocess.run(['ffmpeg', '-loglevel', 'error', '-y'] + list(args), check=True, timeout=60)


def make_library(root, n_extra=0):
    """Tagged audio (MP3/FLAC/OGG, non-ASCII and &<>'\" names), a video and a picture,
    plus `n_extra` copies of one tiny track in Many/ (for paging). Returns the
    list of the tagged files."""
    music = os.path.join(root, 'Music', 'Nightwish', 'Dark Passion Play')
    other = os.path.join(root, 'Music', 'Various')
    video = os.path.join(root, 'Video')
    pics = os.path.join(root, 'Pictures')
    for d in (music, other, video, pics):
        os.makedirs(d, exist_ok=True)
    files = []

    def audio(path, title, artist, album, track, seconds, freq):
        _ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=%d:duration=%d' % (freq, seconds),
                '-metadata', 'title=' + title, '-metadata', 'artist=' + artist, '-metadata', 'album=' + album,
                '-metadata', 'track=%d' % track, '-metadata', 'date=2007', '-metadata', 'genre=Metal', path)
        files.append(path)

    audio(os.path.join(music, '01 Ärger.mp3'), 'Ärger über Café', 'Nightwish', 'Dark Passion Play', 1, 3, 440)
    audio(os.path.join(music, '02 Amaranth.flac'), 'Amaranth', 'Nightwish', 'Dark Passion Play', 2, 2, 550)
    audio(os.path.join(other, 'a&b<c>\'d".ogg'), 'Odd & <Name>', 'Someone Else', 'Odds', 1, 2, 660)
    clip = os.path.join(video, 'clip.mp4')
    _ffmpeg('-f', 'lavfi', '-i', 'testsrc=duration=2:size=160x120:rate=10', '-f', 'lavfi',
            '-i', 'sine=frequency=300:duration=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
            '-shortest', '-metadata', 'title=clip', clip)
    files.append(clip)
    pic = os.path.join(pics, 'photo.jpg')
    _ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=320x240', '-frames:v', '1', pic)
    files.append(pic)
    if n_extra:
        many = os.path.join(root, 'Many')
        os.makedirs(many)
        seed = os.path.join(many, 'many-0000.mp3')
        _ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=200:duration=1', '-metadata', 'title=many 0000', seed)
        for i in range(1, n_extra):
            os.link(seed, os.path.join(many, 'many-%04d.mp3' % i))
    return files


def _soap_browse(control_url, object_id, start, count):
    u = urllib.parse.urlsplit(control_url)
    body = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
            '<u:Browse xmlns:u="urn:schemas-upnp-org:service:ContentDirectory:1">'
            '<ObjectID>%s</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag><Filter>*</Filter>'
            '<StartingIndex>%d</StartingIndex><RequestedCount>%d</RequestedCount><SortCriteria></SortCriteria>'
            '</u:Browse></s:Body></s:Envelope>') % (html.escape(object_id), start, count)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request('POST', u.path, body.encode(), {
        'Content-Type': 'text/xml; charset="utf-8"',
        'SOAPACTION': '"urn:schemas-upnp-org:service:ContentDirectory:1#Browse"'})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status != 200:
        raise AssertionError('direct Browse(%s) failed: HTTP %d %s' % (object_id, resp.status, data[:300]))
    root = ET.fromstring(data)
    result = root.find('.//Result').text or ''
    total = int(root.find('.//TotalMatches').text)
    returned = int(root.find('.//NumberReturned').text)
    return result, returned, total


def direct_browse(control_url, object_id):
    """All children of a container straight from the server: [{'id', 'title', 'kind'}]."""
    out, start = [], 0
    ns = {'d': 'urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/', 'dc': 'http://purl.org/dc/elements/1.1/'}
    while True:
        didl, returned, total = _soap_browse(control_url, object_id, start, 500)
        doc = ET.fromstring(didl)
        for el in doc:
            kind = el.tag.split('}')[1]
            out.append({'id': el.get('id'), 'kind': kind, 'title': el.findtext('dc:title', '', ns)})
        start += returned
        if returned == 0 or start >= total:
            return out


class MiniDlna:
    """minidlnad in the foreground with its own config, db and log, bound to lo."""

    def __init__(self, workdir, files, friendly_name='Test NAS', port=8200,
                 uuid='4d696e69-444c-164e-9d41-00000000abcd'):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(os.path.join(self.workdir, 'db'), exist_ok=True)
        self.media = os.path.commonpath(files)
        self.friendly_name = friendly_name
        self.port = port
        self.udn = 'uuid:' + uuid
        self.conf = os.path.join(self.workdir, 'minidlna.conf')
        self.log_file = os.path.join(self.workdir, 'minidlna.log')
        with open(self.conf, 'w') as f:
            f.write('port=%d\nnetwork_interface=lo\nmedia_dir=%s\ndb_dir=%s\nlog_dir=%s\nfriendly_name=%s\n'
                    'uuid=%s\ninotify=yes\nnotify_interval=10\n' % (
                        port, self.media, os.path.join(self.workdir, 'db'), self.workdir, friendly_name, uuid))
        self.proc = None
        self.control_url = 'http://127.0.0.1:%d/ctl/ContentDir' % port

    def start(self, expected_items, timeout=30):
        with open(self.log_file, 'ab') as log:
            self.proc = subprocess.Popen(['minidlnad', '-f', self.conf, '-d', '-R', '-P',
                                          os.path.join(self.workdir, 'minidlna.pid')],
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:  # until the scan has put every file into the database
            try:
                _, _, total = _soap_browse(self.control_url, '64', 0, 1)
                items = self._count_items('64')
                if items >= expected_items:
                    return
            except (OSError, AssertionError, ET.ParseError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError('minidlna did not serve %d items within %ss\n%s' % (
                    expected_items, timeout, read_text(self.log_file)[-3000:]))
            time.sleep(0.2)

    def _count_items(self, cid, depth=0):
        n = 0
        for o in direct_browse(self.control_url, cid):
            if o['kind'] == 'item':
                n += 1
            elif depth < 6:
                n += self._count_items(o['id'], depth + 1)
        return n

    def kill(self):
        """Dies without saying byebye, like a NAS losing power."""
        reaper.kill(self.proc)

    def stop(self):
        reaper.terminate(self.proc)
