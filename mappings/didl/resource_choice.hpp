// Which <res> of a DIDL-Lite item the bridge offers for transfer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xpmn::mappings {

struct ResourceCandidate {
    std::string url;
    std::string protocol;   // 1st protocolInfo field, e.g. "http-get"
    std::string mime_type;  // 3rd protocolInfo field
    bool converted = false; // DLNA.ORG_CI=1 in the 4th field: a transcode
    std::optional<std::uint64_t> size;
};

// Index of the best candidate, nullopt when none is fetchable over HTTP.
// Rules, in order: only http(s) URLs (never file:// or Rygel's "internal:"
// resources); a MIME type matching the item class (audio/video/image) beats
// one that does not (thumbnails and playlists share the item); the original
// beats a transcode; http-get beats other protocols; a larger size beats a
// smaller or unknown one; otherwise the first in document order.
std::optional<std::size_t> best_resource(const std::vector<ResourceCandidate>& candidates,
                                         const std::string& media_class);

}  // namespace xpmn::mappings
