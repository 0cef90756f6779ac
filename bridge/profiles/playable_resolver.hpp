// What a player's `open` may play (wire profile §7.1, issue 10): each <uri>
// of the request becomes a PlayableItem the player can fetch itself, or an
// error for the whole request.
//   * `xmpp:BARE/upnp-…?transfer;uid=…` of a media server of this bridge →
//     the NAS's own LAN URL (with its metadata when known and wanted); a friend needs a
//     read grant on that server (covering the item's container).
//   * `xmpp:` URIs of any other device → item-not-found, not yet supported
//     (fetching them through an OOB session comes later).
//   * `http:` / `https:` → forbidden unless `[players] allow_http = true`:
//     otherwise a friend could make a player fetch any LAN address.
//   * `file:` and every other scheme → bad-request.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "bridge/access_policy.hpp"
#include "bridge/profiles/media_player.hpp"
#include "bridge/profiles/media_sources.hpp"
#include "config/config.hpp"
#include "xmpp/client/peer.hpp"

namespace xpmn::profiles {

struct PlayableRequest {
    std::string uri;
    std::string player;  // the player device's resource ("mpris-vlc")
    client::Peer peer;   // who asks (grants)
    std::optional<std::string> fetches_from;  // MediaPlayer::fetches_from()
    // Whether the item's metadata is wanted (a NAS call); `open` asks for the
    // first item's only, the one its answer shows.
    bool want_metadata = true;
};

using PlayableCallback = std::function<void(Result<PlayableItem>)>;

class PlayableResolver {
public:
    virtual ~PlayableResolver() = default;
    // Answers once, possibly later.
    virtual void resolve(const PlayableRequest& request, PlayableCallback done) = 0;
};

// The rules above, for the daemon to share among its player adapters.
class BridgePlayables : public PlayableResolver {
public:
    BridgePlayables(config::PlayersSection config, std::shared_ptr<const bridge::AccessPolicy> access,
                    std::shared_ptr<const MediaSources> sources);
    void resolve(const PlayableRequest& request, PlayableCallback done) override;

private:
    void resolve_transfer(const PlayableRequest& request, PlayableCallback done);

    config::PlayersSection config_;
    std::shared_ptr<const bridge::AccessPolicy> access_;
    std::shared_ptr<const MediaSources> sources_;
};

// The URI's scheme, lowercased; nullopt when it has none.
std::optional<std::string> uri_scheme(std::string_view uri);

}  // namespace xpmn::profiles
