// What a peer's bytes reach on a c2s or end-to-end channel, for fuzz targets
// of anything that sits on a StanzaRouter (the stanza router itself, Jingle
// session handling, profiles): the input is written by one end of an
// in-memory connection (net::make_memory_pair) into an XmlStream at the other
// end, whose stanzas reach the router as C2sSession delivers them (stanzas
// only). `setup` installs what is under test on the router; what it returns
// is kept alive until the input has been processed and the channel torn down.
//
// It checks the router's promise (wire profile §8) for every input: each IQ
// request that can be answered (it has an id) gets exactly one response, and
// every error sent carries a <text/>; a broken promise aborts with the
// stanzas sent.
//
// Input format: byte 0 = flags (bit 0: send the usual stream header first;
// bit 1: the end-to-end peer resolver instead of the c2s one), the rest = the
// bytes the peer sends. Seeds: tests/fuzz/stanza_router/ shows both forms.
// XPMN_FUZZ_TRACE=1 prints the stanzas sent back (how deep a seed gets).
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "xmpp/client/stanza_router.hpp"

namespace xpmn::fuzz {

using ChannelSetup = std::function<std::shared_ptr<void>(boost::asio::io_context&, client::StanzaRouter&)>;

// Runs one fuzz input through the channel; returns 0 (libFuzzer's "keep going").
int run_channel(const std::uint8_t* data, std::size_t size, const ChannelSetup& setup);

}  // namespace xpmn::fuzz
