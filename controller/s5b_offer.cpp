#include "controller/s5b_offer.hpp"

#include <spdlog/spdlog.h>

#include "xmpp/jingle/s5b_addresses.hpp"

namespace xpmn::controller {

namespace {

// The S5B transport as the session sees it, noting which candidate carried
// the stream once it connected.
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

jingle::OfferTransport s5b_offer(const config::TransferSection& transfer,
                                 const std::vector<jingle::S5bStreamhost>& proxies,
                                 std::shared_ptr<std::string> path) {
    jingle::S5bOptions options;
    if (auto addresses = jingle::local_addresses(transfer.interfaces))
        options.addresses = std::move(addresses).value();
    else
        spdlog::warn("transfer: no direct S5B candidates: {}", addresses.error().text);
    options.proxies = proxies;
    options.attempt_deadline = transfer.candidate_timeout;
    return [options, path](const jingle::TransportContext& ctx) -> jingle::TransportPtr {
        auto s5b = jingle::S5bTransport::offer(ctx.manager, ctx.peer, options);
        if (!s5b) {
            spdlog::warn("transfer: no S5B offer ({}), in-band only", s5b.error().text);
            return nullptr;
        }
        (*s5b)->set_info_sender(ctx.send_info);
        return std::make_shared<PathRecorder>(*s5b, path);
    };
}

}  // namespace xpmn::controller
