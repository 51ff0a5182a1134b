/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Allowed IPs: fixed edge cases, a differential test against a deliberately
 * naive reference (flat lists, linear scan for the longest match), table
 * exhaustion, and lock-free readers racing the writer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "control/allowedips.h"
#include "control/peers.h"

#define NONE WG_ALLOWEDIPS_NO_PEER

static struct rte_rcu_qsbr *rcu;
static unsigned int table_no;
static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* xorshift64*: reproducible from the printed seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned int
rndn(unsigned int n)
{
	return (unsigned int)(rnd() >> 33) % n;
}

static struct wg_allowedips *
make_table(struct wg_allowedips_params *p)
{
	struct wg_allowedips *t;
	char name[16];

	snprintf(name, sizeof(name), "ta%u", table_no++);
	p->name = name;
	p->rcu = rcu;
	t = wg_allowedips_create(p);
	assert_non_null(t);
	return t;
}

static struct wg_prefix
pfx(const char *s, unsigned int len)
{
	struct wg_prefix p;

	memset(&p, 0, sizeof(p));
	p.len = len;
	if (inet_pton(AF_INET, s, p.addr) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, s, p.addr) == 1)
		p.family = AF_INET6;
	else
		fail_msg("bad address %s", s);
	return p;
}

/* Single and bulk lookups must agree; returns the answer. */
static uint32_t
look(const struct wg_allowedips *t, const char *s)
{
	struct wg_prefix p = pfx(s, 0);
	uint32_t one, bulk[3], be, a4[3];
	uint8_t a6[3][16];

	if (p.family == AF_INET) {
		memcpy(&be, p.addr, 4);
		one = wg_allowedips_lookup4(t, be);
		a4[0] = a4[2] = 0;
		a4[1] = be;
		wg_allowedips_lookup4_bulk(t, a4, bulk, 3);
		assert_int_equal(bulk[0], wg_allowedips_lookup4(t, 0));
	} else {
		one = wg_allowedips_lookup6(t, p.addr);
		memset(a6, 0, sizeof(a6));
		memcpy(a6[1], p.addr, 16);
		wg_allowedips_lookup6_bulk(t, (const uint8_t (*)[16])a6, bulk, 3);
		assert_int_equal(bulk[0], wg_allowedips_lookup6(t, a6[0]));
	}
	assert_int_equal(one, bulk[1]);
	assert_int_equal(bulk[0], bulk[2]);
	return one;
}

static int
ins(struct wg_allowedips *t, uint32_t peer, const char *s, unsigned int len)
{
	struct wg_prefix p = pfx(s, len);

	return wg_allowedips_insert(t, peer, &p);
}

static int
del(struct wg_allowedips *t, const char *s, unsigned int len)
{
	struct wg_prefix p = pfx(s, len);

	return wg_allowedips_remove(t, &p);
}

static int
collect(const struct wg_prefix *p, void *arg)
{
	char *out = arg, buf[INET6_ADDRSTRLEN];

	inet_ntop(p->family, p->addr, buf, sizeof(buf));
	sprintf(out + strlen(out), "%s/%u ", buf, p->len);
	return 0;
}

static const char *
listing(const struct wg_allowedips *t, uint32_t peer)
{
	static char out[4096];

	out[0] = 0;
	assert_int_equal(wg_allowedips_list(t, peer, collect, out), 0);
	return out;
}

