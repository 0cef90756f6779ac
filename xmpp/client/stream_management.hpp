// XEP-0198 bookkeeping for one logical session: counts handled inbound
// stanzas, keeps sent stanzas until the server acknowledges them, and hands
// back the unacknowledged ones for resending after a resume or reconnect.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "xmpp/xml/element.hpp"

namespace xpmn::client {

class StreamManagement {
public:
    // A new server session (after bind): counters restart, nothing is enabled.
    void reset_counters();
    void enabled(std::string id, bool resumable);
    void disable();  // resumption refused or no SM: forget the id

    bool active() const { return active_; }
    bool resumable() const { return !id_.empty(); }
    const std::string& id() const { return id_; }

    // Outbound: every stanza sent while active is kept until acked.
    void sent(const xml::Element& stanza);
    // The server's h: how many of our stanzas it has handled. Returns false
    // when h is impossible (acks more than was sent).
    bool acknowledge(std::uint32_t h);
    std::size_t unacked_count() const { return unacked_.size(); }
    std::deque<xml::Element> take_unacked();

    // Inbound.
    void received() { ++inbound_; }
    std::uint32_t inbound() const { return inbound_; }

private:
    bool active_ = false;
    std::string id_;
    std::uint32_t inbound_ = 0;
    std::uint32_t acked_ = 0;  // server's last h
    std::deque<xml::Element> unacked_;
};

}  // namespace xpmn::client
