#include "xmpp/client/stream_management.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

namespace xpmn::client {

std::size_t StreamManagement::new_session() {
    active_ = false;
    id_.clear();
    inbound_ = 0;
    acked_ = 0;
    std::size_t n = unacked_.size();
    for (auto& s : unacked_) resend_.push_back(std::move(s));
    unacked_.clear();
    return n;
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

std::size_t StreamManagement::resume_failed(std::optional<std::uint32_t> h) {
    // An impossible h here only means nothing more is known to be handled.
    if (h) acknowledge(*h);
    std::size_t n = unacked_.size();
    disable();
    for (auto& s : unacked_) resend_.push_back(std::move(s));
    unacked_.clear();
    return n;
}

std::deque<xml::Element> StreamManagement::take_resend() {
    std::deque<xml::Element> out;
    out.swap(resend_);
    return out;
}

std::size_t StreamManagement::forget() {
    std::size_t n = unacked_.size();
    unacked_.clear();
    disable();
    return n;
}

std::optional<std::uint32_t> parse_sm_h(const std::string& text) {
    std::uint32_t h = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), h);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return h;
}

std::string lying_h_error(const std::string& tag, const std::string& where, const std::string& h,
                          StreamManagement& sm) {
    std::size_t dropped = sm.forget();
    spdlog::error("[{}] stream management: the server's h={} in {} acknowledges more than the {} stanza(s) it had "
                  "not yet acknowledged; they are dropped, not resent (it may have handled them), and the session "
                  "is not resumed",
                  tag, h, where, dropped);
    return "h in " + where + " acknowledges more stanzas than were sent";
}

}  // namespace xpmn::client
