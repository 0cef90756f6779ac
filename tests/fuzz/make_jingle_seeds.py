#!/usr/bin/python3
"""Writes the `tls-*` seeds of tests/fuzz/jingle_session/: a session-initiate,
IBB <open/>, then real TLS ClientHellos (x509: TLS 1.3/1.2 from Python's ssl;
srp: TLS 1.2 SRP from libssl through ctypes) in IBB <data/>, so the fuzzer
starts inside the device's TLS server handshake over IBB. ClientHellos carry
fresh randoms, so re-running changes the seeds' bytes, not what they reach.

    /usr/bin/python3 tests/fuzz/make_jingle_seeds.py
"""
import base64
import ctypes
import os
import ssl

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'jingle_session')
PEER = 'home@xpmn.test/phone'
SELF = 'home@xpmn.test/upnp-3fa2c1d0'
SID, IBB_SID = 'a73sjjvkla37jfea', 'ch3d9s71'
FINGERPRINT = 'ab' * 32


def initiate(methods, fingerprint=FINGERPRINT, block_size=4096):
    fp = "<fingerprint algo='sha-256'>%s</fingerprint>" % fingerprint if fingerprint else ''
    ms = ''.join("<method name='%s'/>" % m for m in methods)
    return ("<iq type='set' id='j1' from='%s' to='%s'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' "
            "initiator='%s' sid='%s'><content creator='initiator' name='xmlstream'>"
            "<description xmlns='urn:xmpp:jingle:apps:xmlstream:0'/>"
            "<transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='%d' sid='%s'/>"
            "<security xmlns='urn:xmpp:jingle:security:xtls:0'>%s%s</security></content></jingle></iq>"
            % (PEER, SELF, PEER, SID, block_size, IBB_SID, fp, ms))


def security_info(method):
    return ("<iq type='set' id='j2' from='%s'><jingle xmlns='urn:xmpp:jingle:1' action='security-info' sid='%s'>"
            "<content creator='initiator' name='xmlstream'><security xmlns='urn:xmpp:jingle:security:xtls:0'>"
            "<method name='%s'/></security></content></jingle></iq>" % (PEER, SID, method))


def ibb_open(block_size=4096):
    return ("<iq type='set' id='i1' from='%s'><open xmlns='http://jabber.org/protocol/ibb' block-size='%d' "
            "sid='%s' stanza='iq'/></iq>" % (PEER, block_size, IBB_SID))


def ibb_data(chunks, first_seq=0):
    return ''.join("<iq type='set' id='d%d' from='%s'><data xmlns='http://jabber.org/protocol/ibb' seq='%d' "
                   "sid='%s'>%s</data></iq>" % (first_seq + i, PEER, (first_seq + i) % 65536, IBB_SID,
                                                base64.b64encode(c).decode()) for i, c in enumerate(chunks))


def ibb_close():
    return ("<iq type='set' id='c1' from='%s'><close xmlns='http://jabber.org/protocol/ibb' sid='%s'/></iq>"
            % (PEER, IBB_SID))


def terminate(condition):
    return ("<iq type='set' id='j3' from='%s'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' "
            "sid='%s'><reason><%s/></reason></jingle></iq>" % (PEER, SID, condition))


def x509_client_hello(version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ctx.maximum_version = version
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = ctx.wrap_bio(incoming, outgoing, server_side=False)
    try:
        conn.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def srp_client_hello(user, pin):
    lib = ctypes.CDLL('libssl.so.3')
    crypto = ctypes.CDLL('libcrypto.so.3')
    vp = ctypes.c_void_p
    for lib_, name, res, args in [
            (lib, 'TLS_client_method', vp, []), (lib, 'SSL_CTX_new', vp, [vp]),
            (lib, 'SSL_CTX_ctrl', ctypes.c_long, [vp, ctypes.c_int, ctypes.c_long, vp]),
            (lib, 'SSL_CTX_set_cipher_list', ctypes.c_int, [vp, ctypes.c_char_p]),
            (lib, 'SSL_CTX_set_srp_username', ctypes.c_int, [vp, ctypes.c_char_p]),
            (lib, 'SSL_CTX_set_srp_password', ctypes.c_int, [vp, ctypes.c_char_p]),
            (lib, 'SSL_new', vp, [vp]), (lib, 'SSL_set_bio', None, [vp, vp, vp]),
            (lib, 'SSL_connect', ctypes.c_int, [vp]), (lib, 'SSL_free', None, [vp]),
            (lib, 'SSL_CTX_free', None, [vp]),
            (crypto, 'BIO_s_mem', vp, []), (crypto, 'BIO_new', vp, [vp]),
            (crypto, 'BIO_read', ctypes.c_int, [vp, ctypes.c_void_p, ctypes.c_int])]:
        fn = getattr(lib_, name)
        fn.restype, fn.argtypes = res, args
    ctx = lib.SSL_CTX_new(lib.TLS_client_method())
    lib.SSL_CTX_ctrl(ctx, 123, 0x0303, None)   # min TLS 1.2
    lib.SSL_CTX_ctrl(ctx, 124, 0x0303, None)   # max TLS 1.2
    assert lib.SSL_CTX_set_cipher_list(ctx, b'SRP-AES-256-CBC-SHA:@SECLEVEL=0') == 1
    lib.SSL_CTX_set_srp_username(ctx, user.encode())
    lib.SSL_CTX_set_srp_password(ctx, pin.encode())
    s = lib.SSL_new(ctx)
    rbio, wbio = crypto.BIO_new(crypto.BIO_s_mem()), crypto.BIO_new(crypto.BIO_s_mem())
    lib.SSL_set_bio(s, rbio, wbio)
    lib.SSL_connect(s)   # wants to read: the ClientHello is in wbio
    buf = ctypes.create_string_buffer(16384)
    n = crypto.BIO_read(wbio, buf, len(buf))
    hello = buf.raw[:n]
    lib.SSL_free(s)
    lib.SSL_CTX_free(ctx)
    return hello


def write(name, *stanzas):
    with open(os.path.join(HERE, name), 'wb') as f:
        f.write(b'\x01' + ''.join(stanzas).encode())


def main():
    tls13 = x509_client_hello(ssl.TLSVersion.TLSv1_3)
    tls12 = x509_client_hello(ssl.TLSVersion.TLSv1_2)
    srp = srp_client_hello(PEER, '12345678')
    half = len(tls13) // 2
    write('tls-x509-13-hello', initiate(['x509', 'srp']), security_info('x509'), ibb_open(), ibb_data([tls13]))
    write('tls-x509-12-hello', initiate(['x509']), ibb_open(), ibb_data([tls12]))
    write('tls-x509-hello-split', initiate(['x509']), ibb_open(),
          ibb_data([tls13[:5], tls13[5:half], tls13[half:]]), ibb_close())
    write('tls-x509-hello-terminate', initiate(['x509']), ibb_open(), ibb_data([tls13]), terminate('success'))
    write('tls-srp-hello', initiate(['srp'], fingerprint=None), security_info('srp'), ibb_open(), ibb_data([srp]))
    write('tls-srp-hello-small-blocks', initiate(['srp'], fingerprint=None, block_size=64), ibb_open(64),
          ibb_data([srp[i:i + 48] for i in range(0, len(srp), 48)]), ibb_close())
    # A fatal alert (handshake_failure) instead of a ClientHello.
    write('tls-alert', initiate(['x509']), ibb_open(), ibb_data([bytes([21, 3, 3, 0, 2, 2, 40])]))


if __name__ == '__main__':
    main()
