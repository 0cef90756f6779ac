// The SOCKS5 proxies of our own server, for S5B proxy candidates (XEP-0065
// §4): disco#items on the server's domain, disco#info of each item looking
// for the identity proxy/bytestreams, then the bytestreams <query/> for its
// streamhost (jid, host, port). The result is kept for the life of the
// object (one per router); the whole discovery is bounded by `timeout`: a
// server or item that does not answer in time is left out, and the
// transfer goes on with what was found (possibly no proxy at all).
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/client/stanza_router.hpp"
#include "xmpp/jingle/s5b_transport.hpp"

namespace xpmn::jingle {

// Items of the server looked at (a server lists a handful of components).
inline constexpr std::size_t kMaxDiscoItems = 32;

class S5bProxies : public std::enable_shared_from_this<S5bProxies> {
public:
    using Handler = std::function<void(const std::vector<S5bStreamhost>&)>;

    static std::shared_ptr<S5bProxies> create(boost::asio::io_context& io, client::StanzaRouter& router,
                                              std::string server_domain,
                                              std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
    // Calls `done` from the event loop with the proxies: the first call
    // discovers them, calls during it wait for the same answer, later calls
    // get the kept result.
    void get(Handler done);
    // Forgets the kept result (e.g. after a reconnection); the next get() asks again.
    void forget() { found_.reset(); }

private:
    S5bProxies(boost::asio::io_context& io, client::StanzaRouter& router, std::string domain,
               std::chrono::milliseconds timeout);
    void discover();
    void ask(xml::Element iq, std::function<void(const client::IqResponse&)> then);
    void on_items(const client::IqResponse& r);
    void on_info(const std::string& jid, const client::IqResponse& r);
    void on_streamhost(const client::IqResponse& r);
    void finish();

    boost::asio::io_context& io_;
    client::StanzaRouter& router_;
    std::string domain_;
    std::chrono::milliseconds timeout_;
    boost::asio::steady_timer timer_;
    std::optional<std::vector<S5bStreamhost>> found_;
    std::vector<S5bStreamhost> gathering_;
    std::vector<Handler> waiting_;
    std::size_t outstanding_ = 0;  // requests of this round not answered yet
    std::uint64_t round_ = 0;      // answers of an abandoned round are ignored
    bool running_ = false;
};

}  // namespace xpmn::jingle
