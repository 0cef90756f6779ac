#include "bridge/oob_endpoint.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "xmpp/jingle/s5b_addresses.hpp"
#include "xmpp/jingle/s5b_proxies.hpp"

namespace xpmn::bridge {

OobEndpoint::OobEndpoint(Context context) : context_(std::move(context)) {
    if (auto addresses = jingle::local_addresses(context_.transfer.interfaces))
        addresses_ = std::move(addresses).value();
    else
        spdlog::warn("transfer: no direct S5B candidates: {}", addresses.error().text);
    if (context_.transfer.proxies && !context_.server_domain.empty())
        proxies_ = jingle::S5bProxies::create(context_.jingle.io(), context_.jingle.router(), context_.server_domain);

    auto trust = context_.trust;
    jingle::AcceptPolicy policy = [trust, identity = context_.identity](const client::Peer& initiator,
                                                                      const xtls::Security& offer) {
        jingle::Acceptance a;
        a.params.identity = identity;
        Jid peer = initiator.jid;
        a.params.trusted = [trust, peer](const std::string& fp) { return trust->trusts(fp, peer); };
        bool x509 = std::find(offer.methods.begin(), offer.methods.end(), xtls::Method::X509) != offer.methods.end();
        if (x509 && !offer.fingerprint.empty() && trust->trusts(offer.fingerprint, peer))
            a.methods.push_back(xtls::Method::X509);
        else
            spdlog::info("out-of-band session from {} refused: its certificate is not trusted for that account",
                         peer.str());
        return a;
    };
    responder_ = std::make_unique<jingle::OobResponder>(
        context_.jingle, xtls::Security{context_.fingerprint, {}}, std::move(policy),
        [alive = std::weak_ptr<OobEndpoint*>(alive_)](const client::Peer& peer, jingle::OobLink link) {
            if (auto self = alive.lock()) (*self)->link_up(peer, std::move(link));
        });
    if (auto device = context_.device.lock())
        device->oob_links()->set_setting_up([alive = std::weak_ptr<OobEndpoint*>(alive_)](const Jid& peer) {
            auto self = alive.lock();
            return self && (*self)->responder_->setting_up(peer);
        });
    responder_->transport = s5b_answer();
}

jingle::AnswerTransport OobEndpoint::s5b_answer() {
    return [alive = std::weak_ptr<OobEndpoint*>(alive_)](const jingle::TransportContext& ctx,
                                                        const xml::Element& offer) -> Result<jingle::TransportPtr> {
        auto self = alive.lock();
        if (!self) return Error{"service-unavailable", "the device is going away"};
        (*self)->discover_proxies();
        auto s5b = jingle::S5bTransport::answer(ctx.manager, ctx.peer, offer, (*self)->s5b_options());
        if (!s5b) return s5b.error();
        (*s5b)->set_info_sender(ctx.send_info);
        return jingle::TransportPtr(*s5b);
    };
}

OobEndpoint::~OobEndpoint() {
    auto device = context_.device.lock();
    for (auto& [serial, a] : active_) {
        if (device) device->oob_links()->remove(a.token);
        a.mux->close();
    }
}

// Asked when the c2s session goes online, and again (a no-op by then) when a
// session comes.
void OobEndpoint::discover_proxies() {
    if (!proxies_ || proxies_asked_) return;
    proxies_asked_ = true;
    proxies_->get([alive = std::weak_ptr<OobEndpoint*>(alive_)](const std::vector<jingle::S5bStreamhost>& found) {
        if (auto self = alive.lock()) (*self)->found_proxies_ = found;
    });
}

jingle::S5bOptions OobEndpoint::s5b_options() const {
    jingle::S5bOptions o;
    o.addresses = addresses_;
    o.proxies = found_proxies_;
    if (context_.transfer.port_mapping) o.map_port = context_.map_port;
    o.attempt_deadline = context_.transfer.candidate_timeout;
    return o;
}

void OobEndpoint::link_up(const client::Peer& peer, jingle::OobLink link) {
    auto device = context_.device.lock();
    if (!device) return;
    const std::uint64_t serial = next_serial_++;
    auto down = [alive = std::weak_ptr<OobEndpoint*>(alive_), serial, &io = context_.jingle.io()] {
        // Never inside the mux's own callback: it may be destroyed here.
        boost::asio::post(io, [alive, serial] {
            if (auto self = alive.lock()) (*self)->link_down(serial);
        });
    };
    oob::OobMux::Handlers handlers;
    handlers.on_closed = [down, who = peer.describe()](const std::string& reason) {
        spdlog::info("out-of-band session with {} ended{}{}", who, reason.empty() ? "" : ": ", reason);
        down();
    };
    Active a;
    a.session = std::move(link.session);
    a.mux = oob::OobMux::create(std::move(link.stream), std::move(handlers));
    std::weak_ptr<oob::OobMux> weak_mux = a.mux;
    a.token = device->oob_links()->add(
        peer,
        [weak_mux](oob::SourcePtr source) -> std::string {
            auto mux = weak_mux.lock();
            if (!mux || mux->closed()) return {};
            std::string id = mux->next_id();
            auto sent = mux->send(id, std::move(source), [id](Result<void> r) {
                if (!r) spdlog::info("out-of-band id {} ended early: {}", id, r.error().text);
            });
            if (!sent) return {};
            return id;
        },
        [weak_mux](const std::string& id) {
            if (auto mux = weak_mux.lock()) mux->abort(id);
        });
    spdlog::info("device {}: out-of-band session with {} up", device->resource(), peer.describe());
    active_[serial] = std::move(a);
}

void OobEndpoint::link_down(std::uint64_t serial) {
    auto it = active_.find(serial);
    if (it == active_.end()) return;
    if (auto device = context_.device.lock()) device->oob_links()->remove(it->second.token);
    active_.erase(it);
}

void install_oob_abort(Device& device) {
    device.handle("set", jingle::kOobNs, "abort",
                  [links = std::weak_ptr<OobLinks>(device.oob_links())](
                      const ChannelPtr&, const client::Peer& peer, const xml::Element& iq, client::IqResponder r) {
                      std::string id = iq.first_element()->attr_or("id");
                      auto live = links.lock();
                      if (id.empty()) return r.error("bad-request", "abort needs the id");
                      if (!live || !live->abort(peer, id))
                          return r.error("item-not-found", "no out-of-band session of yours with this device");
                      r.result();
                  });
}

}  // namespace xpmn::bridge
