"""A tiny independent UPnP AV client (stdlib only) to compare the bridge's answers with.

    found = ssdp_search(ns)                         # [{'udn', 'location', 'usn', 'st', ...}]
    cd = ContentDirectory(found[0]['location'], ns=ns)
    didl, returned, total, update_id = cd.browse('0')
    everything = cd.browse_all('0')                  # pages through all children
    tree = cd.walk('0')                              # recursive: every container and item
    cd.search_capabilities(), cd.system_update_id(), cd.search('0', 'dc:title contains "Ton"')
    with cd.subscribe() as sub:                      # GENA events (SystemUpdateID, ContainerUpdateIDs)
        ...; sub.wait_for(lambda ev: 'SystemUpdateID' in ev, timeout=10)

Servers in a network namespace (netns.NetNs) are unreachable from the host's
stack, so every network call takes `ns=`: with it, the sockets are created
inside the namespace by NetNs.socket() (a thread that setns(2)es, makes the
socket and exits) and then used from the calling thread as usual; the test
process itself stays on the host. ns=None means the host's own loopback.
ssdp_search(..., via='process') instead runs the same search as a separate
`/usr/bin/python3` inside the namespace (ip netns exec) and reads its JSON:
proof that an ordinary process in the namespace finds the servers too.

Everything is bounded by timeouts; nothing is sent anywhere but 127.0.0.1 and
the SSDP group 239.255.255.250 on the loopback interface (IP_MULTICAST_IF
127.0.0.1, TTL 2), which inside a namespace never leaves it.
"""
import http.client
import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

SSDP_ADDR = ('239.255.255.250', 1900)
MEDIA_SERVER = 'urn:schemas-upnp-org:device:MediaServer:1'
CDS = 'urn:schemas-upnp-org:service:ContentDirectory:1'
NS = {
    'didl': 'urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/',
    'dc': 'http://purl.org/dc/elements/1.1/',
    'upnp': 'urn:schemas-upnp-org:metadata-1-0/upnp/',
    'dev': 'urn:schemas-upnp-org:device-1-0',
    'e': 'urn:schemas-upnp-org:event-1-0',
}
HERE = os.path.dirname(os.path.abspath(__file__))


class UpnpError(AssertionError):
    """A SOAP fault (code, description) or an unusable answer."""

    def __init__(self, message, code=None, description=None, status=None):
        super().__init__(message)
        self.code = code
        self.description = description
        self.status = status


def _local(tag):
    return tag.rsplit('}', 1)[-1]


# -- sockets: host loopback or a namespace's --------------------------------------
def _udp_socket(ns):
    if ns is None:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return ns.socket(socket.AF_INET, socket.SOCK_DGRAM)


