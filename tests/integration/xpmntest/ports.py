"""Free loopback TCP ports for test servers.

Ports are drawn at random below the kernel's ephemeral range (so an outgoing
connection cannot grab one between the check and the server's bind) and are
never handed out twice by this process. A port is "free" when a socket can
bind it without SO_REUSEADDR.
"""
import random
import socket
import threading

_lock = threading.Lock()
_given = set()


def _ephemeral_low():
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def is_free(port, host='127.0.0.1'):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host='127.0.0.1'):
    """One free TCP port on `host`, not handed out before by this process."""
    high = min(_ephemeral_low(), 65536) - 1
    low = 20000 if high > 21000 else 1024
    with _lock:
        for _ in range(500):
            port = random.randint(low, high)
            if port not in _given and is_free(port, host):
                _given.add(port)
                return port
    raise RuntimeError('no free TCP port found on %s' % host)


def free_ports(n, host='127.0.0.1'):
    return [free_port(host) for _ in range(n)]
