// The xpmn subcommands. Each prints its result on stdout and calls done(exit code).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/xpmn/controller.hpp"

namespace xpmn::tools {

void list_devices(Controller& c, Controller::Done done);

struct BrowseOptions {
    std::string device;
    std::string id = "0";
    std::uint32_t start = 0;
    std::uint32_t max = 100;
    bool xml = false;
};
void browse(Controller& c, const BrowseOptions& options, Controller::Done done);

struct SearchOptions {
    std::string device;
    std::vector<std::string> terms;  // key=value
    std::string container = "0";
    std::uint32_t start = 0;
    std::uint32_t max = 100;
    bool xml = false;
};
void search(Controller& c, const SearchOptions& options, Controller::Done done);
struct WatchOptions {
    std::string device;
    std::string id = "0";
    unsigned count = 0;  // end after this many changes; 0: until SIGINT/SIGTERM
};
void watch(Controller& c, const WatchOptions& options, Controller::Done done);

struct GetOptions {
    std::string uri;     // xmpp:FULLJID?transfer;uid=UID
    std::string output;  // the file
    std::string range;   // A-B or A- (inclusive byte offsets); empty: the whole file, resuming FILE
};
void get(Controller& c, const GetOptions& options, Controller::Done done);

// The MediaControl profile (cmd_player.cpp).
void list_players(Controller& c, Controller::Done done);
struct ControlOptions {
    std::string device;
    std::vector<std::string> action;  // play | pause | stop | next | previous | seek [+|-]S | volume N | mute on|off
};
void control(Controller& c, const ControlOptions& options, Controller::Done done);
struct OpenOptions {
    std::string device;
    std::vector<std::string> uris;
};
void open(Controller& c, const OpenOptions& options, Controller::Done done);
struct StatusOptions {
    std::string device;
    bool follow = false;
    // --follow without ever subscribing: only what the device delivers by
    // itself to a controller whose caps ask for it (an owner's, §7.3).
    bool no_subscribe = false;
    bool xml = false;  // the device's <status/> as it came (its item's cover-album and uri)
};
// The features `status --follow` announces (its caps): both nodes' +notify.
std::vector<std::string> follow_features();
void status(Controller& c, const StatusOptions& options, Controller::Done done);

void show_disco(Controller& c, const std::string& jid, Controller::Done done);

struct PairOptions {
    std::string bridge;       // BARE/bridge (or a resource of the own account), or the pairing URI
    std::string pin;          // not needed when the URI has it
    std::string fingerprint;  // the bridge certificate's SHA-256 (hex) to insist on; the URI's fp otherwise
};
void pair(Controller& c, const PairOptions& options, Controller::Done done);
// The bridges this controller paired with (no connection needed).
int list_trust(const config::Config& cfg);

struct GrantOptions {
    std::string bridge;      // the bridge's full JID (default: BARE/bridge of the own account)
    std::string jid;         // the friend's account (bare)
    std::string device;      // full JID, resource or unique friendly name
    std::string permission;  // read, events, control
    std::string container;   // read: one container subtree
    std::string expires;     // RFC 3339 UTC
};
void grant(Controller& c, const GrantOptions& options, Controller::Done done);
void revoke(Controller& c, const GrantOptions& options, Controller::Done done);
void forget(Controller& c, const GrantOptions& options, Controller::Done done);
void list_acl(Controller& c, const GrantOptions& options, Controller::Done done);

// `xpmn serve`: the loopback HTTP server for local players (cmd_serve.cpp).
struct ServeOptions {
    std::uint16_t port = 0;  // 0: any free port
    int ready_fd = -1;       // set by the `xpmn url` that started this server: the port goes there
};
void serve(Controller& c, const ServeOptions& options, Controller::Done done);
// `xpmn url` / `xpmn play`: no connection of their own; the server does the transfers.
struct UrlOptions {
    std::string uri;
    std::vector<std::string> serve_args;  // how to start `xpmn serve` (global options + "serve")
    std::chrono::seconds wait{20};        // for a server started here to listen
};
int print_url(const config::Config& cfg, const UrlOptions& options);
int play(const config::Config& cfg, const std::vector<std::string>& player, const UrlOptions& options);

}  // namespace xpmn::tools
