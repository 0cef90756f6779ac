#include "xmpp/xml/stream_parser.hpp"

#include <libxml/parser.h>

#include "xmpp/xml/attribute_scanner.hpp"

#include <algorithm>
#include <exception>
#include <new>
#include <utility>
#include <vector>

namespace xpmn::xml {
namespace {

constexpr std::string_view kStreamNs = "http://etherx.jabber.org/streams";
constexpr std::string_view kXmlNs = "http://www.w3.org/XML/1998/namespace";
// Largest slice handed to libxml2 at once: bounds how far a stanza can overrun
// the size limit and how much libxml2 parses after we have stopped listening.
constexpr std::size_t kPiece = 4096;
// libxml2 interns every element/attribute name, prefix and namespace URI for the
// life of the context (i.e. the stream). Its default cap of 10 MB costs ~22 MB of
// heap per connection; real streams use a few KB of distinct names.
constexpr std::size_t kDictLimit = 1 << 20;

std::string_view str(const xmlChar* s) {
    return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

std::string_view str(const xmlChar* s, std::size_t len) {
    return {reinterpret_cast<const char*>(s), len};
}

// Without entity substitution libxml2 passes every '&' in an attribute value
// (from &amp;, &#38; or &#x26;) as the text "&#38;", meant for its tree builder
// to re-parse. A literal '&' cannot occur otherwise, so this undoes it exactly.
// Namespace names (xmlns='...') are attribute values too.
std::string attribute_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (std::size_t amp; (amp = v.find("&#38;")) != std::string_view::npos; v.remove_prefix(amp + 5)) {
        out.append(v.substr(0, amp));
        out += '&';
    }
    out.append(v);
    return out;
}

}  // namespace

struct StreamParser::Impl {
    Callbacks cb;
    StreamLimits limits;
    xmlParserCtxtPtr ctxt = nullptr;
    AttributeScanner attributes;  // refuses a tag with too many attributes before libxml2 parses it

    std::vector<Element> open;  // elements of the stanza being built; open[0] is its root
    bool stream_open = false;   // header seen
    bool failed = false;
    bool halted = false;         // ignore SAX events and input until reset (error, close, pending reset)
    bool feeding = false;        // inside feed(): reset() must wait until libxml2 returns
    bool reset_pending = false;
    std::exception_ptr thrown;   // from a callback; rethrown once libxml2 has returned
    std::size_t fed = 0;         // bytes handed to this libxml2 context
    std::size_t mark = 0;        // where the current stanza (or the gap before it) began

    Impl(Callbacks c, StreamLimits l) : cb(std::move(c)), limits(l), attributes(l.max_attributes) {}
    ~Impl() { free_context(); }

    void start_context() {
        free_context();
        open.clear();
        stream_open = failed = halted = reset_pending = false;
        fed = mark = 0;
        attributes.reset();
        // No NOENT / DTDLOAD / HUGE: nothing is substituted or loaded. IGNORE_ENC:
        // XMPP is UTF-8 only, so raw bytes == parsed bytes for the size limit.
        ctxt = xmlCreatePushParserCtxt(&handler(), this, nullptr, 0, nullptr);
        if (!ctxt) throw std::bad_alloc();
        xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
        xmlDictSetLimit(ctxt->dict, kDictLimit);
    }

    void free_context() {
        if (!ctxt) return;
        // libxml2 may have made a document "for expat compatibility in SAX mode"
        // to hold entity declarations; the context does not own it.
        if (ctxt->myDoc) xmlFreeDoc(ctxt->myDoc);
        xmlFreeParserCtxt(ctxt);
        ctxt = nullptr;
    }

    // Reports the first error only; everything after it is ignored.
    void fail(std::string condition, std::string text) {
        if (halted) return;
        failed = halted = true;
        if (cb.on_error) cb.on_error({std::move(condition), std::move(text)});
    }