static void
test_edge_cases(void **state)
{
	struct wg_allowedips_params params = { .v4_tbl8s = 64, .v6_groups = 256, .v4_rules = 256,
		.v4_hosts = 64, .v6_hosts = 64 };
	struct wg_allowedips *t = make_table(&params);
	struct wg_prefix bad;

	(void)state;
	assert_int_equal(look(t, "1.2.3.4"), NONE);
	assert_int_equal(look(t, "::1"), NONE);

	assert_int_equal(ins(t, 1, "0.0.0.0", 0), 0);
	assert_int_equal(look(t, "1.2.3.4"), 1);
	assert_int_equal(look(t, "255.255.255.255"), 1);
	assert_int_equal(look(t, "::"), NONE);	/* families are independent */
	assert_int_equal(ins(t, 2, "::", 0), 0);
	assert_int_equal(look(t, "ffff::1"), 2);
	assert_int_equal(look(t, "0.0.0.0"), 1);

	/* Different lengths, different peers; longest wins. */
	assert_int_equal(ins(t, 3, "10.0.0.0", 8), 0);
	assert_int_equal(ins(t, 4, "10.1.0.0", 16), 0);
	assert_int_equal(look(t, "10.1.2.3"), 4);
	assert_int_equal(look(t, "10.2.0.0"), 3);
	assert_int_equal(look(t, "11.0.0.0"), 1);
	assert_int_equal(ins(t, 5, "10.1.2.3", 32), 0);
	assert_int_equal(look(t, "10.1.2.3"), 5);
	assert_int_equal(look(t, "10.1.2.4"), 4);
	assert_int_equal(ins(t, 6, "10.1.2.0", 31), 0);
	assert_int_equal(look(t, "10.1.2.1"), 6);
	assert_int_equal(look(t, "10.1.2.2"), 4);

	/* Host bits masked on insert, on remove and in the listing. */
	assert_int_equal(ins(t, 7, "192.168.1.77", 24), 0);
	assert_int_equal(look(t, "192.168.1.200"), 7);
	assert_int_equal(wg_allowedips_owner(t, &(struct wg_prefix){ 0 }), NONE);
	bad = pfx("192.168.1.0", 24);
	assert_int_equal(wg_allowedips_owner(t, &bad), 7);
	assert_string_equal(listing(t, 7), "192.168.1.0/24 ");
	assert_int_equal(ins(t, 7, "192.168.1.1", 24), 0);	/* same prefix, same peer */
	assert_int_equal(wg_allowedips_count(t), 7);

	/* Move: same masked prefix for another peer. */
	assert_int_equal(ins(t, 8, "10.255.255.255", 8), 0);
	assert_int_equal(look(t, "10.2.0.0"), 8);
	assert_string_equal(listing(t, 3), "");
	assert_string_equal(listing(t, 8), "10.0.0.0/8 ");
	assert_int_equal(wg_allowedips_count(t), 7);
	assert_int_equal(ins(t, 8, "10.1.2.3", 32), 0);
	assert_int_equal(look(t, "10.1.2.3"), 8);
	assert_string_equal(listing(t, 8), "10.1.2.3/32 10.0.0.0/8 ");
	assert_string_equal(listing(t, 5), "");

	/* Removal falls back to the next covering prefix. */
	assert_int_equal(del(t, "10.1.99.99", 16), 0);
	assert_int_equal(del(t, "10.1.0.0", 16), -ENOENT);
	assert_int_equal(look(t, "10.1.9.9"), 8);
	assert_int_equal(look(t, "10.1.2.2"), 8);
	assert_int_equal(look(t, "10.1.2.1"), 6);
	assert_int_equal(del(t, "10.1.2.3", 32), 0);
	assert_int_equal(look(t, "10.1.2.3"), 8);
	assert_int_equal(del(t, "0.0.0.0", 0), 0);
	assert_int_equal(look(t, "11.0.0.0"), NONE);

	/* IPv6: nested prefixes, host routes, deep prefixes. */
	assert_int_equal(ins(t, 9, "fd00::", 8), 0);
	assert_int_equal(ins(t, 10, "fd00:1::", 32), 0);
	assert_int_equal(ins(t, 11, "fd00:1::1", 128), 0);
	assert_int_equal(ins(t, 12, "fd00:1::", 64), 0);
	assert_int_equal(ins(t, 13, "2001:db8::", 127), 0);
	assert_int_equal(ins(t, 14, "fd00:1::ff00", 120), 0);
	assert_int_equal(look(t, "fd00:1::1"), 11);
	assert_int_equal(look(t, "fd00:1::2"), 12);
	assert_int_equal(look(t, "fd00:1::ff42"), 14);
	assert_int_equal(look(t, "fd00:1:0:1::"), 10);
	assert_int_equal(look(t, "fd00:2::"), 9);
	assert_int_equal(look(t, "fe00::"), 2);
	assert_int_equal(look(t, "2001:db8::1"), 13);
	assert_int_equal(look(t, "2001:db8::2"), 2);
	assert_int_equal(wg_allowedips_remove_peer(t, 10), 1);
	assert_int_equal(look(t, "fd00:1:0:1::"), 9);
	assert_int_equal(look(t, "fd00:1::2"), 12);
	assert_int_equal(del(t, "fd00:1::", 64), 0);
	assert_int_equal(look(t, "fd00:1::2"), 9);
	assert_int_equal(look(t, "fd00:1::ff01"), 14);
	assert_int_equal(look(t, "fd00:1::1"), 11);
	assert_int_equal(ins(t, 14, "fd00:1::1", 128), 0);	/* move a /128 */
	assert_int_equal(look(t, "fd00:1::1"), 14);
	assert_string_equal(listing(t, 14), "fd00:1::1/128 fd00:1::ff00/120 ");
	assert_int_equal(wg_allowedips_remove_peer(t, 14), 2);
	assert_int_equal(look(t, "fd00:1::1"), 9);
	assert_int_equal(look(t, "fd00:1::ff01"), 9);
	assert_int_equal(wg_allowedips_remove_peer(t, 14), 0);

	/* Invalid input. */
	bad = pfx("10.0.0.0", 33);
	assert_int_equal(wg_allowedips_insert(t, 1, &bad), -EINVAL);
	bad = pfx("::", 129);
	assert_int_equal(wg_allowedips_insert(t, 1, &bad), -EINVAL);
	bad.family = 0;
	bad.len = 0;
	assert_int_equal(wg_allowedips_insert(t, 1, &bad), -EINVAL);
	assert_int_equal(wg_allowedips_remove(t, &bad), -EINVAL);
	assert_int_equal(ins(t, WG_PEERS_MAX_ID, "10.0.0.0", 8), -EINVAL);
	assert_int_equal(ins(t, WG_PEERS_MAX_ID - 1, "10.0.0.0", 8), 0);
	assert_int_equal(look(t, "10.9.9.9"), WG_PEERS_MAX_ID - 1);
	assert_int_equal(ins(t, WG_PEERS_MAX_ID - 1, "fd00:1::", 112), 0);
	assert_int_equal(look(t, "fd00:1::9"), WG_PEERS_MAX_ID - 1);
	wg_allowedips_free(t);
}

/* ---- the naive reference ---- */

/*
 * Flat arrays scanned linearly for the longest match. An open-addressing
 * index (prefix -> position) only finds an exact prefix for the bookkeeping,
 * so that the reference can hold 100,000+ prefixes; it answers no lookup.
 */
struct ref_entry {
	struct wg_prefix p;	/* masked */
	uint32_t owner;
	uint64_t a[2];		/* p.addr as two big-endian words */
	uint64_t m[2];		/* the prefix mask, the same way */
};

enum { REF_SLOTS = 1 << 19, REF_EMPTY = UINT32_MAX };

struct ref {
	struct ref_entry *e;
	size_t n;
	size_t cap;
	uint32_t *slot;		/* REF_SLOTS positions in e, or REF_EMPTY */
};

