#include "controller/secure_links.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <optional>
#include <utility>

#include "controller/s5b_offer.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/ibb_stream.hpp"
#include "xmpp/jingle/jingle_manager.hpp"
#include "xmpp/jingle/oob_session.hpp"
#include "xmpp/jingle/s5b_proxies.hpp"
#include "xmpp/jingle/xmlstream_session.hpp"
#include "xmpp/oob/oob_mux.hpp"
#include "xmpp/xtls/e2e_channel.hpp"
#include "xmpp/xtls/pubkey.hpp"

namespace xpmn::controller {

namespace {

std::string pair_hint(const Jid& account) {
    return "run `xpmn-bridge --config FILE pair` on the bridge, then `xpmn pair " + account.bare().str() +
           "/bridge --pin PIN`";
}

}  // namespace

SecureLinks::SecureLinks(boost::asio::io_context& io, std::shared_ptr<client::C2sSession> session,
                         const std::string& state_dir, const Jid& account, std::string name)
    : io_(io), session_(std::move(session)), account_(account.bare()), name_(std::move(name)),
      identity_(xtls::load_or_create(state_dir, account_)),
      trust_(std::make_shared<xtls::TrustStore>(xtls::TrustStore::load(state_dir + "/trust.toml"))) {}

SecureLinks::SecureLinks(boost::asio::io_context& io, std::shared_ptr<client::C2sSession> session,
                         xtls::DeviceIdentity identity, std::shared_ptr<xtls::TrustStore> trust, const Jid& account,
                         std::string name)
    : io_(io), session_(std::move(session)), account_(account.bare()), name_(std::move(name)),
      identity_(std::move(identity)), trust_(std::move(trust)), devices_only_(true) {}

bool SecureLinks::knows(const Jid& bare) const {
    for (const auto& e : trust_->of(bare))
        if (!devices_only_ || e.role == xtls::TrustRole::Device) return true;
    return false;
}

bool SecureLinks::trusted(const std::string& fp, const Jid& bare) const {
    if (!trust_->trusts(fp, bare)) return false;
    const auto* e = trust_->find(fp);
    return !devices_only_ || (e && e->role == xtls::TrustRole::Device);
}

SecureLinks::~SecureLinks() = default;

jingle::JingleManager& SecureLinks::jingle() {
    // Made on first use: the Jingle endpoint needs the JID the server bound.
    if (!jingle_) jingle_ = std::make_unique<jingle::JingleManager>(io_, session_->router(), session_->jid());
    return *jingle_;
}

void SecureLinks::channel(const Jid& device, ChannelCallback done) {
    if (auto it = open_.find(device); it != open_.end()) {
        if (!it->second->closed()) return done(it->second);
        open_.erase(it);
    }
    if (!knows(device.bare()))
        return done(Error{"not-authorized", "this controller is not paired with " + device.bare().str() + ": " +
                                                pair_hint(device)});
    auto& waiting = opening_[device];
    waiting.push_back(std::move(done));
    if (waiting.size() > 1) return;  // already opening: share the stream

    with_proxies([this, device](const std::vector<jingle::S5bStreamhost>& found) { open_channel(device, found, true); });
}

// S5B when [transfer] gives candidates (a direct TCP stream is far faster
// than IBB through the server, §3.1), IBB otherwise or when the device
// answers IBB only (unsupported-transports: offered again over IBB).
void SecureLinks::open_channel(const Jid& device, const std::vector<jingle::S5bStreamhost>& proxies, bool s5b) {
    auto path = std::make_shared<std::string>("ibb");
    jingle::OpenXmlStream request;
    request.peer = device;
    // IBB sends a window of data IQs and then waits for their results, so a
    // result's transfer takes about size / (window × block) round trips: 16 KiB
    // blocks (the bridge's limit; a stanza of ~22 KiB, far below servers' caps)
    // carry a 1000-item browse page (~170 KiB) in a quarter of the round trips.
    request.block_size = jingle::IbbStream::kMaxBlockSize;
    if (s5b) request.transport = s5b_offer(transfer_, proxies, path);
    request.offer = xtls::Security{identity_.fingerprint, {xtls::Method::X509}};
    request.params.identity = identity_.identity;
    Jid bare = device.bare();
    request.params.trusted = [this, bare](const std::string& fp) { return trusted(fp, bare); };
    jingle::open_xmlstream(jingle(), std::move(request), [this, device, proxies, s5b, path](
                                                             Result<std::shared_ptr<xtls::E2eChannel>> r) {
        if (!r && s5b && r.error().condition == "feature-not-implemented") {
            spdlog::info("{} takes no S5B for the end-to-end stream: offering IBB", device.str());
            return open_channel(device, proxies, false);
        }
        auto callbacks = std::move(opening_[device]);
        opening_.erase(device);
        Result<ChannelPtr> out = r ? Result<ChannelPtr>(ChannelPtr(*r)) : Result<ChannelPtr>(r.error());
        if (!r && r.error().condition == "security-error")
            out = Error{"security-error", device.str() + " refused the end-to-end stream (" + r.error().text +
                                              "): the bridge no longer trusts this controller, or its certificate "
                                              "is not the one paired with; " + pair_hint(device)};
        if (out) {
            open_[device] = *out;
            open_paths_[device] = *path;
            spdlog::info("end-to-end stream with {} up ({})", device.str(), *path);
        }
        for (auto& cb : callbacks) cb(out);
    });
}

std::string SecureLinks::channel_path(const Jid& device) const {
    auto it = open_.find(device);
    if (it == open_.end() || it->second->closed()) return {};
    auto path = open_paths_.find(device);
    return path == open_paths_.end() ? std::string() : path->second;
}

void SecureLinks::pair(const Jid& bridge, const std::string& pin, const std::string& expected_fingerprint,
                       std::function<void(Result<xtls::TrustEntry>)> done) {
    jingle::OpenXmlStream request;
    request.peer = bridge;
    request.offer = xtls::Security{identity_.fingerprint, {xtls::Method::Srp}};
    request.params.srp = tls::SrpCredentials{session_->jid().str(), pin};
    jingle::open_xmlstream(jingle(), std::move(request), [this, bridge, expected_fingerprint, done](
                                                             Result<std::shared_ptr<xtls::E2eChannel>> r) {
        if (!r) {
            std::string why = r.error().condition == "security-error"
                                  ? "the bridge refused the PIN (wrong, expired or burned; no pairing window open?): " +
                                        r.error().text
                                  : r.error().text;
            return done(Error{r.error().condition, why});
        }
        // Both sides ask for the other's certificate (§4.1); pairing is done
        // when we have the bridge's and the bridge has had ours.
        struct Exchange : std::enable_shared_from_this<Exchange> {
            std::shared_ptr<xtls::E2eChannel> stream;
            std::function<void(Result<xtls::TrustEntry>)> done;
            std::optional<xtls::TrustEntry> theirs;
            std::optional<client::IqResponder> asked;  // the bridge's request, held until theirs is checked
            bool gave_ours = false, finished = false;
            boost::asio::steady_timer timer;
            explicit Exchange(boost::asio::io_context& io) : timer(io) {}
            void finish(Result<xtls::TrustEntry> result) {
                if (std::exchange(finished, true)) return;
                timer.cancel();
                // Kept open_-side by SecureLinks until it ends; dropping it here
                // breaks the cycle through the handlers on its router.
                std::exchange(stream, nullptr)->close();  // flushes our answer first
                done(std::move(result));
            }
            // Both certificates are known: close now (close() sends our answer first).
            void maybe_done() {
                if (theirs && gave_ours && stream) finish(*theirs);
            }
            void give_ours(const std::string& name, X509* cert) {
                if (!theirs || !asked || gave_ours) return;
                asked->result(xtls::make_pubkeys(name, cert));
                gave_ours = true;
                maybe_done();
            }
        };
        auto x = std::make_shared<Exchange>(io_);
        x->stream = *r;
        pairing_.push_back(*r);
        x->done = done;
        x->timer.expires_after(xtls::kPubkeyTimeout);
        x->timer.async_wait([x](const boost::system::error_code& ec) {
            if (ec) return;
            x->finish(Error{"remote-server-timeout", x->theirs ? "the bridge did not ask for this controller's certificate"
                                                               : "the bridge did not give its certificate"});
        });
        x->stream->on_closed([x] { x->finish(Error{"undefined-condition", "the bridge ended the pairing stream early"}); });
        // Ours goes out only once theirs is known good: a bridge with the
        // wrong fingerprint never learns this controller's certificate.
        auto give_ours = [x, cert = identity_.identity.cert, name = name_] { x->give_ours(name, cert.get()); };
        x->stream->router().on_iq("get", xtls::kPubkeyNs, "pubkeys",
                                  [x, give_ours](const client::Peer&, const xml::Element&, client::IqResponder responder) {
                                      x->asked = std::move(responder);
                                      give_ours();
                                  });
        auto iq = stanza::iq("get", bridge.str());
        iq.add_child(xtls::pubkeys_request());
        x->stream->router().send_iq(std::move(iq), xtls::kPubkeyTimeout, [this, bridge, x, expected_fingerprint, give_ours](
                                                                             const client::IqResponse& response) {
            if (!response.ok())
                return x->finish(Error{response.error().condition,
                                       "the bridge did not give its certificate: " + response.error().text});
            auto key = response.payload() ? xtls::parse_pubkeys(*response.payload())
                                          : Result<xtls::PubKey>(Error{"bad-request", "an empty answer"});
            if (!key) return x->finish(Error{"bad-request", "the bridge's certificate: " + key.error().text});
            if (!expected_fingerprint.empty() && key->fingerprint != expected_fingerprint)
                return x->finish(Error{"security-error", "the bridge's certificate has the fingerprint " +
                                                             key->fingerprint + ", not " + expected_fingerprint +
                                                             " as given; nothing was stored"});
            xtls::TrustEntry entry{key->fingerprint, bridge.bare(), xtls::TrustRole::Device, key->name,
                                   std::chrono::system_clock::now()};
            if (auto saved = trust_->add(entry); !saved) return x->finish(saved.error());
            x->theirs = entry;
            give_ours();
        });
    });
}

void SecureLinks::close_all(std::function<void()> flushed, std::chrono::milliseconds grace) {
    for (auto& [jid, peer] : oob_open_) peer->mux->close();  // the session ends once the stream flushed
    for (auto& [jid, channel] : open_) channel->close();
    for (auto& channel : pairing_) channel->close();
    if (!flushed) return;
    if (!jingle_) return boost::asio::post(io_, std::move(flushed));
    // Whichever comes first: every session ended, or the grace is over.
    auto once = std::make_shared<std::function<void()>>(std::move(flushed));
    auto fire = [once] {
        if (auto f = std::exchange(*once, nullptr)) f();
    };
    flush_timer_ = std::make_shared<boost::asio::steady_timer>(io_, grace);
    flush_timer_->async_wait([fire](const boost::system::error_code& ec) {
        if (!ec) fire();
    });
    jingle_->when_idle([fire, timer = flush_timer_] {
        timer->cancel();
        fire();
    });
}

}  // namespace xpmn::controller
