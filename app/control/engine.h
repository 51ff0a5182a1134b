/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The WireGuard protocol engine of the control lcore (design.md §4): handshake
 * messages (types 1, 2, 3) with mac1 / under-load cookies / rate limiting,
 * the timer state machine of protocol.md §8 on a timer wheel, staged packets
 * of peers without a session, and the events workers post
 * (engine_worker.h). Everything runs on one thread (the control lcore); the
 * only shared state is what workers read lock-free (keypairs, endpoints,
 * the index table) and the per-peer event words they write.
 *
 * The engine sends through struct wg_engine_ops and never touches a port or
 * an mbuf, so it runs in a unit test with two engines wired back to back.
 *
 * Time: the protocol clock (wg_clock_now()) for every timer and age; the wall
 * clock for TAI64N and the last-handshake time. Timer hooks run when the
 * engine processes an event, not when the worker saw the packet; the worker
 * times only decide the order of one batch's receive and send hooks.
 */
#ifndef WG_ENGINE_H
#define WG_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/config.h"
#include "control/engine_worker.h"
#include "control/peers.h"

struct rte_rcu_qsbr;
struct wg_allowedips;
struct wg_engine;

/* Output. arg is wg_engine_params.ops_arg. */
struct wg_engine_ops {
	/* A handshake message or keepalive to the peer's endpoint (it has one). */
	void (*send)(void *arg, struct wg_peer *peer, const void *msg, size_t len);
	/* A cookie reply to the source of a refused handshake message. */
	void (*send_to)(void *arg, const struct wg_endpoint *dst, const void *msg, size_t len);
	/* A staged inner packet, to be encrypted by a worker on the current keypair. */
	void (*send_staged)(void *arg, struct wg_peer *peer, void *pkt);
	/* Drop a staged packet of peer. */
	void (*free_pkt)(void *arg, struct wg_peer *peer, void *pkt);
};

/*
 * Packets held by the control lcore, staged or waiting for a neighbour, under
 * one global cap. Control lcore only; the data plane may share the engine's
 * (wg_engine_hold_budget()) for its neighbour hold.
 */
struct wg_hold_budget {
	uint32_t max;
	uint32_t used;
};

static inline bool
wg_hold_budget_take(struct wg_hold_budget *b)
{
	if (b->used >= b->max)
		return false;
	b->used++;
	return true;
}

static inline void
wg_hold_budget_put(struct wg_hold_budget *b, uint32_t n)
{
	b->used = n > b->used ? 0 : b->used - n;
}

struct wg_engine_params {
	const char *name;		/* at most 10 characters, unique among EAL objects */
	struct rte_rcu_qsbr *rcu;	/* the workers' RCU variable (also the peer table's) */
	struct wg_peers *peers;		/* required */
	struct wg_allowedips *allowedips;	/* NULL: the engine manages no allowed IPs */
	const struct wg_engine_ops *ops;
	void *ops_arg;
	uint32_t max_indices;		/* receiver indices (default 4 per peer slot, 1 << 16 min) */
	uint32_t under_load_backlog;	/* default MAX_QUEUED_INCOMING_HANDSHAKES / 8 */
	uint32_t hold_max;		/* global staged cap (default 1 << 16) */
	struct wg_hold_budget *budget;	/* shared budget; NULL: the engine's own (hold_max) */
	uint32_t ratelimiter_entries;	/* 0: the rate limiter's default */
	int socket_id;
};

/* How one handshake message ended (wg_engine_handshake_rx), with its counter. */
#define WG_ENGINE_HS_RESULTS(X) \
	X(initiation,	"valid initiation: response sent") \
	X(response,	"valid response: session started") \
	X(cookie,	"cookie reply accepted") \
	X(cookie_sent,	"under load without a valid mac2: cookie reply sent") \
	X(bad_length,	"wrong length or type") \
	X(bad_mac1,	"bad mac1") \
	X(ratelimited,	"under load: source over its rate") \
	X(unknown,	"unknown peer or receiver index") \
	X(replay,	"initiation timestamp not newer") \
	X(flood,	"initiation within 20 ms of the last") \
	X(bad_crypto,	"AEAD or DH failure") \
	X(bad_state,	"handshake not in the expected state") \
	X(bad_cookie,	"cookie reply unexpected or not decrypting") \
	X(no_identity,	"no private key") \
	X(failed,	"could not answer (index space, memory)")

enum wg_engine_hs_result {
#define WG_ENGINE_HS_ENUM(name, desc) WG_HS_##name,
	WG_ENGINE_HS_RESULTS(WG_ENGINE_HS_ENUM)
#undef WG_ENGINE_HS_ENUM
	WG_HS_COUNT
};

