// xpmn: a controller of the media network on the command line — what a phone
// app does. Connects as its own resource of the configured account and talks
// to the devices it finds.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <random>

#include "common/malloc_tuning.hpp"
#include "common/logging.hpp"
#include "common/state_dir.hpp"
#include "config/config.hpp"
#include "tools/xpmn/commands.hpp"
#include "tools/xpmn/serve_player.hpp"
#include "tools/xpmn/serve_state.hpp"

using namespace xpmn;

int main(int argc, char** argv) {
    common::tune_malloc_for_streaming();
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
    tools::GetOptions get_opts;
    auto* get = app.add_subcommand("get", "download a media file (a transfer URI from browse) into a file");
    get->add_option("URI", get_opts.uri, "xmpp:DEVICE?transfer;uid=UID, as browse --xml shows it")->required();
    get->add_option("-o,--output", get_opts.output, "the file to write (an existing one is resumed)")->required();
    get->add_option("--range", get_opts.range, "only bytes A-B (inclusive offsets) or A- (to the end)");
    auto* players = app.add_subcommand("players", "list the online players (MPRIS players, UPnP renderers)");
    tools::ControlOptions control_opts;
    auto* control = app.add_subcommand(
        "control", "control a player: play, pause, stop, next, previous, seek [+|-]SECONDS, volume N, mute on|off");
    control->add_option("DEVICE", control_opts.device, "full JID, resource or unique friendly name")->required();
    control->add_option("ACTION", control_opts.action,
                        "play | pause | stop | next | previous | seek SECONDS (absolute) | seek +S / -S (relative) | "
                        "volume 0-100 | mute on|off")
        ->required();
    tools::OpenOptions open_opts;
    auto* open = app.add_subcommand("open", "make a player play these URIs (a playlist; the first starts)");
    open->add_option("DEVICE", open_opts.device, "full JID, resource or unique friendly name")->required();
    open->add_option("URI", open_opts.uris, "transfer URIs xmpp:DEVICE?transfer;uid=UID (browse --xml shows them)")
        ->required();
    tools::StatusOptions status_opts;
    auto* status = app.add_subcommand("status", "show what a player plays: state, title, position, volume");
    status->add_option("DEVICE", status_opts.device, "full JID, resource or unique friendly name")->required();
    status->add_flag("--follow", status_opts.follow,
                     "keep showing it as it changes (a live line on a terminal, a line per event otherwise) until Ctrl-C");
    status->add_flag("--xml", status_opts.xml, "print the device's <status/> element as it came");
    status->add_flag("--no-subscribe", status_opts.no_subscribe,
                     "with --follow: never subscribe, show only what the device sends by itself to a controller "
                     "whose caps ask for events (its owners')");
    bool no_e2e = false;
    app.add_flag("--no-e2e", no_e2e,
                 "send profile requests over plain c2s (only a bridge with security.require_e2e = false answers them)");
    tools::PairOptions pair_opts;
    auto* pair = app.add_subcommand("pair", "pair with a bridge using the PIN or the URI `xpmn-bridge pair` shows");
    pair->add_option("BRIDGE", pair_opts.bridge,
                     "the bridge's full JID (BARE/bridge), or the pairing URI xmpp:BARE/bridge?pair;pin=PIN;fp=HEX")
        ->required();
    pair->add_option("--pin", pair_opts.pin, "the one-time PIN (needed with a JID; in the URI otherwise)");
    pair->add_option("--fp", pair_opts.fingerprint,
                     "the SHA-256 fingerprint the bridge's certificate must have (the URI's fp)");
    auto* trust = app.add_subcommand("trust", "list the bridges this controller has paired with");
    tools::GrantOptions acl_opts;
    auto add_bridge = [&](CLI::App* sub) {
        sub->add_option("--bridge", acl_opts.bridge, "the bridge's full JID (default: BARE/bridge of this account)");
    };
    auto* grant = app.add_subcommand("grant", "give a friend's account access to a device (owners only)");
    grant->add_option("JID", acl_opts.jid, "the friend's account (bare JID)")->required();
    grant->add_option("DEVICE", acl_opts.device, "full JID, resource or unique friendly name")->required();
    grant->add_option("PERMISSION", acl_opts.permission, "read (media server), events or control (player)")
        ->required()
        ->check(CLI::IsMember({"read", "events", "control"}));
    grant->add_option("--container", acl_opts.container, "read: only this container and what is below it");
    grant->add_option("--expires", acl_opts.expires, "until this time (RFC 3339 UTC, e.g. 2026-12-24T18:00:00Z)");
    add_bridge(grant);
    auto* revoke = app.add_subcommand("revoke", "remove a friend's grants on a device (owners only)");
    revoke->add_option("JID", acl_opts.jid, "the friend's account (bare JID)")->required();
    revoke->add_option("DEVICE", acl_opts.device, "full JID, resource or unique friendly name")->required();
    add_bridge(revoke);
    auto* acl = app.add_subcommand("acl", "list the grants (owners: all; friends: their own)");
    add_bridge(acl);
    auto* forget = app.add_subcommand("forget", "unpair an account: its certificates and grants go, its streams close");
    forget->add_option("JID", acl_opts.jid, "the account (bare JID)")->required();
    add_bridge(forget);
    tools::ServeOptions serve_opts;
    auto* serve = app.add_subcommand("serve", "serve transfers to local players on http://127.0.0.1:PORT/ until Ctrl-C");
    serve->add_option("--port", serve_opts.port, "port on 127.0.0.1 (default: any free one)");
    serve->add_option(tools::kReadyFdOption, serve_opts.ready_fd)->group("");  // set by `xpmn url`
    tools::UrlOptions url_opts;
    auto* url = app.add_subcommand("url", "print a transfer's URL for a local player (starts `xpmn serve` if needed)");
    url->add_option("URI", url_opts.uri, "transfer URI xmpp:DEVICE?transfer;uid=UID")->required();
    auto* play = app.add_subcommand("play", "play a transfer with the [player] command (default: mpv)");
    play->add_option("URI", url_opts.uri, "transfer URI xmpp:DEVICE?transfer;uid=UID")->required();
    CLI11_PARSE(app, argc, argv);

    config::Config cfg;
    tools::PlayerSection player;
    try {
        cfg = config::load(config_path, {&player}, config::OtherTables::Ignore);
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

    if (trust->parsed()) return tools::list_trust(cfg);
    if (url->parsed() || play->parsed()) {
        url_opts.serve_args = tools::serve_command(config_path, timeout_s, verbose, no_e2e);
        url_opts.wait = std::chrono::seconds(timeout_s + 5);
        return url->parsed() ? tools::print_url(cfg, url_opts) : tools::play(cfg, player.command, url_opts);
    }

    // `get -o` into a pipe whose reader went away: a write error to report, not a silent death.
    std::signal(SIGPIPE, SIG_IGN);
    boost::asio::io_context io;
    tools::Controller controller(io, cfg, resource, std::chrono::seconds(timeout_s));
    controller.set_end_to_end(!no_e2e);
    if (status->parsed() && status_opts.follow) controller.announce(tools::follow_features());
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
        else if (pair->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::pair(c, pair_opts, std::move(done)); });
        else if (grant->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::grant(c, acl_opts, std::move(done)); });
        else if (revoke->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::revoke(c, acl_opts, std::move(done)); });
        else if (acl->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::list_acl(c, acl_opts, std::move(done)); });
        else if (forget->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::forget(c, acl_opts, std::move(done)); });
        else if (serve->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::serve(c, serve_opts, std::move(done)); });
        else if (get->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::get(c, get_opts, std::move(done)); });
        else if (players->parsed())
            rc = controller.run([](tools::Controller& c, auto done) { tools::list_players(c, std::move(done)); });
        else if (control->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::control(c, control_opts, std::move(done)); });
        else if (open->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::open(c, open_opts, std::move(done)); });
        else if (status->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::status(c, status_opts, std::move(done)); });
        else if (disco->parsed())
            rc = controller.run([&](tools::Controller& c, auto done) { tools::show_disco(c, disco_jid, std::move(done)); });
    } catch (const std::exception& e) {
        std::cerr << "xpmn: " << e.what() << "\n";
        return 1;
    }
    return rc;
}
