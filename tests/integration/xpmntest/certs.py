"""A throw-away test PKI made with the `openssl` CLI.

TestPKI(directory) creates a CA (EC P-256) there; server_cert(domain) issues a
server certificate (SAN DNS:domain, DNS:localhost, IP:127.0.0.1) and
client_cert(jid) a client certificate carrying the JID as an XmppAddr
(otherName id-on-xmppAddr 1.3.6.1.5.5.7.8.5, UTF8String) for SASL EXTERNAL.
fingerprint(cert) is the SHA-256 of the certificate's DER, lowercase hex
without separators (the form xmpp.tls_fingerprint normalises to).

    pki = TestPKI(tmpdir)
    srv = pki.server_cert('xpmn.test')      # .cert .key .fingerprint
    cli = pki.client_cert('bridge@xpmn.test')
"""
import hashlib
import os
import secrets
import subprocess
from dataclasses import dataclass

XMPP_ADDR_OID = '1.3.6.1.5.5.7.8.5'  # id-on-xmppAddr (RFC 6120 13.7.1.4)


@dataclass
class ServerCert:
    domain: str
    cert: str
    key: str
    fingerprint: str  # SHA-256 of the DER, lowercase hex


@dataclass
class ClientCert:
    jid: str
    cert: str
    key: str
    fingerprint: str


def _openssl(*args, input=None):
    try:
        p = subprocess.run(['openssl', *args], input=input, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired as e:
        raise RuntimeError('openssl %s timed out' % ' '.join(args)) from e
    if p.returncode != 0:
        raise RuntimeError('openssl %s failed (%d): %s' % (
            ' '.join(args), p.returncode, p.stderr.decode(errors='replace').strip()))
    return p.stdout


def fingerprint(cert_path):
    """SHA-256 of the certificate's DER encoding, lowercase hex."""
    der = _openssl('x509', '-in', cert_path, '-outform', 'DER')
    return hashlib.sha256(der).hexdigest()


def colon_fingerprint(hex_fp):
    """'ab:cd:...' form of a hex fingerprint."""
    return ':'.join(hex_fp[i:i + 2] for i in range(0, len(hex_fp), 2))


def _safe_name(text):
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in text)


class TestPKI:
    __test__ = False  # not a unittest/pytest class despite the name

    def __init__(self, directory, ca_name='xpmn test CA'):
        self.dir = os.path.abspath(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.ca_key = os.path.join(self.dir, 'ca.key')
        self.ca_cert = os.path.join(self.dir, 'ca.crt')
        _openssl('req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                 '-nodes', '-keyout', self.ca_key, '-out', self.ca_cert, '-days', '3650',
                 '-sha256', '-subj', '/O=xpmn tests/CN=' + ca_name,
                 '-addext', 'basicConstraints=critical,CA:TRUE',
                 '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
                 '-addext', 'subjectKeyIdentifier=hash')
        os.chmod(self.ca_key, 0o600)

    def _issue(self, name, subject_cn, extensions):
        key = os.path.join(self.dir, name + '.key')
        csr = os.path.join(self.dir, name + '.csr')
        cert = os.path.join(self.dir, name + '.crt')
        ext = os.path.join(self.dir, name + '.ext')
        _openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                 '-keyout', key, '-out', csr, '-subj', '/O=xpmn tests/CN=' + subject_cn)
        os.chmod(key, 0o600)
        with open(ext, 'w') as f:
            f.write('[v3]\n' + '\n'.join(extensions) + '\n')
        _openssl('x509', '-req', '-in', csr, '-CA', self.ca_cert, '-CAkey', self.ca_key,
                 '-set_serial', '0x' + secrets.token_hex(15), '-days', '825', '-sha256',
                 '-extfile', ext, '-extensions', 'v3', '-out', cert)
        os.remove(csr)
        return cert, key

    def server_cert(self, domain, name=None):
        """Certificate for `domain` (also valid for localhost and 127.0.0.1)."""
        cert, key = self._issue(name or 'server-' + _safe_name(domain), domain, [
            'basicConstraints=critical,CA:FALSE',
            'keyUsage=critical,digitalSignature',
            'extendedKeyUsage=serverAuth,clientAuth',
            'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1' % domain,
            'authorityKeyIdentifier=keyid',
        ])
        return ServerCert(domain, cert, key, fingerprint(cert))

    def client_cert(self, jid, name=None):
        """Client certificate whose SAN is otherName id-on-xmppAddr;UTF8:<jid>."""
        cert, key = self._issue(name or 'client-' + _safe_name(jid), jid, [
            'basicConstraints=critical,CA:FALSE',
            'keyUsage=critical,digitalSignature',
            # LuaSec checks peer chains with the SSL-server purpose, so
            # Prosody's mod_auth_ccert refuses a clientAuth-only certificate.
            'extendedKeyUsage=clientAuth,serverAuth',
            'subjectAltName=otherName:%s;UTF8:%s' % (XMPP_ADDR_OID, jid),
            'authorityKeyIdentifier=keyid',
        ])
        return ClientCert(jid, cert, key, fingerprint(cert))

    def verify(self, cert):
        """Raises RuntimeError unless `cert` chains to this CA."""
        _openssl('verify', '-CAfile', self.ca_cert, cert)
