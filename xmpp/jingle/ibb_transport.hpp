// The Jingle IBB transport method (XEP-0261): <transport
// xmlns='urn:xmpp:jingle:transports:ibb:1' block-size sid/> negotiated in
// session-initiate / session-accept, then the initiator sends the IBB
// <open/> with the agreed values and both sides hold an IbbStream.
// Block-size: the responder answers min(offer, its own maximum,
// IbbStream::kMaxBlockSize); an initiator takes an answer that is not
// larger than its offer.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <memory>

#include "xmpp/jingle/ibb_registry.hpp"
#include "xmpp/jingle/transport.hpp"

namespace xpmn::jingle {

inline constexpr const char* kIbbTransportNs = "urn:xmpp:jingle:transports:ibb:1";

class IbbTransport : public Transport, public std::enable_shared_from_this<IbbTransport> {
public:
    // Initiator: offers a new IBB sid to `peer` with options.block_size.
    static std::shared_ptr<IbbTransport> offer(IbbRegistry& registry, const Jid& peer, IbbStream::Options options);
    // Responder: answers the initiator's <transport/>; bad-request when it is
    // malformed, conflict when its sid is in use with that peer. The stream is
    // registered at once so that the initiator's <open/> finds it.
    static Result<std::shared_ptr<IbbTransport>> answer(IbbRegistry& registry, const Jid& peer,
                                                        const xml::Element& offer, IbbStream::Options options);

    xml::Element element() const override;
    Result<void> accepted(const xml::Element& answer) override;
    // Initiator: sends <open/>; responder: waits for the peer's (up to
    // open_timeout). Either way `done` gets the open stream.
    void connect(ConnectHandler done) override;
    void cancel() override;

    std::size_t block_size() const { return options_.block_size; }
    const std::string& sid() const { return sid_; }
    std::chrono::milliseconds open_timeout{15000};

private:
    IbbTransport(IbbRegistry& registry, Jid peer, std::string sid, IbbStream::Options options, bool initiator);
    void connected(Result<net::ByteStreamPtr> result);

    IbbRegistry& registry_;
    Jid peer_;
    std::string sid_;
    IbbStream::Options options_;
    bool initiator_;
    IbbStreamPtr stream_;  // responder: registered from answer() on
    ConnectHandler done_;
    std::unique_ptr<boost::asio::steady_timer> timer_;
};

}  // namespace xpmn::jingle
