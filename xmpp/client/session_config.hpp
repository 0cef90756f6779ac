// What a c2s session needs to know: the account, the server, TLS and the
// timings of its upkeep.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "xmpp/core/jid.hpp"
#include "xmpp/tls/tls_context.hpp"

namespace xpmn::client {

struct SessionConfig {
    Jid jid;                 // account with the resource to bind
    std::string password;    // never logged
    std::string host;        // empty: the JID's domain
    std::uint16_t port = 5222;
    tls::ClientOptions tls;  // server_name defaults to the JID's domain
    // A client context made from `tls` and shared by several sessions of the
    // same account (one per device); empty: the session makes its own.
    tls::SslCtxPtr tls_context;
    std::chrono::milliseconds iq_timeout{10000};
    std::chrono::milliseconds ping_interval{60000};
    std::chrono::milliseconds ping_timeout{20000};
    std::chrono::milliseconds backoff_min{1000};
    std::chrono::milliseconds backoff_max{60000};
    // XEP-0198: ask for an ack after this many stanzas, or once nothing has
    // been sent for this long with stanzas unacknowledged (see AckRequester).
    std::size_t ack_request_every = 10;
    std::chrono::milliseconds ack_request_idle{1000};
    bool request_roster = false;
    std::vector<std::string> sasl_mechanisms;  // allowed; empty: every one we support
};

}  // namespace xpmn::client
