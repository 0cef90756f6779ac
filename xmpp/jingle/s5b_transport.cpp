#include "xmpp/jingle/s5b_transport.hpp"

#include <boost/asio/post.hpp>

#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/socks5_codec.hpp"

namespace xpmn::jingle {

namespace asio = boost::asio;

S5bTransport::S5bTransport(JingleManager& manager, Jid peer, std::string sid, bool initiator, S5bOptions options)
    : manager_(manager), peer_(std::move(peer)), sid_(std::move(sid)), initiator_(initiator),
      options_(std::move(options)), map_timer_(manager.io()), timer_(manager.io()) {}

S5bTransport::~S5bTransport() {
    close_all();
    map_timer_.cancel();
}

Result<std::shared_ptr<S5bTransport>> S5bTransport::offer(JingleManager& manager, const Jid& peer,
                                                          S5bOptions options) {
    std::shared_ptr<S5bTransport> t(new S5bTransport(manager, peer, random_sid(), true, std::move(options)));
    if (auto r = t->gather(); !r) return r.error();
    return t;
}

Result<std::shared_ptr<S5bTransport>> S5bTransport::answer(JingleManager& manager, const Jid& peer,
                                                           const xml::Element& offer, S5bOptions options) {
    auto parsed = parse_s5b(offer);
    if (!parsed) return parsed.error();
    if (parsed->kind != S5bElement::Kind::Candidates) return Error{"bad-request", "an S5B offer carries candidates"};
    std::shared_ptr<S5bTransport> t(new S5bTransport(manager, peer, parsed->sid, false, std::move(options)));
    t->theirs_ = std::move(parsed->candidates);
    t->their_dstaddr_ = parsed->dstaddr;
    if (auto r = t->gather(); !r) return r.error();
    return t;
}

Result<void> S5bTransport::gather() {
    auto listener = S5bListener::open(manager_.io(), options_.addresses);
    if (!listener) return listener.error();
    listener_ = *listener;
    // Local preference: the order given, the first highest.
    std::uint16_t pref = 65535;
    for (const auto& b : listener_->bound()) {
        S5bCandidate c{random_sid(), b.address, manager_.self().str(), b.port, s5b_priority(S5bType::Direct, pref--),
                       S5bType::Direct};
        listener_cids_.push_back(c.cid);
        ours_.push_back(std::move(c));
    }
    pref = 65535;
    for (const auto& p : options_.proxies)
        ours_.push_back({random_sid(), p.host, p.jid, p.port, s5b_priority(S5bType::Proxy, pref--), S5bType::Proxy});
    // Direct candidates are reached with SHA-1(sid + initiator + responder)
    // whoever offered them (wire profile §6.2, XEP-0260 §2.2); the other
    // order is taken too, for peers that read §2.2 as "the candidate's
    // sender first" for the responder's candidates.
    listener_->start({direct_dst_addr(), socks5::dst_addr(sid_, manager_.self().str(), peer_.str()),
                      socks5::dst_addr(sid_, peer_.str(), manager_.self().str())},
                     options_.attempt_deadline,
                     [w = weak_from_this()](std::size_t index, std::shared_ptr<net::TcpStream> s) {
                         auto self = w.lock();
                         if (!self) return s->abort();
                         self->on_incoming(self->listener_cids_.at(index), std::move(s));
                     });
    return {};
}

void S5bTransport::prepare(std::function<void()> ready) {
    if (ready_ || !ready) return;  // already waiting
    const auto& bound = listener_->bound();
    // Mapped once per transport: a second prepare() finds it done.
    if (!options_.map_port || bound.empty() || cancelled_ || map_asked_) return ready();
    map_asked_ = true;
    ready_ = std::move(ready);
    mapping_pending_ = bound.size();
    map_timer_.expires_after(options_.map_timeout);
    map_timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
        if (auto self = w.lock(); self && !ec) self->prepared();
    });
    // Copied: a mapper answering at once may re-enter.
    auto listeners = bound;
    for (std::size_t i = 0; i < listeners.size(); ++i)
        options_.map_port(listeners[i].address, listeners[i].port, [w = weak_from_this(), i](PortMappingPtr m) {
            if (auto self = w.lock()) self->mapped(i, std::move(m));
            // else: the transport is gone, and the mapping with `m`
        });
}

