/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 host routes: see host4.h. Slot word: address in the high half, value
 * + 1 in the low half; low half 0 is an empty slot (a probe stops there),
 * all ones a tombstone (a probe goes on). Non-empty slots (live and
 * tombstones) stay below three quarters of the table, so every probe ends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "control/host4.h"
#include "crypto/ct.h"

enum {
	SLOTS_PER_BUCKET = 8,		/* one cache line */
	MIN_BUCKETS = 4,
	RETIRED_TABLES = 8,
	NAME_LEN = 32,
};

#define LO_EMPTY 0u
#define LO_TOMB 0xffffffffu

struct table {
	uint32_t bucket_mask;
	uint32_t seed;
	uint64_t slot[] __rte_cache_aligned;
};

struct wg_host4 {
	struct table *tab;		/* published with release, read with acquire */
	struct rte_rcu_qsbr_dq *dq;	/* retired tables */
	uint32_t capacity;
	uint32_t count;			/* live */
	uint32_t used;			/* live + tombstones */
	uint32_t n_buckets;
	uint32_t rebuilds;
	uint32_t retired;		/* tables in dq */
	int socket_id;
	char name[NAME_LEN];
};

static inline uint32_t
slot_lo(uint64_t s)
{
	return (uint32_t)s;
}

static inline uint32_t
slot_addr(uint64_t s)
{
	return (uint32_t)(s >> 32);
}

static inline uint64_t
slot_make(uint32_t addr, uint32_t lo)
{
	return (uint64_t)addr << 32 | lo;
}

static inline uint64_t
n_slots(const struct wg_host4 *h)
{
	return (uint64_t)h->n_buckets * SLOTS_PER_BUCKET;
}

static inline uint32_t
bucket_of(const struct table *t, uint32_t addr)
{
	return rte_hash_crc_4byte(addr, t->seed) & t->bucket_mask;
}

static struct table *
table_new(const struct wg_host4 *h)
{
	struct table *t;

	t = rte_zmalloc_socket(h->name, sizeof(*t) + n_slots(h) * sizeof(uint64_t),
		RTE_CACHE_LINE_SIZE, h->socket_id);
	if (t == NULL)
		return NULL;
	t->bucket_mask = h->n_buckets - 1;
	t->seed = wg_random_u32();
	return t;
}

static void
dq_free(void *p, void *e, unsigned int n)
{
	struct table **tabs = e;
	struct wg_host4 *h = p;
	unsigned int i;

	for (i = 0; i < n; i++) {
		rte_free(tabs[i]);
		h->retired--;
	}
}

