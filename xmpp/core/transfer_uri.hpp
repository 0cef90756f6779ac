// The transfer URI of an item (wire profile §5, §6.1, §7.1):
// `xmpp:FULLJID?transfer;uid=UID`, JID and uid percent-encoded. Parsed by the
// controller (`xpmn get`, `xpmn serve`) and by the bridge (a player's `open`).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "xmpp/core/jid.hpp"
#include "xmpp/core/result.hpp"

namespace xpmn {

struct TransferUri {
    Jid device;       // full JID of the media server device
    std::string uid;  // percent-decoded
    // bad-request with a text when `uri` is not a transfer URI.
    static Result<TransferUri> parse(std::string_view uri);
    std::string str() const;  // for messages (not percent-encoded)
};

// nullopt on a malformed %-escape.
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace xpmn
