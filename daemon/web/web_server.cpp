#include "daemon/web/web_server.hpp"

#include <libsoup/soup.h>
#include <spdlog/spdlog.h>

#include <map>

#include "daemon/web/login_throttle.hpp"
#include "daemon/web/web_sessions.hpp"

namespace xpmn::daemon::web {
namespace {

constexpr const char* kCookie = "xpmn_session";

using Form = std::map<std::string, std::string>;

struct Answer {
    unsigned status = SOUP_STATUS_OK;
    std::string body;
    std::string content_type = "text/html; charset=utf-8";
    std::string location;    // set: a 303 redirect
    std::string set_cookie;  // set: a Set-Cookie header
    std::string retry_after;  // set: a Retry-After header (seconds)
};

std::string header(SoupMessageHeaders* headers, const char* name) {
    const char* v = soup_message_headers_get_one(headers, name);
    return v ? v : "";
}

// The session cookie's value from "Cookie: a=1; xpmn_session=TOKEN" (RFC 6265 §5.4).
std::string cookie_token(SoupMessageHeaders* headers) {
    std::string all = header(headers, "Cookie");
    std::string_view rest(all);
    const std::string prefix = std::string(kCookie) + "=";
    while (!rest.empty()) {
        auto end = rest.find(';');
        std::string_view pair = rest.substr(0, end);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        if (pair.starts_with(prefix)) return std::string(pair.substr(prefix.size()));
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    return {};
}

Form decode_form(SoupServerMessage* msg) {
    Form form;
    SoupMessageBody* body = soup_server_message_get_request_body(msg);
    GBytes* bytes = soup_message_body_flatten(body);
    gsize size = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(bytes, &size));
    std::string text(data ? data : "", size);
    g_bytes_unref(bytes);
    if (GHashTable* table = soup_form_decode(text.c_str())) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, table);
        while (g_hash_table_iter_next(&it, &k, &v)) form[static_cast<const char*>(k)] = static_cast<const char*>(v);
        g_hash_table_unref(table);
    }
    return form;
}

Answer page(unsigned status, std::string body) {
    Answer a;
    a.status = status;
    a.body = std::move(body);
    return a;
}
Answer redirect(std::string to) {
    Answer a;
    a.status = SOUP_STATUS_SEE_OTHER;
    a.location = std::move(to);
    return a;
}

void send(SoupServerMessage* msg, const Answer& a) {
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(h, "Content-Security-Policy",
                                 "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
    soup_message_headers_replace(h, "X-Frame-Options", "DENY");
    soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
    soup_message_headers_replace(h, "Referrer-Policy", "same-origin");
    soup_message_headers_replace(h, "Cache-Control", "no-store");
    if (!a.location.empty()) soup_message_headers_replace(h, "Location", a.location.c_str());
    if (!a.set_cookie.empty()) soup_message_headers_append(h, "Set-Cookie", a.set_cookie.c_str());
    if (!a.retry_after.empty()) soup_message_headers_replace(h, "Retry-After", a.retry_after.c_str());
    soup_server_message_set_status(msg, a.status, nullptr);
    soup_server_message_set_response(msg, a.content_type.c_str(), SOUP_MEMORY_COPY, a.body.data(), a.body.size());
}

}  // namespace

struct WebServer::Impl {
    ListenAddress listen;
    std::string password;
    WebBackend backend;
    WebSessions sessions;
    SoupServer* server = nullptr;
    LoginThrottle throttle;

    // Before the body is read: refuse what no handler would take.
    void early(SoupServerMessage* msg) {
        SoupMessageHeaders* req = soup_server_message_get_request_headers(msg);
        std::string method = soup_server_message_get_method(msg);
        if (!listen.wildcard() && header(req, "Host") != listen.text())
            return send(msg, page(SOUP_STATUS_BAD_REQUEST,
                                  message_page("Wrong address", "This page answers only at " + listen.text() + ".")));
        if (method != "GET" && method != "HEAD" && method != "POST")
            return send(msg, page(SOUP_STATUS_METHOD_NOT_ALLOWED, message_page("Not allowed", method)));
        if (method == "POST") {
            if (soup_message_headers_get_encoding(req) != SOUP_ENCODING_CONTENT_LENGTH)
                return send(msg, page(SOUP_STATUS_LENGTH_REQUIRED, message_page("Length required", "")));
            if (soup_message_headers_get_content_length(req) > static_cast<goffset>(kMaxBody))
                return send(msg, page(SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
                                      message_page("Too large", "At most " + std::to_string(kMaxBody) + " bytes.")));
            std::string origin = header(req, "Origin");
            if (!origin.empty() && origin != "http://" + listen.text())
                return send(msg, page(SOUP_STATUS_FORBIDDEN, message_page("Forbidden", "Cross-origin request.")));
        }
    }

    Answer handle(SoupServerMessage* msg, const std::string& path) {
        SoupMessageHeaders* req = soup_server_message_get_request_headers(msg);
        std::string method = soup_server_message_get_method(msg);
        const WebSessions::Session* session = sessions.find(cookie_token(req));
        if (method != "POST") {
            if (path == "/style.css") {
                Answer a = page(SOUP_STATUS_OK, std::string(kStyleCss));
                a.content_type = "text/css; charset=utf-8";
                return a;
            }
            if (path != "/") return page(SOUP_STATUS_NOT_FOUND, message_page("Not found", path));
            if (!session) return page(SOUP_STATUS_OK, login_page(""));
            return page(SOUP_STATUS_OK, status_page(full_status(), session->csrf));
        }
        Form form = decode_form(msg);
        if (path == "/login") {
            const char* remote = soup_server_message_get_remote_host(msg);
            return login(remote ? remote : "", form);
        }
        if (!csrf_ok(session, form["csrf"]))
            return page(SOUP_STATUS_FORBIDDEN,
                        message_page("Forbidden", session ? "The form's CSRF token is missing or wrong."
                                                          : "Not logged in (or the session has expired)."));
        if (path == "/logout") {
            sessions.remove(session->token);
            Answer a = redirect("/");
            a.set_cookie = std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
            return a;
        }
        if (path == "/pair") return pair(session->csrf);
        if (path == "/forget") return forget(form["jid"], form["fingerprint"]);
        if (path == "/revoke") return revoke(form["jid"], form["device"]);
        return page(SOUP_STATUS_NOT_FOUND, message_page("Not found", path));
    }

