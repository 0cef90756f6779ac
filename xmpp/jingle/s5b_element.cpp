#include "xmpp/jingle/s5b_element.hpp"

#include <charconv>

#include "xmpp/core/jid.hpp"

namespace xpmn::jingle {

namespace {

Error bad(std::string text) { return Error{"bad-request", std::move(text)}; }

bool is_token(const std::string& s) {
    if (s.empty() || s.size() > kMaxS5bId) return false;
    for (unsigned char c : s)
        if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == '&' || c == '\'' || c == '"') return false;
    return true;
}

template <class N>
bool parse_number(const std::string& v, N& out) {
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return !v.empty() && ec == std::errc() && end == v.data() + v.size();
}

std::optional<S5bType> parse_type(const std::string& v) {
    if (v.empty() || v == "direct") return S5bType::Direct;  // XEP-0260: default 'direct'
    if (v == "assisted") return S5bType::Assisted;
    if (v == "tunnel") return S5bType::Tunnel;
    if (v == "proxy") return S5bType::Proxy;
    return std::nullopt;
}

const char* type_name(S5bType t) {
    switch (t) {
        case S5bType::Direct: return "direct";
        case S5bType::Assisted: return "assisted";
        case S5bType::Tunnel: return "tunnel";
        case S5bType::Proxy: return "proxy";
    }
    return "direct";
}

Result<S5bCandidate> parse_candidate(const xml::Element& e) {
    S5bCandidate c;
    c.cid = e.attr_or("cid");
    if (!is_token(c.cid)) return bad("a candidate needs a cid of 1 to 64 printable characters");
    c.host = e.attr_or("host");
    if (c.host.empty() || c.host.size() > kMaxS5bHost) return bad("candidate " + c.cid + ": bad host");
    for (unsigned char ch : c.host)
        if (ch <= 0x20 || ch >= 0x7F) return bad("candidate " + c.cid + ": bad host");
    c.jid = e.attr_or("jid");
    if (!Jid::parse(c.jid)) return bad("candidate " + c.cid + ": bad jid");
    unsigned port = 0;
    if (!parse_number(e.attr_or("port", "1080"), port) || port == 0 || port > 65535)
        return bad("candidate " + c.cid + ": bad port");
    c.port = static_cast<std::uint16_t>(port);
    if (!parse_number(e.attr_or("priority"), c.priority)) return bad("candidate " + c.cid + ": bad priority");
    auto type = parse_type(e.attr_or("type"));
    if (!type) return bad("candidate " + c.cid + ": unknown type");
    c.type = *type;
    return c;
}

}  // namespace

std::uint32_t type_preference(S5bType type) {
    switch (type) {
        case S5bType::Direct: return 126;
        case S5bType::Assisted: return 120;
        case S5bType::Tunnel: return 110;
        case S5bType::Proxy: return 10;
    }
    return 0;
}

std::uint32_t s5b_priority(S5bType type, std::uint16_t local_preference) {
    return (type_preference(type) << 16) + local_preference;
}

Result<S5bElement> parse_s5b(const xml::Element& t) {
    if (t.name() != "transport" || t.ns() != kS5bTransportNs) return bad("not an S5B transport");
    S5bElement out;
    out.sid = t.attr_or("sid");
    if (!is_token(out.sid)) return bad("the S5B transport needs a sid of 1 to 64 printable characters");
    std::string mode = t.attr_or("mode", "tcp");
    if (mode == "udp") return Error{"feature-not-implemented", "only mode='tcp' is supported"};
    if (mode != "tcp") return bad("unknown S5B mode");
    out.dstaddr = t.attr_or("dstaddr");
    if (out.dstaddr.size() > 2 * kMaxS5bId) return bad("dstaddr too long");
    auto children = t.elements();
    if (children.size() > kMaxS5bCandidates)
        return bad("more than " + std::to_string(kMaxS5bCandidates) + " candidates");
    bool notification = false;
    for (const auto* c : children) {
        if (c->ns() != kS5bTransportNs) continue;  // extensions of other namespaces are ignored
        if (c->name() == "candidate") {
            auto cand = parse_candidate(*c);
            if (!cand) return cand.error();
            for (const auto& other : out.candidates)
                if (other.cid == cand->cid) return bad("two candidates with cid " + cand->cid);
            out.candidates.push_back(std::move(*cand));
            continue;
        }
        if (notification) return bad("more than one S5B notification");
        notification = true;
        if (c->name() == "candidate-used" || c->name() == "activated") {
            out.kind = c->name() == "activated" ? S5bElement::Kind::Activated : S5bElement::Kind::CandidateUsed;
            out.cid = c->attr_or("cid");
            if (!is_token(out.cid)) return bad("<" + c->name() + "/> needs a cid");
        } else if (c->name() == "candidate-error") {
            out.kind = S5bElement::Kind::CandidateError;
        } else if (c->name() == "proxy-error") {
            out.kind = S5bElement::Kind::ProxyError;
        } else {
            return bad("unknown S5B element <" + c->name() + "/>");
        }
    }
    if (notification && !out.candidates.empty()) return bad("candidates and a notification in one transport");
    return out;
}

xml::Element make_s5b(const S5bElement& e) {
    xml::Element t("transport", kS5bTransportNs);
    t.set_attr("sid", e.sid);
    switch (e.kind) {
        case S5bElement::Kind::Candidates:
            t.set_attr("mode", "tcp");
            if (!e.dstaddr.empty()) t.set_attr("dstaddr", e.dstaddr);
            for (const auto& c : e.candidates) {
                auto& x = t.add("candidate", kS5bTransportNs);
                x.set_attr("cid", c.cid);
                x.set_attr("host", c.host);
                x.set_attr("jid", c.jid);
                x.set_attr("port", std::to_string(c.port));
                x.set_attr("priority", std::to_string(c.priority));
                x.set_attr("type", type_name(c.type));
            }
            break;
        case S5bElement::Kind::CandidateUsed: t.add("candidate-used", kS5bTransportNs).set_attr("cid", e.cid); break;
        case S5bElement::Kind::Activated: t.add("activated", kS5bTransportNs).set_attr("cid", e.cid); break;
        case S5bElement::Kind::CandidateError: t.add("candidate-error", kS5bTransportNs); break;
        case S5bElement::Kind::ProxyError: t.add("proxy-error", kS5bTransportNs); break;
    }
    return t;
}

}  // namespace xpmn::jingle
