// Test fixture: a TLS client and server over the in-memory pair, recording
// what each side receives, and a tap that records what a stream writes.
#pragma once

#include <boost/asio/io_context.hpp>

#include <tuple>
#include <vector>

#include "tests/unit/tls_test_certs.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/net/memory_pair.hpp"
#include "xmpp/stream/xml_stream.hpp"

namespace xpmn::test_tls {

inline std::string pattern(std::size_t n, std::size_t offset = 0) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('A' + (offset + i) % 47);
    return s;
}

// A ByteStream that passes everything through and keeps a copy of what is
// written, to look at the TLS records on the wire.
class Tap : public net::ByteStream {
public:
    explicit Tap(net::ByteStreamPtr inner) : inner_(std::move(inner)) {}
    void set_handlers(Handlers h) override { inner_->set_handlers(std::move(h)); }
    void start() override { inner_->start(); }
    void pause_reading() override { inner_->pause_reading(); }
    void resume_reading() override { inner_->resume_reading(); }
    void write(std::string bytes) override {
        ++writes;
        if (recording) written += bytes;
        if (hold_tail == 0) return inner_->write(std::move(bytes));
        // A relay that forwards only what more bytes push out of its read-ahead buffer.
        held_ += bytes;
        if (held_.size() <= hold_tail) return;
        inner_->write(held_.substr(0, held_.size() - hold_tail));
        held_.erase(0, held_.size() - hold_tail);
    }
    std::size_t write_backlog() const override { return inner_->write_backlog(); }
    bool relay_may_hold_tail() const override { return hold_tail > 0; }
    void close() override { inner_->close(); }
    void abort() override { inner_->abort(); }
    boost::asio::any_io_executor executor() const override { return inner_->executor(); }

    // TLS records of `content_type` (23: application data) in what was written.
    std::size_t records(int content_type = 23) const {
        std::size_t n = 0;
        for (std::size_t at = 0; at + 5 <= written.size();) {
            auto len = (static_cast<unsigned char>(written[at + 3]) << 8) | static_cast<unsigned char>(written[at + 4]);
            if (static_cast<unsigned char>(written[at]) == content_type) ++n;
            at += 5 + static_cast<std::size_t>(len);
        }
        return n;
    }

    bool recording = true;
    std::string written;
    std::size_t writes = 0;
    std::size_t hold_tail = 0;  // > 0: the last bytes written stay held (a relay's read-ahead)

private:
    net::ByteStreamPtr inner_;
    std::string held_;
};

// An XML stream on one end, recording what it receives.
struct XmlEnd {
    std::shared_ptr<stream::XmlStream> xml;
    std::vector<xml::Element> got;
    std::vector<std::string> closed;
    std::function<void(const xml::Element&)> on_element;  // after recording

    void attach(net::ByteStreamPtr transport, xml::StreamLimits limits = {}) {
        xml = std::make_shared<stream::XmlStream>(std::move(transport), limits);
        xml->set_handlers({nullptr,
                           [this](xml::Element e) {
                               got.push_back(std::move(e));
                               if (on_element) on_element(got.back());
                           },
                           [this](const std::string& r) { closed.push_back(r); }});
        xml->start();
        xml->open({{"version", "1.0"}});
    }
};

inline xml::Element message(const std::string& body) {
    xml::Element m("message", ns::client);
    m.set_attr("type", "chat");
    m.add_text_child("body", body, ns::client);
    return m;
}

struct Side {
    std::shared_ptr<tls::TlsStream> tls;
    std::string handshake_error = "(pending)";
    std::string data;
    std::vector<std::string> closed;
    int drained = 0;
    bool auto_start = true;

    void begin() {
        tls->set_handlers({[this](std::string_view d) { data += d; },
                           [this](const std::string& r) { closed.push_back(r); },
                           [this] { ++drained; }});
        tls->handshake([this](Result<void> secured) {
            handshake_error = secured ? std::string() : secured.error().text;
            if (secured && auto_start) tls->start();
        });
    }
};

struct TlsPair {
    boost::asio::io_context io;
    std::shared_ptr<net::MemoryStream> client_wire, server_wire;
    std::shared_ptr<Tap> client_tap, server_tap;  // what each side writes
    SelfSigned id = make_self_signed("test.example");
    Side client, server;

    explicit TlsPair(net::MemoryPairOptions options = {}, bool auto_start = true) {
        std::tie(client_wire, server_wire) = net::make_memory_pair(io, options);
        client_tap = std::make_shared<Tap>(client_wire);
        server_tap = std::make_shared<Tap>(server_wire);
        client.tls = make_pinned_client(client_tap, id);
        server.tls = make_test_server(server_tap, id);
        client.auto_start = server.auto_start = auto_start;
        client.begin();
        server.begin();
    }
    void run() {
        io.restart();
        io.run();
    }
    // Completes the handshake and puts an XML stream on each end.
    void open_xml(XmlEnd& on_client, XmlEnd& on_server, xml::StreamLimits server_limits = {}) {
        run();
        on_client.attach(client.tls);
        on_server.attach(server.tls, server_limits);
        run();
    }
};

}  // namespace xpmn::test_tls
