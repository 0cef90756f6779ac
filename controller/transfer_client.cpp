#include "controller/transfer_client.hpp"

#include <boost/asio/post.hpp>

#include <charconv>

#include "controller/controller_links.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/oob_session.hpp"
#include "xmpp/oob/oob_mux.hpp"

namespace xpmn::controller {

namespace {

std::optional<std::uint64_t> number(std::optional<std::string> text) {
    if (!text || text->empty()) return std::nullopt;
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc() || p != text->data() + text->size()) return std::nullopt;
    return n;
}

// The body of one OOB id as a pull Source. The receiver pushes; this keeps
// at most kBuffered bytes and pauses the id (and, once the receiver's own
// bound is reached, the whole stream and the sender behind it) while
// nobody pulls, resuming when the reader has taken half of it.
class IdSource : public oob::Source {
public:
    static constexpr std::size_t kBuffered = 256 * 1024;

    struct State {
        boost::asio::io_context* io = nullptr;
        std::weak_ptr<oob::OobMux> mux;
        std::string id;
        std::function<void()> abort;  // the §6.2 abort IQ
        std::string buffer;
        std::size_t pos = 0;  // bytes of `buffer` already given out
        bool paused = false, ended = false, cancelled = false, posted = false;
        Result<void> outcome = Result<void>();
        std::size_t want = 0;
        ReadHandler pending;

        std::size_t held() const { return buffer.size() - pos; }
        void data(std::string_view bytes) {
            if (cancelled) return;
            buffer.append(bytes);
            if (held() >= kBuffered && !paused) {
                paused = true;
                if (auto m = mux.lock()) m->pause(id);
            }
            schedule();
        }
        void end(Result<void> r) {
            ended = true;
            outcome = std::move(r);
            schedule();
        }
        void schedule() {
            if (!pending || posted || (held() == 0 && !ended)) return;
            posted = true;
            boost::asio::post(*io, [self = self_weak.lock()] {
                if (self) self->deliver();
            });
        }
        void deliver() {
            posted = false;
            if (!pending || cancelled) return;
            auto done = std::exchange(pending, nullptr);
            if (held() > 0) {
                std::size_t n = std::min(want, held());
                std::string out = buffer.substr(pos, n);
                pos += n;
                if (pos > buffer.size() / 2) buffer.erase(0, std::exchange(pos, 0));
                if (paused && held() <= kBuffered / 2) {
                    paused = false;
                    if (auto m = mux.lock()) m->resume(id);
                }
                return done(std::move(out));
            }
            if (!outcome) return done(outcome.error());
            done(std::string());
        }
        std::weak_ptr<State> self_weak;
    };

    explicit IdSource(std::shared_ptr<State> state) : state_(std::move(state)) {}
    ~IdSource() override { cancel(); }

    void read(std::size_t max, ReadHandler done) override {
        if (state_->cancelled) return;
        state_->want = max ? max : 1;
        state_->pending = std::move(done);
        state_->schedule();
    }
    void cancel() override {
        auto& s = *state_;
        if (std::exchange(s.cancelled, true)) return;
        s.pending = nullptr;
        s.buffer.clear();
        s.pos = 0;
        if (s.ended) return;
        if (auto m = s.mux.lock()) m->cancel(s.id);
        if (s.abort) s.abort();
    }

private:
    std::shared_ptr<State> state_;
};

// A clear message for the Transfer profile's errors (wire profile §6.1).
Error transfer_error(const client::IqResponse& r, const Jid& device) {
    const xml::Element* error = r.stanza.child("error");
    auto has = [error](const char* name) { return error && error->child(name, ns::media_server); };
    const Error& e = r.error();
    if (has("range-not-satisfiable"))
        return {"range-not-satisfiable", "the range lies outside the file (" + e.text + ")"};
    if (has("oob-session-required"))
        return {"oob-session-required", "the device has no out-of-band session with this controller (" + e.text + ")"};
    if (e.condition == "item-not-found")
        return {e.condition, "no such item on " + device.str() + " (" + e.text +
                                 "): transfer URIs come from a browse of that device since it started"};
    return {e.condition, device.str() + ": " + e.describe()};
}

}  // namespace

namespace {

// Sent as soon as our side of the OOB session is up: TLS 1.3 ends our
// (client) handshake before the device's, so the request may arrive first;
// the device then waits for its side (docs/protocol.md, transfer profile).
void request(ControllerLinks* c, const Jid& device, ChannelPtr channel, OobPtr session, xml::Element transfer,
             TransferHandler done) {
    auto iq = stanza::iq("get", device.str());
    iq.add_child(std::move(transfer));
    channel->router().send_iq(std::move(iq), c->request_timeout(), [=](const client::IqResponse& r) {
        if (!r.ok()) return done(transfer_error(r, device));
        const auto* o = r.payload();
        if (!o || o->name() != "oob" || o->ns() != jingle::kOobNs)
            return done(Error{"bad-request", device.str() + " answered the transfer without <oob/>"});
        auto size = number(o->attr("size"));
        auto total = number(o->attr("total"));
        std::string id = o->attr_or("id");
        if (!size || !total || id.empty())
            return done(Error{"bad-request", device.str() + " answered the transfer with a malformed <oob/>"});
        auto body = open_oob_id(*c, device, session, id, *size);
        if (!body) return done(body.error());
        IncomingTransfer t;
        t.size = *size;
        t.total = *total;
        t.type = o->attr_or("type");
        t.path = session->path;
        t.body = std::move(body).value();
        done(std::move(t));
    });
}

}  // namespace

void open_transfer(ControllerLinks& controller, const TransferUri& uri, std::optional<std::uint64_t> from,
                   std::optional<std::uint64_t> to, TransferHandler done) {
    ControllerLinks* c = &controller;
    Jid device = uri.device;
    c->channel_to(device.str(), [c, device, uid = uri.uid, from, to, done](Result<ChannelPtr> channel) {
        if (!channel) return done(channel.error());
        c->oob_to(device, [c, device, uid, from, to, done, channel = *channel](Result<OobPtr> oob) {
            if (!oob) return done(Error{oob.error().condition, "no out-of-band session with " + device.str() +
                                                                   ": " + oob.error().text});
            xml::Element transfer("transfer", ns::media_server);
            transfer.set_attr("uid", uid);
            if (from) transfer.set_attr("from", std::to_string(*from));
            if (to) transfer.set_attr("to", std::to_string(*to));
            request(c, device, channel, *oob, std::move(transfer), done);
        });
    });
}

Result<oob::SourcePtr> open_oob_id(ControllerLinks& controller, const Jid& device, const OobPtr& session,
                                   const std::string& id, std::uint64_t size) {
    auto state = std::make_shared<IdSource::State>();
    state->io = &controller.io();
    state->mux = session->mux;
    state->id = id;
    state->self_weak = state;
    ControllerLinks* c = &controller;
    state->abort = [c, device, id] { c->links().abort(device, id); };
    oob::Sink sink;
    std::weak_ptr<IdSource::State> weak = state;
    sink.on_data = [weak](std::string_view bytes) {
        if (auto s = weak.lock()) s->data(bytes);
    };
    sink.on_end = [weak](Result<void> r) {
        if (auto s = weak.lock()) s->end(std::move(r));
    };
    if (auto expected = session->mux->expect(id, size, std::move(sink)); !expected) {
        c->links().abort(device, id);
        return Error{expected.error().condition, "out-of-band id " + id + ": " + expected.error().text};
    }
    return oob::SourcePtr(std::make_unique<IdSource>(state));
}

}  // namespace xpmn::controller
