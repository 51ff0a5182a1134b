/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replay window (protocol.md §6.2): numbered vectors, a randomized
 * differential test against a naive model, the keypair's locked window under
 * several threads, and send-nonce reservation up to REJECT_AFTER_MESSAGES.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "messages.h"
#include "crypto/noise.h"
#include "crypto/replay.h"

#define W ((uint64_t)WG_REPLAY_WINDOW)
#define L REJECT_AFTER_MESSAGES

/* --- the naive model: every accepted counter in a set, plus the maximum --- */

struct naive {
	uint64_t *slots;        /* open addressing; UINT64_MAX marks an empty slot */
	size_t mask;
	size_t count;
	uint64_t max;
	bool any;
};

static void
naive_init(struct naive *n, size_t capacity)
{
	size_t size = 1;

	while (size < 2 * capacity)
		size <<= 1;
	n->slots = malloc(size * sizeof(*n->slots));
	assert_non_null(n->slots);
	memset(n->slots, 0xff, size * sizeof(*n->slots));
	n->mask = size - 1;
	n->count = 0;
	n->any = false;
	n->max = 0;
}

static size_t
naive_slot(const struct naive *n, uint64_t v)
{
	size_t i = (size_t)((v * 0x9e3779b97f4a7c15ULL) >> 20) & n->mask;

	while (n->slots[i] != UINT64_MAX && n->slots[i] != v)
		i = (i + 1) & n->mask;
	return i;
}

/* The rule of §6.2, written as plainly as possible. */
static bool
naive_check(struct naive *n, uint64_t v)
{
	size_t i;

	if (v >= L)
		return false;
	i = naive_slot(n, v);
	if (n->slots[i] == v)
		return false;
	if (n->any && v < n->max && n->max - v > W)
		return false;
	assert_true(n->count < n->mask / 2);
	n->slots[i] = v;
	n->count++;
	if (!n->any || v > n->max)
		n->max = v;
	n->any = true;
	return true;
}

/* --- numbered vectors --- */

struct vector {
	uint64_t counter;
	bool accept;
};

static const struct vector vectors[] = {
	/* 1 */ { 0, true },
	/* 2 */ { 1, true },
	/* 3 */ { 1, false },           /* duplicate */
	/* 4 */ { 9, true },
	/* 5 */ { 8, true },            /* reordered */
	/* 6 */ { 7, true },
	/* 7 */ { 7, false },
	/* 8 */ { 0, false },
	/* 9 */ { 9 + W, true },        /* 8137: 9 is now exactly at the window edge */
	/* 10 */ { 9, false },          /* at the edge but already seen */
	/* 11 */ { 10, true },          /* 8127 behind: inside */
	/* 12 */ { 2, false },          /* 8135 behind, never seen: outside the window */
};

static const struct vector vectors2[] = {
	/* 13 */ { 20000, true },
	/* 14 */ { 20000 - W, true },           /* n = last - 8128: accepted */
	/* 15 */ { 20000 - W - 1, false },      /* n = last - 8129: rejected */
	/* 16 */ { 20000 - W, false },          /* duplicate at the edge */
	/* 17 */ { 19999, true },
	/* 18 */ { 20001, true },
	/* 19 */ { 20000 + 64 * 200, true },    /* far jump: 200 blocks */
	/* 20 */ { 20000, false },              /* now far too old */
	/* 21 */ { 20000 + 128 * 64, true },    /* same ring slot as 20000: bit was cleared */
	/* 22 */ { 20000 + 64 * 200 - 1, true },
	/* 23 */ { 20000 + 64 * 200 - W, true },
	/* 24 */ { 20000 + 64 * 200 - W - 1, false },
	/* 25 */ { 20000 + 64 * 200 + 64 * 127, true }, /* jump of exactly 127 blocks */
	/* 26 */ { 20000 + 64 * 200 + 64 * 255, true }, /* exactly 128 blocks */
	/* 27 */ { 20000 + 64 * 200 + 64 * 384 + 5, true }, /* 129 blocks */
	/* 28 */ { 20000 + 64 * 200 + 64 * 384 + 5, false },
	/* 29 */ { 20000 + 64 * 200 + 64 * 384 + 5 - W, true }, /* the edge, in a cleared block */
};