class _Conn(http.client.HTTPConnection):
    """An HTTPConnection whose socket is made inside `ns` (or on the host)."""

    def __init__(self, host, port, ns, timeout):
        super().__init__(host, port, timeout=timeout)
        self._ns = ns

    def connect(self):
        if self._ns is None:
            self.sock = socket.create_connection((self.host, self.port), self.timeout)
        else:
            self.sock = self._ns.create_connection((self.host, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def http_request(url, method='GET', body=None, headers=None, ns=None, timeout=10.0):
    """One HTTP request (Connection: close); returns (status, headers dict lower-cased, body bytes).
    Raises OSError when nothing answers."""
    u = urllib.parse.urlsplit(url)
    conn = _Conn(u.hostname, u.port or 80, ns, timeout)
    try:
        path = u.path or '/'
        if u.query:
            path += '?' + u.query
        hdrs = {'Connection': 'close'}
        hdrs.update(headers or {})
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def http_get(url, ns=None, timeout=10.0):
    return http_request(url, ns=ns, timeout=timeout)


def answers(url, ns=None, timeout=2.0):
    """True when `url` answers HTTP 200."""
    try:
        return http_get(url, ns=ns, timeout=timeout)[0] == 200
    except (OSError, http.client.HTTPException):
        return False


# -- SSDP ----------------------------------------------------------------------------
def _parse_ssdp(data):
    lines = data.decode('utf-8', 'replace').split('\r\n')
    headers = {}
    for line in lines[1:]:
        if ':' in line:
            k, v = line.split(':', 1)
            headers[k.strip().lower()] = v.strip()
    usn = headers.get('usn', '')
    return {'start_line': lines[0], 'location': headers.get('location'), 'st': headers.get('st') or headers.get('nt'),
            'nts': headers.get('nts'), 'usn': usn, 'udn': usn.split('::', 1)[0] if usn else None,
            'server': headers.get('server'), 'headers': headers}


def _interfaces(ns, interfaces):
    if interfaces:
        return list(interfaces)
    return list(getattr(ns, 'multicast_addresses', None) or ['127.0.0.1'])


def _ssdp_search_on(sock, st, timeout, mx, repeat, interfaces):
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    sock.bind(('', 0))
    # Join the group on every interface we send on: multicast sent on lo is only
    # looped back to the namespace's sockets when lo itself has joined the group.
    for addr in interfaces:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                        socket.inet_aton(SSDP_ADDR[0]) + socket.inet_aton(addr))
    msg = ('M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
           'MX: %d\r\nST: %s\r\nUSER-AGENT: Linux/1 UPnP/1.0 xpmntest/1\r\n\r\n' % (mx, st)).encode()
    found = {}
    deadline = time.monotonic() + timeout
    next_send, sent = 0.0, 0
    while True:
        now = time.monotonic()
        if sent < repeat and now >= next_send:
            for addr in interfaces:  # never without IP_MULTICAST_IF: nothing may take the default route
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr))
                sock.sendto(msg, SSDP_ADDR)
            sent += 1
            next_send = now + 0.3
        left = deadline - now
        if left <= 0:
            break
        sock.settimeout(min(left, max(0.01, next_send - now)) if sent < repeat else left)
        try:
            data, addr = sock.recvfrom(65507)
        except socket.timeout:
            continue
        r = _parse_ssdp(data)
        if not r['start_line'].startswith('HTTP/1.1 200'):
            continue
        r['from'] = '%s:%d' % addr
        found.setdefault((r['usn'], r['location']), r)
    return sorted(found.values(), key=lambda r: (r['udn'] or '', r['location'] or ''))


def ssdp_search(ns=None, st=MEDIA_SERVER, timeout=2.0, mx=1, repeat=2, via='socket', interfaces=None):
    """Sends M-SEARCH for `st` to 239.255.255.250:1900 (`repeat` times: UDP) on each
    interface address in `interfaces` (default: ns.multicast_addresses, i.e. lo and
    the namespace's upnp interface; 127.0.0.1 without a namespace) and collects the
    answers for `timeout` seconds: a list of dicts (udn, location, usn, st, server,
    headers, from), one per (USN, LOCATION).

    via='socket': from this process through a socket of `ns` (or of the host when
    ns is None); via='process': from a separate /usr/bin/python3 inside `ns`."""
    interfaces = _interfaces(ns, interfaces)
    if via == 'process':
        if ns is None:
            raise ValueError("via='process' needs a namespace")
        code = ('import sys; sys.path.insert(0, %r); from xpmntest.upnp_direct import _ssdp_main; _ssdp_main()'
                % os.path.dirname(HERE))
        out = ns.run_python(code, st, timeout, mx, repeat, ','.join(interfaces), timeout=timeout + 20)
        return json.loads(out)
    sock = _udp_socket(ns)
    try:
        return _ssdp_search_on(sock, st, timeout, mx, repeat, interfaces)
    finally:
        sock.close()


def _ssdp_main():
    st, timeout, mx, repeat = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    json.dump(ssdp_search(None, st, timeout, mx, repeat, interfaces=sys.argv[5].split(',')), sys.stdout)


