// Items of other bridges' devices for this bridge's local players (wire
// profile §7.1, issue 10): the bridge acts as a controller towards the
// other device — its own c2s session (resource `controller`), end-to-end
// stream and OOB session, authenticated with this bridge's own device
// certificate, which the other bridge must have paired as a controller
// (docs/protocol.md) — and serves the item to the player on an HTTP URL
// whose path is a random 128-bit token, answering Range with a transfer of
// that range: on loopback for a player of this host (MPRIS); for a UPnP
// renderer on the bridge's address facing it, answering only requests from
// the renderer's own address (403 otherwise; one server per such address). Memory per request is bounded by the transfer
// client's buffer: a player that stops reading pauses the OOB id.
//
// A served URL lives while its player plays it: it is dropped when that
// player's next open succeeds (or when the open it was made for fails), and
// all of them when the bridge stops.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/profiles/media_player.hpp"
#include "bridge/relay/http_range.hpp"
#include "config/config.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/core/transfer_uri.hpp"
#include "xmpp/xtls/device_identity.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::controller {
class ControllerLinks;
class RangeServer;
struct ServedBody;
}
namespace xpmn::client {
class C2sSession;
}

namespace xpmn::profiles {

class RemoteItems : public std::enable_shared_from_this<RemoteItems> {
public:
    // The open answer must come within 10 s (§8): checking the item may take this long.
    static constexpr std::chrono::seconds kCheckBudget{8};
    static constexpr std::size_t kMaxServed = 256;  // URLs at once, over all players

    struct Context {
        boost::asio::io_context& io;
        config::Config config;  // the account and [transfer]
        xtls::DeviceIdentity identity;
        std::shared_ptr<xtls::TrustStore> trust;
    };
    static std::shared_ptr<RemoteItems> create(Context context);
    ~RemoteItems();

    // Checks that the item can be fetched (its first byte), then answers
    // with the URL `player` may fetch it from (`fetches_from`: see
    // MediaPlayer::fetches_from()); a clear error otherwise.
    void serve(const TransferUri& uri, const std::string& player, const std::optional<LanAddresses>& fetches_from,
               std::function<void(Result<std::string>)> done);
    // `player` now plays `urls`: its other served URLs go.
    void now_playing(const std::string& player, const std::vector<std::string>& urls);
    // These URLs were never handed to a player.
    void unused(const std::vector<std::string>& urls);
    // Drops every URL, ends the OOB sessions and streams, and the session.
    void stop(std::function<void()> done);
    std::size_t served() const { return served_.size(); }

    // The controller session and its links, for others that act as this
    // bridge's controller (bridge/profiles/remote_servers, the LAN export):
    // `then` runs once the session is online (started now if it is not),
    // or with the reason it cannot be.
    void when_online(std::function<void(Result<void>)> then);
    client::C2sSession& session() { return *session_; }
    const Jid& account() const { return context_.config.xmpp.jid; }
    boost::asio::io_context& io() { return context_.io; }
    controller::ControllerLinks& links();
    // The bytes of `range` (nullopt: all) of `uri`, as a range server's
    // opener wants them: one transfer over the OOB session with its device.
    void open_range(const TransferUri& uri, std::optional<relay::RangeSpec> range,
                    std::function<void(Result<controller::ServedBody>)> done);
    // Told whenever the session comes online (resumed: true when nothing was
    // lost) or goes offline.
    void on_session(std::function<void(bool online, bool resumed)> listener) {
        session_listeners_.push_back(std::move(listener));
    }

private:
    struct Links;
    struct Served {
        TransferUri uri;
        std::string player;
        std::optional<std::string> peer;  // a renderer's address: the only one served
        std::string url;
    };
    explicit RemoteItems(Context context);
    void check(const TransferUri& uri, std::function<void(Result<void>)> done);
    // The server for a player fetching from there (made on first use).
    controller::RangeServer& server(const std::optional<LanAddresses>& fetches_from);
    // A request for a served item (token) from a player.
    void open_served(const std::string& token, std::optional<relay::RangeSpec> range,
                     std::function<void(Result<controller::ServedBody>)> done);

    Context context_;
    std::shared_ptr<client::C2sSession> session_;
    std::unique_ptr<Links> links_;
    std::map<std::string, std::unique_ptr<controller::RangeServer>> servers_;  // by bound address ("": loopback)
    std::map<std::string, Served> served_;  // by token
    std::vector<std::function<void(Result<void>)>> waiting_online_;
    std::vector<std::function<void(bool, bool)>> session_listeners_;
    bool started_ = false, stopped_ = false;
};

}  // namespace xpmn::profiles
