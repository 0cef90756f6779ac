// The media servers of the other bridges this bridge is paired with as a
// controller (its trust store's `device` entries, docs/protocol.md "Items of
// other bridges"), as its controller session sees them: it asks each such
// account for its presence (a subscription the other bridge approves for a
// paired controller), asks every resource of those accounts that comes
// online for its disco#info, and reports the ones whose identity is
// automation/media-server (wire profile §2). A server is reported gone on
// its unavailable presence. A new session (not a resumed one) gets every
// presence again: a known server not seen again within kConfirmWithin is
// reported gone then, so a reconnect does not make them all blink.
// Start it before the controller session first comes online (the daemon
// does, at the adapters' start): presence that came before is not sent again.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "bridge/profiles/remote_items.hpp"
#include "xmpp/client/stanza_router.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::profiles {

class RemoteServers : public std::enable_shared_from_this<RemoteServers> {
public:
    static constexpr std::size_t kMaxServers = 64;  // shown at once; more are logged and left out
    static constexpr std::chrono::seconds kConfirmWithin{30};
    static constexpr std::size_t kMaxResources = 1024;  // online resources of those accounts looked at

    struct Server {
        std::string jid;   // full JID
        std::string name;  // the identity's name (the server's friendly name)
    };
    struct Events {
        std::function<void(const Server&)> on_available;
        std::function<void(const std::string& jid)> on_unavailable;
    };

    static std::shared_ptr<RemoteServers> create(std::shared_ptr<RemoteItems> remote,
                                                 std::shared_ptr<xtls::TrustStore> trust, Events events);
    ~RemoteServers();
    // Connects the controller session (if it is not yet) and subscribes.
    void start();
    // Reports nothing more; every known server is reported gone.
    void stop();

    // The bare JIDs whose devices are looked for: `device` entries of other accounts.
    static std::set<std::string> accounts(const xtls::TrustStore& trust, const Jid& own);

private:
    RemoteServers(std::shared_ptr<RemoteItems> remote, std::shared_ptr<xtls::TrustStore> trust, Events events);
    void subscribe();
    void presence(const xml::Element& p);
    void ask(const std::string& jid);
    void forget_all();
    void new_session();
    void drop_unconfirmed();

    std::shared_ptr<RemoteItems> remote_;
    std::shared_ptr<xtls::TrustStore> trust_;
    Events events_;
    std::set<std::string> online_;                // full JIDs of those accounts now available
    std::map<std::string, std::string> servers_;  // reported: full JID → name
    std::set<std::string> unconfirmed_;           // reported, not seen since the new session
    std::shared_ptr<boost::asio::steady_timer> confirm_timer_;
    std::uint64_t generation_ = 0;  // of the grace period: a handler of an older one does nothing
    client::StanzaRouter::ListenerId listener_ = 0;
    bool listening_ = false, stopped_ = false;
};

}  // namespace xpmn::profiles
