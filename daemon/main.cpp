// xpmn-bridge: the daemon and its composition root. Loads the configuration
// (the common sections and each adapter kind's own), brings the bridge
// device online, starts the adapters and runs everything on one io_context
// (GLib's main context and, later, sd-bus are driven from it).
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "adapters/upnp/port_mapper.hpp"
#include "common/malloc_tuning.hpp"
#include "bridge/access_policy.hpp"
#include "bridge/adapter.hpp"
#include "bridge/device_host.hpp"
#include "bridge/loop/glib_integration.hpp"
#include "bridge/security/grants.hpp"
#include "bridge/security/pairing_window.hpp"
#include "common/logging.hpp"
#include "common/state_dir.hpp"
#include "common/utc_time.hpp"
#include "config/config.hpp"
#include "config/section.hpp"
#include "daemon/adapter_registry.hpp"
#include "daemon/control_socket.hpp"
#include "daemon/health_command.hpp"
#include "daemon/pair_command.hpp"
#include "daemon/security_setup.hpp"
#include "daemon/web/web_config.hpp"
#include "daemon/web_setup.hpp"
#include "xmpp/tls/tls_context.hpp"
#include "xmpp/xtls/trust_store.hpp"

using namespace xpmn;

int main(int argc, char** argv) {
    common::tune_malloc_for_streaming();
    CLI::App app{"xpmn-bridge: puts the home's UPnP/DLNA servers and media players into an XMPP media network"};
    std::string config_path, check_path;
    auto* run_opt = app.add_option("--config", config_path, "configuration file (TOML)");
    auto* check_opt = app.add_option("--check-config", check_path, "check a configuration file and exit");
    run_opt->excludes(check_opt);
    auto* pair_cmd = app.add_subcommand("pair", "open the running daemon's pairing window: print a one-time PIN, "
                                                "the pairing URI and its QR code");
    auto* health_cmd = app.add_subcommand("health", "ask the running daemon whether it is connected: one line; "
                                                    "exit 0 healthy, 1 unhealthy, 3 no daemon");
    app.set_version_flag("--version", std::string(PROJECT_VERSION));
    CLI11_PARSE(app, argc, argv);

    auto kinds = daemon::adapter_kinds();
    std::vector<config::Section*> sections;
    for (auto& k : kinds) sections.push_back(k.get());
    daemon::web::WebSection web_section;  // [web]: the status and pairing page (docs/web.md)
    sections.push_back(&web_section);

    if (!check_path.empty()) {
        try {
            auto c = config::load(check_path, sections);
            std::cout << check_path << ": OK (account " << c.xmpp.jid.bare().str() << ", state_dir "
                      << c.bridge.state_dir << ")\n";
            return 0;
        } catch (const config::ConfigError& e) {
            std::cerr << e.what() << "\n";
            return 2;
        }
    }
    if (config_path.empty()) {
        std::cerr << "xpmn-bridge: --config FILE is required (see --help)\n";
        return 2;
    }

    config::Config cfg;
    const auto& web = web_section.config();
    std::string web_password;
    try {
        cfg = config::load(config_path, sections);
        if (pair_cmd->parsed()) return daemon::run_pair(cfg.bridge.state_dir, std::cout, std::cerr);
        if (health_cmd->parsed()) return daemon::run_health(cfg.bridge.state_dir, std::cout, std::cerr);
        common::setup_logging(cfg.bridge.log_level, "xpmn-bridge");
        common::ensure_state_dir(cfg.bridge.state_dir);
        if (web.listen) web_password = daemon::web::read_password_file(web.password_file);
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 2;
    }

    boost::asio::io_context io;
    // State first: a second daemon on the same state_dir, or an identity,
    // trust store or grants file that cannot be read, stops here with a clear message.
    std::unique_ptr<daemon::ControlSocket> control;
    daemon::Security security;
    try {
        control = std::make_unique<daemon::ControlSocket>(io, cfg.bridge.state_dir);
        security = daemon::load_security(io, cfg);
    } catch (const std::exception& e) {
        std::cerr << "xpmn-bridge: " << e.what() << "\n";
        return 2;
    }
    control->on("pair", [pairing = security.pairing, &cfg, fp = security.identity.fingerprint] {
        return daemon::open_pairing(*pairing, cfg, fp);
    });

    auto recent_problems = web.listen ? daemon::keep_recent_problems() : nullptr;
    loop::GlibIntegration glib(io);
    // [transfer] port_mapping: the home router's mappings for assisted S5B candidates.
    std::shared_ptr<upnp::PortMapper> port_mapper;
    if (cfg.transfer.port_mapping) {
        port_mapper = upnp::PortMapper::create(cfg.transfer.interfaces);
        port_mapper->start();
        security.streams->set_map_port(port_mapper->map_port());
    }
    try {
        bridge::DeviceHost host(io, cfg);
        auto bridge_device = std::make_shared<bridge::Device>(
            "bridge", disco::Identity{"automation", "gateway", "", cfg.bridge.name});
        bridge_device->set_wants_roster(true);
        daemon::serve_bridge_device(security, cfg, bridge_device);
        host.set_device_setup([streams = security.streams.get()](const std::shared_ptr<bridge::Device>& device) {
            if (device->resource() != "bridge") streams->serve(device, false);
        });
        host.add(bridge_device);
        control->on("health", [&host] {
            auto s = host.status();
            daemon::HealthReport report{host.session("bridge") && host.session("bridge")->online(), s.online,
                                        s.devices, s.last_error, s.last_error_at};
            return Result<std::string>(daemon::health_answer(report));
        });

        if (!cfg.security.require_e2e)
            spdlog::warn("security.require_e2e = false: the home account may use profile commands over plain c2s");
        bridge::AdapterContext context{io, host, cfg, security.access};
        // Items of other bridges' devices: fetched as a controller, served to local players.
        auto remote = profiles::RemoteItems::create({io, cfg, security.identity, security.trust});
        context.remote = remote;
        context.trust = security.trust;
        context.playables = std::make_shared<profiles::BridgePlayables>(cfg.players, security.access,
                                                                        context.media_sources, remote);
        std::vector<std::unique_ptr<bridge::Adapter>> adapters;
        for (auto& kind : kinds) adapters.push_back(kind->create(context));
        for (auto& adapter : adapters) adapter->start();
        std::unique_ptr<daemon::web::WebServer> web_server;
        if (web.listen)
            web_server = daemon::start_web(web, std::move(web_password), cfg, security, host, recent_problems);

        boost::asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            spdlog::info("signal {}: shutting down", sig);
            for (auto& adapter : adapters) adapter->stop();
            remote->stop([&host, &io] { host.stop_all([&io] { io.stop(); }); });
        });
        spdlog::info("xpmn-bridge {} running for {}", PROJECT_VERSION, cfg.xmpp.jid.bare().str());
        io.run();
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
    spdlog::info("stopped");
    return 0;
}
