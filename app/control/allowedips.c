/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Allowed IPs: the authoritative record on the control side, and three kinds
 * of data-path structures that workers read lock-free.
 *
 * Why IPv6 non-host prefixes live in our own trie rather than rte_lpm6:
 * DPDK 22.11's rte_lpm6 has no RCU support and puts tbl8 groups freed by a
 * delete straight back into use, so a reader could follow a stale pointer
 * into another subtree and return another peer's id. The alternative,
 * rebuilding a fresh rte_lpm6 and swapping it in after every removal or move,
 * costs time proportional to all IPv6 prefixes (plus a 64 MiB tbl24 per
 * instance) for every change, against the design's "reload time proportional
 * to the change". The trie below is rte_lpm6's layout (16-bit first level,
 * then 8-bit groups of 256 four-byte entries, controlled prefix expansion)
 * with rte_lpm's RCU discipline: entries change by single 32-bit stores, a
 * new group is filled before it is linked, and an unlinked group goes to a
 * deferred queue and is reused only after a grace period. Every update costs
 * time proportional to the entries it rewrites.
 *
 * Host routes (/32, /128) are exact-match hashes consulted first: a host
 * route is always the longest match, and rte_lpm's rule table is a linear
 * scan per depth, which a million /32s would make quadratic.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_log.h>
#include <rte_lpm.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "control/allowedips.h"
#include "control/host4.h"
#include "control/peers.h"
#include "crypto/ct.h"

#define NAME_MAX_LEN 12
#define BULK_MAX 64	/* RTE_HASH_LOOKUP_BULK_MAX */

/* Trie entry: valid, ext (value is a group index), depth of the rule, value. */
#define E_VALID (1u << 31)
#define E_EXT (1u << 30)
#define E_DEPTH_SHIFT 22
#define E_VALUE_MASK ((1u << E_DEPTH_SHIFT) - 1)
#define L0_BITS 16
#define GROUP_SIZE 256

struct trie6 {
	uint32_t *l0;			/* 1 << L0_BITS entries */
	uint32_t *groups;		/* n_groups * GROUP_SIZE entries */
	uint32_t *free_groups;		/* stack of reusable group indices */
	/*
	 * Writer only: per group, the entry of the longest rule covering the
	 * whole group (or 0). Every entry below that came from such a rule holds
	 * this value, so an update by a shorter rule skips the subtree.
	 */
	uint32_t *inherit;
	uint32_t n_free;
	uint32_t n_groups;
	struct rte_rcu_qsbr_dq *dq;
};

/* One prefix of the authoritative record. Indices are 1-based, 0 is nil. */
struct node {
	uint8_t addr[16];
	uint8_t family;
	uint8_t len;
	uint32_t owner;
	uint32_t prev;
	uint32_t next;
};
#define NODE_KEY_LEN offsetof(struct node, owner)

struct wg_allowedips {
	/* Read by workers. */
	struct wg_host4 *host4;
	struct rte_hash *host6;
	struct rte_lpm *lpm4;
	struct trie6 v6;
	uint32_t default4;		/* owner of 0.0.0.0/0: rte_lpm has no depth 0 */
	uint32_t n_host4;		/* readers skip an empty hash */
	uint32_t n_host6;
	/* Writer only. */
	struct node *nodes;		/* [0] unused */
	uint32_t nodes_cap;
	uint32_t nodes_used;		/* high-water mark */
	uint32_t free_node;		/* list through next */
	uint32_t *slots;		/* open addressing, linear probing: node indices */
	uint32_t slot_mask;
	uint32_t count;
	uint32_t seed;
	uint32_t *heads;		/* peer id -> first node of its list */
};

/* ---- IPv6 trie ---- */

static inline bool
is_ext(uint32_t e)
{
	return (e & E_EXT) != 0;
}

static inline uint32_t
leaf(unsigned int depth, uint32_t nh)
{
	return E_VALID | (uint32_t)depth << E_DEPTH_SHIFT | nh;
}