    void restricted(std::string_view what) {
        fail("restricted-xml", std::string(what) + " is not allowed in an XMPP stream");
    }

    // A markup declaration inside the stream's content never reaches the DTD
    // callbacks: libxml2 reports it as an error in element content, positioned
    // at its "<!". It waits for 9 bytes there before deciding, so at least
    // "<!" + 7 letters are in the buffer (all of a keyword but NOTATION's "N").
    std::string_view declaration_at_error() const {
        static constexpr std::string_view kKeywords[] = {"DOCTYPE", "ENTITY", "ELEMENT", "ATTLIST", "NOTATION"};
        if (!stream_open || !ctxt || !ctxt->input || !ctxt->input->cur || !ctxt->input->end) return {};
        std::string_view rest = str(ctxt->input->cur, static_cast<std::size_t>(ctxt->input->end - ctxt->input->cur));
        if (!rest.starts_with("<!")) return {};
        rest.remove_prefix(2);
        for (std::string_view kw : kKeywords) {
            std::size_t n = std::min(kw.size(), rest.size());
            if (n >= std::min<std::size_t>(kw.size(), 7) && rest.substr(0, n) == kw.substr(0, n)) return kw;
        }
        return {};
    }

    void too_many_attributes() {
        fail("policy-violation", "an element with more than " + std::to_string(limits.max_attributes) + " attributes");
    }

    // Bytes of input libxml2 has consumed (no encoder, so these are raw bytes).
    std::size_t consumed() const {
        long n = xmlByteConsumed(ctxt);
        return n < 0 ? mark : std::min(static_cast<std::size_t>(n), fed);
    }

    void set_mark(std::size_t at) { mark = std::min(at, fed); }

    void pump(std::string_view bytes) {
        const std::size_t max = limits.max_stanza_bytes;
        while (!bytes.empty() && !halted) {
            std::size_t used = fed - mark;
            if (used >= max) {
                fail("policy-violation", "stanza exceeds " + std::to_string(max) + " bytes");
                return;
            }
            std::size_t n = std::min({bytes.size(), kPiece, max - used});
            // A tag over the attribute limit: what comes before it is parsed
            // (stanzas complete in it are delivered), the tag itself never is.
            std::size_t over = attributes.scan(bytes.substr(0, n));
            if (over != std::string_view::npos) n = over;
            fed += n;
            int rc = n ? xmlParseChunk(ctxt, bytes.data(), static_cast<int>(n), 0) : XML_ERR_OK;
            bytes.remove_prefix(n);
            // Normally the structured error callback has already reported this.
            if (rc != XML_ERR_OK && !halted) fail("not-well-formed", "XML parse error " + std::to_string(rc));
            if (over != std::string_view::npos) return too_many_attributes();
        }
    }

    // ---- SAX events ----

    void start_element(const xmlChar* local, const xmlChar* uri, int nb_ns, const xmlChar** nss, int nb_attrs,
                       const xmlChar** attrs) {
        // The scanner has refused such a tag already; this is the authoritative count.
        if (nb_attrs + nb_ns > limits.max_attributes) return too_many_attributes();
        Element e{std::string(str(local)), attribute_value(str(uri))};
        for (int i = 0; i < nb_attrs; ++i) {
            const xmlChar** a = attrs + 5 * i;  // localname, prefix, URI, value, value end
            auto value = attribute_value(str(a[3], static_cast<std::size_t>(a[4] - a[3])));
            // append_attr: libxml2 has already refused a repeated attribute (not
            // well-formed), and `xml:` + a local name cannot equal an unprefixed one.
            if (!a[1])
                e.append_attr(std::string(str(a[0])), std::move(value));
            else if (str(a[2]) == kXmlNs)
                e.append_attr("xml:" + std::string(str(a[0])), std::move(value));
            // Other namespaced attributes are dropped: Element has no way to declare their prefix.
        }

        if (!stream_open) {
            if (e.ns() != kStreamNs)
                return fail("invalid-namespace", "stream root must be in " + std::string(kStreamNs));
            if (e.name() != "stream") return fail("bad-format", "stream root must be <stream:stream>");
            std::string content_ns;
            for (int i = 0; i < nb_ns; ++i)
                if (!nss[2 * i]) content_ns = attribute_value(str(nss[2 * i + 1]));
            stream_open = true;
            // The header counts against the size limit too. libxml2 reports a start
            // tag before consuming its '>', so the first stanza begins one byte later.
            std::size_t at = consumed();
            if (ctxt->input && ctxt->input->cur && *ctxt->input->cur == '>') ++at;
            set_mark(at);
            if (cb.on_open) cb.on_open(e, content_ns);
            return;
        }
        if (open.size() >= static_cast<std::size_t>(std::max(limits.max_depth, 0)))
            return fail("policy-violation", "elements nested deeper than " + std::to_string(limits.max_depth));
        open.push_back(std::move(e));
    }

