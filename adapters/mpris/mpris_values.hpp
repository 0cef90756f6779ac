// Reading what a player sends over D-Bus: org.mpris.MediaPlayer2.Player
// properties (a{sv}) into typed values. Players are loose with types
// (Position as t or x, a single artist as s instead of as): numbers of any
// D-Bus integer or double type are accepted, as are a string where a string
// list is expected; anything else for a property the profile needs is an
// Error (internal-server-error, the text names the property and the type),
// never an exception. Metadata entries of a wrong type are left out.
//
// Size limits (a player is a local program, but not a trusted one: it must
// not make the bridge build huge stanzas): text the wire shows as text — the
// Identity, xesam:title, xesam:album, each artist and genre — is cut to its
// limit on a UTF-8 boundary; a URL or track id over its limit is dropped
// (a cut URL would name something else); lists keep their first entries.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <sdbus-c++/Types.h>
#include <string>
#include <string_view>

#include "bridge/profiles/media_player.hpp"
#include "mappings/mpris/mpris_metadata.hpp"

namespace xpmn::mpris {

using PropertyMap = std::map<std::string, sdbus::Variant>;

inline constexpr std::size_t kMaxIdentityBytes = 256;
inline constexpr std::size_t kMaxMetadataTextBytes = 1024;  // title, album, one artist, one genre
inline constexpr std::size_t kMaxMetadataUrlBytes = 4096;   // xesam:url, mpris:artUrl, mpris:trackid
inline constexpr std::size_t kMaxMetadataListEntries = 32;  // artists, genres

// The Identity as the device's name: cut to kMaxIdentityBytes.
std::string player_identity(std::string_view identity);

// A number of any D-Bus numeric type; nullopt when absent; Error when it is not a number.
Result<std::optional<double>> number_property(const PropertyMap& props, const std::string& name);

// The cover-album URI to put on the wire for a non-http mpris:artUrl
// (CoverArt::announce); nullopt or empty: none.
using CoverUri = std::function<std::optional<std::string>(const std::string& art_url)>;

// The player's state and current item from GetAll(org.mpris.MediaPlayer2.Player).
Result<profiles::PlayerStatus> read_status(const PropertyMap& props, const CoverUri& cover = {});
Result<profiles::PlayerControls> read_controls(const PropertyMap& props);

// Metadata (a{sv}) → the mapping's input; bad entries are skipped.
mappings::MprisMetadata read_metadata(const PropertyMap& metadata);
// The Metadata property of `props`, empty when absent; Error when not a{sv}.
Result<mappings::MprisMetadata> metadata_property(const PropertyMap& props);

}  // namespace xpmn::mpris
