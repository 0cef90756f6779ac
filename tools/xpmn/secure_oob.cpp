// SecureLinks' out-of-band sessions (wire profile §6.2): the controller
// opens one per device it transfers from, the first time it needs one.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "tools/xpmn/secure_links.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/oob_session.hpp"
#include "xmpp/jingle/s5b_addresses.hpp"
#include "xmpp/jingle/s5b_proxies.hpp"
#include "xmpp/jingle/s5b_transport.hpp"
#include "xmpp/oob/oob_mux.hpp"

namespace xpmn::tools {

namespace {

// How long the abort IQ may wait for its answer; nothing waits on it.
constexpr std::chrono::seconds kAbortTimeout{15};

// The S5B transport as the OOB session sees it, noting which candidate
// carried the stream once it connected: when it never does, the session
// fell back to IBB and the path stays "ibb".
class PathRecorder : public jingle::Transport {
public:
    PathRecorder(std::shared_ptr<jingle::S5bTransport> s5b, std::shared_ptr<std::string> path)
        : s5b_(std::move(s5b)), path_(std::move(path)) {}
    void prepare(std::function<void()> ready) override { s5b_->prepare(std::move(ready)); }
    xml::Element element() const override { return s5b_->element(); }
    Result<void> accepted(const xml::Element& answer) override { return s5b_->accepted(answer); }
    Result<void> info(const xml::Element& transport) override { return s5b_->info(transport); }
    void connect(ConnectHandler done) override {
        s5b_->connect([s5b = std::weak_ptr<jingle::S5bTransport>(s5b_), path = path_,
                       done = std::move(done)](Result<net::ByteStreamPtr> r) {
            auto t = s5b.lock();
            if (r && t && t->chosen()) {
                switch (t->chosen()->type) {
                    case jingle::S5bType::Proxy: *path = "s5b-proxy"; break;
                    case jingle::S5bType::Assisted: *path = "s5b-assisted"; break;
                    default: *path = "s5b-direct"; break;
                }
            }
            done(std::move(r));
        });
    }
    void cancel() override { s5b_->cancel(); }

private:
    std::shared_ptr<jingle::S5bTransport> s5b_;
    std::shared_ptr<std::string> path_;
};

}  // namespace

void SecureLinks::oob(const Jid& device, OobCallback done) {
    if (auto it = oob_open_.find(device); it != oob_open_.end()) {
        if (!it->second->mux->closed() && !it->second->session->ended()) return done(it->second);
        oob_open_.erase(it);
    }
    if (trust_.of(device.bare()).empty())
        return done(Error{"not-authorized", "this controller is not paired with " + device.bare().str()});
    auto& waiting = oob_opening_[device];
    waiting.push_back(std::move(done));
    if (waiting.size() > 1) return;  // already opening: share the session
    if (!transfer_.proxies) return open_oob(device, {});
    if (!proxies_) proxies_ = jingle::S5bProxies::create(io_, session_->router(), account_.domain());
    proxies_->get([this, device](const std::vector<jingle::S5bStreamhost>& found) { open_oob(device, found); });
}

void SecureLinks::open_oob(const Jid& device, const std::vector<jingle::S5bStreamhost>& proxies) {
    jingle::S5bOptions options;
    if (auto addresses = jingle::local_addresses(transfer_.interfaces))
        options.addresses = std::move(addresses).value();
    else
        spdlog::warn("transfer: no direct S5B candidates: {}", addresses.error().text);
    options.proxies = proxies;
    auto path = std::make_shared<std::string>("ibb");

    jingle::OpenOob request;
    request.peer = device;
    request.offer = xtls::Security{identity_.fingerprint, {xtls::Method::X509}};
    request.params.identity = identity_.identity;
    Jid bare = device.bare();
    request.params.trusted = [this, bare](const std::string& fp) { return trust_.trusts(fp, bare); };
    request.ibb.block_size = jingle::IbbStream::kMaxBlockSize;
    request.transport = [options, path](const jingle::TransportContext& ctx) -> jingle::TransportPtr {
        auto s5b = jingle::S5bTransport::offer(ctx.manager, ctx.peer, options);
        if (!s5b) {
            spdlog::warn("transfer: no S5B offer ({}), in-band only", s5b.error().text);
            return nullptr;
        }
        (*s5b)->set_info_sender(ctx.send_info);
        return std::make_shared<PathRecorder>(*s5b, path);
    };
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

}  // namespace xpmn::tools
