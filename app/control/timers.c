/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-peer timers of protocol.md §8.2, kernel semantics: send and receive
 * paths only report events through the wg_timers_* hooks, the expiry
 * functions below decide. The five deadlines of a peer share one wheel node
 * armed for the earliest of them.
 */
#include <stddef.h>
#include <string.h>

#include <rte_common.h>

#include "control/engine_internal.h"
#include "crypto/clock.h"
#include "crypto/ct.h"

/* [0, 333] ms, as wireguard-go (protocol.md §12 item 13). */
static uint64_t
jitter(void)
{
	return (uint64_t)wg_random_uniform(REKEY_TIMEOUT_JITTER_MAX_MS + 1) * 1000000ULL;
}

static void
rearm(struct wg_engine *e, struct wg_peer *peer)
{
	struct wg_peer_timers *t = &peer->timers;
	uint64_t first = 0;
	unsigned int i;

	for (i = 0; i < WG_TIMER_COUNT; i++)
		if (t->at[i] != 0 && (first == 0 || t->at[i] < first))
			first = t->at[i];
	if (first == 0)
		wg_wheel_del(&e->wheel, &t->node);
	else if (!wg_wheel_pending(&t->node) || t->node.expires != wg_wheel_tick_ceil(first))
		wg_wheel_add(&e->wheel, &t->node, wg_wheel_tick_ceil(first));
}

static bool
pending(const struct wg_peer *peer, enum wg_peer_timer which)
{
	return peer->timers.at[which] != 0;
}

static void
mod_timer(struct wg_engine *e, struct wg_peer *peer, enum wg_peer_timer which, uint64_t delay)
{
	/* 0 means "not pending": a deadline is never 0. */
	peer->timers.at[which] = e->now + delay != 0 ? e->now + delay : 1;
	rearm(e, peer);
}

static void
del_timer(struct wg_engine *e, struct wg_peer *peer, enum wg_peer_timer which)
{
	if (peer->timers.at[which] == 0)
		return;
	peer->timers.at[which] = 0;
	rearm(e, peer);
}

void
wg_timers_init(struct wg_peer *peer)
{
	memset(&peer->timers, 0, sizeof(peer->timers));
	wg_wheel_node_init(&peer->timers.node);
}

void
wg_timers_stop(struct wg_engine *e, struct wg_peer *peer)
{
	memset(peer->timers.at, 0, sizeof(peer->timers.at));
	wg_wheel_del(&e->wheel, &peer->timers.node);
}

/* --- hooks --- */

/* After an authenticated data packet is sent. */
void
wg_timers_data_sent(struct wg_engine *e, struct wg_peer *peer)
{
	if (!pending(peer, WG_TIMER_NEW_HANDSHAKE))
		mod_timer(e, peer, WG_TIMER_NEW_HANDSHAKE,
			WG_SEC(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT) + jitter());
}

/* After an authenticated data packet is received. */
void
wg_timers_data_received(struct wg_engine *e, struct wg_peer *peer)
{
	if (!pending(peer, WG_TIMER_SEND_KEEPALIVE))
		mod_timer(e, peer, WG_TIMER_SEND_KEEPALIVE, WG_SEC(KEEPALIVE_TIMEOUT));
	else
		peer->timers.need_another_keepalive = true;
}

/* After any authenticated packet is sent: keepalive, data or handshake. */
void
wg_timers_any_authenticated_packet_sent(struct wg_engine *e, struct wg_peer *peer)
{
	del_timer(e, peer, WG_TIMER_SEND_KEEPALIVE);
}

/* After any authenticated packet is received: keepalive, data or handshake. */
void
wg_timers_any_authenticated_packet_received(struct wg_engine *e, struct wg_peer *peer)
{
	del_timer(e, peer, WG_TIMER_NEW_HANDSHAKE);
}

/* After a handshake initiation is sent. */
void
wg_timers_handshake_initiated(struct wg_engine *e, struct wg_peer *peer)
{
	mod_timer(e, peer, WG_TIMER_RETRANSMIT_HANDSHAKE, WG_SEC(REKEY_TIMEOUT) + jitter());
}

/* After a response is consumed, or the first packet on `next` confirms it. */
void
wg_timers_handshake_complete(struct wg_engine *e, struct wg_peer *peer)
{
	uint64_t sec;
	uint32_t nsec;

	del_timer(e, peer, WG_TIMER_RETRANSMIT_HANDSHAKE);
	peer->timers.handshake_attempts = 0;
	__atomic_store_n(&peer->timers.sent_lastminute_handshake, false, __ATOMIC_RELAXED);
	wg_clock_wall(&sec, &nsec);
	peer->last_handshake_sec = sec;
	peer->last_handshake_nsec = nsec;
	e->stats.handshakes_completed++;
}

