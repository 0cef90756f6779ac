// The controller's connection: one c2s session that announces itself as an
// XPMN controller, runs one command once online, and gives up with a clear
// message when the server cannot be reached in time.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "controller/controller_links.hpp"
#include "controller/secure_links.hpp"
#include "xmpp/client/c2s_session.hpp"
#include "xmpp/core/disco_info.hpp"

namespace xpmn::tools {

using controller::ChannelCallback;
using controller::ChannelPtr;
using controller::OobCallback;
using controller::OobPtr;
using controller::SecureLinks;

class Controller : public controller::ControllerLinks {
public:
    using Done = std::function<void(int exit_code)>;
    using Command = std::function<void(Controller&, Done)>;

    Controller(boost::asio::io_context& io, const config::Config& config, const std::string& resource,
               std::chrono::seconds timeout);
    // Connects, runs `command` once online, and returns its exit code.
    int run(Command command);

    client::C2sSession& session() { return *session_; }
    boost::asio::io_context& io() override { return io_; }
    // A long-running command (watch) is past its start: --timeout no longer ends it.
    void watching() { deadline_.cancel(); }
    // Called when the connection came back as a new session (not resumed):
    // what the devices knew about this controller (watches) is gone.
    void on_session_lost(std::function<void()> callback) { on_session_lost_ = std::move(callback); }
    const config::Config& config() const { return config_; }

    // Profile requests to `device` (full JID) go on its end-to-end stream,
    // opened on first use and reused (wire profile §3); with end-to-end
    // switched off (--no-e2e, for a bridge that relaxes require_e2e) on the
    // c2s session. Errors say what to do (pair first, …).
    void channel_to(const std::string& device, ChannelCallback done) override;
    void set_end_to_end(bool on) { end_to_end_ = on; }
    bool end_to_end() const { return end_to_end_; }
    // The out-of-band session with `device` (full JID) for transfers and
    // large results (wire profile §6.2), opened on first use and reused.
    void oob_to(const Jid& device, OobCallback done) override;
    // How long a request may wait for its answer (--timeout).
    std::chrono::milliseconds request_timeout() const override { return timeout_; }
    // This controller's certificate and trust store (made on first use).
    SecureLinks& links() override;
    // Adds features to what this controller announces (its disco#info and
    // caps): `…+notify` for the events it wants (wire profile §2, §7.3).
    // Before run(): the initial presence carries them.
    void announce(const std::vector<std::string>& features);
    // A presence with this controller's caps, directed to `jid` (the
    // server sends it our unavailable presence when we leave).
    void send_presence_to(const std::string& jid);
    // A full JID from a full JID or a resource of the own account; the account's domain stays itself.
    std::string resolve_jid(const std::string& text) const;

private:
    boost::asio::io_context& io_;
    config::Config config_;
    std::shared_ptr<client::C2sSession> session_;
    std::shared_ptr<disco::Info> info_;  // what this controller announces
    boost::asio::steady_timer deadline_;
    std::chrono::seconds timeout_;
    std::string last_error_;
    std::function<void()> on_session_lost_;
    bool end_to_end_ = true;
    std::unique_ptr<SecureLinks> links_;
    std::shared_ptr<client::PeerChannel> c2s_channel_;
};

}  // namespace xpmn::tools
