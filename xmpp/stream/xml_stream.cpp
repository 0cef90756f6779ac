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
        nullptr,
    });
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
        xml::append_escaped(header, v);
        header += '\'';
    }
    header += '>';
    bytes_sent_ += header.size();
    transport_->write(std::move(header));
}

void XmlStream::send(const xml::Element& element) {
    if (closed_) return;
    std::string out;
    element.serialize_to(out, ns::client);
    bytes_sent_ += out.size();
    transport_->write(std::move(out));
}

void XmlStream::restart() { parser_.reset(); }

void XmlStream::replace_transport(net::ByteStreamPtr transport) {
    transport_ = std::move(transport);
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
    transport_->close();
}

void XmlStream::finish(const std::string& reason) {
    auto h = std::move(handlers_.on_closed);
    handlers_ = {};
    if (h) h(reason);
}

}  // namespace xpmn::stream