void S5bTransport::mapped(std::size_t index, PortMappingPtr mapping) {
    if (!ready_) return;  // too late (timed out, cancelled): `mapping` is released here
    if (mapping && index < listener_cids_.size()) {
        // Local preference: the listeners' order, as for the direct candidates.
        S5bCandidate c{random_sid(), mapping->external_host(), manager_.self().str(), mapping->external_port(),
                       s5b_priority(S5bType::Assisted, std::uint16_t(65535 - index)), S5bType::Assisted};
        assisted_direct_[c.cid] = listener_cids_[index];
        ours_.push_back(std::move(c));
        mappings_.push_back(std::move(mapping));
    }
    if (--mapping_pending_ == 0) prepared();
}

void S5bTransport::prepared() {
    map_timer_.cancel();
    if (auto ready = std::exchange(ready_, {})) ready();
}

std::string S5bTransport::incoming_key(const std::string& cid) const {
    auto it = assisted_direct_.find(cid);
    return it == assisted_direct_.end() ? cid : it->second;
}

std::string S5bTransport::direct_dst_addr() const {
    const std::string self = manager_.self().str(), peer = peer_.str();
    return initiator_ ? socks5::dst_addr(sid_, self, peer) : socks5::dst_addr(sid_, peer, self);
}
// A proxy joins the two connections that name the same DST.ADDR: the one
// of the candidate's sender first, announced in the `dstaddr` attribute.
std::string S5bTransport::our_dst_addr() const {
    return socks5::dst_addr(sid_, manager_.self().str(), peer_.str());
}
std::string S5bTransport::their_dst_addr() const {
    if (!their_dstaddr_.empty()) return their_dstaddr_;
    return socks5::dst_addr(sid_, peer_.str(), manager_.self().str());
}

xml::Element S5bTransport::element() const {
    S5bElement e;
    e.sid = sid_;
    e.candidates = ours_;
    for (const auto& c : ours_)
        if (c.type == S5bType::Proxy) e.dstaddr = our_dst_addr();
    return make_s5b(e);
}

Result<void> S5bTransport::accepted(const xml::Element& answer) {
    if (!initiator_) return Error{"unexpected-request", "only the initiator takes an answer"};
    auto parsed = parse_s5b(answer);
    if (!parsed) return parsed.error();
    if (parsed->sid != sid_) return Error{"bad-request", "the S5B answer names another sid"};
    if (parsed->kind != S5bElement::Kind::Candidates) return Error{"bad-request", "an S5B answer carries candidates"};
    theirs_ = std::move(parsed->candidates);
    their_dstaddr_ = parsed->dstaddr;
    return {};
}

void S5bTransport::set_info_sender(std::function<void(xml::Element)> send) {
    send_ = std::move(send);
    while (send_ && !unsent_.empty()) {
        auto e = std::move(unsent_.front());
        unsent_.pop_front();
        send_(std::move(e));
    }
}

void S5bTransport::send_info(S5bElement e) {
    e.sid = sid_;
    auto x = make_s5b(e);
    if (send_) return send_(std::move(x));
    unsent_.push_back(std::move(x));
}

const S5bCandidate* S5bTransport::our_candidate(const std::string& cid) const {
    for (const auto& c : ours_)
        if (c.cid == cid) return &c;
    return nullptr;
}

void S5bTransport::connect(ConnectHandler done) {
    done_ = std::move(done);
    timer_.expires_after(options_.connect_timeout);
    timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
        auto self = w.lock();
        if (ec || !self || self->finished_) return;
        self->finish(Error{"remote-server-timeout", "the S5B negotiation did not complete in time"});
    });
    attempts_ = S5bAttempts::start(manager_.io(), theirs_, {direct_dst_addr(), their_dst_addr()},
                                   {options_.stagger, options_.attempt_deadline},
                                   [w = weak_from_this()](Result<S5bAttempts::Success> r) {
                                       if (auto self = w.lock()) self->on_attempts(std::move(r));
                                   });
    // The peer may have nominated before we started trying.
    if (peer_done_ && peer_cid_)
        if (const auto* c = our_candidate(*peer_cid_)) attempts_->drop_below(std::uint64_t(c->priority) + !initiator_);
}

