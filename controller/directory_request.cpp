#include "controller/directory_request.hpp"

#include <charconv>
#include <memory>
#include <optional>

#include "controller/transfer_client.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/oob_session.hpp"
#include "xmpp/xml/stream_parser.hpp"

namespace xpmn::controller {

namespace {

// The document without its XML declaration (the stream parser takes no
// processing instruction), wrapped as the one element of a stream.
Result<xml::Element> parse_document(std::string_view doc) {
    if (doc.substr(0, 5) == "<?xml") {
        auto end = doc.find("?>");
        if (end == std::string_view::npos) return Error{"bad-request", "a broken XML declaration"};
        doc.remove_prefix(end + 2);
    }
    std::optional<xml::Element> found;
    std::optional<std::string> failure;
    xml::StreamParser::Callbacks cb;
    cb.on_open = [](const xml::Element&, const std::string&) {};
    cb.on_element = [&](xml::Element e) {
        if (found) failure = "more than one element";
        found = std::move(e);
    };
    cb.on_close = [] {};
    cb.on_error = [&](const xml::StreamError& e) { failure = e.condition + ": " + e.text; };
    xml::StreamLimits limits;
    limits.max_stanza_bytes = kMaxOobResult;
    xml::StreamParser parser(std::move(cb), limits);
    parser.feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    parser.feed(doc);
    parser.feed("</stream:stream>");
    if (failure) return Error{"bad-request", "the out-of-band result is not a document: " + *failure};
    if (!found) return Error{"bad-request", "the out-of-band result is empty"};
    return std::move(*found);
}

struct Reader : std::enable_shared_from_this<Reader> {
    oob::SourcePtr body;
    std::string doc;
    std::function<void(Result<xml::Element>)> done;
    void pull() {
        body->read(64 * 1024, [self = shared_from_this()](Result<std::string> r) {
            if (!r) return self->done(Error{r.error().condition, "the out-of-band result broke off: " + r.error().text});
            if (r->empty()) return self->done(parse_document(self->doc));
            self->doc += *r;
            self->pull();
        });
    }
};

Result<xml::Element> container_of(Result<xml::Element> r, const std::string& device) {
    if (r && r->name() != "container")
        return Error{"bad-request", device + " answered without a <container/>"};
    return r;
}

}  // namespace

bool is_oob_result(const xml::Element& payload) { return payload.name() == "oob" && payload.ns() == jingle::kOobNs; }

void read_oob_result(ControllerLinks& c, const Jid& device, const xml::Element& oob,
                     std::function<void(Result<xml::Element>)> done) {
    std::string id = oob.attr_or("id");
    std::string size_text = oob.attr_or("size");
    std::uint64_t size = 0;
    auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
    if (id.empty() || size_text.empty() || ec != std::errc() || p != size_text.data() + size_text.size())
        return done(Error{"bad-request", "a malformed out-of-band result"});
    if (size > kMaxOobResult) {
        c.links().abort(device, id);
        return done(Error{"resource-constraint", "the out-of-band result has " + size_text + " bytes, more than the " +
                                                     std::to_string(kMaxOobResult) + " taken"});
    }
    c.oob_to(device, [&c, device, id, size, done](Result<OobPtr> session) {
        if (!session) return done(Error{session.error().condition, "the result came out of band, but there is no "
                                                                   "out-of-band session: " + session.error().text});
        auto body = open_oob_id(c, device, *session, id, size);
        if (!body) return done(body.error());
        auto reader = std::make_shared<Reader>();
        reader->body = std::move(body).value();
        reader->doc.reserve(size);
        reader->done = done;
        reader->pull();
    });
}

void directory_request(ControllerLinks& c, const std::string& device, xml::Element payload,
                       std::function<void(Result<xml::Element>)> done) {
    auto jid = Jid::parse(device);
    if (!jid) return done(Error{"jid-malformed", "'" + device + "' is not a JID"});
    c.channel_to(device, [&c, device, jid = *jid, payload = std::move(payload), done](Result<ChannelPtr> channel) {
        if (!channel) return done(channel.error());
        auto iq = stanza::iq("get", device);
        iq.add_child(payload);
        (*channel)->router().send_iq(std::move(iq), c.request_timeout(), [&c, device, jid, done](
                                                                             const client::IqResponse& r) {
            if (!r.ok()) return done(r.error());
            const auto* result = r.payload();
            if (!result) return done(Error{"bad-request", device + " answered without a <container/>"});
            if (!is_oob_result(*result)) return done(container_of(*result, device));
            read_oob_result(c, jid, *result, [device, done](Result<xml::Element> doc) {
                done(container_of(std::move(doc), device));
            });
        });
    });
}

}  // namespace xpmn::controller
