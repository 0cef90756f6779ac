// `xpmn serve`, `xpmn url`, `xpmn play` (issue 9): local players reach
// transfers through a loopback HTTP server. `serve` runs the RangeServer
// with transfers as its opener until SIGINT/SIGTERM; `url` prints a
// transfer's URL on the server of this state directory (starting one in the
// background when none runs); `play` runs the configured player on it.
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <utility>

#include "bridge/loop/glib_integration.hpp"
#include "tools/xpmn/commands.hpp"
#include "controller/range_server.hpp"
#include "tools/xpmn/serve_player.hpp"
#include "tools/xpmn/serve_state.hpp"
#include "controller/transfer_client.hpp"

namespace xpmn::tools {

using controller::IncomingTransfer;
using controller::RangeServer;
using controller::ServedBody;
using controller::TransferUri;
using controller::open_transfer;

namespace {

// What a running server holds; destroyed in this order (the server before
// the GLib integration its sockets are attached to).
struct Serving {
    std::unique_ptr<loop::GlibIntegration> glib;
    std::unique_ptr<RangeServer> server;
    std::optional<ServePortFile> port_file;
    std::unique_ptr<boost::asio::signal_set> signals;

    void stop() {
        if (port_file) port_file->withdraw();
        server.reset();
        glib.reset();
    }
};

// A player's request becomes a transfer: the HTTP range is the wire's
// inclusive from/to (RangeServer has resolved suffix ranges already).
RangeServer::Opener transfer_opener(Controller& c) {
    return [&c](const std::string& uri, std::optional<relay::RangeSpec> range, RangeServer::OpenHandler done) {
        auto parsed = TransferUri::parse(uri);
        if (!parsed) return boost::asio::post(c.io(), [done, e = parsed.error()] { done(e); });
        std::optional<std::uint64_t> from, to;
        if (range) {
            from = range->first;
            to = range->last;
        }
        open_transfer(c, *parsed, from, to, [done](Result<IncomingTransfer> r) {
            if (!r) return done(r.error());
            done(ServedBody{r->total, std::move(r->type), r->size, std::move(r->body)});
        });
    };
}

}  // namespace

void serve(Controller& c, const ServeOptions& o, Controller::Done done) {
    auto s = std::make_shared<Serving>();
    try {
        s->glib = std::make_unique<loop::GlibIntegration>(c.io());
        s->server = std::make_unique<RangeServer>(transfer_opener(c), o.port);
        s->port_file.emplace(c.config().bridge.state_dir);
        s->port_file->publish(s->server->port());
    } catch (const std::exception& e) {
        std::cerr << "xpmn: serve: " << e.what() << "\n";
        s->stop();
        return done(1);
    }
    c.watching();  // runs until told to stop
    s->signals = std::make_unique<boost::asio::signal_set>(c.io(), SIGINT, SIGTERM);
    s->signals->async_wait([s, done](const boost::system::error_code& ec, int) {
        if (ec) return;
        s->signals->clear();  // a second signal ends the process at once
        s->stop();
        done(0);
    });
    // Said once the port answers and Ctrl-C is ours.
    std::cout << "serving on " << serve_url(s->server->port(), "") << std::endl;
    if (o.ready_fd >= 0) report_ready(o.ready_fd, s->server->port());
}

Result<std::string> transfer_url(const config::Config& cfg, const UrlOptions& o) {
    if (auto parsed = TransferUri::parse(o.uri); !parsed) return parsed.error();
    ServeStartLock lock(cfg.bridge.state_dir);
    auto port = ServePortFile(cfg.bridge.state_dir).live_port();
    if (!port) {
        auto started = start_background_server(o.serve_args, cfg.bridge.state_dir + "/serve.log", o.wait);
        if (!started) return started.error();
        port = *started;
    }
    return serve_url(*port, o.uri);
}

int print_url(const config::Config& cfg, const UrlOptions& o) {
    auto url = transfer_url(cfg, o);
    if (!url) {
        std::cerr << "xpmn: " << url.error().text << "\n";
        return 1;
    }
    std::cout << *url << std::endl;
    return 0;
}

int play(const config::Config& cfg, const std::vector<std::string>& player, const UrlOptions& o) {
    auto url = transfer_url(cfg, o);
    if (!url) {
        std::cerr << "xpmn: " << url.error().text << "\n";
        return 1;
    }
    return run_player(player, *url);
}

}  // namespace xpmn::tools
