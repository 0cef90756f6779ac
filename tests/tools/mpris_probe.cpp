// Test driver: runs one MediaPlayer command through MprisPlayer against a
// player on a D-Bus bus, on one io_context with the SdbusIntegration, and
// prints the outcome as one JSON line:
//   mpris_probe ADDRESS BUS_NAME COMMAND [ARG…] [--timeout-ms N]
// COMMAND: open URL…, play, pause, stop, next, previous, seek-to SECONDS,
// seek-by SECONDS, volume N, status, controls; watch MS: prints
// {"ready":true} once subscribed, then {"status":…,"seeked":…,"controls":…,"t":…}
// per change (t: CLOCK_MONOTONIC seconds, as Python's time.monotonic()) for MS ms.
// Output: {"ok":true,…} (exit 0) or {"ok":false,"condition":…,"text":…} (exit 1).
#include <time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/mpris/mpris_player.hpp"
#include "adapters/mpris/mpris_signals.hpp"
#include "bridge/loop/sdbus_integration.hpp"

#include <sdbus-c++/sdbus-c++.h>

using namespace xpmn;

namespace {

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    return out + "\"";
}

int print_error(const Error& e) {
    std::cout << "{\"ok\":false,\"condition\":" << json_string(e.condition) << ",\"text\":" << json_string(e.text)
              << "}" << std::endl;
    return 1;
}

const char* state_name(profiles::PlayState s) {
    switch (s) {
        case profiles::PlayState::Playing: return "playing";
        case profiles::PlayState::Paused: return "paused";
        default: return "stopped";
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    int timeout_ms = 5000;
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--timeout-ms") {
            timeout_ms = std::stoi(args[i + 1]);
            args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
            break;
        }
    if (args.size() < 3) {
        std::cerr << "usage: mpris_probe ADDRESS BUS_NAME COMMAND [ARG…] [--timeout-ms N]\n";
        return 2;
    }
    boost::asio::io_context io;
    loop::SdbusIntegration bus(io, loop::SdbusIntegration::connect(args[0]));
    auto player = std::make_shared<mpris::MprisPlayer>(bus, args[1], std::chrono::milliseconds(timeout_ms));
    const std::string cmd = args[2];
    const std::vector<std::string> rest(args.begin() + 3, args.end());
    int rc = 2;
    std::unique_ptr<mpris::MprisSignals> signals;
    std::unique_ptr<sdbus::IProxy> daemon;
    boost::asio::steady_timer watch_end(io);
    auto finish = [&](int code) {
        rc = code;
        io.stop();
    };
    auto done = [&](Result<void> r) { finish(r ? (std::cout << "{\"ok\":true}" << std::endl, 0) : print_error(r.error())); };
    auto number = [&] { return rest.empty() ? 0.0 : std::stod(rest[0]); };

    if (cmd == "open") {
        std::vector<profiles::PlayableItem> list;
        for (const auto& u : rest) list.push_back({u, std::nullopt});
        player->open(std::move(list), done);
    } else if (cmd == "play") player->play(done);
    else if (cmd == "pause") player->pause(done);
    else if (cmd == "stop") player->stop(done);
    else if (cmd == "next") player->next(done);
    else if (cmd == "previous") player->previous(done);
    else if (cmd == "seek-to") player->seek_to(number(), done);
    else if (cmd == "seek-by") player->seek_by(number(), done);
    else if (cmd == "volume") player->set_volume(static_cast<int>(number()), done);
    else if (cmd == "status") {
        player->status([&](Result<profiles::PlayerStatus> s) {
            if (!s) return finish(print_error(s.error()));
            std::ostringstream o;
            o << "{\"ok\":true,\"state\":\"" << state_name(s->state) << "\"";
            if (s->position) o << ",\"position\":" << *s->position;
            if (s->duration) o << ",\"duration\":" << *s->duration;
            o << ",\"seekable\":" << (s->seekable ? "true" : "false");
            if (s->item) o << ",\"item\":" << json_string(s->item->to_string());
            o << "}";
            std::cout << o.str() << std::endl;
            finish(0);
        });
    } else if (cmd == "controls") {
        player->controls([&](Result<profiles::PlayerControls> c) {
            if (!c) return finish(print_error(c.error()));
            std::cout << "{\"ok\":true,\"volume\":" << (c->volume ? std::to_string(*c->volume) : "null")
                      << ",\"mute\":" << (c->mute ? (*c->mute ? "true" : "false") : "null") << "}" << std::endl;
            finish(0);
        });
    } else if (cmd == "watch") {
        // Signals are routed by sender: the player's unique name first.
        signals = std::make_unique<mpris::MprisSignals>(bus, nullptr);
        daemon = sdbus::createProxy(bus.connection(), "org.freedesktop.DBus", "/org/freedesktop/DBus");
        daemon->callMethodAsync("GetNameOwner")
            .onInterface("org.freedesktop.DBus")
            .withTimeout(std::chrono::milliseconds(timeout_ms))
            .withArguments(args[1])
            .uponReplyInvoke([&](const sdbus::Error* e, std::string owner) {
                if (e) return finish(print_error(mpris::dbus_error(*e)));
                player = std::make_shared<mpris::MprisPlayer>(bus, owner, std::chrono::milliseconds(timeout_ms));
                signals->attach(owner, player);
                player->watch([](const profiles::PlayerChange& c) {
                    timespec ts{};
                    clock_gettime(CLOCK_MONOTONIC, &ts);
                    std::cout << "{\"status\":" << (c.status ? "true" : "false")
                              << ",\"seeked\":" << (c.seeked ? "true" : "false")
                              << ",\"controls\":" << (c.controls ? "true" : "false") << ",\"t\":" << ts.tv_sec
                              << "." << std::setw(9) << std::setfill('0') << ts.tv_nsec << "}" << std::endl;
                });
                std::cout << "{\"ready\":true}" << std::endl;
                watch_end.expires_after(std::chrono::milliseconds(static_cast<int>(number())));
                watch_end.async_wait([&](const boost::system::error_code&) { finish(0); });
            });
        bus.issued();
    } else {
        std::cerr << "mpris_probe: unknown command " << cmd << "\n";
        return 2;
    }
    io.run();
    return rc;
}
