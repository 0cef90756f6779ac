#!/usr/bin/python3
# Test-data capture helper (see README.md); not used by the build.
# usage: capture_browse.py DESC_URL OBJECT_ID FLAG OUTFILE [filter]
# Finds the ContentDirectory control URL in the device description, POSTs a
# SOAP Browse and writes the unescaped Result verbatim (UTF-8 bytes).
import sys, urllib.request, urllib.parse, xml.etree.ElementTree as ET
from xml.sax.saxutils import escape
desc_url, oid, flag, out = sys.argv[1:5]
flt = sys.argv[5] if len(sys.argv) > 5 else "*"
d = ET.fromstring(urllib.request.urlopen(desc_url).read())
ns = {"d": "urn:schemas-upnp-org:device-1-0"}
ctl = None
for s in d.iter("{urn:schemas-upnp-org:device-1-0}service"):
    if "ContentDirectory" in s.find("d:serviceType", ns).text:
        ctl = s.find("d:controlURL", ns).text
base = d.findtext("d:URLBase", None, ns) or desc_url
url = urllib.parse.urljoin(base, ctl)
body = f'''<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:Browse xmlns:u="urn:schemas-upnp-org:service:ContentDirectory:1"><ObjectID>{escape(oid)}</ObjectID><BrowseFlag>{flag}</BrowseFlag><Filter>{escape(flt)}</Filter><StartingIndex>0</StartingIndex><RequestedCount>0</RequestedCount><SortCriteria></SortCriteria></u:Browse></s:Body></s:Envelope>'''
req = urllib.request.Request(url, data=body.encode(), headers={
    "Content-Type": 'text/xml; charset="utf-8"',
    "SOAPAction": '"urn:schemas-upnp-org:service:ContentDirectory:1#Browse"'})
resp = urllib.request.urlopen(req).read()
open(out + ".soap", "wb").write(resp)
env = ET.fromstring(resp)
r = next(e for e in env.iter() if e.tag.endswith("Result") or e.tag == "Result")
open(out, "wb").write(r.text.encode("utf-8"))
for tag in ("NumberReturned", "TotalMatches", "UpdateID"):
    print(tag, next((e.text for e in env.iter() if e.tag == tag), None))
