// What a player's `open` may play (wire profile §7.1, issue 10): each <uri>
// of the request becomes a PlayableItem the player can fetch itself, or an
// error for the whole request.
//   * `xmpp:BARE/upnp-…?transfer;uid=…` of a media server of this bridge →
//     the NAS's own LAN URL (with its metadata when known and wanted); a friend needs a
//     read grant on that server (covering the item's container).
//   * `xmpp:` URIs of a device of another account → for an owner: fetched by
//     this bridge through an OOB session and served by RemoteItems with Range
//     on a URL whose path is a random token — for a local player (MPRIS) on
//     loopback; for a UPnP renderer on the bridge's address on the network
//     the renderer was found on, answering only the renderer's own address
//     (others get 403). A friend → forbidden (this bridge's trust elsewhere
//     is not lent to friends). Other devices of the home account that are
//     not media servers of this bridge → item-not-found.
//   * `http:` / `https:` → forbidden unless `[players] allow_http = true`:
//     otherwise a friend could make a player fetch any LAN address.
//   * `file:` and every other scheme → bad-request.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/access_policy.hpp"
#include "bridge/profiles/media_player.hpp"
#include "bridge/profiles/media_sources.hpp"
#include "bridge/profiles/remote_items.hpp"
#include "config/config.hpp"
#include "xmpp/client/peer.hpp"

namespace xpmn::profiles {

struct PlayableRequest {
    std::string uri;
    std::string player;  // the player device's resource ("mpris-vlc")
    client::Peer peer;   // who asks (grants)
    std::optional<LanAddresses> fetches_from;  // MediaPlayer::fetches_from()
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
    // The player's open succeeded: it plays these URLs (what was resolved
    // for its earlier opens may go).
    virtual void now_playing(const std::string& player, const std::vector<std::string>& urls) {}
    // These resolved URLs were never handed to the player (its open failed).
    virtual void unused(const std::vector<std::string>& urls) {}
};

// The rules above, for the daemon to share among its player adapters.
class BridgePlayables : public PlayableResolver {
public:
    // `remote`: how items of other accounts' devices are played (none: item-not-found).
    BridgePlayables(config::PlayersSection config, std::shared_ptr<const bridge::AccessPolicy> access,
                    std::shared_ptr<const MediaSources> sources, std::shared_ptr<RemoteItems> remote = nullptr);
    void resolve(const PlayableRequest& request, PlayableCallback done) override;
    void now_playing(const std::string& player, const std::vector<std::string>& urls) override;
    void unused(const std::vector<std::string>& urls) override;

private:
    void resolve_transfer(const PlayableRequest& request, PlayableCallback done);
    void resolve_remote(const PlayableRequest& request, const TransferUri& uri, PlayableCallback done);

    config::PlayersSection config_;
    std::shared_ptr<const bridge::AccessPolicy> access_;
    std::shared_ptr<const MediaSources> sources_;
    std::shared_ptr<RemoteItems> remote_;
};

// The URI's scheme, lowercased; nullopt when it has none.
std::optional<std::string> uri_scheme(std::string_view uri);

}  // namespace xpmn::profiles
