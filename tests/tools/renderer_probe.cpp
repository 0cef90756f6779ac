// Test driver: runs the UPnP adapter's renderer side alone on one loop (the
// finder with renderers, an UpnpRenderer per renderer found) and executes
// commands read from stdin, one per line, against the renderer named on the
// command line. Prints JSON lines on stdout: what it found, each command's
// outcome, and every change the renderer reported while watched. The test
// asserts the renderer's own state through its SOAP answers, not these.
//
//   renderer_probe INTERFACE[,INTERFACE…] FRIENDLY_NAME [ACTION_TIMEOUT_MS]   (log on stderr)
//   (ACTION_TIMEOUT_MS: the UpnpRenderer's SOAP timeout, default its own 10 s,
//   so a test of a hung renderer need not wait that long)
//   commands: open URL[ URL…] | play | pause | stop | next | previous | seek S | seekby S
//             | status | controls | volume N | mute on|off | watch on|off | quit
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "adapters/upnp/media_server_finder.hpp"
#include "adapters/upnp/resource_name.hpp"
#include "adapters/upnp/upnp_renderer.hpp"
#include "bridge/loop/glib_integration.hpp"
#include "common/logging.hpp"

using namespace xpmn;

namespace {

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

void emit(const std::string& line) { std::cout << line << std::endl; }

std::string number(std::optional<double> v) { return v ? std::to_string(*v) : "null"; }

const char* state_name(profiles::PlayState s) {
    switch (s) {
    case profiles::PlayState::Playing: return "playing";
    case profiles::PlayState::Paused: return "paused";
    default: return "stopped";
    }
}

struct Probe {
    Probe(boost::asio::io_context& io, std::string name) : io(io), name(std::move(name)) {}
    boost::asio::io_context& io;
    std::string name;
    std::shared_ptr<upnp::UpnpRenderer> renderer;
    std::string udn;
    boost::asio::posix::stream_descriptor input{io, ::dup(0)};
    boost::asio::streambuf buffer;
    bool reading = false;

    profiles::MediaPlayer::Done reply(const std::string& cmd) {
        return [cmd](Result<void> r) {
            if (r)
                emit("{\"cmd\":" + json_string(cmd) + ",\"ok\":true}");
            else
                emit("{\"cmd\":" + json_string(cmd) + ",\"ok\":false,\"error\":" + json_string(r.error().condition) +
                     ",\"text\":" + json_string(r.error().text) + "}");
        };
    }

    void run(const std::string& line) {
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        if (cmd.empty()) return;
        if (cmd == "quit") return io.stop();
        if (!renderer) return emit("{\"cmd\":" + json_string(cmd) + ",\"ok\":false,\"error\":\"no-renderer\"}");
        auto& r = *renderer;
        if (cmd == "open") {
            std::vector<profiles::PlayableItem> list;
            for (std::string url; in >> url;) {
                xml::Element item("item", "urn:xmpp:media:metadata:0");
                item.add_text_child("class", "audio");
                item.add_text_child("title", "Track " + std::to_string(list.size() + 1));
                item.add_text_child("mime-type", "audio/x-wav");
                list.push_back({url, item});
            }
            r.open(std::move(list), reply(cmd));
        } else if (cmd == "play") {
            r.play(reply(cmd));
        } else if (cmd == "pause") {
            r.pause(reply(cmd));
        } else if (cmd == "stop") {
            r.stop(reply(cmd));
        } else if (cmd == "next") {
            r.next(reply(cmd));
        } else if (cmd == "previous") {
            r.previous(reply(cmd));
        } else if (cmd == "seek" || cmd == "seekby") {
            double s = 0;
            in >> s;
            if (cmd == "seek")
                r.seek_to(s, reply(cmd));
            else
                r.seek_by(s, reply(cmd));
        } else if (cmd == "volume") {
            int v = 0;
            in >> v;
            r.set_volume(v, reply(cmd));
        } else if (cmd == "mute") {
            std::string on;
            in >> on;
            r.set_mute(on == "on", reply(cmd));
        } else if (cmd == "status") {
            r.status([](Result<profiles::PlayerStatus> s) {
                if (!s) return emit("{\"cmd\":\"status\",\"ok\":false,\"error\":" + json_string(s.error().condition) + "}");
                std::string title = s->item ? s->item->child_text("title") : "";
                emit(std::string("{\"cmd\":\"status\",\"ok\":true,\"state\":\"") + state_name(s->state) +
                     "\",\"position\":" + number(s->position) + ",\"duration\":" + number(s->duration) +
                     ",\"seekable\":" + (s->seekable ? "true" : "false") + ",\"title\":" + json_string(title) + "}");
            });
        } else if (cmd == "controls") {
            r.controls([](Result<profiles::PlayerControls> c) {
                if (!c) return emit("{\"cmd\":\"controls\",\"ok\":false,\"error\":" + json_string(c.error().condition) + "}");
                emit("{\"cmd\":\"controls\",\"ok\":true,\"volume\":" +
                     (c->volume ? std::to_string(*c->volume) : std::string("null")) + ",\"mute\":" +
                     (c->mute ? (*c->mute ? "true" : "false") : "null") + "}");
            });
        } else if (cmd == "watch") {
            std::string on;
            in >> on;
            if (on == "on")
                r.watch([](const profiles::PlayerChange& c) {
                    emit(std::string("{\"event\":\"change\",\"status\":") + (c.status ? "true" : "false") +
                         ",\"seeked\":" + (c.seeked ? "true" : "false") + ",\"controls\":" +
                         (c.controls ? "true" : "false") + "}");
                });
            else
                r.watch(nullptr);
            emit("{\"cmd\":\"watch\",\"ok\":true}");
        } else {
            emit("{\"cmd\":" + json_string(cmd) + ",\"ok\":false,\"error\":\"unknown-command\"}");
        }
    }

