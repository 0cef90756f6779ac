#include "xmpp/stream/xml_stream.hpp"

#include "xmpp/core/namespaces.hpp"

namespace xpmn::stream {

XmlStream::XmlStream(net::ByteStreamPtr transport, xml::StreamLimits limits)
    : transport_(std::move(transport)),
      parser_(
          xml::StreamParser::Callbacks{
              [this](const xml::Element& header, const std::string&) {
                  if (handlers_.on_open) handlers_.on_open(header);
              },
              [this](xml::Element e) {
                  if (!closed_ && handlers_.on_element) handlers_.on_element(std::move(e));
              },
              [this] {
                  // The peer closed its stream: close ours too.
                  close();
                  finish({});
              },
              [this](const xml::StreamError& err) {
                  std::string reason = "stream error " + err.condition + ": " + err.text;
                  close(err.condition, err.text);
                  finish(reason);
              },
          },
          limits) {}

XmlStream::~XmlStream() {
    if (transport_) {
        transport_->set_handlers({});
        transport_->close();
    }
}

void XmlStream::attach() {
    std::weak_ptr<XmlStream> weak = shared_from_this();
    transport_->set_handlers({
        [weak](std::string_view data) {
            if (auto s = weak.lock(); s && !s->closed_) s->parser_.feed(data);
        },
        [weak](const std::string& reason) {
            if (auto s = weak.lock()) {
                s->closed_ = true;
                s->finish(reason.empty() ? "connection closed by the server" : reason);
            }
        },
        [weak] {
            if (auto s = weak.lock(); s && s->reading_paused_ && !s->closed_) {
                s->reading_paused_ = false;
                s->transport_->resume_reading();
            }
        },
    });
}

// Back-pressure: a peer that sends requests but does not read the answers
// stops being read once its answers pile up, instead of growing our memory;
// the session's liveness ping then finds the connection dead.
void XmlStream::write(std::string bytes) {
    bytes_sent_ += bytes.size();
    transport_->write(std::move(bytes));
    // Whatever an XML stream writes may be the last for a while (an answer
    // the peer waits for): through a relay that holds the tail of a burst (an
    // end-to-end stream over an S5B proxy) it must reach the peer now. A
    // no-op below anything else (c2s, IBB, direct TCP); TLS sends one push
    // after all this turn writes.
    transport_->push_through();
    if (!reading_paused_ && !reading_to_end_ && transport_->write_backlog() > max_write_backlog_) {
        reading_paused_ = true;
        transport_->pause_reading();
    }
}

void XmlStream::read_to_end() {
    reading_to_end_ = true;
    if (closed_ || !reading_paused_) return;
    reading_paused_ = false;
    transport_->resume_reading();
}

void XmlStream::start() {
    attach();
    transport_->start();
}

void XmlStream::open(const std::map<std::string, std::string>& attrs) {
    std::string header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                         "xmlns:stream='http://etherx.jabber.org/streams'";
    for (const auto& [k, v] : attrs) {
        header += ' ' + k + "='";
        xml::append_escaped(header, v, xml::EscapeFor::Attribute);
        header += '\'';
    }
    header += '>';
    write(std::move(header));
}

void XmlStream::send(const xml::Element& element) {
    if (closed_) return;
    std::string out;
    element.serialize_to(out, ns::client);
    write(std::move(out));
}

void XmlStream::restart() { parser_.reset(); }

void XmlStream::replace_transport(net::ByteStreamPtr transport) {
    transport_ = std::move(transport);
    reading_paused_ = false;
    parser_.reset();
    attach();
    transport_->start();
}

void XmlStream::close(const std::string& condition, const std::string& text) {
    if (closed_) return;
    closed_ = true;
    std::string out;
    if (!condition.empty()) {
        xml::Element err("error", ns::stream);
        err.add(condition, ns::streams_err);
        if (!text.empty()) err.add("text", ns::streams_err).add_text(text);
        out = "<stream:error>";
        for (const auto* c : err.elements()) c->serialize_to(out, ns::stream);
        out += "</stream:error>";
    }
    out += "</stream:stream>";
    transport_->write(std::move(out));
    transport_->close();
}

void XmlStream::abort() {
    if (closed_) return;
    closed_ = true;
    // Not close(): that would wait for the unread backlog of a dead peer.
    transport_->abort();
}

void XmlStream::finish(const std::string& reason) {
    auto h = std::move(handlers_.on_closed);
    handlers_ = {};
    if (h) h(reason);
}

}  // namespace xpmn::stream
