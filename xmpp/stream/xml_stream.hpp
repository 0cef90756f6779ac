// An XMPP XML stream over a ByteStream: writes the stream header and
// stanzas, parses what arrives (with the restricted-XML and size limits), and
// turns parse failures into stream errors. Used for c2s and, later, for the
// XEP-0246 end-to-end streams inside XTLS.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "xmpp/net/byte_stream.hpp"
#include "xmpp/xml/element.hpp"
#include "xmpp/xml/stream_parser.hpp"

namespace xpmn::stream {

class XmlStream : public std::enable_shared_from_this<XmlStream> {
public:
    struct Handlers {
        std::function<void(const xml::Element& header)> on_open;
        std::function<void(xml::Element element)> on_element;
        // Once, when the stream is over: `reason` is empty for a clean close.
        std::function<void(const std::string& reason)> on_closed;
    };

    XmlStream(net::ByteStreamPtr transport, xml::StreamLimits limits = {});
    ~XmlStream();

    void set_handlers(Handlers handlers) { handlers_ = std::move(handlers); }
    // Starts reading the transport.
    void start();
    // Writes `<?xml?><stream:stream …>` with these attributes (to, from, version, xml:lang, id).
    void open(const std::map<std::string, std::string>& attrs);
    void send(const xml::Element& element);
    // Drops the parser state for a new stream on the same transport (after SASL).
    void restart();
    // Switches to a new transport wrapping the old one (after STARTTLS), restarting the parser.
    void replace_transport(net::ByteStreamPtr transport);
    // Sends a stream error (if condition is set) and </stream:stream>, then closes.
    void close(const std::string& error_condition = {}, const std::string& text = {});
    // Drops the transport at once without closing the stream, as a lost
    // connection would (the server keeps a resumable XEP-0198 session); what
    // was not written yet is discarded.
    void abort();

    // Output back-pressure: while more than this many bytes wait to be
    // written, the stream stops reading (and so stops taking requests).
    static constexpr std::size_t kDefaultMaxWriteBacklog = 256 * 1024;
    void set_max_write_backlog(std::size_t bytes) { max_write_backlog_ = bytes; }
    bool reading_paused() const { return reading_paused_; }
    // The peer has ended its side (its transport is closing after the last
    // byte): read everything it sent, back-pressure or not, so that the end
    // of the input, not the pause, decides when the stream is over.
    void read_to_end();

    net::ByteStream& transport() { return *transport_; }
    const net::ByteStreamPtr& transport_ptr() const { return transport_; }
    bool closed() const { return closed_; }
    std::uint64_t bytes_sent() const { return bytes_sent_; }

private:
    void attach();
    void finish(const std::string& reason);
    void write(std::string bytes);

    net::ByteStreamPtr transport_;
    xml::StreamParser parser_;
    Handlers handlers_;
    bool closed_ = false;
    bool reading_paused_ = false;  // by write(), for back-pressure
    bool reading_to_end_ = false;  // read_to_end(): never pause again
    std::size_t max_write_backlog_ = kDefaultMaxWriteBacklog;
    std::uint64_t bytes_sent_ = 0;
};

}  // namespace xpmn::stream
