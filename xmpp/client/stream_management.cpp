#include "xmpp/client/stream_management.hpp"

namespace xpmn::client {

void StreamManagement::reset_counters() {
    active_ = false;
    inbound_ = 0;
    acked_ = 0;
}

void StreamManagement::enabled(std::string id, bool resumable) {
    active_ = true;
    id_ = resumable ? std::move(id) : std::string();
}

void StreamManagement::disable() {
    active_ = false;
    id_.clear();
}

void StreamManagement::sent(const xml::Element& stanza) {
    if (active_) unacked_.push_back(stanza);
}

bool StreamManagement::acknowledge(std::uint32_t h) {
    // Counters wrap at 2^32 (XEP-0198 §4); unsigned subtraction handles it.
    std::uint32_t newly = h - acked_;
    if (newly > unacked_.size()) return false;
    for (std::uint32_t i = 0; i < newly; ++i) unacked_.pop_front();
    acked_ = h;
    return true;
}

std::deque<xml::Element> StreamManagement::take_unacked() {
    std::deque<xml::Element> out;
    out.swap(unacked_);
    return out;
}

}  // namespace xpmn::client
