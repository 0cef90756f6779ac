// A port mapping on the home router (UPnP-IGD, NAT-PMP, …) as S5B sees it,
// for `assisted` candidates (XEP-0260 §2.2): what to ask for and what comes
// back. The mapping itself lives elsewhere (the bridge's IGD control point);
// nothing here knows how it is made.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace xpmn::jingle {

// One mapping: where the outside reaches our listener. Destroying the handle
// removes the mapping from the router (best effort; the lease bounds it).
class PortMapping {
public:
    PortMapping(std::string external_host, std::uint16_t external_port)
        : external_host_(std::move(external_host)), external_port_(external_port) {}
    virtual ~PortMapping() = default;
    PortMapping(const PortMapping&) = delete;
    PortMapping& operator=(const PortMapping&) = delete;

    const std::string& external_host() const { return external_host_; }
    std::uint16_t external_port() const { return external_port_; }

private:
    std::string external_host_;
    std::uint16_t external_port_;
};

using PortMappingPtr = std::unique_ptr<PortMapping>;
// Called once, from the event loop (or at once): the mapping, or nullptr
// when there is none (no router, it refused, another LAN).
using PortMapped = std::function<void(PortMappingPtr)>;
// "Map TCP connections from outside to internal_address:internal_port."
using MapPort = std::function<void(const std::string& internal_address, std::uint16_t internal_port, PortMapped done)>;

}  // namespace xpmn::jingle
