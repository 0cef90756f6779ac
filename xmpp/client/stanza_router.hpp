// Routes inbound stanzas of one session: IQ requests to handlers by
// (type, payload namespace, payload name), IQ responses to the requests
// waiting for them (with per-request timeouts), presence and messages to
// listeners. Every IQ request gets exactly one response: unknown payloads get
// service-unavailable, a handler that drops its responder answers
// internal-server-error, and every error carries a <text/> (wire profile §8).
// Handlers get the Peer the channel proved, never the stanza's `from`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "xmpp/client/peer.hpp"
#include "xmpp/core/jid.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::client {

class IqResponder {
public:
    explicit IqResponder(xml::Element request, std::function<void(xml::Element)> send);
    void result();
    void result(xml::Element payload);
    void error(std::string_view condition, std::string_view text = {});
    void error(const Error& error) { this->error(error.condition, error.text); }
    void error(xml::Element error_element);
    const xml::Element& request() const;
    bool answered() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

struct IqResponse {
    xml::Element stanza;           // the response (or a locally made error on timeout/disconnect)
    std::optional<Error> failure;  // nullopt: type='result'
    bool ok() const { return !failure; }
    const Error& error() const { return *failure; }
    const xml::Element* payload() const { return stanza.first_element(); }
};

// `peer` is who sent the request, as the channel proved it.
using IqHandler = std::function<void(const Peer& peer, const xml::Element& iq, IqResponder responder)>;
using IqCallback = std::function<void(const IqResponse&)>;
using StanzaListener = std::function<void(const xml::Element&)>;
// Who sent an inbound stanza; nullopt: nobody the channel can name (answered jid-malformed).
using PeerResolver = std::function<std::optional<Peer>(const xml::Element& stanza)>;

class StanzaRouter {
public:
    explicit StanzaRouter(boost::asio::io_context& io);
    ~StanzaRouter();

    void set_sender(std::function<void(xml::Element)> send) { send_ = std::move(send); }
    // `account` is our own bare JID: responses from it are accepted for requests sent without `to`.
    void set_account(std::string bare_jid, std::string domain);
    // How requests' peers are known. Default: routed by our c2s server
    // (Peer::routed_by_server with the account); an end-to-end channel sets
    // the one peer its TLS handshake proved.
    void set_peer_resolver(PeerResolver resolver) { resolve_peer_ = std::move(resolver); }

    // Registering the same (type, ns, name) again replaces the handler.
    void on_iq(std::string type, std::string ns, std::string name, IqHandler handler);
    using ListenerId = std::uint64_t;
    ListenerId on_presence(StanzaListener l);
    ListenerId on_message(StanzaListener l);
    void remove_listener(ListenerId id);

    // Sends an IQ get/set (an id is assigned when missing) and calls back once.
    void send_iq(xml::Element iq, std::chrono::milliseconds timeout, IqCallback callback);
    // Fails every pending request (e.g. the session ended for good).
    void fail_pending(std::string_view condition, std::string_view text);

    void dispatch(const xml::Element& stanza);
    std::size_t pending_requests() const { return pending_.size(); }

private:
    struct Pending {
        std::string to;
        IqCallback callback;
        std::unique_ptr<boost::asio::steady_timer> timer;
        std::uint64_t request = 0;  // which request under this id the timer belongs to
    };
    void dispatch_iq(const xml::Element& iq);
    void dispatch_request(const xml::Element& iq, const std::string& type);
    // The <text/> of service-unavailable: what exactly is not offered here.
    std::string unavailable_text(const std::string& type, const xml::Element& payload) const;
    void complete(const std::string& id, IqResponse response);
    void timed_out(const std::string& id, std::uint64_t request);

    boost::asio::io_context& io_;
    std::function<void(xml::Element)> send_;
    std::string account_, domain_;
    Jid account_jid_;
    PeerResolver resolve_peer_;  // empty: Peer::routed_by_server
    std::map<std::tuple<std::string, std::string, std::string>, IqHandler> handlers_;
    std::map<ListenerId, StanzaListener> presence_listeners_, message_listeners_;
    ListenerId next_listener_ = 1;
    std::map<std::string, Pending> pending_;
    std::uint64_t next_id_ = 1;
    std::uint64_t next_request_ = 1;
    std::string id_prefix_;
    // Timer handlers hold this weakly: a timer that has fired but not yet run
    // its handler cannot be cancelled, and must not reach a destroyed router.
    std::shared_ptr<StanzaRouter*> self_ = std::make_shared<StanzaRouter*>(this);
};

}  // namespace xpmn::client
