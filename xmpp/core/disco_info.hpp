// Service discovery information (XEP-0030 disco#info, with XEP-0128 extended
// forms) and the XEP-0115 entity capabilities hash computed over it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "xmpp/xml/element.hpp"

namespace xpmn::disco {

struct Identity {
    std::string category, type, lang, name;  // lang and name optional (empty)
    friend bool operator==(const Identity&, const Identity&) = default;
};

struct Info {
    std::vector<Identity> identities;
    std::vector<std::string> features;
    std::vector<xml::Element> forms;  // <x xmlns='jabber:x:data' type='result'> elements (XEP-0128)
};

// <query xmlns='http://jabber.org/protocol/disco#info' [node=...]> with
// identities, features, then forms, in the order given.
xml::Element to_element(const Info& info, std::string_view node = {});

// Reads a disco#info <query/>. Unknown children are ignored. Throws
// std::invalid_argument if it is not a disco#info query, or an identity lacks
// category or type, or a feature lacks var (XEP-0030 requires them).
Info from_element(const xml::Element& query);

// The XEP-0115 §5.1 verification string input S (before hashing).
// Throws std::invalid_argument if the info is ill-formed per §5.4: duplicate
// identity or feature, two forms with the same FORM_TYPE, or a FORM_TYPE with
// differing values. Forms without a hidden FORM_TYPE field are left out.
std::string caps_string(const Info& info);

// The 'ver' attribute: base64(SHA-1(caps_string(info))). Throws as caps_string.
std::string caps_ver(const Info& info);

// <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node=... ver=.../>
xml::Element caps_element(const Info& info, std::string_view node);

}  // namespace xpmn::disco
