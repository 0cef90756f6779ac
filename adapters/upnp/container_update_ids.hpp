// The ContentDirectory's evented ContainerUpdateIDs: a CSV list of
// "containerID,updateID" pairs (UPnP CDS §2.5.21), in which a comma or a
// backslash inside an id is escaped with a backslash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xpmn::upnp {

// Pairs with a malformed update id are skipped; at most `max_pairs` are read.
std::vector<std::pair<std::string, std::uint32_t>> parse_container_update_ids(std::string_view csv,
                                                                              std::size_t max_pairs = 1000);

}  // namespace xpmn::upnp
