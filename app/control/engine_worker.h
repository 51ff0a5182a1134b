/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a worker needs from the protocol engine, and nothing else: the
 * keypair lookup by receiver index, the live endpoint, per-peer counters, the
 * rekey conditions and the event helper that tells the control lcore what
 * happened (design.md §2, protocol.md §8.2). Workers never call timer code:
 * they report, the engine decides.
 *
 * Receive walk, per burst (all between two quiescent-state reports):
 *
 *	n = wg_index_lookup_keypairs(idx_tbl, rx_idx, kps, nb);   (NULL: drop)
 *	drop when !wg_noise_keypair_receive_usable(kp, now)
 *	decrypt in one AEAD batch; for each packet whose tag verified:
 *	    wg_noise_keypair_replay_check(kp, counter) else drop
 *	    peer = kp->entry.owner
 *	    bits = WG_PEER_EV_AUTH_RX | (plaintext_len ? WG_PEER_EV_DATA_RX : 0)
 *	    if (!wg_peer_endpoint_equal(peer, &src))  bits |= WG_PEER_EV_ENDPOINT
 *	    if (wg_peer_is_next(peer, kp))             bits |= WG_PEER_EV_CONFIRM
 *	    if (wg_peer_rx_rekey_needed(peer, now))    bits |= WG_PEER_EV_REKEY_RX
 *	    wg_peer_count_rx(peer, 1, wire_len)
 *	    if (wg_engine_post(peer, bits, now, &src, kp))
 *	        enqueue (struct wg_engine_event){ .peer_id = peer->id } on the event ring,
 *	        and on failure wg_engine_post_undo(peer)
 *
 * Send walk, per peer in a burst, when current = wg_noise_keypairs_current()
 * is wg_noise_keypair_send_usable() and wg_noise_keypair_nonce_reserve() gave
 * the counters: encrypt, transmit, then
 *	    bits = WG_PEER_EV_AUTH_TX | (any non-keepalive ? WG_PEER_EV_DATA_TX : 0)
 *	    if (wg_peer_tx_rekey_needed(current, now)) bits |= WG_PEER_EV_REKEY_TX
 *	    wg_peer_count_tx(peer, n, bytes); wg_engine_post(peer, bits, now, NULL, NULL) ...
 * and with no usable current keypair: hand the packet to the control lcore
 * (it calls wg_engine_stage()), or when that is impossible drop it and post
 * WG_PEER_EV_NO_KEYPAIR so a handshake starts anyway.
 *
 * `now` is wg_clock_now() (the protocol clock), read once per burst. The
 * engine runs the timer hooks at the time it processes the event (at most one
 * control loop later); the worker times only order the receive and send
 * hooks of one batch correctly (protocol.md §8.2: a reply that arrives after
 * our data cancels new_handshake, data that arrives after our last packet
 * arms send_keepalive).
 */
#ifndef WG_ENGINE_WORKER_H
#define WG_ENGINE_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_pause.h>

#include "control/index_rcu.h"
#include "control/peers.h"
#include "crypto/noise.h"
#include "messages.h"

/* Event bits, accumulated in the peer until the engine takes them. */
enum wg_peer_event_bits {
	WG_PEER_EV_AUTH_RX = 1 << 0,	/* authenticated transport packet received (data or keepalive) */
	WG_PEER_EV_DATA_RX = 1 << 1,	/* ... with a non-empty plaintext */
	WG_PEER_EV_AUTH_TX = 1 << 2,	/* transport packet sent (data or keepalive) */
	WG_PEER_EV_DATA_TX = 1 << 3,	/* ... with a non-empty plaintext */
	WG_PEER_EV_CONFIRM = 1 << 4,	/* received on `next` (key confirmation; carries kp) */
	WG_PEER_EV_REKEY_TX = 1 << 5,	/* send-side rekey condition (wg_peer_tx_rekey_needed) */
	WG_PEER_EV_REKEY_RX = 1 << 6,	/* receive-side 165 s rekey (wg_peer_rx_rekey_needed) */
	WG_PEER_EV_ENDPOINT = 1 << 7,	/* authenticated from another source (carries it) */
	WG_PEER_EV_NO_KEYPAIR = 1 << 8,	/* a packet found no usable keypair: start a handshake */
	/* Not an event: set while the peer is on an event ring (one atomic sets both). */
	WG_PEER_EV_PENDING = 1u << 31,
};

/* One element of a worker -> control event ring (8 bytes). */
struct wg_engine_event {
	uint32_t peer_id;
	uint32_t bits;		/* informational: the engine takes the bits from the peer */
};

/* --- endpoint --- */

/* Copy the peer's live endpoint; false when it has none (family 0). Any thread. */
static inline bool
wg_peer_endpoint_read(const struct wg_peer *peer, struct wg_endpoint *out)
{
	const struct wg_endpoint_seq *s = &peer->ep;
	uint32_t seq, w[5];
	unsigned int i;

	for (;;) {
		seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			rte_pause();
			continue;
		}
		for (i = 0; i < 5; i++)
			w[i] = __atomic_load_n(&s->u.w[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq)
			break;
	}
	memcpy(out, w, sizeof(*out));
	return out->family != 0;
}

/* Whether src (an authenticated packet's outer source) is the live endpoint. */
static inline bool
wg_peer_endpoint_equal(const struct wg_peer *peer, const struct wg_endpoint *src)
{
	struct wg_endpoint cur;

	wg_peer_endpoint_read(peer, &cur);
	return cur.family == src->family && cur.port == src->port &&
		memcmp(cur.addr, src->addr, src->family == AF_INET ? 4 : 16) == 0;
}

