// The daemon's part of the status page: what it shows (the devices of the
// host, recent warnings and errors from the log, the trust store and grants)
// and the Pair button (the same pairing window as `xpmn-bridge pair`).
#pragma once

#include <spdlog/sinks/ringbuffer_sink.h>

#include <memory>

#include "bridge/device_host.hpp"
#include "config/config.hpp"
#include "daemon/security_setup.hpp"
#include "daemon/web/web_config.hpp"
#include "daemon/web/web_server.hpp"

namespace xpmn::daemon {

// Keeps the last warnings and errors of the default logger for the page.
std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> keep_recent_problems();

// Serves the page on web.listen; throws when it cannot listen.
std::unique_ptr<web::WebServer> start_web(const web::WebConfig& web, std::string password, const config::Config& cfg,
                                          Security& security, bridge::DeviceHost& host,
                                          std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> problems);

}  // namespace xpmn::daemon