static const struct vector vectors_limit[] = {
	/* 30 */ { L - 1, true },               /* the last usable counter */
	/* 31 */ { L, false },                  /* the limit itself */
	/* 32 */ { L + 1, false },
	/* 33 */ { UINT64_MAX, false },
	/* 34 */ { UINT64_MAX - 1, false },
	/* 35 */ { L - 2, true },
	/* 36 */ { L - 1, false },
	/* 37 */ { L - 1 - W, true },
	/* 38 */ { L - 2 - W, false },
	/* 39 */ { 0, false },
};

/* Each vector must match both its expectation and the model. */
static void
run_table(struct wg_replay *r, struct naive *n, const struct vector *v, size_t count,
	  unsigned int first_number)
{
	size_t i;

	for (i = 0; i < count; i++) {
		bool got = wg_replay_check(r, v[i].counter);
		bool model = naive_check(n, v[i].counter);

		if (got != model || got != v[i].accept)
			fail_msg("replay vector %u: counter %llu: got %d, model %d, expected %d",
				 first_number + (unsigned int)i, (unsigned long long)v[i].counter,
				 got, model, v[i].accept);
	}
}

static void
test_vectors(void **state)
{
	struct wg_replay r;
	struct naive n;

	(void)state;
	wg_replay_init(&r);
	naive_init(&n, 1024);
	run_table(&r, &n, vectors, sizeof(vectors) / sizeof(vectors[0]), 1);
	free(n.slots);

	wg_replay_init(&r);
	naive_init(&n, 1024);
	run_table(&r, &n, vectors2, sizeof(vectors2) / sizeof(vectors2[0]), 13);
	free(n.slots);

	wg_replay_init(&r);
	naive_init(&n, 1024);
	run_table(&r, &n, vectors_limit, sizeof(vectors_limit) / sizeof(vectors_limit[0]), 30);
	free(n.slots);
}

/*
 * The window size as a number, not through WG_REPLAY_WINDOW: 8128 counters
 * behind the highest accepted one still qualify, 8129 do not (§6.1).
 */
static const struct vector vectors_literal[] = {
	/* 40 */ { 100000, true },
	/* 41 */ { 91872, true },               /* 100000 - 8128 */
	/* 42 */ { 91871, false },              /* 100000 - 8129 */
	/* 43 */ { 91873, true },
	/* 44 */ { 108128, true },              /* slide: 100000 is now exactly 8128 behind */
	/* 45 */ { 100000, false },             /* seen */
	/* 46 */ { 99999, false },              /* 8129 behind */
	/* 47 */ { 100001, true },              /* 8127 behind */
};

static void
test_window_is_8128(void **state)
{
	struct wg_replay r;
	struct naive n;

	(void)state;
	assert_int_equal(WG_REPLAY_WINDOW, 8128);
	wg_replay_init(&r);
	naive_init(&n, 64);
	run_table(&r, &n, vectors_literal, sizeof(vectors_literal) / sizeof(vectors_literal[0]),
		  40);
	free(n.slots);
}

static void
test_first_counter_anywhere(void **state)
{
	struct wg_replay r;

	(void)state;
	/* Before anything is accepted every n < limit qualifies. */
	wg_replay_init(&r);
	assert_true(wg_replay_check(&r, L - 1));
	wg_replay_init(&r);
	assert_false(wg_replay_check(&r, UINT64_MAX));
	assert_true(wg_replay_check(&r, 123456789));
	wg_replay_init(&r);
	assert_true(wg_replay_check(&r, W + 1000));
	assert_true(wg_replay_check(&r, 1000));
	assert_false(wg_replay_check(&r, 999));
}

static void
test_reorder_burst(void **state)
{
	struct wg_replay r;
	uint64_t i;

	(void)state;
	wg_replay_init(&r);
	for (i = 0; i < 3 * 64; i++)
		assert_true(wg_replay_check(&r, 40000 + 3 * 64 - 1 - i));
	for (i = 0; i < 3 * 64; i++)
		assert_false(wg_replay_check(&r, 40000 + i));
	/* Every other counter of a window-wide span, then the gaps. */
	for (i = 0; i < W; i += 2)
		assert_true(wg_replay_check(&r, 50000 + i));
	for (i = 1; i < W; i += 2)
		assert_true(wg_replay_check(&r, 50000 + i));
	for (i = 0; i < W; i++)
		assert_false(wg_replay_check(&r, 50000 + i));
}

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* A random walk around the window's edges, with replays of recent counters. */
static uint64_t
next_counter(uint64_t *rng, const struct naive *n, uint64_t base, const uint64_t recent[16])
{
	uint64_t r = xorshift(rng), max = n->any ? n->max : base;
	unsigned int kind = (unsigned int)(r % 100);
	uint64_t d = (r >> 8) % (W + 200);

	if (kind < 30)
		return max + 1 + d % 70;                /* forward, small */
	if (kind < 60)
		return max >= d ? max - d : d;          /* backwards, across the edge */
	if (kind < 70)
		return max - W - 3 + (r >> 8) % 7;      /* exactly at the edge */
	if (kind < 75)
		return max + (r >> 8) % (64 * 300);     /* far jumps */
	if (kind < 77)
		return max + 64 * 128 + (r >> 8) % 128; /* a ring's length ahead */
	return recent[(r >> 8) % 16];                   /* duplicates */
}