static inline unsigned int
depth_of(uint32_t e)
{
	return (e >> E_DEPTH_SHIFT) & 0xff;
}

static inline uint32_t *
group(const struct trie6 *t, uint32_t e)
{
	return t->groups + (size_t)(e & E_VALUE_MASK) * GROUP_SIZE;
}

static inline void
set(uint32_t *p, uint32_t e)
{
	__atomic_store_n(p, e, __ATOMIC_RELEASE);
}

static inline uint32_t
trie_lookup(const struct trie6 *t, const uint8_t *a)
{
	uint32_t e = __atomic_load_n(&t->l0[a[0] << 8 | a[1]], __ATOMIC_ACQUIRE);
	unsigned int i = 2;

	while (is_ext(e) && i < 16)
		e = __atomic_load_n(&group(t, e)[a[i++]], __ATOMIC_ACQUIRE);
	if ((e & (E_VALID | E_EXT)) != E_VALID)
		return WG_ALLOWEDIPS_NO_PEER;
	return e & E_VALUE_MASK;
}

static void
trie_dq_free(void *p, void *e, unsigned int n)
{
	struct trie6 *t = p;
	uint32_t *g = e;
	unsigned int i;

	for (i = 0; i < n; i++)
		t->free_groups[t->n_free++] = g[i];
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
trie_create(struct trie6 *t, const char *name, uint32_t n_groups, struct rte_rcu_qsbr *rcu,
	int socket_id)
{
	char dq_name[RTE_RCU_QSBR_DQ_NAMESIZE];
	struct rte_rcu_qsbr_dq_parameters dp = {
		.name = dq_name,
		.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE,
		.size = n_groups,	/* a group is pending at most once */
		.esize = sizeof(uint32_t),
		.trigger_reclaim_limit = 64,
		.max_reclaim_size = 64,
		.free_fn = trie_dq_free,
		.p = t,
		.v = rcu,
	};
	uint32_t i;

	if (n_groups == 0 || n_groups > E_VALUE_MASK + 1)
		return -EINVAL;
	t->n_groups = n_groups;
	t->l0 = rte_zmalloc_socket(name, sizeof(uint32_t) << L0_BITS, RTE_CACHE_LINE_SIZE,
		socket_id);
	t->groups = rte_malloc_socket(name, (size_t)n_groups * GROUP_SIZE * sizeof(uint32_t),
		RTE_CACHE_LINE_SIZE, socket_id);
	t->free_groups = malloc((size_t)n_groups * sizeof(uint32_t));
	t->inherit = malloc((size_t)n_groups * sizeof(uint32_t));
	if (t->l0 == NULL || t->groups == NULL || t->free_groups == NULL || t->inherit == NULL)
		return -ENOMEM;
	/* Hand out low indices first. */
	for (i = 0; i < n_groups; i++)
		t->free_groups[i] = n_groups - 1 - i;
	t->n_free = n_groups;
	snprintf(dq_name, sizeof(dq_name), "%s_t6", name);
	rte_errno = 0;
	t->dq = rte_rcu_qsbr_dq_create(&dp);
	return t->dq == NULL ? dpdk_error() : 0;
}

static void
trie_free(struct trie6 *t)
{
	if (t->dq != NULL && rte_rcu_qsbr_dq_delete(t->dq) != 0)
		RTE_LOG(WARNING, USER1, "allowedips: readers still online at free\n");
	rte_free(t->l0);
	rte_free(t->groups);
	free(t->free_groups);
	free(t->inherit);
}

/* Groups an insert of a/depth would allocate. */
static uint32_t
trie_groups_needed(const struct trie6 *t, const uint8_t *a, unsigned int depth)
{
	unsigned int start = 0, bits = L0_BITS;
	uint32_t e = t->l0[a[0] << 8 | a[1]];
	uint32_t n = 0;

	while (depth > start + bits) {
		start += bits;
		bits = 8;
		if (is_ext(e))
			e = group(t, e)[a[start / 8]];
		else
			n++;
	}
	return n;
}

/* Overwrite every entry under *p that holds a rule no longer than depth. */
static void
trie_set_entry(struct trie6 *t, uint32_t *p, unsigned int depth, uint32_t nh)
{
	uint32_t e = *p, *in;
	unsigned int i;

	if (is_ext(e)) {
		in = &t->inherit[e & E_VALUE_MASK];
		if ((*in & E_VALID) != 0 && depth_of(*in) > depth)
			return;	/* a longer rule covers this whole group */
		*in = leaf(depth, nh);
		for (i = 0; i < GROUP_SIZE; i++)
			trie_set_entry(t, &group(t, e)[i], depth, nh);
	} else if ((e & E_VALID) == 0 || depth_of(e) <= depth) {
		set(p, leaf(depth, nh));
	}
}

static int
trie_add(struct trie6 *t, const uint8_t *a, unsigned int depth, uint32_t nh)
{
	unsigned int start = 0, bits = L0_BITS;
	uint32_t *tbl = t->l0, idx = a[0] << 8 | a[1];
	uint32_t need, g, e, span, first, i;

	need = trie_groups_needed(t, a, depth);
	if (need > t->n_free)
		rte_rcu_qsbr_dq_reclaim(t->dq, ~0u, NULL, NULL, NULL);
	if (need > t->n_free)
		return -ENOSPC;
	while (depth > start + bits) {
		e = tbl[idx];
		if (!is_ext(e)) {
			/* Fill the new group before readers can reach it. */
			g = t->free_groups[--t->n_free];
			for (i = 0; i < GROUP_SIZE; i++)
				t->groups[(size_t)g * GROUP_SIZE + i] = e;
			t->inherit[g] = e;
			e = E_VALID | E_EXT | g;
			set(&tbl[idx], e);
		}
		tbl = group(t, e);
		start += bits;
		bits = 8;
		idx = a[start / 8];
	}
	span = 1u << (start + bits - depth);
	first = idx & ~(span - 1);
	for (i = first; i < first + span; i++)
		trie_set_entry(t, &tbl[i], depth, nh);
	return 0;
}

/* Replace the group under *p by a plain entry when all its entries are equal. */
static void
trie_try_collapse(struct trie6 *t, uint32_t *p)
{
	uint32_t e = *p, g, *c, i;

	if (!is_ext(e))
		return;
	c = group(t, e);
	if (is_ext(c[0]))
		return;
	for (i = 1; i < GROUP_SIZE; i++)
		if (c[i] != c[0])
			return;
	set(p, c[0]);
	g = e & E_VALUE_MASK;
	/* Cannot fail: the queue has room for every group. Never reuse early. */
	if (rte_rcu_qsbr_dq_enqueue(t->dq, &g) != 0)
		RTE_LOG(ERR, USER1, "allowedips: trie deferred queue full, group leaked\n");
}

static void
trie_clear_entry(struct trie6 *t, uint32_t *p, unsigned int depth, uint32_t repl)
{
	uint32_t e = *p, *in;
	unsigned int i;

	if (is_ext(e)) {
		in = &t->inherit[e & E_VALUE_MASK];
		if ((*in & E_VALID) == 0 || depth_of(*in) != depth)
			return;	/* the rule is not below: a longer one shadows it */
		*in = repl;
		for (i = 0; i < GROUP_SIZE; i++)
			trie_clear_entry(t, &group(t, e)[i], depth, repl);
		trie_try_collapse(t, p);
	} else if ((e & E_VALID) != 0 && depth_of(e) == depth) {
		set(p, repl);
	}
}

/* Remove rule a/depth; repl is the entry of the longest shorter covering rule, or 0. */
static void
trie_del(struct trie6 *t, const uint8_t *a, unsigned int depth, uint32_t repl)
{
	unsigned int start = 0, bits = L0_BITS, n = 0;
	uint32_t *tbl = t->l0, idx = a[0] << 8 | a[1];
	uint32_t *path[16], span, first, i;

	while (depth > start + bits) {
		if (!is_ext(tbl[idx]))
			return;	/* not present: nothing to do */
		path[n++] = &tbl[idx];
		tbl = group(t, tbl[idx]);
		start += bits;
		bits = 8;
		idx = a[start / 8];
	}
	span = 1u << (start + bits - depth);
	first = idx & ~(span - 1);
	for (i = first; i < first + span; i++)
		trie_clear_entry(t, &tbl[i], depth, repl);
	while (n-- > 0)
		trie_try_collapse(t, path[n]);
}

/* ---- the authoritative record ---- */

static uint32_t
node_hash(const struct wg_allowedips *t, const struct node *k)
{
	return rte_hash_crc(k, NODE_KEY_LEN, t->seed);
}

static uint32_t
map_find(const struct wg_allowedips *t, const struct node *k)
{
	uint32_t i = node_hash(t, k) & t->slot_mask, n;

	while ((n = t->slots[i]) != 0) {
		if (memcmp(&t->nodes[n], k, NODE_KEY_LEN) == 0)
			return n;
		i = (i + 1) & t->slot_mask;
	}
	return 0;
}

static void
map_put(struct wg_allowedips *t, uint32_t n)
{
	uint32_t i = node_hash(t, &t->nodes[n]) & t->slot_mask;

	while (t->slots[i] != 0)
		i = (i + 1) & t->slot_mask;
	t->slots[i] = n;
}

/* Linear probing deletion by backward shift: no tombstones. */
static void
map_del(struct wg_allowedips *t, uint32_t n)
{
	uint32_t i = node_hash(t, &t->nodes[n]) & t->slot_mask, j, home, m;

	while (t->slots[i] != n)
		i = (i + 1) & t->slot_mask;
	j = i;
	for (;;) {
		t->slots[i] = 0;
		do {
			j = (j + 1) & t->slot_mask;
			m = t->slots[j];
			if (m == 0)
				return;
			home = node_hash(t, &t->nodes[m]) & t->slot_mask;
			/* m may move to i only if i lies cyclically in [home, j). */
		} while (i <= j ? (home > i && home <= j) : (home > i || home <= j));
		t->slots[i] = m;
		i = j;
	}
}

static int
map_grow(struct wg_allowedips *t)
{
	uint32_t *old = t->slots, old_mask = t->slot_mask, i;
	uint32_t size = (old_mask + 1) * 2;

	t->slots = calloc(size, sizeof(*t->slots));
	if (t->slots == NULL) {
		t->slots = old;
		return -ENOMEM;
	}
	t->slot_mask = size - 1;
	for (i = 0; i <= old_mask; i++)
		if (old[i] != 0)
			map_put(t, old[i]);
	free(old);
	return 0;
}

/* Make room for one more node before the data path is touched. */
static int
reserve(struct wg_allowedips *t)
{
	struct node *nodes;
	uint32_t cap;

	if ((uint64_t)(t->count + 1) * 2 > t->slot_mask + 1 && map_grow(t) != 0)
		return -ENOMEM;
	if (t->free_node != 0 || t->nodes_used + 1 < t->nodes_cap)
		return 0;
	cap = t->nodes_cap * 2;
	nodes = realloc(t->nodes, (size_t)cap * sizeof(*nodes));
	if (nodes == NULL)
		return -ENOMEM;
	t->nodes = nodes;
	t->nodes_cap = cap;
	return 0;
}

static uint32_t
node_alloc(struct wg_allowedips *t)
{
	uint32_t n = t->free_node;

	if (n != 0)
		t->free_node = t->nodes[n].next;
	else
		n = ++t->nodes_used;
	return n;
}

static void
list_link(struct wg_allowedips *t, uint32_t n)
{
	struct node *x = &t->nodes[n];

	x->prev = 0;
	x->next = t->heads[x->owner];
	if (x->next != 0)
		t->nodes[x->next].prev = n;
	t->heads[x->owner] = n;
}

static void
list_unlink(struct wg_allowedips *t, uint32_t n)
{
	struct node *x = &t->nodes[n];

	if (x->prev != 0)
		t->nodes[x->prev].next = x->next;
	else
		t->heads[x->owner] = x->next;
	if (x->next != 0)
		t->nodes[x->next].prev = x->prev;
}

static void
mask_addr(uint8_t *addr, unsigned int len, unsigned int size)
{
	unsigned int i;

	for (i = len / 8; i < size; i++)
		addr[i] &= i == len / 8 ? (uint8_t)(0xff00 >> (len % 8)) : 0;
}

/* Validate and normalise a prefix into a record key. */
static int
make_key(const struct wg_prefix *p, struct node *k)
{
	unsigned int size;

	if (p == NULL)
		return -EINVAL;
	if (p->family == AF_INET)
		size = 4;
	else if (p->family == AF_INET6)
		size = 16;
	else
		return -EINVAL;
	if (p->len > size * 8)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, p->addr, size);
	mask_addr(k->addr, p->len, size);
	k->family = p->family;
	k->len = p->len;
	return 0;
}

