// Fuzz target: UPnP SearchCriteria from any LAN control point
// (adapters/upnp/search_criteria), the text of a Search action. Besides
// crashes and undefined behaviour it checks what the export relies on: an
// answer is either a <search/> with 1 to 16 terms, or an error of the one
// condition that becomes UPnP error 708.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "adapters/upnp/search_criteria.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view criteria(reinterpret_cast<const char*>(data), size);
    auto r = xpmn::upnp::search_request(criteria, "0", 0, 100);
    if (!r) {
        if (r.error().condition != xpmn::upnp::kCriteriaError) std::abort();
        return 0;
    }
    std::size_t terms = 0;
    for (const auto* e : r->elements()) {
        (void)e;
        ++terms;
    }
    if (r->name() != "search" || terms < 1 || terms > 16) std::abort();
    return 0;
}
