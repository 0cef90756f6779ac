#include "xmpp/net/srv_resolver.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>
#include <fstream>
#include <sstream>

namespace xpmn::net {

namespace asio = boost::asio;
using asio::ip::udp;

namespace detail {
namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxPointers = 64;  // far more than any real name needs
constexpr std::size_t kMaxAliases = 8;    // CNAME chain length followed inside one answer
constexpr std::uint16_t kFlagQr = 0x8000, kFlagTc = 0x0200, kFlagRd = 0x0100;
constexpr unsigned kRcodeNxdomain = 3;

std::uint8_t u8(std::string_view m, std::size_t pos) { return static_cast<std::uint8_t>(m[pos]); }
std::uint16_t u16(std::string_view m, std::size_t pos) {
    return static_cast<std::uint16_t>(u8(m, pos) << 8 | u8(m, pos + 1));
}
void put16(std::string& out, std::uint16_t v) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xff);
}

// Printable ASCII except '.': anything else in a host name is either an
// attack or unusable, and keeps names comparable as plain strings.
bool label_char_ok(char c) { return c > ' ' && c < 0x7f && c != '.'; }

bool iequal(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) {
               return lower(x) == lower(y);
           });
}

std::string_view strip_dot(std::string_view name) {
    if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
    return name;
}

std::string rcode_text(unsigned rcode) {
    switch (rcode) {
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    default: return "RCODE " + std::to_string(rcode);
    }
}

ParsedReply fail(ParsedReply r, std::string error) {
    r.error = std::move(error);
    return r;
}

}  // namespace

std::string build_srv_query(std::uint16_t id, std::string_view name) {
    name = strip_dot(name);
    if (name.empty() || name == ".") return {};
    std::string q;
    put16(q, id);
    put16(q, kFlagRd);
    put16(q, 1);  // QDCOUNT
    put16(q, 0);  // ANCOUNT
    put16(q, 0);  // NSCOUNT
    put16(q, 0);  // ARCOUNT
    std::size_t wire = 1;  // the root label
    for (std::size_t pos = 0;;) {
        std::size_t dot = name.find('.', pos);
        std::string_view label = name.substr(pos, dot == std::string_view::npos ? dot : dot - pos);
        if (label.empty() || label.size() > kMaxLabel || !std::all_of(label.begin(), label.end(), label_char_ok))
            return {};
        wire += 1 + label.size();
        q += static_cast<char>(label.size());
        q += label;
        if (dot == std::string_view::npos) break;
        pos = dot + 1;
    }
    if (wire > kMaxNameWire) return {};
    q += '\0';
    put16(q, kTypeSrv);
    put16(q, kClassIn);
    return q;
}

std::optional<std::string> read_name(std::string_view msg, std::size_t pos, std::size_t& end) {
    std::string out;
    std::size_t wire = 0, pointers = 0;
    std::size_t limit = pos;  // every pointer must land strictly below the last start: no loops
    bool jumped = false;
    for (;;) {
        if (pos >= msg.size()) return std::nullopt;
        std::uint8_t len = u8(msg, pos);
        if ((len & 0xC0) == 0xC0) {
            if (pos + 1 >= msg.size() || ++pointers > kMaxPointers) return std::nullopt;
            std::size_t target = static_cast<std::size_t>(len & 0x3F) << 8 | u8(msg, pos + 1);
            if (target >= limit) return std::nullopt;
            if (!jumped) end = pos + 2;
            jumped = true;
            pos = limit = target;
            continue;
        }
        if (len & 0xC0) return std::nullopt;  // 0x40 / 0x80: obsolete extended label types
        wire += 1 + len;
        if (wire > kMaxNameWire) return std::nullopt;
        if (len == 0) {
            if (!jumped) end = pos + 1;
            return out.empty() ? std::string(".") : out;
        }
        if (pos + 1 + len > msg.size()) return std::nullopt;
        std::string_view label = msg.substr(pos + 1, len);
        if (!std::all_of(label.begin(), label.end(), label_char_ok)) return std::nullopt;
        if (!out.empty()) out += '.';
        out += label;
        pos += 1 + len;
    }
}

