// Fuzz target: a device's Jingle endpoint as a peer reaches it — a
// JingleManager on the router with the xmlstream application
// (XmlStreamResponder) whose policy accepts x509 (any fingerprint is
// trusted) and srp (a fixed PIN), so an input gets through session-initiate,
// session-accept, IBB open/data/close and into the TLS server handshake over
// IBB, and through the other Jingle actions, errors and tie-breaks. Nothing
// waits for a timer (the harness only polls), so session and IBB timeouts
// are not reached here; the unit tests cover them.
//
// The channel, the input format and the checks (one answer per IQ, <text/>
// in every error) are channel_harness.hpp's. Seeds: tests/fuzz/jingle_session/
// (the `tls-*` ones carry real TLS ClientHellos in IBB data).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tests/fuzz/channel_harness.hpp"
#include "xmpp/jingle/jingle_manager.hpp"
#include "xmpp/jingle/xmlstream_session.hpp"
#include "xmpp/xtls/device_identity.hpp"
#include "xmpp/xtls/e2e_channel.hpp"

using namespace xpmn;

namespace {

constexpr const char* kSelf = "home@xpmn.test/upnp-3fa2c1d0";
constexpr const char* kPeer = "home@xpmn.test/phone";  // the seeds' initiator
constexpr const char* kPin = "12345678";

// Made once: a key per input would make the fuzzer measure key generation.
const tls::Identity& identity() {
    static const tls::Identity id = xtls::make_device_identity(Jid::must_parse("home@xpmn.test"));
    return id;
}

struct Device {
    std::unique_ptr<jingle::JingleManager> manager;
    std::unique_ptr<jingle::XmlStreamResponder> responder;
    std::shared_ptr<xtls::E2eChannel> channel;
    ~Device() {
        if (channel) channel->close();
        responder.reset();
        manager.reset();
    }
};

std::shared_ptr<void> install_device(boost::asio::io_context& io, client::StanzaRouter& router) {
    auto device = std::make_shared<Device>();
    device->manager = std::make_unique<jingle::JingleManager>(io, router, Jid::must_parse(kSelf));
    auto policy = [](const client::Peer&, const xtls::Security&) {
        jingle::Acceptance a;
        a.methods = {xtls::Method::X509, xtls::Method::Srp};
        a.params.identity = identity();
        a.params.trusted = [](const std::string&) { return true; };
        a.params.srp_lookup = [](const std::string&) -> std::optional<tls::SrpVerifier> {
            static const tls::SrpVerifier verifier = tls::make_srp_verifier(kPeer, kPin);
            return verifier;
        };
        a.on_security_failure = [](const std::string&) {};
        return a;
    };
    std::weak_ptr<Device> weak = device;
    device->responder = std::make_unique<jingle::XmlStreamResponder>(
        *device->manager, xtls::Security{tls::certificate_sha256(identity().cert.get()), {}}, policy, [weak](std::shared_ptr<xtls::E2eChannel> channel) {
            if (auto d = weak.lock()) d->channel = std::move(channel);
        });
    return device;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return fuzz::run_channel(data, size, install_device);
}