    void end_element() {
        if (open.empty()) {  // </stream:stream>
            halted = true;
            if (cb.on_close) cb.on_close();
            return;
        }
        Element e = std::move(open.back());
        open.pop_back();
        if (!open.empty()) {
            // Not add_child(): an element in no namespace must not inherit the parent's.
            open.back().nodes().emplace_back(std::move(e));
            return;
        }
        set_mark(consumed());
        if (cb.on_element) cb.on_element(std::move(e));
    }

    void text(const xmlChar* s, int len) {
        if (open.empty()) {
            // Whitespace (keepalives) between stanzas: dropped, and libxml2 has
            // consumed it, so the next stanza's size budget starts here.
            set_mark(consumed());
            return;
        }
        open.back().add_text(str(s, static_cast<std::size_t>(len)));
    }

    // ---- libxml2 trampolines ----

    // Runs a handler unless halted; exceptions must not unwind through libxml2's C frames.
    template <class F>
    static void guarded(void* ud, F&& f) {
        auto& d = *static_cast<Impl*>(ud);
        if (d.halted) return;
        try {
            f(d);
        } catch (...) {
            d.thrown = std::current_exception();
            d.failed = d.halted = true;
        }
    }

    static void restricted_cb(void* ud, const char* what) {
        guarded(ud, [&](Impl& d) { d.restricted(what); });
    }

