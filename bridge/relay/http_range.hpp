// HTTP byte ranges (RFC 9110 §14): the `Range` a request carries and the
// `Content-Range` a 206/416 response carries, plus the resolution of a
// requested range against the resource's length. Offsets are inclusive, like
// the wire profile's transfer `from`/`to` (§6.1), so the two map one to one.
// Only a single range is supported: multipart/byteranges is never asked for
// nor produced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "xmpp/core/result.hpp"

namespace xpmn::relay {

// Error condition of a range outside the resource (HTTP 416). It is not a
// stanza condition: the transfer profile turns it into bad-request plus the
// profile's <range-not-satisfiable/> element, the range server into a 416.
inline constexpr const char* kRangeNotSatisfiable = "range-not-satisfiable";

// A requested range: `bytes=first-last`, `bytes=first-` (last absent: to the
// end) or the suffix form `bytes=-N` (the last N bytes; first/last unused).
struct RangeSpec {
    std::uint64_t first = 0;
    std::optional<std::uint64_t> last;
    std::optional<std::uint64_t> suffix;

    static RangeSpec from_to(std::uint64_t first, std::optional<std::uint64_t> last = std::nullopt) {
        return RangeSpec{first, last, std::nullopt};
    }
    static RangeSpec last_bytes(std::uint64_t n) { return RangeSpec{0, std::nullopt, n}; }
    bool operator==(const RangeSpec&) const = default;
};

// A range resolved against a known length: both ends exist, inclusive.
struct ByteSpan {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint64_t size() const { return last - first + 1; }
    bool operator==(const ByteSpan&) const = default;
};

// A parsed Content-Range: `bytes A-B/TOTAL`, `bytes A-B/*` (total unknown)
// or, on a 416, `bytes */TOTAL` (span absent).
struct ContentRange {
    std::optional<ByteSpan> span;
    std::optional<std::uint64_t> total;
    bool operator==(const ContentRange&) const = default;
};

// "bytes=A-B", "bytes=A-" or "bytes=-N". A spec with last < first cannot be
// formatted meaningfully; callers validate (the profile answers bad-request).
std::string format_range(const RangeSpec& range);

// A Range header value with exactly one range-spec (unit `bytes`, case-
// insensitive, optional whitespace around the spec). Several ranges, another
// unit, last < first, numbers beyond 2^64-1 or any other syntax error →
// bad-request (an HTTP server then ignores the header, RFC 9110 §14.2).
Result<RangeSpec> parse_range(std::string_view header);

// A Content-Range header value. A span with last < first, or a span not
// inside a known total, → bad-request.
Result<ContentRange> parse_content_range(std::string_view header);

// "bytes A-B/TOTAL" (206) and "bytes */TOTAL" (416).
std::string format_content_range(const ByteSpan& span, std::uint64_t total);
std::string format_unsatisfied_range(std::uint64_t total);

// The bytes of a resource of `total` bytes that `range` selects (RFC 9110
// §14.1.2): a last offset past the end is cut to the end, a suffix longer than
// the resource selects all of it. First offset at or past the end, an empty
// suffix, or an empty resource → kRangeNotSatisfiable; last < first →
// bad-request.
Result<ByteSpan> resolve_range(const RangeSpec& range, std::uint64_t total);

}  // namespace xpmn::relay
