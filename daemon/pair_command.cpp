#include "daemon/pair_command.hpp"

#include <unistd.h>

#include <cctype>
#include <ostream>
#include <sstream>

#include "daemon/control_socket.hpp"
#include "daemon/terminal_qr.hpp"

namespace xpmn::daemon {
namespace {

// RFC 5122 §2.2 / RFC 3987: keep unreserved and the JID's own delimiters,
// percent-encode the rest (UTF-8 bytes included).
std::string iri_escape(const std::string& s) {
    static const std::string keep = "-._~!$'()*+,=:@/";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || keep.find(static_cast<char>(c)) != std::string::npos) {
            out.push_back(static_cast<char>(c));
        } else {
            static const char* hex = "0123456789ABCDEF";
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace

std::string pairing_uri(const std::string& bridge_jid, const std::string& pin, const std::string& fingerprint) {
    return "xmpp:" + iri_escape(bridge_jid) + "?pair;pin=" + iri_escape(pin) + ";fp=" + iri_escape(fingerprint);
}

std::map<std::string, std::string> parse_answer(const std::string& answer) {
    std::map<std::string, std::string> out;
    std::istringstream words(answer);
    for (std::string w; words >> w;)
        if (auto eq = w.find('='); eq != std::string::npos) out[w.substr(0, eq)] = w.substr(eq + 1);
    return out;
}

int run_pair(const std::string& state_dir, std::ostream& out, std::ostream& err) {
    auto answer = control_request(state_dir, "pair");
    if (!answer) {
        err << "xpmn-bridge pair: " << answer.error().text << "\n";
        if (answer.error().condition == "service-unavailable") {
            err << "Start the daemon (xpmn-bridge --config FILE) first.\n";
            return kPairNoDaemon;
        }
        return kPairRefused;
    }
    const std::string& line = *answer;
    if (!line.starts_with("ok ")) {
        err << "xpmn-bridge pair: the daemon refused: " << (line.starts_with("error ") ? line.substr(6) : line) << "\n";
        return kPairRefused;
    }
    auto fields = parse_answer(line.substr(3));
    for (const char* key : {"pin", "jid", "fp", "expires"})
        if (fields[key].empty()) {
            err << "xpmn-bridge pair: the daemon's answer has no " << key << ": " << line << "\n";
            return kPairRefused;
        }
    std::string uri = pairing_uri(fields["jid"], fields["pin"], fields["fp"]);
    out << "PIN " << fields["pin"] << "\n" << uri << "\n";
    try {
        out << terminal_qr(uri);
    } catch (const std::exception& e) {
        err << "xpmn-bridge pair: " << e.what() << " (type the PIN instead)\n";
    }
    out << "Pair " << fields["jid"] << " with this PIN until " << fields["expires"]
        << " (one use; 3 wrong tries burn it). Bridge certificate SHA-256: " << fields["fp"] << "\n";
    return kPairOk;
}

}  // namespace xpmn::daemon
