#include "bridge/profiles/remote_servers.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "xmpp/client/c2s_session.hpp"
#include "xmpp/client/disco_service.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::profiles {

namespace {

// A resource that does not answer in this time is not a server shown here
// (it is asked again when it next comes online).
constexpr std::chrono::seconds kDiscoTimeout{10};

}  // namespace

std::shared_ptr<RemoteServers> RemoteServers::create(std::shared_ptr<RemoteItems> remote,
                                                     std::shared_ptr<xtls::TrustStore> trust, Events events) {
    return std::shared_ptr<RemoteServers>(new RemoteServers(std::move(remote), std::move(trust), std::move(events)));
}

RemoteServers::RemoteServers(std::shared_ptr<RemoteItems> remote, std::shared_ptr<xtls::TrustStore> trust,
                             Events events)
    : remote_(std::move(remote)), trust_(std::move(trust)), events_(std::move(events)) {}

RemoteServers::~RemoteServers() {
    if (confirm_timer_) confirm_timer_->cancel();
    if (listening_) remote_->session().router().remove_listener(listener_);
}

std::set<std::string> RemoteServers::accounts(const xtls::TrustStore& trust, const Jid& own) {
    std::set<std::string> out;
    for (const auto& e : trust.entries())
        if (e.role == xtls::TrustRole::Device && e.jid.bare() != own.bare()) out.insert(e.jid.bare().str());
    return out;
}

void RemoteServers::start() {
    if (accounts(*trust_, remote_->account()).empty()) {
        spdlog::info("remote servers: this bridge is paired with no other bridge; none to show");
        return;
    }
    std::weak_ptr<RemoteServers> weak = weak_from_this();
    listener_ = remote_->session().router().on_presence([weak](const xml::Element& p) {
        if (auto self = weak.lock()) self->presence(p);
    });
    listening_ = true;
    // A new session (not a resumed one) gets every presence again: what the
    // old one knew is dropped then, not when the connection drops (a resumed
    // session gets nothing again, so it keeps what it knew).
    remote_->on_session([weak](bool online, bool resumed) {
        auto self = weak.lock();
        if (!self || self->stopped_ || !online || resumed) return;
        self->new_session();
    });
    const bool online_already = remote_->session().online();  // no new session to wait for
    remote_->when_online([weak, online_already](Result<void> r) {
        auto self = weak.lock();
        if (!self || self->stopped_) return;
        if (!r) return spdlog::warn("remote servers: {}", r.error().describe());
        if (!online_already) return;
        spdlog::warn("remote servers: the controller session was online already; servers show once they announce "
                     "themselves again");
        self->subscribe();
    });
}

void RemoteServers::new_session() {
    online_.clear();
    unconfirmed_.clear();
    for (const auto& [jid, name] : servers_) unconfirmed_.insert(jid);
    if (!unconfirmed_.empty()) {
        if (!confirm_timer_) confirm_timer_ = std::make_shared<boost::asio::steady_timer>(remote_->io());
        confirm_timer_->expires_after(kConfirmWithin);
        // A handler of an earlier grace period already queued cannot be cancelled: it checks its generation.
        confirm_timer_->async_wait([weak = weak_from_this(), generation = ++generation_](
                                       const boost::system::error_code& ec) {
            if (auto self = weak.lock(); self && !ec && self->generation_ == generation) self->drop_unconfirmed();
        });
    }
    subscribe();
}

void RemoteServers::drop_unconfirmed() {
    for (const auto& jid : std::exchange(unconfirmed_, {}))
        if (servers_.erase(jid) && events_.on_unavailable) events_.on_unavailable(jid);
}

void RemoteServers::stop() {
    stopped_ = true;
    ++generation_;
    if (confirm_timer_) confirm_timer_->cancel();
    forget_all();
}

void RemoteServers::forget_all() {
    online_.clear();
    unconfirmed_.clear();
    auto gone = std::exchange(servers_, {});
    for (const auto& [jid, name] : gone)
        if (events_.on_unavailable) events_.on_unavailable(jid);
}

void RemoteServers::subscribe() {
    // Idempotent: an existing subscription is left as it is, and the server
    // sends the contacts' presence after our initial presence anyway.
    for (const auto& bare : accounts(*trust_, remote_->account())) {
        xml::Element p("presence", ns::client);
        p.set_attr("to", bare);
        p.set_attr("type", "subscribe");
        remote_->session().send(std::move(p));
    }
}

void RemoteServers::presence(const xml::Element& p) {
    if (stopped_) return;
    auto from = Jid::parse(p.attr_or("from"));
    if (!from || from->resource().empty()) return;
    if (!accounts(*trust_, remote_->account()).count(from->bare().str())) return;
    const std::string jid = from->str();
    const std::string type = p.attr_or("type");
    if (type.empty()) {
        if (servers_.count(jid)) {  // known from the last session: still here
            online_.insert(jid);
            unconfirmed_.erase(jid);
        } else if (online_.size() >= kMaxResources) {
            spdlog::warn("remote servers: {} is not looked at: {} resources of paired accounts are online", jid,
                         kMaxResources);
        } else if (online_.insert(jid).second) {
            ask(jid);
        }
    } else if (type == "unavailable") {
        online_.erase(jid);
        unconfirmed_.erase(jid);
        if (servers_.erase(jid) && events_.on_unavailable) events_.on_unavailable(jid);
    }
}

void RemoteServers::ask(const std::string& jid) {
    std::weak_ptr<RemoteServers> weak = weak_from_this();
    client::query_disco_info(
        remote_->session(), jid,
        [weak, jid](const client::DiscoResult& info) {
            auto self = weak.lock();
            if (!self || self->stopped_ || !self->online_.count(jid) || self->servers_.count(jid)) return;
            if (!info.ok()) return spdlog::debug("remote servers: {}: {}", jid, info.error().describe());
            for (const auto& id : info->identities) {
                if (id.category != "automation" || id.type != "media-server") continue;
                // Those not yet seen again since a new session do not count: they may be gone.
                if (self->servers_.size() - self->unconfirmed_.size() >= kMaxServers)
                    return spdlog::warn("remote servers: {} is not shown: {} are shown already", jid, kMaxServers);
                self->servers_[jid] = id.name;
                if (self->events_.on_available) self->events_.on_available({jid, id.name});
                return;
            }
        },
        kDiscoTimeout);
}

}  // namespace xpmn::profiles