/* --- counters (relaxed atomics, once per burst) --- */

static inline void
wg_peer_count_rx(struct wg_peer *peer, uint64_t packets, uint64_t bytes)
{
	__atomic_fetch_add(&peer->wk.rx_packets, packets, __ATOMIC_RELAXED);
	__atomic_fetch_add(&peer->wk.rx_bytes, bytes, __ATOMIC_RELAXED);
}

static inline void
wg_peer_count_tx(struct wg_peer *peer, uint64_t packets, uint64_t bytes)
{
	__atomic_fetch_add(&peer->wk.tx_packets, packets, __ATOMIC_RELAXED);
	__atomic_fetch_add(&peer->wk.tx_bytes, bytes, __ATOMIC_RELAXED);
}

/* --- conditions the worker checks (the engine checks them again) --- */

/* kp (a received packet's keypair) is the peer's unconfirmed `next`. */
static inline bool
wg_peer_is_next(struct wg_peer *peer, const struct noise_keypair *kp)
{
	return atomic_load_explicit(&peer->keypairs.next, memory_order_relaxed) == kp;
}

/* §8.3 send side, after a batch sent on current. */
static inline bool
wg_peer_tx_rekey_needed(struct noise_keypair *current, uint64_t now)
{
	return atomic_load_explicit(&current->send_counter, memory_order_relaxed) >
			REKEY_AFTER_MESSAGES ||
		(current->i_am_initiator && now >= current->birth &&
		 now - current->birth >= (uint64_t)REKEY_AFTER_TIME * WG_NSEC_PER_SEC);
}

/* §8.3 receive side: we initiated current and it is 165 s old. */
static inline bool
wg_peer_rx_rekey_needed(struct wg_peer *peer, uint64_t now)
{
	struct noise_keypair *kp = wg_noise_keypairs_current(&peer->keypairs);

	return kp != NULL && kp->i_am_initiator &&
		atomic_load_explicit(&kp->sending_valid, memory_order_relaxed) &&
		now >= kp->birth &&
		now - kp->birth >= (uint64_t)REKEY_AFTER_TIME_RECV * WG_NSEC_PER_SEC &&
		!__atomic_load_n(&peer->timers.sent_lastminute_handshake, __ATOMIC_RELAXED);
}

/* --- events --- */

/*
 * Record events for the control lcore. ep is read with WG_PEER_EV_ENDPOINT,
 * kp with WG_PEER_EV_CONFIRM (either may be NULL otherwise). Returns true
 * when the caller must enqueue the peer (struct wg_engine_event) on its event
 * ring: only the first poster after the engine took the previous events
 * does, so a peer is queued at most once. If that enqueue fails, call
 * wg_engine_post_undo() so the next post queues it again.
 */
static inline bool
wg_engine_post(struct wg_peer *peer, uint32_t bits, uint64_t now, const struct wg_endpoint *ep,
	struct noise_keypair *kp)
{
	struct wg_peer_worker *wk = &peer->wk;
	struct wg_endpoint_seq *s = &wk->ev_endpoint;
	uint32_t seq, w[5];
	unsigned int i;

	if (bits & WG_PEER_EV_AUTH_RX)
		__atomic_store_n(&wk->last_rx, now, __ATOMIC_RELAXED);
	if (bits & WG_PEER_EV_DATA_RX)
		__atomic_store_n(&wk->last_rx_data, now, __ATOMIC_RELAXED);
	if (bits & WG_PEER_EV_AUTH_TX)
		__atomic_store_n(&wk->last_tx, now, __ATOMIC_RELAXED);
	if (bits & WG_PEER_EV_DATA_TX)
		__atomic_store_n(&wk->last_tx_data, now, __ATOMIC_RELAXED);
	if (bits & WG_PEER_EV_ENDPOINT) {
		/* Several workers may roam at once: the loser skips, a later packet retries. */
		seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
		if ((seq & 1) == 0 && __atomic_compare_exchange_n(&s->seq, &seq, seq + 1, false,
				__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			__atomic_thread_fence(__ATOMIC_RELEASE);
			memcpy(w, ep, sizeof(w));
			for (i = 0; i < 5; i++)
				__atomic_store_n(&s->u.w[i], w[i], __ATOMIC_RELAXED);
			__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
		} else {
			bits &= ~(uint32_t)WG_PEER_EV_ENDPOINT;
		}
	}
	if (bits & WG_PEER_EV_CONFIRM)
		__atomic_store_n(&wk->ev_keypair, kp, __ATOMIC_RELEASE);
	/* The bits and the pending flag in one locked operation. */
	return (__atomic_fetch_or(&wk->ev, bits | WG_PEER_EV_PENDING, __ATOMIC_SEQ_CST) &
		WG_PEER_EV_PENDING) == 0;
}

/* The enqueue after a true wg_engine_post() failed: let the next post queue the peer. */
static inline void
wg_engine_post_undo(struct wg_peer *peer)
{
	__atomic_fetch_and(&peer->wk.ev, ~(uint32_t)WG_PEER_EV_PENDING, __ATOMIC_SEQ_CST);
}

/*
 * The control lcore's side: take the accumulated bits and clear the pending
 * flag at once, so that any later post queues the peer again.
 */
static inline uint32_t
wg_engine_take(struct wg_peer *peer)
{
	return __atomic_exchange_n(&peer->wk.ev, 0, __ATOMIC_SEQ_CST) &
		~(uint32_t)WG_PEER_EV_PENDING;
}

#endif
