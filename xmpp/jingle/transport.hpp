// A Jingle transport method as the session sees it: the <transport/> element
// it offers or answers, the peer's answer, transport-info, and finally a
// connected net::ByteStream. IBB (XEP-0261) implements it; SOCKS5 (XEP-0260)
// plugs in the same way, so applications and XTLS never see which one runs.
#pragma once

#include <functional>
#include <memory>

#include "xmpp/core/result.hpp"
#include "xmpp/net/byte_stream.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::jingle {

class Transport {
public:
    using ConnectHandler = std::function<void(Result<net::ByteStreamPtr>)>;

    virtual ~Transport() = default;
    // Gathers what element() offers when that takes a while (S5B's assisted
    // candidates wait for the router's port mapping): the session sends its
    // session-initiate / session-accept only after `ready`, which comes once
    // (at once by default, or later from the event loop), bounded by the
    // transport's own timeout.
    virtual void prepare(std::function<void()> ready) { ready(); }
    // The <transport/> to send: the initiator's offer or the responder's answer.
    virtual xml::Element element() const = 0;
    // Initiator: the responder's <transport/> from session-accept (it may
    // have lowered parameters such as IBB's block-size). bad-request when it
    // is not an acceptable answer to the offer.
    virtual Result<void> accepted(const xml::Element& answer) = 0;
    // A transport-info for this content (candidates, …); the application
    // forwards it from Session::Handlers::on_transport_info.
    virtual Result<void> info(const xml::Element&) {
        return Error{"feature-not-implemented", "this transport takes no transport-info"};
    }
    // Establishes the byte stream (after session-accept): calls `done` once,
    // from the event loop, with the stream or an Error.
    virtual void connect(ConnectHandler done) = 0;
    // Gives up: no callback follows; a stream not yet handed out is aborted.
    virtual void cancel() = 0;
};

using TransportPtr = std::shared_ptr<Transport>;

}  // namespace xpmn::jingle