static void
differential(uint64_t seed, uint64_t base, unsigned int steps, bool balanced)
{
	uint64_t rng = seed, v, recent[16];
	unsigned int i, accepted = 0;
	struct wg_replay r;
	struct naive n;

	wg_replay_init(&r);
	naive_init(&n, steps);
	for (i = 0; i < 16; i++)
		recent[i] = base;
	for (i = 0; i < steps; i++) {
		v = next_counter(&rng, &n, base, recent);
		bool got = wg_replay_check(&r, v);
		bool model = naive_check(&n, v);

		if (got != model)
			fail_msg("seed %llu step %u counter %llu: window %d, model %d",
				 (unsigned long long)seed, i, (unsigned long long)v, got, model);
		if (got)
			recent[i % 16] = v;
		accepted += got;
	}
	print_message("seed %llu: %u of %u accepted\n", (unsigned long long)seed, accepted, steps);
	/* The walk must exercise both outcomes a lot. */
	assert_true(accepted > (balanced ? steps / 5 : steps / 50));
	assert_true(accepted < steps - steps / 5);
	free(n.slots);
}

static void
test_differential(void **state)
{
	(void)state;
	differential(0x9e3779b97f4a7c15ULL, 0, 120000, true);
	differential(12345, 1ULL << 40, 50000, true);
}

static void
test_differential_near_limit(void **state)
{
	(void)state;
	/* Walks that run into REJECT_AFTER_MESSAGES and past 2^64. */
	differential(777, L - 4 * W, 30000, false);
	differential(4242, UINT64_MAX - 64 * 300, 30000, false);
}

/* --- the keypair's side: nonce reservation and the locked window --- */

static struct noise_keypair *
keypair_new(void)
{
	struct noise_keypair *kp = aligned_alloc(WG_NOISE_CACHE_LINE, sizeof(*kp));

	assert_non_null(kp);
	memset(kp, 0, sizeof(*kp));
	atomic_init(&kp->send_counter, 0);
	atomic_init(&kp->sending_valid, true);
	atomic_init(&kp->receiving_valid, true);
	atomic_flag_clear(&kp->replay_lock);
	wg_replay_init(&kp->replay);
	return kp;
}

static void
test_nonce_limit(void **state)
{
	struct noise_keypair *kp = keypair_new();
	uint64_t first = 0;

	(void)state;
	assert_false(wg_noise_keypair_nonce_reserve(kp, 0, &first));
	assert_false(wg_noise_keypair_nonce_reserve(kp, WG_NOISE_NONCE_BURST_MAX + 1, &first));
	assert_true(wg_noise_keypair_nonce_reserve(kp, 3, &first));
	assert_int_equal(first, 0);
	assert_true(wg_noise_keypair_nonce_reserve(kp, 1, &first));
	assert_int_equal(first, 3);

	atomic_store(&kp->send_counter, L - 10);
	assert_true(wg_noise_keypair_nonce_reserve(kp, 4, &first));
	assert_true(first == L - 10);
	/* L-6 .. L-1: the last usable nonces, exactly up to the limit. */
	assert_true(wg_noise_keypair_nonce_reserve(kp, 6, &first));
	assert_true(first == L - 6);
	assert_true(wg_noise_keypair_send_usable(kp, kp->birth) == false);
	assert_false(wg_noise_keypair_nonce_reserve(kp, 1, &first));
	assert_false(atomic_load(&kp->sending_valid));

	/* A burst that would cross the limit fails whole, and sending stops. */
	atomic_store(&kp->send_counter, L - 3);
	atomic_store(&kp->sending_valid, true);
	first = 42;
	assert_false(wg_noise_keypair_nonce_reserve(kp, 4, &first));
	assert_int_equal(first, 42);
	assert_false(atomic_load(&kp->sending_valid));
	atomic_store(&kp->send_counter, 0);
	assert_false(wg_noise_keypair_nonce_reserve(kp, 1, &first));
	free(kp);
}

