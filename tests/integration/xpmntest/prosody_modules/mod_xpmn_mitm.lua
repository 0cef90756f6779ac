-- An untrusted XMPP server for the end-to-end tests: it rewrites, in
-- transit, the <fingerprint/> inside <security xmlns='urn:xmpp:jingle:security:xtls:0'/>
-- of every Jingle IQ between two clients of this host (session-initiate,
-- session-accept, any other action that carries one) to another valid
-- SHA-256 value — what a server that wants its own key accepted would do.
-- Peers must then fail with <security-error/> and never open a stream.
--
-- Options (global):
--   xpmn_mitm_fingerprint = "HEX"  the value written (64 hex digits); unset:
--                                  the original with every hex digit d
--                                  replaced by 15-d (valid, never equal)
--   xpmn_mitm_record = "PATH"      one line appended per rewrite:
--                                  "ACTION SID ORIGINAL REPLACEMENT"
-- Loaded by xpmntest.prosody.Prosody(..., mitm=True). Tests only.

local JINGLE = "urn:xmpp:jingle:1";
local XTLS = "urn:xmpp:jingle:security:xtls:0";

local replacement = module:get_option_string("xpmn_mitm_fingerprint");
local record = module:get_option_string("xpmn_mitm_record");

local function flipped(hex)
	return (hex:gsub("%x", function (d)
		return string.format("%x", 15 - tonumber(d, 16));
	end));
end

local function note(line)
	if not record then return; end
	local f, err = io.open(record, "a");
	if not f then
		module:log("error", "cannot record a rewrite in %s: %s", record, err);
		return;
	end
	f:write(line, "\n");
	f:close();
end

local function rewrite(event)
	local stanza = event.stanza;
	if stanza.attr.type ~= "set" then return; end
	local jingle = stanza:get_child("jingle", JINGLE);
	if not jingle then return; end
	for content in jingle:childtags("content", JINGLE) do
		for security in content:childtags("security", XTLS) do
			for fingerprint in security:childtags("fingerprint", XTLS) do
				local original = fingerprint:get_text() or "";
				local new = replacement or flipped(original:lower());
				-- Only text inside <fingerprint/>: replace it as a whole.
				for i = #fingerprint, 1, -1 do fingerprint[i] = nil; end
				fingerprint.tags = {};
				fingerprint[1] = new;
				module:log("info", "rewrote the XTLS fingerprint of %s %s from %s: %s -> %s",
					tostring(jingle.attr.action), tostring(jingle.attr.sid),
					tostring(stanza.attr.from), original, new);
				note(string.format("%s %s %s %s", tostring(jingle.attr.action),
					tostring(jingle.attr.sid), original, new));
			end
		end
	end
end

-- Before routing, whatever the destination: a client's full JID (the usual
-- case) or a bare JID.
module:hook("pre-iq/full", rewrite, 1000);
module:hook("pre-iq/bare", rewrite, 1000);
