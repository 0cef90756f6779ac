#include "mappings/didl/didl_parser.hpp"

#include <libgupnp-av/gupnp-av.h>

#include <memory>

#include "mappings/didl/didl_values.hpp"
#include "mappings/didl/glib_handles.hpp"
#include "mappings/didl/object_mapper.hpp"
#include "mappings/didl/xml_guard.hpp"

namespace xpmn::mappings {
namespace {

// gupnp-av 0.14's text for "an item failed verification" (as opposed to
// "Could not parse DIDL-Lite XML:\n<document>" when libxml2 gave up).
constexpr std::string_view kItemRejected = "Could not parse DIDL-Lite XML";

Error fail(std::string why) { return {"undefined-condition", std::move(why)}; }

}  // namespace

Result<DidlDocument> parse_didl(std::string_view xml, const DidlLimits& limits) {
    if (xml.size() > limits.max_document_bytes)
        return fail("DIDL-Lite document of " + std::to_string(xml.size()) + " bytes exceeds the limit of " +
                    std::to_string(limits.max_document_bytes));
    if (xml.find('\0') != std::string_view::npos) return fail("DIDL-Lite document contains a NUL byte");
    if (has_markup_declaration(xml)) return fail("DIDL-Lite document has a DTD or entity declaration (refused)");

    const std::string doc(xml);  // gupnp-av takes a NUL-terminated string
    DidlDocument result;
    ObjectMapper mapper(result, limits);
    GError* raw_error = nullptr;
    std::vector<std::string> xml_messages;
    std::size_t xml_errors = 0;
    {
        // gupnp-av runs libxml2 with XML_PARSE_RECOVER | XML_PARSE_NONET: a
        // broken document yields what could be recovered, never a fetch.
        XmlErrorCapture capture;
        std::unique_ptr<GUPnPDIDLLiteParser, GObjectUnref> parser(gupnp_didl_lite_parser_new());
        g_signal_connect(parser.get(), "object-available", G_CALLBACK(&ObjectMapper::on_object_available), &mapper);
        gupnp_didl_lite_parser_parse_didl(parser.get(), doc.c_str(), &raw_error);
        xml_messages = capture.messages();
        xml_errors = capture.count();
    }
    std::unique_ptr<GError, GErrorFree> error(raw_error);

    if (mapper.failure()) return fail(*mapper.failure());
    if (mapper.wrong_root()) return fail("root element is not DIDL-Lite in namespace " + std::string(kDidlLiteNs));
    if (error) {
        if (error->domain == G_MARKUP_ERROR && error->code == G_MARKUP_ERROR_EMPTY) {
            // <DIDL-Lite/>: an empty container or a search without matches (Rygel sends this).
        } else if (std::string_view(error->message) == kItemRejected) {
            // gupnp-av stops at an item whose dc:date does not start like
            // YYYY-MM-DD or whose restricted attribute is not a boolean;
            // the objects before it are fine.
            mapper.warn("gupnp-av stopped after " + std::to_string(mapper.seen()) +
                        " objects at an item with an invalid dc:date or restricted attribute; the rest is missing");
        } else {
            // Not XML, or no DIDL-Lite root. gupnp-av's message embeds the
            // whole document: keep its first line only.
            std::string_view msg(error->message);
            msg = trim_ascii(msg.substr(0, msg.find('\n')));
            if (!msg.empty() && msg.back() == ':') msg.remove_suffix(1);
            return fail("not a DIDL-Lite document: " + truncate_utf8(msg, 200));
        }
    }
    for (auto& m : xml_messages) mapper.warn(std::move(m));
    if (xml_errors > xml_messages.size())
        mapper.warn(std::to_string(xml_errors - xml_messages.size()) + " more XML errors");
    mapper.finish();
    return result;
}

}  // namespace xpmn::mappings
