// The reverse of object_mapper: an <item xmlns='urn:xmpp:media:metadata:0'>
// and the URL a renderer will fetch → a DIDL-Lite document with one item
// (written by gupnp-av's GUPnPDIDLLiteWriter), the CurrentURIMetaData of
// AVTransport's SetAVTransportURI. Without metadata the item carries only
// the resource, so a renderer still learns what it plays.
#pragma once

#include <optional>
#include <string>

#include "xmpp/xml/element.hpp"

namespace xpmn::mappings {

std::string didl_for_playable(const std::string& url, const std::optional<xml::Element>& metadata);

}  // namespace xpmn::mappings
