#include "tests/fuzz/channel_harness.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/net/memory_pair.hpp"
#include "xmpp/stream/xml_stream.hpp"

namespace xpmn::fuzz {

namespace {

constexpr std::string_view kHeader =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' from='xpmn.test' id='s1' version='1.0'>";

bool answerable(const xml::Element& stanza) {
    if (stanza.name() != "iq") return false;
    const std::string type = stanza.attr_or("type");
    return type != "result" && type != "error" && !stanza.attr_or("id").empty();
}

[[noreturn]] void broken(const std::string& what, const std::string& sent) {
    std::fprintf(stderr, "stanza router broke a promise: %s\nsent:\n%s\n", what.c_str(), sent.c_str());
    std::abort();
}

void drain(boost::asio::io_context& io) {
    // Everything posted, never a timer: a fuzz input must not wait.
    while (io.poll() > 0) {
    }
}

}  // namespace

int run_channel(const std::uint8_t* data, std::size_t size, const ChannelSetup& setup) {
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
    std::string sent;
    router.set_sender([&](xml::Element e) {
        sent += e.to_string(ns::client) + "\n";
        const std::string type = e.attr_or("type");
        if (e.name() == "iq" && (type == "result" || type == "error")) ++responses;
        if (type == "error" && stanza::error_text(e).empty()) broken("an error without <text/>", sent);
        xml->send(e);
    });
    std::shared_ptr<void> under_test = setup(io, router);
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
    theirs->set_handlers(
        {.on_data = [](std::string_view) {}, .on_closed = [](const std::string&) {}, .on_drained = [] {}});
    xml->start();
    theirs->start();
    xml->open({{"to", "xpmn.test"}, {"version", "1.0"}});

    // One request of ours waits for its answer (the input may bring it).
    auto request = stanza::iq("get", "xpmn.test", "ours-1");
    request.add("query", ns::disco_info);
    router.send_iq(std::move(request), std::chrono::seconds(30), [](const client::IqResponse&) {});

    if (flags & 1) theirs->write(std::string(kHeader));
    theirs->write(std::string(bytes));
    drain(io);
    if (responses != requests)
        broken(std::to_string(requests) + " answerable requests, " + std::to_string(responses) + " responses",
               sent);
    // To see how deep a seed gets: what the code under test answered.
    if (std::getenv("XPMN_FUZZ_TRACE")) std::fprintf(stderr, "sent:\n%s", sent.c_str());
    router.fail_pending("service-unavailable", "fuzz input over");
    xml->abort();
    theirs->abort();
    under_test.reset();
    drain(io);
    return 0;
}

}  // namespace xpmn::fuzz
