// Download progress on stderr: a bar with bytes, rate and ETA redrawn in
// place on a terminal (at most 10 times a second); plain lines otherwise
// (at most one every 5 s, and one at the end), for logs.
#pragma once

#include <chrono>
#include <cstdint>

namespace xpmn::tools {

class Progress {
public:
    // `size`: the bytes to come; `base`: bytes the file had already (resume).
    Progress(std::uint64_t size, std::uint64_t base);
    void update(std::uint64_t received);
    void done(std::uint64_t received);
    // Removes the bar before an error message.
    void clear();

private:
    void show(std::uint64_t received, bool last);

    using Clock = std::chrono::steady_clock;
    std::uint64_t size_, base_;
    bool terminal_;
    bool drawn_ = false;
    Clock::time_point start_ = Clock::now(), last_ = Clock::time_point{};
};

}  // namespace xpmn::tools
