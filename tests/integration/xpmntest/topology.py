"""Network topologies for the media transfer tests: an XMPP server, a bridge and
a controller each in a namespace of its own, joined by veth pairs.

    with Topology('isolated') as topo:         # or 'routed', 'isolated-no-proxy'
        srv = topo.start_prosody(workdir)       # in topo.server, listening on topo.server_ip
        c = SlixClient(jid, pw, host=topo.server_ip, port=srv.c2s_port,
                       ca_file=srv.ca_file, netns=topo.controller)
        topo.bridge.popen([...])                # the bridge daemon in its namespace
        topo.can_connect(topo.controller, (topo.bridge_ip, port))

Kinds:
- 'routed' (a): the server namespace forwards (ip_forward=1), so the controller
  and the bridge reach each other directly (S5B direct candidates work).
- 'isolated' (b): no forwarding in the server namespace: the controller and the
  bridge reach only the server's address (where c2s and the SOCKS5 proxy
  listen), never each other, so a transfer has to go through the proxy.
- 'isolated-no-proxy' (c): as (b), and start_prosody()/start_ejabberd() give
  the server no proxy (`topo.proxy` is False): only in-band transfer is left.

    controller ns           server ns                      bridge ns
    eth0 10.250.1.2 ---- ctl0 10.250.1.1                  
                         lo  10.250.0.1 (c2s, proxy65)
                         brg0 10.250.2.1 ---------- eth0 10.250.2.2

router=True puts a home router (its own namespace `topo.router`, e.g. for the
miniupnpd fixture) between the bridge and the server: the bridge sits on the
router's LAN (lan0 192.168.77.1/24, bridge eth0 192.168.77.2, default route
via the router), the router's WAN (wan0) is the link to the server. miniupnpd
refuses to map ports unless its WAN address is a public one, so that link
uses 11.250.2.0/24 (router 11.250.2.2 = the home's "public" address, server
11.250.2.1); the server has no route to the LAN, like the internet. In
'routed' the controller reaches the router's WAN address (and what is mapped
there), in the isolated kinds it does not. lan_reaches_controller=False
makes the router refuse new connections from its LAN to the controller's
network (a controller behind its own NAT, e.g. a phone on a mobile network):
the bridge's connections out to the controller fail at once, while the
controller still reaches what the router maps for the bridge.

Each namespace's multicast route (224.0.0.0/4) points at `lo`, as netns.NetNs
sets it up for a NAS there: an SSDP search for the router must go out through
the LAN interface explicitly (IP_MULTICAST_IF bridge_ip, as a per-interface
gupnp context does; xpmntest.miniupnpd.ssdp() does so).

Each namespace has `lo` up with multicast (netns.NetNs) and IPv6 off (no
address autoconfiguration or duplicate detection delays on the veths). Every
address lives inside these namespaces: no interface leads to the machine's
own network, so nothing sent here can leave. delete() (or the with block)
kills every process in the namespaces and removes them.
"""
import shutil
import socket

from .netns import IP, NetNs, NetNsError

NFT = shutil.which('nft') or '/usr/sbin/nft'
KINDS = ('routed', 'isolated', 'isolated-no-proxy')


def ip(ns, *argv):
    """`ip ARGV` inside `ns`; NetNsError when it fails."""
    r = ns.run([IP, *argv], timeout=10)
    if r.returncode != 0:
        raise NetNsError('ip %s in %s failed: %s' % (' '.join(argv), ns.name, r.stderr.strip()))


def veth_link(ns_a, name_a, addr_a, ns_b, name_b, addr_b, tmp='vtmp0'):
    """A veth pair made inside ns_a (never in the test runner's own namespace),
    its peer (first named `tmp`, unique in ns_a) moved to ns_b, both ends
    addressed (CIDR), multicast-capable and up."""
    ip(ns_a, 'link', 'add', name_a, 'type', 'veth', 'peer', 'name', tmp)
    ip(ns_a, 'link', 'set', tmp, 'netns', ns_b.link_target())
    ip(ns_b, 'link', 'set', tmp, 'name', name_b)
    for ns, name, addr in ((ns_a, name_a, addr_a), (ns_b, name_b, addr_b)):
        ip(ns, 'addr', 'add', addr, 'dev', name)
        ip(ns, 'link', 'set', name, 'multicast', 'on', 'up')

