/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receiver indices in a direct-mapped slot array with lock-free readers. We
 * choose the indices, so each live index owns the slot its low bits name:
 * an index is drawn at random until its slot is free, and the array has at
 * least twice as many slots as live entries, so a draw succeeds half the
 * time or more. A lookup is one load of the slot and a compare of the
 * entry's own index (a stale or different entry there simply does not
 * match): no hashing, no probing, one cache line per packet.
 *
 * A slot holds a pointer to the struct noise_index_entry, published with a
 * release store after the entry's index is written. Entries stay readable
 * for a grace period after they leave the table (keypairs: our deferred
 * queue; handshakes: they live in their peer, which is freed after one), so
 * a slot may be reused at once: a reader holding the old pointer sees an
 * index that is no longer its key, or the old entry, never freed memory.
 * A keypair that cannot be queued (the queue is full even after a reclaim)
 * waits on an overflow list with its own RCU token, so nothing is ever freed
 * early and the writer never blocks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "control/index_rcu.h"
#include "crypto/ct.h"

enum {
	DEFAULT_ENTRIES = 1 << 16,
	DEFAULT_RETIRE = 1 << 14,
	MAX_DRAWS = 64,
	MIN_SLOTS = 1 << 10,
	NAME_MAX_LEN = 12,
};

#define MAX_ENTRIES (1u << 31)	/* twice as many slots still fit a 32-bit mask */

struct overflow {
	struct noise_keypair *kp;
	uint64_t token;
};

struct wg_index_rcu {
	struct noise_index_entry **slots;	/* index & mask -> entry (or NULL) */
	uint32_t mask;
	uint32_t cap;			/* live entries at most */
	struct rte_rcu_qsbr_dq *dq;	/* retired keypairs */
	struct rte_rcu_qsbr *rcu;
	uint32_t count;
	uint32_t retired;		/* in dq or overflow */
	uint32_t n_over;
	uint32_t cap_over;
	struct overflow *over;
};

static void
dq_free(void *p, void *e, unsigned int n)
{
	struct wg_index_rcu *t = p;
	struct noise_keypair **kps = e;
	unsigned int i;

	for (i = 0; i < n; i++) {
		wg_noise_keypair_free(NULL, kps[i]);
		t->retired--;
	}
}

static int
create_slots(struct wg_index_rcu *t, const struct wg_index_rcu_params *params)
{
	uint32_t entries = params->entries != 0 ? params->entries : DEFAULT_ENTRIES;
	uint64_t n_slots;

	if (entries > MAX_ENTRIES)
		return -EINVAL;
	n_slots = rte_align64pow2(RTE_MAX(2 * (uint64_t)entries, (uint64_t)MIN_SLOTS));
	t->slots = rte_zmalloc_socket("wg_index", n_slots * sizeof(*t->slots),
		RTE_CACHE_LINE_SIZE, params->socket_id);
	if (t->slots == NULL)
		return -ENOMEM;
	t->mask = (uint32_t)(n_slots - 1);
	t->cap = entries;
	return 0;
}

static int
create_dq(struct wg_index_rcu *t, const struct wg_index_rcu_params *params)
{
	char name[RTE_RCU_QSBR_DQ_NAMESIZE];
	struct rte_rcu_qsbr_dq_parameters dp = {
		.name = name,
		.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE,
		.size = params->retire_queue != 0 ? params->retire_queue : DEFAULT_RETIRE,
		.esize = sizeof(struct noise_keypair *),
		.trigger_reclaim_limit = 32,
		.max_reclaim_size = 64,
		.free_fn = dq_free,
		.p = t,
		.v = params->rcu,
	};

	snprintf(name, sizeof(name), "%s_kd", params->name);
	t->dq = rte_rcu_qsbr_dq_create(&dp);
	return t->dq == NULL ? -rte_errno : 0;
}

