#include "adapters/upnp/renderer_poll.hpp"

#include <algorithm>
#include <cmath>

namespace xpmn::upnp {

profiles::PlayerChange poll_change(std::optional<RendererPoll>& last, const RendererPoll& now) {
    profiles::PlayerChange c;
    c.status = !last || now.track_uri != last->track_uri || now.state != last->state;
    if (last && now.position && last->position) {
        // Neither where it was (paused) nor where it would be by now at normal
        // speed (playing): it jumped. No state needed, so a renderer that
        // sends no LastChange is judged the same way.
        double elapsed = std::chrono::duration<double>(now.asked - last->asked).count();
        double still = std::abs(*now.position - *last->position);
        double moved = std::abs(*now.position - (*last->position + elapsed));
        c.seeked = std::min(still, moved) > kSeekJumpSeconds;
    }
    last = now;
    return c;
}

}  // namespace xpmn::upnp