SERVER_IP = '10.250.0.1'          # on the server's lo: c2s and proxy65 listen here
CONTROLLER_NET = '10.250.1'       # controller link: .1 server, .2 controller
BRIDGE_NET = '10.250.2'           # bridge link without router: .1 server, .2 bridge
WAN_NET = '11.250.2'              # router WAN link: .1 server, .2 router (public-looking)
LAN_NET = '192.168.77'            # home LAN: .1 router, .2 bridge

# The router's firewall, in its own namespace's netfilter (nftables), laid out
# as miniupnpd's nftables backend expects (what Debian's nft_init.sh creates):
# one inet table holding a forward filter that jumps to miniupnpd's chain, and
# nat pre/postrouting chains that jump to its DNAT/SNAT chains. LAN -> WAN is
# masqueraded; WAN -> LAN only for what miniupnpd maps.
ROUTER_TABLE = 'miniupnpd'
ROUTER_FORWARD_CHAIN = 'miniupnpd'
ROUTER_NAT_CHAIN = 'prerouting_miniupnpd'
ROUTER_POSTROUTING_CHAIN = 'postrouting_miniupnpd'
ROUTER_RULESET = """table inet {table} {{
    chain forward {{
        type filter hook forward priority 0; policy drop;
        ct state established,related accept
        iifname "{lan}" oifname "{wan}" accept
        jump {fwd}
    }}
    chain {fwd} {{
    }}
    chain prerouting {{
        type nat hook prerouting priority -100; policy accept;
        jump {nat}
    }}
    chain postrouting {{
        type nat hook postrouting priority 100; policy accept;
        jump {post}
        oifname "{wan}" masquerade
    }}
    chain {nat} {{
    }}
    chain {post} {{
    }}
}}
"""


