#include "bridge/oob_links.hpp"

namespace xpmn::bridge {

std::string OobLinks::key(const client::Peer& peer) { return peer.jid.str() + ' ' + peer.fingerprint; }

OobLinks::Token OobLinks::add(const client::Peer& peer, Send send, Abort abort) {
    Token token = next_++;
    links_[key(peer)] = Link{token, std::move(send), std::move(abort)};
    return token;
}

void OobLinks::remove(Token token) {
    for (auto it = links_.begin(); it != links_.end(); ++it)
        if (it->second.token == token) {
            links_.erase(it);
            return;
        }
}

const OobLinks::Link* OobLinks::find(const client::Peer& peer) const {
    if (!peer.end_to_end() || peer.fingerprint.empty()) return nullptr;
    auto it = links_.find(key(peer));
    return it == links_.end() ? nullptr : &it->second;
}

bool OobLinks::ready(const client::Peer& peer) const { return find(peer) != nullptr; }

std::optional<std::string> OobLinks::send(const client::Peer& peer, oob::SourcePtr source) const {
    const Link* link = find(peer);
    if (!link) return std::nullopt;
    std::string id = link->send(std::move(source));
    if (id.empty()) return std::nullopt;
    return id;
}

bool OobLinks::abort(const client::Peer& peer, const std::string& id) const {
    const Link* link = find(peer);
    if (!link) return false;
    if (link->abort) link->abort(id);
    return true;
}

}  // namespace xpmn::bridge
