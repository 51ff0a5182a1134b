/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cryptokey routing (protocol.md §10): IPv4 and IPv6 prefixes -> peer id,
 * longest prefix wins, one owner per prefix (inserting an existing prefix for
 * another peer moves it), host bits masked on insert.
 *
 * The control lcore is the only writer and keeps the authoritative record (a
 * hash map prefix -> owner plus per-peer lists). Workers read the data-path
 * structures lock-free between two quiescent-state reports on the RCU
 * variable given at creation:
 *   IPv4 /32 and IPv6 /128   exact-match rte_hash (lock-free, RCU), looked up first;
 *   IPv4 /1../31             rte_lpm with RCU (deferred queue); /0 is one atomic slot;
 *   IPv6 /0../127            our own multibit trie with RCU (see allowedips.c).
 * A lookup answers a peer that owned a covering prefix at some moment during
 * the lookup, or WG_ALLOWEDIPS_NO_PEER.
 */
#ifndef WG_ALLOWEDIPS_H
#define WG_ALLOWEDIPS_H

#include <stdint.h>

#include "control/config.h"	/* struct wg_prefix */

struct rte_rcu_qsbr;

#define WG_ALLOWEDIPS_NO_PEER UINT32_MAX

/* Zero fields take the defaults, sized for a million prefixes per family. */
struct wg_allowedips_params {
	const char *name;		/* at most 12 characters, unique among EAL objects */
	struct rte_rcu_qsbr *rcu;	/* the workers' RCU variable */
	int socket_id;
	uint32_t v4_rules;		/* IPv4 prefixes /1../31 (default 1 << 20) */
	uint32_t v4_tbl8s;		/* rte_lpm tbl8 groups, 1 KiB each (default 1 << 16) */
	uint32_t v4_hosts;		/* IPv4 /32 (default 1 << 20) */
	uint32_t v6_groups;		/* IPv6 trie groups, 1 KiB each (default 1 << 16) */
	uint32_t v6_hosts;		/* IPv6 /128 (default 1 << 20) */
};

struct wg_allowedips;

/* Returns NULL with rte_errno set. */
struct wg_allowedips *wg_allowedips_create(const struct wg_allowedips_params *params);

/* No reader may use the table any more (readers offline); NULL is allowed. */
void wg_allowedips_free(struct wg_allowedips *t);

/*
 * Writer API: 0 or a negative errno. -EINVAL for a bad family, length or
 * peer id (>= WG_PEERS_MAX_ID); -ENOSPC when the data-path table for that
 * prefix is full (nothing changed); -ENOMEM; -ENOENT when removing an absent
 * prefix. Inserting a prefix owned by another peer moves it.
 */
int wg_allowedips_insert(struct wg_allowedips *t, uint32_t peer_id, const struct wg_prefix *prefix)
	__attribute__((warn_unused_result));
int wg_allowedips_remove(struct wg_allowedips *t, const struct wg_prefix *prefix);
/* Returns the number of prefixes removed. */
int wg_allowedips_remove_peer(struct wg_allowedips *t, uint32_t peer_id);

/*
 * Writer side: call cb for each prefix of peer_id (masked, most recently
 * inserted first); a non-zero return stops the walk and is returned. cb must
 * not modify the table.
 */
typedef int (*wg_allowedips_cb)(const struct wg_prefix *prefix, void *arg);
int wg_allowedips_list(const struct wg_allowedips *t, uint32_t peer_id, wg_allowedips_cb cb,
	void *arg);

/* Writer side: exact-prefix owner, or WG_ALLOWEDIPS_NO_PEER. */
uint32_t wg_allowedips_owner(const struct wg_allowedips *t, const struct wg_prefix *prefix);
/* Writer side: number of prefixes. */
uint32_t wg_allowedips_count(const struct wg_allowedips *t);
/* Writer side: free IPv6 trie groups whose grace period is over (non-blocking). */
void wg_allowedips_reclaim(struct wg_allowedips *t);

/* Reader API: longest-prefix match; addresses in network byte order. */
uint32_t wg_allowedips_lookup4(const struct wg_allowedips *t, uint32_t addr_be);
uint32_t wg_allowedips_lookup6(const struct wg_allowedips *t, const uint8_t addr[16]);
void wg_allowedips_lookup4_bulk(const struct wg_allowedips *t, const uint32_t *addrs_be,
	uint32_t *peer_ids, unsigned int n);
void wg_allowedips_lookup6_bulk(const struct wg_allowedips *t, const uint8_t (*addrs)[16],
	uint32_t *peer_ids, unsigned int n);

#endif
