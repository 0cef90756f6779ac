#include "xmpp/jingle/jingle_element.hpp"

#include <array>
#include <utility>

#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/random_hex.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::jingle {

namespace {

constexpr std::array<std::pair<Action, std::string_view>, 15> kActions{{
    {Action::ContentAccept, "content-accept"},     {Action::ContentAdd, "content-add"},
    {Action::ContentModify, "content-modify"},     {Action::ContentReject, "content-reject"},
    {Action::ContentRemove, "content-remove"},     {Action::DescriptionInfo, "description-info"},
    {Action::SecurityInfo, "security-info"},       {Action::SessionAccept, "session-accept"},
    {Action::SessionInfo, "session-info"},         {Action::SessionInitiate, "session-initiate"},
    {Action::SessionTerminate, "session-terminate"}, {Action::TransportAccept, "transport-accept"},
    {Action::TransportInfo, "transport-info"},     {Action::TransportReject, "transport-reject"},
    {Action::TransportReplace, "transport-replace"},
}};

Error bad(std::string text) { return Error{"bad-request", std::move(text)}; }

std::optional<Jid> jid_attr(const xml::Element& e, std::string_view name, bool& malformed) {
    auto v = e.attr(name);
    if (!v) return std::nullopt;
    auto jid = Jid::parse(*v);
    if (!jid) malformed = true;
    return jid;
}

Result<Content> parse_content(const xml::Element& c) {
    Content content;
    std::string creator = c.attr_or("creator", "initiator");
    if (creator == "initiator") content.creator = Creator::Initiator;
    else if (creator == "responder") content.creator = Creator::Responder;
    else return bad("unknown content creator '" + creator + "'");
    content.name = c.attr_or("name");
    if (content.name.empty()) return bad("a <content/> needs a name");
    std::string senders = c.attr_or("senders", "both");
    if (senders == "both") content.senders = Senders::Both;
    else if (senders == "initiator") content.senders = Senders::Initiator;
    else if (senders == "responder") content.senders = Senders::Responder;
    else if (senders == "none") content.senders = Senders::None;
    else return bad("unknown content senders '" + senders + "'");
    for (const auto* child : c.elements()) {
        std::optional<xml::Element>* slot = nullptr;
        if (child->name() == "description") slot = &content.description;
        else if (child->name() == "transport") slot = &content.transport;
        else if (child->name() == "security") slot = &content.security;
        if (!slot) continue;  // unknown children are ignored (extensibility)
        if (*slot) return bad("content '" + content.name + "' has two <" + child->name() + "/> elements");
        *slot = *child;
    }
    return content;
}

Result<Reason> parse_reason(const xml::Element& r) {
    Reason reason;
    reason.condition.clear();
    for (const auto* child : r.elements()) {
        if (child->ns() != kNs) {
            if (!reason.detail) reason.detail = *child;
        } else if (child->name() == "text") {
            reason.text = child->text();
        } else if (reason.condition.empty()) {
            reason.condition = child->name();
        }
    }
    if (reason.condition.empty()) return bad("a <reason/> needs a condition element");
    return reason;
}

const char* creator_name(Creator c) { return c == Creator::Initiator ? "initiator" : "responder"; }

const char* senders_name(Senders s) {
    switch (s) {
        case Senders::Initiator: return "initiator";
        case Senders::Responder: return "responder";
        case Senders::None: return "none";
        case Senders::Both: break;
    }
    return "both";
}

}  // namespace

std::string_view action_name(Action action) {
    for (const auto& [a, name] : kActions)
        if (a == action) return name;
    return "session-info";
}

std::optional<Action> parse_action(std::string_view name) {
    for (const auto& [a, n] : kActions)
        if (n == name) return a;
    return std::nullopt;
}

std::string description_ns(const std::vector<Content>& contents) {
    for (const auto& c : contents)
        if (c.description) return c.description->ns();
    return {};
}

std::string Jingle::description_ns() const { return jingle::description_ns(contents); }

Result<Jingle> parse_jingle(const xml::Element& e) {
    if (e.name() != "jingle" || e.ns() != kNs) return bad("not a <jingle xmlns='" + std::string(kNs) + "'/>");
    Jingle j;
    std::string action = e.attr_or("action");
    auto a = parse_action(action);
    if (!a) return bad(action.empty() ? "<jingle/> without an action" : "unknown Jingle action '" + action + "'");
    j.action = *a;
    j.sid = e.attr_or("sid");
    if (j.sid.empty()) return bad("<jingle/> without a sid");
    bool malformed = false;
    j.initiator = jid_attr(e, "initiator", malformed);
    j.responder = jid_attr(e, "responder", malformed);
    if (malformed) return bad("the initiator or responder attribute is not a JID");
    for (const auto* child : e.elements()) {
        if (child->ns() == kNs && child->name() == "content") {
            if (j.contents.size() == kMaxContents)
                return bad("more than " + std::to_string(kMaxContents) + " contents in one <jingle/>");
            auto c = parse_content(*child);
            if (!c) return c.error();
            for (const auto& other : j.contents)
                if (other.name == c->name && other.creator == c->creator)
                    return bad("two contents named '" + c->name + "'");
            j.contents.push_back(std::move(*c));
        } else if (child->ns() == kNs && child->name() == "reason") {
            auto r = parse_reason(*child);
            if (!r) return r.error();
            j.reason = std::move(*r);
        } else {
            j.payloads.push_back(*child);
        }
    }
    return j;
}

xml::Element make_jingle(const Jingle& j) {
    xml::Element e("jingle", kNs);
    e.set_attr("action", action_name(j.action));
    if (j.initiator) e.set_attr("initiator", j.initiator->str());
    if (j.responder) e.set_attr("responder", j.responder->str());
    e.set_attr("sid", j.sid);
    for (const auto& c : j.contents) {
        auto& ce = e.add("content");
        ce.set_attr("creator", creator_name(c.creator));
        ce.set_attr("name", c.name);
        if (c.senders != Senders::Both) ce.set_attr("senders", senders_name(c.senders));
        if (c.description) ce.add_child(*c.description);
        if (c.transport) ce.add_child(*c.transport);
        if (c.security) ce.add_child(*c.security);
    }
    if (j.reason) {
        auto& r = e.add("reason");
        r.add(j.reason->condition);
        if (!j.reason->text.empty()) r.add_text_child("text", j.reason->text);
        if (j.reason->detail) r.add_child(*j.reason->detail);
    }
    for (const auto& p : j.payloads) e.add_child(p);
    return e;
}

xml::Element jingle_error(std::string_view condition, std::string_view jingle_condition, std::string_view text) {
    auto err = stanza::error_element(condition, text);
    err.add(std::string(jingle_condition), kErrorsNs);
    return err;
}

std::string random_sid() { return random_hex(12); }

}  // namespace xpmn::jingle
