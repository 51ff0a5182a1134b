/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the engine originates: initiations (rate limited by §7.4), responses,
 * cookie replies and keepalives, with the kernel's timer hooks around each.
 */
#include <errno.h>
#include <string.h>

#include <rte_common.h>

#include "control/engine_internal.h"
#include "crypto/aead.h"
#include "crypto/ct.h"

bool
wg_send_to_peer(struct wg_engine *e, struct wg_peer *peer, const void *msg, size_t len)
{
	if (__atomic_load_n(&peer->ep.u.ep.family, __ATOMIC_RELAXED) == 0) {
		e->stats.no_endpoint++;
		return false;
	}
	e->ops->send(e->ops_arg, peer, msg, len);
	wg_peer_count_tx(peer, 1, len);
	return true;
}

/* §7.4: at most one initiation per REKEY_TIMEOUT, counting responses. */
static bool
handshake_rate_ok(const struct wg_engine *e, const struct wg_peer *peer)
{
	const struct wg_peer_timers *t = &peer->timers;

	return !t->sent_handshake || wg_expired(t->last_sent_handshake, REKEY_TIMEOUT, e->now);
}

static void
set_last_sent_handshake(struct wg_engine *e, struct wg_peer *peer)
{
	peer->timers.last_sent_handshake = e->now;
	peer->timers.sent_handshake = true;
}

static void
send_initiation(struct wg_engine *e, struct wg_peer *peer)
{
	struct message_handshake_initiation msg;

	if (!handshake_rate_ok(e, peer))
		return;
	set_last_sent_handshake(e, peer);
	if (wg_noise_handshake_create_initiation(&msg, &peer->handshake) != 0)
		return;
	wg_cookie_add_mac_to_packet(&msg, sizeof(msg), &peer->cookie);
	wg_timers_any_authenticated_packet_traversal(e, peer);
	wg_timers_any_authenticated_packet_sent(e, peer);
	set_last_sent_handshake(e, peer);
	if (wg_send_to_peer(e, peer, &msg, sizeof(msg)))
		e->stats.initiations_sent++;
	wg_timers_handshake_initiated(e, peer);
}

void
wg_send_queued_initiation(struct wg_engine *e, struct wg_peer *peer, bool is_retry)
{
	if (!is_retry)
		peer->timers.handshake_attempts = 0;
	send_initiation(e, peer);
}

void
wg_send_response(struct wg_engine *e, struct wg_peer *peer)
{
	struct message_handshake_response msg;

	set_last_sent_handshake(e, peer);
	if (wg_noise_handshake_create_response(&msg, &peer->handshake) != 0)
		return;
	wg_cookie_add_mac_to_packet(&msg, sizeof(msg), &peer->cookie);
	if (wg_noise_handshake_begin_session(&peer->handshake, &peer->keypairs) != 0)
		return;
	wg_timers_session_derived(e, peer);
	wg_timers_any_authenticated_packet_traversal(e, peer);
	wg_timers_any_authenticated_packet_sent(e, peer);
	set_last_sent_handshake(e, peer);
	if (wg_send_to_peer(e, peer, &msg, sizeof(msg)))
		e->stats.responses_sent++;
}

void
wg_send_cookie(struct wg_engine *e, const void *msg, size_t len, const struct wg_endpoint *src,
	const struct wg_cookie_src *csrc)
{
	struct message_handshake_cookie reply;

	if (wg_cookie_message_create(&reply, msg, len, csrc, &e->checker) != 0)
		return;
	e->ops->send_to(e->ops_arg, src, &reply, sizeof(reply));
	e->stats.cookies_sent++;
}

bool
wg_send_current_usable(struct wg_engine *e, struct wg_peer *peer)
{
	struct noise_keypair *kp = wg_noise_keypairs_current(&peer->keypairs);

	if (kp == NULL || !atomic_load_explicit(&kp->sending_valid, memory_order_relaxed))
		return false;
	if (!wg_noise_keypair_send_usable(kp, e->now)) {
		atomic_store_explicit(&kp->sending_valid, false, memory_order_relaxed);
		return false;
	}
	return true;
}

/* §8.3 send side, after something was sent on current. */
void
wg_send_keep_key_fresh(struct wg_engine *e, struct wg_peer *peer)
{
	struct noise_keypair *kp = wg_noise_keypairs_current(&peer->keypairs);

	if (kp != NULL && atomic_load_explicit(&kp->sending_valid, memory_order_relaxed) &&
			wg_peer_tx_rekey_needed(kp, e->now))
		wg_send_queued_initiation(e, peer, false);
}

/* §8.3 receive side: the initiator of current, 165 s in, once per session. */
void
wg_send_keep_key_fresh_rx(struct wg_engine *e, struct wg_peer *peer)
{
	if (!wg_peer_rx_rekey_needed(peer, e->now))
		return;
	__atomic_store_n(&peer->timers.sent_lastminute_handshake, true, __ATOMIC_RELAXED);
	wg_send_queued_initiation(e, peer, false);
}

/* A type 4 message with an empty plaintext on current (protocol.md §3.4). */
static bool
send_keepalive_message(struct wg_engine *e, struct wg_peer *peer)
{
	struct {
		struct message_data hdr;
		uint8_t tag[NOISE_AUTHTAG_LEN];
	} __attribute__((packed)) msg;
	struct noise_keypair *kp;
	uint64_t counter;

	if (!wg_send_current_usable(e, peer))
		return false;
	kp = wg_noise_keypairs_current(&peer->keypairs);
	if (!wg_noise_keypair_nonce_reserve(kp, 1, &counter))
		return false;
	msg.hdr.header.type = MESSAGE_DATA;
	msg.hdr.key_idx = kp->remote_index;
	msg.hdr.counter = counter;
	wg_aead_encrypt(msg.tag, msg.tag, 0, NULL, 0, counter, kp->send_key);
	wg_timers_any_authenticated_packet_traversal(e, peer);
	wg_timers_any_authenticated_packet_sent(e, peer);
	if (wg_send_to_peer(e, peer, &msg, sizeof(msg)))
		e->stats.keepalives_sent++;
	wg_send_keep_key_fresh(e, peer);
	return true;
}

/*
 * The kernel's wg_packet_send_keepalive(): staged packets go instead of a
 * keepalive when there are any; without a usable current keypair, a
 * handshake is started.
 */
void
wg_send_keepalive(struct wg_engine *e, struct wg_peer *peer)
{
	if (peer->staged.count > 0) {
		wg_staged_flush(e, peer);
		return;
	}
	if (!send_keepalive_message(e, peer))
		wg_send_queued_initiation(e, peer, false);
}
