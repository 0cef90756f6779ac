"""The daemon with media servers on its LAN: how many threads it runs while it
talks to them, what happens when the network interface a server was seen
on goes away and comes back, a server whose announcements are all lost
(found by the bridge's repeated SSDP search, `[upnp] rescan_interval`), and
one that crashes and comes back at another address (a new port: Gerbera and
Rygel pick theirs at start, DHCP may give a NAS another address).

Two minidlna servers in a private network namespace: one on `lo`, one on a
second interface (`upnp1`, NetNs.add_upnp_interface) that the test takes down
and up again; Prosody and the bridge beside them, the bridge configured for
both interfaces. The module runs inside a fresh namespace (xpmntest.netns).
"""
import os
import time
import unittest

from xpmntest.netns import inside_namespace, module_in_namespace  # noqa: E402

NEAR = 'Near NAS'   # on lo
FAR = 'Far NAS'     # on upnp1
FAR_IF, FAR_ADDR = 'upnp1', '10.77.0.1'
LATE = 'Late NAS'   # on lo, started with every SSDP NOTIFY dropped
MOVING = 'Moving NAS'  # on lo, crashes and comes back on another port
RESCAN_INTERVAL = 3
# gssdp's own search when a control point starts: 3 M-SEARCHs 0.5 s apart,
# answered within MX = 3 s; after this the bridge hears only what it asks again.
FIRST_SEARCH_DONE = 6

# The daemon's own thread, plus GLib's worker thread "gmain" (see
# docs/architecture.md, "One thread"). Nothing else: no thread pool, no dconf.
ALLOWED_EXTRA_THREADS = {'gmain'}


def threads(pid):
    """Names of the process's threads, the main thread first."""
    tids = sorted(int(t) for t in os.listdir('/proc/%d/task' % pid))
    names = []
    for t in tids:
        with open('/proc/%d/task/%d/comm' % (pid, t)) as f:
            names.append((t == pid, f.read().strip()))
    names.sort(key=lambda n: not n[0])
    return [n for _, n in names]


if not inside_namespace():
    InNamespace = module_in_namespace('test_upnp_lan', prefix='xpmn-lan')

