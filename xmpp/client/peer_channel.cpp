#include "xmpp/client/peer_channel.hpp"

namespace xpmn::client {

void PeerChannel::on_closed(CloseListener listener) {
    if (closed_) return listener();
    close_listeners_.push_back(std::move(listener));
}

void PeerChannel::close() {
    if (closed_) return;
    closed_ = true;
    auto keep = weak_from_this().lock();  // listeners may drop the last owner
    closing();
    peer_gone_listeners_.clear();
    auto listeners = std::move(close_listeners_);
    close_listeners_.clear();
    for (auto& l : listeners) l();
}

void PeerChannel::peer_gone(const Peer& peer) {
    if (closed_) return;
    // Copied: a listener may add listeners while it runs.
    auto listeners = peer_gone_listeners_;
    for (auto& l : listeners) l(peer);
}

}  // namespace xpmn::client
