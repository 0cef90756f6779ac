// A player's `open` (wire profile §7.1): resolves each URI of the request in
// order (the first refusal answers the whole request), hands the playlist to
// the player and answers with the first item's metadata (only that item's
// metadata is fetched: the answer shows no other).
//
// One deadline bounds the whole request (every resolution and the player's
// own open): when it passes, the answer is remote-server-timeout, well within
// §8's 10 s, however many URIs need NAS calls; what answers later is ignored.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "bridge/profiles/media_player.hpp"
#include "bridge/profiles/playable_resolver.hpp"

namespace xpmn::profiles {

// Below §8's 10 s so that the answer reaches the controller within it.
inline constexpr std::chrono::milliseconds kOpenDeadline{9000};

// The <item xmlns='urn:xmpp:media:metadata:0'/> an open answers with.
using OpenDone = std::function<void(Result<xml::Element>)>;

void open_playlist(boost::asio::io_context& io, const std::shared_ptr<MediaPlayer>& player,
                   const std::shared_ptr<PlayableResolver>& resolver, PlayableRequest request,
                   std::vector<std::string> uris, std::chrono::milliseconds deadline, OpenDone done);

}  // namespace xpmn::profiles
