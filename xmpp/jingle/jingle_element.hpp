// The <jingle/> element of XEP-0166 as data: parse what a peer sent, build
// what we send. Description, transport and security children stay
// xml::Elements: the application, transport method and security layer that
// own their namespaces read them (the core only routes by namespace).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xmpp/core/jid.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::jingle {

inline constexpr const char* kNs = "urn:xmpp:jingle:1";
inline constexpr const char* kErrorsNs = "urn:xmpp:jingle:errors:1";

enum class Action {
    ContentAccept, ContentAdd, ContentModify, ContentReject, ContentRemove,
    DescriptionInfo, SecurityInfo, SessionAccept, SessionInfo, SessionInitiate,
    SessionTerminate, TransportAccept, TransportInfo, TransportReject, TransportReplace,
};
std::string_view action_name(Action action);
std::optional<Action> parse_action(std::string_view name);

enum class Creator { Initiator, Responder };
enum class Senders { Both, Initiator, Responder, None };

struct Content {
    Creator creator = Creator::Initiator;
    std::string name;
    Senders senders = Senders::Both;
    std::optional<xml::Element> description;
    std::optional<xml::Element> transport;
    std::optional<xml::Element> security;
};

// <reason><CONDITION/><text>…</text>[detail]</reason>
struct Reason {
    std::string condition = "success";  // success, decline, security-error, timeout, gone, …
    std::string text;
    std::optional<xml::Element> detail;  // a child in another namespace, if any
};

// Contents one <jingle/> may carry: XPMN sessions have one, XEP-0166 allows
// a few; the cap keeps a hostile 256 KiB stanza from costing quadratic time.
inline constexpr std::size_t kMaxContents = 16;

struct Jingle {
    Action action = Action::SessionInfo;
    std::string sid;
    std::optional<Jid> initiator;  // informative only: the router's Peer is who sent it
    std::optional<Jid> responder;
    std::vector<Content> contents;
    std::optional<Reason> reason;
    std::vector<xml::Element> payloads;  // other children (session-info payloads, …)

    std::string description_ns() const;
};

// The first content's description namespace ("" when none): what an
// application registers for.
std::string description_ns(const std::vector<Content>& contents);

// bad-request Error for a malformed element (unknown action, no sid, a bad
// content attribute, a reason without a condition).
Result<Jingle> parse_jingle(const xml::Element& jingle);
xml::Element make_jingle(const Jingle& jingle);

// <error> with the RFC 6120 condition, the Jingle-specific one and a text,
// e.g. jingle_error("item-not-found", "unknown-session", "…").
xml::Element jingle_error(std::string_view condition, std::string_view jingle_condition, std::string_view text);

}  // namespace xpmn::jingle

namespace xpmn::jingle {
// A fresh random session id (Jingle sid, IBB sid): 24 lowercase hex digits
// from the system's CSPRNG, an NMTOKEN as XEP-0166/XEP-0047 ask.
std::string random_sid();
}  // namespace xpmn::jingle
