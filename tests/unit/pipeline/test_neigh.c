/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The neighbour table and the hold queue (app/pipeline/neigh.c): the state
 * machine as tables of (time, expected action), a random sequence checked
 * against a deliberately naive list, eviction at the bound, and a reader
 * thread that must never see a MAC belonging to another key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "pipeline/neigh.h"

#define SEC 1000000000ULL
#define RTE_DIM(a) (sizeof(a) / sizeof((a)[0]))

static const struct wg_neigh_params params = {
	.reachable_ns = 30 * SEC,
	.gc_ns = 60 * SEC,
	.retrans_ns = 1 * SEC,
};

static struct wg_neigh_table *
table_new(uint32_t max)
{
	struct wg_neigh_table *t = calloc(1, wg_neigh_table_size(max));

	assert_non_null(t);
	wg_neigh_table_init(t, max, 0x12345678, &params);
	return t;
}

static struct wg_neigh_key
key4(uint8_t port, uint32_t host)
{
	struct wg_neigh_key k = { .port = port, .family = AF_INET };

	k.addr[0] = 10;
	k.addr[1] = (host >> 16) & 0xff;
	k.addr[2] = (host >> 8) & 0xff;
	k.addr[3] = host & 0xff;
	return k;
}

/* A MAC derived from the key, so a reader can tell whose MAC it got. */
static void
mac_of(const struct wg_neigh_key *k, uint8_t gen, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = gen;
	mac[2] = k->port;
	mac[3] = k->addr[1];
	mac[4] = k->addr[2];
	mac[5] = k->addr[3];
}

struct action_log {
	unsigned int n;
	enum wg_neigh_action action[16];
	uint8_t mac[16][6];
};

static void
log_action(void *ctx, enum wg_neigh_action action, const struct wg_neigh_key *key,
	const uint8_t mac[6])
{
	struct action_log *log = ctx;

	(void)key;
	assert_true(log->n < 16);
	log->action[log->n] = action;
	memcpy(log->mac[log->n], mac, 6);
	log->n++;
}

static enum wg_neigh_state
state_of(struct wg_neigh_table *t, const struct wg_neigh_key *k)
{
	uint32_t i;

	for (i = 0; i <= t->mask; i++)
		if (t->slots[i].state != WG_NEIGH_FREE &&
				memcmp(&t->slots[i].key, k, sizeof(*k)) == 0)
			return t->slots[i].state;
	return WG_NEIGH_FREE;
}

static void
test_resolve_and_confirm(void **state)
{
	struct wg_neigh_table *t = table_new(64);
	struct wg_neigh_key k = key4(1, 2);
	uint8_t mac[6], got[6];

	(void)state;
	mac_of(&k, 1, mac);
	assert_int_equal(wg_neigh_resolve(t, &k, 0, got), WG_NEIGH_STARTED);
	assert_int_equal(wg_neigh_resolve(t, &k, 0, got), WG_NEIGH_PENDING);
	assert_false(wg_neigh_lookup(t, &k, got));
	assert_int_equal(state_of(t, &k), WG_NEIGH_INCOMPLETE);
	assert_int_equal(wg_neigh_confirm(t, &k, mac, WG_NEIGH_F_SOLICITED, 1), 1);
	assert_true(wg_neigh_lookup(t, &k, got));
	assert_memory_equal(got, mac, 6);
	assert_int_equal(wg_neigh_resolve(t, &k, 2, got), WG_NEIGH_READY);
	assert_memory_equal(got, mac, 6);
	/* Same key on the other port is another neighbour. */
	k.port = 0;
	assert_false(wg_neigh_lookup(t, &k, got));
	assert_int_equal(t->n_live, 1);
	free(t);
}

