// What the controller's requests to devices need from whoever acts as a
// controller: the `xpmn` CLI's connection, or a bridge fetching an item of
// another bridge's device for one of its players (wire profile §7.1). The
// transfer client is written against this, not against either of them.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>

#include "controller/secure_links.hpp"

namespace xpmn::controller {

class ControllerLinks {
public:
    virtual ~ControllerLinks() = default;
    virtual boost::asio::io_context& io() = 0;
    // The channel profile requests to `device` (full JID) go on.
    virtual void channel_to(const std::string& device, ChannelCallback done) = 0;
    // The out-of-band session with `device` (full JID).
    virtual void oob_to(const Jid& device, OobCallback done) = 0;
    // How long a request may wait for its answer.
    virtual std::chrono::milliseconds request_timeout() const = 0;
    virtual SecureLinks& links() = 0;
};

}  // namespace xpmn::controller
