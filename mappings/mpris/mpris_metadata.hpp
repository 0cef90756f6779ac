// MPRIS track metadata (xesam:* / mpris:*, already read from D-Bus by the
// adapter) → the wire profile §5 <item xmlns='urn:xmpp:media:metadata:0'>,
// written like the Directory mapping's items (mappings/didl/metadata_xml).
//
// URLs on the wire: only http(s) URLs pass through (cover-album from
// mpris:artUrl, uri from xesam:url). A file:// URL (a local path of the
// bridge's host) or any other scheme is left out; the adapter may instead
// give a cover-album URI of its own (a file:// cover art made a transfer uid
// of the player device, adapters/mpris/cover_art), so no path is on the wire.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "xmpp/xml/element.hpp"

namespace xpmn::mappings {

struct MprisMetadata {
    std::string track_id;  // mpris:trackid (for SetPosition; not on the wire)
    std::string title;     // xesam:title
    std::vector<std::string> artists;  // xesam:artist
    std::string album;                 // xesam:album
    std::vector<std::string> genres;   // xesam:genre
    std::optional<double> length_s;    // mpris:length (µs on D-Bus)
    std::string art_url;               // mpris:artUrl
    std::string url;                   // xesam:url
};

// True for http:// and https:// URLs (scheme case-insensitive).
bool is_http_url(const std::string& url);

// The local path of a file:// URL (file:///p or file://localhost/p, %-escapes
// decoded): absolute, no NUL. nullopt for anything else (another host, a
// relative or malformed URL, another scheme).
std::optional<std::string> local_file_path(const std::string& url);

// The <item/>: class (other: MPRIS does not say), title, artist, album and
// genre (several values joined with ", "), duration, cover-album (the http(s)
// art URL, else `cover_uri` when not empty), uri.
xml::Element to_metadata_item(const MprisMetadata& metadata, const std::string& cover_uri = {});

}  // namespace xpmn::mappings
