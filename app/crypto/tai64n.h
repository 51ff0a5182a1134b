/* SPDX-License-Identifier: BSD-3-Clause */
/* TAI64N timestamps (protocol.md §1.8): 2^62 + 10 + seconds, nanoseconds with the low 24 bits cleared. */
#ifndef WG_TAI64N_H
#define WG_TAI64N_H

#include <stdint.h>

enum { WG_TAI64N_LEN = 12 };

/* Encode a wall-clock time given as unix seconds and nanoseconds. */
void wg_tai64n_encode(uint8_t out[12], uint64_t unix_sec, uint32_t nsec);
/* Encode the current wall-clock time (CLOCK_REALTIME). */
void wg_tai64n_now(uint8_t out[12]);

#endif
