// An in-process peer channel for unit tests: its own router, one peer (or,
// like c2s, the routed sender when none is given), and what it sends kept in
// `sent`. Requests are fed with deliver().
#pragma once

#include <boost/asio/io_context.hpp>

#include <optional>
#include <vector>

#include "xmpp/client/peer_channel.hpp"

namespace xpmn::fakes {

class FakeChannel : public client::PeerChannel {
public:
    static std::shared_ptr<FakeChannel> create(boost::asio::io_context& io, std::optional<client::Peer> peer) {
        return std::shared_ptr<FakeChannel>(new FakeChannel(io, std::move(peer)));
    }

    client::StanzaRouter& router() override { return router_; }
    void send(xml::Element stanza) override {
        if (!closed()) sent.push_back(std::move(stanza));
    }
    std::optional<client::Peer> peer() const override { return peer_; }
    std::string describe() const override { return "fake channel"; }

    void deliver(const xml::Element& stanza) { router_.dispatch(stanza); }
    void leave(const client::Peer& peer) { peer_gone(peer); }

    std::vector<xml::Element> sent;

private:
    FakeChannel(boost::asio::io_context& io, std::optional<client::Peer> peer) : router_(io), peer_(std::move(peer)) {
        router_.set_account("home@example.org", "example.org");
        router_.set_sender([this](xml::Element e) { send(std::move(e)); });
        if (peer_) router_.set_peer_resolver([p = *peer_](const xml::Element&) { return p; });
    }

    client::StanzaRouter router_;
    std::optional<client::Peer> peer_;
};

inline client::Peer c2s_peer(const char* jid) { return client::Peer{Jid::must_parse(jid), client::Peer::Proof::C2s, {}}; }

}  // namespace xpmn::fakes
