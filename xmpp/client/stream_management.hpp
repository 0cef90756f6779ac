// XEP-0198 bookkeeping for one logical session: counts handled inbound
// stanzas, keeps sent stanzas until the server acknowledges them, and hands
// back the unacknowledged ones for resending after a resume or, when the
// session could not be resumed, in the next one. Shared by the negotiation
// (enable/resume) and the online session (acks).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "xmpp/xml/element.hpp"

namespace xpmn::client {

class StreamManagement {
public:
    // A new server session (after bind): counters restart, nothing is
    // enabled. Stanzas the old session never acknowledged move to the resend
    // list (take_resend()); returns how many.
    std::size_t new_session();
    void enabled(std::string id, bool resumable);
    void disable();  // no SM on this stream: forget the id

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

    // The server refused to resume: what it acknowledged (h, when it said)
    // is done; the rest moves to the resend list. Returns how many.
    std::size_t resume_failed(std::optional<std::uint32_t> h);
    // Stanzas of a lost session, to send again in the next one.
    std::deque<xml::Element> take_resend();
    // The server's counters contradict ours (an impossible h): nothing it
    // says about this session can be trusted, so it is not resumed and its
    // unacknowledged stanzas are neither resent (they may have been handled)
    // nor kept. Returns how many were dropped.
    std::size_t forget();

    // Inbound.
    void received() { ++inbound_; }
    std::uint32_t inbound() const { return inbound_; }

private:
    bool active_ = false;
    std::string id_;
    std::uint32_t inbound_ = 0;
    std::uint32_t acked_ = 0;  // server's last h
    std::deque<xml::Element> unacked_;
    std::deque<xml::Element> resend_;
};

// The server's h in <a/>, <resumed/> or <failed/>: an unsigned 32-bit decimal.
std::optional<std::uint32_t> parse_sm_h(const std::string& text);

// The server's h in `where` acknowledges more than was sent (or is no
// number): forgets the session (StreamManagement::forget), logs what is
// dropped, and returns the reason for the stream error and the log.
std::string lying_h_error(const std::string& tag, const std::string& where, const std::string& h,
                          StreamManagement& sm);

}  // namespace xpmn::client
