"""The container image (docker/Dockerfile), built and run without a Docker
daemon, as a user would run it (docker/README.md):

- the base `debian:bookworm-slim` is made locally (no image registry is
  reachable): `mmdebstrap --variant=minbase bookworm`, cached as a tarball
  under the build dir, `podman import`ed;
- `podman build --isolation=chroot --format docker`, with the host's ccache
  mounted at /ccache so the build stage reuses what the default preset
  compiled; the image stays under 150 MB;
- in a fresh network namespace with Prosody and minidlna: `podman run
  --runtime=runc --network=host` (the namespace's) with /config holding
  config.toml, the password file and (made by the image) state/; the NAS
  appears; `podman exec … xpmn-bridge pair` gives a PIN; `xpmn` outside the
  container pairs, browses and downloads a file equal to the source; the
  container is stopped (SIGTERM) and started again and the pairing holds;
  `health` says healthy, then unhealthy once Prosody is stopped.

CTest label "container" (scripts/test runs it; skip it with
XPMN_CONTAINER_TEST=0 scripts/test or `ctest -LE container`); the timings of
each step are printed (docs/testing.md, "Container test").
"""
import os
import secrets
import shutil
import subprocess
import sys
import time
import unittest
import xml.etree.ElementTree as ET

from xpmntest.netns import PYTHON, inside_namespace, run_in_new_namespace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
BUILD = os.environ.get('XPMN_BUILD_DIR', os.path.join(ROOT, 'build', 'default'))
IMAGE = 'localhost/xpmn-bridge:test'
BASE = 'debian:bookworm-slim'
MAX_IMAGE_BYTES = 150 * 1000 * 1000
PASSWORD = 'c0ntainer-s3cret'
NAS_NAME = 'Container NAS'
META = '{urn:xmpp:media:metadata:0}'
PUID, PGID = 1234, 1234  # not the image's 1000: the entrypoint remaps


# `ip netns exec` gives the scenario a mount namespace whose /sys is the
# network namespace's sysfs, without the cgroup mounts runc needs; so podman
# runs in the test's own mount namespace (named here), still in the network one.
HOST_MOUNT_NS = 'XPMN_CONTAINER_HOST_MNT'


