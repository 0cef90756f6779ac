// The grants profile on BARE/bridge (wire profile §4.2, urn:xmpp:xpmn:acl:0):
//   get <acl/>                     → the grants (owners: all; a friend: its own)
//   set <acl><grant jid device permission [container] [expires]/>
//            <revoke jid device/> <forget jid/></acl>
// Only owners may set; a set is checked as a whole before anything changes,
// and every change is saved before the answer. <forget/> also removes the account's certificates from the trust
// store and calls `on_forget` so that its live streams are closed.
#pragma once

#include <functional>
#include <memory>

#include "bridge/access_policy.hpp"
#include "bridge/device.hpp"
#include "bridge/security/grants.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::security {

inline constexpr const char* ns_acl = "urn:xmpp:xpmn:acl:0";
inline constexpr std::size_t kMaxAclItems = 100;  // children of one <acl/> set

struct AclContext {
    std::shared_ptr<xtls::TrustStore> trust;
    std::shared_ptr<GrantStore> grants;
    std::shared_ptr<const bridge::AccessPolicy> access;
    // A forgotten account (bare JID), or one certificate of it: close its
    // end-to-end streams (those of that certificate; every one when empty).
    std::function<void(const Jid&, const std::string& fingerprint)> on_forget;
};

// <grant/> element ↔ Grant. Parsing checks everything validate() does and
// that the device belongs to `home`; errors are bad-request with a text.
Result<Grant> parse_grant(const xml::Element& grant, const Jid& home);
xml::Element make_grant(const Grant& grant);

// <forget/>: the account's grants and certificates removed, each saved, then
// its live streams closed.
Result<void> forget_account(const AclContext& context, const Jid& jid);
// The status page's Forget of one controller: its certificate removed and its
// streams closed; the account's grants go with its last controller.
Result<void> forget_controller(const AclContext& context, const Jid& jid, const std::string& fingerprint);

// Adds the feature and the get/set handlers to the /bridge device.
void install_acl_profile(bridge::Device& bridge_device, AclContext context);

}  // namespace xpmn::security