    StatusView full_status() {
        StatusView v = backend.status();
        v.controllers = backend.acl.trust->entries();
        v.grants = backend.acl.grants->list();
        return v;
    }

    Answer login(const std::string& client, Form& form) {
        if (auto wait = throttle.wait(client); wait.count() > 0) {
            Answer a = page(429 /* Too Many Requests (RFC 6585), not in libsoup 3.2's enum */,
                            login_page("Too many wrong passwords: try again in " + std::to_string(wait.count()) + " s."));
            a.retry_after = std::to_string(wait.count());
            return a;
        }
        if (!same_secret(form["password"], password)) {
            throttle.failed(client);
            spdlog::warn("web: a login with a wrong password from {}", client);
            return page(SOUP_STATUS_FORBIDDEN, login_page("Wrong password."));
        }
        throttle.succeeded(client);
        const auto& s = sessions.create();
        Answer a = redirect("/");
        a.set_cookie = std::string(kCookie) + "=" + s.token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                       std::to_string(std::chrono::seconds(WebSessions::kLifetime).count());
        spdlog::info("web: logged in ({} session(s))", sessions.size());
        return a;
    }

    Answer pair(const std::string& csrf) {
        auto r = backend.pair();
        if (!r) return page(SOUP_STATUS_SERVICE_UNAVAILABLE, message_page("Cannot pair", r.error().describe()));
        return page(SOUP_STATUS_OK, pair_page(r.value(), csrf));
    }

    static std::optional<Jid> bare_jid(const std::string& text) {
        auto j = Jid::parse(text);
        if (!j) return std::nullopt;
        return j->bare();
    }

    // One controller (its certificate's fingerprint), or the whole account
    // when the form names none.
    Answer forget(const std::string& jid_text, const std::string& fingerprint) {
        auto jid = bare_jid(jid_text);
        if (!jid) return page(SOUP_STATUS_BAD_REQUEST, message_page("Bad request", "Not a JID: " + jid_text));
        auto done = fingerprint.empty() ? security::forget_account(backend.acl, *jid)
                                        : security::forget_controller(backend.acl, *jid, fingerprint);
        if (!done && done.error().condition == "item-not-found")
            return page(SOUP_STATUS_NOT_FOUND, message_page("Not found", done.error().describe()));
        if (!done) return page(SOUP_STATUS_INTERNAL_SERVER_ERROR, message_page("Not saved", done.error().describe()));
        spdlog::info("web: forgot {}{}", jid->str(), fingerprint.empty() ? "" : " (certificate " + fingerprint + ")");
        return redirect("/");
    }

    Answer revoke(const std::string& jid_text, const std::string& device_text) {
        auto jid = bare_jid(jid_text);
        auto device = Jid::parse(device_text);
        if (!jid || !device) return page(SOUP_STATUS_BAD_REQUEST, message_page("Bad request", "Not a JID."));
        auto n = backend.acl.grants->revoke(*jid, *device);
        if (!n) return page(SOUP_STATUS_INTERNAL_SERVER_ERROR, message_page("Not saved", n.error().describe()));
        spdlog::info("web: revoked {} grant(s) of {} on {}", *n, jid->str(), device->str());
        return redirect("/");
    }
};

WebServer::WebServer(const ListenAddress& listen, std::string password, WebBackend backend)
    : impl_(std::make_unique<Impl>(Impl{listen, std::move(password), std::move(backend), WebSessions{}, nullptr, LoginThrottle{}})) {
    impl_->server = soup_server_new("server-header", "xpmn-bridge", nullptr);
    soup_server_add_early_handler(
        impl_->server, nullptr,
        [](SoupServer*, SoupServerMessage* msg, const char*, GHashTable*, gpointer self) {
            static_cast<Impl*>(self)->early(msg);
        },
        impl_.get(), nullptr);
    soup_server_add_handler(
        impl_->server, nullptr,
        [](SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer self) {
            try {
                send(msg, static_cast<Impl*>(self)->handle(msg, path ? path : "/"));
            } catch (const std::exception& e) {
                spdlog::error("web: {}", e.what());
                send(msg, page(SOUP_STATUS_INTERNAL_SERVER_ERROR, message_page("Error", e.what())));
            }
        },
        impl_.get(), nullptr);
    GSocketAddress* address = g_inet_socket_address_new_from_string(listen.host.c_str(), listen.port);
    GError* error = nullptr;
    bool ok = address && soup_server_listen(impl_->server, address, static_cast<SoupServerListenOptions>(0), &error);
    if (address) g_object_unref(address);
    if (!ok) {
        std::string why = error ? error->message : "bad address";
        if (error) g_error_free(error);
        g_object_unref(impl_->server);
        throw WebServerError("web: cannot listen on " + listen.text() + ": " + why);
    }
    spdlog::info("web page on http://{}/", listen.text());
}

WebServer::~WebServer() {
    soup_server_disconnect(impl_->server);
    g_object_unref(impl_->server);
}

}  // namespace xpmn::daemon::web
