/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receiver indices on an rte_hash with lock-free readers. The hash stores a
 * pointer to the struct noise_index_entry; a deleted key slot is recycled by
 * the hash after a grace period, and a retired keypair is freed by our own
 * deferred queue after one. A keypair that cannot be queued (the queue is
 * full even after a reclaim) waits on an overflow list with its own RCU
 * token, so nothing is ever freed early and the writer never blocks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_log.h>
#include <rte_rcu_qsbr.h>

#include "control/index_rcu.h"
#include "crypto/ct.h"

enum {
	DEFAULT_ENTRIES = 1 << 16,
	DEFAULT_RETIRE = 1 << 14,
	MAX_DRAWS = 64,
	NAME_MAX_LEN = 12,
};

struct overflow {
	struct noise_keypair *kp;
	uint64_t token;
};

struct wg_index_rcu {
	struct rte_hash *hash;		/* LE index (host order) -> struct noise_index_entry * */
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
create_hash(struct wg_index_rcu *t, const struct wg_index_rcu_params *params)
{
	struct rte_hash_rcu_config rcfg = {
		.v = params->rcu,
		.mode = RTE_HASH_QSBR_MODE_DQ,
		.trigger_reclaim_limit = 64,
		.max_reclaim_size = 64,
	};
	struct rte_hash_parameters hp = {
		.entries = params->entries != 0 ? params->entries : DEFAULT_ENTRIES,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.hash_func_init_val = wg_random_u32(),
		.socket_id = params->socket_id,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	char name[RTE_HASH_NAMESIZE];

	snprintf(name, sizeof(name), "%s_ix", params->name);
	hp.name = name;
	t->hash = rte_hash_create(&hp);
	if (t->hash == NULL)
		return -rte_errno;
	if (rte_hash_rcu_qsbr_add(t->hash, &rcfg) != 0)
		return -rte_errno;
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
	ret = create_hash(t, params);
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
	rte_hash_free(t->hash);
	free(t);
}

static int32_t
find(const struct wg_index_rcu *t, uint32_t index, struct noise_index_entry **e)
{
	void *data;
	int32_t pos;

	pos = rte_hash_lookup_data(t->hash, &index, &data);
	*e = pos >= 0 ? data : NULL;
	return pos;
}

static int
add(struct wg_index_rcu *t, struct noise_index_entry *e, uint32_t index)
{
	int ret;

	ret = rte_hash_add_key_data(t->hash, &index, e);
	if (ret != 0)
		return ret == -ENOSPC ? -ENOSPC : ret;
	e->index = index;
	t->count++;
	return 0;
}

static int
ops_insert(void *table, struct noise_index_entry *e)
{
	struct wg_index_rcu *t = table;
	struct noise_index_entry *cur;
	unsigned int i;
	uint32_t index;

	for (i = 0; i < MAX_DRAWS; i++) {
		index = wg_random_u32();
		if (find(t, index, &cur) < 0)
			return add(t, e, index);
	}
	return -ENOSPC;
}

static int
ops_insert_at(void *table, struct noise_index_entry *e, uint32_t index)
{
	struct wg_index_rcu *t = table;
	struct noise_index_entry *cur;

	if (find(t, index, &cur) >= 0)
		return -EEXIST;
	return add(t, e, index);
}

static void
ops_replace(void *table, struct noise_index_entry *old_e, struct noise_index_entry *new_e)
{
	struct wg_index_rcu *t = table;
	struct noise_index_entry *cur;

	new_e->index = old_e->index;
	if (find(t, old_e->index, &cur) < 0 || cur != old_e) {
		/* Not in the table (never happens with the noise code): just insert. */
		if (add(t, new_e, new_e->index) != 0)
			RTE_LOG(ERR, USER1, "index: replace of an absent entry failed\n");
		return;
	}
	/* Same key: the hash swaps the data pointer atomically for readers. */
	rte_hash_add_key_data(t->hash, &new_e->index, new_e);
}

static void
ops_remove(void *table, struct noise_index_entry *e)
{
	struct wg_index_rcu *t = table;
	struct noise_index_entry *cur;

	/* A handshake whose index moved to a keypair must not remove the keypair. */
	if (find(t, e->index, &cur) < 0 || cur != e)
		return;
	if (rte_hash_del_key(t->hash, &e->index) >= 0)
		t->count--;
}

static struct noise_index_entry *
ops_lookup(void *table, uint32_t index, unsigned int type_mask)
{
	struct noise_index_entry *e;

	if (find(table, index, &e) < 0 || (e->type & type_mask) == 0)
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
	const void *keys[RTE_HASH_LOOKUP_BULK_MAX];
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	struct noise_index_entry *e;
	unsigned int i, m, found = 0;
	uint64_t hits;

	for (; n > 0; idx += m, out += m, n -= m) {
		m = RTE_MIN(n, (unsigned int)RTE_HASH_LOOKUP_BULK_MAX);
		for (i = 0; i < m; i++)
			keys[i] = &idx[i];
		hits = 0;
		if (rte_hash_lookup_bulk_data(t->hash, keys, m, &hits, data) < 0)
			hits = 0;
		for (i = 0; i < m; i++) {
			out[i] = NULL;
			if ((hits & (1ULL << i)) == 0)
				continue;
			e = data[i];
			if (e->type != NOISE_INDEX_KEYPAIR)
				continue;
			out[i] = container_of(e, struct noise_keypair, entry);
			found++;
		}
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
