// The status page's pieces (daemon/web): HTML escaping, the session store
// (expiry, the session limit), the CSRF check, [web] listen parsing, the
// pages (escaped names, CSRF token in every form) and the SVG QR code.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config.hpp"

#include "daemon/terminal_qr.hpp"
#include "daemon/web/html.hpp"
#include "daemon/web/login_throttle.hpp"
#include "daemon/web/web_config.hpp"
#include "daemon/web/web_pages.hpp"
#include "daemon/web/web_sessions.hpp"
#include "xmpp/core/random_hex.hpp"

using namespace xpmn;
using namespace xpmn::daemon::web;
using std::chrono::steady_clock;

TEST(WebHtml, EscapesEverythingThatEndsTextOrAnAttribute) {
    EXPECT_EQ(html_escape("<script>alert('x')</script> & \"q\""),
              "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;q&quot;");
    EXPECT_EQ(html_escape("a\x01" "b\xff"), "ab");  // control characters and invalid UTF-8 dropped
    EXPECT_EQ(html_escape("Wohnzimmer NAS ü"), "Wohnzimmer NAS ü");
    EXPECT_EQ(html_escape(""), "");
}

TEST(WebSessions, TokensAreRandomAndLong) {
    auto a = random_token(), b = random_token();
    EXPECT_EQ(a.size(), 64u);
    EXPECT_NE(a, b);
}

TEST(WebSessions, FindsLiveSessionsOnlyAndExpiresThem) {
    auto now = steady_clock::now();
    WebSessions sessions([&] { return now; });
    auto token = sessions.create().token;
    ASSERT_NE(sessions.find(token), nullptr);
    EXPECT_NE(sessions.find(token)->csrf, token);
    EXPECT_EQ(sessions.find("nope"), nullptr);
    EXPECT_EQ(sessions.find(""), nullptr);
    now += WebSessions::kLifetime;
    EXPECT_EQ(sessions.find(token), nullptr);
    EXPECT_EQ(sessions.size(), 0u);
}

TEST(WebSessions, LogoutRemovesTheSession) {
    WebSessions sessions;
    auto token = sessions.create().token;
    sessions.remove(token);
    EXPECT_EQ(sessions.find(token), nullptr);
}

TEST(WebSessions, AtMostTheLimitTheOldestGoesFirst) {
    WebSessions sessions;
    auto first = sessions.create().token;
    auto second = sessions.create().token;
    for (std::size_t i = 2; i < WebSessions::kMaxSessions; ++i) sessions.create();
    EXPECT_EQ(sessions.size(), WebSessions::kMaxSessions);
    sessions.create();
    EXPECT_EQ(sessions.size(), WebSessions::kMaxSessions);
    EXPECT_EQ(sessions.find(first), nullptr);
    EXPECT_NE(sessions.find(second), nullptr);
}

TEST(WebCsrf, OnlyTheSessionsOwnTokenPasses) {
    WebSessions sessions;
    std::string other_csrf = sessions.create().csrf;
    std::string token = sessions.create().token;  // create() may move earlier sessions: find() again
    const auto* s = sessions.find(token);
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(csrf_ok(s, s->csrf));
    EXPECT_FALSE(csrf_ok(s, ""));
    EXPECT_FALSE(csrf_ok(s, other_csrf));  // another session's token
    EXPECT_FALSE(csrf_ok(s, s->csrf.substr(1)));
    EXPECT_FALSE(csrf_ok(nullptr, s->csrf));  // no session
}

TEST(WebConfig, ListenIsAnIpLiteralAndAPort) {
    auto v4 = parse_listen("127.0.0.1:8080");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->host, "127.0.0.1");
    EXPECT_EQ(v4->port, 8080);
    EXPECT_EQ(v4->text(), "127.0.0.1:8080");
    EXPECT_FALSE(v4->wildcard());
    auto v6 = parse_listen("[::1]:80");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->text(), "[::1]:80");
    EXPECT_TRUE(parse_listen("0.0.0.0:8080")->wildcard());
    for (const char* bad : {"localhost:8080", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:80x",
                            "::1:80", "[::1]", ":8080", "192.168.1.300:80"})
        EXPECT_FALSE(parse_listen(bad)) << bad;
}

