// The <transport xmlns='urn:xmpp:jingle:transports:s5b:1'/> of XEP-0260 as
// data: the candidates a party offers (session-initiate / session-accept)
// and the transport-info notifications (candidate-used, candidate-error,
// activated, proxy-error). Parsing checks everything a peer controls
// against explicit limits; anything malformed is bad-request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::jingle {

inline constexpr const char* kS5bTransportNs = "urn:xmpp:jingle:transports:s5b:1";
inline constexpr const char* kBytestreamsNs = "http://jabber.org/protocol/bytestreams";

// Candidates one <transport/> may carry: a host offers one per address plus
// a few proxies; more is an attack on our connection attempts.
inline constexpr std::size_t kMaxS5bCandidates = 16;
// A host name or address literal (DNS name limit).
inline constexpr std::size_t kMaxS5bHost = 253;
// cid and sid: short tokens in practice (XEP-0260 uses 8–24 characters).
inline constexpr std::size_t kMaxS5bId = 64;

// XEP-0260 §2.1 type preferences; priority = (2^16 × preference) + local preference.
enum class S5bType { Direct, Assisted, Tunnel, Proxy };
std::uint32_t type_preference(S5bType type);
std::uint32_t s5b_priority(S5bType type, std::uint16_t local_preference);

struct S5bCandidate {
    std::string cid;
    std::string host;
    std::string jid;  // the streamhost: the party itself, or the proxy
    std::uint16_t port = 0;
    std::uint32_t priority = 0;
    S5bType type = S5bType::Direct;
};

struct S5bElement {
    enum class Kind { Candidates, CandidateUsed, CandidateError, Activated, ProxyError };
    Kind kind = Kind::Candidates;
    std::string sid;
    std::string dstaddr;                   // optional; only with proxy candidates
    std::vector<S5bCandidate> candidates;  // Kind::Candidates
    std::string cid;                       // CandidateUsed, Activated
};

// bad-request (with what is wrong) for anything malformed or over a limit;
// feature-not-implemented for mode='udp'.
Result<S5bElement> parse_s5b(const xml::Element& transport);
xml::Element make_s5b(const S5bElement& element);

}  // namespace xpmn::jingle