static void
naive_mask(struct wg_prefix *p)
{
	unsigned int bit, size = p->family == AF_INET ? 32 : 128;

	for (bit = p->len; bit < size; bit++)
		p->addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

static bool
naive_covers(const struct wg_prefix *p, const uint8_t *addr)
{
	unsigned int bit;

	for (bit = 0; bit < p->len; bit++)
		if (((p->addr[bit / 8] ^ addr[bit / 8]) & (0x80 >> (bit % 8))) != 0)
			return false;
	return true;
}

static void
words(const uint8_t *addr, uint64_t w[2])
{
	unsigned int i;

	w[0] = w[1] = 0;
	for (i = 0; i < 16; i++)
		w[i / 8] = w[i / 8] << 8 | addr[i];
}

static uint32_t
ref_hash(const struct wg_prefix *p)
{
	uint32_t h = 2166136261u ^ p->len;
	unsigned int i;

	for (i = 0; i < 16; i++)
		h = (h ^ p->addr[i]) * 16777619u;
	return h & (REF_SLOTS - 1);
}

static bool
ref_same(const struct wg_prefix *a, const struct wg_prefix *b)
{
	return a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

/* The slot holding q (masked), or the empty slot where it would go. */
static uint32_t
ref_slot(const struct ref *r, const struct wg_prefix *q)
{
	uint32_t s = ref_hash(q);

	while (r->slot[s] != REF_EMPTY && !ref_same(&r->e[r->slot[s]].p, q))
		s = (s + 1) & (REF_SLOTS - 1);
	return s;
}

static void
ref_init(struct ref *r)
{
	uint32_t i;

	memset(r, 0, sizeof(*r));
	r->slot = malloc(sizeof(*r->slot) * REF_SLOTS);
	assert_non_null(r->slot);
	for (i = 0; i < REF_SLOTS; i++)
		r->slot[i] = REF_EMPTY;
}

static void
ref_free(struct ref *r)
{
	free(r->e);
	free(r->slot);
}

static long
ref_find(const struct ref *r, const struct wg_prefix *q)
{
	struct wg_prefix m = *q;
	uint32_t s;

	naive_mask(&m);
	s = ref_slot(r, &m);
	return r->slot[s] == REF_EMPTY ? -1 : (long)r->slot[s];
}

static void
ref_insert(struct ref *r, uint32_t owner, const struct wg_prefix *q)
{
	struct ref_entry *e;
	struct wg_prefix full;
	uint32_t s;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->e = realloc(r->e, r->cap * sizeof(*r->e));
		assert_non_null(r->e);
	}
	e = &r->e[r->n];
	e->p = *q;
	naive_mask(&e->p);
	s = ref_slot(r, &e->p);
	if (r->slot[s] != REF_EMPTY) {
		r->e[r->slot[s]].owner = owner;
		return;
	}
	assert_true(r->n < REF_SLOTS / 2);
	e->owner = owner;
	words(e->p.addr, e->a);
	memset(&full, 0, sizeof(full));
	memset(full.addr, 0xff, q->family == AF_INET ? 4 : 16);
	full.family = q->family;
	full.len = q->len;
	naive_mask(&full);
	words(full.addr, e->m);
	r->slot[s] = (uint32_t)r->n++;
}

/* Linear probing deletion: shift back every later entry of the run that may move. */
static void
slot_delete(struct ref *r, uint32_t s)
{
	uint32_t j = s, k;

	for (;;) {
		j = (j + 1) & (REF_SLOTS - 1);
		if (r->slot[j] == REF_EMPTY)
			break;
		k = ref_hash(&r->e[r->slot[j]].p);
		if (((j - k) & (REF_SLOTS - 1)) >= ((j - s) & (REF_SLOTS - 1))) {
			r->slot[s] = r->slot[j];
			s = j;
		}
	}
	r->slot[s] = REF_EMPTY;
}

static void
ref_remove_at(struct ref *r, size_t i)
{
	slot_delete(r, ref_slot(r, &r->e[i].p));
	if (i != --r->n) {
		r->e[i] = r->e[r->n];
		r->slot[ref_slot(r, &r->e[i].p)] = (uint32_t)i;
	}
}

static int
ref_remove_peer(struct ref *r, uint32_t owner)
{
	int n = 0;
	size_t i = 0;

	while (i < r->n) {
		if (r->e[i].owner == owner) {
			ref_remove_at(r, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

static uint32_t
ref_lookup(const struct ref *r, const uint8_t *addr)
{
	uint32_t owner = NONE;
	int best = -1;
	uint64_t a[2];
	size_t i;

	words(addr, a);
	for (i = 0; i < r->n; i++) {
		const struct ref_entry *e = &r->e[i];

		if ((int)e->p.len > best && ((a[0] ^ e->a[0]) & e->m[0]) == 0 &&
				((a[1] ^ e->a[1]) & e->m[1]) == 0) {
			best = e->p.len;
			owner = e->owner;
		}
	}
	return owner;
}

/* The index agrees with the array: every entry is found where it is. */
static void
ref_check_index(const struct ref *r)
{
	size_t i, used = 0;

	for (i = 0; i < r->n; i++)
		assert_int_equal(ref_find(r, &r->e[i].p), (long)i);
	for (i = 0; i < REF_SLOTS; i++)
		used += r->slot[i] != REF_EMPTY;
	assert_int_equal(used, r->n);
}

/* ---- the differential test ---- */

#define N_PEERS 256

static uint32_t
peer_of(unsigned int i)
{
	return i < 250 ? i : WG_PEERS_MAX_ID - 1 - (i - 250) * 4099;
}

/*
 * Few distinct top bits and low-entropy middle bytes, all lengths: prefixes
 * overlap a lot, yet there is room for 100,000+ distinct ones per family.
 */
static void
rand_prefix(struct wg_prefix *p, int family)
{
	static const uint8_t top4[] = { 10, 172 };
	static const uint16_t top6[] = { 0xfd00, 0x2001 };
	unsigned int i, r = rndn(100);

	memset(p, 0, sizeof(*p));
	p->family = family;
	if (family == AF_INET) {
		p->addr[0] = top4[rndn(2)];
		p->addr[1] = rndn(64);
		p->addr[2] = rndn(2) ? rndn(4) : rndn(256);
		p->addr[3] = rndn(256);
		p->len = r < 40 ? 32 : r < 48 ? 24 : r < 56 ? rndn(33) : 16 + rndn(17);
		return;
	}
	p->addr[0] = top6[rndn(2)] >> 8;
	p->addr[1] = top6[rndn(2)] & 0xff;
	for (i = 2; i < 8; i++)
		p->addr[i] = rndn(16) == 0 ? rndn(256) : rndn(2);
	for (i = 8; i < 14; i++)
		p->addr[i] = rndn(3) == 0 ? 0 : rndn(4);
	p->addr[14] = rndn(256);
	p->addr[15] = rndn(256);
	p->len = r < 25 ? 128 : r < 35 ? 64 : r < 40 ? 48 : r < 50 ? rndn(129) : 32 + rndn(97);
}

static void
check_addr(const struct wg_allowedips *t, const struct ref *r, int family, const uint8_t *addr,
	uint32_t bulk_answer)
{
	uint32_t want = ref_lookup(r, addr), got, be;
	char buf[INET6_ADDRSTRLEN];

	if (family == AF_INET) {
		memcpy(&be, addr, 4);
		got = wg_allowedips_lookup4(t, be);
	} else {
		got = wg_allowedips_lookup6(t, addr);
	}
	if (got != want || bulk_answer != want) {
		inet_ntop(family, addr, buf, sizeof(buf));
		fail_msg("%s: want %u, single %u, bulk %u", buf, want, got, bulk_answer);
	}
}

/* Random addresses and, for random entries, first, last and just-outside addresses. */
static void
check_family(const struct wg_allowedips *t, const struct ref *r, int family)
{
	enum { N_RANDOM = 100, N_TARGETED = 50, N = N_RANDOM + 4 * N_TARGETED };
	static uint8_t addrs[N][16];
	uint32_t be[N], ids[N];
	unsigned int i, j, n = 0, size = family == AF_INET ? 4 : 16, bit;
	struct wg_prefix p;

	for (i = 0; i < N_RANDOM; i++) {
		rand_prefix(&p, family);
		memcpy(addrs[n++], p.addr, 16);
	}
	for (i = 0; i < N_TARGETED && r->n > 0; i++) {
		p = r->e[rndn(r->n)].p;
		memcpy(addrs[n++], p.addr, 16);
		for (bit = p.len; bit < size * 8; bit++)
			p.addr[bit / 8] |= 0x80 >> (bit % 8);
		memcpy(addrs[n++], p.addr, 16);
		memcpy(addrs[n], p.addr, 16);
		for (j = size; j-- > 0 && ++addrs[n][j] == 0;)
			;
		n++;
		memcpy(addrs[n], r->e[rndn(r->n)].p.addr, 16);
		for (j = size; j-- > 0 && addrs[n][j]-- == 0;)
			;
		n++;
	}
	if (family == AF_INET) {
		for (i = 0; i < n; i++)
			memcpy(&be[i], addrs[i], 4);
		wg_allowedips_lookup4_bulk(t, be, ids, n);
	} else {
		wg_allowedips_lookup6_bulk(t, (const uint8_t (*)[16])addrs, ids, n);
	}
	for (i = 0; i < n; i++)
		check_addr(t, r, family, addrs[i], ids[i]);
}

struct list_check {
	const struct ref *r4, *r6;
	uint32_t peer;
	size_t n;
};

static int
list_one(const struct wg_prefix *p, void *arg)
{
	struct list_check *c = arg;
	const struct ref *r = p->family == AF_INET ? c->r4 : c->r6;
	long i = ref_find(r, p);

	assert_true(i >= 0);
	assert_true(ref_same(&r->e[i].p, p));
	assert_int_equal(r->e[i].owner, c->peer);
	c->n++;
	return 0;
}

static void
check_batch(const struct wg_allowedips *t, const struct ref *r4, const struct ref *r6)
{
	struct list_check c = { .r4 = r4, .r6 = r6 };
	size_t i, want;
	unsigned int k;

	assert_int_equal(wg_allowedips_count(t), r4->n + r6->n);
	check_family(t, r4, AF_INET);
	check_family(t, r6, AF_INET6);
	for (k = 0; k < 4; k++) {
		const struct ref *r = k & 1 ? r6 : r4;

		c.peer = r->n ? r->e[rndn(r->n)].owner : peer_of(rndn(N_PEERS));
		c.n = 0;
		assert_int_equal(wg_allowedips_list(t, c.peer, list_one, &c), 0);
		for (want = 0, i = 0; i < r4->n; i++)
			want += r4->e[i].owner == c.peer;
		for (i = 0; i < r6->n; i++)
			want += r6->e[i].owner == c.peer;
		assert_int_equal(c.n, want);
	}
	for (k = 0; k < 20; k++) {
		const struct ref *r = k & 1 ? r6 : r4;

		if (r->n == 0)
			continue;
		i = rndn(r->n);
		assert_int_equal(wg_allowedips_owner(t, &r->e[i].p), r->e[i].owner);
	}
}

/*
 * Per-mille weights of the operations in each phase: insert a random prefix,
 * move an existing one, remove an existing one, remove a random one (often
 * absent), remove a peer. The rest of 1000 removes a peer.
 */
struct phase {
	const char *name;
	unsigned int insert, move, remove, remove_random;
};

static const struct phase phases[] = {
	{ "grow", 850, 60, 40, 49 },		/* up to PEAK live prefixes */
	{ "churn", 450, 150, 250, 148 },	/* CHURN_OPS operations at the peak */
	{ "shrink", 100, 100, 700, 90 },	/* down to below 1000 */
};

enum { PEAK = 120000, CHURN_OPS = 30000, CHECK_EVERY = 6000 };

struct diff_stats {
	unsigned int ops, inserts, moves, removes, peer_removes, checks;
	size_t max_n, max4, max6;
};

static void
diff_op(struct wg_allowedips *t, struct ref *ref4, struct ref *ref6, const struct phase *ph,
	struct diff_stats *st)
{
	int family = rndn(2) ? AF_INET : AF_INET6;
	struct ref *r = family == AF_INET ? ref4 : ref6;
	unsigned int k = rndn(1000);
	struct wg_prefix p;
	uint32_t owner;
	long i;
	int ret;

	if (k < ph->insert || r->n == 0) {
		rand_prefix(&p, family);
		owner = peer_of(rndn(N_PEERS));
		ret = wg_allowedips_insert(t, owner, &p);
		if (ret != 0)
			fail_msg("insert /%u (family %d) with %zu + %zu live prefixes: %s", p.len,
				family, ref4->n, ref6->n, strerror(-ret));
		ref_insert(r, owner, &p);
		st->inserts++;
	} else if ((k -= ph->insert) < ph->move) {
		i = rndn(r->n);
		owner = peer_of(rndn(N_PEERS));
		p = r->e[i].p;
		assert_int_equal(wg_allowedips_insert(t, owner, &p), 0);
		r->e[i].owner = owner;
		st->moves++;
	} else if ((k -= ph->move) < ph->remove) {
		i = rndn(r->n);
		p = r->e[i].p;
		/* Host bits are ignored on removal too. */
		if (p.len < (family == AF_INET ? 32 : 128))
			p.addr[15 - (family == AF_INET) * 12] |= 1;
		assert_int_equal(wg_allowedips_remove(t, &p), 0);
		ref_remove_at(r, i);
		st->removes++;
	} else if ((k -= ph->remove) < ph->remove_random) {
		rand_prefix(&p, family);
		i = ref_find(r, &p);
		assert_int_equal(wg_allowedips_remove(t, &p), i >= 0 ? 0 : -ENOENT);
		if (i >= 0)
			ref_remove_at(r, i);
	} else {
		owner = peer_of(rndn(N_PEERS));
		assert_int_equal(wg_allowedips_remove_peer(t, owner),
			ref_remove_peer(ref4, owner) + ref_remove_peer(ref6, owner));
		st->peer_removes++;
	}
	st->max_n = RTE_MAX(st->max_n, ref4->n + ref6->n);
	st->max4 = RTE_MAX(st->max4, ref4->n);
	st->max6 = RTE_MAX(st->max6, ref6->n);
	if (++st->ops % CHECK_EVERY == 0) {
		check_batch(t, ref4, ref6);
		st->checks++;
	}
}

static void
test_random_vs_naive(void **state)
{
	struct wg_allowedips_params params = { .v4_rules = 1 << 17, .v4_tbl8s = 1 << 14,
		.v4_hosts = 1 << 17, .v6_groups = 1 << 18, .v6_hosts = 1 << 17 };
	struct wg_allowedips *t = make_table(&params);
	struct diff_stats st = { 0 };
	struct ref ref4, ref6;
	unsigned int k, start;

	(void)state;
	ref_init(&ref4);
	ref_init(&ref6);
	while (ref4.n + ref6.n < PEAK)
		diff_op(t, &ref4, &ref6, &phases[0], &st);
	check_batch(t, &ref4, &ref6);
	for (start = st.ops; st.ops - start < CHURN_OPS;)
		diff_op(t, &ref4, &ref6, &phases[1], &st);
	check_batch(t, &ref4, &ref6);
	ref_check_index(&ref4);
	ref_check_index(&ref6);
	while (ref4.n + ref6.n >= 1000)
		diff_op(t, &ref4, &ref6, &phases[2], &st);
	check_batch(t, &ref4, &ref6);
	print_message("%u ops: %u inserts, %u moves, %u removes, %u peer removals, %u checks; "
		"peak %zu live prefixes (IPv4 %zu, IPv6 %zu)\n", st.ops, st.inserts, st.moves,
		st.removes, st.peer_removes, st.checks, st.max_n, st.max4, st.max6);
	assert_true(st.max_n >= 100000);
	assert_true(st.max4 >= 40000 && st.max6 >= 40000);
	/* Remove everything peer by peer: the tables must end empty. */
	for (k = 0; k < N_PEERS; k++)
		wg_allowedips_remove_peer(t, peer_of(k));
	assert_int_equal(wg_allowedips_count(t), 0);
	ref4.n = ref6.n = 0;
	check_batch(t, &ref4, &ref6);
	ref_free(&ref4);
	ref_free(&ref6);
	wg_allowedips_free(t);
}

/* ---- exhaustion ---- */

static void
check_all(const struct wg_allowedips *t, const struct wg_prefix *ps, const uint32_t *owners,
	unsigned int n)
{
	uint32_t be;
	unsigned int i;

	assert_int_equal(wg_allowedips_count(t), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(wg_allowedips_owner(t, &ps[i]), owners[i]);
		if (ps[i].family == AF_INET) {
			memcpy(&be, ps[i].addr, 4);
			assert_int_equal(wg_allowedips_lookup4(t, be), owners[i]);
		} else {
			assert_int_equal(wg_allowedips_lookup6(t, ps[i].addr), owners[i]);
		}
	}
}

/* Insert gen(i) for peer i until -ENOSPC; returns how many went in. */
static unsigned int
fill(struct wg_allowedips *t, void (*gen)(struct wg_prefix *, unsigned int), struct wg_prefix *ps,
	uint32_t *owners, unsigned int max)
{
	unsigned int n;
	int ret = 0;

	for (n = 0; n < max; n++) {
		gen(&ps[n], n);
		owners[n] = n;
		ret = wg_allowedips_insert(t, n, &ps[n]);
		if (ret != 0)
			break;
	}
	assert_int_equal(ret, -ENOSPC);
	assert_int_equal(wg_allowedips_owner(t, &ps[n]), NONE);
	check_all(t, ps, owners, n);
	return n;
}

static void
gen_v4_28(struct wg_prefix *p, unsigned int i)
{
	*p = (struct wg_prefix){ .family = AF_INET, .len = 28,
		.addr = { 10, i >> 8, i & 0xff, 0x10 } };
}

static void
gen_v4_20(struct wg_prefix *p, unsigned int i)
{
	*p = (struct wg_prefix){ .family = AF_INET, .len = 20,
		.addr = { 11, i >> 4, (i & 15) << 4, 0 } };
}

static void
gen_v4_32(struct wg_prefix *p, unsigned int i)
{
	*p = (struct wg_prefix){ .family = AF_INET, .len = 32, .addr = { 12, 0, i >> 8, i } };
}

static void
gen_v6_64(struct wg_prefix *p, unsigned int i)
{
	*p = (struct wg_prefix){ .family = AF_INET6, .len = 64,
		.addr = { 0xfd, i, 0, 0, 0, 0, 0, 1 } };
}

static void
gen_v6_128(struct wg_prefix *p, unsigned int i)
{
	*p = (struct wg_prefix){ .family = AF_INET6, .len = 128,
		.addr = { 0xfd, 0xee, [14] = i >> 8, [15] = i } };
}

static void
test_exhaustion(void **state)
{
	struct wg_allowedips_params params = { .v4_rules = 40, .v4_tbl8s = 8, .v4_hosts = 16,
		.v6_groups = 32, .v6_hosts = 16 };
	struct wg_allowedips *t;
	struct wg_prefix ps[1024];
	uint32_t owners[1024];
	unsigned int n, m;

	(void)state;
	/* rte_lpm tbl8 groups: one per /28 in a distinct /24. */
	t = make_table(&params);
	n = fill(t, gen_v4_28, ps, owners, 1000);
	assert_int_equal(n, 8);
	assert_int_equal(wg_allowedips_remove(t, &ps[3]), 0);
	ps[3] = ps[8];
	owners[3] = 8;
	assert_int_equal(wg_allowedips_insert(t, 8, &ps[3]), 0);	/* the freed tbl8 is reused */
	check_all(t, ps, owners, n);
	/* A move never needs new memory, even when full. */
	assert_int_equal(wg_allowedips_insert(t, 77, &ps[0]), 0);
	owners[0] = 77;
	check_all(t, ps, owners, n);
	wg_allowedips_free(t);

	/* rte_lpm rules. */
	t = make_table(&params);
	n = fill(t, gen_v4_20, ps, owners, 1000);
	assert_int_equal(n, 40);
	wg_allowedips_free(t);

	/* Host hashes. */
	t = make_table(&params);
	n = fill(t, gen_v4_32, ps, owners, 1000);
	assert_true(n >= 16);
	wg_allowedips_free(t);
	t = make_table(&params);
	n = fill(t, gen_v6_128, ps, owners, 1000);
	assert_true(n >= 16);
	wg_allowedips_free(t);

	/* IPv6 trie groups: a /64 in its own /16 takes 6 groups. */
	t = make_table(&params);
	n = fill(t, gen_v6_64, ps, owners, 1000);
	assert_int_equal(n, 5);
	for (m = 0; m < n; m++)
		assert_int_equal(wg_allowedips_remove_peer(t, m), 1);
	wg_allowedips_reclaim(t);
	/* Every group came back. */
	assert_int_equal(fill(t, gen_v6_64, ps, owners, 1000), 5);
	wg_allowedips_free(t);
}

/* ---- concurrency ---- */

enum {
	N_PROBES = 64,		/* 32 IPv4 then 32 IPv6 */
	N_CPEERS = 16,
	N_READERS = 2,
	RUN_MS = 3000,
	MAX_CHANGES = 1 << 22,
	MAX_LOG = 1 << 23,
};

static const uint32_t cpeers[N_CPEERS] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
	1048575, WG_PEERS_MAX_ID - 1 };

/*
 * What a lookup of one probe address may find in one state of the table. The
 * lookup reads three levels in order (host route, then the LPM or IPv6 trie,
 * then for IPv4 the /0 slot), each at its own moment, so "no peer" needs a
 * state without a covering host route, then one (the same or later) without
 * a covering LPM/trie prefix, then one without an IPv4 /0.
 */
struct pstate {
	uint16_t owners;	/* bit i: cpeers[i] owns a prefix covering the probe */
	bool host;		/* a /32 or /128 covers it */
	bool mid;		/* an IPv4 /1../31 or an IPv6 /0../127 covers it */
	bool dflt;		/* IPv4 0.0.0.0/0 is owned */
};

_Static_assert(N_CPEERS <= 16, "owners is 16 bits");

struct change {
	uint32_t seq;		/* the writer's operation that made it */
	uint32_t probe;
	struct pstate st;
};

struct sample {
	uint32_t s1;		/* the writer's seq before the lookup */
	uint32_t s2;		/* and after it */
	uint32_t answer;
	uint32_t probe;
};

/* Each probe's state before the first change, and its changes by seq. */
struct history {
	struct pstate initial[N_PROBES];
	const struct change *chg;
	uint32_t *idx[N_PROBES];
	uint32_t cnt[N_PROBES];
};

struct race {
	struct wg_allowedips *t;
	uint8_t probes[N_PROBES][16];
	uint32_t seq;
	bool stop;
	struct sample *log[N_READERS];
	uint32_t n_log[N_READERS];
	uint64_t rng[N_READERS];
};

/* Index in cpeers, or -1: an id no test peer has (garbage, or a peer of nobody). */
static int
cpeer_index(uint32_t id)
{
	int i;

	for (i = 0; i < N_CPEERS; i++)
		if (cpeers[i] == id)
			return i;
	return -1;
}

static void *
reader(void *arg)
{
	struct race *race = arg;
	static unsigned int next_id;
	unsigned int id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED) % N_READERS;
	uint64_t x = race->rng[id];
	uint32_t be[4], ans[4], s1, s2, pr[4];
	uint8_t a6[4][16];
	unsigned int i, v6;

	rte_rcu_qsbr_thread_register(rcu, id);
	rte_rcu_qsbr_thread_online(rcu, id);
	while (!__atomic_load_n(&race->stop, __ATOMIC_ACQUIRE) && race->n_log[id] + 4 <= MAX_LOG) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v6 = x & 1;
		for (i = 0; i < 4; i++) {
			pr[i] = v6 * 32 + (x >> (8 + 5 * i)) % 32;
			memcpy(&be[i], race->probes[pr[i]], 4);
			memcpy(a6[i], race->probes[pr[i]], 16);
		}
		s1 = __atomic_load_n(&race->seq, __ATOMIC_ACQUIRE);
		if (x & 2) {
			if (v6)
				wg_allowedips_lookup6_bulk(race->t, (const uint8_t (*)[16])a6, ans, 4);
			else
				wg_allowedips_lookup4_bulk(race->t, be, ans, 4);
		} else {
			for (i = 0; i < 4; i++)
				ans[i] = v6 ? wg_allowedips_lookup6(race->t, a6[i]) :
					wg_allowedips_lookup4(race->t, be[i]);
		}
		/* The lookups' loads complete before seq is read again. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&race->seq, __ATOMIC_ACQUIRE);
		for (i = 0; i < 4; i++)
			race->log[id][race->n_log[id]++] =
				(struct sample){ .s1 = s1, .s2 = s2, .answer = ans[i], .probe = pr[i] };
		rte_rcu_qsbr_quiescent(rcu, id);
	}
	rte_rcu_qsbr_thread_offline(rcu, id);
	rte_rcu_qsbr_thread_unregister(rcu, id);
	return NULL;
}

struct universe {
	struct wg_prefix p[N_PROBES * 10];
	uint32_t owner[N_PROBES * 10];
	uint64_t covers[N_PROBES * 10];	/* probes covered */
	unsigned int n;
};

static void
build_universe(struct race *race, struct universe *u)
{
	static const uint8_t len4[] = { 0, 8, 16, 22, 24, 26, 28, 31, 32 };
	static const uint8_t len6[] = { 0, 16, 64, 112, 118, 120, 124, 127, 128 };
	unsigned int i, j, k;
	struct wg_prefix p;

	for (i = 0; i < N_PROBES; i++) {
		memset(race->probes[i], 0, 16);
		if (i < 32) {
			race->probes[i][0] = 10;
			race->probes[i][2] = rndn(4);
			race->probes[i][3] = rndn(256);
		} else {
			race->probes[i][0] = 0xfd;
			race->probes[i][14] = rndn(4);
			race->probes[i][15] = rndn(256);
		}
	}
	u->n = 0;
	for (i = 0; i < N_PROBES; i++) {
		for (j = 0; j < 9; j++) {
			memset(&p, 0, sizeof(p));
			p.family = i < 32 ? AF_INET : AF_INET6;
			p.len = i < 32 ? len4[j] : len6[j];
			memcpy(p.addr, race->probes[i], 16);
			naive_mask(&p);
			for (k = 0; k < u->n; k++)
				if (memcmp(&u->p[k], &p, sizeof(p)) == 0)
					break;
			if (k < u->n)
				continue;
			u->p[u->n] = p;
			u->owner[u->n] = NONE;
			u->covers[u->n] = 0;
			for (k = 0; k < N_PROBES; k++)
				if ((k < 32) == (p.family == AF_INET) &&
						naive_covers(&p, race->probes[k]))
					u->covers[u->n] |= 1ull << k;
			u->n++;
		}
	}
}

static struct pstate
probe_state(const struct universe *u, unsigned int probe)
{
	unsigned int k, host = probe < 32 ? 32 : 128;
	struct pstate st = { 0 };
	int bit;

	for (k = 0; k < u->n; k++) {
		if ((u->covers[k] >> probe & 1) == 0 || u->owner[k] == NONE)
			continue;
		bit = cpeer_index(u->owner[k]);
		assert_true(bit >= 0);
		st.owners |= (uint16_t)(1u << bit);
		if (u->p[k].len == host)
			st.host = true;
		else if (u->p[k].len == 0 && host == 32)
			st.dflt = true;
		else
			st.mid = true;
	}
	return st;
}

static bool
pstate_equal(const struct pstate *a, const struct pstate *b)
{
	return a->owners == b->owners && a->host == b->host && a->mid == b->mid &&
		a->dflt == b->dflt;
}

static void
history_init(struct history *h, const struct change *chg, uint32_t n_chg)
{
	uint32_t i;

	h->chg = chg;
	for (i = 0; i < N_PROBES; i++) {
		h->idx[i] = malloc(sizeof(uint32_t) * (n_chg + 1));
		assert_non_null(h->idx[i]);
		h->cnt[i] = 0;
	}
	for (i = 0; i < n_chg; i++) {
		assert_true(chg[i].probe < N_PROBES);
		h->idx[chg[i].probe][h->cnt[chg[i].probe]++] = i;
	}
}

static void
history_free(struct history *h)
{
	unsigned int i;

	for (i = 0; i < N_PROBES; i++)
		free(h->idx[i]);
}

/*
 * Whether s->answer is allowed: the states of the probe during the lookup are
 * the one after the last change with seq <= s1, then every change with seq up
 * to s2 + 1 (the operation in flight when s2 was read). A peer id must be one
 * that owned a covering prefix in one of them; "no peer" must be reachable
 * level by level (see struct pstate). Anything else is wrong.
 */
static bool
sample_ok(const struct history *h, const struct sample *s)
{
	const uint32_t *idx = h->idx[s->probe];
	uint32_t lo = 0, hi = h->cnt[s->probe], m, owners;
	const struct pstate *st;
	unsigned int stage = 0;
	int bit;

	while (lo < hi) {
		m = (lo + hi) / 2;
		if (h->chg[idx[m]].seq <= s->s1)
			lo = m + 1;
		else
			hi = m;
	}
	st = lo == 0 ? &h->initial[s->probe] : &h->chg[idx[lo - 1]].st;
	owners = 0;
	for (m = lo;; m++) {
		owners |= st->owners;
		if (stage == 0 && !st->host)
			stage = 1;
		if (stage == 1 && !st->mid)
			stage = 2;
		if (stage == 2 && !st->dflt)
			stage = 3;
		if (m >= h->cnt[s->probe] || h->chg[idx[m]].seq > s->s2 + 1)
			break;
		st = &h->chg[idx[m]].st;
	}
	if (s->answer == NONE)
		return stage == 3;
	bit = cpeer_index(s->answer);
	return bit >= 0 && (owners >> bit & 1) != 0;
}

/* Returns the number of wrong answers in log (the first few are printed). */
static uint64_t
check_samples(const struct history *h, const struct sample *log, uint32_t n, bool quiet)
{
	uint64_t wrong = 0;
	uint32_t j;

	for (j = 0; j < n; j++) {
		if (sample_ok(h, &log[j]))
			continue;
		if (!quiet && wrong < 5)
			print_error("sample %u probe %u seq [%u, %u]: answer %#x not allowed\n", j,
				log[j].probe, log[j].s1, log[j].s2, log[j].answer);
		wrong++;
	}
	return wrong;
}

/* The checker on a hand-made history: it accepts what a lookup may see and nothing else. */
static void
test_checker_rejects_wrong_answers(void **state)
{
	static const struct change chg[] = {
		{ .seq = 3, .probe = 1, .st = { .owners = 1 << 4, .mid = true } },
		{ .seq = 3, .probe = 2, .st = { .owners = 1 << 6, .host = true } },
		{ .seq = 5, .probe = 0, .st = { .owners = 1 << 3 | 1 << 7, .host = true,
			.mid = true } },
		{ .seq = 9, .probe = 0, .st = { 0 } },
	};
	static const struct {
		struct sample s;
		bool ok;
	} cases[] = {
		/* Peer ids below 14 are cpeers[id]. */
		/* probe 0: peer 3 by a /24 from the start, peer 7 by a /32 from op 5. */
		{ { 1, 2, 3, 0 }, true },
		{ { 1, 2, 7, 0 }, false },		/* op 5 had not started by s2 + 1 */
		{ { 1, 4, 7, 0 }, true },		/* op 5 in flight */
		{ { 6, 6, 7, 0 }, true },
		{ { 1, 2, NONE, 0 }, false },
		{ { 6, 7, NONE, 0 }, false },
		{ { 6, 8, NONE, 0 }, true },		/* op 9 removed both in flight */
		{ { 9, 12, 3, 0 }, false },
		{ { 9, 12, NONE, 0 }, true },
		/* ids no test peer has: garbage, flag bits, an unrelated peer */
		{ { 1, 2, 0xdeadbeef, 0 }, false },
		{ { 1, 2, 1u << 31, 0 }, false },
		{ { 1, 2, 1u << 31 | 3, 0 }, false },
		{ { 1, 2, 31, 0 }, false },
		{ { 1, 2, 14, 0 }, false },
		{ { 1, 2, WG_PEERS_MAX_ID, 0 }, false },
		{ { 1, 2, NONE - 1, 0 }, false },
		{ { 1, 2, 4, 0 }, false },		/* a test peer, but of another probe */
		/*
		 * probe 1: a host route (peer 2) replaced by a /24 (peer 4) in op 3:
		 * each level had a route whenever it was read, so never "no peer".
		 */
		{ { 0, 4, 2, 1 }, true },
		{ { 0, 4, 4, 1 }, true },
		{ { 0, 4, NONE, 1 }, false },
		/* probe 2: the reverse; a host miss, then an LPM miss: "no peer" can happen. */
		{ { 0, 4, NONE, 2 }, true },
		{ { 0, 1, NONE, 2 }, false },
		{ { 3, 4, NONE, 2 }, false },
	};
	struct sample log[RTE_DIM(cases)];
	struct history h;
	uint64_t want_wrong = 0;
	unsigned int i;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.initial[0] = (struct pstate){ .owners = 1 << 3, .mid = true };
	h.initial[1] = (struct pstate){ .owners = 1 << 2, .host = true };
	h.initial[2] = (struct pstate){ .owners = 1 << 5, .mid = true };
	history_init(&h, chg, RTE_DIM(chg));
	for (i = 0; i < RTE_DIM(cases); i++) {
		log[i] = cases[i].s;
		if (sample_ok(&h, &log[i]) != cases[i].ok)
			fail_msg("case %u: checker says %s", i, cases[i].ok ? "wrong" : "right");
		want_wrong += !cases[i].ok;
	}
	assert_int_equal(check_samples(&h, log, RTE_DIM(cases), true), want_wrong);
	history_free(&h);
}

/* Wrong answers planted in a real log are all found. */
static void
check_planted(const struct history *h, const struct sample *log, uint32_t n)
{
	static const uint32_t bad[] = { 0xdeadbeef, 1u << 31, 1u << 31 | 3, 31, 14,
		WG_PEERS_MAX_ID, NONE - 1 };
	struct sample *copy;
	uint32_t i;

	n = RTE_MIN(n, 100000u);
	copy = malloc(sizeof(*copy) * n);
	assert_non_null(copy);
	for (i = 0; i < n; i++) {
		copy[i] = log[i];
		copy[i].answer = bad[i % RTE_DIM(bad)];
	}
	assert_int_equal(check_samples(h, copy, n, true), n);
	free(copy);
}

static void
test_concurrent_readers(void **state)
{
	struct wg_allowedips_params params = { .v4_rules = 1024, .v4_tbl8s = 256,
		.v4_hosts = 1024, .v6_groups = 1024, .v6_hosts = 1024 };
	static struct universe u;
	static struct race race;
	static struct history h;
	struct pstate cur[N_PROBES], st;
	uint32_t n_chg = 0, ops = 0, owner, r;
	pthread_t th[N_READERS];
	struct timespec t0, now;
	struct change *chg;
	unsigned int i, k, p;
	uint64_t affected, checked = 0, none = 0;

	(void)state;
	memset(&race, 0, sizeof(race));
	memset(&h, 0, sizeof(h));
	race.t = make_table(&params);
	build_universe(&race, &u);
	for (p = 0; p < N_PROBES; p++)
		h.initial[p] = cur[p] = probe_state(&u, p);
	chg = malloc(sizeof(*chg) * MAX_CHANGES);
	assert_non_null(chg);
	for (i = 0; i < N_READERS; i++) {
		race.log[i] = malloc(sizeof(struct sample) * MAX_LOG);
		assert_non_null(race.log[i]);
		race.rng[i] = rnd() | 1;
	}
	for (i = 0; i < N_READERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &race), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		k = rndn(u.n);
		if (rndn(200) == 0) {
			owner = cpeers[rndn(N_CPEERS)];
			wg_allowedips_remove_peer(race.t, owner);
			for (affected = 0, i = 0; i < u.n; i++) {
				if (u.owner[i] == owner) {
					u.owner[i] = NONE;
					affected |= u.covers[i];
				}
			}
		} else if (u.owner[k] == NONE || rndn(2) == 0) {
			owner = cpeers[rndn(N_CPEERS)];
			assert_int_equal(wg_allowedips_insert(race.t, owner, &u.p[k]), 0);
			u.owner[k] = owner;
			affected = u.covers[k];
		} else {
			assert_int_equal(wg_allowedips_remove(race.t, &u.p[k]), 0);
			u.owner[k] = NONE;
			affected = u.covers[k];
		}
		ops++;
		for (p = 0; p < N_PROBES; p++) {
			if ((affected >> p & 1) == 0)
				continue;
			st = probe_state(&u, p);
			if (!pstate_equal(&st, &cur[p])) {
				cur[p] = st;
				chg[n_chg++] = (struct change){ .seq = ops, .probe = p, .st = st };
			}
		}
		__atomic_store_n(&race.seq, ops, __ATOMIC_RELEASE);
		/* The next operation's stores are not seen before this seq. */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 < RUN_MS &&
		n_chg + N_PROBES < MAX_CHANGES);
	__atomic_store_n(&race.stop, true, __ATOMIC_RELEASE);
	for (i = 0; i < N_READERS; i++)
		pthread_join(th[i], NULL);
	print_message("writer: %u operations, %u state changes of the probes\n", ops, n_chg);
	assert_true(race.n_log[0] > 0 && race.n_log[1] > 0);
	history_init(&h, chg, n_chg);
	for (r = 0; r < N_READERS; r++) {
		assert_int_equal(check_samples(&h, race.log[r], race.n_log[r], false), 0);
		checked += race.n_log[r];
		for (i = 0; i < race.n_log[r]; i++)
			none += race.log[r][i].answer == NONE;
	}
	print_message("%llu concurrent lookups checked (%llu answered no peer)\n",
		(unsigned long long)checked, (unsigned long long)none);
	check_planted(&h, race.log[0], race.n_log[0]);
	history_free(&h);
	for (i = 0; i < N_READERS; i++)
		free(race.log[i]);
	free(chg);
	wg_allowedips_free(race.t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge_cases),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_random_vs_naive),
		cmocka_unit_test(test_checker_rejects_wrong_answers),
		cmocka_unit_test(test_concurrent_readers),
	};
	char prefix[64];
	char *argv[] = { "test_allowedips", "--no-huge", "-m", "1024", "--no-pci", prefix,
		"--log-level=lib.eal:error", "--no-telemetry", NULL };
	const char *seed = getenv("WG_TEST_SEED");
	size_t sz;
	int ret;

	rng_state = seed != NULL ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL) * 2654435761u;
	rng_state |= 1;
	printf("seed: WG_TEST_SEED=%llu\n", (unsigned long long)rng_state);
	snprintf(prefix, sizeof(prefix), "--file-prefix=test_allowedips_%d", (int)getpid());
	if (rte_eal_init(RTE_DIM(argv) - 1, argv) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	sz = rte_rcu_qsbr_get_memsize(N_READERS);
	rcu = rte_zmalloc(NULL, sz, RTE_CACHE_LINE_SIZE);
	if (rcu == NULL || rte_rcu_qsbr_init(rcu, N_READERS) != 0)
		return 1;
	/* e.g. WG_TEST_ONLY=test_random_vs_naive */
	if (getenv("WG_TEST_ONLY") != NULL)
		cmocka_set_test_filter(getenv("WG_TEST_ONLY"));
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rte_free(rcu);
	rte_eal_cleanup();
	return ret;
}
