// One connection attempt of a c2s session: connect (SRV or host:port),
// mandatory STARTTLS with certificate verification, SASL, then either
// XEP-0198 resumption of the previous session or resource binding (and
// enabling stream management). It ends exactly once, online or with an
// error; a new attempt is a new object. What happens once online (acks,
// pings, queues, reconnecting) is the session's business, not this one's.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>

#include "xmpp/client/session_config.hpp"
#include "xmpp/client/stream_management.hpp"
#include "xmpp/core/jid.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/stream/xml_stream.hpp"
#include "xmpp/tls/tls_context.hpp"

namespace xpmn::net {
class TcpStream;
class XmppConnector;
}
namespace xpmn::sasl {
class SaslClient;
}

namespace xpmn::client {

class C2sNegotiation : public std::enable_shared_from_this<C2sNegotiation> {
public:
    struct Online {
        std::shared_ptr<stream::XmlStream> stream;
        Jid bound;
        bool resumed = false;  // the session's unacknowledged stanzas are to be resent
    };
    // Online, or an Error (remote-server-not-found) whose text says why the attempt failed.
    using Outcome = Result<Online>;
    using Done = std::function<void(Outcome)>;

    // `config` and `sm` belong to the session, which outlives this attempt.
    // `stream_handlers` are installed on the XML stream as soon as it exists:
    // the session owns what arrives and passes negotiation elements back
    // through on_element() until the attempt is done.
    C2sNegotiation(boost::asio::io_context& io, const SessionConfig& config, tls::SslCtxPtr tls_ctx,
                   StreamManagement& sm, stream::XmlStream::Handlers stream_handlers, Done done);
    ~C2sNegotiation();

    void start();
    // An element of the stream. False: not part of the negotiation (a stanza
    // that arrived early, which the session handles).
    bool on_element(const xml::Element& e);
    // The stream ended before the attempt was done.
    void on_closed(const std::string& reason);
    // Ends the attempt without calling back; an open stream is closed cleanly.
    void cancel();

private:
    enum class State { Connecting, Features, StartTls, Sasl, Binding, Resuming, Enabling, Done };
    enum class Stage { PreTls, PostTls, PostAuth };

    void on_connected(Result<std::shared_ptr<net::TcpStream>> tcp);
    void open_stream();
    void on_features(const xml::Element& features);
    void start_sasl(const xml::Element& features);
    void on_sasl(const xml::Element& e);
    void start_tls();
    void request_resume();
    void bind();
    void on_bound(const xml::Element& iq);
    bool on_sm(const xml::Element& e);
    void write(const xml::Element& e);
    void succeed(bool resumed);
    // Closes the stream (with a stream error when `condition` is set) and reports `reason`.
    void fail(const std::string& reason, const std::string& condition = {});
    void finish(Outcome outcome);

    boost::asio::io_context& io_;
    const SessionConfig& config_;
    std::string tag_;
    tls::SslCtxPtr tls_ctx_;
    StreamManagement& sm_;
    stream::XmlStream::Handlers stream_handlers_;
    Done done_;
    State state_ = State::Connecting;
    Stage stage_ = Stage::PreTls;
    bool sm_offered_ = false;
    Jid bound_;
    std::shared_ptr<net::XmppConnector> connector_;
    std::shared_ptr<stream::XmlStream> stream_;
    std::unique_ptr<sasl::SaslClient> sasl_;
    boost::asio::steady_timer bind_timer_;
};

}  // namespace xpmn::client
