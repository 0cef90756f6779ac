// A QR code for a terminal (libqrencode): two module rows per text line with
// UTF-8 half blocks, light modules drawn (for the usual dark terminal) and a
// quiet zone around, so a phone can scan the pairing URI off the screen.
#pragma once

#include <string>
#include <string_view>

namespace xpmn::daemon {

// Lines ending in "\n". Throws std::runtime_error when the text cannot be encoded.
std::string terminal_qr(std::string_view text);

}  // namespace xpmn::daemon
