/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-source handshake rate limiter (protocol.md §7.3) on a fake protocol clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "messages.h"
#include "crypto/clock.h"
#include "crypto/ratelimiter.h"

#define MS 1000000ULL

static uint64_t fake_now;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

static int
setup(void **state)
{
	fake_now = 1000 * WG_NSEC_PER_SEC;
	wg_clock_set_source(fake_clock);
	*state = wg_ratelimiter_create(0);
	return *state == NULL;
}

static int
teardown(void **state)
{
	wg_ratelimiter_destroy(*state);
	wg_clock_set_source(NULL);
	return 0;
}

static const uint8_t *
v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	static uint8_t addr[4];

	addr[0] = a;
	addr[1] = b;
	addr[2] = c;
	addr[3] = d;
	return addr;
}

/* 2001:db8:<net>:<sub>::<host> */
static const uint8_t *
v6(uint16_t net, uint16_t sub, uint32_t host)
{
	static uint8_t addr[16];

	memset(addr, 0, sizeof(addr));
	addr[0] = 0x20;
	addr[1] = 0x01;
	addr[2] = 0x0d;
	addr[3] = 0xb8;
	addr[4] = (uint8_t)(net >> 8);
	addr[5] = (uint8_t)net;
	addr[6] = (uint8_t)(sub >> 8);
	addr[7] = (uint8_t)sub;
	addr[12] = (uint8_t)(host >> 24);
	addr[13] = (uint8_t)(host >> 16);
	addr[14] = (uint8_t)(host >> 8);
	addr[15] = (uint8_t)host;
	return addr;
}

/* How many packets in a row the source gets through right now. */
static unsigned int
burst(struct wg_ratelimiter *rl, int family, const uint8_t *addr)
{
	unsigned int n = 0;

	while (n < 100 && wg_ratelimiter_allow(rl, family, addr))
		n++;
	return n;
}

static void
test_burst_and_refill(void **state)
{
	struct wg_ratelimiter *rl = *state;
	int i;

	/* A new source: allowed, plus 4 more in the burst; the 6th is refused. */
	for (i = 0; i < 5; i++)
		assert_true(wg_ratelimiter_allow(rl, AF_INET, v4(192, 0, 2, 1)));
	assert_false(wg_ratelimiter_allow(rl, AF_INET, v4(192, 0, 2, 1)));
	assert_false(wg_ratelimiter_allow(rl, AF_INET, v4(192, 0, 2, 1)));

	/* 49.999 ms later: not yet a whole packet's worth of tokens. */
	fake_now += 50 * MS - 1;
	assert_false(wg_ratelimiter_allow(rl, AF_INET, v4(192, 0, 2, 1)));
	/* 50 ms after the last success: exactly one more. */
	fake_now += 1;
	assert_true(wg_ratelimiter_allow(rl, AF_INET, v4(192, 0, 2, 1)));
	assert_false(wg_ratelimiter_allow(rl, AF_INET, v4(192, 0, 2, 1)));

	/* 20 packets per second sustained. */
	for (i = 0; i < 20; i++) {
		fake_now += 50 * MS;
		assert_true(wg_ratelimiter_allow(rl, AF_INET, v4(192, 0, 2, 1)));
		assert_false(wg_ratelimiter_allow(rl, AF_INET, v4(192, 0, 2, 1)));
	}

	/* The bucket holds at most 5 packets however long the source was quiet. */
	fake_now += 900 * MS;
	assert_int_equal(burst(rl, AF_INET, v4(192, 0, 2, 1)), 5);

	/* Another address has its own bucket. */
	assert_int_equal(burst(rl, AF_INET, v4(192, 0, 2, 2)), 5);
	assert_int_equal(wg_ratelimiter_count(rl), 2);
}

/*
 * IPv6 is keyed on the upper 64 bits (§7.3): for each byte of the address, a
 * source differing from the base only in that byte shares the base's bucket
 * (bytes 8-15, the interface identifier) or has its own (bytes 0-7, the /64).
 */