class Topology:
    def __init__(self, kind='isolated', *, router=False, lan_reaches_controller=True, prefix='xpmn-topo'):
        if kind not in KINDS:
            raise ValueError('kind must be one of %s' % ', '.join(KINDS))
        self.kind = kind
        self.router_enabled = router
        self.lan_reaches_controller = lan_reaches_controller
        self.prefix = prefix
        self.server = self.controller = self.bridge = self.router = None
        self.server_ip = SERVER_IP
        self.controller_ip = CONTROLLER_NET + '.2'
        if router:
            self.bridge_ip = LAN_NET + '.2'
            self.router_lan_ip = LAN_NET + '.1'
            self.router_wan_ip = WAN_NET + '.2'
            self.lan_ifname, self.wan_ifname = 'lan0', 'wan0'
        else:
            self.bridge_ip = BRIDGE_NET + '.2'
            self.router_lan_ip = self.router_wan_ip = None
            self.lan_ifname = self.wan_ifname = None
        self.bridge_ifname = 'eth0'

    @property
    def proxy(self):
        """Whether the server of this topology runs a SOCKS5 proxy."""
        return self.kind != 'isolated-no-proxy'

    @property
    def namespaces(self):
        return [ns for ns in (self.server, self.controller, self.bridge, self.router) if ns]

    # -- life cycle ---------------------------------------------------------
    def create(self):
        try:
            self.server = NetNs(prefix=self.prefix + '-s', sweep=True)
            self.controller = NetNs(prefix=self.prefix + '-c', sweep=True)
            self.bridge = NetNs(prefix=self.prefix + '-b', sweep=True)
            for ns in self.namespaces:
                self._sysctl(ns, 'net.ipv6.conf.all.disable_ipv6=1',
                             'net.ipv6.conf.default.disable_ipv6=1')
            ip(self.server, 'addr', 'add', self.server_ip + '/32', 'dev', 'lo')
            self._sysctl(self.server, 'net.ipv4.ip_forward=%d' % (self.kind == 'routed'))
            self._link(self.server, 'ctl0', CONTROLLER_NET + '.1/24',
                       self.controller, 'eth0', self.controller_ip + '/24')
            ip(self.controller, 'route', 'add', 'default', 'via', CONTROLLER_NET + '.1')
            if self.router_enabled:
                self.router = NetNs(prefix=self.prefix + '-r', sweep=True)
                self._sysctl(self.router, 'net.ipv6.conf.all.disable_ipv6=1',
                             'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv4.ip_forward=1')
                self._link(self.server, 'wan1', WAN_NET + '.1/24',
                           self.router, self.wan_ifname, self.router_wan_ip + '/24')
                ip(self.router, 'route', 'add', 'default', 'via', WAN_NET + '.1')
                self._link(self.router, self.lan_ifname, self.router_lan_ip + '/24',
                           self.bridge, 'eth0', self.bridge_ip + '/24')
                ip(self.bridge, 'route', 'add', 'default', 'via', self.router_lan_ip)
                self._load_router_ruleset()
            else:
                self._link(self.server, 'brg0', BRIDGE_NET + '.1/24',
                           self.bridge, 'eth0', self.bridge_ip + '/24')
                ip(self.bridge, 'route', 'add', 'default', 'via', BRIDGE_NET + '.1')
        except BaseException:
            self.delete()
            raise
        return self

    def delete(self):
        errors = []
        for ns in self.namespaces:
            try:
                ns.delete()
            except NetNsError as e:
                errors.append(str(e))
        self.server = self.controller = self.bridge = self.router = None
        if errors:
            raise NetNsError('; '.join(errors))

    def __enter__(self):
        return self.create()

    def __exit__(self, *exc):
        self.delete()
        return False

    # -- building blocks ----------------------------------------------------
    @staticmethod
    def _sysctl(ns, *settings):
        r = ns.run(['sysctl', '-q', '-w', *settings], timeout=10)
        if r.returncode != 0:
            raise NetNsError('sysctl %s in %s failed: %s' % (' '.join(settings), ns.name,
                                                              r.stderr.strip()))

    def _link(self, ns_a, name_a, addr_a, ns_b, name_b, addr_b):
        tmp = 'vtmp%d' % (len(self.namespaces) * 10 + len(name_a))
        veth_link(ns_a, name_a, addr_a, ns_b, name_b, addr_b, tmp)

    def _load_router_ruleset(self):
        ruleset = ROUTER_RULESET.format(table=ROUTER_TABLE, fwd=ROUTER_FORWARD_CHAIN,
                                        nat=ROUTER_NAT_CHAIN, post=ROUTER_POSTROUTING_CHAIN,
                                        lan=self.lan_ifname, wan=self.wan_ifname)
        r = self.router.run([NFT, '-f', '-'], input=ruleset, timeout=10)
        if r.returncode != 0:
            raise NetNsError('nft -f (router ruleset) in %s failed: %s' % (self.router.name,
                                                                          r.stderr.strip()))
        if not self.lan_reaches_controller:
            # First in the chain, new connections only (replies to the
            # controller's connections are established ones).
            rule = ['insert', 'rule', 'inet', ROUTER_TABLE, 'forward', 'iifname', self.lan_ifname, 'ip', 'daddr',
                    CONTROLLER_NET + '.0/24', 'ip', 'protocol', 'tcp', 'ct', 'state', 'new', 'reject', 'with', 'tcp', 'reset']
            r = self.router.run([NFT, *rule], timeout=10)
            if r.returncode != 0:
                raise NetNsError('nft %s in %s failed: %s' % (' '.join(rule), self.router.name, r.stderr.strip()))

    def router_ruleset(self):
        """The router namespace's nftables ruleset as `nft list ruleset` prints it."""
        return self.router.run([NFT, 'list', 'ruleset'], timeout=10).stdout

    # -- servers and checks -------------------------------------------------
    def _server_options(self, kw):
        kw.setdefault('netns', self.server)
        kw.setdefault('interfaces', (self.server_ip,))
        kw.setdefault('proxy65', self.proxy)
        return kw

    def prosody(self, workdir, **kw):
        """A Prosody (not started) in the server namespace on server_ip, with the
        proxy unless the kind has none."""
        from .prosody import Prosody
        return Prosody(workdir, **self._server_options(kw))

    def ejabberd(self, workdir, **kw):
        from .ejabberd import Ejabberd
        return Ejabberd(workdir, **self._server_options(kw))

    def start_prosody(self, workdir, **kw):
        return self.prosody(workdir, **kw).start()

    def start_ejabberd(self, workdir, **kw):
        return self.ejabberd(workdir, **kw).start()

    @staticmethod
    def can_connect(ns, address, timeout=2.0):
        """Whether a TCP connection from namespace `ns` to `address` succeeds
        (refused or unreachable: False)."""
        return ns.can_connect(address, timeout)

    @staticmethod
    def listen(ns, host='0.0.0.0', port=0):
        """A listening TCP socket in namespace `ns` (for reachability checks)."""
        s = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(8)
        return s

    def __repr__(self):
        return '<Topology %s%s %s>' % (self.kind, '+router' if self.router_enabled else '',
                                       ' '.join(ns.name for ns in self.namespaces))
