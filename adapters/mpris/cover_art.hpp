// A player's cover art as transfer uids of its device (wire profile §6.1,
// §7.3): an MPRIS player names its art by a file:// URL (mpv-mpris: a
// cover.jpg next to the file); the status carries
// `xmpp:BARE/mpris-…?transfer;uid=art-N` instead, and the device's transfer
// profile serves the file's bytes. No path ever goes on the wire, and no
// path a peer sends is ever opened: only the files the player itself
// announced are in the map (bounded, oldest forgotten first). A file is
// served only when it is a regular file of at most kMaxBytes.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>

#include "bridge/profiles/transfer_profile.hpp"

namespace xpmn::mpris {

class CoverArt : public profiles::MediaTransfers {
public:
    static constexpr std::size_t kMaxEntries = 64;
    static constexpr std::uint64_t kMaxBytes = 16 * 1024 * 1024;

    CoverArt(boost::asio::io_context& io, std::string device_full_jid, std::size_t max_entries = kMaxEntries,
             std::uint64_t max_bytes = kMaxBytes);

    // The cover-album URI for an mpris:artUrl the player sent: a file:// URL
    // is recorded (the same path keeps its uid) and its transfer URI
    // returned; anything else → nullopt (http(s) passes through the mapping).
    std::optional<std::string> announce(const std::string& art_url);
    std::size_t size() const { return entries_.size(); }

    // The uid itself for a known uid (a player has no containers).
    std::optional<std::string> object_of(const std::string& uid) const override;
    // Reads the file (regular, at most max_bytes) and gives the range.
    // Errors: item-not-found (unknown uid, file gone, not a regular file,
    // too large), range-not-satisfiable.
    void open(const profiles::TransferRequest& request, profiles::OpenCallback done) override;

private:
    struct Entry {
        std::string uid, path;
    };
    const Entry* find_uid(const std::string& uid) const;

    boost::asio::io_context& io_;
    std::string device_;
    std::size_t max_entries_;
    std::uint64_t max_bytes_;
    std::list<Entry> entries_;  // oldest first
    std::uint64_t next_ = 0;
};

// The MIME type of an image from its first bytes (JPEG, PNG, GIF, WebP, BMP);
// application/octet-stream otherwise.
std::string image_type(std::string_view head);

}  // namespace xpmn::mpris
