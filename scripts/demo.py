"""Demo: a private Prosody on loopback, the bridge, and the xpmn controller.

Everything runs under a temporary folder and is stopped at the end (or on
Ctrl-C). Pass --keep to leave the bridge running until Enter is pressed.
"""
import os
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
os.environ.setdefault('XPMN_BUILD_DIR', os.path.join(ROOT, 'build', 'default'))

from xpmntest.bridge import Bridge, run_xpmn, write_config, xmpp_section  # noqa: E402
from xpmntest.prosody import Prosody  # noqa: E402


def step(text):
    print('\n--- ' + text, flush=True)


def show(cmd, result):
    print('$ xpmn --config xpmn.toml ' + cmd)
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        sys.stdout.write(result.stderr)
        raise SystemExit('xpmn %s failed (exit %d)' % (cmd, result.returncode))


def main():
    keep = '--keep' in sys.argv
    work = tempfile.mkdtemp(prefix='xpmn-demo-')
    step('starting Prosody on 127.0.0.1 (work dir %s)' % work)
    with Prosody(os.path.join(work, 'prosody'), domain='home.test') as prosody:
        prosody.add_user('home', 'demo-password')
        print('XMPP server on 127.0.0.1:%d, account home@home.test' % prosody.c2s_port)

        step('starting xpmn-bridge')
        xmpp = xmpp_section(prosody, 'home', 'demo-password')
        with Bridge(work, xmpp, bridge={'log_level': 'info'}) as bridge:
            bridge.wait_for_log('online as home@home.test/bridge', timeout=30)
            print('bridge online (log: %s)' % bridge.log_file)

            config = write_config(os.path.join(work, 'xpmn.toml'),
                                  {'xmpp': xmpp, 'bridge': {'state_dir': os.path.join(work, 'xpmn-state')}})
            step('the controller lists the devices of the media network')
            show('devices', run_xpmn(config, 'devices'))
            step('and asks the bridge what it is')
            show('disco bridge', run_xpmn(config, 'disco', 'bridge'))
            if keep:
                input('\nbridge running; config in %s. Press Enter to stop. ' % config)
        step('stopped')
    print('demo finished')


if __name__ == '__main__':
    main()