/* Which messages create, update or are ignored (RFC 4861 7.2.5 in short). */
static void
test_confirm_rules(void **state)
{
	struct wg_neigh_table *t = table_new(64);
	struct wg_neigh_key a = key4(0, 1), s = key4(0, 2);
	uint8_t m1[6], m2[6], got[6];

	(void)state;
	mac_of(&a, 1, m1);
	mac_of(&a, 2, m2);
	/* An unsolicited reply for an unknown neighbour creates nothing. */
	assert_int_equal(wg_neigh_confirm(t, &a, m1, 0, 0), 0);
	assert_int_equal(wg_neigh_confirm(t, &a, m1, WG_NEIGH_F_SOLICITED, 0), 0);
	assert_false(wg_neigh_lookup(t, &a, got));
	/* A request for us creates a STALE entry. */
	assert_int_equal(wg_neigh_confirm(t, &a, m1, WG_NEIGH_F_CREATE, 0), 1);
	assert_int_equal(state_of(t, &a), WG_NEIGH_STALE);
	/* Same MAC, unsolicited: nothing changes; a solicited reply makes it REACHABLE. */
	assert_int_equal(wg_neigh_confirm(t, &a, m1, 0, 1), 0);
	assert_int_equal(state_of(t, &a), WG_NEIGH_STALE);
	assert_int_equal(wg_neigh_confirm(t, &a, m1, WG_NEIGH_F_SOLICITED, 2), 0);
	assert_int_equal(state_of(t, &a), WG_NEIGH_REACHABLE);
	/* A different MAC, unsolicited: taken, but only STALE. */
	assert_int_equal(wg_neigh_confirm(t, &a, m2, 0, 3), 0);
	assert_int_equal(state_of(t, &a), WG_NEIGH_STALE);
	assert_true(wg_neigh_lookup(t, &a, got));
	assert_memory_equal(got, m2, 6);
	/* Static entries ignore everything learned. */
	assert_int_equal(wg_neigh_add_static(t, &s, m1, 0), 0);
	assert_int_equal(wg_neigh_confirm(t, &s, m2, WG_NEIGH_F_SOLICITED, 1), 0);
	assert_true(wg_neigh_lookup(t, &s, got));
	assert_memory_equal(got, m1, 6);
	assert_int_equal(state_of(t, &s), WG_NEIGH_PERMANENT);
	free(t);
}

struct tick_step {
	uint64_t at;			/* ns */
	int used;			/* look the entry up before the tick */
	int n;				/* actions expected */
	enum wg_neigh_action action;
	enum wg_neigh_state after;
};

static void
run_steps(struct wg_neigh_table *t, const struct wg_neigh_key *k, const struct tick_step *steps,
	size_t n)
{
	struct action_log log;
	uint8_t got[6];
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&log, 0, sizeof(log));
		if (steps[i].used)
			if (wg_neigh_lookup(t, k, got))
				assert_true(got[0] == 0x02);
		assert_int_equal(wg_neigh_tick(t, steps[i].at, log_action, &log), steps[i].n);
		assert_int_equal(log.n, steps[i].n);
		if (steps[i].n == 1)
			assert_int_equal(log.action[0], steps[i].action);
		if (state_of(t, k) != steps[i].after)
			fail_msg("step %zu: state %s, expected %s", i,
				wg_neigh_state_name(state_of(t, k)),
				wg_neigh_state_name(steps[i].after));
	}
}

/* Resolution that nobody answers: two more broadcast probes, then FAILED. */
static void
test_incomplete_fails(void **state)
{
	static const struct tick_step steps[] = {
		{ 0, 0, 0, 0, WG_NEIGH_INCOMPLETE },
		{ SEC / 2, 0, 0, 0, WG_NEIGH_INCOMPLETE },
		{ SEC, 0, 1, WG_NEIGH_PROBE_MULTICAST, WG_NEIGH_INCOMPLETE },
		{ 2 * SEC, 0, 1, WG_NEIGH_PROBE_MULTICAST, WG_NEIGH_INCOMPLETE },
		{ 3 * SEC, 0, 1, WG_NEIGH_FAILED, WG_NEIGH_FREE },
		{ 4 * SEC, 0, 0, 0, WG_NEIGH_FREE },
	};
	struct wg_neigh_table *t = table_new(16);
	struct wg_neigh_key k = key4(0, 9);
	uint8_t got[6];

	(void)state;
	assert_int_equal(wg_neigh_resolve(t, &k, 0, got), WG_NEIGH_STARTED);
	run_steps(t, &k, steps, RTE_DIM(steps));
	assert_int_equal(t->n_live, 0);
	/* The tombstone is reused by the same key. */
	assert_int_equal(wg_neigh_resolve(t, &k, 5 * SEC, got), WG_NEIGH_STARTED);
	assert_int_equal(t->n_live, 1);
	free(t);
}

