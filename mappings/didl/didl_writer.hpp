// The reverse of object_mapper: wire profile §5 metadata
// (urn:xmpp:media:metadata:0 <item/> and <container/>) → DIDL-Lite, written
// by gupnp-av's GUPnPDIDLLiteWriter.
// - didl_for_playable: one item and the URL a renderer will fetch, the
//   CurrentURIMetaData of AVTransport's SetAVTransportURI. Without metadata
//   the item carries only the resource, so a renderer still learns what it
//   plays.
// - didl_for_objects: the Result of a ContentDirectory Browse answered from
//   the Directory profile (another bridge's server shown on the LAN); each
//   xmpp: transfer URI (<uri>, <cover-album>) becomes the HTTP URL `url_for`
//   gives.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/xml/element.hpp"

namespace xpmn::mappings {

std::string didl_for_playable(const std::string& url, const std::optional<xml::Element>& metadata);

using UrlForUri = std::function<std::string(const std::string& xmpp_uri)>;
// <item/> and <container/> elements (anything else is skipped); an object
// without `parent` gets `parent_id` (the root's is "-1").
std::string didl_for_objects(const std::vector<const xml::Element*>& objects, const std::string& parent_id,
                             const UrlForUri& url_for);

}  // namespace xpmn::mappings
