// Wire profile §5, last bullet: a Directory result larger than 16 KiB goes
// out of band when the peer has an OOB session with the device — the IQ
// result is <oob id size type='text/xml'/> and the <container/> document
// (with an XML declaration) arrives on that id. Without a session the
// result stays inline (it is already kept under 192 KiB).
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <memory>

#include "bridge/oob_links.hpp"
#include "xmpp/client/stanza_router.hpp"

namespace xpmn::profiles {

inline constexpr std::size_t kInlineResultMax = 16 * 1024;

void answer_result(boost::asio::io_context& io, const std::weak_ptr<bridge::OobLinks>& links,
                   const client::Peer& peer, client::IqResponder& responder, xml::Element result);

}  // namespace xpmn::profiles