/* ---- data-path updates ---- */

static uint32_t
ip4_host_order(const struct node *k)
{
	uint32_t be;

	memcpy(&be, k->addr, 4);
	return rte_be_to_cpu_32(be);
}

static int
dp_set(struct wg_allowedips *t, const struct node *k, uint32_t peer_id, bool exists)
{
	void *data = (void *)(uintptr_t)peer_id;
	uint32_t be;
	int ret;

	if (k->family == AF_INET && k->len == 32) {
		memcpy(&be, k->addr, 4);
		ret = wg_host4_set(t->host4, be, peer_id);
		if (ret == 0 && !exists)
			__atomic_store_n(&t->n_host4, t->n_host4 + 1, __ATOMIC_RELEASE);
		return ret;
	}
	if (k->family == AF_INET && k->len == 0) {
		__atomic_store_n(&t->default4, peer_id, __ATOMIC_RELEASE);
		return 0;
	}
	if (k->family == AF_INET)
		return rte_lpm_add(t->lpm4, ip4_host_order(k), k->len, peer_id);
	if (k->len == 128) {
		ret = rte_hash_add_key_data(t->host6, k->addr, data);
		if (ret == 0 && !exists)
			__atomic_store_n(&t->n_host6, t->n_host6 + 1, __ATOMIC_RELEASE);
		return ret;
	}
	return trie_add(&t->v6, k->addr, k->len, peer_id);
}

