// `xpmn-bridge --config FILE pair`: asks the running daemon (control socket)
// to open the pairing window and shows what a controller needs:
//   PIN 123456
//   xmpp:home@example.org/bridge?pair;pin=123456;fp=HEX
//   (the same URI as a QR code)
//   a line with the expiry and the bridge's fingerprint
// The URI is defined in docs/protocol.md ("Pairing URI").
#pragma once

#include <iosfwd>
#include <map>
#include <string>

namespace xpmn::daemon {

enum PairExit {
    kPairOk = 0,
    kPairRefused = 1,    // the daemon answered an error
    kPairNoDaemon = 3,   // nothing listens on the control socket
};

// xmpp:JID?pair;pin=PIN;fp=FP (RFC 5122 IRI, XEP-0147 query).
std::string pairing_uri(const std::string& bridge_jid, const std::string& pin, const std::string& fingerprint);
// "ok a=1 b=2" → {a:1, b:2} (the control socket's answer format).
std::map<std::string, std::string> parse_answer(const std::string& answer_after_ok);

int run_pair(const std::string& state_dir, std::ostream& out, std::ostream& err);

}  // namespace xpmn::daemon
