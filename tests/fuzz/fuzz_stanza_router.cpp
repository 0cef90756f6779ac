// Fuzz target: what a peer's bytes reach on a c2s or end-to-end channel. The
// input is written by one end of an in-memory connection (net::make_memory_pair)
// into an XmlStream at the other end, whose stanzas go to a StanzaRouter with
// the usual handlers installed (disco#info/#items via serve_disco, ping, a
// handler that fails, one that drops its responder, one that answers later)
// and one request of ours waiting for its answer. Besides crashes, leaks and
// undefined behaviour it checks the router's promise (wire profile §8): every
// IQ request that can be answered (it has an id) gets exactly one response,
// and every error carries a <text/>.
//
// Input: byte 0 = flags (bit 0: send the usual stream header first; bit 1:
// answers from the end-to-end peer resolver instead of the c2s one), the rest
// = the bytes the peer sends.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "xmpp/client/disco_service.hpp"
#include "xmpp/client/stanza_router.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/net/memory_pair.hpp"
#include "xmpp/stream/xml_stream.hpp"

using namespace xpmn;

namespace {

[[noreturn]] void broken(const char* what, const xml::Element& e) {
    std::fprintf(stderr, "stanza router broke a promise: %s\n%s\n", what, e.to_string().c_str());
    std::abort();
}

constexpr std::string_view kHeader =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' from='xpmn.test' id='s1' version='1.0'>";

bool answerable(const xml::Element& stanza) {
    if (stanza.name() != "iq") return false;
    const std::string type = stanza.attr_or("type");
    return type != "result" && type != "error" && !stanza.attr_or("id").empty();
}

void install_handlers(boost::asio::io_context& io, client::StanzaRouter& router) {
    auto info = std::make_shared<disco::Info>();
    info->identities.push_back({"automation", "gateway", "", "xpmn-bridge"});
    info->features = {ns::disco_info, ns::ping};
    client::serve_disco(router, info);
    router.on_iq("get", ns::ping, "ping",
                 [](const client::Peer&, const xml::Element&, client::IqResponder r) { r.result(); });
    router.on_iq("set", "urn:xmpp:fuzz:0", "fail",
                 [](const client::Peer&, const xml::Element&, client::IqResponder r) {
                     r.error("bad-request", "always");
                 });
    router.on_iq("set", "urn:xmpp:fuzz:0", "drop", [](const client::Peer&, const xml::Element&, client::IqResponder) {});
    router.on_iq("get", "urn:xmpp:fuzz:0", "later",
                 [&io](const client::Peer&, const xml::Element& iq, client::IqResponder r) {
                     xml::Element payload("later", "urn:xmpp:fuzz:0");
                     payload.set_attr("echo", iq.attr_or("id"));
                     boost::asio::post(io, [r, payload]() mutable { r.result(std::move(payload)); });
                 });
    router.on_presence([](const xml::Element& p) { (void)p.attr_or("from"); });
    router.on_message([](const xml::Element& m) { (void)m.child_text("body", ns::client); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool quiet = [] {
        spdlog::set_level(spdlog::level::off);
        return true;
    }();
    (void)quiet;
    if (size < 1) return 0;
    const std::uint8_t flags = data[0];
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

    boost::asio::io_context io;
    auto [ours, theirs] = net::make_memory_pair(io);
    auto xml = std::make_shared<stream::XmlStream>(ours);
    client::StanzaRouter router(io);
    router.set_account("home@xpmn.test", "xpmn.test");
    if (flags & 2)
        router.set_peer_resolver([](const xml::Element&) {
            return client::Peer::end_to_end_peer(Jid::must_parse("friend@other.test/phone"), "ab12");
        });

    int requests = 0, responses = 0;
    std::string sent;  // for the report of a broken promise
    router.set_sender([&](xml::Element e) {
        sent += e.to_string(ns::client) + "\n";
        const std::string type = e.attr_or("type");
        if (e.name() == "iq" && (type == "result" || type == "error")) ++responses;
        if (type == "error" && stanza::error_text(e).empty()) broken("an error without <text/>", e);
        xml->send(e);
    });
    install_handlers(io, router);
    xml->set_handlers({
        .on_open = [](const xml::Element&) {},
        .on_element =
            [&](xml::Element e) {
                // Only stanzas reach the router, as C2sSession::on_element
                // filters them (an end-to-end channel must do the same).
                if (!stanza::is_stanza(e)) return;
                if (answerable(e)) ++requests;
                router.dispatch(e);
            },
        .on_closed = [](const std::string&) {},
    });
    theirs->set_handlers({.on_data = [](std::string_view) {}, .on_closed = [](const std::string&) {}});
    xml->start();
    theirs->start();
    xml->open({{"to", "xpmn.test"}, {"version", "1.0"}});

    bool ours_answered = false;
    auto request = stanza::iq("get", "xpmn.test", "ours-1");
    request.add("query", ns::disco_info);
    router.send_iq(std::move(request), std::chrono::seconds(30),
                   [&](const client::IqResponse&) { ours_answered = true; });

    if (flags & 1) theirs->write(std::string(kHeader));
    theirs->write(std::string(bytes));
    while (io.poll() > 0) {
    }
    if (responses != requests) {
        std::fprintf(stderr, "%d answerable requests, %d responses; sent:\n%s\n", requests, responses, sent.c_str());
        std::abort();
    }
    router.fail_pending("service-unavailable", "fuzz input over");
    (void)ours_answered;
    xml->abort();
    theirs->abort();
    while (io.poll() > 0) {
    }
    return 0;
}
