#include "mappings/didl/xml_guard.hpp"

#include <libxml/globals.h>

#include "mappings/didl/didl_values.hpp"

namespace xpmn::mappings {

bool has_markup_declaration(std::string_view xml) {
    for (std::size_t p = xml.find("<!"); p != std::string_view::npos; p = xml.find("<!", p + 2)) {
        std::string_view rest = xml.substr(p + 2);
        if (rest.substr(0, 2) != "--" && rest.substr(0, 7) != "[CDATA[") return true;
    }
    return false;
}

XmlErrorCapture::XmlErrorCapture(std::size_t max_messages)
    : old_fn_(xmlStructuredError), old_ctx_(xmlStructuredErrorContext), max_(max_messages) {
    xmlSetStructuredErrorFunc(this, &XmlErrorCapture::on_error);
}

XmlErrorCapture::~XmlErrorCapture() { xmlSetStructuredErrorFunc(old_ctx_, old_fn_); }

void XmlErrorCapture::on_error(void* self, xmlErrorPtr err) {
    auto* c = static_cast<XmlErrorCapture*>(self);
    if (!err || c->count_++ >= c->max_) return;
    try {  // called from libxml2's C frames: nothing may propagate
        std::string_view msg = trim_ascii(err->message ? err->message : "unknown error");
        c->messages_.push_back("XML line " + std::to_string(err->line) + ": " + truncate_utf8(msg, 200));
    } catch (...) {
    }
}

}  // namespace xpmn::mappings
