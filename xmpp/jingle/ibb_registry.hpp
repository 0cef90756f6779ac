// The In-Band Bytestreams of one router: answers the IBB IQs (<open/>,
// <data/>, <close/>) and hands each to its stream by (peer full JID as the
// router proved it, sid), so no other entity can write into or close a
// stream by guessing its sid; data or close for an unknown stream gets
// item-not-found, an <open/> nobody negotiated gets not-acceptable (IBB runs
// here only as a Jingle transport, XEP-0261). Owned by the JingleManager.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "xmpp/client/stanza_router.hpp"
#include "xmpp/jingle/ibb_stream.hpp"

namespace xpmn::jingle {

class IbbRegistry {
public:
    IbbRegistry(boost::asio::io_context& io, client::StanzaRouter& router);
    ~IbbRegistry();
    IbbRegistry(const IbbRegistry&) = delete;
    IbbRegistry& operator=(const IbbRegistry&) = delete;

    // A stream with `peer` under `sid`, registered at once so that the
    // peer's <open/> finds it (or that our open() can be answered). Error
    // conflict when that (peer, sid) is in use.
    Result<IbbStreamPtr> create(const Jid& peer, const std::string& sid, IbbStream::Options options);
    bool in_use(const Jid& peer, const std::string& sid) const { return streams_.count({peer, sid}) > 0; }
    std::size_t size() const { return streams_.size(); }

    boost::asio::io_context& io() { return io_; }
    client::StanzaRouter& router() { return router_; }

private:
    friend class IbbStream;
    using Key = std::pair<Jid, std::string>;
    void on_iq(const client::Peer& peer, const xml::Element& iq, client::IqResponder r);
    void forget(const IbbStream& stream);

    boost::asio::io_context& io_;
    client::StanzaRouter& router_;
    std::map<Key, std::weak_ptr<IbbStream>> streams_;
    std::shared_ptr<IbbRegistry*> alive_ = std::make_shared<IbbRegistry*>(this);
};

}  // namespace xpmn::jingle
