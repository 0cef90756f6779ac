#include "xmpp/client/c2s_channel.hpp"

#include <utility>

namespace xpmn::client {

std::shared_ptr<C2sChannel> C2sChannel::create(std::shared_ptr<C2sSession> session) {
    std::shared_ptr<C2sChannel> channel(new C2sChannel(std::move(session)));
    Jid account = channel->session_->jid().bare();
    channel->presence_ = channel->router().on_presence(
        [weak = std::weak_ptr<C2sChannel>(channel), account](const xml::Element& p) {
            auto self = weak.lock();
            if (!self || p.attr_or("type") != "unavailable") return;
            if (auto peer = Peer::routed_by_server(p, account)) self->peer_gone(*peer);
        });
    return channel;
}

C2sChannel::~C2sChannel() { closing(); }

std::string C2sChannel::describe() const { return "c2s " + session_->tag(); }

void C2sChannel::closing() {
    if (presence_) session_->router().remove_listener(std::exchange(presence_, 0));
}

}  // namespace xpmn::client
