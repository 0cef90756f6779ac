#include "daemon/web/login_throttle.hpp"

#include <algorithm>

namespace xpmn::daemon::web {

LoginThrottle::LoginThrottle(Clock clock) : clock_(std::move(clock)) {}

std::chrono::seconds LoginThrottle::wait(const std::string& client) {
    auto it = clients_.find(client);
    if (it == clients_.end()) return std::chrono::seconds(0);
    auto now = clock_();
    if (it->second.until <= now) return std::chrono::seconds(0);
    // Rounded up: "try again in 0 s" would be wrong.
    return std::chrono::ceil<std::chrono::seconds>(it->second.until - now);
}

void LoginThrottle::failed(const std::string& client) {
    auto now = clock_();
    if (!clients_.count(client) && clients_.size() >= kMaxClients) {
        auto oldest = std::min_element(clients_.begin(), clients_.end(),
                                       [](const auto& a, const auto& b) { return a.second.seen < b.second.seen; });
        clients_.erase(oldest);
    }
    Client& c = clients_[client];
    c.seen = now;
    c.failures = std::min(c.failures + 1, 64);  // bounded: the lockout is capped long before
    if (c.failures <= kFreeAttempts) return;
    const int doublings = std::min(c.failures - kFreeAttempts - 1, 16);
    c.until = now + std::min<std::chrono::seconds>(std::chrono::seconds(1LL << doublings), kMaxLockout);
}

void LoginThrottle::succeeded(const std::string& client) { clients_.erase(client); }

}  // namespace xpmn::daemon::web
