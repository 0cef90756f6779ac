// Finding the account's devices: their full JIDs from presence, then their
// disco#info. Shared by `devices` and by commands that take a device name.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "tools/xpmn/controller.hpp"
#include "xmpp/client/disco_service.hpp"
#include "xmpp/core/result.hpp"

namespace xpmn::tools {

using DeviceMap = std::map<std::string, client::DiscoResult>;  // full JID → disco#info

void discover_devices(Controller& c, std::function<void(const DeviceMap&)> done);

// DEVICE is a full JID, a resource of the account, or a friendly name that
// only one device has. Calls back with the full JID, or an Error
// (item-not-found: no such device; conflict: the name is not unique).
void resolve_device(Controller& c, const std::string& text, std::function<void(Result<std::string> jid)> done);

// resolve_device, then the channel to it (the end-to-end stream, or c2s with --no-e2e).
struct DeviceChannel {
    std::string jid;
    ChannelPtr channel;
};
void device_channel(Controller& c, const std::string& text, std::function<void(Result<DeviceChannel>)> done);

}  // namespace xpmn::tools
