/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receiving handshake messages (protocol.md §4, §5.2, §7.3, §9.3), in the
 * kernel's order: cookie replies need no MAC; initiations and responses pass
 * mac1 first, then, under load, mac2 and the per-source rate limiter, and
 * only then reach the Noise code.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "control/engine_internal.h"

static enum wg_engine_hs_result
noise_result(int err)
{
	switch (err) {
	case -ENOKEY:
		return WG_HS_no_identity;
	case -EINVAL:
	case -EBADMSG:
		return WG_HS_bad_crypto;
	case -ENOENT:
		return WG_HS_unknown;
	case -EALREADY:
		return WG_HS_replay;
	case -EBUSY:
		return WG_HS_flood;
	case -EPROTO:
		return WG_HS_bad_state;
	default:
		return WG_HS_failed;
	}
}

static bool
cookie_src(struct wg_cookie_src *out, const struct wg_endpoint *src)
{
	memset(out, 0, sizeof(*out));
	if (src->family != AF_INET && src->family != AF_INET6)
		return false;
	out->family = src->family;
	memcpy(out->addr, src->addr, src->family == AF_INET ? 4 : 16);
	out->port = src->port;
	return true;
}

/* The kernel's global "under load" with 1 s of hysteresis (§5.2). */
static bool
under_load(struct wg_engine *e, unsigned int backlog)
{
	if (backlog >= e->under_load_backlog) {
		e->last_under_load = e->now;
		e->load_seen = true;
		return true;
	}
	if (e->load_seen && !wg_expired(e->last_under_load, 1, e->now))
		return true;
	e->load_seen = false;
	return false;
}

/* Common tail of a valid initiation or response (kernel order). */
static void
authenticated(struct wg_engine *e, struct wg_peer *peer, size_t len)
{
	wg_peer_count_rx(peer, 1, len);
	wg_timers_any_authenticated_packet_received(e, peer);
	wg_timers_any_authenticated_packet_traversal(e, peer);
}

static enum wg_engine_hs_result
rx_initiation(struct wg_engine *e, const struct message_handshake_initiation *msg,
	const struct wg_endpoint *src)
{
	struct noise_handshake *hs;
	struct wg_peer *peer;
	int ret;

	ret = wg_noise_handshake_consume_initiation(&e->local, msg, &hs);
	if (ret != 0)
		return noise_result(ret);
	peer = hs->entry.owner;
	wg_engine_set_endpoint(peer, src);
	wg_send_response(e, peer);
	authenticated(e, peer, sizeof(*msg));
	return WG_HS_initiation;
}

static enum wg_engine_hs_result
rx_response(struct wg_engine *e, const struct message_handshake_response *msg,
	const struct wg_endpoint *src)
{
	struct noise_handshake *hs;
	struct wg_peer *peer;
	int ret;

	ret = wg_noise_handshake_consume_response(&e->local, msg, &hs);
	if (ret != 0)
		return noise_result(ret);
	peer = hs->entry.owner;
	wg_engine_set_endpoint(peer, src);
	if (wg_noise_handshake_begin_session(&peer->handshake, &peer->keypairs) == 0) {
		wg_timers_session_derived(e, peer);
		wg_timers_handshake_complete(e, peer);
		/* Staged packets if any, else a keepalive: immediate key confirmation. */
		wg_send_keepalive(e, peer);
	}
	authenticated(e, peer, sizeof(*msg));
	return WG_HS_response;
}

/* §5.5: found by receiver index among handshakes and keypairs; no timers, no endpoint. */
static enum wg_engine_hs_result
rx_cookie(struct wg_engine *e, const struct message_handshake_cookie *msg)
{
	struct noise_index_entry *entry;
	struct wg_peer *peer;

	entry = e->local.index_ops->lookup(e->local.index_table, msg->receiver_index,
		NOISE_INDEX_HANDSHAKE | NOISE_INDEX_KEYPAIR);
	if (entry == NULL)
		return WG_HS_unknown;
	peer = entry->owner;
	if (wg_cookie_message_consume(msg, &peer->cookie) != 0)
		return WG_HS_bad_cookie;
	return WG_HS_cookie;
}

static bool
length_ok(uint32_t type, size_t len)
{
	switch (type) {
	case MESSAGE_HANDSHAKE_INITIATION:
		return len == MESSAGE_INITIATION_LEN;
	case MESSAGE_HANDSHAKE_RESPONSE:
		return len == MESSAGE_RESPONSE_LEN;
	case MESSAGE_HANDSHAKE_COOKIE:
		return len == MESSAGE_COOKIE_LEN;
	default:
		return false;
	}
}

static enum wg_engine_hs_result
handshake_rx(struct wg_engine *e, const void *msg, size_t len, const struct wg_endpoint *src,
	unsigned int backlog)
{
	const struct message_header *hdr = msg;
	enum wg_cookie_mac_state mac;
	struct wg_cookie_src csrc;
	bool load;

	if (len < sizeof(*hdr) || !length_ok(hdr->type, len))
		return WG_HS_bad_length;
	if (hdr->type == MESSAGE_HANDSHAKE_COOKIE)
		return rx_cookie(e, msg);
	if (!cookie_src(&csrc, src))
		return WG_HS_bad_length;
	load = under_load(e, backlog);
	mac = wg_cookie_validate_packet(&e->checker, msg, len, &csrc, load);
	if (mac == WG_COOKIE_INVALID_MAC)
		return WG_HS_bad_mac1;
	if (load && mac != WG_COOKIE_VALID_MAC_WITH_COOKIE) {
		wg_send_cookie(e, msg, len, src, &csrc);
		return WG_HS_cookie_sent;
	}
	if (load && !wg_ratelimiter_allow(e->rl, csrc.family, csrc.addr))
		return WG_HS_ratelimited;
	if (hdr->type == MESSAGE_HANDSHAKE_INITIATION)
		return rx_initiation(e, msg, src);
	return rx_response(e, msg, src);
}

enum wg_engine_hs_result
wg_engine_handshake_rx(struct wg_engine *e, const void *msg, size_t len,
	const struct wg_endpoint *src, unsigned int backlog)
{
	enum wg_engine_hs_result r;

	engine_clock(e);
	r = handshake_rx(e, msg, len, src, backlog);
	e->stats.hs[r]++;
	return r;
}

const char *
wg_engine_hs_result_name(enum wg_engine_hs_result r)
{
	static const char *const names[] = {
#define WG_ENGINE_HS_NAME(name, desc) #name,
		WG_ENGINE_HS_RESULTS(WG_ENGINE_HS_NAME)
#undef WG_ENGINE_HS_NAME
	};

	return (unsigned int)r < WG_HS_COUNT ? names[r] : "?";
}
