// SecureLinks' out-of-band sessions (wire profile §6.2): the controller
// opens one per device it transfers from, the first time it needs one.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "controller/s5b_offer.hpp"
#include "controller/secure_links.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/oob_session.hpp"
#include "xmpp/jingle/s5b_proxies.hpp"
#include "xmpp/oob/oob_mux.hpp"

namespace xpmn::controller {

namespace {

// How long the abort IQ may wait for its answer; nothing waits on it.
constexpr std::chrono::seconds kAbortTimeout{15};

}  // namespace

void SecureLinks::oob(const Jid& device, OobCallback done) {
    if (auto it = oob_open_.find(device); it != oob_open_.end()) {
        if (!it->second->mux->closed() && !it->second->session->ended()) return done(it->second);
        oob_open_.erase(it);
    }
    if (!knows(device.bare()))
        return done(Error{"not-authorized", "this controller is not paired with " + device.bare().str()});
    auto& waiting = oob_opening_[device];
    waiting.push_back(std::move(done));
    if (waiting.size() > 1) return;  // already opening: share the session
    with_proxies([this, device](const std::vector<jingle::S5bStreamhost>& found) { open_oob(device, found); });
}

void SecureLinks::with_proxies(std::function<void(const std::vector<jingle::S5bStreamhost>&)> then) {
    if (!transfer_.proxies) return then({});
    if (!proxies_) proxies_ = jingle::S5bProxies::create(io_, session_->router(), account_.domain());
    proxies_->get(std::move(then));
}

void SecureLinks::open_oob(const Jid& device, const std::vector<jingle::S5bStreamhost>& proxies) {
    auto path = std::make_shared<std::string>("ibb");
    jingle::OpenOob request;
    request.peer = device;
    request.offer = xtls::Security{identity_.fingerprint, {xtls::Method::X509}};
    request.params.identity = identity_.identity;
    Jid bare = device.bare();
    request.params.trusted = [this, bare](const std::string& fp) { return trusted(fp, bare); };
    request.ibb.block_size = jingle::IbbStream::kMaxBlockSize;
    request.transport = s5b_offer(transfer_, proxies, path);
    jingle::open_oob(jingle(), std::move(request), [this, device, path](Result<jingle::OobLink> r) {
        if (!r) {
            auto e = r.error();
            if (e.condition == "security-error")
                e.text = device.str() + " refused the out-of-band session (" + e.text +
                         "): the bridge no longer trusts this controller, or its certificate is not the paired one";
            return oob_opened(device, e);
        }
        auto peer = std::make_shared<OobPeer>();
        peer->session = std::move(r->session);
        peer->path = *path;
        oob::OobMux::Handlers handlers;
        handlers.on_closed = [device](const std::string& reason) {
            spdlog::info("out-of-band session with {} ended{}{}", device.str(), reason.empty() ? "" : ": ", reason);
        };
        handlers.on_unclaimed = [this, device](const std::string& id) { abort(device, id); };
        peer->mux = oob::OobMux::create(std::move(r->stream), std::move(handlers));
        spdlog::info("out-of-band session with {} up ({})", device.str(), peer->path);
        oob_opened(device, peer);
    });
}

std::string SecureLinks::oob_path(const Jid& device) const {
    auto it = oob_open_.find(device);
    return it == oob_open_.end() ? std::string() : it->second->path;
}

void SecureLinks::oob_opened(const Jid& device, Result<OobPtr> r) {
    auto callbacks = std::move(oob_opening_[device]);
    oob_opening_.erase(device);
    if (r) oob_open_[device] = *r;
    for (auto& cb : callbacks) cb(r);
}

void SecureLinks::abort(const Jid& device, const std::string& id) {
    channel(device, [device, id](Result<ChannelPtr> channel) {
        if (!channel) return spdlog::info("abort of out-of-band id {} not sent: {}", id, channel.error().text);
        auto iq = stanza::iq("set", device.str());
        iq.add("abort", jingle::kOobNs).set_attr("id", id);
        (*channel)->router().send_iq(std::move(iq), kAbortTimeout, [id](const client::IqResponse& r) {
            if (!r.ok()) spdlog::info("abort of out-of-band id {}: {}", id, r.error().describe());
        });
    });
}

}  // namespace xpmn::controller
