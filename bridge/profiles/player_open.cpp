#include "bridge/profiles/player_open.hpp"

#include "xmpp/core/namespaces.hpp"

namespace xpmn::profiles {

namespace {

class OpenRun : public std::enable_shared_from_this<OpenRun> {
public:
    OpenRun(std::weak_ptr<MediaPlayer> player, std::shared_ptr<PlayableResolver> resolver, PlayableRequest request,
            std::vector<std::string> uris, OpenDone done)
        : player_(std::move(player)),
          resolver_(std::move(resolver)),
          request_(std::move(request)),
          uris_(std::move(uris)),
          done_(std::move(done)) {}

    void next() {
        if (items_.size() == uris_.size()) return open();
        request_.uri = uris_[items_.size()];
        resolver_->resolve(request_, [self = shared_from_this()](Result<PlayableItem> item) {
            if (!item) return self->refused(item.error());
            item->source = self->uris_[self->items_.size()];
            self->items_.push_back(std::move(item).value());
            self->next();
        });
    }

private:
    // The request is refused: what was resolved for it is not played.
    void refused(Error e) {
        std::vector<std::string> urls;
        for (const auto& item : items_) urls.push_back(item.url);
        if (!urls.empty()) resolver_->unused(urls);
        done_(std::move(e));
    }

    void open() {
        auto player = player_.lock();
        if (!player) return refused(Error{"service-unavailable", "the player is gone"});
        // What the answer says: the resolver's metadata, or at least the URI as
        // the controller gave it (a resolved URL is never put on the wire).
        xml::Element first("item", ns::media_metadata);
        if (items_.front().metadata)
            first = *items_.front().metadata;
        else
            first.add_text_child("uri", uris_.front(), ns::media_metadata);
        std::vector<std::string> urls;
        for (const auto& item : items_) urls.push_back(item.url);
        player->open(std::move(items_), [done = std::move(done_), first = std::move(first), urls,
                                         resolver = resolver_, player = request_.player](Result<void> r) {
            if (!r) {
                resolver->unused(urls);
                return done(r.error());
            }
            resolver->now_playing(player, urls);
            done(first);
        });
    }

    std::weak_ptr<MediaPlayer> player_;
    std::shared_ptr<PlayableResolver> resolver_;
    PlayableRequest request_;
    std::vector<std::string> uris_;
    std::vector<PlayableItem> items_;
    OpenDone done_;
};

}  // namespace

void open_playlist(const std::shared_ptr<MediaPlayer>& player, const std::shared_ptr<PlayableResolver>& resolver,
                   PlayableRequest request, std::vector<std::string> uris, OpenDone done) {
    request.fetches_from = player->fetches_from();
    std::make_shared<OpenRun>(player, resolver, std::move(request), std::move(uris), std::move(done))->next();
}

}  // namespace xpmn::profiles