void S5bTransport::on_attempts(Result<S5bAttempts::Success> r) {
    attempts_.reset();
    if (finished_) return;
    local_done_ = true;
    if (r) {
        mine_ = std::move(*r);
        send_info({S5bElement::Kind::CandidateUsed, {}, {}, {}, mine_->candidate.cid});
    } else {
        send_info({S5bElement::Kind::CandidateError, {}, {}, {}, {}});
    }
    decide();
}

void S5bTransport::on_incoming(const std::string& cid, std::shared_ptr<net::TcpStream> stream) {
    if (finished_ || incoming_.count(cid)) return stream->abort();
    incoming_[cid] = std::move(stream);
    // The peer's candidate-used may have overtaken its own connection.
    if (chosen_ && !chose_ours_ && incoming_key(chosen_->cid) == cid) use_theirs(*chosen_);
}

Result<void> S5bTransport::info(const xml::Element& transport) {
    auto parsed = parse_s5b(transport);
    if (!parsed) return parsed.error();
    if (parsed->sid != sid_) return Error{"bad-request", "the S5B transport-info names another sid"};
    switch (parsed->kind) {
        case S5bElement::Kind::Candidates:
            return Error{"feature-not-implemented", "S5B candidates come in session-initiate/-accept only"};
        case S5bElement::Kind::CandidateUsed:
        case S5bElement::Kind::CandidateError: {
            if (peer_done_) return Error{"unexpected-request", "the peer already nominated"};
            const S5bCandidate* c = nullptr;
            if (parsed->kind == S5bElement::Kind::CandidateUsed) {
                c = our_candidate(parsed->cid);
                if (!c) return Error{"item-not-found", "no candidate of ours has cid " + parsed->cid};
                peer_cid_ = parsed->cid;
            }
            peer_done_ = true;
            if (finished_) return {};
            // Ours can only win with a priority above theirs (or equal, when we initiated).
            if (c && attempts_) attempts_->drop_below(std::uint64_t(c->priority) + !initiator_);
            // Decided now, so an <activated/> that follows is understood;
            // the outcome itself reaches the application from the event loop.
            decide();
            return {};
        }
        case S5bElement::Kind::Activated:
            if (!waiting_activated_ || !chosen_ || parsed->cid != chosen_->cid)
                return Error{"unexpected-request", "no proxy of the peer's is being activated"};
            waiting_activated_ = false;
            finish(net::ByteStreamPtr(mine_->stream));
            return {};
        case S5bElement::Kind::ProxyError:
            if (!waiting_activated_) return Error{"unexpected-request", "no proxy of the peer's is being activated"};
            waiting_activated_ = false;
            finish(Error{kS5bUnusable, "the peer could not activate its proxy"});
            return {};
    }
    return {};
}

void S5bTransport::decide() {
    if (finished_ || chosen_ || !local_done_ || !peer_done_) return;
    const S5bCandidate* theirs_pick = peer_cid_ ? our_candidate(*peer_cid_) : nullptr;
    if (!mine_ && !theirs_pick) return finish(Error{kS5bUnusable, "no S5B candidate worked on either side"});
    bool ours_wins = mine_ && (!theirs_pick || mine_->candidate.priority > theirs_pick->priority ||
                               (mine_->candidate.priority == theirs_pick->priority && initiator_));
    if (ours_wins) return use_ours(mine_->candidate);
    use_theirs(*theirs_pick);
}

// We connected to the peer's candidate and it won.
void S5bTransport::use_ours(const S5bCandidate& c) {
    chosen_ = c;
    chose_ours_ = true;
    if (c.type != S5bType::Proxy) return finish(net::ByteStreamPtr(mine_->stream));
    // The peer offered that proxy: it activates, we wait for <activated/>.
    mine_->stream->set_relayed(true);
    waiting_activated_ = true;
    if (listener_) listener_->close();
}

// The peer connected to our candidate and it won.
void S5bTransport::use_theirs(const S5bCandidate& c) {
    chosen_ = c;
    chose_ours_ = false;
    if (mine_) {
        mine_->stream->abort();
        mine_.reset();
    }
    if (c.type == S5bType::Proxy) return activate_proxy(c);
    auto it = incoming_.find(incoming_key(c.cid));
    if (it == incoming_.end()) return;  // its connection is still on its way (on_incoming)
    auto stream = it->second;
    incoming_.erase(it);
    finish(net::ByteStreamPtr(stream));
}

