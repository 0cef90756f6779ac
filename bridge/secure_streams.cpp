#include "bridge/secure_streams.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "bridge/oob_endpoint.hpp"
#include "xmpp/client/peer.hpp"
#include "xmpp/jingle/jingle_manager.hpp"
#include "xmpp/jingle/xmlstream_session.hpp"
#include "xmpp/xtls/e2e_channel.hpp"

namespace xpmn::bridge {

struct SecureStreams::Endpoint {
    std::unique_ptr<jingle::JingleManager> jingle;
    std::unique_ptr<jingle::XmlStreamResponder> responder;
    std::unique_ptr<OobEndpoint> oob;  // not on /bridge
};

SecureStreams::SecureStreams(Context context) : context_(std::move(context)) {}

SecureStreams::~SecureStreams() {
    for (auto& stream : streams_)
        if (auto s = stream.channel.lock()) s->close();
}

void SecureStreams::serve(const std::shared_ptr<Device>& device, bool pairing) {
    for (const char* f : {"urn:xmpp:jingle:1", jingle::kXmlStreamNs, xtls::kNs, "urn:xmpp:jingle:transports:ibb:1"})
        device->add_feature(f);
    if (!pairing) {
        for (const char* f : {jingle::kOobNs, "urn:xmpp:jingle:transports:s5b:1"}) device->add_feature(f);
        install_oob_abort(*device);
    }
    std::weak_ptr<Device> weak_device = device;
    device->on_channel([alive = std::weak_ptr<SecureStreams*>(alive_), weak_device, pairing](const ChannelPtr& channel) {
        auto self = alive.lock();
        auto device = weak_device.lock();
        if (!self || !device) return;
        // An end-to-end stream is itself a channel of the device: it needs no Jingle endpoint.
        if (channel->peer()) return;
        (*self)->attach_c2s(device, channel, pairing);
    });
    // The server's SOCKS5 proxies are asked for once the session is online,
    // so that even the first OOB session offers them (§6.2).
    device->on_online([alive = std::weak_ptr<SecureStreams*>(alive_)](const ChannelPtr& channel) {
        auto self = alive.lock();
        if (!self) return;
        auto it = (*self)->endpoints_.find(channel.get());
        if (it != (*self)->endpoints_.end() && it->second->oob) it->second->oob->discover_proxies();
    });
}

void SecureStreams::attach_c2s(const std::shared_ptr<Device>& device, const ChannelPtr& channel, bool pairing) {
    Jid self_jid = Jid::parse(context_.home.bare().str() + "/" + device->resource()).value();
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->jingle = std::make_unique<jingle::JingleManager>(context_.io, channel->router(), self_jid);

    auto trust = context_.trust;
    auto window = pairing ? context_.pairing : nullptr;
    jingle::AcceptPolicy policy = [trust, window, identity = context_.identity](const client::Peer& initiator,
                                                                              const xtls::Security& offer) {
        jingle::Acceptance a;
        a.params.identity = identity;
        Jid peer = initiator.jid;
        a.params.trusted = [trust, peer](const std::string& fp) { return trust->trusts(fp, peer); };
        auto offered = [&](xtls::Method m) {
            return std::find(offer.methods.begin(), offer.methods.end(), m) != offer.methods.end();
        };
        if (offered(xtls::Method::X509) && !offer.fingerprint.empty() && trust->trusts(offer.fingerprint, peer))
            a.methods.push_back(xtls::Method::X509);
        if (window && offered(xtls::Method::Srp) && window->active()) {
            a.methods.push_back(xtls::Method::Srp);
            a.params.srp_lookup = window->srp_lookup(peer);
            a.on_security_failure = [window, peer](const std::string& why) {
                spdlog::warn("pairing: a handshake of {} failed: {}", peer.str(), why);
                window->failed();
            };
        }
        if (a.methods.empty())
            spdlog::info("end-to-end stream from {} refused: {}", peer.str(),
                         offered(xtls::Method::X509) ? "its certificate is not trusted for that account"
                                                     : "no acceptable method offered (pairing closed?)");
        return a;
    };
    endpoint->responder = std::make_unique<jingle::XmlStreamResponder>(
        *endpoint->jingle, xtls::Security{context_.fingerprint, {}}, std::move(policy),
        [alive = std::weak_ptr<SecureStreams*>(alive_), weak = std::weak_ptr<Device>(device)](
            std::shared_ptr<xtls::E2eChannel> stream) {
            if (auto self = alive.lock()) (*self)->stream_up(weak, stream);
        });
    if (pairing)
        answer_subscriptions(channel);
    else {
        endpoint->oob = std::make_unique<OobEndpoint>(OobEndpoint::Context{
            *endpoint->jingle, device, context_.identity, context_.fingerprint, context_.trust, context_.transfer,
            context_.home.domain(), context_.map_port});
        // The end-to-end stream may run on S5B too (§3.1), answered as the
        // OOB sessions are; pairing streams stay IBB.
        endpoint->responder->transport = endpoint->oob->s5b_answer();
    }

    const client::PeerChannel* key = channel.get();
    endpoints_[key] = std::move(endpoint);
    // The XMPP session under this channel ended: so did its Jingle sessions
    // and the IBB streams they carried. Destroyed from a posted task, never
    // inside the manager's own callbacks.
    channel->on_closed([alive = std::weak_ptr<SecureStreams*>(alive_), key, &io = context_.io] {
        boost::asio::post(io, [alive, key] {
            auto self = alive.lock();
            if (!self) return;
            auto it = (*self)->endpoints_.find(key);
            if (it == (*self)->endpoints_.end()) return;
            it->second->jingle->terminate_all(jingle::Reason{"gone", "the device's XMPP session ended", {}});
            (*self)->endpoints_.erase(it);
        });
    });
}

void SecureStreams::stream_up(const std::weak_ptr<Device>& weak_device, const ChannelPtr& stream) {
    auto device = weak_device.lock();
    auto peer = stream->peer();
    if (!device || !peer) return stream->close();
    if (peer->pairing() && context_.pairing) context_.pairing->succeeded();  // the PIN is one-time
    spdlog::info("device {}: end-to-end stream with {} up", device->resource(), peer->describe());
    // One stream per controller–device pair (§3.1): a new one from the same
    // peer replaces the old (the controller restarted, or lost it).
    std::vector<ChannelPtr> replaced;
    for (auto& old : streams_)
        if (auto s = old.channel.lock(); s && old.device == device->resource() && s->peer() && s->peer()->jid == peer->jid)
            replaced.push_back(s);
    std::erase_if(streams_, [](const Stream& s) { return s.channel.expired(); });
    streams_.push_back({device->resource(), stream});
    device->add_channel(stream);
    for (auto& s : replaced) {
        spdlog::info("device {}: closing the older stream with {}", device->resource(), peer->describe());
        s->close();
    }
}

void SecureStreams::close_streams_of(const Jid& bare, const std::string& fingerprint) {
    std::vector<ChannelPtr> doomed;
    for (auto& stream : streams_)
        if (auto s = stream.channel.lock(); s && s->peer() && s->peer()->jid.bare() == bare.bare() &&
                                            (fingerprint.empty() || s->peer()->fingerprint == fingerprint))
            doomed.push_back(s);
    for (auto& s : doomed) {
        spdlog::info("closing end-to-end stream {} ({} was forgotten)", s->describe(), bare.bare().str());
        s->close();
    }
}

std::size_t SecureStreams::stream_count() const {
    return std::count_if(streams_.begin(), streams_.end(), [](const Stream& stream) {
        auto s = stream.channel.lock();
        return s && !s->closed();
    });
}

void SecureStreams::answer_subscriptions(const ChannelPtr& channel) {
    subscription_channel_ = channel;
    std::weak_ptr<client::PeerChannel> weak = channel;
    auto id = channel->router().on_presence([weak, trust = context_.trust, home = context_.home](const xml::Element& p) {
        if (p.attr_or("type") != "subscribe") return;
        auto channel = weak.lock();
        if (!channel) return;
        auto from = client::Peer::routed_by_server(p, home);
        if (!from) return;
        Jid bare = from->jid.bare();
        bool friend_ = false;
        for (const auto& e : trust->of(bare)) friend_ |= e.role == xtls::TrustRole::Friend || e.role == xtls::TrustRole::Owner;
        if (!friend_) {
            // Left pending (RFC 6121 §3.1.3): the user's other clients may still decide.
            spdlog::info("presence subscription from {} left pending: not a paired friend", bare.str());
            return;
        }
        xml::Element reply("presence", "jabber:client");
        reply.set_attr("to", bare.str());
        reply.set_attr("type", "subscribed");
        channel->send(std::move(reply));
    });
    channel->on_closed([weak, id] {
        if (auto c = weak.lock()) c->router().remove_listener(id);
    });
}

void SecureStreams::approve_subscription(const Jid& bare) {
    auto channel = subscription_channel_.lock();
    if (!channel || channel->closed()) return;
    xml::Element reply("presence", "jabber:client");
    reply.set_attr("to", bare.bare().str());
    reply.set_attr("type", "subscribed");
    channel->send(std::move(reply));
}

}  // namespace xpmn::bridge
