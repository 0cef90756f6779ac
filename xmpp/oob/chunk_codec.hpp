// The chunk framing of the OOB session (wire profile §6.2), both ways on the
// secured stream:
//   CHUNK-SIZE-HEX SP ID CRLF DATA CRLF      one chunk of an id
//   0 SP ID CRLF CRLF                       the end of an id
// Encoding appends to a caller's buffer; ChunkParser takes the stream in
// pieces split anywhere and yields events one at a time, data as views into
// the caller's piece (no copy of the payload), so the caller can stop at any
// event (back-pressure) and keep the rest of its piece for later.
// Limits are explicit: anything outside them is malformed and the parser
// stays failed (the stream is unusable after a framing error).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "xmpp/core/result.hpp"

namespace xpmn::oob {

// The most bytes one chunk carries (wire profile §6.2).
inline constexpr std::size_t kMaxChunkSize = 65536;
// The longest id; ours are decimal counters, a peer's longer id is malformed.
inline constexpr std::size_t kMaxIdLength = 64;
// The most hex digits of a size (leading zeros allowed, as in HTTP chunking).
inline constexpr std::size_t kMaxSizeDigits = 8;

// ID = [A-Za-z0-9]{1,kMaxIdLength}
bool is_valid_id(std::string_view id);

// Appends one chunk of `id`. Preconditions (programming errors, thrown as
// std::invalid_argument): a valid id and 1..kMaxChunkSize bytes of data.
void append_chunk(std::string& out, std::string_view id, std::string_view data);
// Appends the end of `id` (the zero chunk).
void append_end(std::string& out, std::string_view id);

class ChunkParser {
public:
    struct Event {
        enum class Kind { data, end };
        Kind kind;
        std::string_view id;    // valid until the next call of next()
        std::string_view data;  // Kind::data: a non-empty piece of the chunk, a view into the input
    };

    // Consumes bytes from the front of `in` up to the next event and returns
    // it; returns no event once all of `in` is consumed without completing
    // one (the parser keeps what it needs of a partial header). After an
    // error every call returns that error.
    Result<std::optional<Event>> next(std::string_view& in);

    // Between two chunks: no partial header, data or trailer pending.
    bool at_boundary() const { return state_ == State::size && digits_ == 0; }
    bool failed() const { return state_ == State::failed; }

private:
    enum class State { size, id, header_lf, data, data_cr, data_lf, end_cr, end_lf, failed };

    Error fail(std::string text);

    State state_ = State::size;
    std::size_t digits_ = 0;     // hex digits read of the size
    std::size_t size_ = 0;       // the chunk's size
    std::size_t remaining_ = 0;  // data bytes of the chunk still to come
    std::string id_;
    Error error_;
};

}  // namespace xpmn::oob