/* The trie entry of the longest recorded IPv6 prefix strictly covering k. */
static uint32_t
v6_replacement(const struct wg_allowedips *t, const struct node *k)
{
	struct node c = *k;
	uint32_t n;
	int len;

	for (len = k->len - 1; len >= 0; len--) {
		c.len = len;
		mask_addr(c.addr, len, 16);
		n = map_find(t, &c);
		if (n != 0)
			return leaf(len, t->nodes[n].owner);
	}
	return 0;
}

static void
dp_del(struct wg_allowedips *t, const struct node *k)
{
	uint32_t be;

	if (k->family == AF_INET && k->len == 32) {
		memcpy(&be, k->addr, 4);
		wg_host4_del(t->host4, be);
		__atomic_store_n(&t->n_host4, t->n_host4 - 1, __ATOMIC_RELEASE);
	} else if (k->family == AF_INET && k->len == 0) {
		__atomic_store_n(&t->default4, WG_ALLOWEDIPS_NO_PEER, __ATOMIC_RELEASE);
	} else if (k->family == AF_INET) {
		rte_lpm_delete(t->lpm4, ip4_host_order(k), k->len);
	} else if (k->len == 128) {
		rte_hash_del_key(t->host6, k->addr);
		__atomic_store_n(&t->n_host6, t->n_host6 - 1, __ATOMIC_RELEASE);
	} else {
		trie_del(&t->v6, k->addr, k->len, v6_replacement(t, k));
	}
}

