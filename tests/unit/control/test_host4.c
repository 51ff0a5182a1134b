/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IPv4 host-route table (host4.c): add/update/remove against a naive
 * model under heavy churn (tombstones force rebuilds), capacity and value
 * limits, bulk lookups, and readers that must always see the stable
 * addresses, and only values a moving address really had, while the writer
 * churns and rebuilds; retired tables wait for the readers' grace period.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "../test_eal.h"
#include "control/host4.h"

static struct rte_rcu_qsbr *rcu;
static int seq;

static struct wg_host4 *
make(uint32_t capacity)
{
	char name[24];

	snprintf(name, sizeof(name), "h4t%d", seq++);
	return wg_host4_create(name, capacity, rcu, 0);
}

static uint32_t
rnd32(void)
{
	return (uint32_t)random() << 16 ^ (uint32_t)random();
}

static void
test_limits(void **state)
{
	struct wg_host4 *h = make(16);
	uint32_t v, i;

	(void)state;
	assert_non_null(h);
	assert_null(wg_host4_create("h4bad", 0, rcu, 0));
	assert_null(wg_host4_create(NULL, 8, rcu, 0));
	assert_null(wg_host4_create("h4bad", 8, NULL, 0));
	assert_int_equal(wg_host4_set(h, 1, WG_HOST4_VALUE_MAX), -EINVAL);
	assert_int_equal(wg_host4_set(h, 1, WG_HOST4_VALUE_MAX - 1), 0);
	assert_true(wg_host4_lookup(h, 1, &v));
	assert_int_equal(v, WG_HOST4_VALUE_MAX - 1);
	/* Address 0 and all-ones are ordinary keys; value 0 is an ordinary value. */
	assert_int_equal(wg_host4_set(h, 0, 0), 0);
	assert_int_equal(wg_host4_set(h, 0xffffffffu, 7), 0);
	assert_true(wg_host4_lookup(h, 0, &v));
	assert_int_equal(v, 0);
	assert_true(wg_host4_lookup(h, 0xffffffffu, &v));
	assert_int_equal(v, 7);
	for (i = 100; wg_host4_count(h) < 16; i++)
		assert_int_equal(wg_host4_set(h, i, i), 0);
	assert_int_equal(wg_host4_set(h, 5000, 1), -ENOSPC);
	/* Updating a present address needs no room. */
	assert_int_equal(wg_host4_set(h, 100, 42), 0);
	assert_true(wg_host4_lookup(h, 100, &v));
	assert_int_equal(v, 42);
	wg_host4_del(h, 100);
	wg_host4_del(h, 100);		/* absent: no-op */
	assert_false(wg_host4_lookup(h, 100, &v));
	assert_int_equal(wg_host4_count(h), 15);
	assert_int_equal(wg_host4_set(h, 5000, 1), 0);
	wg_host4_free(h);
}

/* Random adds, moves and removals against a plain array; churn enough to rebuild. */
static void
test_differential(void **state)
{
	enum { N = 3000, CAP = 2000, STEPS = 200000 };
	static uint32_t addr[N], val[N];
	static bool live[N];
	struct wg_host4 *h = make(CAP);
	uint32_t keys[WG_HOST4_BULK_MAX], got[WG_HOST4_BULK_MAX], v;
	unsigned int step, i, j, n_live = 0;
	uint64_t hits;
	int ret;

	(void)state;
	assert_non_null(h);
	srandom(11);
	for (i = 0; i < N; i++)
		addr[i] = rnd32() & 0xfff0ffffu;	/* collisions in the hash are likely */
	for (i = 0; i < N; i++)
		for (j = 0; j < i; j++)
			if (addr[j] == addr[i])
				addr[i] ^= 0x00010000u * (j + 1);
	for (step = 0; step < STEPS; step++) {
		i = (unsigned int)random() % N;
		if (live[i] && random() % 3 == 0) {
			wg_host4_del(h, addr[i]);
			live[i] = false;
			n_live--;
		} else {
			v = (uint32_t)random() % 1000000;
			ret = wg_host4_set(h, addr[i], v);
			if (!live[i] && n_live == CAP) {
				assert_int_equal(ret, -ENOSPC);
				continue;
			}
			assert_int_equal(ret, 0);
			if (!live[i])
				n_live++;
			live[i] = true;
			val[i] = v;
		}
		if (step % 20000 == 0)
			assert_int_equal(wg_host4_compact(h), 0);
		if (step % 5000 != 0)
			continue;
		assert_int_equal(wg_host4_count(h), n_live);
		for (j = 0; j < N; j++) {
			assert_int_equal(wg_host4_lookup(h, addr[j], &v), live[j]);
			if (live[j])
				assert_int_equal(v, val[j]);
		}
		for (j = 0; j + WG_HOST4_BULK_MAX <= N; j += WG_HOST4_BULK_MAX) {
			memcpy(keys, &addr[j], sizeof(keys));
			hits = wg_host4_lookup_bulk(h, keys, got, WG_HOST4_BULK_MAX);
			for (i = 0; i < WG_HOST4_BULK_MAX; i++) {
				assert_int_equal((hits >> i) & 1, live[j + i]);
				if (live[j + i])
					assert_int_equal(got[i], val[j + i]);
			}
		}
	}
	print_message("host4: %u rebuilds, %u live at the end\n", wg_host4_rebuilds(h), n_live);
	assert_true(wg_host4_rebuilds(h) >= STEPS / 20000);
	wg_host4_free(h);
}

