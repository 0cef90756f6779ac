// One DIDL-Lite object, as GUPnPDIDLLiteParser hands it over, → MediaObject
// (wire profile §5 rules, DidlLimits). Whatever is left out or cut becomes a
// warning in the DidlDocument.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "mappings/didl/didl_parser.hpp"

typedef struct _GUPnPDIDLLiteObject GUPnPDIDLLiteObject;
typedef struct _xmlNode xmlNode;

namespace xpmn::mappings {

inline constexpr const char* kDidlLiteNs = "urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/";

class ObjectMapper {
public:
    ObjectMapper(DidlDocument& result, const DidlLimits& limits) : r_(result), lim_(limits) {}

    // GUPnPDIDLLiteParser::object-available handler; `self` is the mapper.
    static void on_object_available(void* parser, GUPnPDIDLLiteObject* object, void* self);

    void warn(std::string text);  // bounded by limits.max_warnings
    void finish();                // adds the truncation / suppression notes

    bool wrong_root() const { return wrong_root_; }  // root is not DIDL-Lite in its namespace
    const std::optional<std::string>& failure() const { return failure_; }
    std::size_t seen() const { return seen_; }  // objects gupnp-av emitted

private:
    void map(GUPnPDIDLLiteObject* obj);
    bool root_is_didl(xmlNode* node);
    std::string text(const char* value, const std::string& where, const char* field);
    std::string artist(GUPnPDIDLLiteObject* obj, const std::string& where);
    void map_date(GUPnPDIDLLiteObject* obj, MediaObject& o, const std::string& where);
    std::string album_art(GUPnPDIDLLiteObject* obj, const std::string& where);
    void map_resources(GUPnPDIDLLiteObject* obj, MediaObject& o, const std::string& where);
    void res_numbers(xmlNode* res, MediaObject& o, const std::string& where);

    DidlDocument& r_;
    const DidlLimits& lim_;
    std::size_t seen_ = 0, dropped_ = 0, suppressed_ = 0;
    bool root_checked_ = false, wrong_root_ = false, stopped_ = false;
    std::optional<std::string> failure_;
};

}  // namespace xpmn::mappings
