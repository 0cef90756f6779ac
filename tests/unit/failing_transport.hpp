// A Jingle primary transport that cannot connect (S5B when no candidate
// works), for the applications' fallback tests: it offers an S5B-looking
// <transport/>, sends one transport-info when connecting and records the peer's.
#pragma once

#include <boost/asio/post.hpp>

#include "xmpp/jingle/content_transport.hpp"

namespace xpmn::jingletest {

using jingle::Transport;
using jingle::TransportContext;

inline constexpr const char* kS5bNs = "urn:xmpp:jingle:transports:s5b:1";

struct FailingTransport : Transport {
    TransportContext ctx;
    bool hangs = false;  // connect() never completes
    bool holds = false;  // ... and keeps its handler, as a real transport does until it connects
    ConnectHandler held;
    bool defers = false;  // prepare() waits until the test calls `ready`
    std::function<void()> ready;
    std::vector<xml::Element> infos;
    bool cancelled = false;
    explicit FailingTransport(TransportContext c) : ctx(std::move(c)) {}
    xml::Element element() const override {
        xml::Element t("transport", kS5bNs);
        t.set_attr("sid", "s5b-sid");
        return t;
    }
    Result<void> accepted(const xml::Element& answer) override {
        if (answer.ns() != kS5bNs) return Error{"bad-request", "not s5b"};
        return {};
    }
    Result<void> info(const xml::Element& e) override {
        infos.push_back(e);
        return {};
    }
    void connect(ConnectHandler done) override {
        xml::Element t = element();
        t.add("candidate-error");
        ctx.send_info(std::move(t));
        if (holds) held = std::move(done);
        if (hangs || holds) return;
        boost::asio::post(ctx.manager.io(), [done] { done(Error{jingle::kTransportFailed, "no candidate worked"}); });
    }
    void prepare(std::function<void()> r) override {
        if (!defers) return r();
        ready = std::move(r);
    }
    void cancel() override {
        cancelled = true;
        held = nullptr;
    }
};

}  // namespace xpmn::jingletest
