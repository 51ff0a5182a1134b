/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peer table: public key -> peer in O(1) (rte_hash, lock-free readers) and
 * a small stable integer id -> peer (two-level array, chunks allocated on
 * first use). The control lcore is the only writer. Workers read with
 * wg_peers_get() / wg_peers_lookup() between two quiescent-state reports on
 * the table's RCU variable; a removed peer is unpublished at once, and its
 * memory is wiped and freed, and its id becomes reusable, only after a grace
 * period (deferred queue, never a blocking wait).
 */
#ifndef WG_PEERS_H
#define WG_PEERS_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/config.h"
#include "control/engine_peer.h"
#include "messages.h"

struct rte_rcu_qsbr;

enum {
	/* Ids are < WG_PEERS_MAX_ID; the allowed-IPs next hops hold 21 bits. */
	WG_PEERS_MAX_ID = 1 << 21,
	WG_PEERS_NAME_MAX = 63,
};

/*
 * One peer. A plain struct: the data plane appends its fields (handshake,
 * keypairs, counters, timers). wg_peers_add() copies a caller's template,
 * so everything is initialised before workers can see the peer.
 */
struct wg_peer {
	uint32_t id;				/* set by wg_peers_add() */
	uint16_t persistent_keepalive;		/* seconds, 0 = off */
	bool has_psk;
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];	/* zero when !has_psk */
	struct wg_endpoint endpoint;		/* family 0: none known */
	char *name;				/* NULL or owned copy, freed with the peer */
	uint64_t added;				/* set by wg_peers_add(): insertion order */

	/* protocol state (engine): set up by wg_engine_peer_add(), see engine_peer.h */
	struct noise_handshake handshake;
	struct wg_cookie cookie;
	uint64_t last_handshake_sec;		/* wall clock of the last completed handshake */
	uint32_t last_handshake_nsec;
	struct wg_staged staged;
	struct wg_peer_timers timers;
	/*
	 * What the workers touch for every packet, on two cache lines: the
	 * keypair slots, the endpoint and the pending-event word, then the
	 * counters and times (engine_peer.h).
	 */
	alignas(64) struct noise_keypairs keypairs;
	struct wg_endpoint_seq ep;		/* live endpoint (engine writes, workers read) */
	struct wg_peer_worker wk;		/* written by workers (engine_worker.h) */
	/* end of protocol state (engine) */
};

_Static_assert(offsetof(struct wg_peer, wk.ev_keypair) + sizeof(void *) -
		offsetof(struct wg_peer, keypairs) <= 64 &&
	offsetof(struct wg_peer, wk.last_tx_data) + sizeof(uint64_t) -
		offsetof(struct wg_peer, wk.rx_bytes) <= 64 &&
	offsetof(struct wg_peer, wk.rx_bytes) % 64 == 0,
	"a packet touches two lines of its peer");

struct wg_peers_params {
	const char *name;		/* unique among EAL objects (hash, queue names) */
	struct rte_rcu_qsbr *rcu;	/* the workers' RCU variable */
	uint32_t max_peers;		/* 1..WG_PEERS_MAX_ID */
	int socket_id;
};

struct wg_peers;

/* Returns NULL with rte_errno set (EINVAL, ENOMEM, EEXIST for the name). */
struct wg_peers *wg_peers_create(const struct wg_peers_params *params);

/*
 * Free the table and every peer (wiped). No reader may use the table any
 * more; NULL is allowed.
 */
void wg_peers_free(struct wg_peers *t);

/*
 * Copy *init (its id is ignored, its name duplicated), give it the lowest
 * reusable or next unused id, and publish it. Returns 0 and sets *out (may be
 * NULL), -EEXIST for a public key already present, -ENOSPC when every id is
 * in use or still in its grace period, -ENOMEM, -EINVAL.
 */
int wg_peers_add(struct wg_peers *t, const struct wg_peer *init, struct wg_peer **out)
	__attribute__((warn_unused_result));

/*
 * Unpublish the peer; it is wiped and freed, and its id reused, after a grace
 * period. Remove its allowed IPs first (wg_allowedips_remove_peer()) so no
 * reader holds its id when the id is reused. Returns 0 or -ENOENT.
 */
int wg_peers_remove(struct wg_peers *t, uint32_t id);

/* Reader-safe. NULL when absent. */
struct wg_peer *wg_peers_lookup(const struct wg_peers *t,
	const uint8_t public_key[NOISE_PUBLIC_KEY_LEN]);
struct wg_peer *wg_peers_get(const struct wg_peers *t, uint32_t id);

/*
 * Writer side: call cb for every published peer in id order; a non-zero
 * return stops the walk and is returned. cb must not add or remove peers.
 */
int wg_peers_foreach(const struct wg_peers *t, int (*cb)(struct wg_peer *peer, void *arg),
	void *arg);

/*
 * Writer side: the published peers in the order they were added, as the
 * kernel lists them (ids are reused after grace periods, so id order is not
 * that): a malloc'd array of *n pointers (free() it), or NULL when out of
 * memory. Each pointer stays valid until that peer is removed.
 */
struct wg_peer **wg_peers_list(const struct wg_peers *t, uint32_t *n);

/* Writer side: cb on each peer of wg_peers_list(); 0, cb's first non-zero return, or -ENOMEM. */
int wg_peers_foreach_added(const struct wg_peers *t,
	int (*cb)(struct wg_peer *peer, void *arg), void *arg);

uint32_t wg_peers_count(const struct wg_peers *t);

/* Writer side: free what finished its grace period (non-blocking). */
void wg_peers_reclaim(struct wg_peers *t);

/*
 * Writer side: how many peers can be added now, after reclaiming what
 * finished its grace period. A peer removed later gives its id back only
 * after its own grace period, so removals do not add to this.
 */
uint32_t wg_peers_room(struct wg_peers *t);

#endif
