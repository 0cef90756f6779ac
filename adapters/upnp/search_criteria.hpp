// UPnP ContentDirectory SearchCriteria (CDS:1 §2.5.5) → a Directory profile
// <search/> (wire profile §5), for another bridge's server shown on the LAN.
// The profile's search is an AND of case-insensitive substring terms
// (title, artist, album, genre, creator) and an item class, so only
// criteria of that form are taken:
//   dc:title | upnp:artist | upnp:album | upnp:genre | dc:creator  contains "…"
//   upnp:class derivedfrom "object.item…" | upnp:class = "<a class the export writes>"
//   PROPERTY exists true|false (for properties every item has or none has)
// joined by `and`, with parentheses. Anything else — `or`, other operators
// or properties, container classes, `*` (no criterion at all) — is
// unsupported: UPnP error 708 for the control point.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::upnp {

// The condition of the errors below: CDS error 708 for the control point.
inline constexpr const char* kCriteriaError = "unsupported-search-criteria";

// The <search/> for `criteria` in `container`; Error{kCriteriaError, why}
// when the criteria cannot be expressed (or are malformed).
Result<xml::Element> search_request(std::string_view criteria, const std::string& container, std::uint32_t start,
                                    std::uint32_t max);

}  // namespace xpmn::upnp
