/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The protocol clock is base_proto + (source() - base_real) * factor. The
 * three parameters and the source change together under a sequence counter:
 * readers never block or write shared memory, they retry if a change raced
 * with them. Changes are rare (tests, start-up) and serialised among writers.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "crypto/clock.h"

typedef uint64_t (*clock_source_t)(void);

static uint64_t
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct {
	_Atomic uint32_t seq;           /* odd while a writer is changing the rest */
	_Atomic(clock_source_t) source; /* NULL: the real monotonic clock */
	_Atomic uint64_t base_real;     /* source() when the parameters last changed */
	_Atomic uint64_t base_proto;    /* protocol time at that moment */
	_Atomic uint32_t factor;        /* 1: real time */
} clk = { .factor = 1 };

static inline uint64_t
read_source(clock_source_t fn)
{
	return fn != NULL ? fn() : monotonic_ns();
}

static inline uint64_t
project(uint64_t now, uint64_t base_real, uint64_t base_proto, uint32_t factor)
{
	/* A replaced source may go backwards: never project before the base. */
	if (now < base_real)
		now = base_real;
	return base_proto + (now - base_real) * factor;
}

uint64_t
wg_clock_now(void)
{
	uint64_t br, bp, now;
	clock_source_t fn;
	uint32_t s1, s2, f;

	do {
		s1 = atomic_load_explicit(&clk.seq, memory_order_acquire);
		fn = atomic_load_explicit(&clk.source, memory_order_relaxed);
		br = atomic_load_explicit(&clk.base_real, memory_order_relaxed);
		bp = atomic_load_explicit(&clk.base_proto, memory_order_relaxed);
		f = atomic_load_explicit(&clk.factor, memory_order_relaxed);
		/*
		 * Read the source inside the section: a reader that validates
		 * read it entirely before or after any change, so no thread
		 * sees an older value projected with newer parameters.
		 */
		now = read_source(fn);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&clk.seq, memory_order_relaxed);
	} while ((s1 & 1) != 0 || s1 != s2);

	return project(now, br, bp, f);
}

static uint32_t
write_begin(void)
{
	uint32_t s = atomic_load_explicit(&clk.seq, memory_order_relaxed);

	for (;;) {
		if ((s & 1) == 0 && atomic_compare_exchange_weak_explicit(&clk.seq, &s, s + 1,
				memory_order_acquire, memory_order_relaxed))
			break;
		s = atomic_load_explicit(&clk.seq, memory_order_relaxed);
	}
	atomic_thread_fence(memory_order_release);
	return s + 1;
}

static void
write_end(uint32_t s)
{
	atomic_store_explicit(&clk.seq, s + 1, memory_order_release);
}

void
wg_clock_set_source(uint64_t (*fn)(void))
{
	uint32_t s = write_begin();
	uint64_t now = read_source(fn);

	/* From now on wg_clock_now() == fn() while the factor is 1. */
	atomic_store_explicit(&clk.source, fn, memory_order_relaxed);
	atomic_store_explicit(&clk.base_real, now, memory_order_relaxed);
	atomic_store_explicit(&clk.base_proto, now, memory_order_relaxed);
	write_end(s);
}

void
wg_clock_set_speedup(uint32_t factor)
{
	uint32_t s = write_begin();
	clock_source_t fn = atomic_load_explicit(&clk.source, memory_order_relaxed);
	uint64_t br = atomic_load_explicit(&clk.base_real, memory_order_relaxed);
	uint64_t bp = atomic_load_explicit(&clk.base_proto, memory_order_relaxed);
	uint32_t f = atomic_load_explicit(&clk.factor, memory_order_relaxed);
	uint64_t now = read_source(fn);

	if (factor == 0)
		factor = 1;
	/* Rebase at the current protocol time: continuous, never backwards. */
	atomic_store_explicit(&clk.base_real, now, memory_order_relaxed);
	atomic_store_explicit(&clk.base_proto, project(now, br, bp, f), memory_order_relaxed);
	atomic_store_explicit(&clk.factor, factor, memory_order_relaxed);
	write_end(s);
}

void
wg_clock_wall(uint64_t *sec, uint32_t *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = (uint64_t)ts.tv_sec;
	*nsec = (uint32_t)ts.tv_nsec;
}
