// MediaObject → the wire profile §5 <item/> / <container/> element
// (urn:xmpp:media:metadata:0). LAN URLs go into the TransferTable; the
// element carries only xmpp: transfer URIs.
#pragma once

#include <string>
#include <string_view>

#include "mappings/didl/didl_parser.hpp"
#include "mappings/didl/transfer_table.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::mappings {

inline constexpr const char* kMetadataNs = ns::media_metadata;

// Children in the profile example's order: class, title, artist, album,
// genre, track-number, release-date | date, then creator and description
// (optional in the profile; creator only when it differs from artist, which
// already falls back to it), duration, size, mime-type, resolution, bitrate,
// cover-album, uri. A container carries title and, when known, cover-album.
// `include_ids` false leaves out id/parent (search results).
xml::Element to_metadata(const MediaObject& object, TransferTable& transfers, std::string_view device_full_jid,
                         bool include_ids = true);

// RFC 3986: everything but unreserved characters (A-Z a-z 0-9 - . _ ~) as
// %XX (upper-case hex), bytewise over UTF-8.
std::string percent_encode(std::string_view s);

// xmpp:FULLJID?transfer;uid=UID (RFC 5122 query). The JID keeps '@' and '/',
// everything else outside the unreserved set is percent-encoded too.
std::string transfer_uri(std::string_view device_full_jid, std::string_view uid);

// Shortest decimal that reads back as the same double, never in exponent
// form: 830.5, 12, 3.552.
std::string format_seconds(double seconds);

}  // namespace xpmn::mappings
