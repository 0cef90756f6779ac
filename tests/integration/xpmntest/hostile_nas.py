"""A fake UPnP MediaServer that misbehaves on purpose: the faults real servers
cannot be made to produce (a server that never answers, a 200 MiB answer, a
broken envelope, a SOAP fault where none is due...).

    nas = HostileNas(friendly_name='Hostile NAS', udn='uuid:...')
    nas.start()                                  # HTTP + SSDP, ssdp:alive sent
    nas.behave('music', 'slow')                  # per object id (or action name)
    nas.behave('hostile', 'didl:hostile_deep.xml', flag='BrowseDirectChildren')
    ... drive a control point (the bridge) against it ...
    rec = nas.wait_request(object_id='huge')     # what was asked, what it cost
    rec['bytes_sent'], rec['client_gone']
    nas.stop()                                   # ssdp:byebye; nas.kill(): none

Everything runs in this process (stdlib only), on 127.0.0.1 and the SSDP
group 239.255.255.250:1900 joined on 127.0.0.1: start() refuses to run
outside a private network namespace (xpmntest.netns: the test module re-runs
itself in one), so nothing is announced on a real network.

The server
- answers M-SEARCH (ssdp:all, upnp:rootdevice, its uuid, MediaServer:1,
  ContentDirectory:1, ConnectionManager:1) and sends ssdp:alive NOTIFYs at
  start, ssdp:byebye at stop();
- serves a device description (MediaServer:1, ContentDirectory:1 and
  ConnectionManager:1) and both SCPDs; SUBSCRIBE/UNSUBSCRIBE are accepted
  (no events are ever sent);
- answers ContentDirectory actions (Browse, Search, GetSearchCapabilities,
  GetSortCapabilities, GetSystemUpdateID) from a tiny tree (TREE), unless the
  behaviour table says otherwise for the action's object id (Browse's
  ObjectID, Search's ContainerID; an action without one is looked up by its
  name, e.g. behave('GetSearchCapabilities', 'slow')). By default every
  behaviour name is also an object id with that behaviour ('slow', 'huge', ...).

Behaviours (BEHAVIOURS):
  normal        the tree's answer; an id not in the tree: UPnP error 701
  slow          answers only after `slow_seconds` (20 s); gives up as soon as
                the client hangs up or the fixture stops
  huge          a SOAP answer of `huge_bytes` (200 MiB) announced by
                Content-Length, made lazily chunk by chunk: never in memory
  huge_chunked  the same with Transfer-Encoding: chunked (no length known)
  huge_after_405  405 Method Not Allowed to POST (gupnp then retries with
                M-POST), and the huge answer to the M-POST
  gzip_bomb     that huge answer gzip-compressed (Content-Encoding: gzip,
                Content-Length of the small compressed body), whether or not
                the client offered gzip
  garbage       HTTP 200, a valid envelope whose Result is not XML
  garbage_envelope  HTTP 200, text/xml, and the body is not XML at all
  truncated     Content-Length promises more than is sent, then the
                connection is closed
  soap_fault    HTTP 500 with UPnP error 701 "No such object"
  http_500      HTTP 500 with an HTML page (no SOAP)
  didl:FILE     HTTP 200, Result = tests/data/didl/FILE verbatim (the recorded
                and hostile DIDL-Lite documents of the unit tests)

Every control request is recorded (requests(), wait_request()): action,
object_id, flag, behaviour, status, announced (Content-Length or None),
bytes_sent (body bytes on the wire, chunk framing included; counted as the
kernel accepted them), client_gone (the client closed the connection before
the answer was complete), done, seconds. Senders never block for more than
0.2 s at a time: a client that stops reading for `stall_seconds` is given up,
stop() ends every request in flight within a second.
"""
import email.utils
import http.server
import itertools
import os
import select
import socket
import threading
import time
import uuid as uuid_module
import xml.etree.ElementTree as ET
import zlib
from xml.sax.saxutils import escape, quoteattr

from . import ports, reaper
from .netns import inside_namespace
from .upnp_direct import CDS, MEDIA_SERVER, NS, SSDP_ADDR, _local, _parse_ssdp

CM = 'urn:schemas-upnp-org:service:ConnectionManager:1'
SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'
DIDL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'data', 'didl')
MiB = 1024 * 1024
CHUNK = 64 * 1024

BEHAVIOURS = ('normal', 'slow', 'huge', 'huge_chunked', 'huge_after_405', 'gzip_bomb', 'garbage', 'garbage_envelope', 'truncated',
              'soap_fault', 'http_500')

