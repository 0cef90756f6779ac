// Slows down password guessing on the web page's login: each client
// address has kFreeAttempts wrong passwords; every further wrong one locks
// that address out for twice as long as the one before (1 s, 2 s, 4 s …,
// at most kMaxLockout). While locked out, an attempt is refused without
// looking at the password (so a guess in that time tells nothing). A right
// password clears the address. At most kMaxClients addresses are tracked:
// beyond that the one seen longest ago is forgotten.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>

namespace xpmn::daemon::web {

class LoginThrottle {
public:
    static constexpr int kFreeAttempts = 5;
    static constexpr std::chrono::seconds kMaxLockout{300};
    static constexpr std::size_t kMaxClients = 256;
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    explicit LoginThrottle(Clock clock = &std::chrono::steady_clock::now);

    // How long `client` must still wait before trying; zero: it may try now.
    std::chrono::seconds wait(const std::string& client);
    void failed(const std::string& client);
    void succeeded(const std::string& client);
    std::size_t tracked() const { return clients_.size(); }

private:
    struct Client {
        int failures = 0;
        std::chrono::steady_clock::time_point until, seen;
    };
    Clock clock_;
    std::map<std::string, Client> clients_;
};

}  // namespace xpmn::daemon::web
