// Input hardening around the libxml2 parse that gupnp-av runs.
#pragma once

#include <libxml/xmlerror.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace xpmn::mappings {

// DIDL-Lite never needs a DTD. Refusing every markup declaration up front
// ("<!DOCTYPE", "<!ENTITY", …, in any case) means no entity — internal
// (billion laughs) or external (file://, http://) — can exist, whatever
// libxml2's options or process-wide defaults are. Only comments and CDATA
// may start with "<!"; a "<!" inside CDATA text is refused too (harmless).
bool has_markup_declaration(std::string_view xml);

// While alive, libxml2's (thread-local) structured error handler collects
// messages instead of printing to stderr; the previous handler is restored.
class XmlErrorCapture {
public:
    explicit XmlErrorCapture(std::size_t max_messages = 5);
    ~XmlErrorCapture();
    XmlErrorCapture(const XmlErrorCapture&) = delete;
    XmlErrorCapture& operator=(const XmlErrorCapture&) = delete;

    const std::vector<std::string>& messages() const { return messages_; }  // "XML line N: …"
    std::size_t count() const { return count_; }                            // all errors, kept or not

private:
    static void on_error(void* self, xmlErrorPtr err);

    xmlStructuredErrorFunc old_fn_;
    void* old_ctx_;
    std::size_t max_;
    std::vector<std::string> messages_;
    std::size_t count_ = 0;
};

}  // namespace xpmn::mappings
