// Fuzz target: the OOB chunk parser (xmpp/oob/chunk_codec.*) on arbitrary
// bytes split into arbitrary pieces. Besides crashes and undefined behaviour
// it checks the parser's promises: the same events and the same error
// however the input is split; data pieces never empty; valid ids only;
// nothing after an error; and what it accepted, encoded again, parses back
// to the same events.
//
// Input: byte 0 = piece size (1..256), the rest = the bytes of the stream.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "xmpp/oob/chunk_codec.hpp"

namespace {

using xpmn::oob::ChunkParser;

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "OOB chunk parser broke a promise: %s\n", what);
    std::abort();
}

// Events as "D<id>:<data>" (adjacent data of one id merged) and "E<id>".
struct Outcome {
    std::vector<std::string> events;
    std::string error;
};

Outcome parse(std::string_view input, std::size_t piece_size) {
    ChunkParser parser;
    Outcome out;
    for (std::size_t at = 0; at < input.size(); at += piece_size) {
        std::string_view piece = input.substr(at, piece_size);
        while (!piece.empty()) {
            auto event = parser.next(piece);
            if (!event) {
                out.error = event.error().text;
                if (out.error.empty()) broken("an error without a text");
                std::string_view more = "0 1\r\n\r\n";
                if (parser.next(more).ok()) broken("an event after an error");
                return out;
            }
            if (!*event) {
                if (!piece.empty()) broken("no event although input is left");
                break;
            }
            const auto& e = **event;
            if (!xpmn::oob::is_valid_id(e.id)) broken("an invalid id");
            if (e.kind == ChunkParser::Event::Kind::end) {
                out.events.push_back("E" + std::string(e.id));
                continue;
            }
            if (e.data.empty()) broken("an empty data piece");
            if (parser.at_boundary()) broken("at a boundary right after data (its CRLF is pending)");
            std::string prefix = "D" + std::string(e.id) + ":";
            if (!out.events.empty() && out.events.back().starts_with(prefix))
                out.events.back() += e.data;
            else
                out.events.push_back(prefix + std::string(e.data));
        }
    }
    return out;
}

std::string encode(const std::vector<std::string>& events) {
    std::string wire;
    for (const auto& ev : events) {
        if (ev[0] == 'E') {
            xpmn::oob::append_end(wire, std::string_view(ev).substr(1));
            continue;
        }
        auto colon = ev.find(':');
        std::string_view id = std::string_view(ev).substr(1, colon - 1);
        std::string_view data = std::string_view(ev).substr(colon + 1);
        for (std::size_t at = 0; at < data.size(); at += xpmn::oob::kMaxChunkSize)
            xpmn::oob::append_chunk(wire, id, data.substr(at, xpmn::oob::kMaxChunkSize));
    }
    return wire;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    std::size_t piece_size = data[0] % 256 + 1;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

    Outcome split = parse(input, piece_size);
    Outcome whole = parse(input, input.size() + 1);
    if (split.events != whole.events || split.error != whole.error) broken("the result depends on the split");

    Outcome again = parse(encode(whole.events), 4096);
    if (!again.error.empty()) broken("its own encoding of accepted input does not parse");
    if (again.events != whole.events) broken("accepted input does not round-trip");
    return 0;
}