// config::load with the [web] section; the error text ("" when it loads).
std::string web_config_error(const std::string& web, WebSection& section) {
    auto path = std::filesystem::temp_directory_path() / ("xpmn-web-" + std::to_string(::getpid()) + ".toml");
    std::ofstream(path) << "[xmpp]\njid = \"home@example.org\"\npassword = \"pw\"\n[web]\n" << web;
    std::string error;
    try {
        config::load(path.string(), {&section});
    } catch (const config::ConfigError& e) {
        error = e.what();
    }
    std::filesystem::remove(path);
    return error;
}

TEST(WebConfig, TheSectionIsOffByDefaultAndRefusesWhatItDoesNotKnow) {
    WebSection off;
    EXPECT_EQ(web_config_error("", off), "");
    EXPECT_FALSE(off.config().listen);
    WebSection on;
    EXPECT_EQ(web_config_error("listen = \"127.0.0.1:8080\"\npassword_file = \"/p\"\n", on), "");
    ASSERT_TRUE(on.config().listen);
    EXPECT_EQ(on.config().listen->port, 8080);
    EXPECT_EQ(on.config().password_file, "/p");
    WebSection bad;
    EXPECT_NE(web_config_error("listen = \"localhost:8080\"\npassword_file = \"/p\"\n", bad).find(".toml:5"),
              std::string::npos);
    WebSection no_password;
    EXPECT_NE(web_config_error("listen = \"127.0.0.1:8080\"\n", no_password).find("password_file"),
              std::string::npos);
    WebSection unknown;
    EXPECT_NE(web_config_error("password = \"x\"\n", unknown).find("password"), std::string::npos);
}

