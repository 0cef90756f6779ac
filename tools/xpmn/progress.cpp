#include "tools/xpmn/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "tools/xpmn/text_format.hpp"

namespace xpmn::tools {

namespace {

constexpr auto kTerminalEvery = std::chrono::milliseconds(100);
constexpr auto kLineEvery = std::chrono::seconds(5);
constexpr int kBarWidth = 30;

std::string eta_text(double seconds) {
    if (seconds < 0 || seconds > 360000) return "--:--";
    return clock_text(static_cast<long>(seconds + 0.5));
}

}  // namespace

Progress::Progress(std::uint64_t size, std::uint64_t base) : size_(size), base_(base), terminal_(isatty(2) == 1) {}

void Progress::update(std::uint64_t received) {
    auto now = Clock::now();
    if (now - last_ < (terminal_ ? std::chrono::duration_cast<Clock::duration>(kTerminalEvery)
                                 : std::chrono::duration_cast<Clock::duration>(kLineEvery)))
        return;
    last_ = now;
    show(received, false);
}

void Progress::done(std::uint64_t received) {
    show(received, true);
}

void Progress::clear() {
    if (terminal_ && drawn_) std::fputs("\r\033[K", stderr);
    drawn_ = false;
}

void Progress::show(std::uint64_t received, bool last) {
    double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    double rate = elapsed > 0 ? received / elapsed : 0;
    double fraction = size_ ? static_cast<double>(received) / size_ : 1.0;
    std::string line = bytes_text(static_cast<double>(base_ + received)) + " / " +
                       bytes_text(static_cast<double>(base_ + size_)) + "  " + bytes_text(rate) + "/s";
    if (!last) line += "  ETA " + eta_text(rate > 0 ? (size_ - received) / rate : -1);
    if (terminal_) {
        int filled = static_cast<int>(fraction * kBarWidth);
        std::string bar = "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "] ";
        std::fprintf(stderr, "\r\033[K%s%3d%% %s%s", bar.c_str(), static_cast<int>(fraction * 100), line.c_str(),
                     last ? "\n" : "");
        drawn_ = !last;
    } else {
        std::fprintf(stderr, "xpmn: %3d%% %s\n", static_cast<int>(fraction * 100), line.c_str());
    }
    std::fflush(stderr);
}

}  // namespace xpmn::tools
