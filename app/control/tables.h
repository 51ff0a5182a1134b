/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control-plane tables built from a configuration: the peer table and the
 * allowed IPs, sized from the configuration with headroom for reloads.
 */
#ifndef WG_TABLES_H
#define WG_TABLES_H

#include <stdint.h>

#include "control/allowedips.h"
#include "control/config.h"
#include "control/peers.h"

struct rte_rcu_qsbr;

struct wg_tables {
	struct wg_peers *peers;
	struct wg_allowedips *allowedips;
};

struct wg_tables_params {
	const char *name;		/* at most 10 characters, unique among EAL objects */
	struct rte_rcu_qsbr *rcu;	/* the workers' RCU variable */
	int socket_id;
	/* 0: twice the configuration's peers, at least 4096, at most MAX_PEERS. */
	uint32_t max_peers;
};

/*
 * Create both tables and load every peer of conf (except one with our own
 * public key) with its allowed IPs. Returns 0, or a negative errno with
 * nothing left allocated: -ENOSPC (a table is full), -EEXIST (duplicate
 * public key), -ENOMEM, -EINVAL.
 */
int wg_tables_build(struct wg_tables *t, const struct wg_conf *conf,
	const struct wg_tables_params *params) __attribute__((warn_unused_result));

/*
 * Add one configured peer and its allowed IPs (a prefix owned by another
 * peer moves, as with `wg set`). On error the peer and the prefixes it got
 * are removed again (a prefix moved from another peer is not given back).
 */
int wg_tables_add_peer(struct wg_tables *t, const struct wg_conf_peer *cp, struct wg_peer **out)
	__attribute__((warn_unused_result));

/* Remove a peer's allowed IPs, then the peer (freed after a grace period). */
int wg_tables_remove_peer(struct wg_tables *t, uint32_t id);

/* Readers must be offline. Both pointers are set to NULL. */
void wg_tables_free(struct wg_tables *t);

#endif
