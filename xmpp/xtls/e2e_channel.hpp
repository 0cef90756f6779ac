// The peer channel of one end-to-end stream (wire profile §3.1): an
// XEP-0246 XML stream over TLS over a Jingle transport, with one peer, the
// one its TLS handshake proved (Proof::EndToEnd with the certificate's
// fingerprint for x509, Proof::Pairing for SRP). It has its own router, so
// profiles run over it exactly as over c2s.
//
// Addressing: inner to/from mean nothing here (the peer is who TLS proved).
// Outbound stanzas are stamped from = our full JID, to = the peer's full JID,
// whatever the caller put there; inbound ones get from = the peer's full
// JID and to = ours before routing, so no handler can be misled by a
// forged address. IQ responses are matched by id only: the channel restores
// on a response the address its request was sent to.
//
// The channel ends when either side closes the stream (</stream:stream>),
// on a stream error or a limit violation (XmlStream's limits, as c2s), when
// TLS fails or the transport closes. Nothing outside this channel is touched.
#pragma once

#include <boost/asio/io_context.hpp>

#include <deque>
#include <map>
#include <memory>
#include <string>

#include "xmpp/client/peer_channel.hpp"
#include "xmpp/stream/xml_stream.hpp"
#include "xmpp/xtls/xtls.hpp"

namespace xpmn::xtls {

class E2eChannel : public client::PeerChannel {
public:
    // Takes over `stream` once both stream headers were exchanged (what
    // establish() does); the stream's handlers become the channel's.
    static std::shared_ptr<E2eChannel> create(boost::asio::io_context& io, std::shared_ptr<stream::XmlStream> stream,
                                              client::Peer peer, StreamEnds ends, Method method);
    ~E2eChannel() override;

    client::StanzaRouter& router() override { return router_; }
    void send(xml::Element stanza) override;
    std::optional<client::Peer> peer() const override { return peer_; }
    std::string describe() const override;

    const StreamEnds& ends() const { return ends_; }
    Method method() const { return method_; }
    // Why the channel ended: empty while open and after a clean close by either side.
    const std::string& end_reason() const { return end_reason_; }
    // The peer closed its transport cleanly after its last data: what
    // arrived is still read and dispatched (even by a reader paused for
    // back-pressure); the channel then ends as that input ends.
    void read_to_end() {
        if (!closed()) stream_->read_to_end();
    }

    // Requests sent and not answered whose addresses are remembered; beyond
    // this the oldest are forgotten (their late answers then reach the router
    // with the peer's address, and are still matched when sent to it).
    static constexpr std::size_t kMaxRememberedRequests = 1024;

private:
    E2eChannel(boost::asio::io_context& io, std::shared_ptr<stream::XmlStream> stream, client::Peer peer,
               StreamEnds ends, Method method);
    void attach();
    void received(xml::Element element);
    void ended(const std::string& reason);
    void closing() override;
    void remember_request(const xml::Element& stanza);

    std::shared_ptr<stream::XmlStream> stream_;
    client::StanzaRouter router_;
    client::Peer peer_;
    StreamEnds ends_;
    Method method_;
    std::string end_reason_;
    std::map<std::string, std::string> request_to_;  // id of an IQ we sent → its `to` as given
    std::deque<std::string> request_order_;
};

}  // namespace xpmn::xtls
