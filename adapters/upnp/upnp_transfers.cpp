#include "adapters/upnp/upnp_transfers.hpp"

#include <boost/asio/post.hpp>

#include "adapters/upnp/upnp_directory.hpp"

namespace xpmn::upnp {

UpnpTransfers::UpnpTransfers(std::weak_ptr<UpnpDirectory> directory, std::shared_ptr<relay::NasFetcher> fetcher)
    : directory_(std::move(directory)), fetcher_(std::move(fetcher)) {}

std::optional<std::string> UpnpTransfers::object_of(const std::string& uid) const {
    auto dir = directory_.lock();
    if (!dir || !dir->transfers().resolve(uid)) return std::nullopt;
    return mappings::TransferTable::object_of(uid);
}

std::optional<std::string> UpnpTransfers::lan_url(const std::string& uid) const {
    auto dir = directory_.lock();
    return dir ? dir->transfers().resolve(uid) : std::nullopt;
}

void UpnpTransfers::open(const profiles::TransferRequest& request, profiles::OpenCallback done) {
    auto dir = directory_.lock();
    auto url = dir ? dir->transfers().resolve(request.uid) : std::nullopt;
    if (!url) return done(Error{"item-not-found", "no such transfer uid (browse first)"});
    std::optional<relay::RangeSpec> range;
    if (request.from || request.to) range = relay::RangeSpec::from_to(request.from.value_or(0), request.to);
    fetcher_->open(*url, range, [done = std::move(done)](Result<relay::NasBody> body) {
        if (!body) return done(body.error());
        relay::NasBody b = std::move(body).value();
        done(profiles::OpenedMedia{b.size, b.total, std::move(b.type), std::move(b.source)});
    });
}

}  // namespace xpmn::upnp
