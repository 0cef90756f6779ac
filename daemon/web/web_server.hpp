// The status and pairing page (docs/web.md): a libsoup 3 server on the
// bridge's GMainContext (so it runs inside the one Asio loop through
// loop::GlibIntegration; construct it after that integration, on the loop's
// thread, and destroy it before). It listens only on the configured address.
//
// Every request: the Host header must name that address when it is not a
// wildcard (a DNS-rebinding page cannot talk to it); at most kMaxBody bytes
// of body with a Content-Length; only GET and POST. Every answer carries
// Content-Security-Policy default-src 'self', X-Frame-Options DENY, nosniff,
// same-origin referrers and no-store. Logging in with the password gives a session
// cookie (HttpOnly, SameSite=Strict); wrong passwords are throttled per
// client address (LoginThrottle: 429 with Retry-After); every POST but /login needs the
// session and its CSRF token (403 otherwise), and a cross-origin Origin is
// refused on every POST.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "bridge/security/acl_profile.hpp"
#include "daemon/web/web_config.hpp"
#include "daemon/web/web_pages.hpp"
#include "xmpp/core/result.hpp"

namespace xpmn::daemon::web {

struct WebServerError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What the page shows and does, from the daemon's composition root.
struct WebBackend {
    std::function<StatusView()> status;           // devices, problems (controllers and grants are filled in here)
    std::function<Result<PairView>()> pair;       // opens the pairing window
    security::AclContext acl;                     // trust store, grants; Forget closes the controller's streams
};

class WebServer {
public:
    static constexpr std::size_t kMaxBody = 8 * 1024;

    // Listens on `listen`; throws WebServerError when it cannot.
    WebServer(const ListenAddress& listen, std::string password, WebBackend backend);
    ~WebServer();
    WebServer(const WebServer&) = delete;
    WebServer& operator=(const WebServer&) = delete;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace xpmn::daemon::web