// XEP-0260 §2.4 / XEP-0065 §6.3.3: we offered the proxy, so we connect to
// it as well and ask it to join the two connections.
void S5bTransport::activate_proxy(const S5bCandidate& c) {
    if (listener_) listener_->close();
    proxy_client_ = socks5::Client::connect(
        manager_.io(), c.host, c.port, our_dst_addr(), options_.attempt_deadline,
        [w = weak_from_this(), c](Result<std::shared_ptr<net::TcpStream>> r) {
            auto self = w.lock();
            if (!self) {
                if (r) (*r)->abort();
                return;
            }
            self->proxy_client_.reset();
            if (self->finished_) {
                if (r) (*r)->abort();
                return;
            }
            if (!r) {
                self->send_info({S5bElement::Kind::ProxyError, {}, {}, {}, {}});
                return self->finish(Error{kS5bUnusable, "our proxy " + c.jid + ": " + r.error().describe()});
            }
            auto stream = std::move(*r);
            stream->set_relayed(true);
            auto iq = stanza::iq("set", c.jid);
            auto& q = iq.add("query", kBytestreamsNs);
            q.set_attr("sid", self->sid_);
            q.add_text_child("activate", self->peer_.str(), kBytestreamsNs);
            self->manager_.router().send_iq(
                std::move(iq), self->manager_.options().iq_timeout,
                [w, c, stream](const client::IqResponse& resp) {
                    auto self = w.lock();
                    if (!self || self->finished_) return stream->abort();
                    if (!resp.ok()) {
                        stream->abort();
                        self->send_info({S5bElement::Kind::ProxyError, {}, {}, {}, {}});
                        return self->finish(
                            Error{kS5bUnusable, "proxy " + c.jid + " refused activation: " + resp.error().describe()});
                    }
                    self->send_info({S5bElement::Kind::Activated, {}, {}, {}, c.cid});
                    self->finish(net::ByteStreamPtr(stream));
                });
        });
}

void S5bTransport::finish(Result<net::ByteStreamPtr> outcome) {
    if (finished_) {
        if (outcome) (*outcome)->abort();
        return;
    }
    finished_ = true;
    // Keep what is handed out out of close_all().
    if (outcome) {
        if (mine_ && net::ByteStreamPtr(mine_->stream) == *outcome) mine_.reset();
    }
    close_all();
    auto done = std::move(done_);
    done_ = nullptr;
    if (!done) {
        if (outcome) (*outcome)->abort();
        return;
    }
    // Never from inside the caller's call (info() is called from a handler).
    // cancel() in between still means no callback (and no stream left open).
    asio::post(manager_.io(), [w = weak_from_this(), done = std::move(done), outcome = std::move(outcome)]() mutable {
        auto self = w.lock();
        if (!self || self->cancelled_) {
            if (outcome) (*outcome)->abort();
            return;
        }
        done(std::move(outcome));
    });
}

void S5bTransport::close_all() {
    timer_.cancel();
    if (listener_) listener_->close();
    if (attempts_) attempts_->cancel();
    attempts_.reset();
    if (proxy_client_) proxy_client_->cancel();
    proxy_client_.reset();
    for (auto& [cid, s] : incoming_) s->abort();
    incoming_.clear();
    if (mine_) mine_->stream->abort();
    mine_.reset();
}

void S5bTransport::cancel() {
    cancelled_ = true;
    done_ = nullptr;
    ready_ = nullptr;
    map_timer_.cancel();
    finished_ = true;
    close_all();
    mappings_.clear();  // the router forgets them
}

std::function<void(xml::Element)> session_info_sender(const SessionPtr& session, const Content& content) {
    std::weak_ptr<Session> weak = session;
    Content c;
    c.creator = content.creator;
    c.name = content.name;
    c.senders = content.senders;
    return [weak, c](xml::Element transport) {
        auto s = weak.lock();
        if (!s || s->state() == Session::State::Ended) return;
        Jingle j;
        j.action = Action::TransportInfo;
        Content content = c;
        content.transport = std::move(transport);
        j.contents.push_back(std::move(content));
        s->send(std::move(j));
    };
}

}  // namespace xpmn::jingle
