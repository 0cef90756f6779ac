// The two ends of the Jingle application tests (xmlstream, OOB): a phone and
// a device on one in-memory server, a JingleManager and a self-signed
// certificate each, and what crosses the server. A fixture that taps the
// server clears `server.tap` in its own destructor (the members of the
// fixture that may send while they go are destroyed before this base).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>
#include <vector>

#include "tests/unit/jingle_test_server.hpp"
#include "tests/unit/tls_test_certs.hpp"
#include "xmpp/jingle/jingle_element.hpp"
#include "xmpp/jingle/jingle_manager.hpp"

namespace xpmn::jingletest {

inline constexpr const char* kPhone = "home@example.org/phone";
inline constexpr const char* kDevice = "home@example.org/upnp-3fa2c1d0";

inline tls::Identity identity(const test_tls::SelfSigned& s) { return {s.cert, s.key}; }

struct PhoneAndDevice : ::testing::Test {
    boost::asio::io_context io;
    MemoryServer server{io};
    client::StanzaRouter& rphone = server.connect(kPhone);
    client::StanzaRouter& rdevice = server.connect(kDevice);
    jingle::JingleManager phone{io, rphone, Jid::must_parse(kPhone)};
    jingle::JingleManager device{io, rdevice, Jid::must_parse(kDevice)};
    test_tls::SelfSigned phone_cert = test_tls::make_self_signed("phone");
    test_tls::SelfSigned device_cert = test_tls::make_self_signed("bridge");

    // What crosses the server once record_the_wire() ran:
    std::vector<std::string> sets;            // IQ-set payloads in order: Jingle actions, IBB open/data/close
    std::vector<jingle::Jingle> terminates;   // session-terminates
    std::optional<jingle::Jingle> initiate;   // the last session-initiate
    void record_the_wire() {
        server.tap = [this](const xml::Element& e) {
            if (e.attr_or("type") == "set" && e.first_element())
                sets.push_back(e.first_element()->ns() == jingle::kNs ? e.first_element()->attr_or("action")
                                                                       : e.first_element()->name());
            const auto* j = e.child("jingle", jingle::kNs);
            if (j && j->attr_or("action") == "session-terminate") terminates.push_back(*jingle::parse_jingle(*j));
            if (j && j->attr_or("action") == "session-initiate") initiate = *jingle::parse_jingle(*j);
        };
    }
};

}  // namespace xpmn::jingletest
