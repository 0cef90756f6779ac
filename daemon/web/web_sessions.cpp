#include "daemon/web/web_sessions.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <stdexcept>

#include "xmpp/core/random_hex.hpp"

namespace xpmn::daemon::web {

std::string random_token() { return random_hex(32); }

bool same_secret(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

WebSessions::WebSessions(Clock clock, std::function<std::string()> make_token)
    : clock_(std::move(clock)), make_token_(std::move(make_token)) {}

void WebSessions::drop_expired() {
    auto now = clock_();
    std::erase_if(sessions_, [now](const Session& s) { return s.expires <= now; });
}

const WebSessions::Session& WebSessions::create() {
    drop_expired();
    if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
    sessions_.push_back({make_token_(), make_token_(), clock_() + kLifetime});
    return sessions_.back();
}

const WebSessions::Session* WebSessions::find(std::string_view token) {
    drop_expired();
    if (token.empty()) return nullptr;
    for (const auto& s : sessions_)
        if (same_secret(s.token, token)) return &s;
    return nullptr;
}

void WebSessions::remove(std::string_view token) {
    std::erase_if(sessions_, [token](const Session& s) { return same_secret(s.token, token); });
}

bool csrf_ok(const WebSessions::Session* session, std::string_view form_token) {
    return session && !form_token.empty() && same_secret(session->csrf, form_token);
}

}  // namespace xpmn::daemon::web