def podman(*args, timeout=120, check=True):
    mount_ns = os.environ.get(HOST_MOUNT_NS)
    enter = ['nsenter', '--mount=' + mount_ns, '--'] if mount_ns and inside_namespace() else []
    r = subprocess.run(enter + ['podman'] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError('podman %s failed (%d):\n%s%s' % (' '.join(args), r.returncode, r.stdout, r.stderr))
    return r


def timed(what, fn):
    start = time.monotonic()
    result = fn()
    print('container test: %s took %.1f s' % (what, time.monotonic() - start), file=sys.stderr, flush=True)
    return result


# Changes with the recipe below: a base made by an older one is made again.
BASE_RECIPE = 'minbase-slim-1'


def ensure_base_image():
    """debian:bookworm-slim from a cached minbase tarball (made once per build dir)."""
    label = podman('image', 'inspect', '--format', '{{index .Config.Labels "org.xpmn.base"}}', BASE, check=False)
    if label.returncode == 0 and label.stdout.strip() == BASE_RECIPE:
        return
    cache = os.path.join(BUILD, 'container')
    tarball = os.path.join(cache, 'bookworm-%s.tar' % BASE_RECIPE)
    if not os.path.exists(tarball):
        os.makedirs(cache, exist_ok=True)
        part = tarball + '.part'
        # What Docker's debian:bookworm-slim is: its suites (with updates and
        # security fixes), merged /usr through usr-is-merged (not the usrmerge
        # package, which pulls in all of perl) and its dpkg excludes (no docs,
        # man pages or translations, in the base or in what the Dockerfile installs).
        slim = ['--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr']
        slim += ['--dpkgopt=path-exclude=/usr/share/%s/*' % d
                for d in ('doc', 'man', 'info', 'groff', 'locale', 'lintian', 'linda')]
        slim.append('--dpkgopt=path-include=/usr/share/doc/*/copyright')
        timed('mmdebstrap', lambda: subprocess.run(
            ['mmdebstrap', '--quiet', '--variant=minbase', '--format=tar'] + slim + ['bookworm', part,
             'deb http://deb.debian.org/debian bookworm main',
             'deb http://deb.debian.org/debian bookworm-updates main',
             'deb http://deb.debian.org/debian-security bookworm-security main'],
            stdin=subprocess.DEVNULL, check=True, timeout=1800))
        os.replace(part, tarball)
    timed('podman import', lambda: podman('import', '--change', 'CMD ["bash"]', '--change',
                                          'LABEL org.xpmn.base=%s' % BASE_RECIPE, tarball, BASE, timeout=600))


def host_ccache_dir():
    """The ccache the default preset's build used (scripts/build), if any."""
    if not shutil.which('ccache'):
        return None
    r = subprocess.run(['ccache', '-k', 'cache_dir'], capture_output=True, text=True)
    path = r.stdout.strip()
    return path if r.returncode == 0 and os.path.isdir(path) else None


def build_image():
    args = ['build', '--isolation=chroot', '--format', 'docker', '-f', os.path.join(ROOT, 'docker', 'Dockerfile'),
            '-t', IMAGE, '--build-arg', 'JOBS=%d' % min(2, os.cpu_count() or 1)]
    ccache = host_ccache_dir()
    if ccache:
        args += ['-v', '%s:/ccache' % ccache]
    timed('podman build', lambda: podman(*args, ROOT, timeout=3600))


if not inside_namespace():
    class TestContainerImage(unittest.TestCase):

        def test_image_builds_small_and_serves_in_a_namespace(self):
            ensure_base_image()
            build_image()
            size = int(podman('image', 'inspect', '--format', '{{.Size}}', IMAGE).stdout.strip())
            print('container test: image size %.1f MB' % (size / 1e6), file=sys.stderr)
            self.assertLess(size, MAX_IMAGE_BYTES)
            inspect = podman('image', 'inspect', '--format',
                             '{{.Config.StopSignal}} {{json .Config.Healthcheck}}', IMAGE).stdout
            self.assertIn('SIGTERM', inspect)
            self.assertIn('health', inspect)
            os.environ[HOST_MOUNT_NS] = '/proc/%d/ns/mnt' % os.getpid()
            only = os.environ.get('XPMN_NS_ONLY', '').split()
            names = ['test_container.%s' % n for n in only] or ['test_container']
            rc = timed('the scenario in the namespace', lambda: run_in_new_namespace(
                [PYTHON, '-m', 'unittest', '-v'] + names, cwd=HERE, prefix='xpmn-ctr'))
            self.assertEqual(rc, 0, 'the tests inside the namespace failed (output above)')

else:
    from xpmntest.bridge import (class_workdir, controller_config, device_jids, run_xpmn, start_server,
                                 wait_devices, write_config)
    from xpmntest import media
    from xpmntest.nas import MiniDlna
    from xpmntest.netns import NetNs
    from xpmntest.prosody import Prosody

    class TestContainer(unittest.TestCase):
        """Steps in order (numbered): each builds on the one before."""

        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-container-')
            os.chmod(cls.workdir, 0o755)
            lib = os.path.join(cls.workdir, 'library')
            cls.manifest = media.make_library(lib)
            cls.nas = start_server(cls, MiniDlna(os.path.join(cls.workdir, 'minidlna'), lib,
                                                 netns=NetNs.current(), friendly_name=NAS_NAME))
            cls.server = Prosody(os.path.join(cls.workdir, 'xmpp'))
            cls.addClassCleanup(cls.server.stop)
            cls.server.add_user('home', PASSWORD)
            cls.server.start()
            cls.bridge_jid = cls.server.jid('home') + '/bridge'
            cls.config_dir = cls.make_config_dir()
            cls.name = 'xpmn-test-' + secrets.token_hex(4)
            cls.addClassCleanup(lambda: podman('rm', '--force', '--time', '5', cls.name, check=False))
            timed('podman run', lambda: podman(
                'run', '--detach', '--name', cls.name, '--runtime=runc', '--network=host',
                '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096',
                '-e', 'PUID=%d' % PUID, '-e', 'PGID=%d' % PGID, '-v', '%s:/config' % cls.config_dir, IMAGE))
            cls.finder = controller_config(cls.workdir, cls.server, 'home', PASSWORD, 'finder')
            cls.phone = controller_config(cls.workdir, cls.server, 'home', PASSWORD, 'phone')

        @classmethod
        def make_config_dir(cls):
            """/config as its owner (PUID) would lay it out: config.toml naming
            no state_dir, the password in a file of its own, the server's CA."""
            d = os.path.join(cls.workdir, 'config')
            os.makedirs(d)
            shutil.copy(cls.server.ca_file, os.path.join(d, 'ca.pem'))
            with open(os.path.join(d, 'xmpp-password'), 'w') as f:
                f.write(PASSWORD + '\n')
            os.chmod(os.path.join(d, 'xmpp-password'), 0o600)
            write_config(os.path.join(d, 'config.toml'), {
                'xmpp': {'jid': cls.server.jid('home'), 'password_file': '/config/xmpp-password',
                         'server': '127.0.0.1', 'port': cls.server.c2s_port, 'ca_file': '/config/ca.pem'},
                'bridge': {'log_level': 'debug'}})
            for path in [d] + [os.path.join(d, n) for n in os.listdir(d)]:
                os.chown(path, PUID, PGID)
            return d

        def logs(self):
            return podman('logs', self.name, check=False).stdout + podman('logs', self.name, check=False).stderr

        def exec_bridge(self, *args):
            return podman('exec', self.name, 'xpmn-bridge', '--config', '/config/config.toml', *args, check=False)

        def wait_health(self, returncode, timeout=60.0):
            deadline = time.monotonic() + timeout
            while True:
                r = self.exec_bridge('health')
                if r.returncode == returncode:
                    return r
                if time.monotonic() > deadline:
                    raise AssertionError('health did not exit %d within %ss: %d %s%s\n%s' % (
                        returncode, timeout, r.returncode, r.stdout, r.stderr, self.logs()))
                time.sleep(0.5)

        def browse_and_get(self):
            """Browses the NAS from the paired phone and downloads a track:
            the bytes equal the source file."""
            out = wait_devices(self.finder, lambda o: NAS_NAME in o, timeout=90)
            device = device_jids(out)[NAS_NAME]
            track = next(m for m in self.manifest if m['kind'] == 'audio')
            entry = self.nas.wait_item(track['relpath'], track['title'])
            r = run_xpmn(self.phone, 'browse', device, entry['parent_id'], '--xml', '--max', '1000', timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr + self.logs())
            uri = next(item.find(META + 'uri').text for item in ET.fromstring(r.stdout)
                       if item.get('id') == entry['id'])
            out_file = os.path.join(self.workdir, 'got-%s' % secrets.token_hex(3))
            r = run_xpmn(self.phone, '--timeout', '60', 'get', uri, '-o', out_file, timeout=90)
            self.assertEqual(r.returncode, 0, r.stderr + self.logs())
            with open(out_file, 'rb') as a, open(track['path'], 'rb') as b:
                self.assertEqual(a.read(), b.read())

        def test_1_the_nas_appears_and_the_daemon_runs_unprivileged(self):
            out = wait_devices(self.finder, lambda o: NAS_NAME in o and self.bridge_jid in o, timeout=90)
            self.assertIn(NAS_NAME, out)
            self.wait_health(0)
            top = podman('top', self.name, 'user', 'comm').stdout
            self.assertNotRegex(top, r'(?m)^root\s+xpmn-bridge', top)
            # The state went to the default /config/state, owned by PUID.
            st = os.stat(os.path.join(self.config_dir, 'state', 'identity.key'))
            self.assertEqual((st.st_uid, st.st_gid), (PUID, PGID))

        def test_2_pair_browse_and_get(self):
            r = self.exec_bridge('pair')
            self.assertEqual(r.returncode, 0, r.stderr)
            pin = next(line.split()[1] for line in r.stdout.splitlines() if line.startswith('PIN '))
            r = run_xpmn(self.phone, 'pair', self.bridge_jid, '--pin', pin, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.logs())
            self.browse_and_get()

        def test_3_the_pairing_holds_across_a_stop_and_start(self):
            timed('podman stop', lambda: podman('stop', '--time', '10', self.name, timeout=60))
            code = podman('inspect', '--format', '{{.State.ExitCode}}', self.name).stdout.strip()
            self.assertEqual(code, '0', self.logs())
            timed('podman start', lambda: podman('start', self.name))
            wait_devices(self.finder, lambda o: NAS_NAME in o and self.bridge_jid in o, timeout=90)
            self.browse_and_get()  # no new pairing

        def test_4_healthy_then_unhealthy_without_the_xmpp_server(self):
            r = self.wait_health(0)
            self.assertTrue(r.stdout.startswith('healthy: '), r.stdout)
            self.server.stop()
            r = self.wait_health(1)
            self.assertTrue(r.stdout.startswith('unhealthy: XMPP not connected'), r.stdout)


if __name__ == '__main__':
    unittest.main()
