// The size budget of one Directory result: a result stays well under the
// 256 KiB stanza limit of peers and servers; children beyond the budget are
// left for the next page (`returned` says how many came).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mappings/didl/didl_parser.hpp"
#include "mappings/didl/transfer_table.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::upnp {

inline constexpr std::size_t kMaxResultBytes = 192 * 1024;

// Adds mapped children from objects[first] on, at most `max`, while the
// result stays within the budget (the first child always fits); returns how
// many. `bytes` is the result's serialized size so far, and is kept up to
// date; `already`: children the page holds before this call.
std::uint32_t add_children(xml::Element& result, const std::vector<mappings::MediaObject>& objects,
                           std::size_t first, std::uint32_t max, mappings::TransferTable& transfers,
                           const std::string& jid, std::size_t& bytes, std::uint32_t already = 0);

}  // namespace xpmn::upnp
