#include "tools/xpmn/controller.hpp"

#include <unistd.h>

#include "xmpp/client/c2s_channel.hpp"

#include <algorithm>
#include <iostream>

#include "controller/controller_presence.hpp"
#include "xmpp/client/disco_service.hpp"

namespace xpmn::tools {

Controller::Controller(boost::asio::io_context& io, const config::Config& config, const std::string& resource,
                       std::chrono::seconds timeout)
    : io_(io), config_(config), deadline_(io), timeout_(timeout) {
    auto sc = config::session_config(config_, resource);
    sc.ping_interval = std::chrono::milliseconds(0);  // short-lived
    sc.backoff_max = std::chrono::milliseconds(4000);
    // A request may take as long as the command may: the device's own
    // timeouts (10 s for a NAS) then arrive as errors instead of ours.
    sc.iq_timeout = timeout;
    session_ = client::C2sSession::create(io_, sc);
    // Controllers announce only that they are controllers (wire profile §2).
    info_ = controller::controller_info("pc", "xpmn");
    announce({});
}

void Controller::announce(const std::vector<std::string>& features) {
    for (const auto& f : features)
        if (std::find(info_->features.begin(), info_->features.end(), f) == info_->features.end())
            info_->features.push_back(f);
    controller::announce(*session_, info_);
}

void Controller::send_presence_to(const std::string& jid) {
    auto p = client::caps_presence(*info_);
    p.set_attr("to", jid);
    session_->send(std::move(p));
}

std::string Controller::resolve_jid(const std::string& text) const {
    if (text.find('@') != std::string::npos || text.find('/') != std::string::npos) return text;
    if (text == config_.xmpp.jid.domain()) return text;  // the account's own server
    return config_.xmpp.jid.bare().str() + "/" + text;
}

SecureLinks& Controller::links() {
    if (!links_) {
        char host[256] = "";
        if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
        links_ = std::make_unique<SecureLinks>(io_, session_, config_.bridge.state_dir, config_.xmpp.jid,
                                               std::string("xpmn on ") + (host[0] ? host : "this computer"));
        links_->set_transfer(config_.transfer);
    }
    return *links_;
}

void Controller::channel_to(const std::string& device, ChannelCallback done) {
    if (!end_to_end_) {
        if (!c2s_channel_) c2s_channel_ = client::C2sChannel::create(session_);
        return done(c2s_channel_);
    }
    auto jid = Jid::parse(device);
    if (!jid) return done(Error{"jid-malformed", "'" + device + "' is not a JID"});
    try {
        links().channel(*jid, std::move(done));
    } catch (const std::exception& e) {  // the state directory's identity or trust store
        done(Error{"internal-server-error", e.what()});
    }
}

void Controller::oob_to(const Jid& device, OobCallback done) {
    try {
        links().oob(device, std::move(done));
    } catch (const std::exception& e) {  // the state directory's identity or trust store
        done(Error{"internal-server-error", e.what()});
    }
}

int Controller::run(Command command) {
    int rc = 1;
    bool finished = false;
    auto finish = [&](int code) {
        if (finished) return;
        finished = true;
        rc = code;
        deadline_.cancel();
        if (c2s_channel_) c2s_channel_->close();
        auto stop = [this] { session_->stop([this] { io_.stop(); }); };
        // The streams' last data and session-terminates travel over this
        // session: it stays up until they are out.
        if (links_)
            links_->close_all(stop);
        else
            stop();
    };
    bool started = false;
    session_->set_events({
        [&](bool resumed) {
            if (started) {
                if (!resumed && on_session_lost_) on_session_lost_();
                return;
            }
            started = true;
            command(*this, finish);
        },
        nullptr,
        [&](const std::string& reason) { last_error_ = reason; },
    });
    deadline_.expires_after(timeout_);
    deadline_.async_wait([&](const boost::system::error_code& ec) {
        if (ec) return;
        std::cerr << "xpmn: timed out after " << timeout_.count() << " s"
                  << (last_error_.empty() ? std::string() : " (last error: " + last_error_ + ")") << "\n";
        finish(1);
    });
    session_->start();
    io_.run();
    return rc;
}

}  // namespace xpmn::tools
