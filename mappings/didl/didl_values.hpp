// Strict parsers for the DIDL-Lite property values the bridge maps (UPnP AV
// ContentDirectory formats). Each returns nullopt for anything that is not a
// valid value, so the caller can leave the property out and warn: values are
// never guessed or clamped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xpmn::mappings {

// Plain unsigned decimal ("0".."max"); surrounding ASCII whitespace is allowed,
// signs, fractions, exponents and overflow are not.
std::optional<std::uint64_t> parse_u64(std::string_view s);
std::optional<std::uint32_t> parse_u32(std::string_view s);

// Longer than any medium (31 years): a duration or time beyond it is nonsense.
inline constexpr double kMaxMediaSeconds = 1e9;

// res@duration: H+:MM:SS[.F+] or H+:MM:SS.F0/F1 (F0 < F1) → seconds. Minutes
// and seconds may have one digit (some servers write 0:0:5); both must be < 60.
// F+ needs at least one digit.
std::optional<double> parse_duration(std::string_view s);

// res@resolution "WxH", both positive → normalised "WxH" (no leading zeros).
std::optional<std::string> parse_resolution(std::string_view s);

// upnp:originalTrackNumber: a positive integer (0 means "unknown" in practice).
std::optional<int> parse_track_number(std::string_view s);

// dc:date: YYYY, YYYY-MM or YYYY-MM-DD, optionally followed by a time part
// starting with 'T'. `day` is the date without the time part.
struct DidlDate {
    std::string full;
    std::string day;
    bool year_only = false;
};
std::optional<DidlDate> parse_date(std::string_view s);

// upnp:class → audio | video | image | other (prefix on a class-name boundary).
std::string media_class(std::string_view upnp_class);

// The bridge fetches media and covers over HTTP only: file://, internal paths
// and other schemes must never be handed to the transfer table.
bool is_fetchable_url(std::string_view url);

// res@bitrate is bytes/s per UPnP AV, but servers disagree (minidlna writes
// bit/s for audio). When size and duration are known, the average byte rate
// of the resource (size / duration) bounds what the value can mean: accept it
// as bytes/s if plausible, else as bit/s if that is plausible, else drop it.
// Returns bit/s; `note` says when the value was read as bit/s or dropped.
std::optional<std::uint64_t> bitrate_bps(std::uint64_t declared, std::optional<std::uint64_t> size,
                                         std::optional<double> duration_s, std::string& note);

// Without leading/trailing space, tab, CR, LF.
std::string_view trim_ascii(std::string_view s);

// Cuts `s` to at most `max_bytes` without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view s, std::size_t max_bytes);

}  // namespace xpmn::mappings