# (id, parent, title, upnp:class, extra): the normal content. Containers first.
TREE = [
    ('0', '-1', 'Hostile NAS', 'object.container.storageFolder', {}),
    ('music', '0', 'Music', 'object.container.storageFolder', {}),
    ('photos', '0', 'Photos', 'object.container.storageFolder', {}),
    ('hostile', '0', 'Hostile', 'object.container.storageFolder', {}),  # empty: for didl: children
    ('m1', 'music', 'Erster Ton', 'object.item.audioItem.musicTrack',
     {'artist': 'Hostile Band', 'album': 'Lauter Fehler', 'track': '1', 'mime': 'audio/mpeg',
      'duration': '0:03:05.000', 'ext': 'mp3'}),
    ('m2', 'music', 'Zweiter Ton', 'object.item.audioItem.musicTrack',
     {'artist': 'Hostile Band', 'album': 'Lauter Fehler', 'track': '2', 'mime': 'audio/mpeg',
      'duration': '0:01:00.500', 'ext': 'mp3'}),
    ('p1', 'photos', 'Bild', 'object.item.imageItem.photo', {'mime': 'image/jpeg', 'ext': 'jpg'}),
]

_PAGED = [('Filter', 'in', 'A_ARG_TYPE_Filter'), ('StartingIndex', 'in', 'A_ARG_TYPE_Index'),  # Browse's and Search's
          ('RequestedCount', 'in', 'A_ARG_TYPE_Count'), ('SortCriteria', 'in', 'A_ARG_TYPE_SortCriteria'),
          ('Result', 'out', 'A_ARG_TYPE_Result'), ('NumberReturned', 'out', 'A_ARG_TYPE_Count'),
          ('TotalMatches', 'out', 'A_ARG_TYPE_Count'), ('UpdateID', 'out', 'A_ARG_TYPE_UpdateID')]
CDS_ACTIONS = [
    ('GetSearchCapabilities', [('SearchCaps', 'out', 'SearchCapabilities')]),
    ('GetSortCapabilities', [('SortCaps', 'out', 'SortCapabilities')]),
    ('GetSystemUpdateID', [('Id', 'out', 'SystemUpdateID')]),
    ('Browse', [('ObjectID', 'in', 'A_ARG_TYPE_ObjectID'), ('BrowseFlag', 'in', 'A_ARG_TYPE_BrowseFlag')] + _PAGED),
    ('Search', [('ContainerID', 'in', 'A_ARG_TYPE_ObjectID'),
                ('SearchCriteria', 'in', 'A_ARG_TYPE_SearchCriteria')] + _PAGED),
]
# (name, dataType, sendEvents, allowed values)
CDS_VARIABLES = [
    ('SearchCapabilities', 'string', False, ()), ('SortCapabilities', 'string', False, ()),
    ('SystemUpdateID', 'ui4', True, ()), ('ContainerUpdateIDs', 'string', True, ()),
    ('A_ARG_TYPE_ObjectID', 'string', False, ()), ('A_ARG_TYPE_Result', 'string', False, ()),
    ('A_ARG_TYPE_SearchCriteria', 'string', False, ()),
    ('A_ARG_TYPE_BrowseFlag', 'string', False, ('BrowseMetadata', 'BrowseDirectChildren')),
    ('A_ARG_TYPE_Filter', 'string', False, ()), ('A_ARG_TYPE_SortCriteria', 'string', False, ()),
    ('A_ARG_TYPE_Index', 'ui4', False, ()), ('A_ARG_TYPE_Count', 'ui4', False, ()),
    ('A_ARG_TYPE_UpdateID', 'ui4', False, ()),
]
CM_ACTIONS = [
    ('GetProtocolInfo', [('Source', 'out', 'SourceProtocolInfo'), ('Sink', 'out', 'SinkProtocolInfo')]),
    ('GetCurrentConnectionIDs', [('ConnectionIDs', 'out', 'CurrentConnectionIDs')]),
    ('GetCurrentConnectionInfo', [
        ('ConnectionID', 'in', 'A_ARG_TYPE_ConnectionID'), ('RcsID', 'out', 'A_ARG_TYPE_RcsID'),
        ('AVTransportID', 'out', 'A_ARG_TYPE_AVTransportID'), ('ProtocolInfo', 'out', 'A_ARG_TYPE_ProtocolInfo'),
        ('PeerConnectionManager', 'out', 'A_ARG_TYPE_ConnectionManager'),
        ('PeerConnectionID', 'out', 'A_ARG_TYPE_ConnectionID'), ('Direction', 'out', 'A_ARG_TYPE_Direction'),
        ('Status', 'out', 'A_ARG_TYPE_ConnectionStatus')]),
]
CM_VARIABLES = [
    ('SourceProtocolInfo', 'string', True, ()), ('SinkProtocolInfo', 'string', True, ()),
    ('CurrentConnectionIDs', 'string', True, ()),
    ('A_ARG_TYPE_ConnectionStatus', 'string', False, ('OK', 'ContentFormatMismatch', 'InsufficientBandwidth',
                                                      'UnreliableChannel', 'Unknown')),
    ('A_ARG_TYPE_ConnectionManager', 'string', False, ()),
    ('A_ARG_TYPE_Direction', 'string', False, ('Input', 'Output')),
    ('A_ARG_TYPE_ProtocolInfo', 'string', False, ()), ('A_ARG_TYPE_ConnectionID', 'i4', False, ()),
    ('A_ARG_TYPE_AVTransportID', 'i4', False, ()), ('A_ARG_TYPE_RcsID', 'i4', False, ()),
]
SERVICES = {  # path prefix -> (service type, service id, actions, variables)
    'ContentDirectory': (CDS, 'urn:upnp-org:serviceId:ContentDirectory', CDS_ACTIONS, CDS_VARIABLES),
    'ConnectionManager': (CM, 'urn:upnp-org:serviceId:ConnectionManager', CM_ACTIONS, CM_VARIABLES),
}


