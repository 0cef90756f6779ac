#include "tools/xpmn/oob_result.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <memory>

#include "xmpp/client/disco_service.hpp"
#include "xmpp/jingle/oob_session.hpp"

namespace xpmn::tools {

void prepare_oob(Controller& c, const Jid& device, std::function<void()> ready) {
    if (!c.end_to_end()) return ready();
    auto once = std::make_shared<std::function<void()>>(std::move(ready));
    auto fire = [once] {
        if (auto f = std::exchange(*once, nullptr)) f();
    };
    client::query_disco_info(
        c.session(), device.str(),
        [&c, device, fire](const client::DiscoResult& info) {
            if (!info.ok() ||
                std::find(info->features.begin(), info->features.end(), jingle::kOobNs) == info->features.end())
                return fire();
            auto timer = std::make_shared<boost::asio::steady_timer>(c.io(), kOobPrepareWait);
            timer->async_wait([fire](const boost::system::error_code& ec) {
                if (!ec) fire();
            });
            c.oob_to(device, [fire, timer](Result<OobPtr>) {
                timer->cancel();
                fire();
            });
        },
        kOobPrepareWait);
}

}  // namespace xpmn::tools
