// Reading what a player sends over D-Bus: org.mpris.MediaPlayer2.Player
// properties (a{sv}) into typed values. Players are loose with types
// (Position as t or x, a single artist as s instead of as): numbers of any
// D-Bus integer or double type are accepted, as are a string where a string
// list is expected; anything else for a property the profile needs is an
// Error (internal-server-error, the text names the property and the type),
// never an exception. Metadata entries of a wrong type are left out.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <sdbus-c++/Types.h>
#include <string>

#include "bridge/profiles/media_player.hpp"
#include "mappings/mpris/mpris_metadata.hpp"

namespace xpmn::mpris {

using PropertyMap = std::map<std::string, sdbus::Variant>;

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