/* REACHABLE -> STALE -> (used) PROBE -> no answer -> FAILED; unused STALE expires. */
static void
test_aging(void **state)
{
	static const struct tick_step probe_fails[] = {
		{ 29 * SEC, 0, 0, 0, WG_NEIGH_REACHABLE },
		{ 30 * SEC, 0, 0, 0, WG_NEIGH_STALE },
		{ 31 * SEC, 1, 1, WG_NEIGH_PROBE_UNICAST, WG_NEIGH_PROBE },
		{ 32 * SEC, 0, 1, WG_NEIGH_PROBE_UNICAST, WG_NEIGH_PROBE },
		{ 33 * SEC, 0, 1, WG_NEIGH_PROBE_UNICAST, WG_NEIGH_PROBE },
		{ 34 * SEC, 0, 1, WG_NEIGH_FAILED, WG_NEIGH_FREE },
	};
	static const struct tick_step unused_expires[] = {
		/* A use while REACHABLE does not count. */
		{ 30 * SEC, 1, 0, 0, WG_NEIGH_STALE },
		{ 31 * SEC, 0, 0, 0, WG_NEIGH_STALE },
		{ 59 * SEC, 0, 0, 0, WG_NEIGH_STALE },
		{ 60 * SEC, 0, 1, WG_NEIGH_EXPIRED, WG_NEIGH_FREE },
	};
	struct wg_neigh_table *t = table_new(16);
	struct wg_neigh_key k = key4(0, 7);
	struct action_log log = { 0 };
	uint8_t mac[6], got[6];

	(void)state;
	mac_of(&k, 3, mac);
	assert_int_equal(wg_neigh_confirm(t, &k, mac, WG_NEIGH_F_CREATE | WG_NEIGH_F_SOLICITED,
		0), 1);
	run_steps(t, &k, probe_fails, 3);
	/* The unicast probe goes to the cached MAC, and the entry stays usable meanwhile. */
	assert_true(wg_neigh_lookup(t, &k, got));
	assert_memory_equal(got, mac, 6);
	run_steps(t, &k, probe_fails + 3, RTE_DIM(probe_fails) - 3);
	assert_false(wg_neigh_lookup(t, &k, got));

	assert_int_equal(wg_neigh_confirm(t, &k, mac, WG_NEIGH_F_CREATE | WG_NEIGH_F_SOLICITED,
		0), 1);
	run_steps(t, &k, unused_expires, RTE_DIM(unused_expires));

	/* A reply during PROBE makes it REACHABLE again. */
	assert_int_equal(wg_neigh_confirm(t, &k, mac, WG_NEIGH_F_CREATE | WG_NEIGH_F_SOLICITED,
		100 * SEC), 1);
	run_steps(t, &k, (const struct tick_step[]){
		{ 130 * SEC, 0, 0, 0, WG_NEIGH_STALE },
		{ 131 * SEC, 1, 1, WG_NEIGH_PROBE_UNICAST, WG_NEIGH_PROBE } }, 2);
	assert_int_equal(wg_neigh_confirm(t, &k, mac, WG_NEIGH_F_SOLICITED, 131 * SEC), 0);
	assert_int_equal(state_of(t, &k), WG_NEIGH_REACHABLE);
	assert_int_equal(wg_neigh_tick(t, 140 * SEC, log_action, &log), 0);
	free(t);
}

/* The naive reference: an unsorted list applying the same rules. */
struct naive {
	unsigned int n;
	struct {
		struct wg_neigh_key key;
		uint8_t state;
		uint8_t mac[6];
	} e[512];
};

static int
naive_find(struct naive *nv, const struct wg_neigh_key *k)
{
	unsigned int i;

	for (i = 0; i < nv->n; i++)
		if (memcmp(&nv->e[i].key, k, sizeof(*k)) == 0)
			return (int)i;
	return -1;
}

static bool
naive_usable(uint8_t s)
{
	return s != WG_NEIGH_FREE && s != WG_NEIGH_INCOMPLETE;
}

static void
naive_set(struct naive *nv, const struct wg_neigh_key *k, uint8_t state, const uint8_t *mac)
{
	int i = naive_find(nv, k);

	if (i < 0) {
		i = (int)nv->n++;
		nv->e[i].key = *k;
		memset(nv->e[i].mac, 0, 6);
	}
	nv->e[i].state = state;
	if (mac != NULL)
		memcpy(nv->e[i].mac, mac, 6);
}

