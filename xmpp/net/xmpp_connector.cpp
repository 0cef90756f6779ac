#include "xmpp/net/xmpp_connector.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>
#include <idn2.h>
#include <spdlog/spdlog.h>

namespace xpmn::net {

namespace asio = boost::asio;

namespace {

// JID domains are kept as U-labels (RFC 7622); DNS wants A-labels. A name that
// does not convert is passed on as it is and fails in the lookup.
std::string to_dns_name(const std::string& domain) {
    if (std::all_of(domain.begin(), domain.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
        return domain;
    uint8_t* alabels = nullptr;
    int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(domain.c_str()), &alabels,
                            IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    std::unique_ptr<uint8_t, void (*)(void*)> owner(alabels, idn2_free);
    if (rc != IDN2_OK || !alabels) return domain;
    return reinterpret_cast<const char*>(alabels);
}

// "192.0.2.1" or "[2001:db8::1]" (RFC 7622 IP-literal): no SRV lookup.
std::optional<std::string> address_literal(const std::string& domain) {
    std::string inner = domain.size() > 2 && domain.front() == '[' && domain.back() == ']'
                            ? domain.substr(1, domain.size() - 2)
                            : domain;
    boost::system::error_code ec;
    asio::ip::make_address(inner, ec);
    if (ec) return std::nullopt;
    return inner;
}

}  // namespace

std::shared_ptr<XmppConnector> XmppConnector::connect(asio::io_context& io, std::string domain, Options options,
                                                      ConnectHandler handler) {
    auto c = std::shared_ptr<XmppConnector>(
        new XmppConnector(io, std::move(domain), std::move(options), std::move(handler)));
    c->start();
    return c;
}

XmppConnector::XmppConnector(asio::io_context& io, std::string domain, Options options, ConnectHandler handler)
    : io_(io), domain_(std::move(domain)), options_(std::move(options)), handler_(std::move(handler)) {
    if (options_.host && options_.host->empty()) options_.host.reset();
    dns_domain_ = to_dns_name(domain_);
}

void XmppConnector::start() {
    // Neither a configured host nor an address needs SRV; TcpConnector calls
    // back asynchronously, so this never calls the handler from connect().
    std::optional<std::string> direct = options_.host ? options_.host : address_literal(domain_);
    if (direct) {
        tcp_ = TcpConnector::connect(io_, *direct, options_.port,
                                     [self = shared_from_this()](Result<std::shared_ptr<TcpStream>> s) {
                                         if (!self->cancelled_) self->finish(std::move(s));
                                     });
        return;
    }
    resolver_ = SrvResolver::lookup(
        io_, "_xmpp-client._tcp." + dns_domain_,
        [self = shared_from_this()](Result<std::vector<SrvTarget>> ordered) {
            if (!self->cancelled_) self->on_srv(std::move(ordered));
        },
        options_.nameserver, options_.dns_timeout);
}

void XmppConnector::on_srv(Result<std::vector<SrvTarget>> found) {
    if (!found) {
        const std::string& error = found.error().text;
        spdlog::warn("SRV lookup for {} failed: {}; trying {}:{}", domain_, error, dns_domain_, options_.port);
        fallback(error);
        return;
    }
    std::vector<SrvTarget> ordered = std::move(found).value();
    if (ordered.empty()) {
        spdlog::debug("no SRV record for {}; trying {}:{}", domain_, dns_domain_, options_.port);
        fallback({});
        return;
    }
    // RFC 2782: a single record with target "." says "not here", decidedly.
    if (ordered.size() == 1 && ordered.front().host == ".") {
        finish(Error{"remote-server-not-found", "xmpp service not offered for " + domain_ + " (SRV target '.')"});
        return;
    }
    std::erase_if(ordered, [](const SrvTarget& t) { return t.host == "."; });
    targets_ = std::move(ordered);
    try_next_target();
}

void XmppConnector::try_next_target() {
    if (next_ >= targets_.size()) {
        // RFC 6120 §3.2.1: the SRV records are the service's word; no fallback.
        finish(Error{"remote-server-not-found",
                     "cannot connect to any SRV target of " + domain_ + ": " + target_errors_});
        return;
    }
    const SrvTarget& t = targets_[next_++];
    spdlog::debug("{}: trying SRV target {}:{}", domain_, t.host, t.port);
    tcp_ = TcpConnector::connect(io_, t.host, t.port,
                                 [self = shared_from_this(), where = t.host + ":" + std::to_string(t.port)](
                                     Result<std::shared_ptr<TcpStream>> s) {
                                     if (self->cancelled_) return;
                                     if (s) {
                                         self->finish(std::move(s));
                                         return;
                                     }
                                     const std::string& e = s.error().text;
                                     spdlog::debug("{}: SRV target {}: {}", self->domain_, where, e);
                                     if (!self->target_errors_.empty()) self->target_errors_ += "; ";
                                     self->target_errors_ += where + ": " + e;
                                     self->try_next_target();
                                 });
}

void XmppConnector::fallback(const std::string& srv_error) {
    tcp_ = TcpConnector::connect(io_, dns_domain_, options_.port,
                                 [self = shared_from_this(), srv_error](Result<std::shared_ptr<TcpStream>> s) {
                                     if (self->cancelled_) return;
                                     if (!s && !srv_error.empty())
                                         return self->finish(Error{s.error().condition, s.error().text +
                                                                                            " (SRV lookup: " +
                                                                                            srv_error + ")"});
                                     self->finish(std::move(s));
                                 });
}

void XmppConnector::finish(Result<std::shared_ptr<TcpStream>> stream) {
    auto h = std::move(handler_);
    handler_ = nullptr;
    if (h) h(std::move(stream));
}

void XmppConnector::cancel() {
    cancelled_ = true;
    handler_ = nullptr;
    if (auto r = resolver_.lock()) r->cancel();
    if (auto t = tcp_.lock()) t->cancel();
}

}  // namespace xpmn::net
