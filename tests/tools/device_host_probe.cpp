// Test driver: runs N devices (probe-1 … probe-N) of one account through a
// DeviceHost on one io_context, so integration tests can check that many
// sessions share one loop and one thread. SIGUSR1 removes probe-1; SIGTERM
// stops everything.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "bridge/device_host.hpp"
#include "common/logging.hpp"
#include "config/config.hpp"

using namespace xpmn;

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: device_host_probe CONFIG N\n";
        return 2;
    }
    auto cfg = config::load(argv[1], {}, config::OtherTables::Ignore);
    int n = std::stoi(argv[2]);
    common::setup_logging(cfg.bridge.log_level, "probe");
    boost::asio::io_context io;
    bridge::DeviceHost host(io, cfg);
    for (int i = 1; i <= n; ++i) {
        auto d = std::make_shared<bridge::Device>("probe-" + std::to_string(i),
                                                  disco::Identity{"automation", "media-server", "", "Probe " + std::to_string(i)});
        d->add_feature("urn:example:probe:" + std::to_string(i));
        host.add(d);
    }
    boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGUSR1);
    std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                              int sig) {
        if (ec) return;
        if (sig == SIGUSR1) {
            host.remove("probe-1", [] { spdlog::info("probe-1 removed"); });
            signals.async_wait(on_signal);
            return;
        }
        host.stop_all([&io] { io.stop(); });
    };
    signals.async_wait(on_signal);
    io.run();
    return 0;
}
