// Incremental parser for one XMPP XML stream (RFC 6120 §4) on libxml2's push
// parser. Bytes may arrive split anywhere. It delivers the stream header, each
// top-level child (stanza / nonza) as a complete Element, and the stream end.
//
// Restricted XML (RFC 6120 §11.1): a DTD, entity declaration/reference other
// than the five predefined ones, or a processing instruction is the stream
// error `restricted-xml` (comments too), also where a markup declaration
// (`<!DOCTYPE`, `<!ENTITY`, ...) appears after the stream has started. A
// top-level element over `max_stanza_bytes` of input, nested deeper than
// `max_depth` (counted from the stanza root = 1), or an element (the stream
// header too) with more than `max_attributes` attributes is `policy-violation`. Limits are enforced on raw input before libxml2 buffers
// more, so memory stays bounded. After any error the parser ignores input.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "xmpp/xml/element.hpp"

namespace xpmn::xml {

struct StreamLimits {
    std::size_t max_stanza_bytes = 256 * 1024;
    int max_depth = 64;
    // Attributes plus namespace declarations on one element. XMPP and the
    // profiles use fewer than 10; without a cap a 256 KiB stanza carries ~27 000,
    // and each is work on the one loop. 64, like the depth limit: far above any
    // real use, small enough that one element costs next to nothing.
    int max_attributes = 64;
};

struct StreamError {
    std::string condition;  // RFC 6120 §4.9.3 name: restricted-xml, policy-violation, not-well-formed, ...
    std::string text;       // human-readable detail
};

class StreamParser {
public:
    struct Callbacks {
        // The opening <stream:stream>: name "stream", ns "http://etherx.jabber.org/streams",
        // attributes as sent (to, from, id, version, xml:lang), no children.
        // The default namespace of the stream content (jabber:client) is in `content_ns`.
        std::function<void(const Element& header, const std::string& content_ns)> on_open;
        std::function<void(Element stanza)> on_element;
        std::function<void()> on_close;  // </stream:stream>
        std::function<void(const StreamError&)> on_error;
    };

    explicit StreamParser(Callbacks callbacks, StreamLimits limits = {});
    ~StreamParser();
    StreamParser(const StreamParser&) = delete;
    StreamParser& operator=(const StreamParser&) = delete;

    // Feed bytes. Callbacks run synchronously from inside feed(). A callback may
    // call reset() (stream restart after STARTTLS/SASL): it takes effect when the
    // callback returns, and the rest of that feed() is dropped (a server sends
    // nothing after <proceed/> or <success/> until the client restarts).
    // A callback must not destroy the parser.
    void feed(std::string_view bytes);
    // Start over for a new stream on the same connection.
    void reset();
    bool failed() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace xpmn::xml
