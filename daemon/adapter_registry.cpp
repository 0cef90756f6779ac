#include "daemon/adapter_registry.hpp"

#include "adapters/mpris/mpris_adapter.hpp"
#include "adapters/upnp/upnp_adapter.hpp"

namespace xpmn::daemon {

std::vector<std::unique_ptr<bridge::AdapterKind>> adapter_kinds() {
    std::vector<std::unique_ptr<bridge::AdapterKind>> kinds;
    kinds.push_back(std::make_unique<upnp::UpnpAdapterKind>());
    kinds.push_back(std::make_unique<mpris::MprisAdapterKind>());
    // A new kind: its folder under adapters/ and one line here.
    return kinds;
}

}  // namespace xpmn::daemon