class HostileNasError(AssertionError):
    pass


class _Abort(Exception):
    """A request given up: the client went away, stalled, or the fixture stops."""


def _check_isolated():
    """Refuses to announce a UPnP server outside a test namespace: one made by
    xpmntest.netns, whose only IPv4 routes are on lo (the host has others)."""
    if not inside_namespace():
        raise HostileNasError('HostileNas only runs inside a test network namespace '
                              '(xpmntest.netns.run_in_new_namespace)')
    with open('/proc/net/route') as f:  # this process's own namespace
        devices = {line.split()[0] for line in f.read().splitlines()[1:] if line.strip()}
    if devices - {'lo'}:
        raise HostileNasError('HostileNas: this network namespace routes via %s, not only lo: it is '
                              'not a private test namespace' % ', '.join(sorted(devices - {'lo'})))


def scpd(actions, variables):
    """A service description (SCPD) from action and state-variable tables."""
    acts = ''.join(
        '<action><name>%s</name><argumentList>%s</argumentList></action>' % (name, ''.join(
            '<argument><name>%s</name><direction>%s</direction><relatedStateVariable>%s</relatedStateVariable>'
            '</argument>' % arg for arg in args)) for name, args in actions)
    svars = ''.join(
        '<stateVariable sendEvents="%s"><name>%s</name><dataType>%s</dataType>%s</stateVariable>' % (
            'yes' if events else 'no', name, dtype,
            '<allowedValueList>%s</allowedValueList>' % ''.join(
                '<allowedValue>%s</allowedValue>' % v for v in allowed) if allowed else '')
        for name, dtype, events, allowed in variables)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<scpd xmlns="urn:schemas-upnp-org:service-1-0">'
            '<specVersion><major>1</major><minor>0</minor></specVersion><actionList>%s</actionList>'
            '<serviceStateTable>%s</serviceStateTable></scpd>' % (acts, svars))


def soap_envelope(inner):
    return ('<?xml version="1.0" encoding="utf-8"?>\n<s:Envelope xmlns:s="%s" '
            's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>%s</s:Body></s:Envelope>'
            % (SOAP_ENV, inner))


def soap_response(action, service, args):
    """The envelope of `action`'s answer with out arguments [(name, text)] (escaped here)."""
    body = ''.join('<%s>%s</%s>' % (k, escape(str(v)), k) for k, v in args)
    return soap_envelope('<u:%sResponse xmlns:u="%s">%s</u:%sResponse>' % (action, service, body, action))


def soap_fault(code, description):
    return soap_envelope('<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>'
                         '<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>%d</errorCode>'
                         '<errorDescription>%s</errorDescription></UPnPError></detail></s:Fault>'
                         % (code, escape(description)))


def _entry_xml(entry, children, base_url):
    oid, parent, title, cls, extra = entry
    if cls.startswith('object.container'):
        return ('<container id=%s parentID=%s restricted="1" searchable="1" childCount="%d"><dc:title>%s'
                '</dc:title><upnp:class>%s</upnp:class></container>'
                % (quoteattr(oid), quoteattr(parent), children, escape(title), cls))
    tags = ''.join('<%s>%s</%s>' % (tag, escape(extra[key]), tag) for key, tag in (
        ('artist', 'upnp:artist'), ('album', 'upnp:album'), ('track', 'upnp:originalTrackNumber')) if key in extra)
    duration = ' duration="%s"' % extra['duration'] if 'duration' in extra else ''
    return ('<item id=%s parentID=%s restricted="1"><dc:title>%s</dc:title>%s<upnp:class>%s</upnp:class>'
            '<res protocolInfo="http-get:*:%s:*" size="1024"%s>%s/media/%s.%s</res></item>'
            % (quoteattr(oid), quoteattr(parent), escape(title), tags, cls, extra['mime'], duration,
               base_url, oid, extra['ext']))


