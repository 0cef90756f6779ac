#include "bridge/security/pubkey_profile.hpp"

#include <spdlog/spdlog.h>

#include "bridge/access_policy.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/xtls/pubkey.hpp"

namespace xpmn::security {
namespace {

void answer_pubkeys(const PubkeyContext& ctx, const client::Peer& peer, client::IqResponder r) {
    if (peer.proof == client::Peer::Proof::C2s) return r.error(bridge::e2e_required_error());
    auto cert = ctx.certificate ? ctx.certificate() : nullptr;
    if (!cert || xtls::certificate_der(cert.get()).empty())
        return r.error("internal-server-error", "the bridge has no device certificate");
    r.result(xtls::make_pubkeys(ctx.name, cert.get()));
}

// A pairing stream reached /bridge: ask the controller for its certificate
// and trust it with the peer's bare JID.
void ask_controller(const std::shared_ptr<const PubkeyContext>& ctx, const bridge::ChannelPtr& channel) {
    auto peer = channel->peer();
    if (!peer || peer->proof != client::Peer::Proof::Pairing) return;
    xml::Element iq = stanza::iq("get", peer->jid.str());
    iq.add_child(xtls::pubkeys_request());
    std::weak_ptr<client::PeerChannel> weak = channel;
    channel->router().send_iq(std::move(iq), xtls::kPubkeyTimeout, [ctx, weak, peer = *peer](const client::IqResponse& response) {
        auto fail = [&](const std::string& why) {
            spdlog::warn("pairing with {} failed: {}", peer.describe(), why);
            if (auto ch = weak.lock()) ch->close();
        };
        if (!response.ok()) return fail("its pubkeys answer: " + response.error().describe());
        const xml::Element* payload = response.payload();
        if (!payload) return fail("its answer has no <pubkeys/>");
        auto key = xtls::parse_pubkeys(*payload);
        if (!key) return fail(key.error().text);
        xtls::TrustEntry entry;
        entry.fingerprint = key->fingerprint;
        entry.jid = peer.jid.bare();
        entry.role = entry.jid == ctx->home.bare() ? xtls::TrustRole::Owner : xtls::TrustRole::Friend;
        entry.name = key->name.substr(0, xtls::TrustStore::kMaxNameBytes);
        entry.paired_at = ctx->clock();
        if (auto stored = ctx->trust->add(entry); !stored) return fail(stored.error().describe());
        spdlog::info("paired {} as {} ({}, certificate {})", entry.jid.str(), xtls::role_name(entry.role),
                     entry.name, entry.fingerprint);
        if (ctx->on_paired) ctx->on_paired(entry);
    });
}

}  // namespace

void install_pubkey_profile(bridge::Device& bridge_device, PubkeyContext context) {
    auto ctx = std::make_shared<const PubkeyContext>(std::move(context));
    bridge_device.add_feature(xtls::kPubkeyNs);
    bridge_device.handle("get", xtls::kPubkeyNs, "pubkeys",
                         [ctx](const bridge::ChannelPtr&, const client::Peer& peer, const xml::Element&,
                               client::IqResponder r) { answer_pubkeys(*ctx, peer, std::move(r)); });
    bridge_device.on_channel([ctx](const bridge::ChannelPtr& channel) { ask_controller(ctx, channel); });
}

}  // namespace xpmn::security
