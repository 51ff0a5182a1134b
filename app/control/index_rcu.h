/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The receiver-index table shared with the workers (protocol.md §9.4, §9.5):
 * random unique 32-bit index -> struct noise_index_entry (a peer's handshake
 * or one of its keypairs), in a direct-mapped slot array (the index's low
 * bits name its slot) with lock-free readers; see index_rcu.c.
 *
 * The control lcore is the only writer: it drives the table through
 * wg_index_rcu_ops (struct noise_index_ops, for wg_noise_local_init()).
 * Keypairs destroyed by the noise code are handed to
 * wg_index_rcu_retire_keypair() (the noise retire callback): they are wiped
 * and freed once every worker has reported quiescent after the retirement,
 * through an rte_rcu_qsbr deferred queue. Nothing on the control lcore ever
 * waits for a grace period.
 *
 * Workers look indices up between two quiescent-state reports on the same
 * RCU variable; a keypair they find stays readable until their next report.
 */
#ifndef WG_INDEX_RCU_H
#define WG_INDEX_RCU_H

#include <stdint.h>

#include "crypto/noise.h"

struct rte_rcu_qsbr;

struct wg_index_rcu_params {
	const char *name;		/* at most 12 characters, unique among EAL objects */
	struct rte_rcu_qsbr *rcu;	/* the workers' RCU variable */
	uint32_t entries;		/* live indices (default 1 << 16) */
	uint32_t retire_queue;		/* keypairs awaiting a grace period (default 1 << 14) */
	int socket_id;
};

struct wg_index_rcu;

/* NULL with rte_errno set. */
struct wg_index_rcu *wg_index_rcu_create(const struct wg_index_rcu_params *params);
/* No reader may use the table any more; retired keypairs are freed now. NULL allowed. */
void wg_index_rcu_free(struct wg_index_rcu *t);

/* Writer side: the table as noise ops (pass the struct wg_index_rcu as the table). */
extern const struct noise_index_ops wg_index_rcu_ops;
/* Writer side: the noise retire callback (arg: the struct wg_index_rcu). */
void wg_index_rcu_retire_keypair(void *arg, struct noise_keypair *kp);
/* Writer side: free retired keypairs whose grace period is over (non-blocking). */
void wg_index_rcu_reclaim(struct wg_index_rcu *t);
/* Writer side: indices in the table, keypairs still waiting to be freed. */
uint32_t wg_index_rcu_count(const struct wg_index_rcu *t);
uint32_t wg_index_rcu_retired(const struct wg_index_rcu *t);

/*
 * Reader side (workers): for each idx[i] (host order, as read from the
 * little-endian wire field), out[i] is the keypair with that local index, or
 * NULL when the index is unknown or names a handshake (data uses keypair
 * entries only, §9.5). Any n. Returns how many were found.
 */
unsigned int wg_index_lookup_keypairs(const struct wg_index_rcu *t, const uint32_t *idx,
	struct noise_keypair **out, unsigned int n);
/* One index: the keypair, or NULL. */
struct noise_keypair *wg_index_lookup_keypair(const struct wg_index_rcu *t, uint32_t idx);

#endif
