// xpmn: a controller of the media network on the command line — what a phone
// app does. Connects as its own resource of the configured account and talks
// to the devices it finds.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <random>

#include "common/logging.hpp"
#include "common/state_dir.hpp"
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
    disco->add_option("JID", disco_jid, "full JID, a resource of the own account, or its server's domain")->required();
    tools::BrowseOptions browse_opts;
    auto* browse = app.add_subcommand("browse", "list one container of a media server");
    browse->add_option("DEVICE", browse_opts.device, "full JID, resource or unique friendly name")->required();
    browse->add_option("ID", browse_opts.id, "container id (default: the root, 0)");
    browse->add_option("--start", browse_opts.start, "index of the first child");
    browse->add_option("--max", browse_opts.max, "children at most (the device caps it at 1000)");
    browse->add_flag("--xml", browse_opts.xml, "print the raw <container/>");
    tools::SearchOptions search_opts;
    auto* search = app.add_subcommand("search", "search a media server (terms are AND-ed)");
    search->add_option("DEVICE", search_opts.device, "full JID, resource or unique friendly name")->required();
    search->add_option("TERMS", search_opts.terms, "key=value: title, artist, album, genre, creator, class")
        ->required();
    search->add_option("--container", search_opts.container, "search below this container (default 0)");
    search->add_option("--start", search_opts.start, "index of the first hit");
    search->add_option("--max", search_opts.max, "hits at most");
    search->add_flag("--xml", search_opts.xml, "print the raw <container/>");
    tools::WatchOptions watch_opts;
    auto* watch = app.add_subcommand("watch", "print the changes of one container of a media server as they happen");
    watch->add_option("DEVICE", watch_opts.device, "full JID, resource or unique friendly name")->required();
    watch->add_option("ID", watch_opts.id, "container id (default: the root, 0)");
    watch->add_option("--count", watch_opts.count, "end after this many changes (default: until Ctrl-C)");
    CLI11_PARSE(app, argc, argv);

    config::Config cfg;
    try {
        cfg = config::load(config_path, {}, config::OtherTables::Ignore);
        common::setup_logging(verbose ? "info" : "warn", "xpmn");
        common::ensure_state_dir(cfg.bridge.state_dir);
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
        else if (browse->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::browse(c, browse_opts, std::move(done)); });
        else if (search->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::search(c, search_opts, std::move(done)); });
        else if (watch->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::watch(c, watch_opts, std::move(done)); });
        else if (disco->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::show_disco(c, disco_jid, std::move(done)); });
    } catch (const std::exception& e) {
        std::cerr << "xpmn: " << e.what() << "\n";
        return 1;
    }
    return rc;
}
