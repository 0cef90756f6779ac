"""Real UPnP MediaRenderers in a network namespace, for tests of the renderer
side of the UPnP adapter: gmediarender 0.1 (libupnp) and rygel 0.42 with only
its Playbin plugin. Both announce themselves over SSDP, so both refuse to run
outside a NetNs.

    ns = NetNs.current()
    gm = GMediaRender(os.path.join(tmp, 'gm'), netns=ns).start()   # on upnp0 (127.0.0.2)
    ry = RygelRenderer(os.path.join(tmp, 'ry'), netns=ns).start()  # on lo
    gm.transport('GetTransportInfo')['CurrentTransportState']       # its own SOAP answers
    gm.rendering('GetVolume')['CurrentVolume']
    gm.position()                                                   # RelTime in seconds

gmediarender: libupnp skips loopback interfaces (like gerbera, see nas.py), so
it runs on the namespace's upnp interface (NetNs.add_upnp_interface). Audio
goes to `fakeaudiosink`, which keeps to the clock like a sound card, so
positions advance in real time. It has no playlist of its own (Next: 501).
Its description URL is learnt from its SSDP answer.

rygel (Playbin): the environment and the config are built like nas.Rygel's
(no session bus, everything under the work dir), with every plugin disabled but
Playbin; the device description is derived from MediaRenderer2.xml with our UDN.
GStreamer's playbin picks its audio sink through autoaudiosink, which falls back
to fakeaudiosink when there is no sound device (none in a namespace).
"""
import os
import time

from . import nas
from .netns import IP
from .upnp_direct import UpnpError, fetch_description, find_service, soap_call, ssdp_search, parse_duration

GMEDIARENDER = '/usr/bin/gmediarender'
MEDIA_RENDERER = 'urn:schemas-upnp-org:device:MediaRenderer:1'
AVT = 'urn:schemas-upnp-org:service:AVTransport:'
RCS = 'urn:schemas-upnp-org:service:RenderingControl:'
RYGEL_RENDERER_TEMPLATE = '/usr/share/rygel/xml/MediaRenderer2.xml'


def _no_library(workdir, netns):
    """A renderer has no library; nas's process control wants a directory."""
    if netns is None:
        raise nas.NasError('a renderer needs a NetNs: on the host it would announce itself on the LAN')
    os.makedirs(os.path.join(workdir, 'empty'), exist_ok=True)
    return os.path.join(workdir, 'empty')


class _Renderer:
    """The renderer's own SOAP answers, mixed into nas's process control
    (start/stop/kill, bounded waits)."""
    _services = None

    def services(self):
        """{'avt': service, 'rcs': service} from the description (see upnp_direct.find_service)."""
        if self._services is None:
            root, base, _ = fetch_description(self.description_url, self.netns)
            self._services = {'avt': find_service(root, base, AVT), 'rcs': find_service(root, base, RCS)}
        return self._services

    def _call(self, which, action, args):
        s = self.services()[which]
        return soap_call(s['control'], s['type'], action, args, self.netns)

    def transport(self, action, *args):
        return self._call('avt', action, [('InstanceID', 0)] + list(args))

    def rendering(self, action, *args):
        return self._call('rcs', action, [('InstanceID', 0), ('Channel', 'Master')] + list(args))

    def state(self):
        return self.transport('GetTransportInfo')['CurrentTransportState']

    def position(self):
        return parse_duration(self.transport('GetPositionInfo')['RelTime'])

    def track_uri(self):
        return self.transport('GetPositionInfo')['TrackURI']

    def volume(self):
        return int(self.rendering('GetVolume')['CurrentVolume'])

    def _wait_ready(self, expected, deadline):
        def answers():
            try:
                return self.state() is not None
            except (OSError, UpnpError, KeyError):  # not listening or not ready yet: ask again
                return False
        self._wait(answers, deadline, 'GetTransportInfo to answer')

    def count_items(self):
        return 0


class GMediaRender(_Renderer, nas._MediaServer):
    kind = 'gmediarender'
    log_name = 'gmediarender.log'

    def __init__(self, workdir, netns, friendly_name='xpmn gmediarender',
                 uuid='676d6564-6961-7265-6e64-000000000001', interface=('upnp0', '127.0.0.2'), **kw):
        nas._MediaServer.__init__(self, workdir, _no_library(workdir, netns), netns, None, friendly_name, uuid, **kw)
        self.interface, self._host = interface
        self.console_file = self.log_file  # --logfile stdout
        self._location = None

    @property
    def host(self):
        return self._host

    @property
    def description_url(self):
        return self._location

    def _command(self, rescan):
        if self.netns.run([IP, 'link', 'show', self.interface], timeout=10).returncode != 0:
            self.netns.add_upnp_interface(self.interface, self._host)
        self._location = None
        return [GMEDIARENDER, '-I', self.interface, '-f', self._friendly_name, '-u', self.uuid,
                '--gstout-audiosink=fakeaudiosink', '--logfile', 'stdout']

    def _wait_started(self, deadline):
        def found():
            for r in ssdp_search(self.netns, st=MEDIA_RENDERER, timeout=1.0):
                if r['udn'] == self.udn:
                    self._location = r['location']
                    return True
            return False
        self._wait(found, deadline, 'its SSDP answer')
        self._services = None


class RygelRenderer(_Renderer, nas.Rygel):
    kind = 'rygel-playbin'

    def __init__(self, workdir, netns, friendly_name='xpmn rygel renderer',
                 uuid='52796765-6c00-0000-0000-0000000000aa', **kw):
        nas.Rygel.__init__(self, workdir, _no_library(workdir, netns), netns=netns, friendly_name=friendly_name,
                           uuid=uuid, **kw)
        self.description_file = os.path.join(self.config_dir, 'Rygel', 'Playbin.xml')

    def write_config(self):
        for d in (self.home, self.config_dir, self.cache_dir, self.data_dir, self.runtime_dir,
                  os.path.dirname(self.description_file)):
            os.makedirs(d, mode=0o700, exist_ok=True)
        disabled = ''.join('[%s]\nenabled=false\n\n' % name for name in (
            'MediaExport', 'Tracker', 'Tracker3', 'LMS', 'GstLaunch', 'MPRIS', 'External', 'Ruih', 'Test',
            'ExampleServerPluginVala', 'ExampleServerPluginC', 'ExampleRendererPluginVala',
            'ExampleRendererPluginC'))
        with open(self.config_file, 'w') as f:
            f.write('# Generated by xpmntest.renderers for one test run.\n'
                    '[general]\nipv6=false\ninterface=lo\nport=%d\nenable-transcoding=false\n'
                    'allow-upload=false\nallow-deletion=false\nacl-fallback-policy=true\n'
                    'media-engine=librygel-media-engine-gst.so\nlog-level=*:4\n\n'
                    '[Playbin]\nenabled=true\ntitle=%s\n\n%s'
                    % (self.port, nas._keyfile_value(self._friendly_name), disabled))
        with open(RYGEL_RENDERER_TEMPLATE) as f:
            template = f.read()
        if '<UDN></UDN>' not in template:
            raise nas.NasError('%s has no empty <UDN></UDN> to fill in' % RYGEL_RENDERER_TEMPLATE)
        with open(self.description_file, 'w') as f:
            f.write(template.replace('<UDN></UDN>', '<UDN>%s</UDN>' % self.udn))
        return self.config_file

    def _command(self, rescan):
        self.write_config()
        self._services = None
        return [nas.RYGEL]
