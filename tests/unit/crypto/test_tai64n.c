/* SPDX-License-Identifier: BSD-3-Clause */
/* TAI64N encoding (protocol.md §1.8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "crypto/clock.h"
#include "crypto/tai64n.h"
#include "kat_vectors.h"
#include "messages.h"

static void
test_spec_example(void **state)
{
	static const uint8_t want[12] = { 0x40, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x0a,
					  0x07, 0x00, 0x00, 0x00 };
	uint8_t out[12];

	(void)state;
	wg_tai64n_encode(out, 1700000000, 123456789);
	assert_memory_equal(out, want, 12);
	/* The KAT transcript uses the same timestamp. */
	assert_memory_equal(out, kat_nopsk_timestamp, 12);
}

static void
test_epoch_and_rounding(void **state)
{
	static const struct {
		uint64_t sec;
		uint32_t nsec;
		uint8_t want[12];
	} v[] = {
		/* Unix epoch: 2^62 + 10. */
		{ 0, 0, { 0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0 } },
		/* Below 2^24 ns rounds to zero. */
		{ 0, 0xffffff, { 0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0 } },
		/* Exactly 2^24 ns (16.78 ms): the first value that survives the rounding. */
		{ 0, 0x1000000, { 0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0x01, 0x00, 0x00, 0x00 } },
		/* 2^25 - 1 ns still rounds down to 2^24; 2^25 is the next step. */
		{ 0, 0x1ffffff, { 0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0x01, 0x00, 0x00, 0x00 } },
		{ 0, 0x2000000, { 0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0x02, 0x00, 0x00, 0x00 } },
		/* 20 ms (one initiation interval) lands in the 2^24 bucket. */
		{ 7, 20000000, { 0x40, 0, 0, 0, 0, 0, 0, 0x11, 0x01, 0x00, 0x00, 0x00 } },
		/* The largest valid nanosecond value: 999999999 = 0x3b9ac9ff. */
		{ 1, 999999999, { 0x40, 0, 0, 0, 0, 0, 0, 0x0b, 0x3b, 0x00, 0x00, 0x00 } },
		{ 0x0123456789ULL, 0x12345678,
		  { 0x40, 0, 0, 0x01, 0x23, 0x45, 0x67, 0x93, 0x12, 0x00, 0x00, 0x00 } },
		/* A carry out of the low seconds byte into the next ones. */
		{ 0xfffffff6ULL, 0, { 0x40, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0 } },
	};
	uint8_t out[12];
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(out, 0xee, sizeof(out));
		wg_tai64n_encode(out, v[i].sec, v[i].nsec);
		if (memcmp(out, v[i].want, 12) != 0)
			fail_msg("row %u: sec %llu nsec %u encodes wrongly", i,
				 (unsigned long long)v[i].sec, v[i].nsec);
	}
	/* Every nanosecond value within one 2^24 bucket encodes the same (buckets below 1 s). */
	for (i = 0; i < 59; i++) {
		uint8_t a[12], b[12], c[12];

		wg_tai64n_encode(a, 1700000000, (i << 24));
		wg_tai64n_encode(b, 1700000000, (i << 24) | (0xffffffu >> (i % 24)));
		assert_memory_equal(a, b, 12);
		/* ... and the next bucket is strictly greater. */
		wg_tai64n_encode(c, 1700000000, (i + 1) << 24);
		assert_true(memcmp(c, a, 12) > 0);
	}
}

static void
test_now_monotone_over_time(void **state)
{
	struct timespec pause = { .tv_sec = 0, .tv_nsec = 40 * 1000 * 1000 };
	uint8_t a[12], b[12], lo[12];
	uint64_t sec;
	uint32_t nsec;

	(void)state;
	wg_clock_wall(&sec, &nsec);
	wg_tai64n_encode(lo, sec, nsec);
	wg_tai64n_now(a);
	/* Consecutive calls may be equal (whitening) but not decreasing. */
	assert_true(memcmp(a, lo, 12) >= 0);
	/* More than one 16.8 ms bucket later the value has strictly increased. */
	nanosleep(&pause, NULL);
	wg_tai64n_now(b);
	assert_true(memcmp(b, a, 12) > 0);
	/* The real wall clock is used, not a replaced protocol clock. */
	assert_true(sec > 1600000000ULL);
}

static uint64_t
frozen_clock(void)
{
	return 5 * WG_NSEC_PER_SEC;
}

/* TAI64N follows CLOCK_REALTIME even while the protocol clock is replaced (two clocks). */
static void
test_now_ignores_protocol_clock(void **state)
{
	struct timespec before, after;
	uint8_t lo[12], got[12], hi[12];

	(void)state;
	wg_clock_set_source(frozen_clock);
	assert_int_equal(wg_clock_now(), 5 * WG_NSEC_PER_SEC);
	clock_gettime(CLOCK_REALTIME, &before);
	wg_tai64n_now(got);
	clock_gettime(CLOCK_REALTIME, &after);
	wg_clock_set_source(NULL);
	wg_tai64n_encode(lo, (uint64_t)before.tv_sec, (uint32_t)before.tv_nsec);
	wg_tai64n_encode(hi, (uint64_t)after.tv_sec, (uint32_t)after.tv_nsec);
	assert_true(memcmp(got, lo, 12) >= 0);
	assert_true(memcmp(got, hi, 12) <= 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_epoch_and_rounding),
		cmocka_unit_test(test_now_monotone_over_time),
		cmocka_unit_test(test_now_ignores_protocol_clock),
	};

	return cmocka_run_group_tests_name("tai64n", tests, NULL, NULL);
}
