#include "bridge/profiles/playable_resolver.hpp"

#include <cctype>

#include "bridge/profiles/directory_profile.hpp"
#include "bridge/profiles/transfer_profile.hpp"
#include "xmpp/core/transfer_uri.hpp"

namespace xpmn::profiles {

namespace {

// The item's metadata from its media server when it can give it; the item plays without.
void with_metadata(const std::weak_ptr<MediaDirectory>& directory, const std::string& object, PlayableItem item,
                   PlayableCallback done) {
    auto dir = directory.lock();
    if (!dir) return done(std::move(item));
    dir->item_of(object, [item = std::move(item), done = std::move(done)](DirectoryResult meta) mutable {
        if (meta) item.metadata = std::move(meta).value();
        done(std::move(item));
    });
}

}  // namespace

std::optional<std::string> uri_scheme(std::string_view uri) {
    auto colon = uri.find(':');
    if (colon == 0 || colon == std::string_view::npos || !std::isalpha(static_cast<unsigned char>(uri[0])))
        return std::nullopt;
    std::string scheme;
    for (char c : uri.substr(0, colon)) {
        auto u = static_cast<unsigned char>(c);
        if (!std::isalnum(u) && c != '+' && c != '-' && c != '.') return std::nullopt;
        scheme += static_cast<char>(std::tolower(u));
    }
    return scheme;
}

BridgePlayables::BridgePlayables(config::PlayersSection config, std::shared_ptr<const bridge::AccessPolicy> access,
                                 std::shared_ptr<const MediaSources> sources, std::shared_ptr<RemoteItems> remote)
    : config_(config), access_(std::move(access)), sources_(std::move(sources)), remote_(std::move(remote)) {}

void BridgePlayables::now_playing(const std::string& player, const std::vector<std::string>& urls) {
    if (remote_) remote_->now_playing(player, urls);
}

void BridgePlayables::unused(const std::vector<std::string>& urls) {
    if (remote_) remote_->unused(urls);
}

void BridgePlayables::resolve_remote(const PlayableRequest& request, const TransferUri& uri, PlayableCallback done) {
    if (!remote_) return done(Error{"item-not-found", "playing items of devices of other bridges is not yet supported here"});
    // The bridge fetches with its own certificate: only its owners may make it do so.
    auto admitted = access_->admit(request.peer);
    if (!admitted || admitted.role != bridge::PeerRole::Owner)
        return done(Error{"forbidden", "only the bridge's owners may play items of other accounts' devices on it"});
    remote_->serve(uri, request.player, request.fetches_from, [done = std::move(done)](Result<std::string> url) {
        if (!url) return done(url.error());
        done(PlayableItem{std::move(url).value(), std::nullopt});
    });
}

void BridgePlayables::resolve(const PlayableRequest& request, PlayableCallback done) {
    auto scheme = uri_scheme(request.uri);
    if (!scheme) return done(Error{"bad-request", "'" + request.uri + "' is not a URI"});
    if (*scheme == "http" || *scheme == "https") {
        if (!config_.allow_http)
            return done(Error{"forbidden", "http(s) URIs are refused by this bridge ([players] allow_http = false)"});
        return done(PlayableItem{request.uri, std::nullopt});
    }
    if (*scheme == "xmpp") return resolve_transfer(request, std::move(done));
    done(Error{"bad-request", "a player opens xmpp: transfer URIs (and http(s) where allowed), not " + *scheme + ":"});
}

void BridgePlayables::resolve_transfer(const PlayableRequest& request, PlayableCallback done) {
    auto uri = TransferUri::parse(request.uri);
    if (!uri) return done(uri.error());
    if (uri->device.bare() != access_->home()) return resolve_remote(request, *uri, std::move(done));
    const std::string resource = uri->device.resource();
    auto source = sources_->find(resource);
    auto transfers = source ? source->transfers.lock() : nullptr;
    if (!transfers) return done(Error{"item-not-found", "no media server " + resource + " on this bridge"});
    auto object = transfers->object_of(uri->uid);
    if (!object) return done(Error{"item-not-found", "no such transfer uid on " + resource + " (browse first)"});
    // A friend's read grant on the server (or on a container above the item) is needed.
    bridge::AccessRequest need{resource, security::Permission::Read, *object};
    access_->decide(request.peer, need,
                    [directory = source->directory](const std::string& c, const std::string& g,
                                                    std::function<void(bool)> within) {
                        container_within(directory, c, g, std::move(within));
                    },
                    [weak = source->transfers, directory = source->directory, object = *object, uid = uri->uid,
                     resource, want_metadata = request.want_metadata, done = std::move(done)](std::optional<xml::Element> denied) {
                        if (denied) {
                            const auto* text = denied->child("text");
                            return done(Error{"forbidden", "no read grant on " + resource +
                                                               (text ? " (" + text->text() + ")" : std::string())});
                        }
                        auto t = weak.lock();
                        auto url = t ? t->lan_url(uid) : std::nullopt;
                        if (!url) return done(Error{"item-not-found", "the media server " + resource + " is gone"});
                        PlayableItem item{*url, std::nullopt};
                        if (!want_metadata) return done(std::move(item));
                        with_metadata(directory, object, std::move(item), std::move(done));
                    });
}

}  // namespace xpmn::profiles
