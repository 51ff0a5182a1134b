/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the engine's files: device.c (engine, identity, peers),
 * handshake.c (receiving types 1, 2, 3), send.c (what the engine originates),
 * timers.c (the §8.2 hooks and expiries), staged.c (staged packets) and
 * engine_events.c (worker events).
 */
#ifndef WG_ENGINE_INTERNAL_H
#define WG_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "control/engine.h"
#include "control/engine_wheel.h"
#include "control/index_rcu.h"
#include "crypto/clock.h"
#include "crypto/cookie.h"
#include "crypto/noise.h"
#include "crypto/ratelimiter.h"

#define WG_SEC(s) ((uint64_t)(s) * WG_NSEC_PER_SEC)

struct wg_engine {
	struct noise_local local;
	struct wg_cookie_checker checker;
	struct wg_ratelimiter *rl;
	struct wg_index_rcu *index;
	struct wg_peers *peers;
	struct wg_allowedips *allowedips;
	struct rte_rcu_qsbr *rcu;
	const struct wg_engine_ops *ops;
	void *ops_arg;
	uint64_t now;			/* protocol clock of the call being processed */
	uint32_t under_load_backlog;
	bool load_seen;			/* last_under_load is meaningful */
	uint64_t last_under_load;
	uint64_t next_housekeeping;
	struct wg_hold_budget own_budget;
	struct wg_hold_budget *budget;
	struct wg_engine_stats stats;
	struct wg_wheel wheel;
};

static inline uint64_t
engine_clock(struct wg_engine *e)
{
	e->now = wg_clock_now();
	return e->now;
}

/* birth + seconds <= now, as the kernel's wg_birthdate_has_expired(). */
static inline bool
wg_expired(uint64_t birth, uint64_t seconds, uint64_t now)
{
	return birth + WG_SEC(seconds) <= now;
}

/* device.c */
void wg_engine_set_endpoint(struct wg_peer *peer, const struct wg_endpoint *ep);
bool wg_engine_peer_is_ours(const struct wg_engine *e, const struct wg_peer *peer);

/* send.c */
bool wg_send_to_peer(struct wg_engine *e, struct wg_peer *peer, const void *msg, size_t len);
void wg_send_queued_initiation(struct wg_engine *e, struct wg_peer *peer, bool is_retry);
void wg_send_response(struct wg_engine *e, struct wg_peer *peer);
void wg_send_cookie(struct wg_engine *e, const void *msg, size_t len,
	const struct wg_endpoint *src, const struct wg_cookie_src *csrc);
void wg_send_keepalive(struct wg_engine *e, struct wg_peer *peer);
void wg_send_keep_key_fresh(struct wg_engine *e, struct wg_peer *peer);
void wg_send_keep_key_fresh_rx(struct wg_engine *e, struct wg_peer *peer);
/* Current is usable for sending now; marks it invalid when expired (kernel out_invalid). */
bool wg_send_current_usable(struct wg_engine *e, struct wg_peer *peer);

/* staged.c */
void wg_staged_flush(struct wg_engine *e, struct wg_peer *peer);
void wg_staged_purge(struct wg_engine *e, struct wg_peer *peer);

/* timers.c */
void wg_timers_init(struct wg_peer *peer);
void wg_timers_stop(struct wg_engine *e, struct wg_peer *peer);
void wg_timers_data_sent(struct wg_engine *e, struct wg_peer *peer);
void wg_timers_data_received(struct wg_engine *e, struct wg_peer *peer);
void wg_timers_any_authenticated_packet_sent(struct wg_engine *e, struct wg_peer *peer);
void wg_timers_any_authenticated_packet_received(struct wg_engine *e, struct wg_peer *peer);
void wg_timers_handshake_initiated(struct wg_engine *e, struct wg_peer *peer);
void wg_timers_handshake_complete(struct wg_engine *e, struct wg_peer *peer);
void wg_timers_session_derived(struct wg_engine *e, struct wg_peer *peer);
void wg_timers_any_authenticated_packet_traversal(struct wg_engine *e, struct wg_peer *peer);

#endif
