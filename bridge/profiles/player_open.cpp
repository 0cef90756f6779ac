#include "bridge/profiles/player_open.hpp"

#include <boost/asio/steady_timer.hpp>

#include <utility>

#include "xmpp/core/namespaces.hpp"

namespace xpmn::profiles {

namespace {

class OpenRun : public std::enable_shared_from_this<OpenRun> {
public:
    OpenRun(boost::asio::io_context& io, std::weak_ptr<MediaPlayer> player, std::shared_ptr<PlayableResolver> resolver,
            PlayableRequest request, std::vector<std::string> uris, OpenDone done)
        : timer_(io),
          player_(std::move(player)),
          resolver_(std::move(resolver)),
          request_(std::move(request)),
          uris_(std::move(uris)),
          done_(std::move(done)) {}

    void start(std::chrono::milliseconds deadline) {
        timer_.expires_after(deadline);
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec) return;  // cancelled: answered already
            self->refused(Error{"remote-server-timeout",
                                "the media server or the player did not answer in time: nothing was opened"});
        });
        next();
    }

private:
    void next() {
        if (finished_) return;
        if (items_.size() == uris_.size()) return open();
        request_.uri = uris_[items_.size()];
        request_.want_metadata = items_.empty();
        resolver_->resolve(request_, [self = shared_from_this()](Result<PlayableItem> item) {
            if (self->finished_) {  // answered by the deadline: what comes late is not played
                if (item) self->resolver_->unused({item->url});
                return;
            }
            if (!item) return self->refused(item.error());
            item->source = self->uris_[self->items_.size()];
            self->items_.push_back(std::move(item).value());
            self->next();
        });
    }

    // The request is refused (or timed out): what was resolved for it is not played.
    void refused(Error e) {
        if (finished_) return;
        std::vector<std::string> urls;
        for (const auto& item : items_) urls.push_back(item.url);
        if (!urls.empty()) resolver_->unused(urls);
        finish(std::move(e));
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
        player->open(std::move(items_), [self = shared_from_this(), first = std::move(first),
                                         urls = std::move(urls)](Result<void> r) {
            if (!r) {
                self->resolver_->unused(urls);
                return self->finish(r.error());
            }
            // Also after the deadline: the player plays them now, so they must stay served.
            self->resolver_->now_playing(self->request_.player, urls);
            self->finish(first);
        });
    }

    // Answers once: the first of the outcome and the deadline.
    void finish(Result<xml::Element> outcome) {
        if (std::exchange(finished_, true)) return;
        timer_.cancel();
        auto done = std::move(done_);
        done(std::move(outcome));
    }

    boost::asio::steady_timer timer_;
    std::weak_ptr<MediaPlayer> player_;
    std::shared_ptr<PlayableResolver> resolver_;
    PlayableRequest request_;
    std::vector<std::string> uris_;
    std::vector<PlayableItem> items_;
    OpenDone done_;
    bool finished_ = false;
};

}  // namespace

void open_playlist(boost::asio::io_context& io, const std::shared_ptr<MediaPlayer>& player,
                   const std::shared_ptr<PlayableResolver>& resolver, PlayableRequest request,
                   std::vector<std::string> uris, std::chrono::milliseconds deadline, OpenDone done) {
    request.fetches_from = player->fetches_from();
    std::make_shared<OpenRun>(io, player, resolver, std::move(request), std::move(uris), std::move(done))
        ->start(deadline);
}

}  // namespace xpmn::profiles
