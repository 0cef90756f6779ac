// DNS SRV lookup (RFC 2782) over UDP on the Asio loop.
//
// glibc has no event-driven res_query, and the one-thread rule
// (docs/architecture.md) rules out running it on a helper thread, so this
// sends its own query (RFC 1035) to the system's first nameserver. It is a
// stub: no recursion, no TCP, no EDNS, no DNSSEC. Replies are hostile input;
// every read is bounds-checked and compression pointers must point backwards.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "xmpp/core/result.hpp"

namespace xpmn::net {

struct SrvTarget {
    std::string host;  // no trailing dot; "." is the root ("service not offered")
    std::uint16_t port = 0;
    std::uint16_t priority = 0, weight = 0;

    friend bool operator==(const SrvTarget&, const SrvTarget&) = default;
};

class SrvResolver : public std::enable_shared_from_this<SrvResolver> {
public:
    // The targets in RFC 2782 connection order; an empty list: the name has
    // no SRV record (NXDOMAIN or NODATA). An Error: the lookup failed
    // (remote-server-timeout: no answer; remote-server-not-found: SERVFAIL,
    // truncated, malformed reply...). Never called after cancel(), and never
    // from inside lookup().
    using Handler = std::function<void(Result<std::vector<SrvTarget>> ordered)>;

    static std::shared_ptr<SrvResolver> lookup(boost::asio::io_context& io, std::string service_name, Handler handler,
                                               std::optional<boost::asio::ip::udp::endpoint> nameserver = {},
                                               std::chrono::milliseconds timeout = std::chrono::seconds(5));
    void cancel();

    // First `nameserver` line of /etc/resolv.conf; 127.0.0.1:53 without one.
    static boost::asio::ip::udp::endpoint system_nameserver(const std::string& resolv_conf = "/etc/resolv.conf");

private:
    SrvResolver(boost::asio::io_context& io, Handler handler);
    void send();
    void receive();
    void finish(Result<std::vector<SrvTarget>> ordered);
    void fail(std::string why, const char* condition = "remote-server-not-found");

    boost::asio::ip::udp::socket socket_;
    boost::asio::steady_timer timer_;
    Handler handler_;
    std::string name_;
    std::string query_;
    std::string server_text_;  // for error texts
    std::uint16_t id_ = 0;
    std::chrono::milliseconds half_timeout_{};
    int sent_ = 0;
    bool done_ = false;
    std::vector<char> buf_;
};

// The wire format, exposed for the unit tests.
namespace detail {

inline constexpr std::size_t kMaxReplySize = 65536;  // a UDP datagram cannot be larger
inline constexpr std::size_t kMaxAnswers = 64;       // more is an error, not a long parse
inline constexpr std::size_t kMaxNameWire = 255;     // RFC 1035 §2.3.4, with length octets
inline constexpr std::uint16_t kTypeSrv = 33, kTypeCname = 5, kClassIn = 1;

// A standard query for `name` (one trailing dot allowed), QTYPE SRV, RD set.
// Empty when the name is not encodable (empty label, label > 63, name > 255).
std::string build_srv_query(std::uint16_t id, std::string_view name);

// The name at `pos` in `msg`, labels joined by '.', "." for the root. `end`
// gets the offset after the name where it sits (after the first pointer).
// Empty optional when malformed: out of bounds, a pointer that does not point
// strictly backwards (which rules out loops), reserved label types, a label
// with '.' or a non-printable byte, or longer than kMaxNameWire.
std::optional<std::string> read_name(std::string_view msg, std::size_t pos, std::size_t& end);

struct ParsedReply {
    // The reply answers our query: id, QR, opcode and question match. Anything
    // else is not for us (stale, spoofed) and the resolver keeps waiting.
    bool ours = false;
    std::string error;               // empty: records is the answer
    std::vector<SrvTarget> records;  // in reply order; empty for NXDOMAIN / NODATA
};
// SRV records for `name` in the answer section (following CNAMEs within it);
// other types and classes are skipped. TC set, RCODE other than 0 and 3, or
// anything malformed gives an error.
ParsedReply parse_srv_reply(std::string_view msg, std::uint16_t id, std::string_view name);

// RFC 2782 order: ascending priority; within one priority, repeatedly pick a
// record with probability proportional to its weight (weight 0 records first
// in the running sum, so they only rarely come first).
std::vector<SrvTarget> order_srv(std::vector<SrvTarget> records, std::mt19937& rng);

}  // namespace detail
}  // namespace xpmn::net
