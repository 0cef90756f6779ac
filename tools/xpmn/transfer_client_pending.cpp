// Stand-in for the transfer client (transfer_client.hpp) while its
// implementation is developed on another branch: weak definitions, so the
// real ones replace them at link time. Delete this file once
// transfer_client.cpp is in the tree.
#include "tools/xpmn/transfer_client.hpp"

namespace xpmn::tools {

__attribute__((weak)) Result<TransferUri> TransferUri::parse(std::string_view uri) {
    const std::string_view marker = "?transfer;uid=";
    const auto q = uri.find(marker);
    auto jid = q == std::string_view::npos || uri.rfind("xmpp:", 0) != 0 ? std::nullopt : Jid::parse(uri.substr(5, q - 5));
    if (!jid || jid->resource().empty() || q + marker.size() == uri.size())
        return Error{"bad-request", "not a transfer URI (xmpp:JID?transfer;uid=UID): " + std::string(uri)};
    return TransferUri{*jid, std::string(uri.substr(q + marker.size()))};
}

__attribute__((weak)) void open_transfer(Controller&, const TransferUri&, std::optional<std::uint64_t>,
                                         std::optional<std::uint64_t>, TransferHandler done) {
    done(Error{"feature-not-implemented", "this build has no transfer client"});
}

}  // namespace xpmn::tools