/* ---- creation ---- */

static struct rte_hash *
host_hash_create(const char *base, const char *suffix, uint32_t entries, uint32_t key_len,
	const struct wg_allowedips_params *params)
{
	struct rte_hash_rcu_config rcfg = {
		.v = params->rcu,
		.mode = RTE_HASH_QSBR_MODE_DQ,
		.trigger_reclaim_limit = 64,
		.max_reclaim_size = 64,
	};
	struct rte_hash_parameters hp = {
		.entries = RTE_MAX(entries, 8u),
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.hash_func_init_val = wg_random_u32(),
		.socket_id = params->socket_id,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash *h;

	snprintf(name, sizeof(name), "%s_%s", base, suffix);
	hp.name = name;
	rte_errno = 0;
	h = rte_hash_create(&hp);
	if (h == NULL) {
		rte_errno = -dpdk_error();
		return NULL;
	}
	rte_errno = 0;
	if (rte_hash_rcu_qsbr_add(h, &rcfg) != 0) {
		int e = -dpdk_error();

		rte_hash_free(h);
		rte_errno = e;
		return NULL;
	}
	return h;
}

static int
lpm4_create(struct wg_allowedips *t, const struct wg_allowedips_params *params)
{
	struct rte_lpm_config cfg = {
		.max_rules = params->v4_rules ? params->v4_rules : 1u << 20,
		.number_tbl8s = params->v4_tbl8s ? params->v4_tbl8s : 1u << 16,
	};
	struct rte_lpm_rcu_config rcfg = {
		.v = params->rcu,
		.mode = RTE_LPM_QSBR_MODE_DQ,
	};
	char name[RTE_LPM_NAMESIZE];

	snprintf(name, sizeof(name), "%s_l4", params->name);
	rte_errno = 0;
	t->lpm4 = rte_lpm_create(name, params->socket_id, &cfg);
	if (t->lpm4 == NULL)
		return dpdk_error();
	rte_errno = 0;
	if (rte_lpm_rcu_qsbr_add(t->lpm4, &rcfg) != 0)
		return dpdk_error();
	return 0;
}

struct wg_allowedips *
wg_allowedips_create(const struct wg_allowedips_params *params)
{
	char h4_name[RTE_RCU_QSBR_DQ_NAMESIZE];
	struct wg_allowedips *t;
	int ret = -ENOMEM;

	if (params == NULL || params->name == NULL || params->rcu == NULL ||
			strlen(params->name) > NAME_MAX_LEN) {
		rte_errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto err;
	t->seed = wg_random_u32();
	t->default4 = WG_ALLOWEDIPS_NO_PEER;
	t->nodes_cap = 1024;
	t->nodes = calloc(t->nodes_cap, sizeof(*t->nodes));
	t->slot_mask = 1024 - 1;
	t->slots = calloc(t->slot_mask + 1, sizeof(*t->slots));
	/* 8 MiB of address space; pages are touched only for ids in use. */
	t->heads = calloc(WG_PEERS_MAX_ID, sizeof(*t->heads));
	if (t->nodes == NULL || t->slots == NULL || t->heads == NULL)
		goto err;
	ret = lpm4_create(t, params);
	if (ret != 0)
		goto err;
	ret = trie_create(&t->v6, params->name, params->v6_groups ? params->v6_groups : 1u << 16,
		params->rcu, params->socket_id);
	if (ret != 0)
		goto err;
	snprintf(h4_name, sizeof(h4_name), "%s_h4", params->name);
	t->host4 = wg_host4_create(h4_name, params->v4_hosts ? params->v4_hosts : 1u << 20,
		params->rcu, params->socket_id);
	/* Each checked at once: a later create would overwrite rte_errno. */
	if (t->host4 == NULL) {
		ret = -rte_errno;
		goto err;
	}
	t->host6 = host_hash_create(params->name, "h6",
		params->v6_hosts ? params->v6_hosts : 1u << 20, 16, params);
	if (t->host6 == NULL) {
		ret = -rte_errno;
		goto err;
	}
	return t;
err:
	wg_allowedips_free(t);
	rte_errno = ret < 0 ? -ret : ENOMEM;
	return NULL;
}

void
wg_allowedips_free(struct wg_allowedips *t)
{
	if (t == NULL)
		return;
	wg_host4_free(t->host4);
	rte_hash_free(t->host6);
	rte_lpm_free(t->lpm4);
	trie_free(&t->v6);
	free(t->heads);
	free(t->slots);
	free(t->nodes);
	free(t);
}

/* ---- writer API ---- */

int
wg_allowedips_insert(struct wg_allowedips *t, uint32_t peer_id, const struct wg_prefix *prefix)
{
	struct node k;
	uint32_t n;
	int ret;

	ret = make_key(prefix, &k);
	if (ret != 0 || peer_id >= WG_PEERS_MAX_ID)
		return -EINVAL;
	n = map_find(t, &k);
	if (n != 0) {
		if (t->nodes[n].owner == peer_id)
			return 0;
		/* Move: the data path switches owner in place, never unrouted. */
		ret = dp_set(t, &k, peer_id, true);
		if (ret != 0)
			return ret;
		list_unlink(t, n);
		t->nodes[n].owner = peer_id;
		list_link(t, n);
		return 0;
	}
	ret = reserve(t);
	if (ret != 0)
		return ret;
	ret = dp_set(t, &k, peer_id, false);
	if (ret != 0)
		return ret;
	n = node_alloc(t);
	t->nodes[n] = k;
	t->nodes[n].owner = peer_id;
	map_put(t, n);
	list_link(t, n);
	t->count++;
	return 0;
}

static void
remove_node(struct wg_allowedips *t, uint32_t n)
{
	struct node k = t->nodes[n];

	/* Unrecord first: the IPv6 replacement search must not find k itself. */
	map_del(t, n);
	list_unlink(t, n);
	t->nodes[n].next = t->free_node;
	t->free_node = n;
	t->count--;
	dp_del(t, &k);
}

int
wg_allowedips_remove(struct wg_allowedips *t, const struct wg_prefix *prefix)
{
	struct node k;
	uint32_t n;
	int ret;

	ret = make_key(prefix, &k);
	if (ret != 0)
		return ret;
	n = map_find(t, &k);
	if (n == 0)
		return -ENOENT;
	remove_node(t, n);
	return 0;
}

int
wg_allowedips_remove_peer(struct wg_allowedips *t, uint32_t peer_id)
{
	int removed = 0;

	if (peer_id >= WG_PEERS_MAX_ID)
		return -EINVAL;
	while (t->heads[peer_id] != 0) {
		remove_node(t, t->heads[peer_id]);
		removed++;
	}
	return removed;
}

int
wg_allowedips_list(const struct wg_allowedips *t, uint32_t peer_id, wg_allowedips_cb cb,
	void *arg)
{
	struct wg_prefix p;
	uint32_t n;
	int ret;

	if (peer_id >= WG_PEERS_MAX_ID)
		return -EINVAL;
	for (n = t->heads[peer_id]; n != 0; n = t->nodes[n].next) {
		memset(&p, 0, sizeof(p));
		p.family = t->nodes[n].family;
		p.len = t->nodes[n].len;
		memcpy(p.addr, t->nodes[n].addr, sizeof(p.addr));
		ret = cb(&p, arg);
		if (ret != 0)
			return ret;
	}
	return 0;
}

uint32_t
wg_allowedips_owner(const struct wg_allowedips *t, const struct wg_prefix *prefix)
{
	struct node k;
	uint32_t n;

	if (make_key(prefix, &k) != 0)
		return WG_ALLOWEDIPS_NO_PEER;
	n = map_find(t, &k);
	return n == 0 ? WG_ALLOWEDIPS_NO_PEER : t->nodes[n].owner;
}

uint32_t
wg_allowedips_count(const struct wg_allowedips *t)
{
	return t->count;
}

void
wg_allowedips_reclaim(struct wg_allowedips *t)
{
	rte_rcu_qsbr_dq_reclaim(t->v6.dq, ~0u, NULL, NULL, NULL);
	wg_host4_reclaim(t->host4);
}

/* ---- reader API ---- */

uint32_t
wg_allowedips_lookup4(const struct wg_allowedips *t, uint32_t addr_be)
{
	uint32_t nh;

	if (__atomic_load_n(&t->n_host4, __ATOMIC_ACQUIRE) != 0 &&
			wg_host4_lookup(t->host4, addr_be, &nh))
		return nh;
	if (rte_lpm_lookup(t->lpm4, rte_be_to_cpu_32(addr_be), &nh) == 0)
		return nh;
	return __atomic_load_n(&t->default4, __ATOMIC_ACQUIRE);
}

uint32_t
wg_allowedips_lookup6(const struct wg_allowedips *t, const uint8_t addr[16])
{
	void *data;

	if (__atomic_load_n(&t->n_host6, __ATOMIC_ACQUIRE) != 0 &&
			rte_hash_lookup_data(t->host6, addr, &data) >= 0)
		return (uint32_t)(uintptr_t)data;
	return trie_lookup(&t->v6, addr);
}

/* Exact-match pass over up to BULK_MAX keys: fills hits, returns the hit mask. */
static uint64_t
host_bulk(const struct rte_hash *h, const uint32_t *n_hosts, const void **keys,
	uint32_t *peer_ids, unsigned int n)
{
	void *data[BULK_MAX];
	uint64_t hits = 0, m;

	if (__atomic_load_n(n_hosts, __ATOMIC_ACQUIRE) == 0)
		return 0;
	rte_hash_lookup_bulk_data(h, keys, n, &hits, data);
	for (m = hits; m != 0; m &= m - 1)
		peer_ids[__builtin_ctzll(m)] = (uint32_t)(uintptr_t)data[__builtin_ctzll(m)];
	return hits;
}

static void
lookup4_chunk(const struct wg_allowedips *t, const uint32_t *addrs_be, uint32_t *peer_ids,
	unsigned int n)
{
	uint32_t ips[BULK_MAX], res[BULK_MAX];
	uint8_t miss[BULK_MAX];
	unsigned int i, m = 0;
	uint32_t dflt;
	uint64_t hits = 0;

	if (__atomic_load_n(&t->n_host4, __ATOMIC_ACQUIRE) != 0)
		hits = wg_host4_lookup_bulk(t->host4, addrs_be, peer_ids, n);
	for (i = 0; i < n; i++) {
		if ((hits >> i & 1) == 0) {
			miss[m] = i;
			ips[m++] = rte_be_to_cpu_32(addrs_be[i]);
		}
	}
	if (m == 0)
		return;
	rte_lpm_lookup_bulk(t->lpm4, ips, res, m);
	dflt = __atomic_load_n(&t->default4, __ATOMIC_ACQUIRE);
	for (i = 0; i < m; i++)
		peer_ids[miss[i]] = (res[i] & RTE_LPM_LOOKUP_SUCCESS) != 0 ?
			res[i] & 0x00ffffff : dflt;
}

void
wg_allowedips_lookup4_bulk(const struct wg_allowedips *t, const uint32_t *addrs_be,
	uint32_t *peer_ids, unsigned int n)
{
	unsigned int i, c;

	for (i = 0; i < n; i += c) {
		c = RTE_MIN(n - i, (unsigned int)BULK_MAX);
		lookup4_chunk(t, addrs_be + i, peer_ids + i, c);
	}
}

void
wg_allowedips_lookup6_bulk(const struct wg_allowedips *t, const uint8_t (*addrs)[16],
	uint32_t *peer_ids, unsigned int n)
{
	const void *keys[BULK_MAX];
	unsigned int i, j, c;
	uint64_t hits;

	for (i = 0; i < n; i += c) {
		c = RTE_MIN(n - i, (unsigned int)BULK_MAX);
		for (j = 0; j < c; j++)
			keys[j] = addrs[i + j];
		hits = host_bulk(t->host6, &t->n_host6, keys, peer_ids + i, c);
		for (j = 0; j < c; j++)
			if ((hits >> j & 1) == 0)
				peer_ids[i + j] = trie_lookup(&t->v6, addrs[i + j]);
	}
}
