/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_log.h>
#include <rte_rcu_qsbr.h>

#include "control/peers.h"
#include "crypto/ct.h"

#define CHUNK_SHIFT 12
#define CHUNK_SIZE (1u << CHUNK_SHIFT)
#define NAME_MAX_LEN 12	/* DPDK prefixes our names; rings allow 29 characters */

struct wg_peers {
	struct rte_hash *by_key;	/* public key -> struct wg_peer * */
	struct rte_rcu_qsbr_dq *dq;	/* removed peers waiting for their grace period */
	struct rte_rcu_qsbr *rcu;
	uint32_t max_peers;
	uint32_t count;			/* published peers */
	uint32_t next_unused;		/* ids >= this were never handed out */
	uint64_t n_added;		/* peers ever added: the next one's `added` */
	uint32_t n_free;		/* reusable ids on free_ids (grace period over) */
	uint32_t *free_ids;
	uint32_t n_chunks;
	struct wg_peer **chunks[];	/* id >> CHUNK_SHIFT -> CHUNK_SIZE slots */
};

static struct wg_peer **
slot(const struct wg_peers *t, uint32_t id)
{
	struct wg_peer **chunk;

	chunk = __atomic_load_n(&t->chunks[id >> CHUNK_SHIFT], __ATOMIC_ACQUIRE);
	return chunk == NULL ? NULL : &chunk[id & (CHUNK_SIZE - 1)];
}

static void
peer_destroy(struct wg_peer *peer)
{
	free(peer->name);
	wg_memzero(peer, sizeof(*peer));
	free(peer);
}

/* Deferred-queue callback: the grace period of these peers is over. */
static void
dq_free(void *p, void *e, unsigned int n)
{
	struct wg_peers *t = p;
	struct wg_peer **peers = e;
	unsigned int i;

	for (i = 0; i < n; i++) {
		t->free_ids[t->n_free++] = peers[i]->id;
		peer_destroy(peers[i]);
	}
}

/*
 * The error of a failed DPDK constructor (rte_errno cleared before the call).
 * Ours are given valid parameters, so only EINVAL (a bug) and EEXIST (a name
 * in use) are errors of the caller; DPDK 22.11 leaves rte_errno unset or
 * stale (ENOENT from an internal lookup) when an allocation fails, as in
 * rte_hash_create() and rte_hash_rcu_qsbr_add(), so anything else is out of
 * memory.
 */
static int
dpdk_error(void)
{
	return rte_errno == EINVAL || rte_errno == EEXIST ? -rte_errno : -ENOMEM;
}

