/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The two clocks, kept apart (design.md §5):
 *  - the wall clock (CLOCK_REALTIME), always real: TAI64N and "last handshake" times;
 *  - the protocol clock (monotonic nanoseconds): every age, timer and rate limit.
 * Tests replace the protocol clock, or speed it up by a factor.
 */
#ifndef WG_CLOCK_H
#define WG_CLOCK_H

#include <stdint.h>

/* Monotonic protocol time in nanoseconds (possibly sped up or replaced). */
uint64_t wg_clock_now(void);
/* Wall-clock time, never replaced: unix seconds and nanoseconds. */
void wg_clock_wall(uint64_t *sec, uint32_t *nsec);

/*
 * Replace the protocol clock by fn (NULL restores the real one). For tests.
 * The protocol clock then equals fn() at the moment of the call and advances
 * at the current speedup factor; it never goes below that value even if fn
 * goes backwards.
 */
void wg_clock_set_source(uint64_t (*fn)(void));
/*
 * Run the protocol clock factor times faster than real time, from now on.
 * Used by integration tests through WG_DPDK_CLOCK_SPEEDUP.
 */
void wg_clock_set_speedup(uint32_t factor);

#endif
