// Fuzz target: the SOCKS5 handshake parsers (xmpp/jingle/socks5_codec.*)
// that read what an S5B peer or proxy sends us, and the S5B <transport/>
// parser. Besides crashes and undefined behaviour it checks the promises the
// exact socket reads rely on: NeedMore asks for more bytes than it was given
// (so a reader never loops without reading), never more than the message
// can have; Done takes no more than it was given and the same answer comes
// from exactly those bytes; feeding the bytes as the reader does (up to
// `wanted` each time) ends the same way as the whole input at once; a parsed
// request or reply encodes back to the bytes it came from.
//
// Input: byte 0 selects the parser (greeting, method choice, request, reply,
// S5B transport XML), the rest is what the peer sent.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "xmpp/jingle/s5b_element.hpp"
#include "xmpp/jingle/socks5_codec.hpp"
#include "xmpp/xml/stream_parser.hpp"

namespace {

namespace socks5 = xpmn::jingle::socks5;

// Greeting: 2 + 255 methods; request/reply: 4 + 1 + 255 + 2.
constexpr std::size_t kLongestMessage = 262;

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "SOCKS5 parser broke a promise: %s\n", what);
    std::abort();
}

template <class Parser>
void check(Parser parse, std::string_view in) {
    auto whole = parse(in);
    if (whole.need_more() && (whole.wanted <= in.size() || whole.wanted > kLongestMessage))
        broken("NeedMore without asking for more, or for more than a message has");
    if (whole.done()) {
        if (whole.consumed == 0 || whole.consumed > in.size()) broken("Done took bytes it was not given");
        auto exact = parse(in.substr(0, whole.consumed));
        if (!exact.done() || exact.consumed != whole.consumed) broken("Done depends on bytes after the message");
    }
    // The reader's way: a prefix of `wanted` bytes at a time.
    std::size_t have = 0;
    for (;;) {
        auto p = parse(in.substr(0, have));
        if (!p.need_more()) {
            if (p.status != whole.status) broken("reading piecewise ends otherwise than all at once");
            break;
        }
        if (p.wanted <= have) broken("NeedMore without asking for more");
        if (p.wanted > in.size()) {
            // Waiting for bytes that never come ends at the deadline: only
            // a complete message must never be waited past.
            if (whole.done()) broken("asked for bytes past a complete message");
            break;
        }
        have = p.wanted;
    }
}

void round_trip_reply(std::string_view in) {
    auto p = socks5::parse_reply(in);
    if (!p.done()) return;
    auto again = socks5::encode_reply(p.value.rep, p.value.bound, p.value.port);
    if (!again) return;  // an address we would not send (e.g. an empty domain)
    if (*again != in.substr(0, p.consumed)) broken("a parsed reply encodes to other bytes");
}

void s5b_transport(std::string_view in) {
    using namespace xpmn::xml;
    StreamParser parser({
        .on_open = [](const Element&, const std::string&) {},
        .on_element =
            [](Element e) {
                auto parsed = xpmn::jingle::parse_s5b(e);
                if (!parsed) return;
                if (parsed->candidates.size() > xpmn::jingle::kMaxS5bCandidates) broken("candidate limit");
                // What we accepted we can send back and read again the same.
                auto again = xpmn::jingle::parse_s5b(xpmn::jingle::make_s5b(*parsed));
                if (!again || again->candidates.size() != parsed->candidates.size()) broken("S5B round trip");
            },
        .on_close = [] {},
        .on_error = [](const StreamError&) {},
    });
    parser.feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    parser.feed(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 5) {
        case 0: check(socks5::parse_greeting, in); break;
        case 1: check(socks5::parse_method_choice, in); break;
        case 2: check(socks5::parse_request, in); break;
        case 3:
            check(socks5::parse_reply, in);
            round_trip_reply(in);
            break;
        case 4: s5b_transport(in); break;
    }
    return 0;
}
