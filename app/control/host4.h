/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 host routes (/32) in front of the LPM: an exact-match table from a
 * 32-bit address to a 32-bit value with lock-free readers and one writer.
 *
 * Each slot is one 64-bit word (address, value + 1), so a reader always sees
 * a whole pair: an update of a present address is one store, a removal
 * leaves a tombstone, an insertion fills the first free slot on the probe
 * path. Buckets are one cache line of eight slots, probed linearly. Slots
 * outnumber the capacity twice; when tombstones fill a quarter of the table
 * the writer copies the live pairs into a fresh table, publishes it and
 * frees the old one after an RCU grace period (it never waits for one).
 */
#ifndef WG_HOST4_H
#define WG_HOST4_H

#include <stdbool.h>
#include <stdint.h>

struct rte_rcu_qsbr;
struct wg_host4;

/* Values must be below WG_HOST4_VALUE_MAX. */
#define WG_HOST4_VALUE_MAX 0xfffffffeu
#define WG_HOST4_BULK_MAX 64

/* Capacity in addresses; NULL with rte_errno set on failure. */
struct wg_host4 *wg_host4_create(const char *name, uint32_t capacity, struct rte_rcu_qsbr *rcu,
	int socket_id);
void wg_host4_free(struct wg_host4 *h);

/* Writer: add or update (0, -ENOSPC when full, -EINVAL for a bad value); remove. */
int wg_host4_set(struct wg_host4 *h, uint32_t addr, uint32_t value);
void wg_host4_del(struct wg_host4 *h, uint32_t addr);
uint32_t wg_host4_count(const struct wg_host4 *h);
/* Writer: free tables retired by rebuilds once their grace period is over. */
void wg_host4_reclaim(struct wg_host4 *h);
/*
 * Writer: copy the live pairs into a fresh table now (done by itself when
 * tombstones crowd the table): 0, -ENOMEM, or -EBUSY while every retired
 * table still waits for its grace period.
 */
int wg_host4_compact(struct wg_host4 *h);
/* Writer: rebuilds so far. */
uint32_t wg_host4_rebuilds(const struct wg_host4 *h);

/* Readers (addresses as stored, any byte order): one address, or n <= 64 (hit mask). */
bool wg_host4_lookup(const struct wg_host4 *h, uint32_t addr, uint32_t *value);
uint64_t wg_host4_lookup_bulk(const struct wg_host4 *h, const uint32_t *addrs, uint32_t *values,
	unsigned int n);

#endif
