// One SOAP action on a UPnP service (a renderer's AVTransport or
// RenderingControl) with string arguments, bounded by a timeout. Every call
// ends exactly once, never before it returns: with the out-arguments, or an
// Error in the player profile's vocabulary (media_player.hpp) plus the UPnP
// errorCode of a SOAP fault, so a caller can react to a known quirk (Next
// answered with 501 or 711: the renderer has no playlist of its own).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "xmpp/core/result.hpp"

typedef struct _GUPnPServiceProxy GUPnPServiceProxy;

namespace xpmn::upnp {

struct ActionReply {
    std::optional<Error> error;
    int fault = 0;  // the UPnP errorCode of a SOAP fault; 0: none
    std::map<std::string, std::string> out;

    bool ok() const { return !error; }
    std::string get(const std::string& name) const {
        auto it = out.find(name);
        return it == out.end() ? std::string() : it->second;
    }
};

class ServiceAction {
public:
    using Args = std::vector<std::pair<std::string, std::string>>;
    using Done = std::function<void(const ActionReply&)>;

    // Takes a reference on `proxy`; `device` names the device in error texts ("the renderer").
    ServiceAction(GUPnPServiceProxy* proxy, std::chrono::milliseconds timeout, std::string device);
    ~ServiceAction();
    ServiceAction(const ServiceAction&) = delete;
    ServiceAction& operator=(const ServiceAction&) = delete;

    // `out`: the out-arguments wanted, read as strings.
    void call(const std::string& action, const Args& in, const std::vector<std::string>& out, Done done);
    // Cancels every call in flight (their callbacks still run, with service-unavailable).
    void cancel_all();
    GUPnPServiceProxy* proxy() const { return proxy_; }

private:
    struct Call;
    GUPnPServiceProxy* proxy_;
    std::chrono::milliseconds timeout_;
    std::string device_;
    std::vector<std::weak_ptr<Call>> calls_;
};

// A reply as the answer of a command that returns nothing.
inline ServiceAction::Done answer(std::function<void(Result<void>)> done) {
    return [done = std::move(done)](const ActionReply& r) {
        if (r.ok())
            done(Result<void>());
        else
            done(*r.error);
    };
}

}  // namespace xpmn::upnp
