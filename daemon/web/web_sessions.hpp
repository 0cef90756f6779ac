// The page's login sessions: a random token (the HttpOnly cookie) and a
// CSRF token of its own per session, both 256 bits from the CSPRNG; a
// session lasts kLifetime from login. At most kMaxSessions live at once:
// a new login drops expired ones, then the oldest.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace xpmn::daemon::web {

// 32 bytes from RAND_bytes as 64 lowercase hex digits; throws std::runtime_error when the CSPRNG fails.
std::string random_token();
// Equal, in time independent of where they differ (CRYPTO_memcmp).
bool same_secret(std::string_view a, std::string_view b);

class WebSessions {
public:
    static constexpr std::size_t kMaxSessions = 16;
    static constexpr std::chrono::hours kLifetime{8};
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    struct Session {
        std::string token, csrf;
        std::chrono::steady_clock::time_point expires;
    };

    explicit WebSessions(Clock clock = &std::chrono::steady_clock::now,
                         std::function<std::string()> make_token = &random_token);

    const Session& create();
    // The live session of this cookie token; nullptr when unknown or expired.
    const Session* find(std::string_view token);
    void remove(std::string_view token);
    std::size_t size() const { return sessions_.size(); }

private:
    void drop_expired();

    Clock clock_;
    std::function<std::string()> make_token_;
    std::vector<Session> sessions_;  // oldest first
};

// A state-changing request may proceed: it belongs to a live session and
// carries that session's CSRF token.
bool csrf_ok(const WebSessions::Session* session, std::string_view form_token);

}  // namespace xpmn::daemon::web
