"""A small generated media library for UPnP/DLNA servers (minidlna, gerbera).

    manifest = make_library(dir, n_extra=1200)    # ~1 s (plus ~0.1 s per 1 000 extra)
    for m in manifest: m['path'], m['title'], m['duration'], m['mime'], ...

Made with ffmpeg from lavfi sources (sine tones, testsrc) with fixed durations
and bit-exact flags, so the same ffmpeg gives byte-identical files; each
file is made once per build directory and copied from there afterwards
(ffmpeg and ffprobe take ~0.3 s a run on a loaded machine, ~7 s a library):

    Music/Test Artist/Sine Album/01 - Ärger über Café.mp3      MP3, ID3v2.3, 2 s
    Music/Test Artist/Sine Album/02 - Zweiter Ton.mp3          MP3, 1 s
    Music/Test Artist/Lossless Album/01 - Ganz verlustfrei.flac FLAC, 2 s
    Music/Test Artist/Lossless Album/02 - Noch ein Ton.flac     FLAC, 1 s
    Music/Öther Ärtist/Vorbis Album/01 - Ogg Eins.ogg           Ogg Vorbis, 2 s
    Music/Öther Ärtist/Vorbis Album/02 - 日本語のタイトル.ogg    Ogg Vorbis, 1 s
    Music/Misc/a&b<c>'d".mp3      title `Odd & <Chars> 'quoted"`, no album, 1 s
    Video/Testbild.mp4            MPEG-4 part 2 + AAC, 160x120, 2 s
    Pictures/Testbild.jpg         one testsrc frame, 320x240
    Many/many-0001.mp3 ...        n_extra untagged copies (hard links) of one 1 s MP3

Every tagged audio file has title, artist, album, album_artist, track, date and
genre tags. The Many/ files carry no tags at all: both servers then title an
item by its file name (minidlna without the extension, gerbera with it), so
the 1 200 entries are still distinct; they are hard links of one file, so 1 200
of them cost one ffmpeg run and no disk space.

The manifest is a list of dicts, one per file: path (absolute), relpath,
kind ('audio'|'video'|'image'), title, artist, album, track, date, genre
(None where untagged), duration (seconds, float, as ffprobe measures it; MP3
and AAC carry encoder padding, so it can be ~0.05 s above the nominal one),
nominal_duration, size (bytes) and mime (the usual type; servers may differ,
e.g. minidlna says audio/x-flac and gerbera audio/flac for FLAC).
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

FFMPEG = shutil.which('ffmpeg') or '/usr/bin/ffmpeg'
FFPROBE = shutil.which('ffprobe') or '/usr/bin/ffprobe'
BITEXACT = ['-fflags', '+bitexact', '-flags:a', '+bitexact', '-flags:v', '+bitexact']

MIME = {'.mp3': 'audio/mpeg', '.flac': 'audio/flac', '.ogg': 'audio/ogg', '.mp4': 'video/mp4',
        '.jpg': 'image/jpeg'}
CODEC = {'.mp3': ['-c:a', 'libmp3lame', '-b:a', '64k', '-id3v2_version', '3', '-write_xing', '0'],
         '.flac': ['-c:a', 'flac'],
         '.ogg': ['-c:a', 'libvorbis', '-q:a', '1']}

ODD_NAME = 'a&b<c>\'d".mp3'

# relpath, title, artist, album, track, date, genre, seconds, frequency
TRACKS = [
    ('Music/Test Artist/Sine Album/01 - Ärger über Café.mp3', 'Ärger über Café', 'Test Artist',
     'Sine Album', 1, '2021', 'Electronic', 2, 440),
    ('Music/Test Artist/Sine Album/02 - Zweiter Ton.mp3', 'Zweiter Ton', 'Test Artist',
     'Sine Album', 2, '2021', 'Electronic', 1, 494),
    ('Music/Test Artist/Lossless Album/01 - Ganz verlustfrei.flac', 'Ganz verlustfrei', 'Test Artist',
     'Lossless Album', 1, '2022', 'Ambient', 2, 523),
    ('Music/Test Artist/Lossless Album/02 - Noch ein Ton.flac', 'Noch ein Ton', 'Test Artist',
     'Lossless Album', 2, '2022', 'Ambient', 1, 587),
    ('Music/Öther Ärtist/Vorbis Album/01 - Ogg Eins.ogg', 'Ogg Eins', 'Öther Ärtist',
     'Vorbis Album', 1, '2023', 'Folk', 2, 659),
    ('Music/Öther Ärtist/Vorbis Album/02 - 日本語のタイトル.ogg', '日本語のタイトル', 'Öther Ärtist',
     'Vorbis Album', 2, '2023', 'Folk', 1, 698),
    ('Music/Misc/' + ODD_NAME, 'Odd & <Chars> \'quoted"', 'Sonderzeichen & Co', None,
     1, '2020', 'Test', 1, 784),
]
VIDEO = ('Video/Testbild.mp4', 'Testbild', 2)
PICTURE = 'Pictures/Testbild.jpg'
MANY_DIR = 'Many'


# Made files, by what made them: $XPMN_MEDIA_CACHE, else BUILD/test-media
# (every test process of a build shares it; a write lands by rename, so two
# at once are safe); '' turns it off.
CACHE = os.environ.get('XPMN_MEDIA_CACHE', os.path.join(
    os.environ.get('XPMN_BUILD_DIR', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..',
                                                  'build', 'default')), 'test-media'))


class MediaError(AssertionError):
    pass


def _cache_path(what, suffix, cached):
    """Where the cache keeps the output of `what` (None: no cache). The key
    holds the ffmpeg binary's size and time, so another ffmpeg makes anew."""
    if not (cached and CACHE):
        return None
    st = os.stat(FFMPEG)
    key = json.dumps([FFMPEG, st.st_size, st.st_mtime_ns, list(what)], ensure_ascii=False)
    return os.path.join(CACHE, hashlib.sha256(key.encode()).hexdigest()[:32] + suffix)


