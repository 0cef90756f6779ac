#include "xmpp/jingle/socks5_codec.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

namespace xpmn::jingle::socks5 {

namespace {

std::uint8_t octet(std::string_view b, std::size_t i) { return static_cast<std::uint8_t>(b[i]); }

template <class T>
Parse<T> invalid(std::string why) {
    Parse<T> p;
    p.status = Parse<T>::Status::Invalid;
    p.error = "SOCKS5: " + std::move(why);
    return p;
}

template <class T>
Parse<T> need(std::size_t wanted) {
    Parse<T> p;
    p.wanted = wanted;
    return p;
}

template <class T>
Parse<T> done(T value, std::size_t consumed) {
    Parse<T> p;
    p.status = Parse<T>::Status::Done;
    p.value = std::move(value);
    p.consumed = consumed;
    return p;
}

// A frame parse that is not Done, as the caller's type (NeedMore or Invalid).
template <class T, class U>
Parse<T> not_done(const Parse<U>& from) {
    Parse<T> p;
    p.status = from.invalid() ? Parse<T>::Status::Invalid : Parse<T>::Status::NeedMore;
    p.wanted = from.wanted;
    p.error = from.error;
    return p;
}

std::string hex_byte(std::uint8_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    return {digits[v >> 4], digits[v & 0x0f]};
}

// The part shared by request and reply: VER CODE RSV ATYP ADDR PORT. The
// caller gets CODE; `what` names the message in errors.
struct Frame {
    std::uint8_t code = 0;
    Address address;
    std::uint16_t port = 0;
};

Parse<Frame> parse_frame(std::string_view b, const char* what) {
    if (b.size() >= 1 && octet(b, 0) != kVersion)
        return invalid<Frame>(std::string(what) + " has version " + hex_byte(octet(b, 0)) + ", not 05");
    if (b.size() >= 3 && octet(b, 2) != 0x00)
        return invalid<Frame>(std::string(what) + " has a non-zero reserved octet");
    if (b.size() < 5) return need<Frame>(5);
    Frame f;
    f.code = octet(b, 1);
    f.address.type = octet(b, 3);
    std::size_t addr_at = 4, addr_len = 0;
    switch (f.address.type) {
    case kAtypIpv4: addr_len = 4; break;
    case kAtypIpv6: addr_len = 16; break;
    case kAtypDomain:
        addr_len = octet(b, 4);
        addr_at = 5;
        if (addr_len == 0) return invalid<Frame>(std::string(what) + " has an empty domain name");
        break;
    default:
        return invalid<Frame>(std::string(what) + " has unknown address type " + hex_byte(f.address.type));
    }
    const std::size_t total = addr_at + addr_len + 2;
    if (b.size() < total) return need<Frame>(total);
    f.address.value = std::string(b.substr(addr_at, addr_len));
    f.port = static_cast<std::uint16_t>((octet(b, total - 2) << 8) | octet(b, total - 1));
    return done(std::move(f), total);
}

Result<std::string> encode_frame(std::uint8_t code, const Address& a, std::uint16_t port) {
    std::string out{static_cast<char>(kVersion), static_cast<char>(code), '\0', static_cast<char>(a.type)};
    switch (a.type) {
    case kAtypIpv4:
    case kAtypIpv6:
        if (a.value.size() != (a.type == kAtypIpv4 ? 4u : 16u))
            return Error{"bad-request", "SOCKS5: an IP address of the wrong length"};
        break;
    case kAtypDomain:
        if (a.value.empty() || a.value.size() > kMaxDomain)
            return Error{"bad-request", "SOCKS5: a domain name must have 1 to 255 octets"};
        out += static_cast<char>(a.value.size());
        break;
    default: return Error{"bad-request", "SOCKS5: unknown address type " + hex_byte(a.type)};
    }
    out += a.value;
    out += static_cast<char>(port >> 8);
    out += static_cast<char>(port & 0xff);
    return out;
}

}  // namespace

std::string describe(Rep rep) {
    switch (rep) {
    case Rep::Succeeded: return "succeeded";
    case Rep::GeneralFailure: return "general SOCKS server failure";
    case Rep::NotAllowed: return "connection not allowed by ruleset";
    case Rep::NetworkUnreachable: return "network unreachable";
    case Rep::HostUnreachable: return "host unreachable";
    case Rep::ConnectionRefused: return "connection refused";
    case Rep::TtlExpired: return "TTL expired";
    case Rep::CommandNotSupported: return "command not supported";
    case Rep::AddressTypeNotSupported: return "address type not supported";
    }
    return "reply code 0x" + hex_byte(static_cast<std::uint8_t>(rep));
}

std::string dst_addr(std::string_view sid, std::string_view requester, std::string_view target) {
    const std::string input = std::string(sid) + std::string(requester) + std::string(target);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(input.data(), input.size(), md, &md_len, EVP_sha1(), nullptr) != 1)
        throw std::runtime_error("SHA-1 digest failed");
    std::string hex;
    hex.reserve(2 * md_len);
    for (unsigned int i = 0; i < md_len; ++i) hex += hex_byte(md[i]);
    return hex;
}

bool Greeting::offers(std::uint8_t method) const {
    return std::find(methods.begin(), methods.end(), method) != methods.end();
}

std::string encode_greeting() {
    return {static_cast<char>(kVersion), '\x01', static_cast<char>(kMethodNoAuth)};
}

Parse<Greeting> parse_greeting(std::string_view b) {
    if (b.empty()) return need<Greeting>(2);
    if (octet(b, 0) != kVersion)
        return invalid<Greeting>("greeting has version " + hex_byte(octet(b, 0)) + ", not 05");
    if (b.size() < 2) return need<Greeting>(2);
    const std::size_t n = octet(b, 1);
    if (n == 0) return invalid<Greeting>("greeting offers no authentication method");
    if (b.size() < 2 + n) return need<Greeting>(2 + n);
    Greeting g;
    for (std::size_t i = 0; i < n; ++i) g.methods.push_back(octet(b, 2 + i));
    return done(std::move(g), 2 + n);
}

std::string encode_method_choice(std::uint8_t method) { return {static_cast<char>(kVersion), static_cast<char>(method)}; }

Parse<std::uint8_t> parse_method_choice(std::string_view b) {
    if (b.empty()) return need<std::uint8_t>(2);
    if (octet(b, 0) != kVersion)
        return invalid<std::uint8_t>("method choice has version " + hex_byte(octet(b, 0)) + ", not 05");
    if (b.size() < 2) return need<std::uint8_t>(2);
    return done(octet(b, 1), 2);
}

Result<std::string> encode_connect(std::string_view host, std::uint16_t port) {
    return encode_frame(kCmdConnect, Address{kAtypDomain, std::string(host)}, port);
}

Parse<Request> parse_request(std::string_view b) {
    auto f = parse_frame(b, "request");
    if (!f.done()) return not_done<Request>(f);
    return done(Request{f.value.code, std::move(f.value.address), f.value.port}, f.consumed);
}

Result<std::string> encode_reply(Rep rep, const Address& bound, std::uint16_t port) {
    return encode_frame(static_cast<std::uint8_t>(rep), bound, port);
}

Parse<Reply> parse_reply(std::string_view b) {
    auto f = parse_frame(b, "reply");
    if (!f.done()) return not_done<Reply>(f);
    return done(Reply{static_cast<Rep>(f.value.code), std::move(f.value.address), f.value.port}, f.consumed);
}

}  // namespace xpmn::jingle::socks5
