#include "bridge/security/pairing_window.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace xpmn::security {

std::string random_pin(std::size_t digits) {
    std::string pin;
    while (pin.size() < digits) {
        unsigned char bytes[32];
        if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("the random number generator failed");
        for (unsigned char b : bytes)
            if (b < 250 && pin.size() < digits) pin.push_back(static_cast<char>('0' + b % 10));  // 250 = 25 × 10
        OPENSSL_cleanse(bytes, sizeof bytes);
    }
    return pin;
}

PairingWindow::PairingWindow(SteadyClock clock, std::function<std::string()> make_pin)
    : clock_(std::move(clock)), make_pin_(std::move(make_pin)) {}

PairingWindow::Opened PairingWindow::open() {
    if (!pin_.empty()) OPENSSL_cleanse(pin_.data(), pin_.size());
    pin_ = make_pin_();
    failures_ = 0;
    expires_ = clock_() + validity_;
    return {pin_, expires_};
}

bool PairingWindow::active() const { return !pin_.empty() && clock_() < expires_; }

std::optional<std::chrono::steady_clock::time_point> PairingWindow::expires() const {
    if (!active()) return std::nullopt;
    return expires_;
}

tls::SrpLookup PairingWindow::srp_lookup(Jid initiator) {
    return [weak = weak_from_this(), initiator = initiator.str()](const std::string& user)
               -> std::optional<tls::SrpVerifier> {
        auto self = weak.lock();
        if (!self || user != initiator) return std::nullopt;
        if (!self->active()) {
            if (!self->pin_.empty()) self->burn("expired");
            return std::nullopt;
        }
        return tls::make_srp_verifier(user, self->pin_);
    };
}

void PairingWindow::failed() {
    if (pin_.empty()) return;
    if (++failures_ >= kMaxFailures) burn(std::to_string(kMaxFailures) + " failed handshakes");
}

void PairingWindow::succeeded() {
    if (!pin_.empty()) burn("used");
}

void PairingWindow::close() {
    if (!pin_.empty()) burn("closed");
}

void PairingWindow::burn(const std::string& why) {
    OPENSSL_cleanse(pin_.data(), pin_.size());
    pin_.clear();
    if (on_burned) on_burned(why);
}

}  // namespace xpmn::security