enum { THREADS = 4, BURSTS = 4000, BURST = 8, SHARED_COUNTERS = 20000 };

struct worker_arg {
	struct noise_keypair *kp;
	uint64_t firsts[BURSTS];
	unsigned int accepted;
	unsigned int seed;
};

static void *
reserve_worker(void *p)
{
	struct worker_arg *a = p;
	unsigned int i;

	for (i = 0; i < BURSTS; i++)
		if (!wg_noise_keypair_nonce_reserve(a->kp, BURST, &a->firsts[i]))
			a->firsts[i] = UINT64_MAX;
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_nonce_threads(void **state)
{
	struct noise_keypair *kp = keypair_new();
	static struct worker_arg args[THREADS];
	static uint64_t all[THREADS * BURSTS];
	pthread_t th[THREADS];
	unsigned int i, j;

	(void)state;
	for (i = 0; i < THREADS; i++) {
		args[i].kp = kp;
		assert_int_equal(pthread_create(&th[i], NULL, reserve_worker, &args[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < THREADS; i++)
		for (j = 0; j < BURSTS; j++)
			all[i * BURSTS + j] = args[i].firsts[j];
	qsort(all, THREADS * BURSTS, sizeof(all[0]), cmp_u64);
	/* Disjoint bursts covering 0 .. THREADS*BURSTS*BURST - 1 exactly. */
	for (i = 0; i < THREADS * BURSTS; i++)
		assert_true(all[i] == (uint64_t)i * BURST);
	free(kp);
}

static void *
replay_worker(void *p)
{
	struct worker_arg *a = p;
	unsigned int i;
	uint64_t rng = a->seed;

	/* Every thread offers every counter once, in its own order. */
	for (i = 0; i < SHARED_COUNTERS; i++) {
		uint64_t c = (i + xorshift(&rng) % 64) % SHARED_COUNTERS;

		a->accepted += wg_noise_keypair_replay_check(a->kp, c);
		a->accepted += wg_noise_keypair_replay_check(a->kp, i);
	}
	return NULL;
}

static void
test_replay_threads(void **state)
{
	struct noise_keypair *kp = keypair_new();
	static struct worker_arg args[THREADS];
	pthread_t th[THREADS];
	unsigned int i, total = 0;

	(void)state;
	for (i = 0; i < THREADS; i++) {
		args[i].kp = kp;
		args[i].accepted = 0;
		args[i].seed = 1000 + i;
		assert_int_equal(pthread_create(&th[i], NULL, replay_worker, &args[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < THREADS; i++)
		total += args[i].accepted;
	/* Each counter accepted exactly once among all threads. */
	assert_int_equal(total, SHARED_COUNTERS);
	for (i = 0; i < SHARED_COUNTERS; i++)
		assert_false(wg_noise_keypair_replay_check(kp, i));
	free(kp);
}

static void
test_keypair_receive_limit(void **state)
{
	struct noise_keypair *kp = keypair_new();

	(void)state;
	assert_true(wg_noise_keypair_receive_usable(kp, 0));
	assert_true(wg_noise_keypair_replay_check(kp, L - 2));
	assert_true(wg_noise_keypair_receive_usable(kp, 0));
	assert_false(wg_noise_keypair_replay_check(kp, L));
	assert_true(wg_noise_keypair_replay_check(kp, L - 1));
	/* Nothing can follow the last counter: the keypair stops receiving. */
	assert_false(wg_noise_keypair_receive_usable(kp, 0));
	/* And expires by age. */
	atomic_store(&kp->receiving_valid, true);
	assert_true(wg_noise_keypair_receive_usable(kp, (uint64_t)REJECT_AFTER_TIME *
							    WG_NSEC_PER_SEC - 1));
	assert_false(wg_noise_keypair_receive_usable(kp, (uint64_t)REJECT_AFTER_TIME *
							     WG_NSEC_PER_SEC));
	free(kp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_window_is_8128),
		cmocka_unit_test(test_first_counter_anywhere),
		cmocka_unit_test(test_reorder_burst),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_differential_near_limit),
		cmocka_unit_test(test_nonce_limit),
		cmocka_unit_test(test_nonce_threads),
		cmocka_unit_test(test_replay_threads),
		cmocka_unit_test(test_keypair_receive_limit),
	};

	return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
