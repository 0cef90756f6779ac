// A player's `open` (wire profile §7.1): resolves each URI of the request in
// order (the first refusal answers the whole request), hands the playlist to
// the player and answers with the first item's metadata.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bridge/profiles/media_player.hpp"
#include "bridge/profiles/playable_resolver.hpp"

namespace xpmn::profiles {

// The <item xmlns='urn:xmpp:media:metadata:0'/> an open answers with.
using OpenDone = std::function<void(Result<xml::Element>)>;

void open_playlist(const std::shared_ptr<MediaPlayer>& player, const std::shared_ptr<PlayableResolver>& resolver,
                   PlayableRequest request, std::vector<std::string> uris, OpenDone done);

}  // namespace xpmn::profiles