struct wg_host4 *
wg_host4_create(const char *name, uint32_t capacity, struct rte_rcu_qsbr *rcu, int socket_id)
{
	char dq_name[RTE_RCU_QSBR_DQ_NAMESIZE];
	struct rte_rcu_qsbr_dq_parameters dp = {
		.name = dq_name,
		.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE,
		.size = RETIRED_TABLES,
		.esize = sizeof(struct table *),
		.trigger_reclaim_limit = 1,
		.max_reclaim_size = RETIRED_TABLES,
		.free_fn = dq_free,
		.v = rcu,
	};
	struct wg_host4 *h;
	uint64_t slots;

	if (name == NULL || rcu == NULL || capacity == 0 || capacity > (1u << 28)) {
		rte_errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->capacity = capacity;
	h->socket_id = socket_id;
	slots = rte_align64pow2(2 * (uint64_t)capacity);
	h->n_buckets = (uint32_t)RTE_MAX(slots / SLOTS_PER_BUCKET, (uint64_t)MIN_BUCKETS);
	h->tab = table_new(h);
	snprintf(dq_name, sizeof(dq_name), "%s_q", name);
	dp.p = h;
	h->dq = h->tab != NULL ? rte_rcu_qsbr_dq_create(&dp) : NULL;
	if (h->dq == NULL) {
		wg_host4_free(h);
		rte_errno = ENOMEM;
		return NULL;
	}
	return h;
}

void
wg_host4_free(struct wg_host4 *h)
{
	if (h == NULL)
		return;
	/* Readers are offline: retired tables go now. */
	if (h->dq != NULL && rte_rcu_qsbr_dq_delete(h->dq) != 0)
		RTE_LOG(WARNING, USER1, "host4: readers still online at free\n");
	rte_free(h->tab);
	free(h);
}

/* ---- readers ---- */

static inline bool
probe(const struct table *t, uint32_t b, uint32_t addr, uint32_t *value)
{
	const uint64_t *line;
	uint64_t s;
	unsigned int i;

	for (;;) {
		line = &t->slot[(size_t)b * SLOTS_PER_BUCKET];
		for (i = 0; i < SLOTS_PER_BUCKET; i++) {
			s = __atomic_load_n(&line[i], __ATOMIC_RELAXED);
			if (slot_lo(s) == LO_EMPTY)
				return false;
			if (slot_addr(s) == addr && slot_lo(s) != LO_TOMB) {
				*value = slot_lo(s) - 1;
				return true;
			}
		}
		b = (b + 1) & t->bucket_mask;
	}
}

bool
wg_host4_lookup(const struct wg_host4 *h, uint32_t addr, uint32_t *value)
{
	const struct table *t = __atomic_load_n(&h->tab, __ATOMIC_ACQUIRE);

	return probe(t, bucket_of(t, addr), addr, value);
}

uint64_t
wg_host4_lookup_bulk(const struct wg_host4 *h, const uint32_t *addrs, uint32_t *values,
	unsigned int n)
{
	const struct table *t = __atomic_load_n(&h->tab, __ATOMIC_ACQUIRE);
	uint32_t b[WG_HOST4_BULK_MAX];
	uint64_t hits = 0;
	unsigned int i;

	RTE_ASSERT(n <= WG_HOST4_BULK_MAX);
	for (i = 0; i < n; i++) {
		b[i] = bucket_of(t, addrs[i]);
		rte_prefetch0(&t->slot[(size_t)b[i] * SLOTS_PER_BUCKET]);
	}
	for (i = 0; i < n; i++)
		if (probe(t, b[i], addrs[i], &values[i]))
			hits |= 1ULL << i;
	return hits;
}

/* ---- the writer ---- */

/* The slot holding addr, or with found false the first free slot on its path. */
static uint64_t *
find_slot(struct table *t, uint32_t addr, bool *found)
{
	uint64_t *line, *free_slot = NULL;
	uint32_t b = bucket_of(t, addr);
	unsigned int i;

	for (;;) {
		line = &t->slot[(size_t)b * SLOTS_PER_BUCKET];
		for (i = 0; i < SLOTS_PER_BUCKET; i++) {
			if (slot_lo(line[i]) == LO_EMPTY) {
				*found = false;
				return free_slot != NULL ? free_slot : &line[i];
			}
			if (slot_lo(line[i]) == LO_TOMB) {
				if (free_slot == NULL)
					free_slot = &line[i];
			} else if (slot_addr(line[i]) == addr) {
				*found = true;
				return &line[i];
			}
		}
		b = (b + 1) & t->bucket_mask;
	}
}

static bool
over_limit(const struct wg_host4 *h, uint32_t used)
{
	return (uint64_t)used * 4 > n_slots(h) * 3;
}

/* Copies the live pairs into a fresh table (no tombstones) and retires the old one. */
int
wg_host4_compact(struct wg_host4 *h)
{
	struct table *old = h->tab, *t;
	uint64_t *s, n = n_slots(h), i;
	bool found;

	rte_rcu_qsbr_dq_reclaim(h->dq, ~0u, NULL, NULL, NULL);
	if (h->retired >= RETIRED_TABLES)
		return -EBUSY;	/* every retired table still has readers */
	t = table_new(h);
	if (t == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (slot_lo(old->slot[i]) == LO_EMPTY || slot_lo(old->slot[i]) == LO_TOMB)
			continue;
		s = find_slot(t, slot_addr(old->slot[i]), &found);
		*s = old->slot[i];
	}
	if (rte_rcu_qsbr_dq_enqueue(h->dq, &old) != 0) {
		rte_free(t);
		return -EBUSY;
	}
	h->retired++;
	__atomic_store_n(&h->tab, t, __ATOMIC_RELEASE);
	h->used = h->count;
	h->rebuilds++;
	return 0;
}

int
wg_host4_set(struct wg_host4 *h, uint32_t addr, uint32_t value)
{
	uint64_t *s;
	bool found;

	if (value >= WG_HOST4_VALUE_MAX)
		return -EINVAL;
	s = find_slot(h->tab, addr, &found);
	if (found) {
		__atomic_store_n(s, slot_make(addr, value + 1), __ATOMIC_RELEASE);
		return 0;
	}
	if (h->count >= h->capacity)
		return -ENOSPC;
	if (slot_lo(*s) == LO_EMPTY && over_limit(h, h->used + 1)) {
		/* A tombstone-free copy has room: count < capacity <= half the slots. */
		if (wg_host4_compact(h) != 0 && (uint64_t)h->used + 1 >= n_slots(h) * 7 / 8)
			return -ENOSPC;
		s = find_slot(h->tab, addr, &found);
	}
	if (slot_lo(*s) == LO_EMPTY)
		h->used++;
	__atomic_store_n(s, slot_make(addr, value + 1), __ATOMIC_RELEASE);
	h->count++;
	return 0;
}

void
wg_host4_del(struct wg_host4 *h, uint32_t addr)
{
	uint64_t *s;
	bool found;

	s = find_slot(h->tab, addr, &found);
	if (!found)
		return;
	__atomic_store_n(s, slot_make(addr, LO_TOMB), __ATOMIC_RELEASE);
	h->count--;
}

uint32_t
wg_host4_count(const struct wg_host4 *h)
{
	return h->count;
}

uint32_t
wg_host4_rebuilds(const struct wg_host4 *h)
{
	return h->rebuilds;
}

void
wg_host4_reclaim(struct wg_host4 *h)
{
	rte_rcu_qsbr_dq_reclaim(h->dq, ~0u, NULL, NULL, NULL);
}
