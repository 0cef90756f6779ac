#include "xmpp/jingle/ibb_registry.hpp"

namespace xpmn::jingle {

IbbRegistry::IbbRegistry(boost::asio::io_context& io, client::StanzaRouter& router) : io_(io), router_(router) {
    for (const char* name : {"open", "data", "close"})
        router_.on_iq("set", kIbbNs, name,
                      [alive = std::weak_ptr<IbbRegistry*>(alive_)](const client::Peer& peer, const xml::Element& iq,
                                                                   client::IqResponder r) {
                          auto self = alive.lock();
                          if (!self) return r.error("service-unavailable", "in-band bytestreams are not offered here any more");
                          (*self)->on_iq(peer, iq, std::move(r));
                      });
}

IbbRegistry::~IbbRegistry() {
    alive_.reset();
    // Streams still held by their owners end: nothing carries them any more.
    auto streams = std::move(streams_);
    streams_.clear();
    for (auto& [key, weak] : streams)
        if (auto s = weak.lock()) s->finish("the XMPP session of the in-band bytestream ended");
}

Result<IbbStreamPtr> IbbRegistry::create(const Jid& peer, const std::string& sid, IbbStream::Options options) {
    if (in_use(peer, sid)) return Error{"conflict", "an in-band bytestream '" + sid + "' with " + peer.str() + " exists"};
    auto stream = std::make_shared<IbbStream>(*this, peer, sid, options);
    streams_[{peer, sid}] = stream;
    return stream;
}

void IbbRegistry::forget(const IbbStream& stream) {
    auto it = streams_.find({stream.peer(), stream.sid()});
    if (it == streams_.end()) return;
    auto s = it->second.lock();
    if (!s || s.get() == &stream) streams_.erase(it);
}

void IbbRegistry::on_iq(const client::Peer& peer, const xml::Element& iq, client::IqResponder r) {
    const xml::Element& payload = *iq.first_element();
    std::string sid = payload.attr_or("sid");
    if (sid.empty()) return r.error("bad-request", "<" + payload.name() + "/> without a sid");
    auto it = streams_.find({peer.jid, sid});
    IbbStreamPtr stream = it == streams_.end() ? nullptr : it->second.lock();
    if (!stream) {
        if (payload.name() == "open")
            return r.error("not-acceptable", "no Jingle session negotiated the in-band bytestream '" + sid + "'");
        return r.error("item-not-found", "no in-band bytestream '" + sid + "' with " + peer.jid.str());
    }
    if (payload.name() == "open") return stream->on_open(payload, std::move(r));
    if (payload.name() == "data") return stream->on_data(payload, std::move(r));
    stream->on_close(std::move(r));
}

}  // namespace xpmn::jingle