    static xmlSAXHandler& handler() {
        static xmlSAXHandler h = [] {
            xmlInitParser();
            xmlSAXHandler s{};
            s.initialized = XML_SAX2_MAGIC;
            s.startElementNs = [](void* ud, const xmlChar* local, const xmlChar*, const xmlChar* uri, int nb_ns,
                                  const xmlChar** nss, int nb_attrs, int, const xmlChar** attrs) {
                guarded(ud, [&](Impl& d) { d.start_element(local, uri, nb_ns, nss, nb_attrs, attrs); });
            };
            s.endElementNs = [](void* ud, const xmlChar*, const xmlChar*, const xmlChar*) {
                guarded(ud, [](Impl& d) { d.end_element(); });
            };
            s.characters = [](void* ud, const xmlChar* ch, int len) {
                guarded(ud, [&](Impl& d) { d.text(ch, len); });
            };
            s.cdataBlock = s.characters;
            s.ignorableWhitespace = s.characters;
            s.serror = [](void* ud, xmlErrorPtr err) {
                if (!err || err->level < XML_ERR_ERROR) return;  // warnings, e.g. a relative namespace URI
                std::string msg = err->message ? err->message : "not well-formed";
                while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
                // Out of memory, usually the name dictionary being full (see kDictLimit).
                std::string condition = err->code == XML_ERR_NO_MEMORY ? "resource-constraint" : "not-well-formed";
                guarded(ud, [&](Impl& d) {
                    if (auto decl = d.declaration_at_error(); !decl.empty())
                        return d.restricted("a markup declaration (<!" + std::string(decl) + ")");
                    d.fail(std::move(condition), msg);
                });
            };
            // RFC 6120 §11.1. libxml2 keeps parsing the rest of the current slice
            // after we halt (stopping it from inside a callback is fragile in 2.9),
            // and may even record entity declarations in a private document. But
            // every entity lookup goes through getEntity / getParameterEntity, which
            // never return one (userData != ctxt disables libxml2's own fallback),
            // so nothing is ever expanded or loaded.
            s.internalSubset = [](void* ud, const xmlChar*, const xmlChar*, const xmlChar*) {
                restricted_cb(ud, "a DTD");
            };
            s.externalSubset = s.internalSubset;
            s.entityDecl = [](void* ud, const xmlChar*, int, const xmlChar*, const xmlChar*, xmlChar*) {
                restricted_cb(ud, "an entity declaration");
            };
            s.unparsedEntityDecl = [](void* ud, const xmlChar*, const xmlChar*, const xmlChar*, const xmlChar*) {
                restricted_cb(ud, "an entity declaration");
            };
            s.notationDecl = [](void* ud, const xmlChar*, const xmlChar*, const xmlChar*) {
                restricted_cb(ud, "a notation declaration");
            };
            s.elementDecl = [](void* ud, const xmlChar*, int, xmlElementContentPtr) {
                restricted_cb(ud, "an element declaration");
            };
            s.attributeDecl = [](void* ud, const xmlChar*, const xmlChar*, int, int, const xmlChar*,
                                 xmlEnumerationPtr tree) {
                xmlFreeEnumeration(tree);  // ownership passes to the handler
                restricted_cb(ud, "an attribute declaration");
            };
            s.getEntity = [](void* ud, const xmlChar*) -> xmlEntityPtr {
                restricted_cb(ud, "an entity reference");  // predefined ones never get here
                return nullptr;
            };
            s.getParameterEntity = s.getEntity;
            s.reference = [](void* ud, const xmlChar*) { restricted_cb(ud, "an entity reference"); };
            s.resolveEntity = [](void* ud, const xmlChar*, const xmlChar*) -> xmlParserInputPtr {
                restricted_cb(ud, "an external entity");
                return nullptr;
            };
            s.processingInstruction = [](void* ud, const xmlChar*, const xmlChar*) {
                restricted_cb(ud, "a processing instruction");
            };
            s.comment = [](void* ud, const xmlChar*) { restricted_cb(ud, "a comment"); };
            return s;
        }();
        return h;
    }
};

StreamParser::StreamParser(Callbacks callbacks, StreamLimits limits)
    : impl_(std::make_unique<Impl>(std::move(callbacks), limits)) {
    impl_->start_context();
}

StreamParser::~StreamParser() = default;

void StreamParser::feed(std::string_view bytes) {
    Impl& d = *impl_;
    if (d.feeding) return;  // feed() from a callback is not supported; drop rather than re-enter libxml2
    d.feeding = true;
    try {
        d.pump(bytes);
    } catch (...) {  // from on_error called by pump itself
        d.thrown = std::current_exception();
    }
    d.feeding = false;
    if (d.reset_pending)
        d.start_context();
    else if (d.halted) {
        // Nothing more will be parsed on this stream: release libxml2's buffers
        // and any half-built stanza now rather than at reset().
        d.free_context();
        d.open = {};
    }
    if (d.thrown) std::rethrow_exception(std::exchange(d.thrown, nullptr));
}

void StreamParser::reset() {
    Impl& d = *impl_;
    if (d.feeding) {
        // Called from a callback, i.e. from inside xmlParseChunk: tell our handlers
        // to ignore the rest and swap the context once libxml2 has returned.
        d.reset_pending = d.halted = true;
        return;
    }
    d.start_context();
}

bool StreamParser::failed() const { return impl_->failed; }

}  // namespace xpmn::xml
