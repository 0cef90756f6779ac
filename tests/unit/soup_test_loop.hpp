// Shared by the libsoup tests (NAS relay, range server): one io_context
// driving a private GMainContext (as in the daemon), a bounded run-until,
// a loopback SoupServer helper and a Source reader.
#pragma once

#include <gtest/gtest.h>
#include <libsoup/soup.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "bridge/loop/glib_integration.hpp"
#include "xmpp/oob/source.hpp"

namespace soup_test {

using namespace std::chrono_literals;

// Constructed before any libsoup object so they attach to its context.
struct Loop {
    boost::asio::io_context io;
    std::optional<xpmn::loop::GlibIntegration> glib{std::in_place, io};

    // Runs the loop until `done` holds; false if it did not within `limit`
    // (a guard against hanging, not a speed assertion).
    bool run_until(const std::function<bool()>& done, std::chrono::seconds limit = 30s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            io.run_one_for(50ms);
        }
        return true;
    }
    void run_for(std::chrono::milliseconds d) {
        const auto end = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < end) io.run_one_until(end);
    }
};

// A SoupServer listening on 127.0.0.1, any free port.
inline SoupServer* loopback_server(int* port) {
    SoupServer* server = soup_server_new(nullptr, nullptr);
    GInetAddress* lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress* addr = g_inet_socket_address_new(lo, 0);
    GError* error = nullptr;
    const gboolean ok = soup_server_listen(server, addr, SoupServerListenOptions(0), &error);
    g_object_unref(addr);
    g_object_unref(lo);
    if (!ok) {
        ADD_FAILURE() << "listen: " << error->message;
        g_error_free(error);
        return server;
    }
    GSList* uris = soup_server_get_uris(server);
    *port = g_uri_get_port(static_cast<GUri*>(uris->data));
    g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
    return server;
}

// Reads a Source to its end (or error), `piece` bytes per read.
struct Drain {
    std::string data;
    std::optional<xpmn::Error> error;
    bool ended = false;
    int reads = 0;

    void start(xpmn::oob::Source& source, std::size_t piece = 65536) {
        ++reads;
        source.read(piece, [this, &source, piece](xpmn::Result<std::string> r) {
            if (!r) {
                error = r.error();
                ended = true;
            } else if (r->empty()) {
                ended = true;
            } else {
                data += *r;
                start(source, piece);
            }
        });
    }
};

}  // namespace soup_test