static void
test_against_naive(void **state)
{
	struct wg_neigh_table *t = table_new(1024);
	static struct naive nv;
	struct wg_neigh_key k;
	uint8_t mac[6], got[6];
	unsigned int step, flags;
	int i, r;

	(void)state;
	memset(&nv, 0, sizeof(nv));
	srand(42);
	for (step = 0; step < 20000; step++) {
		k = (rand() & 1) ? key4(rand() & 1, rand() % 100) : key4(0, rand() % 100);
		if (rand() % 5 == 0) {
			k.family = AF_INET6;
			k.addr[15] = 1;
		}
		mac_of(&k, (uint8_t)(rand() % 3), mac);
		i = naive_find(&nv, &k);
		switch (rand() % 4) {
		case 0:
			r = wg_neigh_resolve(t, &k, step, got);
			if (i >= 0 && naive_usable(nv.e[i].state)) {
				assert_int_equal(r, WG_NEIGH_READY);
				assert_memory_equal(got, nv.e[i].mac, 6);
			} else {
				assert_int_equal(r, i >= 0 ? WG_NEIGH_PENDING : WG_NEIGH_STARTED);
				naive_set(&nv, &k, WG_NEIGH_INCOMPLETE, NULL);
			}
			break;
		case 1:
			flags = (unsigned int)rand() % 4;
			r = wg_neigh_confirm(t, &k, mac, flags, step);
			if (i < 0) {
				assert_int_equal(r, (flags & WG_NEIGH_F_CREATE) ? 1 : 0);
				if (flags & WG_NEIGH_F_CREATE)
					naive_set(&nv, &k, (flags & WG_NEIGH_F_SOLICITED) ?
						WG_NEIGH_REACHABLE : WG_NEIGH_STALE, mac);
			} else if (nv.e[i].state != WG_NEIGH_PERMANENT) {
				assert_int_equal(r, nv.e[i].state == WG_NEIGH_INCOMPLETE);
				if (flags & WG_NEIGH_F_SOLICITED)
					naive_set(&nv, &k, WG_NEIGH_REACHABLE, mac);
				else if (nv.e[i].state == WG_NEIGH_INCOMPLETE ||
						memcmp(nv.e[i].mac, mac, 6) != 0)
					naive_set(&nv, &k, WG_NEIGH_STALE, mac);
			} else {
				assert_int_equal(r, 0);
			}
			break;
		case 2:
			if (rand() % 8 == 0) {
				assert_int_equal(wg_neigh_add_static(t, &k, mac, step), 0);
				naive_set(&nv, &k, WG_NEIGH_PERMANENT, mac);
			}
			break;
		default:
			r = wg_neigh_lookup(t, &k, got);
			assert_int_equal(r, i >= 0 && naive_usable(nv.e[i].state));
			if (r)
				assert_memory_equal(got, nv.e[i].mac, 6);
		}
		assert_int_equal(t->n_live, nv.n);
	}
	free(t);
}

/* At the bound the oldest learned entry goes; static entries never do. */
static void
test_bound_and_eviction(void **state)
{
	struct wg_neigh_table *t = table_new(8);
	struct wg_neigh_key k;
	uint8_t mac[6], got[6];
	uint32_t i;

	(void)state;
	for (i = 0; i < 8; i++) {
		k = key4(0, i);
		mac_of(&k, 0, mac);
		assert_int_equal(wg_neigh_confirm(t, &k, mac, WG_NEIGH_F_CREATE, 100 + i), 1);
	}
	k = key4(0, 100);
	mac_of(&k, 0, mac);
	assert_int_equal(wg_neigh_confirm(t, &k, mac, WG_NEIGH_F_CREATE, 200), 1);
	assert_int_equal(t->n_live, 8);
	assert_true(wg_neigh_lookup(t, &k, got));
	k = key4(0, 0);		/* the oldest */
	assert_false(wg_neigh_lookup(t, &k, got));
	for (i = 1; i < 8; i++) {
		k = key4(0, i);
		assert_true(wg_neigh_lookup(t, &k, got));
	}
	free(t);

	t = table_new(4);
	for (i = 0; i < 4; i++) {
		k = key4(1, i);
		mac_of(&k, 0, mac);
		assert_int_equal(wg_neigh_add_static(t, &k, mac, 0), 0);
	}
	k = key4(1, 50);
	assert_int_equal(wg_neigh_resolve(t, &k, 1, got), -ENOSPC);
	assert_int_equal(wg_neigh_confirm(t, &k, mac, WG_NEIGH_F_CREATE, 1), -ENOSPC);
	assert_int_equal(t->n_live, 4);
	free(t);
}

