"""What /proc says about processes: sessions, command lines, listening sockets.

    procfs.session_pids(sid)          # live processes of a session (setsid leader's pid)
    procfs.pids_mentioning('node@')   # processes whose command line contains the text
    procfs.listening_tcp(pids)        # [(address, port)] the processes listen on (IPv4/6)
    procfs.established_to(port)       # established TCP connections served on `port` here
"""
import os
import re


def all_pids():
    return [int(e) for e in os.listdir('/proc') if e.isdigit()]


def _stat_fields(pid):
    """state, ppid, pgrp, session, ... of /proc/PID/stat (after the command name)."""
    with open('/proc/%d/stat' % pid) as f:
        stat = f.read()
    return stat[stat.rindex(')') + 2:].split()


def session_pids(sid):
    """Live (not zombie) processes whose session id is `sid`."""
    found = []
    for pid in all_pids():
        try:
            fields = _stat_fields(pid)
        except (OSError, ValueError):
            continue
        if fields[0] != 'Z' and int(fields[3]) == sid:
            found.append(pid)
    return found


def pids_mentioning(text):
    """Processes whose command line contains `text`."""
    found = []
    for pid in all_pids():
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                if text.encode() in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def process_name(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def socket_inodes(pid):
    """Inode numbers (as text) of the sockets `pid` holds."""
    inodes = set()
    fd_dir = '/proc/%d/fd' % pid
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return inodes
    for fd in fds:
        try:
            m = re.fullmatch(r'socket:\[(\d+)\]', os.readlink(os.path.join(fd_dir, fd)))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    return inodes


def _address(hex_addr):
    raw = bytes.fromhex(hex_addr)
    # /proc prints each 32-bit word in host (little-endian) order.
    b = b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    if len(b) == 4:
        return '.'.join(str(x) for x in b)
    if b[:12] == b'\0' * 10 + b'\xff\xff':
        return '::ffff:' + '.'.join(str(x) for x in b[12:])
    return ':'.join('%x' % int.from_bytes(b[i:i + 2], 'big') for i in range(0, 16, 2))


def listening_tcp(pids):
    """(address, port) of every TCP socket in LISTEN state held by `pids`, from
    /proc/net/tcp{,6} (of this network namespace)."""
    inodes = set()
    for pid in pids:
        inodes |= socket_inodes(pid)
    found = []
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == '0A' and cols[9] in inodes:     # 0A = TCP_LISTEN
                addr, port = cols[1].split(':')
                found.append((_address(addr), int(port, 16)))
    return found


def established_to(port):
    """How many TCP connections in this network namespace are established with
    local port `port` (the serving side's sockets), from /proc/net/tcp{,6}."""
    n = 0
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        with open(table) as f:
            for row in f.read().splitlines()[1:]:
                cols = row.split()
                n += cols[3] == '01' and int(cols[1].split(':')[1], 16) == port  # 01 = TCP_ESTABLISHED
    return n