def didl(entries_xml):
    return ('<DIDL-Lite xmlns="%s" xmlns:dc="%s" xmlns:upnp="%s">%s</DIDL-Lite>'
            % (NS['didl'], NS['dc'], NS['upnp'], ''.join(entries_xml)))


def _search_terms(criteria):
    """'dc:title contains "x" and ...' -> [(property, value)] of the `contains` clauses."""
    out = []
    for clause in criteria.split(' and '):
        parts = clause.strip().split(' ', 2)
        if len(parts) == 3 and parts[1] == 'contains':
            out.append((parts[0], parts[2].strip().strip('"').replace('\\"', '"').replace('\\\\', '\\')))
    return out


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'xpmntest-hostile-nas/1.0'

    def setup(self):
        super().setup()
        self.server.nas._opened(self)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.nas._closed(self)

    def log_message(self, *args):
        pass

    # -- plumbing --------------------------------------------------------------
    def reply(self, status, body=b'', content_type='text/xml; charset="utf-8"', headers=()):
        body = body.encode('utf-8') if isinstance(body, str) else body
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != 'HEAD' and body:
            self.send_body(None, [body])

    def send_body(self, rec, chunks):
        """Sends `chunks` (an iterable of bytes, made lazily), 0.2 s at a time,
        counting every byte the kernel took into rec['bytes_sent']."""
        nas = self.server.nas
        sock = self.connection
        sock.settimeout(0.2)
        last_progress = time.monotonic()
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    if nas._stopping.is_set():
                        raise _Abort('the fixture stops')
                    try:
                        n = sock.send(view)
                    except socket.timeout:
                        if time.monotonic() - last_progress > nas.stall_seconds:
                            raise _Abort('the client read nothing for %ss' % nas.stall_seconds) from None
                        continue
                    except OSError as e:  # EPIPE, ECONNRESET: the client hung up
                        if rec is not None:
                            nas._update(rec, client_gone=True)
                        raise _Abort('the client hung up: %s' % e) from None
                    view = view[n:]
                    last_progress = time.monotonic()
                    if rec is not None:
                        nas._update(rec, add_bytes=n)
        finally:
            if sock.fileno() >= 0:
                sock.settimeout(None)

    def client_gone(self):
        """True when the client has closed its end (EOF or reset pending)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b''
        except (OSError, ValueError):
            return True

    # -- HTTP methods ------------------------------------------------------------
    def do_GET(self):  # noqa: N802 - HTTP method name
        nas = self.server.nas
        path = self.path.split('?', 1)[0]
        if path == '/description.xml':
            return self.reply(200, nas.description_xml())
        name = path.strip('/').rsplit('.', 1)[0]
        if path.endswith('.xml') and name in SERVICES:
            return self.reply(200, scpd(*SERVICES[name][2:]))
        self.reply(404, 'not found', 'text/plain')

    do_HEAD = do_GET  # noqa: N815

    def do_SUBSCRIBE(self):  # noqa: N802 - GENA: accepted, no event is ever sent
        if not self.path.endswith('/event'):
            return self.reply(404, '', 'text/plain')
        sid = self.headers.get('SID') or 'uuid:' + str(uuid_module.uuid4())
        self.reply(200, '', 'text/plain', [('SID', sid), ('TIMEOUT', 'Second-1800')])

    def do_UNSUBSCRIBE(self):  # noqa: N802
        self.reply(200, '', 'text/plain')

    def do_POST(self):  # noqa: N802 - SOAP control
        nas = self.server.nas
        service = self.path.strip('/').split('/')[0]
        length = self.headers.get('Content-Length')
        if service not in SERVICES or not self.path.endswith('/control'):
            return self.reply(404, 'not found', 'text/plain')
        if length is None:
            return self.reply(411, 'length required', 'text/plain')
        try:
            envelope = ET.fromstring(self.rfile.read(int(length)))
            call = next(el for el in envelope.iter() if el.tag.startswith('{%s}' % SERVICES[service][0]))
        except (ET.ParseError, StopIteration, ValueError):
            return self.reply(400, 'not a SOAP request', 'text/plain')
        action = _local(call.tag)
        args = {_local(el.tag): el.text or '' for el in call}
        oid = args.get('ObjectID', args.get('ContainerID'))
        flag = args.get('BrowseFlag')
        behaviour = nas.behaviour_for(oid if oid is not None else action, flag)
        rec = nas._record(action=action, object_id=oid, flag=flag, behaviour=behaviour, args=args,
                          method=self.command)
        try:
            self.answer(rec, service, action, args, behaviour)
        except _Abort as e:
            nas._update(rec, note=str(e))
            self.close_connection = True
        except OSError as e:  # the headers could not be sent
            nas._update(rec, client_gone=True, note=str(e))
            self.close_connection = True
        except Exception as e:
            nas._update(rec, note='fixture error: %r' % e)
            raise
        finally:
            nas._update(rec, done=True)

    # -- behaviours ----------------------------------------------------------------
    def answer(self, rec, service, action, args, behaviour):
        nas = self.server.nas
        if behaviour == 'slow':
            end = time.monotonic() + nas.slow_seconds
            while time.monotonic() < end:
                if nas._stopping.wait(0.1):
                    raise _Abort('the fixture stops')
                if self.client_gone():
                    nas._update(rec, client_gone=True)
                    raise _Abort('the client hung up while waiting')
            behaviour = 'normal'
        if behaviour == 'huge_after_405':
            if self.command == 'POST':
                return self.respond(rec, 405, 'use M-POST', 'text/plain')
            behaviour = 'huge'
        if behaviour in ('huge', 'huge_chunked'):
            return self.huge(rec, action, service, chunked=behaviour == 'huge_chunked')
        if behaviour == 'gzip_bomb':
            nas._update(rec, accept_encoding=self.headers.get('Accept-Encoding'))
            return self.respond(rec, 200, nas.gzip_bomb(action, service), encoding='gzip')
        if behaviour == 'http_500':
            return self.respond(rec, 500, '<html><body>Internal Server Error</body></html>', 'text/html')
        if behaviour == 'soap_fault':
            return self.respond(rec, 500, soap_fault(701, 'No such object'))
        if behaviour == 'garbage_envelope':
            return self.respond(rec, 200, '<s:Envelope><<<this is no XML & never was\x01')
        if behaviour == 'truncated':  # half of a good answer (the root's where the id has none)
            try:
                out = nas.normal_answer(action, args)
            except (LookupError, ValueError):
                out = nas.normal_answer('Browse', {'ObjectID': '0', 'BrowseFlag': 'BrowseMetadata'})
            body = soap_response(action, SERVICES[service][0], out).encode()
            return self.respond(rec, 200, body[:len(body) // 2], length=len(body))
        if behaviour == 'garbage' or behaviour.startswith('didl:'):
            if behaviour == 'garbage':
                result = 'this is <not> XML & never was ]]> <<<'
            else:
                with open(os.path.join(DIDL_DIR, behaviour[len('didl:'):]), encoding='utf-8', errors='replace') as f:
                    result = f.read()
            return self.respond(rec, 200, soap_response(action, SERVICES[service][0], [
                ('Result', result), ('NumberReturned', 1), ('TotalMatches', 1), ('UpdateID', nas.update_id)]))
        try:
            out = nas.normal_answer(action, args)
        except LookupError as e:
            return self.respond(rec, 500, soap_fault(701, str(e.args[0])))
        except ValueError as e:
            return self.respond(rec, 500, soap_fault(402, str(e.args[0])))
        self.respond(rec, 200, soap_response(action, SERVICES[service][0], out))

    def respond(self, rec, status, body, content_type='text/xml; charset="utf-8"', length=None, encoding=None):
        body = body.encode('utf-8') if isinstance(body, str) else body
        length = len(body) if length is None else length
        self.server.nas._update(rec, status=status, announced=length)
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        if encoding:
            self.send_header('Content-Encoding', encoding)
        self.send_header('Content-Length', str(length))
        self.end_headers()
        self.send_body(rec, [body])
        if length != len(body):
            self.close_connection = True

    def huge(self, rec, action, service, chunked):
        nas = self.server.nas
        total = nas.huge_bytes
        self.send_response(200)
        self.send_header('Content-Type', 'text/xml; charset="utf-8"')
        if chunked:
            self.send_header('Transfer-Encoding', 'chunked')
        else:
            self.send_header('Content-Length', str(total))
        self.end_headers()
        nas._update(rec, status=200, announced=None if chunked else total)
        body = nas.huge_body(action, service, total)
        if chunked:
            body = (b'%x\r\n%s\r\n' % (len(c), c) for c in body if c)
            body = itertools.chain(body, [b'0\r\n\r\n'])
        self.send_body(rec, body)


# gupnp retries a control request with M-POST after a 405 (UDA 1.0 §3.2.1).
setattr(_Handler, 'do_M-POST', _Handler.do_POST)


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, nas, address):
        self.nas = nas
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address):
        pass  # a client that vanished mid-request is what these tests are about


class HostileNas(reaper.Server):
    def __init__(self, friendly_name='Hostile NAS', udn='uuid:686f7374-696c-6500-6e61-730000000001',
                 port=None, behaviours=None, slow_seconds=20.0, huge_bytes=200 * MiB, stall_seconds=20.0):
        self.friendly_name = friendly_name
        self.udn = udn if udn.startswith('uuid:') else 'uuid:' + udn
        self.host = '127.0.0.1'
        self.port = port or ports.free_port(self.host)
        self.slow_seconds = slow_seconds
        self.huge_bytes = huge_bytes
        self.stall_seconds = stall_seconds
        self.update_id = 1
        self._behaviours = {(b, None): b for b in BEHAVIOURS if b != 'normal'}
        for key, b in (behaviours or {}).items():
            self.behave(key, b)
        self._lock = threading.Condition()
        self._requests = []
        self._bombs = {}
        self.tree = list(TREE)  # this NAS's content (add_object, remove_object)
        self._handlers = set()
        self._stopping = threading.Event()
        self._http = self._ssdp = None
        self._threads = []

    def __repr__(self):
        return '<HostileNas %r %s at %s>' % (self.friendly_name, self.udn, self.description_url)

    # -- facts -------------------------------------------------------------------
    @property
    def description_url(self):
        return 'http://%s:%d/description.xml' % (self.host, self.port)

    @property
    def base_url(self):
        return 'http://%s:%d' % (self.host, self.port)

    @property
    def running(self):
        return self._http is not None

    def description_xml(self):
        services = ''.join(
            '<service><serviceType>%s</serviceType><serviceId>%s</serviceId><SCPDURL>/%s.xml</SCPDURL>'
            '<controlURL>/%s/control</controlURL><eventSubURL>/%s/event</eventSubURL></service>'
            % (stype, sid, name, name, name) for name, (stype, sid, _, _) in SERVICES.items())
        return ('<?xml version="1.0" encoding="utf-8"?>\n<root xmlns="urn:schemas-upnp-org:device-1-0">'
                '<specVersion><major>1</major><minor>0</minor></specVersion><device>'
                '<deviceType>%s</deviceType><friendlyName>%s</friendlyName><manufacturer>xpmntest</manufacturer>'
                '<modelName>Hostile NAS</modelName><modelNumber>1</modelNumber><UDN>%s</UDN>'
                '<serviceList>%s</serviceList></device></root>'
                % (MEDIA_SERVER, escape(self.friendly_name), escape(self.udn), services))

    # -- behaviour table ---------------------------------------------------------------
    def behave(self, key, behaviour, flag=None):
        """Sets what requests for object id `key` (or action `key`) get; `flag`
        limits it to BrowseMetadata or BrowseDirectChildren. None removes it."""
        if behaviour is not None and behaviour not in BEHAVIOURS and not (
                behaviour.startswith('didl:') and os.path.isfile(os.path.join(DIDL_DIR, behaviour[5:]))):
            raise HostileNasError('unknown behaviour %r (one of %s, or didl:FILE of %s)' % (
                behaviour, ', '.join(BEHAVIOURS), os.path.normpath(DIDL_DIR)))
        if behaviour is None:
            self._behaviours.pop((key, flag), None)
        else:
            self._behaviours[(key, flag)] = behaviour

    def behaviour_for(self, key, flag=None):
        b = self._behaviours.get((key, flag)) if flag else None
        return b or self._behaviours.get((key, None), 'normal')

    # -- the normal content ---------------------------------------------------------------
    def children(self, oid):
        with self._lock:
            return [e for e in self.tree if e[1] == oid]

    def add_object(self, entry):
        """Adds a TREE-style entry (id, parent, title, class, extra) to this NAS's content."""
        with self._lock:
            self.tree.append(entry)

    def remove_object(self, oid):
        """Removes an object and everything below it."""
        with self._lock:
            gone, pending = set(), [oid]
            while pending:
                cur = pending.pop()
                gone.add(cur)
                pending += [e[0] for e in self.tree if e[1] == cur]
            self.tree = [e for e in self.tree if e[0] not in gone]

    def normal_answer(self, action, args):
        """Out arguments [(name, value)] of a well-behaved answer. LookupError: no such object."""
        if action == 'GetSearchCapabilities':
            return [('SearchCaps', 'dc:title,upnp:artist,upnp:album,upnp:class')]
        if action == 'GetSortCapabilities':
            return [('SortCaps', 'dc:title')]
        if action == 'GetSystemUpdateID':
            return [('Id', self.update_id)]
        if action == 'GetProtocolInfo':
            return [('Source', 'http-get:*:audio/mpeg:*,http-get:*:image/jpeg:*'), ('Sink', '')]
        if action == 'GetCurrentConnectionIDs':
            return [('ConnectionIDs', '0')]
        if action not in ('Browse', 'Search'):
            raise ValueError('action %s is not supported' % action)
        oid = args.get('ObjectID', args.get('ContainerID', ''))
        with self._lock:
            entry = next((e for e in self.tree if e[0] == oid), None)
        if entry is None:
            raise LookupError('No such object')
        if action == 'Browse' and args.get('BrowseFlag') == 'BrowseMetadata':
            hits = [entry]
        elif action == 'Browse':
            hits = self.children(oid)
        else:
            hits, pending = [], [oid]
            while pending:
                for e in self.children(pending.pop(0)):
                    if e[3].startswith('object.container'):
                        pending.append(e[0])
                    elif all(v.lower() in (e[2] if p == 'dc:title' else e[4].get(p.split(':')[1], '')).lower()
                             for p, v in _search_terms(args.get('SearchCriteria', ''))):
                        hits.append(e)
        start = int(args.get('StartingIndex') or 0)
        count = int(args.get('RequestedCount') or 0)
        page = hits[start:start + count] if count else hits[start:]
        return [('Result', didl(_entry_xml(e, len(self.children(e[0])), self.base_url) for e in page)),
                ('NumberReturned', len(page)), ('TotalMatches', len(hits)), ('UpdateID', self.update_id)]

    def gzip_bomb(self, action, service):
        """huge_body() gzip-compressed (made once per action and service; ~1 s)."""
        key = (action, service)
        with self._lock:
            cached = self._bombs.get(key)
        if cached is None:
            packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
            cached = b''.join(packer.compress(c) for c in self.huge_body(action, service, self.huge_bytes))
            cached += packer.flush()
            with self._lock:
                self._bombs[key] = cached
        return cached

    def huge_body(self, action, service, total):
        """A well-formed SOAP answer of exactly `total` bytes whose Result is an
        escaped DIDL-Lite of ever more items, made lazily in CHUNK pieces."""
        head = ('<?xml version="1.0" encoding="utf-8"?>\n<s:Envelope xmlns:s="%s"><s:Body><u:%sResponse xmlns:u="%s">'
                '<Result>%s' % (SOAP_ENV, action, SERVICES[service][0],
                                escape(didl('')[:-len('</DIDL-Lite>')]))).encode()
        tail = ('%s</Result><NumberReturned>1</NumberReturned><TotalMatches>1</TotalMatches>'
                '<UpdateID>%d</UpdateID></u:%sResponse></s:Body></s:Envelope>'
                % (escape('</DIDL-Lite>'), self.update_id, action)).encode()
        unit = escape('<item id="h" parentID="huge" restricted="1"><dc:title>%s</dc:title>'
                      '<upnp:class>object.item</upnp:class></item>' % ('x' * 100)).encode()
        block = unit * (CHUNK // len(unit))
        middle = total - len(head) - len(tail)
        if middle < 0:
            raise HostileNasError('huge_bytes %d is too small for the envelope' % total)
        yield head
        while middle >= len(block):
            yield block
            middle -= len(block)
        units = middle // len(unit)
        yield unit * units + b' ' * (middle - units * len(unit))
        yield tail

    # -- request records -----------------------------------------------------------------
    def _record(self, **fields):
        rec = dict(fields, time=time.monotonic(), status=None, announced=None, bytes_sent=0,
                   client_gone=False, done=False, seconds=None, note=None)
        with self._lock:
            rec['n'] = len(self._requests)
            self._requests.append(rec)
            self._lock.notify_all()
        return rec

    def _update(self, rec, add_bytes=0, **fields):
        with self._lock:
            rec['bytes_sent'] += add_bytes
            rec.update(fields)
            if fields.get('done'):
                rec['seconds'] = time.monotonic() - rec['time']
            if fields:
                self._lock.notify_all()

    def request_mark(self):
        """The index to pass as `since` for requests after now."""
        with self._lock:
            return len(self._requests)

    def requests(self, since=0, **match):
        """Copies of the recorded control requests (from index `since`) whose fields equal `match`."""
        with self._lock:
            return [dict(r) for r in self._requests[since:] if all(r.get(k) == v for k, v in match.items())]

    def fixture_errors(self):
        """Records of requests the fixture itself failed on (a bug here, not in the client)."""
        with self._lock:
            return [dict(r) for r in self._requests if (r['note'] or '').startswith('fixture error')]

    def wait_request(self, since=0, done=True, timeout=10.0, **match):
        """Waits (bounded) for the first request matching `match` (and done, if
        `done`); returns a copy of its record."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for r in self._requests[since:]:
                    if all(r.get(k) == v for k, v in match.items()) and (r['done'] or not done):
                        return dict(r)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HostileNasError('no%s request matching %r within %ss; last requests: %r' % (
                        ' finished' if done else '', match, timeout,
                        [{k: r[k] for k in ('action', 'object_id', 'flag', 'behaviour', 'done')}
                         for r in self._requests[-8:]]))
                self._lock.wait(left)

    # -- connections ---------------------------------------------------------------------
    def _opened(self, handler):
        with self._lock:
            self._handlers.add(handler)

    def _closed(self, handler):
        with self._lock:
            self._handlers.discard(handler)
            self._lock.notify_all()

    # -- SSDP ------------------------------------------------------------------------------
    def _targets(self):
        """(NT/ST, USN) of everything this device announces."""
        return [('upnp:rootdevice', self.udn + '::upnp:rootdevice'), (self.udn, self.udn)] + [
            (t, '%s::%s' % (self.udn, t)) for t in [MEDIA_SERVER] + [s[0] for s in SERVICES.values()]]

    def _matching(self, st):
        def version_ok(target):  # a search for type:N is answered by a device of version >= N
            want, have = st.rsplit(':', 1), target.rsplit(':', 1)
            return want[0] == have[0] and want[1].isdigit() and have[1].isdigit() and int(want[1]) <= int(have[1])
        if st == 'ssdp:all':
            return self._targets()
        return [(st, usn) for nt, usn in self._targets() if nt == st or (st.startswith('urn:') and version_ok(nt))]

    def _ssdp_send(self, sock, message, address):
        try:
            sock.sendto(message.encode(), address)
        except OSError:
            pass  # UDP: a lost datagram is what SSDP repeats for

    def _notify(self, sock, nts, repeat=2):
        for _ in range(repeat):
            for nt, usn in self._targets():
                msg = ('NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n'
                       'LOCATION: %s\r\nNT: %s\r\nNTS: %s\r\nSERVER: Linux/1.0 UPnP/1.0 xpmntest-hostile-nas/1.0\r\n'
                       'USN: %s\r\n\r\n' % (self.description_url, nt, nts, usn))
                self._ssdp_send(sock, msg, SSDP_ADDR)

    def _ssdp_loop(self, sock):
        while not self._stopping.is_set():
            try:
                data, addr = sock.recvfrom(65507)
            except socket.timeout:
                continue
            except OSError:
                return
            msg = _parse_ssdp(data)
            if not msg['start_line'].startswith('M-SEARCH') or not msg['st']:
                continue
            for st, usn in self._matching(msg['st']):
                self._ssdp_send(sock, 'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nDATE: %s\r\nEXT:\r\n'
                                'LOCATION: %s\r\nSERVER: Linux/1.0 UPnP/1.0 xpmntest-hostile-nas/1.0\r\n'
                                'ST: %s\r\nUSN: %s\r\nContent-Length: 0\r\n\r\n'
                                % (email.utils.formatdate(usegmt=True), self.description_url, st, usn), addr)

    def _ssdp_socket(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(('', SSDP_ADDR[1]))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                            socket.inet_aton(SSDP_ADDR[0]) + socket.inet_aton(self.host))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self.host))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
            sock.settimeout(0.2)
        except BaseException:
            sock.close()
            raise
        return sock

    # -- life cycle --------------------------------------------------------------------------
    def start(self):
        """Serves HTTP on 127.0.0.1:port, answers M-SEARCH, sends ssdp:alive."""
        if self.running:
            raise HostileNasError('%r is already running' % self)
        _check_isolated()
        self._stopping.clear()
        try:
            self._http = _HttpServer(self, (self.host, self.port))
            self._ssdp = self._ssdp_socket()
        except OSError as e:
            self._teardown(byebye=False)
            raise HostileNasError('%r cannot start: %s' % (self, e)) from e
        reaper.track(self)
        self._threads = [
            threading.Thread(target=self._http.serve_forever, kwargs={'poll_interval': 0.1},
                             name='hostile-nas-http', daemon=True),
            threading.Thread(target=self._ssdp_loop, args=(self._ssdp,), name='hostile-nas-ssdp', daemon=True)]
        for t in self._threads:
            t.start()
        self._notify(self._ssdp, 'ssdp:alive')
        return self

    def _teardown(self, byebye, timeout=5.0):
        """Stops everything; returns what did not end within `timeout`."""
        self._stopping.set()
        if byebye and self._ssdp is not None:
            self._notify(self._ssdp, 'ssdp:byebye')
        if self._http is not None:
            if self._threads:
                self._http.shutdown()  # serve_forever polls every 0.1 s
            self._http.server_close()
        if self._ssdp is not None:
            self._ssdp.close()
        with self._lock:
            handlers = list(self._handlers)
        for h in handlers:  # wakes handlers idle in a keep-alive read
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            while self._handlers and time.monotonic() < deadline:
                self._lock.wait(max(0.0, deadline - time.monotonic()))
            stuck = [t.name for t in self._threads if t.is_alive()] + [
                'request from %s:%d' % h.client_address for h in self._handlers]
        self._http = self._ssdp = None
        self._threads = []
        self._finish()
        return stuck

    def stop(self, timeout=5.0):
        """ssdp:byebye, then ends every request in flight; raises if anything
        is still running after `timeout`."""
        if not self.running:
            return
        stuck = self._teardown(byebye=True, timeout=timeout)
        if stuck:
            raise HostileNasError('%r: still running %ss after stop(): %s' % (self, timeout, ', '.join(stuck)))

    def kill(self):
        """Gone without a byebye (the NAS lost power). Never raises."""
        if self.running:
            self._teardown(byebye=False)