ParsedReply parse_srv_reply(std::string_view msg, std::uint16_t id, std::string_view name) {
    ParsedReply r;
    name = strip_dot(name);
    if (msg.size() < kHeaderSize) return fail(r, "reply shorter than a DNS header");
    if (msg.size() > kMaxReplySize) return fail(r, "reply larger than 64 KiB");
    if (u16(msg, 0) != id) return fail(r, "reply id does not match the query");
    std::uint16_t flags = u16(msg, 2);
    if (!(flags & kFlagQr)) return fail(r, "not a reply (QR clear)");
    if ((flags >> 11 & 0xF) != 0) return fail(r, "reply opcode is not QUERY");
    unsigned rcode = flags & 0xF;
    std::uint16_t qdcount = u16(msg, 4), ancount = u16(msg, 6);

    // The question echo ties the reply to our query. A server may leave it out
    // when it rejects the query outright (FORMERR, REFUSED...).
    std::size_t pos = kHeaderSize;
    if (qdcount == 0 && rcode != 0) {
        r.ours = true;
        return fail(r, "nameserver answered " + rcode_text(rcode));
    }
    if (qdcount != 1) return fail(r, "reply has " + std::to_string(qdcount) + " questions");
    auto qname = read_name(msg, pos, pos);
    if (!qname || pos + 4 > msg.size()) return fail(r, "malformed question in reply");
    if (!iequal(*qname, name) || u16(msg, pos) != kTypeSrv || u16(msg, pos + 2) != kClassIn)
        return fail(r, "reply question does not match the query");
    pos += 4;
    r.ours = true;

    // A truncated SRV set must not be taken for the whole set; retrying over
    // TCP is not implemented, so the caller falls back.
    if (flags & kFlagTc) return fail(r, "reply truncated (TC set); DNS over TCP is not supported");
    if (rcode == kRcodeNxdomain) return r;
    if (rcode != 0) return fail(r, "nameserver answered " + rcode_text(rcode));
    if (ancount > kMaxAnswers)
        return fail(r, "reply has " + std::to_string(ancount) + " answers (limit " + std::to_string(kMaxAnswers) + ")");

    struct Rr {
        std::string owner;
        std::uint16_t type, cls;
        std::size_t rdata, rdlength;
    };
    std::vector<Rr> rrs;
    for (std::size_t i = 0; i < ancount; ++i) {
        auto owner = read_name(msg, pos, pos);
        if (!owner) return fail(r, "malformed name in answer " + std::to_string(i + 1));
        if (pos + 10 > msg.size()) return fail(r, "answer " + std::to_string(i + 1) + " is truncated");
        Rr rr{std::move(*owner), u16(msg, pos), u16(msg, pos + 2), pos + 10, u16(msg, pos + 8)};
        pos = rr.rdata + rr.rdlength;
        if (pos > msg.size()) return fail(r, "answer " + std::to_string(i + 1) + " is truncated");
        rrs.push_back(std::move(rr));
    }

    // A name in RDATA must end exactly where the RDATA does.
    auto rdata_name = [&](const Rr& rr, std::size_t offset) -> std::optional<std::string> {
        std::size_t end = 0;
        auto n = read_name(msg, rr.rdata + offset, end);
        if (!n || end != rr.rdata + rr.rdlength) return std::nullopt;
        return n;
    };

    // Names that stand for ours: itself and CNAME targets within this answer.
    std::vector<std::string> aliases{std::string(name)};
    auto is_alias = [&](std::string_view n) {
        return std::any_of(aliases.begin(), aliases.end(), [&](const std::string& a) { return iequal(a, n); });
    };
    for (bool grew = true; grew && aliases.size() < kMaxAliases;) {
        grew = false;
        for (const auto& rr : rrs) {
            if (rr.type != kTypeCname || rr.cls != kClassIn || !is_alias(rr.owner)) continue;
            auto target = rdata_name(rr, 0);
            if (!target) return fail(r, "malformed CNAME in reply");
            if (!is_alias(*target) && aliases.size() < kMaxAliases) {
                aliases.push_back(std::move(*target));
                grew = true;
            }
        }
    }

    for (const auto& rr : rrs) {
        if (rr.type != kTypeSrv || rr.cls != kClassIn || !is_alias(rr.owner)) continue;
        if (rr.rdlength < 7) return fail(r, "malformed SRV record in reply");
        auto target = rdata_name(rr, 6);
        if (!target) return fail(r, "malformed SRV target in reply");
        r.records.push_back({std::move(*target), u16(msg, rr.rdata + 4), u16(msg, rr.rdata), u16(msg, rr.rdata + 2)});
    }
    return r;
}

std::vector<SrvTarget> order_srv(std::vector<SrvTarget> records, std::mt19937& rng) {
    std::stable_sort(records.begin(), records.end(),
                     [](const SrvTarget& a, const SrvTarget& b) { return a.priority < b.priority; });
    std::vector<SrvTarget> out;
    out.reserve(records.size());
    for (auto first = records.begin(); first != records.end();) {
        auto last = std::find_if(first, records.end(), [&](const SrvTarget& t) { return t.priority != first->priority; });
        std::vector<SrvTarget> group(std::make_move_iterator(first), std::make_move_iterator(last));
        std::stable_partition(group.begin(), group.end(), [](const SrvTarget& t) { return t.weight == 0; });
        // RFC 2782: a uniform number in [0, sum of weights]; take the first
        // record whose running sum reaches it; repeat with the rest.
        while (!group.empty()) {
            std::uint32_t sum = 0;
            for (const auto& t : group) sum += t.weight;
            std::uint32_t pick = std::uniform_int_distribution<std::uint32_t>(0, sum)(rng);
            std::uint32_t running = 0;
            std::size_t i = 0;
            for (; i + 1 < group.size(); ++i) {
                running += group[i].weight;
                if (running >= pick) break;
            }
            out.push_back(std::move(group[i]));
            group.erase(group.begin() + static_cast<std::ptrdiff_t>(i));
        }
        first = last;
    }
    return out;
}

}  // namespace detail

