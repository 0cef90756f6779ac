"""Test fixtures for xpmn-bridge integration tests (run with Debian's /usr/bin/python3).

- ports:    free loopback TCP ports
- certs:    a throw-away test PKI (CA, server cert, client certs for SASL EXTERNAL)
- prosody:  a real Prosody 0.12 server per test, everything under one work dir
- ejabberd: a real ejabberd 23.01 with the same API (loopback only, no epmd)
- indie_peer: an end-to-end peer (Jingle, IBB, TLS, XEP-0246) written from the wire profile
- slix:     slixmpp clients with a thread-safe, bounded-wait API
- slix_socks5: slixmpp's own SOCKS5 client (xep_0065) to an S5B candidate, as a blocking socket
- tcpproxy: a loopback TCP proxy that can cut (RST) connections: the fault injector
- topology: server / controller / bridge (/ home router) namespaces for transfer tests
- miniupnpd: miniupnpd as the home router's UPnP IGD, and an IGD control point
"""
