#include "xmpp/core/stanza.hpp"

#include "xmpp/core/namespaces.hpp"

namespace xpmn::stanza {

bool is_stanza(const xml::Element& e) {
    return e.ns() == ns::client && (e.name() == "iq" || e.name() == "message" || e.name() == "presence");
}

xml::Element iq(std::string_view type, std::string_view to, std::string_view id) {
    xml::Element e("iq", ns::client);
    e.set_attr("type", type);
    if (!to.empty()) e.set_attr("to", to);
    if (!id.empty()) e.set_attr("id", id);
    return e;
}

std::string_view default_error_type(std::string_view c) {
    if (c == "not-authorized" || c == "forbidden" || c == "registration-required" ||
        c == "subscription-required")
        return "auth";
    if (c == "internal-server-error" || c == "resource-constraint" || c == "remote-server-timeout" ||
        c == "recipient-unavailable")
        return "wait";
    if (c == "item-not-found" || c == "service-unavailable" || c == "feature-not-implemented" ||
        c == "remote-server-not-found" || c == "undefined-condition" || c == "not-allowed")
        return "cancel";
    return "modify";  // bad-request, not-acceptable, jid-malformed, unexpected-request, policy-violation…
}

std::string_view default_error_text(std::string_view c) {
    if (c == "bad-request") return "the request is malformed";
    if (c == "service-unavailable") return "this entity offers no such service";
    if (c == "feature-not-implemented") return "not implemented here";
    if (c == "item-not-found") return "no such item";
    if (c == "internal-server-error") return "the request failed inside the bridge";
    if (c == "remote-server-timeout") return "no answer in time";
    if (c == "remote-server-not-found") return "the remote entity cannot be reached";
    if (c == "not-authorized" || c == "forbidden") return "not allowed for this sender";
    if (c == "resource-constraint") return "a limit of the bridge is reached";
    return "the request failed";
}

xml::Element error_element(std::string_view condition, std::string_view text, std::string_view type) {
    xml::Element err("error", ns::client);
    err.set_attr("type", type.empty() ? default_error_type(condition) : type);
    err.add(std::string(condition), ns::stanzas);
    // Wire profile §8: every error carries a <text/>.
    err.add("text", ns::stanzas).add_text(text.empty() ? default_error_text(condition) : text);
    return err;
}

static xml::Element reply_frame(const xml::Element& request, std::string_view type) {
    xml::Element r(request.name(), ns::client);
    r.set_attr("type", type);
    if (auto from = request.attr("from")) r.set_attr("to", *from);
    if (auto to = request.attr("to")) r.set_attr("from", *to);
    if (auto id = request.attr("id")) r.set_attr("id", *id);
    return r;
}

xml::Element error_reply(const xml::Element& request, xml::Element error) {
    xml::Element r = reply_frame(request, "error");
    r.add_child(std::move(error));
    return r;
}

xml::Element error_reply(const xml::Element& request, std::string_view condition, std::string_view text) {
    return error_reply(request, error_element(condition, text));
}

xml::Element result_reply(const xml::Element& request) { return reply_frame(request, "result"); }

xml::Element result_reply(const xml::Element& request, xml::Element payload) {
    xml::Element r = reply_frame(request, "result");
    r.add_child(std::move(payload));
    return r;
}

static const xml::Element* error_of(const xml::Element& e) {
    if (e.name() == "error") return &e;
    return e.child("error", ns::client);
}

std::string error_condition(const xml::Element& e) {
    if (const auto* err = error_of(e))
        for (const auto* c : err->elements())
            if (c->ns() == ns::stanzas && c->name() != "text") return c->name();
    return {};
}

std::string error_text(const xml::Element& e) {
    if (const auto* err = error_of(e)) return err->child_text("text", ns::stanzas);
    return {};
}

}  // namespace xpmn::stanza
