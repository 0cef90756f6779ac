#include "daemon/terminal_qr.hpp"

#include <qrencode.h>

#include <memory>
#include <stdexcept>

namespace xpmn::daemon {

std::string terminal_qr(std::string_view text) {
    constexpr int kQuiet = 2;  // modules of light margin on each side
    std::string input(text);
    std::unique_ptr<QRcode, void (*)(QRcode*)> qr(QRcode_encodeString(input.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1),
                                                 QRcode_free);
    if (!qr) throw std::runtime_error("cannot make a QR code of " + input);
    const int width = qr->width;
    auto dark = [&](int x, int y) {
        if (x < 0 || y < 0 || x >= width || y >= width) return false;
        return (qr->data[y * width + x] & 1) != 0;
    };
    std::string out;
    for (int y = -kQuiet; y < width + kQuiet; y += 2) {
        for (int x = -kQuiet; x < width + kQuiet; ++x) {
            bool top = !dark(x, y), bottom = !dark(x, y + 1) && y + 1 < width + kQuiet;  // light = drawn
            out += top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
        }
        out += "\n";
    }
    return out;
}

}  // namespace xpmn::daemon
