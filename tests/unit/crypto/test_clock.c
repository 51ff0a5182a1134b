/* SPDX-License-Identifier: BSD-3-Clause */
/* The protocol clock: source replacement and speedup, against a fake source. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "crypto/clock.h"

static _Atomic uint64_t fake_ns;

static uint64_t
fake_source(void)
{
	return atomic_load(&fake_ns);
}

static int
reset(void **state)
{
	(void)state;
	/* Factor first: restoring the source then makes the clock exactly CLOCK_MONOTONIC. */
	wg_clock_set_speedup(1);
	wg_clock_set_source(NULL);
	return 0;
}

static void
test_real_clock(void **state)
{
	struct timespec ts;
	uint64_t a, b, mono;

	(void)state;
	a = wg_clock_now();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	mono = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	b = wg_clock_now();
	assert_true(a <= mono && mono <= b);
}

static void
test_source_replacement(void **state)
{
	uint64_t sec;
	uint32_t nsec;

	(void)state;
	atomic_store(&fake_ns, 5000);
	wg_clock_set_source(fake_source);
	assert_int_equal(wg_clock_now(), 5000);
	atomic_store(&fake_ns, 123456789);
	assert_int_equal(wg_clock_now(), 123456789);
	/* A source that goes backwards never drags the clock below its base. */
	atomic_store(&fake_ns, 0);
	assert_true(wg_clock_now() >= 5000);
	/* The wall clock is never replaced. */
	wg_clock_wall(&sec, &nsec);
	assert_true(sec > 1600000000ULL);
	assert_true(nsec < 1000000000U);
	/* NULL restores the real clock. */
	wg_clock_set_source(NULL);
	assert_true(wg_clock_now() > 123456789ULL);
}

static void
test_speedup_fake(void **state)
{
	uint64_t t0, t1, t2, t3;

	(void)state;
	atomic_store(&fake_ns, 1000000000ULL);
	wg_clock_set_source(fake_source);
	t0 = wg_clock_now();
	atomic_fetch_add(&fake_ns, 1000);
	t1 = wg_clock_now();
	assert_int_equal(t1 - t0, 1000);

	/* From the moment of the call: no jump, then 10 times faster. */
	wg_clock_set_speedup(10);
	assert_int_equal(wg_clock_now(), t1);
	atomic_fetch_add(&fake_ns, 1000000);
	t2 = wg_clock_now();
	assert_int_equal(t2 - t1, 10000000);

	/* Changing the factor again is continuous too. */
	wg_clock_set_speedup(3);
	assert_int_equal(wg_clock_now(), t2);
	atomic_fetch_add(&fake_ns, 100);
	t3 = wg_clock_now();
	assert_int_equal(t3 - t2, 300);

	/* Back to real speed: still continuous, never backwards. */
	wg_clock_set_speedup(1);
	assert_int_equal(wg_clock_now(), t3);
	atomic_fetch_add(&fake_ns, 7);
	assert_int_equal(wg_clock_now(), t3 + 7);
}

static void
test_speedup_real_monotone(void **state)
{
	struct timespec pause = { .tv_sec = 0, .tv_nsec = 2 * 1000 * 1000 };
	uint64_t prev, now, real0, real1, proto0, proto1;
	unsigned int i;

	(void)state;
	prev = wg_clock_now();
	for (i = 0; i < 1000; i++) {
		if (i % 100 == 0)
			wg_clock_set_speedup(1 + i / 100);
		now = wg_clock_now();
		assert_true(now >= prev);
		prev = now;
	}
	/* ≈ factor: with 1000x the protocol clock covers more than 100x the real time. */
	wg_clock_set_speedup(1000);
	{
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		real0 = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
		proto0 = wg_clock_now();
		nanosleep(&pause, NULL);
		proto1 = wg_clock_now();
		clock_gettime(CLOCK_MONOTONIC, &ts);
		real1 = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	}
	assert_true(proto1 - proto0 <= 1000 * (real1 - real0));
	assert_true(proto1 - proto0 >= 100 * (uint64_t)pause.tv_nsec);
}

struct reader_arg {
	_Atomic int stop;
	_Atomic int backwards;
};

static void *
reader(void *p)
{
	struct reader_arg *arg = p;
	uint64_t prev = wg_clock_now(), now;

	while (!atomic_load(&arg->stop)) {
		now = wg_clock_now();
		if (now < prev)
			atomic_store(&arg->backwards, 1);
		prev = now;
	}
	return NULL;
}

/* Readers on other threads never see the clock go backwards while the factor changes. */
static void
test_concurrent_readers(void **state)
{
	struct reader_arg arg = { 0 };
	pthread_t th[2];
	unsigned int i;

	(void)state;
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &arg), 0);
	for (i = 0; i < 20000; i++)
		wg_clock_set_speedup(1 + i % 7);
	atomic_store(&arg.stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&arg.backwards), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_real_clock, reset),
		cmocka_unit_test_teardown(test_source_replacement, reset),
		cmocka_unit_test_teardown(test_speedup_fake, reset),
		cmocka_unit_test_teardown(test_speedup_real_monotone, reset),
		cmocka_unit_test_teardown(test_concurrent_readers, reset),
	};

	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
