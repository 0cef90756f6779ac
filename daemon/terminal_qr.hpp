// QR codes of the pairing URI (libqrencode), with a quiet zone around so a
// phone can scan them: for a terminal (two module rows per text line with
// UTF-8 half blocks, light modules drawn for the usual dark terminal) and as
// SVG for the status page (dark modules as one path, no script, no style).
#pragma once

#include <string>
#include <string_view>

namespace xpmn::daemon {

// Lines ending in "\n". Throws std::runtime_error when the text cannot be encoded.
std::string terminal_qr(std::string_view text);

// An <svg> element (inline in HTML), `module_px` pixels per module. Throws
// std::runtime_error when the text cannot be encoded.
std::string svg_qr(std::string_view text, int module_px = 4);

}  // namespace xpmn::daemon