/* ---- readers against a churning writer ---- */

enum { STABLE = 256, MOVING = 64, CHURN = 1500, CAP_RACE = STABLE + MOVING + CHURN };

struct race {
	struct wg_host4 *h;
	volatile bool stop;
	unsigned int errors;
	uint64_t lookups;
};

static uint32_t
stable_addr(unsigned int i)
{
	return 0x0a000000u + i;
}

static uint32_t
moving_addr(unsigned int i)
{
	return 0x0b000000u + i;
}

static void *
reader(void *arg)
{
	struct race *r = arg;
	uint32_t keys[WG_HOST4_BULK_MAX], got[WG_HOST4_BULK_MAX], v;
	unsigned int id = 1, i, k;
	uint64_t hits;

	rte_rcu_qsbr_thread_register(rcu, id);
	rte_rcu_qsbr_thread_online(rcu, id);
	while (!r->stop) {
		for (i = 0; i < STABLE; i += WG_HOST4_BULK_MAX) {
			for (k = 0; k < WG_HOST4_BULK_MAX; k++)
				keys[k] = stable_addr(i + k);
			hits = wg_host4_lookup_bulk(r->h, keys, got, WG_HOST4_BULK_MAX);
			for (k = 0; k < WG_HOST4_BULK_MAX; k++)
				if ((hits >> k & 1) == 0 || got[k] != i + k)
					r->errors++;
		}
		/* A moving address always exists, with value i or i + 1000. */
		for (i = 0; i < MOVING; i++)
			if (!wg_host4_lookup(r->h, moving_addr(i), &v) || (v != i && v != i + 1000))
				r->errors++;
		r->lookups += STABLE + MOVING;
		rte_rcu_qsbr_quiescent(rcu, id);
	}
	rte_rcu_qsbr_thread_offline(rcu, id);
	rte_rcu_qsbr_thread_unregister(rcu, id);
	return NULL;
}

static void
test_concurrent_readers(void **state)
{
	static uint32_t churn[CHURN];
	static bool live[CHURN];
	struct race r = { .h = make(CAP_RACE) };
	unsigned int i, step, busy = 0;
	pthread_t th;

	(void)state;
	assert_non_null(r.h);
	for (i = 0; i < STABLE; i++)
		assert_int_equal(wg_host4_set(r.h, stable_addr(i), i), 0);
	for (i = 0; i < MOVING; i++)
		assert_int_equal(wg_host4_set(r.h, moving_addr(i), i), 0);
	for (i = 0; i < CHURN; i++)
		churn[i] = 0x0c000000u + i;
	assert_int_equal(pthread_create(&th, NULL, reader, &r), 0);
	srandom(5);
	for (step = 0; step < 400000; step++) {
		i = (unsigned int)random() % CHURN;
		if (live[i])
			wg_host4_del(r.h, churn[i]);
		else
			assert_int_equal(wg_host4_set(r.h, churn[i], 5), 0);
		live[i] = !live[i];
		i = step % MOVING;
		assert_int_equal(wg_host4_set(r.h, moving_addr(i), (step / MOVING) % 2 ? i + 1000 : i),
			0);
		if (step % 1000 == 0)
			wg_host4_reclaim(r.h);
		/* Tombstone reuse makes natural rebuilds rare: force them under the readers. */
		if (step % 2000 == 0 && wg_host4_compact(r.h) != 0)
			busy++;
	}
	r.stop = true;
	pthread_join(th, NULL);
	print_message("host4 race: %" PRIu64 " lookups, %u rebuilds (%u busy), %u errors\n",
		r.lookups, wg_host4_rebuilds(r.h), busy, r.errors);
	assert_int_equal(r.errors, 0);
	assert_true(r.lookups > 0);
	assert_true(wg_host4_rebuilds(r.h) > 0);
	wg_host4_free(r.h);
}