static void
test_ipv6_prefix(void **state)
{
	static const uint8_t base[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
					  0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22, 0x33, 0x44 };
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };
	struct wg_ratelimiter *rl = *state;
	uint8_t other[16];
	unsigned int byte, f, i;
	bool shared;

	for (byte = 0; byte < 16; byte++) {
		for (f = 0; f < sizeof(flips); f++) {
			shared = byte >= 8;
			memcpy(other, base, 16);
			other[byte] ^= flips[f];
			/*
			 * Alternate the two, 3 for base and 2 for other: one shared
			 * bucket is then empty; two own buckets have 2 and 3 left.
			 */
			for (i = 0; i < 5; i++)
				assert_true(wg_ratelimiter_allow(rl, AF_INET6,
								 i % 2 ? other : base));
			if (burst(rl, AF_INET6, other) != (shared ? 0 : 3) ||
			    burst(rl, AF_INET6, base) != (shared ? 0 : 2))
				fail_msg("byte %u ^ 0x%02x: expected %s bucket", byte, flips[f],
					 shared ? "a shared" : "its own");
			assert_int_equal(wg_ratelimiter_count(rl), shared ? 1 : 2);
			/* Let both buckets go idle and be collected before the next row. */
			fake_now += 1001 * MS;
			wg_ratelimiter_gc(rl);
			assert_int_equal(wg_ratelimiter_count(rl), 0);
		}
	}
	/* Bytes 8-15 all changed at once: still the base's /64. */
	memset(other, 0, 16);
	memcpy(other, base, 8);
	assert_int_equal(burst(rl, AF_INET6, base), 5);
	assert_int_equal(burst(rl, AF_INET6, other), 0);
	memset(other + 8, 0xff, 8);
	assert_int_equal(burst(rl, AF_INET6, other), 0);
	/* The helper's shape too: another /64 in the same /48 does not share. */
	assert_int_equal(burst(rl, AF_INET6, v6(1, 2, 1)), 5);
	assert_int_equal(burst(rl, AF_INET6, v6(1, 3, 1)), 5);
	/* An IPv4 address whose bytes equal the prefix's first bytes is another key. */
	assert_int_equal(burst(rl, AF_INET, base), 5);
	assert_int_equal(wg_ratelimiter_count(rl), 4);
	/* Unknown family: refused. */
	assert_false(wg_ratelimiter_allow(rl, AF_UNIX, v4(1, 2, 3, 4)));
}

static void
test_gc(void **state)
{
	struct wg_ratelimiter *rl = *state;
	unsigned int i;

	for (i = 0; i < 100; i++)
		assert_true(wg_ratelimiter_allow(rl, AF_INET, v4(10, 0, 0, (uint8_t)i)));
	assert_int_equal(burst(rl, AF_INET, v4(10, 0, 0, 7)), 4);
	fake_now += 500 * MS;
	/* Half of them stay active. */
	for (i = 0; i < 100; i += 2)
		assert_true(wg_ratelimiter_allow(rl, AF_INET, v4(10, 0, 0, (uint8_t)i)));

	/* Idle for exactly 1 s: kept. */
	fake_now += 500 * MS;
	assert_int_equal(wg_ratelimiter_gc(rl), 0);
	assert_int_equal(wg_ratelimiter_count(rl), 100);
	/* More than 1 s: removed. */
	fake_now += 1;
	assert_int_equal(wg_ratelimiter_gc(rl), 50);
	assert_int_equal(wg_ratelimiter_count(rl), 50);
	/* The survivors still work, and were found again after the removals. */
	for (i = 0; i < 100; i += 2)
		assert_true(wg_ratelimiter_allow(rl, AF_INET, v4(10, 0, 0, (uint8_t)i)));
	assert_int_equal(wg_ratelimiter_count(rl), 50);
	fake_now += 1001 * MS;
	assert_int_equal(wg_ratelimiter_gc(rl), 50);
	assert_int_equal(wg_ratelimiter_count(rl), 0);
	/* A collected source starts again with a full burst. */
	assert_int_equal(burst(rl, AF_INET, v4(10, 0, 0, 7)), 5);
}

