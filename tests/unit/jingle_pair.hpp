// The two ends of the Jingle application tests (xmlstream, OOB): a phone and
// a device on one in-memory server, a JingleManager and a self-signed
// certificate each. A fixture that taps the server clears `server.tap` in
// its own destructor (what it captures goes before this base).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "tests/unit/jingle_test_server.hpp"
#include "tests/unit/tls_test_certs.hpp"
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
};

}  // namespace xpmn::jingletest