else:
    from test_bridge_c2s import PASSWORD
    from xpmntest import media
    from xpmntest.bridge import (class_workdir, device_jids, run_xpmn, start_home_network, start_server,
                                 wait_devices, xpmn_ok)
    from xpmntest.nas import MiniDlna
    from xpmntest.netns import IP, NetNs
    from xpmntest.ports import free_ports
    from xpmntest.topology import NFT
    from xpmntest.slix import SlixClient

    class TestUpnpLan(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-lan-')
            cls.ns = NetNs.current()
            cls.ns.add_upnp_interface(FAR_IF, FAR_ADDR)
            lib = os.path.join(cls.workdir, 'lib')
            media.make_library(lib)
            cls.near = start_server(cls, MiniDlna(os.path.join(cls.workdir, 'near'), lib, netns=cls.ns,
                                                  friendly_name=NEAR))
            cls.far = start_server(cls, MiniDlna(os.path.join(cls.workdir, 'far'), lib, netns=cls.ns, friendly_name=FAR,
                                                 uuid='4d696e69-444c-4e41-0000-0000000000fa',
                                                 interface=(FAR_IF, FAR_ADDR), notify_interval=2))
            # require_e2e stays on: the paired xpmn CLI browses and searches; slixmpp
            # only watches presence.
            cls.bridge_started = time.monotonic()
            start_home_network(cls, PASSWORD, upnp={'interfaces': ['lo', FAR_IF], 'rescan_interval': RESCAN_INTERVAL})
            out = wait_devices(cls.config, lambda out: out.count('/upnp-') == 2)
            cls.jids = device_jids(out)

        xpmn = xpmn_ok

        def phone(self):
            phone = SlixClient(self.prosody.jid('home', 'phone-%d' % time.monotonic_ns()), PASSWORD, '127.0.0.1',
                               self.prosody.c2s_port, self.prosody.ca_file)
            self.addCleanup(phone.close)
            phone.connect()
            return phone

        def test_one_thread_while_talking_to_a_nas(self):
            # Browse and search: HTTP requests to the NAS from inside the daemon.
            self.assertIn('Music', self.xpmn('browse', NEAR, '0'))
            self.assertIn('Zweiter Ton', self.xpmn('search', NEAR, 'title=zweiter'))
            names = threads(self.bridge.proc.pid)
            self.assertEqual(names[0], 'xpmn-bridge', names)
            extra = names[1:]
            self.assertLessEqual(set(extra), ALLOWED_EXTRA_THREADS, names)
            self.assertEqual(len(extra), len(set(extra)), names)

        def search(self, server, timeout=30):
            """Searches `server` through the bridge until it answers (bounded)."""
            deadline = time.monotonic() + timeout
            while True:
                r = run_xpmn(self.config, 'search', server, 'title=zweiter')
                if r.returncode == 0:
                    return r.stdout
                if time.monotonic() > deadline:
                    self.fail('%s did not answer through the bridge: %s' % (server, r.stderr))
                time.sleep(0.5)

        def test_interface_gone_and_back(self):
            # The far server is first seen on upnp1; a twin (same UDN) appears on lo.
            phone = self.phone()
            device = self.jids[FAR]
            phone.wait_presence(device, timeout=20)
            mark = self.bridge.log_mark()
            twin = MiniDlna(os.path.join(self.workdir, 'twin-%d' % time.monotonic_ns()), self.far.library,
                            netns=self.ns, friendly_name=FAR, uuid=self.far.uuid, notify_interval=2)
            self.addCleanup(twin.kill)
            twin.start()
            self.bridge.wait_for_log('upnp: %s also seen on lo' % self.far.udn, timeout=20, start=mark)
            # upnp1 goes away: the device it served goes offline, and comes back through lo.
            gone = phone.event_mark()
            self.ns.run([IP, 'addr', 'del', FAR_ADDR + '/32', 'dev', FAR_IF], check=True)
            try:
                # It may already be back (through lo) when this looks: the presence received counts.
                phone.wait_presence(device, available=False, timeout=20, since=gone)
                phone.wait_presence(device, timeout=20)
                self.assertIn('Zweiter Ton', self.search(FAR))
            finally:
                self.ns.run([IP, 'addr', 'add', FAR_ADDR + '/32', 'dev', FAR_IF], check=True)
            # Seen on upnp1 again (it announces itself every 2 s): the twin may leave.
            mark = self.bridge.log_mark()
            self.bridge.wait_for_log('upnp: %s also seen on %s' % (self.far.udn, FAR_IF), timeout=20, start=mark)
            twin.stop()
            self.assertIn('Zweiter Ton', self.search(FAR))
            self.assertEqual(phone.presence_of(self.jids[NEAR]), 'available')

        def nft(self, *args):
            r = self.ns.run([NFT] + list(args))
            self.assertEqual(r.returncode, 0, 'nft %s: %s' % (' '.join(args), r.stderr))
            return r.stdout

        def test_a_server_whose_announcements_are_lost_is_found_by_searching_again(self):
            # The late server starts after the bridge's first search is over,
            # while every SSDP NOTIFY in this namespace is dropped ("NOTIFY" at
            # the start of the UDP payload), and announces itself again only in
            # 15 min: only an M-SEARCH sent after it started can find it.
            # (With rescan_interval = 0 this test fails.)
            time.sleep(max(0.0, self.bridge_started + FIRST_SEARCH_DONE - time.monotonic()))
            late = MiniDlna(os.path.join(self.workdir, 'late-%d' % time.monotonic_ns()), self.far.library,
                            netns=self.ns, friendly_name=LATE, uuid='4d696e69-444c-4e41-0000-00000000001a',
                            notify_interval=900)
            self.addCleanup(late.stop)
            self.nft('add', 'table', 'inet', 'xpmn_ssdp')
            try:
                self.nft('add', 'chain', 'inet', 'xpmn_ssdp', 'out', '{ type filter hook output priority 0 ; }')
                self.nft('add', 'rule', 'inet', 'xpmn_ssdp', 'out', 'udp', 'dport', '1900',
                         '@th,64,48', '0x4e4f54494659', 'counter', 'drop')
                late.start()  # its description answers: its startup NOTIFYs are out (the same loop)
                time.sleep(0.5)
                counter = self.nft('list', 'chain', 'inet', 'xpmn_ssdp', 'out')
                self.assertRegex(counter, r'counter packets [1-9]', counter)
            finally:
                # Not for long: the other servers' announcements keep them alive.
                self.nft('delete', 'table', 'inet', 'xpmn_ssdp')
            out = wait_devices(self.config, lambda out: LATE in out, timeout=10 * RESCAN_INTERVAL)
            self.assertIn(LATE, out)
            self.assertIn('Zweiter Ton', self.search(LATE))

        def test_a_server_back_on_another_port_is_served_there(self):
            uuid = '4d696e69-444c-4e41-0000-0000000000bb'
            first = MiniDlna(os.path.join(self.workdir, 'moving-1-%d' % time.monotonic_ns()), self.far.library,
                             netns=self.ns, friendly_name=MOVING, uuid=uuid, notify_interval=2)
            self.addCleanup(first.kill)
            first.start()
            out = wait_devices(self.config, lambda out: MOVING in out, timeout=30)
            jid = device_jids(out)[MOVING]
            self.assertIn('Zweiter Ton', self.search(MOVING))
            # A crash, no byebye; the same server (UDN) back at another port.
            first.kill()
            port = next(p for p in free_ports(2) if p != first.port)
            second = MiniDlna(os.path.join(self.workdir, 'moving-2-%d' % time.monotonic_ns()), self.far.library,
                              netns=self.ns, port=port, friendly_name=MOVING, uuid=uuid, notify_interval=2)
            self.addCleanup(second.stop)
            second.start()
            self.assertNotEqual(second.port, first.port)
            self.assertIn('Zweiter Ton', self.search(MOVING))
            self.assertEqual(device_jids(run_xpmn(self.config, 'devices').stdout).get(MOVING), jid)


if __name__ == '__main__':
    unittest.main()
