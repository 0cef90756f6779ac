// The Jingle SOCKS5 Bytestreams transport (XEP-0260 over XEP-0065).
//
// Each side offers candidates in its <transport/>: `direct` ones (a listening
// socket per configured local address, S5bListener) and `proxy` ones (the
// SOCKS5 streamhosts found on its server, s5b_proxies.hpp) and, when given a
// port mapper (S5bOptions::map_port), an `assisted` one per listener that the
// home router forwards to (prepare() waits for the mappings, at most
// map_timeout; each is removed when the transport ends). `assisted` and
// `tunnel` candidates from the peer are tried like direct ones. After
// session-accept each side tries the other's candidates (S5bAttempts) and
// nominates the first that works with transport-info <candidate-used/>, or
// sends <candidate-error/>. With both nominations in (§2.4): only one →
// that one; both → the higher priority, equal → the initiator's. A chosen
// proxy candidate is activated by the side that offered it: it connects to
// the proxy, sends <activate/> to it and then transport-info <activated/>.
//
// DST.ADDR (socks5::dst_addr): SHA-1(sid + initiator + responder) for every
// direct candidate (and our assisted ones: the same listener behind the
// router's DNAT), whoever offered it (XEP-0260 §2.2, wire profile §6.2);
// our listeners also take the reverse order, which some peers use for the
// responder's candidates. A proxy candidate's is SHA-1(sid + its sender +
// the other party), announced in `dstaddr`, so both ends name the same one.
//
// Outcome of connect(): the chosen TCP stream (a net::TcpStream, not started
// yet: set handlers, then start()), or an Error. When neither side found a
// working candidate (both candidate-error), or the proxy could not be
// activated, the condition is kS5bUnusable: the application then replaces
// the transport with IBB (transport-replace, XEP-0260 §3). Listening sockets
// and connections that were not chosen are closed when the outcome is known,
// on cancel() and on destruction.
//
// Transport-info goes out through the sender given to set_info_sender (the
// application wraps the <transport/> into a Jingle transport-info of its
// content; session_info_sender() does that). Sent before a sender exists,
// it waits for one.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/jingle/jingle_manager.hpp"
#include "xmpp/jingle/port_mapping.hpp"
#include "xmpp/jingle/s5b_attempts.hpp"
#include "xmpp/jingle/s5b_element.hpp"
#include "xmpp/jingle/s5b_listener.hpp"
#include "xmpp/jingle/transport.hpp"

namespace xpmn::jingle {

// The Error condition of connect() that means "S5B cannot work between these
// two, fall back to IBB" (both sides sent candidate-error, or proxy-error).
inline constexpr const char* kS5bUnusable = "service-unavailable";

// A SOCKS5 streamhost (XEP-0065 §4): a proxy's JID and where it listens.
struct S5bStreamhost {
    std::string jid;
    std::string host;
    std::uint16_t port = 0;
};

struct S5bOptions {
    // Local addresses (IP literals) to offer direct candidates on, most
    // preferred first. Empty: no direct candidates.
    std::vector<std::string> addresses;
    // Proxies to offer (s5b_proxies.hpp finds the server's), most preferred first.
    std::vector<S5bStreamhost> proxies;
    // Asks the home router to forward a port to a listener (assisted
    // candidates); empty: none. A mapper that has not answered within
    // map_timeout is not waited for (a late mapping is released at once).
    MapPort map_port;
    std::chrono::milliseconds map_timeout{2000};
    std::chrono::milliseconds stagger{200};            // between connection attempts
    std::chrono::milliseconds attempt_deadline{5000};  // one TCP + SOCKS5 connection
    // From connect() to the stream: both nominations, the activation, the
    // peer's connection to a candidate it nominated.
    std::chrono::milliseconds connect_timeout{30000};
};

class S5bTransport : public Transport, public std::enable_shared_from_this<S5bTransport> {
public:
    // Initiator: a new transport sid and our candidates for `peer` (a full
    // JID). bad-request when an address is not an IP literal.
    static Result<std::shared_ptr<S5bTransport>> offer(JingleManager& manager, const Jid& peer, S5bOptions options);
    // Responder: takes the initiator's candidates and offers our own.
    // bad-request for a malformed offer (or one over the limits).
    static Result<std::shared_ptr<S5bTransport>> answer(JingleManager& manager, const Jid& peer,
                                                        const xml::Element& offer, S5bOptions options);
    ~S5bTransport() override;