/* After a keypair is derived: before the response is sent, or after it is consumed. */
void
wg_timers_session_derived(struct wg_engine *e, struct wg_peer *peer)
{
	mod_timer(e, peer, WG_TIMER_ZERO_KEY_MATERIAL, WG_SEC(ZERO_KEY_MATERIAL_AFTER));
}

/* Before an authenticated packet is sent, or after one is received. */
void
wg_timers_any_authenticated_packet_traversal(struct wg_engine *e, struct wg_peer *peer)
{
	if (peer->persistent_keepalive != 0)
		mod_timer(e, peer, WG_TIMER_PERSISTENT_KEEPALIVE,
			WG_SEC(peer->persistent_keepalive));
}

/* --- expiries --- */

static void
expired_retransmit_handshake(struct wg_engine *e, struct wg_peer *peer)
{
	struct wg_peer_timers *t = &peer->timers;

	if (t->handshake_attempts > MAX_TIMER_HANDSHAKES) {
		/* MAX_TIMER_HANDSHAKES + 2 initiations went unanswered: give up. */
		e->stats.gave_up++;
		del_timer(e, peer, WG_TIMER_SEND_KEEPALIVE);
		wg_staged_purge(e, peer);
		if (!pending(peer, WG_TIMER_ZERO_KEY_MATERIAL))
			mod_timer(e, peer, WG_TIMER_ZERO_KEY_MATERIAL,
				WG_SEC(ZERO_KEY_MATERIAL_AFTER));
		return;
	}
	t->handshake_attempts++;
	/* No cached local source to clear: the data plane picks it per packet. */
	wg_send_queued_initiation(e, peer, true);
}

static void
expired_send_keepalive(struct wg_engine *e, struct wg_peer *peer)
{
	wg_send_keepalive(e, peer);
	if (peer->timers.need_another_keepalive) {
		peer->timers.need_another_keepalive = false;
		mod_timer(e, peer, WG_TIMER_SEND_KEEPALIVE, WG_SEC(KEEPALIVE_TIMEOUT));
	}
}

static void
expired_new_handshake(struct wg_engine *e, struct wg_peer *peer)
{
	wg_send_queued_initiation(e, peer, false);
}

static void
expired_zero_key_material(struct wg_engine *e, struct wg_peer *peer)
{
	e->stats.keys_zeroed++;
	wg_noise_handshake_clear(&peer->handshake);
	wg_noise_keypairs_clear(&peer->keypairs);
}

static void
expired_persistent_keepalive(struct wg_engine *e, struct wg_peer *peer)
{
	if (peer->persistent_keepalive != 0)
		wg_send_keepalive(e, peer);
}

typedef void (*expiry_fn)(struct wg_engine *e, struct wg_peer *peer);

static const expiry_fn expiries[WG_TIMER_COUNT] = {
	[WG_TIMER_RETRANSMIT_HANDSHAKE] = expired_retransmit_handshake,
	[WG_TIMER_SEND_KEEPALIVE] = expired_send_keepalive,
	[WG_TIMER_NEW_HANDSHAKE] = expired_new_handshake,
	[WG_TIMER_ZERO_KEY_MATERIAL] = expired_zero_key_material,
	[WG_TIMER_PERSISTENT_KEEPALIVE] = expired_persistent_keepalive,
};

/* The peer's wheel node is due: run every timer whose deadline has passed. */
static void
peer_due(void *arg, struct wg_wheel_node *node)
{
	struct wg_peer *peer = container_of(node, struct wg_peer, timers.node);
	struct wg_engine *e = arg;
	unsigned int i;

	for (i = 0; i < WG_TIMER_COUNT; i++) {
		if (peer->timers.at[i] == 0 || peer->timers.at[i] > e->now)
			continue;
		peer->timers.at[i] = 0;
		e->stats.timers_fired++;
		expiries[i](e, peer);
	}
	rearm(e, peer);
}

static void
housekeeping(struct wg_engine *e)
{
	wg_ratelimiter_gc(e->rl);
	wg_index_rcu_reclaim(e->index);
	wg_peers_reclaim(e->peers);
	e->next_housekeeping = e->now + WG_NSEC_PER_SEC;
}

void
wg_engine_timers_run(struct wg_engine *e)
{
	uint64_t before = e->wheel.visited;

	engine_clock(e);
	wg_wheel_advance(&e->wheel, wg_wheel_tick_floor(e->now), peer_due, e);
	e->stats.wheel_visited += e->wheel.visited - before;
	if (e->now >= e->next_housekeeping)
		housekeeping(e);
}

bool
wg_engine_timer_pending(const struct wg_peer *peer, enum wg_peer_timer t, uint64_t *at)
{
	if (t >= WG_TIMER_COUNT || peer->timers.at[t] == 0)
		return false;
	if (at != NULL)
		*at = peer->timers.at[t];
	return true;
}
