"""An untrusted XMPP server attacks the end-to-end stream (wire profile §3):
Prosody with mod_xpmn_mitm rewrites the certificate fingerprints in every
Jingle XTLS negotiation it routes, as a server would to slip its own key in.
Pairing (SRP with the PIN, then the certificates swapped inside that stream)
still works and stores the bridge's real certificate; every x509 stream
afterwards fails with security-error, and the controller learns nothing of
the library. The module runs inside a fresh network namespace.
"""
import functools
import hashlib
import os
import re
import ssl
import unittest

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'mitm-s3cret'
NAS_NAME = 'MITM NAS'

if not inside_namespace():
    InNamespace = module_in_namespace('test_e2e_mitm', prefix='xpmn-mitm')

else:
    from xpmntest.bridge import class_workdir, controller_config, pair_xpmn, run_xpmn, start_secure_home
    from xpmntest.prosody import Prosody

    class TestUntrustedServer(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-mitm-')
            start_secure_home(cls, functools.partial(Prosody, mitm=True), PASSWORD, NAS_NAME)
            cls.owner = controller_config(cls.workdir, cls.server, 'home', PASSWORD, 'owner')
            cls.paired = pair_xpmn(cls.bridge, cls.owner, cls.bridge_jid)

        def bridge_fingerprint(self):
            with open(os.path.join(self.bridge.workdir, 'bridge-state', 'identity.crt')) as f:
                der = ssl.PEM_cert_to_DER_cert(f.read())
            return hashlib.sha256(der).hexdigest()

        def test_pairing_stores_the_real_certificate(self):
            # SRP does not rely on the announced fingerprints; the certificates
            # travel inside the PIN-authenticated stream, out of the server's reach.
            fp = re.search(r'^fingerprint ([0-9a-f]{64})$', self.paired, re.M).group(1)
            self.assertEqual(fp, self.bridge_fingerprint())

        def test_rewritten_fingerprints_end_in_security_error(self):
            before = len(self.server.mitm_rewrites())
            r = run_xpmn(self.owner, 'browse', self.device, '0', '--xml')
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn('security-error', r.stderr)
            self.assertNotIn('<container', r.stdout)
            rewrites = self.server.mitm_rewrites()[before:]
            self.assertTrue(rewrites, 'the server did not attack: the test proves nothing')
            self.assertTrue(all(w['original'] != w['replacement'] for w in rewrites))
