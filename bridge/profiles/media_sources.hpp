// The media servers of this bridge, by device resource: what a player's
// `open` of `xmpp:BARE/upnp-…?transfer;uid=…` looks up to hand the player
// the NAS's own URL (wire profile §7.1). Media-server adapters register
// their devices here as they add them; the core never names their kind.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace xpmn::profiles {

class MediaTransfers;
class MediaDirectory;

class MediaSources {
public:
    struct Source {
        std::weak_ptr<MediaTransfers> transfers;
        std::weak_ptr<MediaDirectory> directory;  // parents, for a friend's grant on a container
    };
    void add(const std::string& resource, Source source) { sources_[resource] = std::move(source); }
    void remove(const std::string& resource) { sources_.erase(resource); }
    std::optional<Source> find(const std::string& resource) const {
        auto it = sources_.find(resource);
        if (it == sources_.end()) return std::nullopt;
        return it->second;
    }

private:
    std::map<std::string, Source> sources_;
};

}  // namespace xpmn::profiles
