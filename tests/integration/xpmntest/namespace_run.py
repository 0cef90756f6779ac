"""Runs a command in a fresh network namespace whose lo is multicast-capable
(so SSDP between a NAS and the bridge stays inside it), then deletes the
namespace and everything still running in it. Needs root."""
import os
import subprocess
import uuid

NS_ENV = 'XPMN_TEST_NETNS'


def run_in_new_namespace(argv, cwd=None, timeout=900):
    """Returns the command's exit code; the command sees $XPMN_TEST_NETNS."""
    name = 'xpmn-%s' % uuid.uuid4().hex[:8]
    subprocess.run(['ip', 'netns', 'add', name], check=True)
    try:
        for cmd in (['link', 'set', 'lo', 'up'], ['link', 'set', 'lo', 'multicast', 'on'],
                    ['route', 'add', '239.255.255.250/32', 'dev', 'lo']):
            subprocess.run(['ip', '-n', name] + cmd, check=True)
        env = dict(os.environ, **{NS_ENV: name})
        return subprocess.run(['ip', 'netns', 'exec', name] + list(argv), cwd=cwd, env=env,
                              timeout=timeout).returncode
    finally:
        pids = subprocess.run(['ip', 'netns', 'pids', name], capture_output=True, text=True).stdout.split()
        for pid in pids:
            subprocess.run(['kill', '-9', pid])
        subprocess.run(['ip', 'netns', 'del', name])


def inside_namespace():
    return bool(os.environ.get(NS_ENV))
