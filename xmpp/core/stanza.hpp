// Helpers for building stanzas and RFC 6120 §8.3 stanza errors.
#pragma once

#include <string>
#include <string_view>

#include "xmpp/xml/element.hpp"

namespace xpmn::stanza {

bool is_stanza(const xml::Element& e);  // iq, message or presence in jabber:client

xml::Element iq(std::string_view type, std::string_view to = {}, std::string_view id = {});

// The error type RFC 6120 §8.3.3 recommends for a condition.
std::string_view default_error_type(std::string_view condition);

// A generic text for a condition, used when the caller has none.
std::string_view default_error_text(std::string_view condition);

// <error type=…><condition/><text>…</text>[extra]</error>; the <text/> is
// always there (the condition's default text when `text` is empty).
xml::Element error_element(std::string_view condition, std::string_view text = {}, std::string_view type = {});

// A reply to `request` (iq/message/presence) of type error carrying `error`;
// to/from swapped, same id.
xml::Element error_reply(const xml::Element& request, xml::Element error);
xml::Element error_reply(const xml::Element& request, std::string_view condition, std::string_view text = {});

// An IQ result to `request`, optionally with a payload.
xml::Element result_reply(const xml::Element& request);
xml::Element result_reply(const xml::Element& request, xml::Element payload);

// The defined condition of an error stanza/element ("" when absent) and its text.
std::string error_condition(const xml::Element& stanza_or_error);
std::string error_text(const xml::Element& stanza_or_error);

}  // namespace xpmn::stanza
