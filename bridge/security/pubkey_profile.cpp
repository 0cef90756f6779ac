#include "bridge/security/pubkey_profile.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <spdlog/spdlog.h>

#include "bridge/access_policy.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/tls/tls_context.hpp"

namespace xpmn::security {
namespace {

std::string base64(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> unbase64(std::string_view text) {
    std::string clean;
    for (char c : text)
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') clean.push_back(c);
    if (clean.empty() || clean.size() % 4 != 0) return std::nullopt;
    std::string out(clean.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
    if (n < 0) return std::nullopt;
    std::size_t pad = clean.ends_with("==") ? 2 : clean.ends_with("=") ? 1 : 0;  // EVP_DecodeBlock keeps them as zeros
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

std::shared_ptr<X509> parse_der(const std::string& der) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
        X509_free(cert);
        return nullptr;
    }
    return {cert, X509_free};
}

std::string der_of(X509* cert) {
    unsigned char* buf = nullptr;
    int n = i2d_X509(cert, &buf);
    if (n <= 0) return {};
    std::string out(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
    OPENSSL_free(buf);
    return out;
}

void answer_pubkeys(const PubkeyContext& ctx, const client::Peer& peer, client::IqResponder r) {
    if (peer.proof == client::Peer::Proof::C2s) return r.error(bridge::e2e_required_error());
    auto cert = ctx.certificate ? ctx.certificate() : nullptr;
    std::string der = cert ? der_of(cert.get()) : std::string();
    if (der.empty()) return r.error("internal-server-error", "the bridge has no device certificate");
    r.result(make_pubkeys({{ctx.name, der}}));
}

// A pairing stream reached /bridge: ask the controller for its certificate
// and trust it with the peer's bare JID.
void ask_controller(const std::shared_ptr<const PubkeyContext>& ctx, const bridge::ChannelPtr& channel) {
    auto peer = channel->peer();
    if (!peer || peer->proof != client::Peer::Proof::Pairing) return;
    xml::Element iq = stanza::iq("get", peer->jid.str());
    iq.add("pubkeys", ns_pubkey);
    std::weak_ptr<client::PeerChannel> weak = channel;
    channel->router().send_iq(std::move(iq), kPubkeyTimeout, [ctx, weak, peer = *peer](const client::IqResponse& response) {
        auto fail = [&](const std::string& why) {
            spdlog::warn("pairing with {} failed: {}", peer.describe(), why);
            if (auto ch = weak.lock()) ch->close();
        };
        if (!response.ok()) return fail("its pubkeys answer: " + response.error().describe());
        const xml::Element* payload = response.payload();
        if (!payload || payload->name() != "pubkeys" || payload->ns() != ns_pubkey)
            return fail("its answer has no <pubkeys/>");
        auto keys = parse_pubkeys(*payload);
        if (!keys) return fail(keys.error().text);
        auto cert = parse_der(keys->front().der);
        xtls::TrustEntry entry;
        entry.fingerprint = tls::certificate_sha256(cert.get());
        entry.jid = peer.jid.bare();
        entry.role = entry.jid == ctx->home.bare() ? xtls::TrustRole::Owner : xtls::TrustRole::Friend;
        entry.name = keys->front().name.substr(0, xtls::TrustStore::kMaxNameBytes);
        entry.paired_at = ctx->clock();
        if (auto stored = ctx->trust->add(entry); !stored) return fail(stored.error().describe());
        spdlog::info("paired {} as {} ({}, certificate {})", entry.jid.str(), xtls::role_name(entry.role),
                     entry.name, entry.fingerprint);
        if (ctx->on_paired) ctx->on_paired(entry);
    });
}

}  // namespace

xml::Element make_pubkeys(const std::vector<KeyInfo>& keys) {
    xml::Element pubkeys("pubkeys", ns_pubkey);
    for (const auto& k : keys) {
        auto& info = pubkeys.add("keyinfo");
        info.add_text_child("name", k.name);
        info.add_text_child("x509cert", base64(k.der));
    }
    return pubkeys;
}

Result<std::vector<KeyInfo>> parse_pubkeys(const xml::Element& pubkeys) {
    std::vector<KeyInfo> out;
    for (const xml::Element* info : pubkeys.children("keyinfo", ns_pubkey)) {
        std::string text = info->child_text("x509cert", ns_pubkey);
        if (text.size() > kMaxCertificateBytes * 4 / 3 + 64)
            return Error{"bad-request", "<x509cert/> larger than " + std::to_string(kMaxCertificateBytes) + " bytes"};
        auto der = unbase64(text);
        if (!der) return Error{"bad-request", "<x509cert/> is not base64"};
        if (!parse_der(*der)) return Error{"bad-request", "<x509cert/> is not a DER X.509 certificate"};
        out.push_back({info->child_text("name", ns_pubkey), std::move(*der)});
    }
    if (out.empty()) return Error{"bad-request", "<pubkeys/> has no <keyinfo/> with an <x509cert/>"};
    return out;
}

void install_pubkey_profile(bridge::Device& bridge_device, PubkeyContext context) {
    auto ctx = std::make_shared<const PubkeyContext>(std::move(context));
    bridge_device.add_feature(ns_pubkey);
    bridge_device.handle("get", ns_pubkey, "pubkeys",
                         [ctx](const bridge::ChannelPtr&, const client::Peer& peer, const xml::Element&,
                               client::IqResponder r) { answer_pubkeys(*ctx, peer, std::move(r)); });
    bridge_device.on_channel([ctx](const bridge::ChannelPtr& channel) { ask_controller(ctx, channel); });
}

}  // namespace xpmn::security
