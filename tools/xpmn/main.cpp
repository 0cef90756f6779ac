// xpmn: a controller of the media network on the command line — what a phone
// app does. Connects as its own resource of the configured account and talks
// to the devices it finds.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <random>

#include "bridge/logging.hpp"
#include "bridge/state_dir.hpp"
#include "config/config.hpp"
#include "tools/xpmn/commands.hpp"

using namespace xpmn;

int main(int argc, char** argv) {
    CLI::App app{"xpmn: browse and control the devices of an XMPP private media network"};
    app.require_subcommand(1);
    std::string config_path;
    int timeout_s = 20;
    bool verbose = false;
    app.add_option("--config", config_path, "configuration file (TOML, same format as xpmn-bridge)")->required();
    app.add_option("--timeout", timeout_s, "give up after this many seconds")->check(CLI::Range(1, 3600));
    app.add_flag("-v,--verbose", verbose, "log protocol progress to stderr");
    auto* devices = app.add_subcommand("devices", "list the account's online devices with their identity and features");
    std::string disco_jid;
    auto* disco = app.add_subcommand("disco", "show the disco#info of a JID");
    disco->add_option("JID", disco_jid, "full JID (or a resource of the own account)")->required();
    CLI11_PARSE(app, argc, argv);

    config::Config cfg;
    try {
        cfg = config::load(config_path);
        bridge::setup_logging(verbose ? "info" : "warn", "xpmn");
        bridge::ensure_state_dir(cfg.bridge.state_dir);
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 2;
    }

    std::string resource = cfg.xmpp.jid.resource();
    if (resource.empty()) {
        std::random_device rd;
        char buf[16];
        std::snprintf(buf, sizeof buf, "xpmn-%06x", rd() & 0xffffff);
        resource = buf;
    }

    boost::asio::io_context io;
    tools::Controller controller(io, cfg, resource, std::chrono::seconds(timeout_s));
    int rc = 1;
    try {
        if (devices->parsed())
            rc = controller.run([](tools::Controller& c, auto done) { tools::list_devices(c, std::move(done)); });
        else if (disco->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::show_disco(c, disco_jid, std::move(done)); });
    } catch (const std::exception& e) {
        std::cerr << "xpmn: " << e.what() << "\n";
        return 1;
    }
    return rc;
}
