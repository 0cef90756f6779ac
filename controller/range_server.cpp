// RangeServer: loopback (or one LAN address) HTTP with Range over pulled sources (see header).
#include "controller/range_server.hpp"

#include <libsoup/soup.h>

#include <set>
#include <stdexcept>
#include <utility>

#include "bridge/relay/gobject_ref.hpp"

namespace xpmn::controller {

using relay::ByteSpan;
using relay::RangeSpec;

namespace {

// A Host header without its port ("[::1]" keeps its brackets).
std::string host_name(const char* host_header) {
    if (!host_header) return "";
    std::string host = host_header;
    if (!host.empty() && host.front() == '[') {
        const auto end = host.find(']');
        host = end == std::string::npos ? "" : host.substr(0, end + 1);
    } else if (const auto colon = host.find(':'); colon != std::string::npos) {
        host.resize(colon);
    }
    return host;
}

bool loopback_host(const std::string& host) {
    return host == "127.0.0.1" || host == "[::1]" || g_ascii_strcasecmp(host.c_str(), "localhost") == 0;
}

// An address as it stands in a URL's authority (IPv6 in brackets).
std::string url_host(const std::string& address) {
    return address.find(':') == std::string::npos ? address : "[" + address + "]";
}

void text_response(SoupServerMessage* msg, unsigned status, const std::string& text) {
    soup_server_message_set_status(msg, status, nullptr);
    soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text.data(), text.size());
}

}  // namespace

// One request from the player, from its headers to its last byte.
struct Exchange {
    SoupServerMessage* msg;  // owned by the server until "finished"
    std::string uri;
    bool head = false;
    std::optional<RangeSpec> range;  // as the player asked, suffix included
    oob::SourcePtr source;
    std::uint64_t size = 0, sent = 0;
    bool reading = false;
    bool body_started = false;
    bool done = false;  // body complete (or aborted): nothing more to pull
    bool finished = false;  // the server is done with msg
};
using ExchangePtr = std::shared_ptr<Exchange>;
using WeakExchange = std::weak_ptr<Exchange>;

struct RangeServer::Impl : std::enable_shared_from_this<Impl> {
    Opener opener;
    std::optional<LanBinding> lan;
    SoupServer* server = nullptr;
    std::uint16_t port = 0;
    std::set<ExchangePtr> exchanges;

    ~Impl() {
        for (const auto& ex : exchanges)
            if (ex->source) ex->source->cancel();
        if (server) {
            soup_server_disconnect(server);
            g_object_unref(server);
        }
    }

