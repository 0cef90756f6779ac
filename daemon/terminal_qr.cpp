#include "daemon/terminal_qr.hpp"

#include <qrencode.h>

#include <memory>
#include <stdexcept>

namespace xpmn::daemon {
namespace {

constexpr int kQuiet = 2;  // modules of light margin on each side

// The code's modules: dark(x, y), false outside the symbol (the quiet zone).
class Modules {
public:
    explicit Modules(std::string_view text) : qr_(encode(std::string(text))) {}
    int width() const { return qr_->width; }
    bool dark(int x, int y) const {
        if (x < 0 || y < 0 || x >= width() || y >= width()) return false;
        return (qr_->data[y * width() + x] & 1) != 0;
    }

private:
    using Ptr = std::unique_ptr<QRcode, void (*)(QRcode*)>;
    static Ptr encode(const std::string& input) {
        Ptr qr(QRcode_encodeString(input.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), QRcode_free);
        if (!qr) throw std::runtime_error("cannot make a QR code of " + input);
        return qr;
    }
    Ptr qr_;
};

}  // namespace

std::string terminal_qr(std::string_view text) {
    Modules m(text);
    const int width = m.width();
    std::string out;
    for (int y = -kQuiet; y < width + kQuiet; y += 2) {
        for (int x = -kQuiet; x < width + kQuiet; ++x) {
            bool top = !m.dark(x, y), bottom = !m.dark(x, y + 1) && y + 1 < width + kQuiet;  // light = drawn
            out += top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
        }
        out += "\n";
    }
    return out;
}

std::string svg_qr(std::string_view text, int module_px) {
    Modules m(text);
    const int side = m.width() + 2 * kQuiet;
    const std::string px = std::to_string(side * module_px), n = std::to_string(side);
    std::string path;
    for (int y = 0; y < m.width(); ++y)
        for (int x = 0; x < m.width(); ++x)
            if (m.dark(x, y)) path += "M" + std::to_string(x + kQuiet) + " " + std::to_string(y + kQuiet) + "h1v1h-1z";
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + px + "\" height=\"" + px + "\" viewBox=\"0 0 " + n +
           " " + n + "\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"pairing QR code\">" +
           "<rect width=\"" + n + "\" height=\"" + n + "\" fill=\"#fff\"/><path fill=\"#000\" d=\"" + path +
           "\"/></svg>";
}

}  // namespace xpmn::daemon