struct wg_index_rcu *
wg_index_rcu_create(const struct wg_index_rcu_params *params)
{
	struct wg_index_rcu *t;
	int ret;

	if (params == NULL || params->name == NULL || params->rcu == NULL ||
			strlen(params->name) > NAME_MAX_LEN) {
		rte_errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->rcu = params->rcu;
	ret = create_slots(t, params);
	if (ret == 0)
		ret = create_dq(t, params);
	if (ret != 0) {
		wg_index_rcu_free(t);
		rte_errno = -ret;
		return NULL;
	}
	return t;
}

static void
overflow_reclaim(struct wg_index_rcu *t, bool all)
{
	uint32_t i, n = 0;

	for (i = 0; i < t->n_over; i++) {
		if (all || rte_rcu_qsbr_check(t->rcu, t->over[i].token, false) == 1) {
			wg_noise_keypair_free(NULL, t->over[i].kp);
			t->retired--;
		} else {
			t->over[n++] = t->over[i];
		}
	}
	t->n_over = n;
}

void
wg_index_rcu_free(struct wg_index_rcu *t)
{
	if (t == NULL)
		return;
	/* Readers are offline: whatever is still queued is freed now. */
	if (t->dq != NULL && rte_rcu_qsbr_dq_delete(t->dq) != 0)
		RTE_LOG(ERR, USER1, "index: deferred queue not empty at exit\n");
	overflow_reclaim(t, true);
	free(t->over);
	rte_free(t->slots);
	free(t);
}

/* The live entry with this index, or NULL. Readers and the writer alike. */
static inline struct noise_index_entry *
find(const struct wg_index_rcu *t, uint32_t index)
{
	struct noise_index_entry *e = __atomic_load_n(&t->slots[index & t->mask], __ATOMIC_ACQUIRE);

	if (e == NULL || __atomic_load_n(&e->index, __ATOMIC_RELAXED) != index)
		return NULL;
	return e;
}

static void
publish(struct wg_index_rcu *t, struct noise_index_entry *e, uint32_t index)
{
	__atomic_store_n(&e->index, index, __ATOMIC_RELAXED);
	__atomic_store_n(&t->slots[index & t->mask], e, __ATOMIC_RELEASE);
}

/* A fixed index (known-answer tests): refused when its slot is taken, by it or another. */
static int
ops_insert_at(void *table, struct noise_index_entry *e, uint32_t index)
{
	struct wg_index_rcu *t = table;

	if (t->slots[index & t->mask] != NULL)
		return -EEXIST;
	if (t->count >= t->cap)
		return -ENOSPC;
	publish(t, e, index);
	t->count++;
	return 0;
}

static int
ops_insert(void *table, struct noise_index_entry *e)
{
	struct wg_index_rcu *t = table;
	unsigned int i;
	uint32_t index;

	if (t->count >= t->cap)
		return -ENOSPC;
	for (i = 0; i < MAX_DRAWS; i++) {
		index = wg_random_u32();
		if (t->slots[index & t->mask] == NULL)
			return ops_insert_at(t, e, index);
	}
	return -ENOSPC;
}

static void
ops_replace(void *table, struct noise_index_entry *old_e, struct noise_index_entry *new_e)
{
	struct wg_index_rcu *t = table;
	uint32_t index = old_e->index;

	if (find(t, index) != old_e) {
		/* Not in the table (never happens with the noise code): just insert. */
		if (ops_insert_at(t, new_e, index) != 0)
			RTE_LOG(ERR, USER1, "index: replace of an absent entry failed\n");
		return;
	}
	/* Same slot: readers see the old entry or the new one. */
	publish(t, new_e, index);
}

static void
ops_remove(void *table, struct noise_index_entry *e)
{
	struct wg_index_rcu *t = table;

	/* A handshake whose index moved to a keypair must not remove the keypair. */
	if (find(t, e->index) != e)
		return;
	__atomic_store_n(&t->slots[e->index & t->mask], NULL, __ATOMIC_RELEASE);
	t->count--;
}

static struct noise_index_entry *
ops_lookup(void *table, uint32_t index, unsigned int type_mask)
{
	struct noise_index_entry *e = find(table, index);

	if (e == NULL || (e->type & type_mask) == 0)
		return NULL;
	return e;
}

const struct noise_index_ops wg_index_rcu_ops = {
	.insert = ops_insert,
	.insert_at = ops_insert_at,
	.replace = ops_replace,
	.remove = ops_remove,
	.lookup = ops_lookup,
};

static void
overflow_push(struct wg_index_rcu *t, struct noise_keypair *kp)
{
	struct overflow *o;
	uint32_t cap;

	if (t->n_over == t->cap_over) {
		cap = t->cap_over != 0 ? 2 * t->cap_over : 64;
		o = realloc(t->over, cap * sizeof(*o));
		if (o == NULL) {
			/* Never free early: leak it rather than risk a reader. */
			RTE_LOG(ERR, USER1, "index: out of memory, keypair leaked\n");
			return;
		}
		t->over = o;
		t->cap_over = cap;
	}
	t->over[t->n_over].kp = kp;
	t->over[t->n_over].token = rte_rcu_qsbr_start(t->rcu);
	t->n_over++;
	t->retired++;
}

void
wg_index_rcu_retire_keypair(void *arg, struct noise_keypair *kp)
{
	struct wg_index_rcu *t = arg;

	if (kp == NULL)
		return;
	if (rte_rcu_qsbr_dq_enqueue(t->dq, &kp) == 0) {
		t->retired++;
		return;
	}
	rte_rcu_qsbr_dq_reclaim(t->dq, ~0u, NULL, NULL, NULL);
	if (rte_rcu_qsbr_dq_enqueue(t->dq, &kp) == 0) {
		t->retired++;
		return;
	}
	overflow_push(t, kp);
}

void
wg_index_rcu_reclaim(struct wg_index_rcu *t)
{
	rte_rcu_qsbr_dq_reclaim(t->dq, ~0u, NULL, NULL, NULL);
	if (t->n_over > 0)
		overflow_reclaim(t, false);
}

uint32_t
wg_index_rcu_count(const struct wg_index_rcu *t)
{
	return t->count;
}

uint32_t
wg_index_rcu_retired(const struct wg_index_rcu *t)
{
	return t->retired;
}

unsigned int
wg_index_lookup_keypairs(const struct wg_index_rcu *t, const uint32_t *idx,
	struct noise_keypair **out, unsigned int n)
{
	struct noise_index_entry *e;
	unsigned int i, found = 0;

	for (i = 0; i < n; i++)
		rte_prefetch0(&t->slots[idx[i] & t->mask]);
	for (i = 0; i < n; i++) {
		e = find(t, idx[i]);
		out[i] = NULL;
		if (e == NULL || e->type != NOISE_INDEX_KEYPAIR)
			continue;
		out[i] = container_of(e, struct noise_keypair, entry);
		found++;
	}
	return found;
}

struct noise_keypair *
wg_index_lookup_keypair(const struct wg_index_rcu *t, uint32_t idx)
{
	struct noise_keypair *kp;

	wg_index_lookup_keypairs(t, &idx, &kp, 1);
	return kp;
}