def _store(cache, data):
    os.makedirs(CACHE, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=CACHE, suffix='.part')
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.replace(tmp, cache)


def ffmpeg(*args, timeout=60, cached=True):
    """Runs ffmpeg (quiet, overwrite) with bit-exact output into args[-1];
    raises with its stderr. `cached`: a copy of what the same arguments
    made before, if the cache has it."""
    out = args[-1]
    cache = _cache_path(args[:-1], os.path.splitext(out)[1].lower(), cached)
    if cache and os.path.exists(cache):
        shutil.copyfile(cache, out)
        return
    argv = [FFMPEG, '-nostdin', '-hide_banner', '-loglevel', 'error', '-y'] + list(args)
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise MediaError('ffmpeg failed (%d): %s\n%s' % (r.returncode, ' '.join(argv), r.stderr))
    if cache:
        with open(out, 'rb') as f:
            _store(cache, f.read())


def probe(path, timeout=30):
    """ffprobe's format section (duration, tags...) as a dict."""
    r = subprocess.run([FFPROBE, '-v', 'error', '-of', 'json', '-show_format', path],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise MediaError('ffprobe %s: %s' % (path, r.stderr))
    return json.loads(r.stdout)['format']


def probed_duration(path, cached=True):
    """probe(path)'s duration in seconds (3 decimals), remembered in the cache
    by the file's content."""
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    cache = _cache_path(['ffprobe duration', digest], '.json', cached)
    if cache and os.path.exists(cache):
        with open(cache) as f:
            return json.load(f)
    duration = round(float(probe(path)['duration']), 3)
    if cache:
        _store(cache, json.dumps(duration).encode())
    return duration


def make_audio(path, seconds=1, frequency=440, title=None, artist=None, album=None, track=None,
               date=None, genre=None, cached=True):
    """One audio file (format from the extension: .mp3/.flac/.ogg); tags only where given."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in CODEC:
        raise MediaError('no codec for %s' % path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    meta = []
    for key, value in (('title', title), ('artist', artist), ('album_artist', artist if album else None),
                       ('album', album), ('track', track), ('date', date), ('genre', genre)):
        if value is not None:
            meta += ['-metadata', '%s=%s' % (key, value)]
    ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=%d:sample_rate=44100:duration=%s' % (frequency, seconds),
           '-ac', '1', '-map_metadata', '-1', *meta, *CODEC[ext], *BITEXACT, path, cached=cached)
    return path


def make_big_wav(path, size):
    """A stereo 48 kHz WAV of about `size` bytes whose samples repeat 0..255
    (no ffmpeg: written straight, for files far bigger than every buffer on
    the way of a transfer)."""
    import wave
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with wave.open(path, 'wb') as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(bytes(range(256)) * (size // 256))
    return path


def make_video(path, seconds=2, title=None, cached=True):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    meta = ['-metadata', 'title=' + title] if title else []
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=duration=%s:size=160x120:rate=10' % seconds,
           '-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=44100:duration=%s' % seconds,
           '-map_metadata', '-1', *meta, '-c:v', 'mpeg4', '-q:v', '5', '-pix_fmt', 'yuv420p',
           '-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-shortest', *BITEXACT, path, cached=cached)
    return path


def make_picture(path, cached=True):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=1', '-frames:v', '1', '-q:v', '4',
           *BITEXACT, path, cached=cached)
    return path


def _entry(root, relpath, kind, title=None, artist=None, album=None, track=None, date=None,
           genre=None, nominal=None, duration=None, cached=True):
    path = os.path.join(root, relpath)
    if duration is None and kind != 'image':
        duration = probed_duration(path, cached)
    return {'path': path, 'relpath': relpath, 'kind': kind, 'title': title, 'artist': artist,
            'album': album, 'track': track, 'date': date, 'genre': genre, 'duration': duration,
            'nominal_duration': nominal, 'size': os.path.getsize(path),
            'mime': MIME[os.path.splitext(path)[1].lower()]}


def many_name(i):
    return 'many-%04d.mp3' % i


def make_library(root, n_extra=0, cached=True):
    """Writes the library under `root` (created; must not hold another library)
    and returns its manifest (sorted by relpath). `cached=False`: every file
    made by ffmpeg now (the check that they are byte-identical each time)."""
    root = os.path.abspath(root)
    os.makedirs(root, exist_ok=True)
    manifest = []
    for relpath, title, artist, album, track, date, genre, seconds, freq in TRACKS:
        make_audio(os.path.join(root, relpath), seconds, freq, title, artist, album, track, date, genre, cached)
        manifest.append(_entry(root, relpath, 'audio', title, artist, album, track, date, genre, seconds,
                               cached=cached))
    rel, title, seconds = VIDEO
    make_video(os.path.join(root, rel), seconds, title, cached)
    manifest.append(_entry(root, rel, 'video', title, nominal=seconds, cached=cached))
    make_picture(os.path.join(root, PICTURE), cached)
    manifest.append(_entry(root, PICTURE, 'image', None))
    if n_extra:
        many = os.path.join(root, MANY_DIR)
        os.makedirs(many, exist_ok=True)
        seed = os.path.join(many, many_name(1))
        make_audio(seed, 1, 220, cached=cached)  # no tags at all
        first = _entry(root, os.path.join(MANY_DIR, many_name(1)), 'audio', nominal=1, cached=cached)
        manifest.append(first)
        for i in range(2, n_extra + 1):
            rel = os.path.join(MANY_DIR, many_name(i))
            if os.path.lexists(os.path.join(root, rel)):
                os.remove(os.path.join(root, rel))
            try:
                os.link(seed, os.path.join(root, rel))
            except OSError:
                shutil.copyfile(seed, os.path.join(root, rel))
            e = dict(first, path=os.path.join(root, rel), relpath=rel)
            manifest.append(e)
    manifest.sort(key=lambda m: m['relpath'])
    return manifest


def summary(manifest):
    """Counts per kind and top-level folder, for assertions and messages."""
    out = {'total': len(manifest)}
    for m in manifest:
        out[m['kind']] = out.get(m['kind'], 0) + 1
        top = m['relpath'].split('/', 1)[0]
        out['dir:' + top] = out.get('dir:' + top, 0) + 1
    return out


if __name__ == '__main__':  # /usr/bin/python3 -m xpmntest.media DIR [N_EXTRA]
    import sys
    import time
    t = time.monotonic()
    man = make_library(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    for m in man[:12]:
        print(json.dumps(m, ensure_ascii=False))
    print(summary(man), '%.2fs' % (time.monotonic() - t))