/*
 * Retired tables outlive an online reader that has not reported quiescent:
 * rebuilds go on until the queue of retired tables is full, then report
 * -EBUSY (never free early, never wait) until the reader reports; the
 * table keeps answering throughout.
 */
static void
test_grace_period(void **state)
{
	struct wg_host4 *h = make(64);
	unsigned int i, r0;
	uint32_t v;
	int ret = 0;

	(void)state;
	assert_non_null(h);
	assert_int_equal(wg_host4_set(h, 7, 7), 0);
	assert_int_equal(rte_rcu_qsbr_thread_register(rcu, 2), 0);
	rte_rcu_qsbr_thread_online(rcu, 2);
	for (i = 0; i < 100 && ret == 0; i++)
		ret = wg_host4_compact(h);
	r0 = wg_host4_rebuilds(h);
	print_message("host4: %u rebuilds, then %d, while a reader held the grace period\n",
		r0, ret);
	assert_int_equal(ret, -EBUSY);
	assert_true(r0 >= 1 && r0 < 100);
	assert_int_equal(wg_host4_set(h, 7, 8), 0);
	assert_int_equal(wg_host4_set(h, 9, 9), 0);
	assert_true(wg_host4_lookup(h, 7, &v));
	assert_int_equal(v, 8);
	rte_rcu_qsbr_quiescent(rcu, 2);
	wg_host4_reclaim(h);
	assert_int_equal(wg_host4_compact(h), 0);
	assert_int_equal(wg_host4_rebuilds(h), r0 + 1);
	assert_true(wg_host4_lookup(h, 7, &v));
	assert_int_equal(v, 8);
	assert_true(wg_host4_lookup(h, 9, &v));
	rte_rcu_qsbr_thread_offline(rcu, 2);
	assert_int_equal(rte_rcu_qsbr_thread_unregister(rcu, 2), 0);
	wg_host4_free(h);
}

/* Fill, empty and refill with other addresses many times: tombstones are reused, answers stay right. */
static void
test_refill(void **state)
{
	struct wg_host4 *h = make(512);
	uint32_t v, a;
	unsigned int round, i;

	(void)state;
	assert_non_null(h);
	/* Fill to capacity, empty, refill with other addresses, many times over. */
	for (round = 0; round < 200; round++) {
		for (i = 0; i < 512; i++)
			assert_int_equal(wg_host4_set(h, round << 16 | i, i), 0);
		for (i = 0; i < 512; i += 2)
			wg_host4_del(h, round << 16 | i);
		for (i = 1; i < 512; i += 2)
			wg_host4_del(h, round << 16 | i);
	}
	print_message("host4: %u rebuilds in %u fill/empty rounds\n", wg_host4_rebuilds(h), round);
	for (a = 0; a < 512; a++)
		assert_int_equal(wg_host4_set(h, 0x7f000000u + a, a), 0);
	for (a = 0; a < 512; a++) {
		assert_true(wg_host4_lookup(h, 0x7f000000u + a, &v));
		assert_int_equal(v, a);
	}
	assert_int_equal(wg_host4_count(h), 512);
	wg_host4_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_concurrent_readers),
		cmocka_unit_test(test_grace_period),
		cmocka_unit_test(test_refill),
	};
	int ret;

	rcu = wg_test_eal_init("test_host4", "256", 4);
	if (rcu == NULL)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	wg_test_eal_fini(rcu);
	return ret;
}