class SsdpListener:
    """Collects SSDP NOTIFYs (ssdp:alive / ssdp:byebye) sent to the group on lo.

        with SsdpListener(ns) as l: ...; l.wait_for(lambda n: n['nts'] == 'ssdp:byebye', 10)
    """

    def __init__(self, ns=None, interfaces=None):
        self.ns = ns
        self.notifies = []
        self._cond = threading.Condition()
        self._stop = False
        self.sock = _udp_socket(ns)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('', SSDP_ADDR[1]))
        for addr in _interfaces(ns, interfaces):
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                                 socket.inet_aton(SSDP_ADDR[0]) + socket.inet_aton(addr))
        self.sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._loop, name='ssdp-listener', daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(65507)
            except socket.timeout:
                continue
            except OSError:
                return
            r = _parse_ssdp(data)
            if not r['start_line'].startswith('NOTIFY'):
                continue
            r['from'] = '%s:%d' % addr
            r['time'] = time.monotonic()
            with self._cond:
                self.notifies.append(r)
                self._cond.notify_all()

    def wait_for(self, pred, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for n in self.notifies:
                    if pred(n):
                        return n
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('no matching SSDP NOTIFY within %ss; got %d: %s' % (
                        timeout, len(self.notifies), [(n['nts'], n['usn']) for n in self.notifies[-10:]]))
                self._cond.wait(left)

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# -- device description and ContentDirectory -----------------------------------------
def parse_didl(didl):
    """DIDL-Lite text -> list of dicts (kind, id, parent_id, title, class, artist, album,
    track, date, genre, creator, child_count, restricted, res [..], xml)."""
    if not didl:
        return []
    root = ET.fromstring(didl)
    out = []
    for el in root:
        kind = _local(el.tag)
        if kind not in ('item', 'container'):
            continue

        def text(path):
            v = el.findtext(path, None, NS)
            return v

        res = []
        for r in el.findall('didl:res', NS):
            pi = r.get('protocolInfo') or ''
            parts = pi.split(':')
            res.append(dict(r.attrib, url=(r.text or '').strip(), protocol_info=pi,
                            mime=parts[2] if len(parts) > 2 else None))
        track = text('upnp:originalTrackNumber')
        cc = el.get('childCount')
        out.append({
            'kind': kind, 'id': el.get('id'), 'parent_id': el.get('parentID'),
            'restricted': el.get('restricted'), 'child_count': int(cc) if cc not in (None, '') else None,
            'title': text('dc:title'), 'class': text('upnp:class'), 'creator': text('dc:creator'),
            'artist': text('upnp:artist'), 'album': text('upnp:album'), 'genre': text('upnp:genre'),
            'date': text('dc:date'), 'track': int(track) if track and track.isdigit() else track,
            'res': res, 'xml': ET.tostring(el, encoding='unicode'),
        })
    return out


def parse_duration(text):
    """'H+:MM:SS[.F+]' -> seconds (float), None if absent."""
    if not text:
        return None
    h, m, s = text.split(':')
    return int(h) * 3600 + int(m) * 60 + float(s)


def soap_call(control_url, service_type, action, args=(), ns=None, timeout=10.0):
    """Invokes UPnP `action` of `service_type` at `control_url` with [(name, value)];
    returns {out arg: text}. SOAP faults -> UpnpError (code, description)."""
    body = ''.join('<%s>%s</%s>' % (k, escape(str(v)), k) for k, v in args)
    envelope = ('<?xml version="1.0" encoding="utf-8"?>\n'
                '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
                's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
                '<u:%s xmlns:u="%s">%s</u:%s></s:Body></s:Envelope>'
                % (action, service_type, body, action)).encode('utf-8')
    status, _, data = http_request(control_url, 'POST', envelope, {
        'Content-Type': 'text/xml; charset="utf-8"',
        'SOAPACTION': '"%s#%s"' % (service_type, action)}, ns, timeout)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise UpnpError('%s: HTTP %d, unparsable answer %r' % (action, status, data[:300]),
                        status=status) from e
    fault = next((el for el in root.iter() if _local(el.tag) == 'UPnPError'), None)
    if fault is not None or status != 200:
        code = desc = None
        if fault is not None:
            for el in fault:
                if _local(el.tag) == 'errorCode':
                    code = int(el.text)
                elif _local(el.tag) == 'errorDescription':
                    desc = el.text
        raise UpnpError('%s%r failed: HTTP %d, UPnP error %s %s' % (action, tuple(args), status, code, desc),
                        code, desc, status)
    resp = next((el for el in root.iter() if _local(el.tag) == action + 'Response'), None)
    if resp is None:
        raise UpnpError('%s: no %sResponse in %r' % (action, action, data[:300]), status=status)
    return {_local(el.tag): el.text or '' for el in resp}


def fetch_description(description_url, ns=None, timeout=10.0):
    """GET a device description: (root element, URL base for its relative URLs, raw body)."""
    status, _, body = http_get(description_url, ns, timeout)
    if status != 200:
        raise UpnpError('GET %s: HTTP %d' % (description_url, status), status=status)
    root = ET.fromstring(body)
    return root, root.findtext('dev:URLBase', None, NS) or description_url, body


def find_service(root, base, type_prefix):
    """The first <service/> (any embedded device) whose type starts with
    `type_prefix`: {'type', 'control', 'event', 'scpd'} (absolute URLs), or None."""
    for svc in root.iter('{%s}service' % NS['dev']):
        stype = (svc.findtext('dev:serviceType', '', NS) or '').strip()
        if stype.startswith(type_prefix):
            def url(tag):
                return urllib.parse.urljoin(base, (svc.findtext('dev:' + tag, '', NS) or '').strip())
            return {'type': stype, 'control': url('controlURL'), 'event': url('eventSubURL'),
                    'scpd': url('SCPDURL')}
    return None


class ContentDirectory:
    def __init__(self, description_url, ns=None, timeout=10.0):
        self.description_url = description_url
        self.ns = ns
        self.timeout = timeout
        root, base, body = fetch_description(description_url, ns, timeout)
        self.description_xml = body.decode('utf-8', 'replace')
        dev = root.find('dev:device', NS)
        self.udn = (dev.findtext('dev:UDN', '', NS) or '').strip()
        self.friendly_name = dev.findtext('dev:friendlyName', '', NS)
        self.device_type = dev.findtext('dev:deviceType', '', NS)
        self.model_name = dev.findtext('dev:modelName', '', NS)
        self.control_url = self.event_url = self.scpd_url = None
        svc = find_service(root, base, 'urn:schemas-upnp-org:service:ContentDirectory:')
        if svc:
            self.service_type = svc['type']
            self.control_url, self.event_url, self.scpd_url = svc['control'], svc['event'], svc['scpd']
        if not self.control_url:
            raise UpnpError('%s has no ContentDirectory service' % description_url)

    def __repr__(self):
        return '<ContentDirectory %s %r at %s>' % (self.udn, self.friendly_name, self.control_url)

    # -- SOAP -------------------------------------------------------------------
    def call(self, action, args=()):
        """Invokes `action` with [(name, value)]; returns {out arg: text}. SOAP faults -> UpnpError."""
        return soap_call(self.control_url, self.service_type, action, args, self.ns, self.timeout)

    def browse(self, object_id, flag='BrowseDirectChildren', start=0, count=0, filter='*', sort=''):
        """-> (didl_xml_string, number_returned, total_matches, update_id)."""
        r = self.call('Browse', [('ObjectID', object_id), ('BrowseFlag', flag), ('Filter', filter),
                                 ('StartingIndex', start), ('RequestedCount', count),
                                 ('SortCriteria', sort)])
        return r['Result'], int(r['NumberReturned']), int(r['TotalMatches']), int(r.get('UpdateID') or 0)

    def metadata(self, object_id, filter='*'):
        """BrowseMetadata: the object's parsed entry."""
        didl = self.browse(object_id, 'BrowseMetadata', filter=filter)[0]
        entries = parse_didl(didl)
        if len(entries) != 1:
            raise UpnpError('BrowseMetadata(%s) returned %d objects' % (object_id, len(entries)))
        return entries[0]

    def _page_all(self, fetch, page, limit, max_items=None):
        out, start, pages = [], 0, 0
        while True:
            want = page if max_items is None else min(page, max_items - start)
            didl, returned, total, _ = fetch(start, want)
            pages += 1
            out.extend(parse_didl(didl))
            start += returned
            if max_items is not None and start >= max_items:
                return out
            if returned == 0 or start >= total or pages >= limit:
                if start < total:
                    raise UpnpError('paging stopped at %d of %d after %d pages' % (start, total, pages))
                return out

    def browse_all(self, object_id, page=200, limit=1000, max_items=None):
        """Every child of `object_id` (parsed), fetched `page` at a time (at most
        `max_items` of them when given)."""
        return self._page_all(lambda s, c: self.browse(object_id, start=s, count=c), page, limit, max_items)

    def walk(self, object_id='0', max_depth=12, page=200, max_children=None):
        """Every object below `object_id`, depth first: a list of entries, each with
        'path' (titles from below `object_id` down to it). With `max_children`, a
        container holding more children than that contributes only its first
        `max_children` (its entry gets 'truncated': True): gerbera renders ~2 ms per
        object, and its virtual layout repeats every track in half a dozen views."""
        out = []

        def rec(cid, path, depth, count):
            limited = max_children is not None and count is not None and count > max_children
            for e in self.browse_all(cid, page, max_items=max_children if limited else None):
                e['path'] = path + [e['title']]
                out.append(e)
                if e['kind'] == 'container' and depth < max_depth:
                    if max_children is not None and e['child_count'] is not None \
                            and e['child_count'] > max_children:
                        e['truncated'] = True
                    rec(e['id'], e['path'], depth + 1, e['child_count'])
        rec(object_id, [], 0, None)
        return out

    def find_container(self, titles, start='0'):
        """The id of the container reached from `start` through children titled
        `titles` in turn, or None."""
        cid = start
        for t in titles:
            match = [e for e in self.browse_all(cid) if e['kind'] == 'container' and e['title'] == t]
            if not match:
                return None
            cid = match[0]['id']
        return cid

    def search(self, container, criteria, start=0, count=0, filter='*', sort=''):
        """-> (didl_xml_string, number_returned, total_matches, update_id)."""
        r = self.call('Search', [('ContainerID', container), ('SearchCriteria', criteria),
                                 ('Filter', filter), ('StartingIndex', start), ('RequestedCount', count),
                                 ('SortCriteria', sort)])
        return r['Result'], int(r['NumberReturned']), int(r['TotalMatches']), int(r.get('UpdateID') or 0)

    def search_all(self, container, criteria, page=200, limit=1000):
        return self._page_all(lambda s, c: self.search(container, criteria, s, c), page, limit)

    def search_capabilities(self):
        return self.call('GetSearchCapabilities')['SearchCaps']

    def sort_capabilities(self):
        return self.call('GetSortCapabilities')['SortCaps']

    def system_update_id(self):
        return int(self.call('GetSystemUpdateID')['Id'])

    def wait_system_update_id(self, pred, timeout=20.0, interval=0.2):
        """Polls GetSystemUpdateID until pred(id); returns it (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.system_update_id()
            if pred(v):
                return v
            if time.monotonic() > deadline:
                raise AssertionError('SystemUpdateID still %d after %ss' % (v, timeout))
            time.sleep(interval)

    def subscribe(self, timeout_s=300):
        return EventSubscription(self, timeout_s)


# -- GENA --------------------------------------------------------------------------------
class _EventHandler(http.server.BaseHTTPRequestHandler):
    def do_NOTIFY(self):  # noqa: N802 - HTTP method name
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        props = {}
        try:
            for prop in ET.fromstring(body):
                for var in prop:
                    props[_local(var.tag)] = var.text or ''
        except ET.ParseError:
            props['_unparsable'] = body.decode('utf-8', 'replace')
        self.server.owner._add(self.headers.get('SID'), self.headers.get('SEQ'), props)
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


class _EventServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner, sock):
        self.owner = owner
        super().__init__(('127.0.0.1', 0), _EventHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server_bind()
        self.server_activate()


class EventSubscription:
    """A GENA subscription to the ContentDirectory; a callback HTTP server on
    127.0.0.1 of the same namespace collects the NOTIFYs: events is a list of
    {'sid', 'seq', 'vars': {name: value}, 'time'}."""

    def __init__(self, cd, timeout_s=300):
        self.cd = cd
        self.events = []
        self._cond = threading.Condition()
        sock = cd.ns.socket() if cd.ns else socket.socket()
        self.server = _EventServer(self, sock)
        self.callback = 'http://127.0.0.1:%d/xpmntest-events' % self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.1},
                                        name='gena-callback', daemon=True)
        self._thread.start()
        try:
            status, headers, body = http_request(cd.event_url, 'SUBSCRIBE', None, {
                'CALLBACK': '<%s>' % self.callback, 'NT': 'upnp:event',
                'TIMEOUT': 'Second-%d' % timeout_s}, cd.ns, cd.timeout)
            if status != 200 or not headers.get('sid'):
                raise UpnpError('SUBSCRIBE %s: HTTP %d %r' % (cd.event_url, status, body[:200]), status=status)
        except BaseException:
            self._shutdown()
            raise
        self.sid = headers['sid']
        self.timeout_header = headers.get('timeout')

    def _add(self, sid, seq, props):
        with self._cond:
            self.events.append({'sid': sid, 'seq': int(seq) if seq and seq.isdigit() else seq,
                                'vars': props, 'time': time.monotonic()})
            self._cond.notify_all()

    def wait_for(self, pred, timeout=10.0, start=0):
        """Waits for an event (from index `start`) whose vars satisfy pred(vars); returns the event."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events[start:]:
                    if pred(ev['vars']):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('no matching GENA event within %ss; got %s' % (
                        timeout, [e['vars'] for e in self.events[-10:]]))
                self._cond.wait(left)

    def _shutdown(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(2)

    def close(self):
        try:
            http_request(self.cd.event_url, 'UNSUBSCRIBE', None, {'SID': self.sid}, self.cd.ns, 3)
        except (OSError, http.client.HTTPException):
            pass  # the server may be gone already
        finally:
            self._shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
