/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Events posted by workers (engine_worker.h), replayed through the kernel's
 * hooks: for a received transport packet set endpoint, confirm `next`,
 * receive-side keep_key_fresh, any_authenticated_packet_received, traversal,
 * data_received; for sent packets traversal, sent, data_sent, send-side
 * keep_key_fresh (protocol.md §8.2). One event may stand for many packets in
 * both directions: the group seen last by the workers is applied last.
 */
#include <string.h>

#include "control/engine_internal.h"

static void
take_endpoint(struct wg_peer *peer, struct wg_endpoint *out)
{
	const struct wg_endpoint_seq *s = &peer->wk.ev_endpoint;
	uint32_t seq, w[5];
	unsigned int i;

	do {
		seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		for (i = 0; i < 5; i++)
			w[i] = __atomic_load_n(&s->u.w[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) != 0 || __atomic_load_n(&s->seq, __ATOMIC_RELAXED) != seq);
	memcpy(out, w, sizeof(*out));
}

static void
rx_group(struct wg_engine *e, struct wg_peer *peer, uint32_t bits)
{
	struct noise_keypair *kp;
	struct wg_endpoint ep;

	if (bits & WG_PEER_EV_ENDPOINT) {
		take_endpoint(peer, &ep);
		if (ep.family != 0)
			wg_engine_set_endpoint(peer, &ep);
	}
	if (bits & WG_PEER_EV_CONFIRM) {
		/* Compared with `next` only, never dereferenced: it may be stale. */
		kp = __atomic_exchange_n(&peer->wk.ev_keypair, NULL, __ATOMIC_ACQUIRE);
		if (wg_noise_received_with_keypair(&peer->keypairs, kp)) {
			wg_timers_handshake_complete(e, peer);
			wg_staged_flush(e, peer);
		}
	}
	if (bits & WG_PEER_EV_REKEY_RX)
		wg_send_keep_key_fresh_rx(e, peer);
	if (bits & WG_PEER_EV_AUTH_RX) {
		wg_timers_any_authenticated_packet_received(e, peer);
		wg_timers_any_authenticated_packet_traversal(e, peer);
	}
	if (bits & WG_PEER_EV_DATA_RX)
		wg_timers_data_received(e, peer);
}

static void
tx_group(struct wg_engine *e, struct wg_peer *peer, uint32_t bits)
{
	if (bits & WG_PEER_EV_AUTH_TX) {
		wg_timers_any_authenticated_packet_traversal(e, peer);
		wg_timers_any_authenticated_packet_sent(e, peer);
	}
	if (bits & WG_PEER_EV_DATA_TX)
		wg_timers_data_sent(e, peer);
	if (bits & WG_PEER_EV_REKEY_TX)
		wg_send_keep_key_fresh(e, peer);
}

enum {
	RX_BITS = WG_PEER_EV_AUTH_RX | WG_PEER_EV_DATA_RX | WG_PEER_EV_CONFIRM |
		WG_PEER_EV_REKEY_RX | WG_PEER_EV_ENDPOINT,
	TX_BITS = WG_PEER_EV_AUTH_TX | WG_PEER_EV_DATA_TX | WG_PEER_EV_REKEY_TX,
};

void
wg_engine_worker_event(struct wg_engine *e, const struct wg_engine_event *ev)
{
	struct wg_peer *peer;
	uint64_t rx_t, tx_t;
	uint32_t bits;

	peer = wg_peers_get(e->peers, ev->peer_id);
	if (peer == NULL || !wg_engine_peer_is_ours(e, peer))
		return;
	bits = wg_engine_take(peer);
	if (bits == 0)
		return;
	engine_clock(e);
	e->stats.events++;
	rx_t = __atomic_load_n(&peer->wk.last_rx, __ATOMIC_RELAXED);
	tx_t = __atomic_load_n(&peer->wk.last_tx, __ATOMIC_RELAXED);
	if (tx_t <= rx_t) {
		tx_group(e, peer, bits & TX_BITS);
		rx_group(e, peer, bits & RX_BITS);
	} else {
		rx_group(e, peer, bits & RX_BITS);
		tx_group(e, peer, bits & TX_BITS);
	}
	if ((bits & WG_PEER_EV_NO_KEYPAIR) && !wg_send_current_usable(e, peer))
		wg_send_queued_initiation(e, peer, false);
}