static void
test_table_full(void **state)
{
	struct wg_ratelimiter *rl = wg_ratelimiter_create(64);
	unsigned int i;

	(void)state;
	assert_non_null(rl);
	for (i = 0; i < 64; i++)
		assert_true(wg_ratelimiter_allow(rl, AF_INET, v4(198, 51, 100, (uint8_t)i)));
	assert_int_equal(wg_ratelimiter_count(rl), 64);
	/* Full: a new source is refused, known ones still work. */
	assert_false(wg_ratelimiter_allow(rl, AF_INET, v4(198, 51, 100, 200)));
	assert_false(wg_ratelimiter_allow(rl, AF_INET6, v6(9, 9, 9)));
	assert_true(wg_ratelimiter_allow(rl, AF_INET, v4(198, 51, 100, 3)));
	fake_now += 500 * MS;
	assert_false(wg_ratelimiter_allow(rl, AF_INET, v4(198, 51, 100, 201)));
	assert_int_equal(wg_ratelimiter_count(rl), 64);
	assert_true(wg_ratelimiter_allow(rl, AF_INET, v4(198, 51, 100, 3)));

	/* Once entries are idle for over 1 s, a full table cleans up by itself. */
	fake_now += 1000 * MS;
	/* .3 was idle exactly 1 s: kept; the 63 others go. */
	assert_true(wg_ratelimiter_allow(rl, AF_INET, v4(198, 51, 100, 202)));
	assert_int_equal(wg_ratelimiter_count(rl), 2);
	wg_ratelimiter_destroy(rl);
}

static void
test_many_sources(void **state)
{
	struct wg_ratelimiter *rl = wg_ratelimiter_create(5000);
	uint8_t addr[4];
	unsigned int i, round;

	(void)state;
	assert_non_null(rl);
	/*
	 * Probe chains stay correct through inserts and backward-shift
	 * removals: a surviving entry that could no longer be found would
	 * come back as a new source with a full bucket.
	 */
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 5000; i++) {
			memcpy(addr, &i, sizeof(addr));
			addr[3] = (uint8_t)round;
			assert_true(wg_ratelimiter_allow(rl, AF_INET, addr));
		}
		/* Every third source empties its bucket 800 ms later. */
		fake_now += 800 * MS;
		for (i = 0; i < 5000; i += 3) {
			memcpy(addr, &i, sizeof(addr));
			addr[3] = (uint8_t)round;
			assert_int_equal(burst(rl, AF_INET, addr), 5);
		}
		/* 1 s + 1 ns after the start: the others are idle too long. */
		fake_now += 200 * MS + 1;
		assert_int_equal(wg_ratelimiter_gc(rl), 5000 - (5000 + 2) / 3);
		assert_int_equal(wg_ratelimiter_count(rl), (5000 + 2) / 3);
		/*
		 * Kept ones first (re-inserting the others first could refill
		 * a hole and hide a lost entry): 200 ms of tokens, 4 packets.
		 */
		for (i = 0; i < 5000; i += 3) {
			memcpy(addr, &i, sizeof(addr));
			addr[3] = (uint8_t)round;
			assert_int_equal(burst(rl, AF_INET, addr), 4);
		}
		assert_int_equal(wg_ratelimiter_count(rl), (5000 + 2) / 3);
		/* Removed ones come back as new sources: 5. */
		for (i = 0; i < 5000; i++) {
			memcpy(addr, &i, sizeof(addr));
			addr[3] = (uint8_t)round;
			if (i % 3 != 0)
				assert_int_equal(burst(rl, AF_INET, addr), 5);
		}
		assert_int_equal(wg_ratelimiter_count(rl), 5000);
		fake_now += 2000 * MS;
		wg_ratelimiter_gc(rl);
		assert_int_equal(wg_ratelimiter_count(rl), 0);
	}
	wg_ratelimiter_destroy(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_burst_and_refill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_sources, setup, teardown),
	};

	return cmocka_run_group_tests_name("ratelimiter", tests, NULL, NULL);
}
