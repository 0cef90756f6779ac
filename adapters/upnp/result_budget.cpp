#include "adapters/upnp/result_budget.hpp"

#include "mappings/didl/metadata_xml.hpp"

namespace xpmn::upnp {

std::uint32_t add_children(xml::Element& result, const std::vector<mappings::MediaObject>& objects,
                           std::size_t first, std::uint32_t max, mappings::TransferTable& transfers,
                           const std::string& jid, std::size_t& bytes, std::uint32_t already) {
    std::uint32_t added = 0;
    for (std::size_t i = first; i < objects.size() && added < max; ++i) {
        xml::Element child = mappings::to_metadata(objects[i], transfers, jid, true);
        std::size_t size = child.to_string().size();
        if (bytes + size > kMaxResultBytes && added + already > 0) break;
        bytes += size;
        result.add_child(std::move(child));
        ++added;
    }
    return added;
}

}  // namespace xpmn::upnp