    void read() {
        boost::asio::async_read_until(input, buffer, '\n', [this](const boost::system::error_code& ec, std::size_t) {
            if (ec) return io.stop();  // stdin closed: done
            std::istream in(&buffer);
            std::string line;
            std::getline(in, line);
            run(line);
            read();
        });
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::optional<std::chrono::milliseconds> timeout;
    if (argc == 4) {
        try {
            timeout = std::chrono::milliseconds(std::stoul(argv[3]));
        } catch (const std::exception&) {
            argc = 0;  // not a number: the usage
        }
    }
    if (argc != 3 && argc != 4) {
        std::cerr << "usage: renderer_probe INTERFACE FRIENDLY_NAME [ACTION_TIMEOUT_MS]\n";
        return 2;
    }
    common::setup_logging("debug", "renderer_probe");
    boost::asio::io_context io;
    loop::GlibIntegration glib(io);
    Probe probe{io, argv[2]};
    upnp::FinderOptions options;
    for (std::string list = argv[1], name; !list.empty();) {
        auto comma = list.find(',');
        options.interfaces.push_back(list.substr(0, comma));
        list = comma == std::string::npos ? "" : list.substr(comma + 1);
    }
    options.renderers = true;
    options.rescan_interval = std::chrono::seconds(5);  // a missed search answer under load costs 10 s, not the test
    upnp::MediaServerFinder finder(
        options, {nullptr, nullptr,
                  [&](const upnp::RendererInfo& info) {
                      if (info.friendly_name != probe.name || probe.renderer) return;
                      probe.udn = info.udn;
                      probe.renderer = timeout ? std::make_shared<upnp::UpnpRenderer>(io, info, *timeout)
                                               : std::make_shared<upnp::UpnpRenderer>(io, info);
                      const auto fetches = probe.renderer->fetches_from();
                      emit("{\"event\":\"renderer\",\"udn\":" + json_string(info.udn) + ",\"resource\":" +
                           json_string(upnp::resource_for_udn("renderer", info.udn)) + ",\"fetches_from\":" +
                           json_string(fetches ? fetches->player : "") + ",\"bridge_address\":" +
                           json_string(fetches ? fetches->bridge : "") + "}");
                  },
                  [&](const std::string& udn) {
                      if (udn != probe.udn || !probe.renderer) return;
                      probe.renderer->gone();
                      probe.renderer.reset();
                      emit("{\"event\":\"gone\",\"udn\":" + json_string(udn) + "}");
                  }});
    finder.start();
    probe.read();
    io.run();
    if (probe.renderer) probe.renderer->gone();
    return 0;
}