    // Where transport-info <transport/> elements go (set once the session exists).
    void set_info_sender(std::function<void(xml::Element transport)> send);

    void prepare(std::function<void()> ready) override;
    xml::Element element() const override;
    Result<void> accepted(const xml::Element& answer) override;
    // candidate-used / candidate-error / activated / proxy-error of the peer.
    Result<void> info(const xml::Element& transport) override;
    void connect(ConnectHandler done) override;
    void cancel() override;

    const std::string& sid() const { return sid_; }
    const std::vector<S5bCandidate>& candidates() const { return ours_; }
    // The cid of the candidate both sides settled on, once known.
    const std::optional<S5bCandidate>& chosen() const { return chosen_; }

private:
    S5bTransport(JingleManager& manager, Jid peer, std::string sid, bool initiator, S5bOptions options);
    Result<void> gather();
    void mapped(std::size_t index, PortMappingPtr mapping);
    void prepared();
    // The key of incoming_ for one of our candidates: an assisted candidate
    // reaches the listener of its direct one.
    std::string incoming_key(const std::string& cid) const;
    Result<void> take_peer_candidates(const xml::Element& transport);
    void send_info(S5bElement e);
    void on_incoming(const std::string& cid, std::shared_ptr<net::TcpStream> stream);
    void on_attempts(Result<S5bAttempts::Success> r);
    void decide();
    void use_ours(const S5bCandidate& theirs);
    void use_theirs(const S5bCandidate& mine);
    void activate_proxy(const S5bCandidate& mine);
    void finish(Result<net::ByteStreamPtr> outcome);
    void close_all();
    const S5bCandidate* our_candidate(const std::string& cid) const;
    std::string direct_dst_addr() const;  // SHA-1(sid + initiator + responder): direct candidates of either side
    std::string our_dst_addr() const;     // our proxy candidates (announced as dstaddr)
    std::string their_dst_addr() const;   // the peer's proxy candidates

    JingleManager& manager_;
    Jid peer_;
    std::string sid_;
    bool initiator_;
    S5bOptions options_;
    std::vector<S5bCandidate> ours_, theirs_;
    std::string their_dstaddr_;  // the peer's `dstaddr` (its proxy candidates), if it sent one
    std::shared_ptr<S5bListener> listener_;
    std::vector<std::string> listener_cids_;  // by S5bListener bound index: the cid of that direct candidate
    std::map<std::string, std::string> assisted_direct_;  // assisted cid -> the direct cid of its listener
    std::vector<PortMappingPtr> mappings_;   // held until the transport ends (cancel or destruction)
    std::function<void()> ready_;            // prepare() waiting for mappings
    std::size_t mapping_pending_ = 0;
    bool map_asked_ = false;
    boost::asio::steady_timer map_timer_;
    std::shared_ptr<S5bAttempts> attempts_;
    std::shared_ptr<socks5::Client> proxy_client_;
    std::map<std::string, std::shared_ptr<net::TcpStream>> incoming_;  // by our cid
    std::function<void(xml::Element)> send_;
    std::deque<xml::Element> unsent_;
    ConnectHandler done_;
    boost::asio::steady_timer timer_;
    // Our nomination: decided once our attempts ended; nullopt = candidate-error.
    bool local_done_ = false;
    std::optional<S5bAttempts::Success> mine_;
    // The peer's nomination (a cid of ours), once its transport-info came.
    bool peer_done_ = false;
    std::optional<std::string> peer_cid_;
    std::optional<S5bCandidate> chosen_;
    bool chose_ours_ = false;          // chosen_ is one of the peer's candidates (we connected)
    bool waiting_activated_ = false;   // we nominated the peer's proxy that won
    bool finished_ = false;
    bool cancelled_ = false;
};

// A sender for set_info_sender: wraps the <transport/> into a transport-info
// for `content` (creator and name) on `session`, held weakly.
std::function<void(xml::Element)> session_info_sender(const SessionPtr& session, const Content& content);

}  // namespace xpmn::jingle
