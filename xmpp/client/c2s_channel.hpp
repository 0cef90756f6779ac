// The peer channel of one c2s session: every peer the server routes to this
// resource. The peer of a stanza is its `from` as the server stamped it
// (Peer::Proof::C2s, never end-to-end); unavailable presence says a peer left.
// One channel lasts one XMPP session: a resumed stream keeps it, a new
// session (the old one ended on the server, peers saw us go offline) needs a
// new channel (DeviceHost makes it).
#pragma once

#include <memory>

#include "xmpp/client/c2s_session.hpp"
#include "xmpp/client/peer_channel.hpp"

namespace xpmn::client {

class C2sChannel : public PeerChannel {
public:
    static std::shared_ptr<C2sChannel> create(std::shared_ptr<C2sSession> session);
    ~C2sChannel() override;

    StanzaRouter& router() override { return session_->router(); }
    void send(xml::Element stanza) override { session_->send(std::move(stanza)); }
    std::optional<Peer> peer() const override { return std::nullopt; }
    std::string describe() const override;

private:
    explicit C2sChannel(std::shared_ptr<C2sSession> session) : session_(std::move(session)) {}
    void closing() override;

    std::shared_ptr<C2sSession> session_;
    StanzaRouter::ListenerId presence_ = 0;
};

}  // namespace xpmn::client