    void listen(std::uint16_t wanted) {
        server = soup_server_new("server-header", "xpmn", nullptr);
        soup_server_add_handler(server, nullptr, handle, this, nullptr);
        GError* error = nullptr;
        auto bind = [&](GInetAddress* address, std::uint16_t p) {
            relay::GRef<GSocketAddress> addr(g_inet_socket_address_new(address, p));
            return soup_server_listen(server, addr.get(), SoupServerListenOptions(0), &error) != FALSE;
        };
        relay::GRef<GInetAddress> first(lan ? g_inet_address_new_from_string(lan->address.c_str())
                                            : g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4));
        const std::string where = url_host(lan ? lan->address : "127.0.0.1") + ":" + std::to_string(wanted);
        if (!first) throw std::runtime_error("cannot listen on " + where + ": not an IP address");
        if (!bind(first.get(), wanted)) {
            std::string what = error->message;
            g_error_free(error);
            throw std::runtime_error("cannot listen on " + where + ": " + what);
        }
        GSList* uris = soup_server_get_uris(server);
        port = static_cast<std::uint16_t>(g_uri_get_port(static_cast<GUri*>(uris->data)));
        g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
        if (lan) return;  // that address only
        relay::GRef<GInetAddress> lo6(g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV6));
        if (!bind(lo6.get(), port)) g_clear_error(&error);  // no IPv6 loopback: IPv4 serves
    }

    // Whether the request may be served: the right Host, and on a LAN
    // address the admitted peer. An error text when not.
    std::optional<std::string> refusal(SoupServerMessage* msg, const std::string& uri) const {
        const auto host = host_name(soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Host"));
        if (!lan) {
            if (loopback_host(host)) return std::nullopt;
            return "only loopback names are served\n";
        }
        if (host != url_host(lan->address)) return "only " + url_host(lan->address) + " is served\n";
        const char* peer = soup_server_message_get_remote_host(msg);
        if (!peer || !lan->admits(uri, peer)) return "not served to this address\n";
        return std::nullopt;
    }

    static void handle(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer data) {
        static_cast<Impl*>(data)->accept(msg, path);
    }

    void accept(SoupServerMessage* msg, const char* path) {
        SoupMessageHeaders* req = soup_server_message_get_request_headers(msg);
        // The URI is the whole path, which libsoup has percent-decoded once
        // already; a '?' the player did not encode still belongs to it.
        auto ex = std::make_shared<Exchange>();
        ex->uri = path && *path ? path + 1 : "";
        if (const char* query = g_uri_get_query(soup_server_message_get_uri(msg))) ex->uri += std::string("?") + query;
        if (auto refused = refusal(msg, ex->uri)) return text_response(msg, SOUP_STATUS_FORBIDDEN, *refused);
        const std::string method = soup_server_message_get_method(msg);
        if (method != "GET" && method != "HEAD") {
            soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", "GET, HEAD");
            return text_response(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "GET or HEAD only\n");
        }
        if (exchanges.size() >= kMaxExchanges)
            return text_response(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "too many requests at once\n");
        if (ex->uri.empty()) return text_response(msg, SOUP_STATUS_NOT_FOUND, "no URI in the path\n");
        ex->msg = msg;
        ex->head = method == "HEAD";
        if (const char* range = soup_message_headers_get_one(req, "Range")) {
            auto parsed = relay::parse_range(range);
            if (parsed) ex->range = *parsed;  // an invalid Range is ignored (RFC 9110 §14.2)
        }
        exchanges.insert(ex);
        connect(msg, "finished", G_CALLBACK(on_finished), ex);
        soup_server_message_pause(msg);
        if (ex->range && ex->range->suffix)
            with_total(ex, [this](const ExchangePtr& ex, std::uint64_t total) {
                auto span = relay::resolve_range(*ex->range, total);
                if (!span) return unsatisfiable(ex, total);
                ex->range = RangeSpec::from_to(span->first, span->last);
                open(ex);
            });
        else
            open(ex);
    }

    // A message signal whose handler gets (server, exchange) while both live.
    using Refs = std::pair<std::weak_ptr<Impl>, WeakExchange>;
    void connect(SoupServerMessage* msg, const char* signal, GCallback handler, const ExchangePtr& ex) {
        g_signal_connect_data(msg, signal, handler, new Refs(weak_from_this(), ex),
                              [](gpointer d, GClosure*) { delete static_cast<Refs*>(d); }, GConnectFlags(0));
    }

    static void on_finished(SoupServerMessage*, gpointer data) {
        auto* refs = static_cast<Refs*>(data);
        auto self = refs->first.lock();
        auto ex = refs->second.lock();
        if (!self || !ex) return;
        ex->finished = true;
        if (ex->source) ex->source->cancel();  // the player left: stop the transfer
        ex->source.reset();
        self->exchanges.erase(ex);
    }

    // Runs `then` once the exchange is still wanted after an opener call.
    template <class Then>
    void call_opener(const ExchangePtr& ex, std::optional<RangeSpec> range, Then then) {
        opener(ex->uri, range, [weak_self = weak_from_this(), weak_ex = WeakExchange(ex), then](Result<ServedBody> r) {
            auto self = weak_self.lock();
            auto ex = weak_ex.lock();
            if (!self || !ex || ex->finished) {
                if (r && r->source) r->source->cancel();
                return;
            }
            then(ex, std::move(r));
        });
    }

    // Learns the resource's length by opening all of it and cancelling.
    template <class Then>
    void with_total(const ExchangePtr& ex, Then then) {
        call_opener(ex, std::nullopt, [this, then](const ExchangePtr& ex, Result<ServedBody> r) {
            if (!r) return fail(ex, r.error());
            if (r->source) r->source->cancel();
            then(ex, r->total);
        });
    }

    void open(const ExchangePtr& ex) {
        call_opener(ex, ex->range, [this](const ExchangePtr& ex, Result<ServedBody> r) {
            if (!r && r.error().condition == relay::kRangeNotSatisfiable)
                return with_total(ex, [this](const ExchangePtr& ex, std::uint64_t total) { unsatisfiable(ex, total); });
            if (!r) return fail(ex, r.error());
            respond(ex, std::move(r.value()));
        });
    }

    void unsatisfiable(const ExchangePtr& ex, std::uint64_t total) {
        soup_message_headers_replace(soup_server_message_get_response_headers(ex->msg), "Content-Range",
                                     relay::format_unsatisfied_range(total).c_str());
        text_response(ex->msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, "range not satisfiable\n");
        soup_server_message_unpause(ex->msg);
    }

    void fail(const ExchangePtr& ex, const Error& error) {
        const unsigned status = error.condition == "item-not-found" ? SOUP_STATUS_NOT_FOUND : SOUP_STATUS_BAD_GATEWAY;
        text_response(ex->msg, status, error.describe() + "\n");
        soup_server_message_unpause(ex->msg);
    }

    void respond(const ExchangePtr& ex, ServedBody body) {
        if (ex->range && body.size == 0) {
            if (body.source) body.source->cancel();
            return unsatisfiable(ex, body.total);
        }
        SoupMessageHeaders* resp = soup_server_message_get_response_headers(ex->msg);
        soup_message_headers_replace(resp, "Accept-Ranges", "bytes");
        soup_message_headers_set_content_type(resp, body.type.empty() ? "application/octet-stream" : body.type.c_str(),
                                              nullptr);
        soup_message_headers_set_content_length(resp, static_cast<goffset>(body.size));
        if (ex->range) {
            const ByteSpan span{ex->range->first, ex->range->first + body.size - 1};
            soup_message_headers_replace(resp, "Content-Range", relay::format_content_range(span, body.total).c_str());
            soup_server_message_set_status(ex->msg, SOUP_STATUS_PARTIAL_CONTENT, nullptr);
        } else {
            soup_server_message_set_status(ex->msg, SOUP_STATUS_OK, nullptr);
        }
        SoupMessageBody* out = soup_server_message_get_response_body(ex->msg);
        if (ex->head || !body.source) {
            if (body.source) body.source->cancel();
            ex->done = true;
            soup_message_body_complete(out);
            soup_server_message_unpause(ex->msg);
            return;
        }
        soup_message_body_set_accumulate(out, FALSE);  // written chunks are freed
        ex->size = body.size;
        ex->source = std::move(body.source);
        connect(ex->msg, "wrote-chunk", G_CALLBACK(on_wrote_chunk), ex);
        soup_server_message_unpause(ex->msg);  // the headers go out now
        pull(ex);
    }

    static void on_wrote_chunk(SoupServerMessage*, gpointer data) {
        auto* refs = static_cast<Refs*>(data);
        auto self = refs->first.lock();
        auto ex = refs->second.lock();
        if (self && ex) self->pull(ex);
    }

    // Asks the source for the next chunk: only once the previous one has
    // been written, so at most one chunk is held per player.
    void pull(const ExchangePtr& ex) {
        if (ex->reading || ex->done || ex->finished || !ex->source) return;
        ex->reading = true;
        ex->source->read(kChunk, [weak_self = weak_from_this(), weak_ex = WeakExchange(ex)](Result<std::string> r) {
            auto self = weak_self.lock();
            auto ex = weak_ex.lock();
            if (!self || !ex || ex->finished) return;
            ex->reading = false;
            self->deliver(ex, std::move(r));
        });
    }

    void deliver(const ExchangePtr& ex, Result<std::string> r) {
        SoupMessageBody* out = soup_server_message_get_response_body(ex->msg);
        if (r && !r->empty() && r->size() <= ex->size - ex->sent) {
            ex->sent += r->size();
            GBytes* bytes = g_bytes_new(r->data(), r->size());
            soup_message_body_append_bytes(out, bytes);
            g_bytes_unref(bytes);
            soup_server_message_unpause(ex->msg);
            // All announced bytes are out: libsoup ends the message once they
            // are written, so ask for the source's end now (no data).
            if (ex->sent == ex->size) pull(ex);
            return;
        }
        ex->done = true;
        ex->source.reset();
        if (!r || ex->sent != ex->size) {
            // Ended short, failed or overran: the announced length cannot be
            // kept, so the player must see a cut connection, not an end.
            g_socket_shutdown(soup_server_message_get_socket(ex->msg), TRUE, TRUE, nullptr);
        }
        soup_message_body_complete(out);
        soup_server_message_unpause(ex->msg);
    }
};

RangeServer::RangeServer(Opener opener, std::uint16_t port) : impl_(std::make_shared<Impl>()) {
    impl_->opener = std::move(opener);
    impl_->listen(port);
}

RangeServer::RangeServer(Opener opener, LanBinding lan, std::uint16_t port) : impl_(std::make_shared<Impl>()) {
    if (!lan.admits) throw std::invalid_argument("a LAN range server needs its admission rule");
    impl_->opener = std::move(opener);
    impl_->lan = std::move(lan);
    impl_->listen(port);
}

RangeServer::~RangeServer() = default;

std::uint16_t RangeServer::port() const { return impl_->port; }

std::string RangeServer::url_for(const std::string& uri) const {
    char* escaped = g_uri_escape_string(uri.c_str(), nullptr, FALSE);
    std::string url = "http://" + url_host(impl_->lan ? impl_->lan->address : "127.0.0.1") + ":" +
                      std::to_string(impl_->port) + "/" + escaped;
    g_free(escaped);
    return url;
}

}  // namespace xpmn::controller
