// The MediaServer Directory profile (wire profile §5): parses browse/search
// requests with their limits, checks access, asks a MediaDirectory (one per
// media server device; the UPnP adapter provides one) and answers with the
// <container/> or the profile's error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "bridge/access_policy.hpp"
#include "bridge/device.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::profiles {

inline constexpr const char* ns_server = ns::media_server;
inline constexpr const char* ns_metadata = ns::media_metadata;
inline constexpr const char* ns_pubsub = ns::pubsub;

inline constexpr std::uint32_t kDefaultMax = 100;
inline constexpr std::uint32_t kMaxMax = 1000;
inline constexpr std::size_t kMaxIdLength = 1024;
inline constexpr std::size_t kMaxTerms = 16;
inline constexpr std::size_t kMaxTermLength = 256;

struct BrowseRequest {
    std::string id = "0";  // required on the wire
    std::uint32_t start = 0;
    std::uint32_t max = kDefaultMax;
    bool subscribe = false;
};

struct SearchRequest {
    std::string container = "0";
    std::uint32_t start = 0;
    std::uint32_t max = kDefaultMax;
    // (key, value) with key one of title, artist, album, genre, creator, class
    std::vector<std::pair<std::string, std::string>> terms;
};

// item-not-found, remote-server-not-found, remote-server-timeout, … with a text.
using DirectoryError = Error;

// Either the <container xmlns='urn:xmpp:media:metadata:0'/> result or an error.
using DirectoryResult = Result<xml::Element>;
using DirectoryCallback = std::function<void(DirectoryResult)>;

class MediaDirectory {
public:
    using ChangeListener = std::function<void(const std::string& container_id, std::uint32_t update_id)>;

    virtual ~MediaDirectory() = default;
    virtual void browse(const BrowseRequest& request, DirectoryCallback done) = 0;
    virtual void search(const SearchRequest& request, DirectoryCallback done) = 0;
    // Reports changes of the watched containers (container "*": something
    // changed, maybe in any of them). Called whenever the set changes; an
    // empty set stops watching.
    virtual void watch(const std::set<std::string>& containers, ChangeListener listener) = 0;
    // The id of the container holding `id` (for grants on a subtree); an
    // Error when unknown. The default knows no parents.
    virtual void parent_of(const std::string& id, std::function<void(Result<std::string>)> done) {
        done(Error{"item-not-found", "this media server cannot say what holds '" + id + "'"});
    }
    // The <item xmlns='urn:xmpp:media:metadata:0'/> of one item (what a
    // player's `open` answers with and a renderer gets as DIDL-Lite); an
    // Error when unknown. The default knows none.
    virtual void item_of(const std::string& id, DirectoryCallback done) {
        done(Error{"item-not-found", "this media server cannot describe '" + id + "'"});
    }
};

// Whether `container` is `granted` or lies below it, asking `directory` for
// parents (at most kMaxGrantDepth levels); false on any error.
inline constexpr int kMaxGrantDepth = 32;
void container_within(std::weak_ptr<MediaDirectory> directory, const std::string& container,
                      const std::string& granted, std::function<void(bool)> done);

// Parse a request payload; on failure a bad-request whose text says what is wrong.
Result<BrowseRequest> parse_browse(const xml::Element& browse);
Result<SearchRequest> parse_search(const xml::Element& search);

// Answers `r` with the access policy's error, or runs `go` when the peer may
// read `container` (an owner; a friend with a grant on it or above it).
void gate(const bridge::AccessPolicy& access, const std::weak_ptr<MediaDirectory>& directory,
          const std::string& device, const client::Peer& peer, const std::string& container,
          client::IqResponder r, std::function<void(client::IqResponder)> go);

// Length in characters (Unicode code points) of UTF-8 text, as the profile counts limits.
std::size_t char_count(std::string_view utf8);

// Adds the feature and the browse/search/unsubscribe IQ handlers to the device.
void install_directory_profile(boost::asio::io_context& io, bridge::Device& device,
                               std::shared_ptr<MediaDirectory> directory,
                               std::shared_ptr<const bridge::AccessPolicy> access);

}  // namespace xpmn::profiles
