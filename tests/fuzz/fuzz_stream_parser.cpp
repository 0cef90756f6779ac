// Fuzz target: the XML stream parser (xmpp/xml/stream_parser.*) on arbitrary
// bytes, split into arbitrary pieces, with the default and with tiny limits.
// Besides crashes, leaks and undefined behaviour it checks the parser's own
// promises: nothing is delivered after an error or after the stream end, and
// every stanza it delivers serializes to XML that parses back to the same
// stanza (what the router and the profiles rely on when they forward one).
//
// Input: byte 0 = piece size (1..256), byte 1 = flags (bit 0: tiny limits;
// bit 1: reset() the stream after the first stanza, as after STARTTLS/SASL),
// the rest = the bytes of the stream.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "xmpp/xml/stream_parser.hpp"

namespace {

using xpmn::xml::Element;
using xpmn::xml::StreamError;
using xpmn::xml::StreamLimits;
using xpmn::xml::StreamParser;

constexpr std::string_view kClientNs = "jabber:client";

[[noreturn]] void broken(const char* what, std::string_view xml = {}) {
    std::fprintf(stderr, "stream parser broke a promise: %s\n%.*s\n", what, static_cast<int>(xml.size()),
                 xml.data());
    std::abort();
}

// Parses `stanza_xml` inside a fresh stream; returns its re-serialization.
std::string reparse(const std::string& stanza_xml) {
    std::vector<std::string> got;
    bool failed = false;
    StreamParser p({
        .on_open = [](const Element&, const std::string&) {},
        .on_element = [&](Element e) { got.push_back(e.to_string(kClientNs)); },
        .on_close = [] {},
        .on_error = [&](const StreamError& e) {
            failed = true;
            std::fprintf(stderr, "reparse: %s: %s\n", e.condition.c_str(), e.text.c_str());
        },
    });
    p.feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    p.feed(stanza_xml);
    if (failed) broken("a delivered stanza, serialized, does not parse", stanza_xml);
    if (got.size() != 1) broken("a delivered stanza, serialized, parses as another number of stanzas", stanza_xml);
    return got[0];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t piece = static_cast<std::size_t>(data[0]) + 1;
    const std::uint8_t flags = data[1];
    const std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);

    StreamLimits limits;
    if (flags & 1) limits = StreamLimits{.max_stanza_bytes = 512, .max_depth = 4, .max_attributes = 4};
    const bool reset_after_first = flags & 2;

    bool errored = false, ended = false, reset_done = false;
    std::vector<Element> stanzas;
    StreamParser* self = nullptr;
    StreamParser parser(
        {
            .on_open =
                [&](const Element& header, const std::string&) {
                    if (errored || ended) broken("stream header after an error or the end");
                    (void)header.to_string();
                },
            .on_element =
                [&](Element e) {
                    if (errored || ended) broken("stanza after an error or the end");
                    stanzas.push_back(std::move(e));
                    if (reset_after_first && !reset_done) {
                        reset_done = true;
                        self->reset();
                    }
                },
            .on_close =
                [&] {
                    if (errored || ended) broken("stream end after an error or the end");
                    ended = true;
                },
            .on_error =
                [&](const StreamError& e) {
                    if (errored) broken("second error");
                    if (e.condition.empty()) broken("error without a condition");
                    errored = true;
                },
        },
        limits);
    self = &parser;
    for (std::size_t at = 0; at < bytes.size(); at += piece) parser.feed(bytes.substr(at, piece));
    if (errored != parser.failed()) broken("failed() disagrees with on_error");

    for (const Element& e : stanzas) {
        const std::string once = e.to_string(kClientNs);
        if (once.size() > StreamLimits{}.max_stanza_bytes / 2) continue;  // escaping grew it past a limit
        if (reparse(once) != once) broken("serialize -> parse -> serialize changed a stanza", once);
    }
    return 0;
}