static int
create_hash(struct wg_peers *t, const struct wg_peers_params *params)
{
	struct rte_hash_rcu_config rcfg = {
		.v = params->rcu,
		.mode = RTE_HASH_QSBR_MODE_DQ,
		.trigger_reclaim_limit = 64,
		.max_reclaim_size = 64,
	};
	struct rte_hash_parameters hp = {
		.entries = RTE_MAX(params->max_peers, 8u),
		.key_len = NOISE_PUBLIC_KEY_LEN,
		.hash_func = rte_hash_crc,
		.hash_func_init_val = wg_random_u32(),
		.socket_id = params->socket_id,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	char name[RTE_HASH_NAMESIZE];

	snprintf(name, sizeof(name), "%s_pk", params->name);
	hp.name = name;
	rte_errno = 0;
	t->by_key = rte_hash_create(&hp);
	if (t->by_key == NULL)
		return dpdk_error();
	rte_errno = 0;
	if (rte_hash_rcu_qsbr_add(t->by_key, &rcfg) != 0)
		return dpdk_error();
	return 0;
}

static int
create_dq(struct wg_peers *t, const struct wg_peers_params *params)
{
	char name[RTE_RCU_QSBR_DQ_NAMESIZE];
	struct rte_rcu_qsbr_dq_parameters dp = {
		.name = name,
		.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE,
		/* Each id is pending at most once, so the queue never overflows. */
		.size = params->max_peers,
		.esize = sizeof(struct wg_peer *),	/* DPDK adds the token */
		.trigger_reclaim_limit = 64,
		.max_reclaim_size = 64,
		.free_fn = dq_free,
		.p = t,
		.v = params->rcu,
	};

	snprintf(name, sizeof(name), "%s_pd", params->name);
	rte_errno = 0;
	t->dq = rte_rcu_qsbr_dq_create(&dp);
	return t->dq == NULL ? dpdk_error() : 0;
}

struct wg_peers *
wg_peers_create(const struct wg_peers_params *params)
{
	struct wg_peers *t;
	uint32_t n_chunks;
	int ret;

	if (params == NULL || params->name == NULL || params->rcu == NULL ||
			strlen(params->name) > NAME_MAX_LEN || params->max_peers == 0 ||
			params->max_peers > WG_PEERS_MAX_ID) {
		rte_errno = EINVAL;
		return NULL;
	}
	n_chunks = (params->max_peers + CHUNK_SIZE - 1) >> CHUNK_SHIFT;
	t = calloc(1, sizeof(*t) + n_chunks * sizeof(t->chunks[0]));
	if (t == NULL)
		goto nomem;
	t->n_chunks = n_chunks;
	t->rcu = params->rcu;
	t->max_peers = params->max_peers;
	/* Large calloc is mmap-backed: pages are touched only as ids are freed. */
	t->free_ids = calloc(params->max_peers, sizeof(*t->free_ids));
	if (t->free_ids == NULL)
		goto nomem;
	ret = create_hash(t, params);
	if (ret == 0)
		ret = create_dq(t, params);
	if (ret != 0) {
		wg_peers_free(t);
		rte_errno = -ret;
		return NULL;
	}
	return t;
nomem:
	wg_peers_free(t);
	rte_errno = ENOMEM;
	return NULL;
}

void
wg_peers_free(struct wg_peers *t)
{
	struct wg_peer **s;
	uint32_t id;

	if (t == NULL)
		return;
	for (id = 0; id < t->next_unused; id++) {
		s = slot(t, id);
		if (s != NULL && *s != NULL)
			peer_destroy(*s);
	}
	/* Peers still in their grace period are freed here if readers are offline. */
	if (t->dq != NULL && rte_rcu_qsbr_dq_delete(t->dq) != 0)
		RTE_LOG(WARNING, USER1, "peers: readers still online, removed peers leaked\n");
	rte_hash_free(t->by_key);
	for (id = 0; id < t->n_chunks; id++)
		free(t->chunks[id]);
	free(t->free_ids);
	free(t);
}

static int
alloc_id(struct wg_peers *t, uint32_t *id)
{
	if (t->n_free == 0 && t->next_unused == t->max_peers)
		rte_rcu_qsbr_dq_reclaim(t->dq, ~0u, NULL, NULL, NULL);
	if (t->n_free > 0) {
		*id = t->free_ids[--t->n_free];
		return 0;
	}
	if (t->next_unused == t->max_peers)
		return -ENOSPC;
	if (t->chunks[t->next_unused >> CHUNK_SHIFT] == NULL) {
		struct wg_peer **chunk = calloc(CHUNK_SIZE, sizeof(*chunk));

		if (chunk == NULL)
			return -ENOMEM;
		__atomic_store_n(&t->chunks[t->next_unused >> CHUNK_SHIFT], chunk,
			__ATOMIC_RELEASE);
	}
	*id = t->next_unused++;
	return 0;
}

int
wg_peers_add(struct wg_peers *t, const struct wg_peer *init, struct wg_peer **out)
{
	struct wg_peer *peer;
	uint32_t id;
	int ret;

	if (t == NULL || init == NULL)
		return -EINVAL;
	if (rte_hash_lookup(t->by_key, init->public_key) >= 0)
		return -EEXIST;
	peer = aligned_alloc(RTE_CACHE_LINE_SIZE,
		RTE_ALIGN_CEIL(sizeof(*peer), RTE_CACHE_LINE_SIZE));
	if (peer == NULL)
		return -ENOMEM;
	*peer = *init;
	peer->name = NULL;
	if (init->name != NULL) {
		peer->name = strndup(init->name, WG_PEERS_NAME_MAX);
		if (peer->name == NULL) {
			ret = -ENOMEM;
			goto err;
		}
	}
	ret = alloc_id(t, &id);
	if (ret != 0)
		goto err;
	peer->id = id;
	peer->added = t->n_added;
	ret = rte_hash_add_key_data(t->by_key, peer->public_key, peer);
	if (ret != 0) {
		t->free_ids[t->n_free++] = id;
		goto err;
	}
	__atomic_store_n(slot(t, id), peer, __ATOMIC_RELEASE);
	t->count++;
	t->n_added++;
	if (out != NULL)
		*out = peer;
	return 0;
err:
	peer_destroy(peer);
	return ret;
}

int
wg_peers_remove(struct wg_peers *t, uint32_t id)
{
	struct wg_peer **s, *peer;

	if (t == NULL || id >= t->next_unused)
		return -ENOENT;
	s = slot(t, id);
	peer = *s;
	if (peer == NULL)
		return -ENOENT;
	__atomic_store_n(s, NULL, __ATOMIC_RELEASE);
	/* With RCU attached, the hash recycles the key slot after a grace period. */
	rte_hash_del_key(t->by_key, peer->public_key);
	t->count--;
	if (rte_rcu_qsbr_dq_enqueue(t->dq, &peer) != 0) {
		/* Cannot happen (the queue holds every id); never free early. */
		RTE_LOG(ERR, USER1, "peers: deferred queue full, peer %u leaked\n", id);
	}
	return 0;
}

struct wg_peer *
wg_peers_lookup(const struct wg_peers *t, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	void *data;

	if (rte_hash_lookup_data(t->by_key, public_key, &data) < 0)
		return NULL;
	return data;
}

struct wg_peer *
wg_peers_get(const struct wg_peers *t, uint32_t id)
{
	struct wg_peer **s;

	if (id >= t->max_peers)
		return NULL;
	s = slot(t, id);
	return s == NULL ? NULL : __atomic_load_n(s, __ATOMIC_ACQUIRE);
}

int
wg_peers_foreach(const struct wg_peers *t, int (*cb)(struct wg_peer *peer, void *arg), void *arg)
{
	struct wg_peer **s;
	uint32_t id;
	int ret;

	for (id = 0; id < t->next_unused; id++) {
		s = slot(t, id);
		if (*s == NULL)
			continue;
		ret = cb(*s, arg);
		if (ret != 0)
			return ret;
	}
	return 0;
}

struct collect {
	struct wg_peer **peers;
	uint32_t n;
};

static int
collect_cb(struct wg_peer *peer, void *arg)
{
	struct collect *c = arg;

	c->peers[c->n++] = peer;
	return 0;
}

static int
cmp_added(const void *a, const void *b)
{
	const struct wg_peer *x = *(struct wg_peer *const *)a, *y = *(struct wg_peer *const *)b;

	return x->added < y->added ? -1 : x->added > y->added;
}

struct wg_peer **
wg_peers_list(const struct wg_peers *t, uint32_t *n)
{
	struct collect c = { .peers = malloc((t->count + 1) * sizeof(*c.peers)) };

	if (c.peers == NULL)
		return NULL;
	(void)wg_peers_foreach(t, collect_cb, &c);
	qsort(c.peers, c.n, sizeof(*c.peers), cmp_added);
	*n = c.n;
	return c.peers;
}

int
wg_peers_foreach_added(const struct wg_peers *t, int (*cb)(struct wg_peer *peer, void *arg),
	void *arg)
{
	struct wg_peer **peers;
	uint32_t i, n;
	int ret = 0;

	peers = wg_peers_list(t, &n);
	if (peers == NULL)
		return -ENOMEM;
	for (i = 0; i < n && ret == 0; i++)
		ret = cb(peers[i], arg);
	free(peers);
	return ret;
}

uint32_t
wg_peers_count(const struct wg_peers *t)
{
	return t->count;
}

void
wg_peers_reclaim(struct wg_peers *t)
{
	rte_rcu_qsbr_dq_reclaim(t->dq, ~0u, NULL, NULL, NULL);
}

uint32_t
wg_peers_room(struct wg_peers *t)
{
	wg_peers_reclaim(t);
	return t->n_free + (t->max_peers - t->next_unused);
}