struct wg_engine_stats {
	uint64_t hs[WG_HS_COUNT];	/* per enum wg_engine_hs_result */
	uint64_t initiations_sent;
	uint64_t responses_sent;
	uint64_t cookies_sent;
	uint64_t keepalives_sent;
	uint64_t handshakes_completed;
	uint64_t no_endpoint;		/* messages or staged packets for a peer without endpoint */
	uint64_t staged;		/* packets staged */
	uint64_t staged_sent;		/* handed back through send_staged */
	uint64_t staged_dropped;	/* oldest dropped (per-peer cap), give-up, removal, zeroing */
	uint64_t staged_over_cap;	/* refused by the global cap */
	uint64_t events;		/* worker events processed */
	uint64_t timers_fired;		/* per-peer timers expired */
	uint64_t wheel_visited;		/* wheel nodes touched (cascade, fire) */
	uint64_t gave_up;		/* retransmissions abandoned after 20 initiations */
	uint64_t keys_zeroed;
};

/* NULL with rte_errno set. The engine has no private key until one is set. */
struct wg_engine *wg_engine_create(const struct wg_engine_params *params);
/* Remove every peer's engine state (peers stay in the table) and free the engine. */
void wg_engine_free(struct wg_engine *e);

/*
 * Set (NULL: remove) the private key: cookie keys re-derived, every peer's
 * handshake cleared and its current/next keypairs stop sending (protocol.md
 * §8.4). A peer whose public key equals the new public key is removed, as in
 * the kernel. 0, or -EINVAL for an all-zero key (identity removed).
 */
int wg_engine_set_private_key(struct wg_engine *e, const uint8_t *private_key);
/* The public key, false when there is no identity. */
bool wg_engine_public_key(const struct wg_engine *e, uint8_t out[32]);

/*
 * Add a peer: key, psk, endpoint, persistent keepalive, name, allowed IPs
 * (when the engine has the table). 0 and *out (may be NULL), -EEXIST,
 * -EINVAL (the device's own key), -ENOSPC, -ENOMEM.
 */
int wg_engine_peer_add(struct wg_engine *e, const struct wg_conf_peer *cp, struct wg_peer **out)
	__attribute__((warn_unused_result));
/*
 * Give a peer already in the table (added with wg_peers_add(), e.g. by
 * wg_tables_build()) its engine state from its own fields: public_key,
 * preshared_key / has_psk, endpoint. Until then the engine ignores it.
 * 0, -EEXIST if it has engine state already, -EINVAL for the device's own key.
 */
int wg_engine_peer_adopt(struct wg_engine *e, struct wg_peer *peer);
/*
 * Remove a peer: allowed IPs, handshake, keypairs, staged packets and timers
 * first, then the peer table entry (freed after a grace period). 0 or -ENOENT.
 */
int wg_engine_peer_remove(struct wg_engine *e, struct wg_peer *peer);
/* Configuration changes of a live peer. */
void wg_engine_peer_set_endpoint(struct wg_engine *e, struct wg_peer *peer,
	const struct wg_endpoint *ep);
void wg_engine_peer_set_psk(struct wg_engine *e, struct wg_peer *peer, const uint8_t *psk);
/* From 0 to non-zero sends a keepalive at once (kernel behaviour). */
void wg_engine_peer_set_persistent_keepalive(struct wg_engine *e, struct wg_peer *peer,
	uint16_t seconds);

/*
 * One type 1, 2 or 3 message from src; backlog is the number of handshake
 * messages still queued behind it (the under-load signal).
 */
enum wg_engine_hs_result wg_engine_handshake_rx(struct wg_engine *e, const void *msg, size_t len,
	const struct wg_endpoint *src, unsigned int backlog);

/* Apply the events a worker posted for ev->peer_id (stale ids are ignored). */
void wg_engine_worker_event(struct wg_engine *e, const struct wg_engine_event *ev);

/*
 * A packet for peer that found no usable keypair: staged (at most
 * MAX_STAGED_PACKETS per peer, oldest dropped; under the global cap), a
 * handshake started, and sent through ops->send_staged once current is
 * usable. The engine owns pkt from here on.
 */
void wg_engine_stage(struct wg_engine *e, struct wg_peer *peer, void *pkt);

/* Every control loop: due timers, rate-limiter gc and RCU reclamation (each second). */
void wg_engine_timers_run(struct wg_engine *e);

/* Counters (a copy) and the shared hold budget. */
void wg_engine_stats_get(const struct wg_engine *e, struct wg_engine_stats *out);
struct wg_hold_budget *wg_engine_hold_budget(struct wg_engine *e);
const char *wg_engine_hs_result_name(enum wg_engine_hs_result r);
/* The receiver-index table the workers look keypairs up in. */
struct wg_index_rcu *wg_engine_index(struct wg_engine *e);
/* Packets staged for peer. */
unsigned int wg_engine_staged_count(const struct wg_peer *peer);
/* Whether a timer of peer is pending, and when (protocol clock), for tests and UAPI. */
bool wg_engine_timer_pending(const struct wg_peer *peer, enum wg_peer_timer t, uint64_t *at);

#endif
