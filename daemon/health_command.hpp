// `xpmn-bridge --config FILE health`: asks the running daemon (control socket
// command "health") whether it is connected and prints one line:
//   healthy: XMPP connected, bridge presence online; 2 of 2 devices online (bridge, nas-1); last error: none
//   unhealthy: XMPP not connected; 0 of 2 devices online; last error: 2026-12-02T18:00:00Z bridge: connection refused
// Exit 0 when healthy (the bridge device's session is online, so its
// presence is out), 1 when not, 3 when no daemon answers: what a container
// HEALTHCHECK or a monitoring script needs.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "common/utc_time.hpp"

namespace xpmn::daemon {

enum HealthExit {
    kHealthy = 0,
    kUnhealthy = 1,
    kHealthNoDaemon = 3,
};

struct HealthReport {
    bool bridge_online = false;
    std::vector<std::string> online;  // resources whose presence is out
    std::size_t devices = 0;
    std::string last_error;  // "" when none yet
    common::SystemTime last_error_at{};
};

// The daemon's answer after "ok ": bridge=online|offline devices=N
// online=a,b last_error=… last_error_at=… (values percent-encoded: the
// control socket's values hold no spaces).
std::string health_answer(const HealthReport& report);
HealthReport parse_health_answer(const std::string& answer_after_ok);
// The one line the command prints (without "\n").
std::string health_line(const HealthReport& report);

int run_health(const std::string& state_dir, std::ostream& out, std::ostream& err);

}  // namespace xpmn::daemon
