// DIDL-Lite (the Result of a ContentDirectory Browse/Search) → MediaObjects,
// through gupnp-av's GUPnPDIDLLiteParser. The input comes from a LAN server
// the bridge does not trust: every limit is explicit, invalid values are
// left out with a warning, and nothing in the document can make the parser
// load external resources or expand entities.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xmpp/core/result.hpp"

namespace xpmn::mappings {

struct MediaObject {
    bool is_container = false;
    std::string id, parent_id, title, upnp_class;
    std::optional<std::uint32_t> child_count;  // containers
    std::string cls;                           // audio|video|image|other for items, empty for containers
    std::string artist, album, genre, creator, description;
    // dc:date goes to exactly one of these. release_date (the day part, no
    // time) when the object is a music track or music album or the date is a
    // bare year — there dc:date is the release; otherwise date (verbatim).
    std::string date, release_date;
    std::optional<int> track_number;
    // From the chosen <res> only, so the values describe the offered file.
    std::optional<double> duration_s;
    std::optional<std::uint64_t> size;
    std::string mime_type, resolution;
    std::optional<std::uint64_t> bitrate_bps;
    std::string res_url;        // chosen <res> (LAN URL: never put on the wire)
    std::string album_art_url;  // first fetchable upnp:albumArtURI (idem)
};

struct DidlDocument {
    std::vector<MediaObject> objects;  // document order
    std::vector<std::string> warnings; // what was left out or cut, and why
};

struct DidlLimits {
    std::size_t max_document_bytes = 8 * 1024 * 1024;  // larger → error
    std::size_t max_objects = 5000;                    // more → the rest dropped, warning
    std::size_t max_id_bytes = 1024;                   // longer id → object dropped (cannot be browsed anyway)
    std::size_t max_value_bytes = 8192;                // longer text → cut; longer URL → left out
    std::size_t max_warnings = 100;                    // then one "suppressed" line
};

// An Error (undefined-condition, the text says why) when the input is not
// usable DIDL-Lite at all.
Result<DidlDocument> parse_didl(std::string_view xml, const DidlLimits& limits = {});

}  // namespace xpmn::mappings