udp::endpoint SrvResolver::system_nameserver(const std::string& resolv_conf) {
    std::ifstream in(resolv_conf);
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::string key, value;
        if (!(words >> key >> value) || key != "nameserver") continue;
        boost::system::error_code ec;
        auto address = asio::ip::make_address(value, ec);
        if (!ec) return {address, 53};
    }
    return {asio::ip::address_v4::loopback(), 53};
}

SrvResolver::SrvResolver(asio::io_context& io, Handler handler)
    : socket_(io), timer_(io), handler_(std::move(handler)), buf_(detail::kMaxReplySize) {}

std::shared_ptr<SrvResolver> SrvResolver::lookup(asio::io_context& io, std::string service_name, Handler handler,
                                                 std::optional<udp::endpoint> nameserver,
                                                 std::chrono::milliseconds timeout) {
    auto r = std::shared_ptr<SrvResolver>(new SrvResolver(io, std::move(handler)));
    r->name_ = std::move(service_name);
    // The id and the kernel's random source port are what stop off-path spoofing.
    r->id_ = static_cast<std::uint16_t>(std::random_device{}());
    r->query_ = detail::build_srv_query(r->id_, r->name_);
    r->half_timeout_ = std::max(timeout / 2, std::chrono::milliseconds(1));
    udp::endpoint server = nameserver ? *nameserver : system_nameserver();
    std::string address = server.address().to_string();
    r->server_text_ = (server.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(server.port());

    std::string error;
    boost::system::error_code ec;
    if (r->query_.empty()) {
        error = "not a valid DNS name: " + r->name_;
    } else {
        // A connected UDP socket only accepts datagrams from the server and
        // reports ICMP "port unreachable" as an error right away.
        r->socket_.open(server.protocol(), ec);
        if (!ec) r->socket_.connect(server, ec);
        if (ec) error = "cannot reach nameserver " + r->server_text_ + ": " + ec.message();
    }
    if (!error.empty()) {
        asio::post(io, [r, error] {
            if (!r->done_) r->fail(error);
        });
        return r;
    }
    r->send();
    r->receive();
    return r;
}

void SrvResolver::send() {
    ++sent_;
    socket_.async_send(asio::buffer(query_), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
        if (self->done_ || ec == asio::error::operation_aborted) return;
        if (ec) self->fail("cannot send DNS query to " + self->server_text_ + ": " + ec.message());
    });
    // One retry after half the timeout: a single lost datagram should not
    // cost the whole connection attempt.
    timer_.expires_after(half_timeout_);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (self->done_ || ec) return;
        if (self->sent_ < 2)
            self->send();
        else
            self->fail("no answer from nameserver " + self->server_text_, "remote-server-timeout");
    });
}

void SrvResolver::receive() {
    socket_.async_receive(asio::buffer(buf_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                          std::size_t n) {
        if (self->done_ || ec == asio::error::operation_aborted) return;
        if (ec) {
            self->fail("nameserver " + self->server_text_ + ": " + ec.message());
            return;
        }
        auto reply = detail::parse_srv_reply(std::string_view(self->buf_.data(), n), self->id_, self->name_);
        if (!reply.ours) {
            self->receive();  // stale or forged: keep waiting for the real one
            return;
        }
        if (!reply.error.empty()) {
            self->fail(reply.error);
            return;
        }
        std::mt19937 rng(std::random_device{}());
        self->finish(detail::order_srv(std::move(reply.records), rng));
    });
}

void SrvResolver::fail(std::string why, const char* condition) { finish(Error{condition, std::move(why)}); }

void SrvResolver::finish(Result<std::vector<SrvTarget>> ordered) {
    done_ = true;
    timer_.cancel();
    boost::system::error_code ec;
    socket_.close(ec);
    auto h = std::move(handler_);
    handler_ = nullptr;
    if (h) h(std::move(ordered));
}

void SrvResolver::cancel() {
    done_ = true;
    handler_ = nullptr;
    timer_.cancel();
    boost::system::error_code ec;
    socket_.close(ec);
}

}  // namespace xpmn::net
