// Routes inbound stanzas of one session: IQ requests to handlers by
// (type, payload namespace, payload name), IQ responses to the requests
// waiting for them (with per-request timeouts), presence and messages to
// listeners. Every IQ request gets exactly one response: unknown payloads get
// service-unavailable, a handler that drops its responder answers
// internal-server-error.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "xmpp/xml/element.hpp"

namespace xpmn::client {

class IqResponder {
public:
    explicit IqResponder(xml::Element request, std::function<void(xml::Element)> send);
    void result();
    void result(xml::Element payload);
    void error(std::string_view condition, std::string_view text = {});
    void error(xml::Element error_element);
    const xml::Element& request() const;
    bool answered() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

struct IqResponse {
    bool ok = false;           // type='result'
    xml::Element stanza;       // the response (or a locally made error on timeout/disconnect)
    std::string condition;     // error condition when !ok
    std::string text;          // error text when !ok
    const xml::Element* payload() const { return stanza.first_element(); }
};

using IqHandler = std::function<void(const xml::Element& iq, IqResponder responder)>;
using IqCallback = std::function<void(const IqResponse&)>;
using StanzaListener = std::function<void(const xml::Element&)>;

class StanzaRouter {
public:
    explicit StanzaRouter(boost::asio::io_context& io);
    ~StanzaRouter();

    void set_sender(std::function<void(xml::Element)> send) { send_ = std::move(send); }
    // `account` is our own bare JID: responses from it are accepted for requests sent without `to`.
    void set_account(std::string bare_jid, std::string domain);

    void on_iq(std::string type, std::string ns, std::string name, IqHandler handler);
    void on_presence(StanzaListener l) { presence_listeners_.push_back(std::move(l)); }
    void on_message(StanzaListener l) { message_listeners_.push_back(std::move(l)); }

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
    };
    void dispatch_iq(const xml::Element& iq);
    void complete(const std::string& id, IqResponse response);

    boost::asio::io_context& io_;
    std::function<void(xml::Element)> send_;
    std::string account_, domain_;
    std::map<std::tuple<std::string, std::string, std::string>, IqHandler> handlers_;
    std::vector<StanzaListener> presence_listeners_, message_listeners_;
    std::map<std::string, Pending> pending_;
    std::uint64_t next_id_ = 1;
    std::string id_prefix_;
};

}  // namespace xpmn::client
