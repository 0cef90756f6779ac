#include "daemon/web/html.hpp"

#include "xmpp/xml/element.hpp"

namespace xpmn::daemon::web {

std::string html_escape(std::string_view text) { return xml::escape(text, xml::EscapeFor::Attribute); }

}  // namespace xpmn::daemon::web
