"""The status and pairing page ([web], docs/web.md) in a real browser:
headless Chromium through Selenium (chromedriver), with Prosody, a real
minidlna and the bridge in a fresh network namespace. Log in, see the NAS
and the XMPP connection, press Pair, read the PIN off the page, pair an
`xpmn` controller with it and a second one, see them listed, forget one and
see only that one refused, forget the other;
a POST without the CSRF token is refused (403); wrong passwords are slowed
down (429 with Retry-After after five); the page answers only on its
`listen` address.

Chromium runs with a fresh profile and without any background networking;
in the namespace only loopback exists, so it can talk to nothing else.
"""
import os
import shutil
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from xpmntest.netns import inside_namespace, module_in_namespace

PASSWORD = 'w3b-xmpp'
WEB_PASSWORD = 'page-pa55word'
NAS_NAME = 'Web NAS'
CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'


if not inside_namespace():
    InNamespace = module_in_namespace('test_web_page', prefix='xpmn-web')

else:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from xpmntest.bridge import class_workdir, controller_config, run_xpmn, start_secure_home
    from xpmntest.ports import free_port
    from xpmntest.prosody import Prosody

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def post(url, fields, cookie=None, opener=None):
        """POSTs a form with urllib; returns (status, headers, body)."""
        req = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method='POST')
        if cookie:
            req.add_header('Cookie', cookie)
        try:
            with (opener or urllib.request.build_opener(NoRedirect)).open(req, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    class TestWebPage(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            class_workdir(cls, 'xpmn-web-')
            cls.port = free_port()
            cls.base = 'http://127.0.0.1:%d' % cls.port
            password_file = os.path.join(cls.workdir, 'web-password')
            with open(password_file, 'w') as f:
                f.write(WEB_PASSWORD + '\n')
            os.chmod(password_file, 0o600)
            start_secure_home(cls, Prosody, PASSWORD, NAS_NAME,
                              web={'listen': '127.0.0.1:%d' % cls.port, 'password_file': password_file})
            cls.bridge.wait_for_log('web page on http://127.0.0.1:%d/' % cls.port)
            cls.browser = cls.start_browser()

        @classmethod
        def start_browser(cls):
            profile = tempfile.mkdtemp(prefix='chromium-', dir=cls.workdir)
            opts = webdriver.ChromeOptions()
            opts.binary_location = CHROMIUM
            for arg in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                        '--disable-background-networking', '--disable-component-update', '--disable-sync',
                        '--disable-dev-shm-usage', '--user-data-dir=' + profile):
                opts.add_argument(arg)
            service = Service(CHROMEDRIVER, log_path=os.path.join(cls.workdir, 'chromedriver.log'))
            browser = webdriver.Chrome(service=service, options=opts)
            cls.addClassCleanup(shutil.rmtree, profile, True)
            cls.addClassCleanup(browser.quit)
            browser.set_page_load_timeout(30)
            return browser

        def wait_for(self, predicate, what, timeout=60):
            """Reloads the page until predicate(browser) holds (bounded): the page does not refresh itself."""
            def check(browser):
                if predicate(browser):
                    return True
                browser.refresh()
                return False
            WebDriverWait(self.browser, timeout, poll_frequency=0.5).until(check, 'the page never showed ' + what)

        def click_and_load(self, element):
            """Clicks `element` (a link or a form's button) and waits until the page it
            loads has replaced this one: reading right after a click may see the old page."""
            # A mark on the old page's window object: a new document starts without it.
            # (Selenium's staleness_of can fail with an inspector error of its own while
            # the old document is being torn down.)
            self.browser.execute_script('window.xpmnOldPage = true')
            element.click()
            def loaded(browser):
                try:
                    return browser.execute_script('return window.xpmnOldPage === undefined '
                                                  "&& document.readyState === 'complete'")
                except WebDriverException:
                    return False  # between documents
            WebDriverWait(self.browser, 15).until(loaded, 'the click loaded no new page')

        def text(self, element_id):
            return self.browser.find_element(By.ID, element_id).text

        def log_in(self):
            b = self.browser
            b.get(self.base + '/')
            if b.find_elements(By.ID, 'password'):
                b.find_element(By.ID, 'password').send_keys(WEB_PASSWORD)
                self.click_and_load(b.find_element(By.ID, 'login'))
            # The click navigates: wait for the status page rather than read the login page still shown.
            try:
                WebDriverWait(b, 15).until(lambda d: d.find_elements(By.ID, 'devices'))
            except Exception:
                self.fail('no status page after logging in:\n' + b.page_source)

        def test_1_a_wrong_password_is_refused(self):
            b = self.browser
            b.delete_all_cookies()
            b.get(self.base + '/')
            b.find_element(By.ID, 'password').send_keys('not-it')
            self.click_and_load(b.find_element(By.ID, 'login'))
            self.assertEqual(self.text('problem'), 'Wrong password.')
            self.assertFalse(b.find_elements(By.ID, 'devices'))
            self.assertIsNone(b.get_cookie('xpmn_session'))

        def test_2_pair_a_controller_see_it_forget_it(self):
            self.log_in()
            b = self.browser
            cookie = b.get_cookie('xpmn_session')
            self.assertTrue(cookie['httpOnly'])
            self.assertEqual(cookie['sameSite'], 'Strict')
            self.wait_for(lambda b: NAS_NAME in self.text('devices'), 'the NAS')
            row = b.find_element(By.XPATH, '//table[@id="devices"]//tr[td[1]="%s"]' % NAS_NAME)
            self.assertIn('online', row.text)
            self.assertIn('connected', self.text('xmpp'))
            self.assertIn(self.server.jid('home'), self.text('xmpp'))

            self.click_and_load(b.find_element(By.ID, 'pair'))
            pin = self.text('pin')
            self.assertRegex(pin, r'^\d{6}$')
            uri = self.text('uri')
            self.assertTrue(uri.startswith('xmpp:%s?pair;pin=%s;fp=' % (self.bridge_jid, pin)), uri)
            self.assertTrue(b.find_elements(By.CSS_SELECTOR, '#qr svg path'))

            phone = controller_config(self.workdir, self.server, 'home', PASSWORD, 'phone')
            r = run_xpmn(phone, 'pair', self.bridge_jid, '--pin', pin)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            r = run_xpmn(phone, 'browse', self.device, '0')
            self.assertEqual(r.returncode, 0, r.stderr)

            # A second controller of the same account, paired the same way.
            self.click_and_load(b.find_element(By.ID, 'back'))
            self.click_and_load(b.find_element(By.ID, 'pair'))
            tablet = controller_config(self.workdir, self.server, 'home', PASSWORD, 'tablet')
            r = run_xpmn(tablet, 'pair', self.bridge_jid, '--pin', self.text('pin'))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

            self.click_and_load(b.find_element(By.ID, 'back'))
            home = self.server.jid('home')
            rows_xpath = '//table[@id="controllers"]//tr[td[1]="%s"]' % home
            rows = b.find_elements(By.XPATH, rows_xpath)
            self.assertEqual(len(rows), 2, self.text('controllers'))
            self.assertIn('owner', rows[0].text)
            # Forget one row: that controller is refused, the other one still browses.
            self.click_and_load(rows[0].find_element(By.XPATH, './/button[text()="Forget"]'))
            self.assertEqual(len(b.find_elements(By.XPATH, rows_xpath)), 1, self.text('controllers'))
            results = {name: run_xpmn(config, 'browse', self.device, '0')
                       for name, config in (('phone', phone), ('tablet', tablet))}
            codes = sorted((r.returncode, name) for name, r in results.items())
            self.assertEqual([c for c, _ in codes], [0, 1], codes)
            forgotten = results[codes[1][1]]
            self.assertIn('security-error', forgotten.stderr)
            kept = phone if codes[0][1] == 'phone' else tablet
            # And the last one.
            rows = b.find_elements(By.XPATH, rows_xpath)
            self.click_and_load(rows[0].find_element(By.XPATH, './/button[text()="Forget"]'))
            self.assertFalse(b.find_elements(By.XPATH, rows_xpath))
            r = run_xpmn(kept, 'browse', self.device, '0')
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn('security-error', r.stderr)

        def test_3_a_post_without_the_csrf_token_is_refused(self):
            self.log_in()
            session = 'xpmn_session=' + self.browser.get_cookie('xpmn_session')['value']
            status, _, _ = post(self.base + '/pair', {}, cookie=session)
            self.assertEqual(status, 403)
            status, _, _ = post(self.base + '/pair', {'csrf': 'f' * 64}, cookie=session)
            self.assertEqual(status, 403)
            status, _, body = post(self.base + '/pair', {'csrf': 'x'})  # no session at all
            self.assertEqual(status, 403)
            # The same request with the page's token goes through.
            token = self.browser.find_element(By.NAME, 'csrf').get_attribute('value')
            status, _, body = post(self.base + '/pair', {'csrf': token}, cookie=session)
            self.assertEqual(status, 200)
            self.assertRegex(body, r'id="pin">\d{6}<')

        def test_4_security_headers_and_limits(self):
            with urllib.request.urlopen(self.base + '/', timeout=10) as r:
                self.assertEqual(r.headers['X-Frame-Options'], 'DENY')
                self.assertIn("default-src 'self'", r.headers['Content-Security-Policy'])
                self.assertNotIn('<script', r.read().decode())
            status, _, _ = post(self.base + '/login', {'password': 'x' * 20000})
            self.assertEqual(status, 413)
            status, _, _ = post(self.base + '/login', {'password': WEB_PASSWORD},
                                opener=urllib.request.build_opener(NoRedirect, HostHeader('evil.example:80')))
            self.assertEqual(status, 400)  # a DNS-rebinding page's Host

        def test_6_wrong_passwords_are_slowed_down(self):
            # Five wrong passwords are free (an earlier test may have used one);
            # then the address waits, even with the right password, as Retry-After says.
            statuses = []
            while 429 not in statuses and len(statuses) < 8:
                statuses.append(post(self.base + '/login', {'password': 'guess-%d' % len(statuses)})[0])
            self.assertEqual(statuses[-1], 429, statuses)
            self.assertLessEqual(len(statuses), 7, statuses)
            self.assertEqual(set(statuses[:-1]), {403}, statuses)
            status, headers, body = post(self.base + '/login', {'password': WEB_PASSWORD})
            self.assertEqual(status, 429)
            self.assertIn('Too many wrong passwords', body)
            wait = int(headers['Retry-After'])
            self.assertGreaterEqual(wait, 1)
            time.sleep(wait + 0.2)
            status, headers, _ = post(self.base + '/login', {'password': WEB_PASSWORD})
            self.assertEqual(status, 303)  # in again, and the address is cleared
            self.assertEqual(post(self.base + '/login', {'password': 'wrong'})[0], 403)

        def test_5_not_reachable_outside_listen(self):
            for url in ('http://127.0.0.2:%d/' % self.port, 'http://[::1]:%d/' % self.port):
                with self.assertRaises(urllib.error.URLError, msg=url):
                    urllib.request.urlopen(url, timeout=10)
            with self.assertRaisesRegex(WebDriverException, 'ERR_CONNECTION_REFUSED'):
                self.browser.get('http://127.0.0.2:%d/' % self.port)

    class HostHeader(urllib.request.BaseHandler):
        """Sends another Host header (what a browser sends after DNS rebinding)."""
        handler_order = 100  # before urllib's own, which then keeps this Host

        def __init__(self, host):
            self.host = host

        def http_request(self, req):
            req.add_unredirected_header('Host', self.host)
            return req


if __name__ == '__main__':
    unittest.main()
