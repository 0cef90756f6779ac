// XML namespaces used across the stack.
#pragma once

namespace xpmn::ns {
inline constexpr const char* client = "jabber:client";
inline constexpr const char* stream = "http://etherx.jabber.org/streams";
inline constexpr const char* streams_err = "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr const char* stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr const char* tls = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr const char* sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr const char* bind = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr const char* sm = "urn:xmpp:sm:3";
inline constexpr const char* ping = "urn:xmpp:ping";
inline constexpr const char* disco_info = "http://jabber.org/protocol/disco#info";
inline constexpr const char* disco_items = "http://jabber.org/protocol/disco#items";
inline constexpr const char* caps = "http://jabber.org/protocol/caps";
inline constexpr const char* roster = "jabber:iq:roster";
inline constexpr const char* xpmn = "urn:xmpp:xpmn:0";
inline constexpr const char* pubsub = "http://jabber.org/protocol/pubsub";
inline constexpr const char* pubsub_event = "http://jabber.org/protocol/pubsub#event";
// The XPMN profiles (wire profile §5, §6, §7).
inline constexpr const char* media_server = "urn:xmpp:media:server:0";
inline constexpr const char* media_metadata = "urn:xmpp:media:metadata:0";
inline constexpr const char* media_player = "urn:xmpp:tmp:media:player:0";
inline constexpr const char* media_control = "urn:xmpp:tmp:media:control:0";
// §7.3's event nodes: the status node, and the controls node (named like its namespace).
inline constexpr const char* player_status_node = "urn:xmpp:media:player:status";
inline constexpr const char* player_controls_node = "urn:xmpp:tmp:media:control:0";
}  // namespace xpmn::ns
