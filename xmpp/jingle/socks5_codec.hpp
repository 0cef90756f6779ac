// The SOCKS5 messages (RFC 1928) that S5B (XEP-0065, and Jingle S5B XEP-0260)
// uses, as pure functions on bytes: no I/O, so partial reads, junk and
// limits are tested without sockets and the client, the direct-candidate
// server and the fuzz target share one parser.
//
// The XEP-0065 subset: authentication method "no authentication" (0x00)
// only, command CONNECT, DST.ADDR a domain name (ATYP 3) that carries the
// 40-digit hex address hash, DST.PORT 0. Parsers still accept IPv4/IPv6
// addresses where RFC 1928 allows them (a proxy's BND.ADDR may be one).
//
// Every parser looks at the bytes received so far and answers NeedMore
// (nothing consumed; call again with more; `wanted` says how many bytes in
// all the message has at least, so a reader can ask for exactly those and
// never read past the message into the data that follows it), Done (the
// message and how many bytes it took; bytes after it belong to the next
// message) or Invalid (why; the connection is to be dropped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "xmpp/core/result.hpp"

namespace xpmn::jingle::socks5 {

inline constexpr std::uint8_t kVersion = 0x05;
inline constexpr std::uint8_t kMethodNoAuth = 0x00;
inline constexpr std::uint8_t kMethodNoneAcceptable = 0xFF;
inline constexpr std::uint8_t kCmdConnect = 0x01;
inline constexpr std::uint8_t kAtypIpv4 = 0x01;
inline constexpr std::uint8_t kAtypDomain = 0x03;
inline constexpr std::uint8_t kAtypIpv6 = 0x04;
inline constexpr std::size_t kMaxDomain = 255;  // one length octet

// Reply codes (RFC 1928 §6).
enum class Rep : std::uint8_t {
    Succeeded = 0x00,
    GeneralFailure = 0x01,
    NotAllowed = 0x02,
    NetworkUnreachable = 0x03,
    HostUnreachable = 0x04,
    ConnectionRefused = 0x05,
    TtlExpired = 0x06,
    CommandNotSupported = 0x07,
    AddressTypeNotSupported = 0x08,
};
// "host unreachable", …; "reply code 0xNN" for unassigned ones.
std::string describe(Rep rep);

// The XEP-0065 DST.ADDR: lowercase hex SHA-1 of sid + requester + target
// (full JIDs as strings, concatenated without separators). For Jingle S5B
// (XEP-0260 §2.2) `sid` is the <transport/>'s sid (not the Jingle session's)
// and the first JID is the party that sent the candidate: candidates from
// the initiator use SHA1(sid + initiator + responder), candidates from the
// responder SHA1(sid + responder + initiator). The same value goes into the
// <transport/>'s 'dstaddr' attribute when proxy candidates are offered.
std::string dst_addr(std::string_view sid, std::string_view requester, std::string_view target);

template <class T>
struct Parse {
    enum class Status { NeedMore, Done, Invalid };
    Status status = Status::NeedMore;
    std::size_t wanted = 0;    // NeedMore: the message's least total size known so far
    T value{};                 // Done
    std::size_t consumed = 0;  // Done: bytes the message took
    std::string error;         // Invalid: what is wrong, for humans

    bool need_more() const { return status == Status::NeedMore; }
    bool done() const { return status == Status::Done; }
    bool invalid() const { return status == Status::Invalid; }
};

// Client greeting: VER NMETHODS METHODS.
struct Greeting {
    std::vector<std::uint8_t> methods;  // 1..255 entries
    bool offers(std::uint8_t method) const;
};
std::string encode_greeting();  // 05 01 00: no authentication only
Parse<Greeting> parse_greeting(std::string_view bytes);

// Server's method selection: VER METHOD.
std::string encode_method_choice(std::uint8_t method);
Parse<std::uint8_t> parse_method_choice(std::string_view bytes);

// An address as SOCKS5 carries it: a domain name (text) or an IPv4/IPv6
// address (4/16 raw octets in `value`).
struct Address {
    std::uint8_t type = kAtypDomain;
    std::string value;
};

// Request: VER CMD RSV ATYP DST.ADDR DST.PORT.
struct Request {
    std::uint8_t command = kCmdConnect;
    Address address;
    std::uint16_t port = 0;
};
// CONNECT to the domain name `host` (1..255 octets), port `port` (0 for S5B).
Result<std::string> encode_connect(std::string_view host, std::uint16_t port = 0);
Parse<Request> parse_request(std::string_view bytes);

// Reply: VER REP RSV ATYP BND.ADDR BND.PORT.
struct Reply {
    Rep rep = Rep::Succeeded;
    Address bound;
    std::uint16_t port = 0;
};
// XEP-0065 streamhosts answer with the DST.ADDR and port they were given.
Result<std::string> encode_reply(Rep rep, const Address& bound, std::uint16_t port);
Parse<Reply> parse_reply(std::string_view bytes);

}  // namespace xpmn::jingle::socks5