TEST(WebPages, NamesFromOutsideAreEscapedAndEveryFormCarriesTheToken) {
    StatusView v;
    v.bridge_name = "home <bridge>";
    v.account = "home@example.org";
    v.devices.push_back({"bridge", {"automation", "gateway", "", "home <bridge>"}, true});
    v.devices.push_back({"upnp-1", {"client", "media-server", "", "<img src=x onerror=alert(1)>"}, false});
    v.recent_problems = {"2026-12-02 warning: <b>bold</b>"};
    xtls::TrustEntry e;
    e.fingerprint = std::string(64, 'a');
    e.jid = Jid::must_parse("friend@example.org");
    e.role = xtls::TrustRole::Friend;
    e.name = "phone\"><script>";
    v.controllers.push_back(e);
    security::Grant g;
    g.jid = Jid::must_parse("friend@example.org");
    g.device = Jid::must_parse("home@example.org/upnp-1");
    v.grants.push_back(g);
    std::string csrf = "c5rf";
    auto html = status_page(v, csrf);
    EXPECT_EQ(html.find("<img"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("<b>"), std::string::npos);
    EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
    EXPECT_NE(html.find("home@example.org: connected"), std::string::npos);
    // logout, forget, revoke, pair: each a POST form with the token.
    std::size_t forms = 0, tokens = 0;
    for (auto at = html.find("<form method=\"post\""); at != std::string::npos; at = html.find("<form", at + 1)) {
        ++forms;
        auto end = html.find("</form>", at);
        if (html.substr(at, end - at).find("name=\"csrf\" value=\"c5rf\"") != std::string::npos) ++tokens;
    }
    EXPECT_EQ(forms, 4u);
    EXPECT_EQ(tokens, forms);
    EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(WebPages, ThePairPageShowsThePinTheUriAndTheCode) {
    PairView p{"123456", "xmpp:home@example.org/bridge?pair;pin=123456;fp=ab", "2026-12-02T18:00:00Z", "ab",
               daemon::svg_qr("xmpp:home@example.org/bridge?pair;pin=123456;fp=ab")};
    auto html = pair_page(p, "t");
    EXPECT_NE(html.find("id=\"pin\">123456<"), std::string::npos);
    EXPECT_NE(html.find("<svg"), std::string::npos);
    EXPECT_NE(html.find("xmpp:home@example.org/bridge?pair;pin=123456;fp=ab"), std::string::npos);
}

TEST(WebQr, SvgIsOneSquarePathWithAQuietZone) {
    auto svg = daemon::svg_qr("xmpp:home@example.org/bridge?pair;pin=123456;fp=00", 4);
    EXPECT_TRUE(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    EXPECT_TRUE(svg.ends_with("</svg>"));
    EXPECT_EQ(svg.find("<script"), std::string::npos);
    // Version ≥ 3 (29 modules) + 2×2 quiet modules, 4 px each.
    auto w = svg.find("width=\"");
    int px = std::stoi(svg.substr(w + 7));
    EXPECT_EQ(px % 4, 0);
    EXPECT_GE(px / 4, 29 + 4);
    EXPECT_NE(svg.find("d=\"M2 2h1v1h-1z"), std::string::npos);  // the finder pattern's corner is dark
}

TEST(LoginThrottle, FiveWrongPasswordsAreFreeThenTheLockoutDoubles) {
    auto now = steady_clock::now();
    LoginThrottle t([&] { return now; });
    for (int i = 0; i < LoginThrottle::kFreeAttempts; ++i) {
        EXPECT_EQ(t.wait("10.0.0.2").count(), 0);
        t.failed("10.0.0.2");
    }
    EXPECT_EQ(t.wait("10.0.0.2").count(), 0);
    t.failed("10.0.0.2");  // the sixth
    EXPECT_EQ(t.wait("10.0.0.2").count(), 1);
    EXPECT_EQ(t.wait("10.0.0.3").count(), 0);  // another address is not slowed
    now += std::chrono::seconds(1);
    EXPECT_EQ(t.wait("10.0.0.2").count(), 0);
    t.failed("10.0.0.2");
    EXPECT_EQ(t.wait("10.0.0.2").count(), 2);
    now += std::chrono::milliseconds(500);
    EXPECT_EQ(t.wait("10.0.0.2").count(), 2);  // rounded up, never "0 s" while locked
    for (int i = 0; i < 40; ++i) t.failed("10.0.0.2");
    EXPECT_EQ(t.wait("10.0.0.2"), LoginThrottle::kMaxLockout);
}

TEST(LoginThrottle, ARightPasswordClearsTheAddress) {
    auto now = steady_clock::now();
    LoginThrottle t([&] { return now; });
    for (int i = 0; i <= LoginThrottle::kFreeAttempts; ++i) t.failed("a");
    now += std::chrono::seconds(1);
    t.succeeded("a");
    EXPECT_EQ(t.tracked(), 0u);
    for (int i = 0; i < LoginThrottle::kFreeAttempts; ++i) t.failed("a");
    EXPECT_EQ(t.wait("a").count(), 0);
}

TEST(LoginThrottle, TracksABoundedNumberOfAddresses) {
    auto now = steady_clock::now();
    LoginThrottle t([&] { return now; });
    for (std::size_t i = 0; i < LoginThrottle::kMaxClients + 50; ++i) {
        now += std::chrono::milliseconds(1);
        t.failed("client-" + std::to_string(i));
    }
    EXPECT_EQ(t.tracked(), LoginThrottle::kMaxClients);
    EXPECT_EQ(t.wait("client-0").count(), 0);  // forgotten first
}

TEST(RandomHex, GivesTwoLowercaseHexDigitsPerByte) {
    auto a = random_hex(16);
    EXPECT_EQ(a.size(), 32u);
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_NE(a, random_hex(16));
    EXPECT_EQ(random_hex(0), "");
}
