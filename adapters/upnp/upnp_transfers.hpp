// The Transfer profile's view of one UPnP media server (wire profile §6.1):
// a uid from the device's transfer table (filled while browsing) becomes the
// NAS's URL, fetched by the shared NasFetcher with the requested range. The
// URL never leaves this object.
#pragma once

#include <memory>

#include "bridge/profiles/transfer_profile.hpp"
#include "bridge/relay/nas_fetch.hpp"

namespace xpmn::upnp {

class UpnpDirectory;

class UpnpTransfers : public profiles::MediaTransfers {
public:
    UpnpTransfers(std::weak_ptr<UpnpDirectory> directory, std::shared_ptr<relay::NasFetcher> fetcher);
    std::optional<std::string> object_of(const std::string& uid) const override;
    void open(const profiles::TransferRequest& request, profiles::OpenCallback done) override;
    std::optional<std::string> lan_url(const std::string& uid) const override;

private:
    std::weak_ptr<UpnpDirectory> directory_;
    std::shared_ptr<relay::NasFetcher> fetcher_;
};

}  // namespace xpmn::upnp