/* Many keys through a small table: probe chains never break, n_live stays bounded. */
static void
test_churn(void **state)
{
	struct wg_neigh_table *t = table_new(32);
	struct wg_neigh_key k;
	uint8_t mac[6], got[6];
	uint32_t i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		k = key4(0, i);
		mac_of(&k, 0, mac);
		assert_true(wg_neigh_confirm(t, &k, mac, WG_NEIGH_F_CREATE, i) >= 0);
		assert_true(t->n_live <= 32);
		/* The entry just learned is always found. */
		assert_true(wg_neigh_lookup(t, &k, got));
		assert_memory_equal(got, mac, 6);
		if (i % 7 == 0)
			wg_neigh_tick(t, i + 61 * SEC, NULL, NULL);	/* expire them all */
	}
	free(t);
}

struct reader_ctx {
	struct wg_neigh_table *t;
	volatile int stop;
	unsigned long hits;
	unsigned long bad;
};

static void *
reader(void *arg)
{
	struct reader_ctx *c = arg;
	struct wg_neigh_key k;
	uint8_t got[6], want[6];
	uint32_t i = 0;

	while (!c->stop) {
		k = key4(0, i++ % 64);
		if (wg_neigh_lookup(c->t, &k, got)) {
			mac_of(&k, got[1], want);
			c->hits++;
			if (memcmp(got, want, 6) != 0)
				c->bad++;
		}
	}
	return NULL;
}

/* Readers run while the writer re-keys slots: a MAC always belongs to its key. */
static void
test_concurrent_reader(void **state)
{
	struct reader_ctx c = { .t = table_new(16) };
	struct wg_neigh_key k;
	uint8_t mac[6];
	pthread_t th;
	uint32_t i;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, reader, &c), 0);
	for (i = 0; i < 2000000; i++) {
		k = key4(0, (i * 7) % 64);
		mac_of(&k, (uint8_t)i, mac);
		assert_true(wg_neigh_confirm(c.t, &k, mac, WG_NEIGH_F_CREATE |
			WG_NEIGH_F_SOLICITED, i) >= 0);
	}
	c.stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(c.bad, 0);
	print_message("reader: %lu hits\n", c.hits);
	free(c.t);
}

static unsigned int freed[16], n_freed;

static void
collect(void *ctx, void *pkt, const struct wg_neigh_key *key)
{
	(void)ctx;
	(void)key;
	freed[n_freed++] = (unsigned int)(uintptr_t)pkt;
}

static void
test_hold(void **state)
{
	struct wg_neigh_hold *h = calloc(1, wg_neigh_hold_size(3));
	struct wg_neigh_key a = key4(0, 1), b = key4(1, 1);

	(void)state;
	wg_neigh_hold_init(h, 3);
	assert_null(wg_neigh_hold_add(h, (void *)1, &a, 10));
	assert_null(wg_neigh_hold_add(h, (void *)2, &b, 20));
	assert_null(wg_neigh_hold_add(h, (void *)3, &a, 30));
	/* Full: the oldest packet comes back to be dropped. */
	assert_ptr_equal(wg_neigh_hold_add(h, (void *)4, &b, 40), (void *)1);
	assert_int_equal(h->n, 3);
	/* By key, oldest first. */
	n_freed = 0;
	assert_int_equal(wg_neigh_hold_take(h, &b, UINT64_MAX, collect, NULL), 2);
	assert_int_equal(freed[0], 2);
	assert_int_equal(freed[1], 4);
	/* By age. */
	assert_int_equal(wg_neigh_hold_take(h, NULL, 29, collect, NULL), 0);
	assert_int_equal(wg_neigh_hold_take(h, NULL, 30, collect, NULL), 1);
	assert_int_equal(freed[2], 3);
	assert_int_equal(h->n, 0);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_and_confirm),
		cmocka_unit_test(test_confirm_rules),
		cmocka_unit_test(test_incomplete_fails),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_against_naive),
		cmocka_unit_test(test_bound_and_eviction),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_concurrent_reader),
		cmocka_unit_test(test_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
