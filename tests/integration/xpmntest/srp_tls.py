"""One TLS 1.2 SRP connection (RFC 5054) on OpenSSL's libssl through ctypes,
with the plaintext on stdin/stdout: the `srp` method of the independent
peer (indie_peer.py), both roles.

Python's ssl module has no SRP, and the openssl tools are broken for SRP in
Debian 12's OpenSSL 3.0: `s_server -srpvfile` reads an uninitialised user
name and refuses every user ("User ... doesn't exist"), and `s_client
-srpuser` crashes (SIGSEGV) once the server's SRP parameters arrive. The
library functions themselves work.

    /usr/bin/python3 srp_tls.py server PORT USER PIN
    /usr/bin/python3 srp_tls.py client PORT USER PIN

server: listens on 127.0.0.1:PORT, accepts one connection and completes the
handshake for USER (any other user name is refused with
unknown_psk_identity) with the password PIN. client: connects to
127.0.0.1:PORT as USER with PIN, accepting only the RFC 5054 groups. Then
both relay stdin -> TLS and TLS -> stdout until either side ends. Exit
status 0 after a clean end, 1 (reason on stderr) when the handshake fails,
e.g. a wrong PIN.
"""
import ctypes
import os
import select
import socket
import sys

CIPHERS = b'SRP-AES-256-CBC-SHA:SRP-AES-128-CBC-SHA:@SECLEVEL=0'
SSL_CTRL_SET_MIN_PROTO_VERSION = 123
SSL_CTRL_SET_MAX_PROTO_VERSION = 124
TLS1_2_VERSION = 0x0303
SSL_AD_UNKNOWN_PSK_IDENTITY = 115
SSL3_AL_FATAL = 2
SSL_ERROR_ZERO_RETURN = 6
SRP_GROUP = b'2048'   # RFC 5054 group; the client accepts any known one

ssl = ctypes.CDLL('libssl.so.3')
crypto = ctypes.CDLL('libcrypto.so.3')
VP = ctypes.c_void_p
for name, res, args in [
        ('TLS_server_method', VP, []),
        ('TLS_client_method', VP, []),
        ('SSL_CTX_set_srp_username', ctypes.c_int, [VP, ctypes.c_char_p]),
        ('SSL_CTX_set_srp_password', ctypes.c_int, [VP, ctypes.c_char_p]),
        ('SSL_connect', ctypes.c_int, [VP]),
        ('SSL_CTX_new', VP, [VP]),
        ('SSL_CTX_free', None, [VP]),
        ('SSL_CTX_ctrl', ctypes.c_long, [VP, ctypes.c_int, ctypes.c_long, VP]),
        ('SSL_CTX_set_cipher_list', ctypes.c_int, [VP, ctypes.c_char_p]),
        ('SSL_CTX_set_srp_username_callback', ctypes.c_int, [VP, VP]),
        ('SSL_get_srp_username', ctypes.c_char_p, [VP]),
        ('SSL_set_srp_server_param_pw', ctypes.c_int, [VP, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]),
        ('SSL_new', VP, [VP]),
        ('SSL_free', None, [VP]),
        ('SSL_set_fd', ctypes.c_int, [VP, ctypes.c_int]),
        ('SSL_accept', ctypes.c_int, [VP]),
        ('SSL_read', ctypes.c_int, [VP, ctypes.c_void_p, ctypes.c_int]),
        ('SSL_write', ctypes.c_int, [VP, ctypes.c_char_p, ctypes.c_int]),
        ('SSL_pending', ctypes.c_int, [VP]),
        ('SSL_get_error', ctypes.c_int, [VP, ctypes.c_int]),
        ('SSL_shutdown', ctypes.c_int, [VP])]:
    fn = getattr(ssl, name)
    fn.restype, fn.argtypes = res, args
crypto.ERR_get_error.restype = ctypes.c_ulong
crypto.ERR_error_string_n.argtypes = [ctypes.c_ulong, ctypes.c_char_p, ctypes.c_size_t]

USERNAME_CB = ctypes.CFUNCTYPE(ctypes.c_int, VP, ctypes.POINTER(ctypes.c_int), VP)


def openssl_errors():
    out = []
    while True:
        code = crypto.ERR_get_error()
        if not code:
            return '; '.join(out) or 'no OpenSSL error queued'
        buf = ctypes.create_string_buffer(256)
        crypto.ERR_error_string_n(code, buf, 256)
        out.append(buf.value.decode(errors='replace'))


def fail(msg):
    sys.stderr.write('srp_tls: %s\n' % msg)
    sys.stderr.flush()
    sys.exit(1)


def main():
    role, port, user, pin = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4].encode()

    def username_cb(s, ad, arg):
        got = ssl.SSL_get_srp_username(s)
        if got != user:
            sys.stderr.write('srp_tls: unknown SRP user %r\n' % got)
            ad[0] = SSL_AD_UNKNOWN_PSK_IDENTITY
            return SSL3_AL_FATAL
        if ssl.SSL_set_srp_server_param_pw(s, user, pin, SRP_GROUP) != 1:
            return SSL3_AL_FATAL
        return 0
    callback = USERNAME_CB(username_cb)   # kept alive while the context lives

    server = role == 'server'
    ctx = ssl.SSL_CTX_new(ssl.TLS_server_method() if server else ssl.TLS_client_method())
    ssl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, None)
    ssl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, TLS1_2_VERSION, None)
    if ssl.SSL_CTX_set_cipher_list(ctx, CIPHERS) != 1:
        fail('no SRP ciphersuite in this OpenSSL: %s' % openssl_errors())
    if server:
        ssl.SSL_CTX_set_srp_username_callback(ctx, ctypes.cast(callback, VP))
        listener = socket.socket()
        listener.bind(('127.0.0.1', port))
        listener.listen(1)
        conn, _ = listener.accept()
        listener.close()
    else:
        ssl.SSL_CTX_set_srp_username(ctx, user)
        ssl.SSL_CTX_set_srp_password(ctx, pin)
        conn = socket.create_connection(('127.0.0.1', port))
    s = ssl.SSL_new(ctx)
    ssl.SSL_set_fd(s, conn.fileno())
    if (ssl.SSL_accept(s) if server else ssl.SSL_connect(s)) != 1:
        fail('SRP handshake failed: %s' % openssl_errors())
    relay(s, conn)
    ssl.SSL_free(s)
    ssl.SSL_CTX_free(ctx)
    conn.close()


def relay(s, conn):
    buf = ctypes.create_string_buffer(16384)
    stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer.fileno()
    while True:
        ready = [conn] if ssl.SSL_pending(s) else select.select([conn, stdin], [], [])[0]
        if conn in ready:
            n = ssl.SSL_read(s, buf, len(buf))
            if n <= 0:
                err = ssl.SSL_get_error(s, n)
                if err != SSL_ERROR_ZERO_RETURN:
                    sys.stderr.write('srp_tls: connection ended: %s\n' % openssl_errors())
                return
            os.write(stdout, buf.raw[:n])
        if stdin in ready:
            data = os.read(stdin, 16384)
            if not data:
                ssl.SSL_shutdown(s)
                return
            if ssl.SSL_write(s, data, len(data)) <= 0:
                fail('write failed: %s' % openssl_errors())


if __name__ == '__main__':
    main()
