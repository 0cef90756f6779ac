// Finding and connecting to a domain's XMPP client service (RFC 6120 §3.2).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/net/srv_resolver.hpp"
#include "xmpp/net/tcp_stream.hpp"

namespace xpmn::net {

inline constexpr std::uint16_t kXmppClientPort = 5222;

// With a configured host: host:port, nothing else. Otherwise, for a domain
// name: the _xmpp-client._tcp SRV targets in RFC 2782 order, each in turn
// until one connects; without SRV records (or when the lookup fails, which is
// logged) domain:port. A lone SRV target "." means the domain offers no XMPP
// client service: an error, no fallback. A domain that is an IP address skips
// SRV. The handler is called once, unless cancel() came first; the connector
// keeps itself alive until then, so the returned pointer is only for cancel().
class XmppConnector : public std::enable_shared_from_this<XmppConnector> {
public:
    struct Options {
        std::optional<std::string> host;  // empty string counts as none
        std::uint16_t port = kXmppClientPort;  // for `host` and for the fallback
        std::optional<boost::asio::ip::udp::endpoint> nameserver;  // default: /etc/resolv.conf
        std::chrono::milliseconds dns_timeout = std::chrono::seconds(5);
    };

    static std::shared_ptr<XmppConnector> connect(boost::asio::io_context& io, std::string domain, Options options,
                                                  ConnectHandler handler);
    void cancel();

private:
    XmppConnector(boost::asio::io_context& io, std::string domain, Options options, ConnectHandler handler);
    void start();
    void on_srv(Result<std::vector<SrvTarget>> ordered);
    void try_next_target();
    void fallback(const std::string& srv_error);
    void finish(Result<std::shared_ptr<TcpStream>> stream);

    boost::asio::io_context& io_;
    std::string domain_;  // as given (for messages)
    std::string dns_domain_;  // A-labels, for DNS
    Options options_;
    ConnectHandler handler_;
    // Weak: the pending operations own them and, through their handlers, us.
    std::weak_ptr<SrvResolver> resolver_;
    std::weak_ptr<TcpConnector> tcp_;
    std::vector<SrvTarget> targets_;
    std::size_t next_ = 0;
    std::string target_errors_;
    bool cancelled_ = false;
};

inline std::shared_ptr<XmppConnector> connect_xmpp(boost::asio::io_context& io, std::string domain,
                                                   std::optional<std::string> host, std::uint16_t port,
                                                   ConnectHandler handler,
                                                   std::optional<boost::asio::ip::udp::endpoint> nameserver = {}) {
    return XmppConnector::connect(io, std::move(domain), {std::move(host), port, nameserver}, std::move(handler));
}

}  // namespace xpmn::net
