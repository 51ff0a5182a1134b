/* SPDX-License-Identifier: BSD-3-Clause */
#include "crypto/clock.h"
#include "crypto/tai64n.h"

/* libtai's label for 1970 TAI: 2^62 + 10 (protocol.md §1.8). */
#define TAI64_BASE 0x400000000000000aULL
/* Whitening: clear the low 24 bits of the nanoseconds (~16.8 ms resolution). */
#define TAI64N_NSEC_MASK (~(uint32_t)0xffffff)

void
wg_tai64n_encode(uint8_t out[12], uint64_t unix_sec, uint32_t nsec)
{
	uint64_t sec = TAI64_BASE + unix_sec;
	uint32_t ns = nsec & TAI64N_NSEC_MASK;
	unsigned int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(ns >> (24 - 8 * i));
}

void
wg_tai64n_now(uint8_t out[12])
{
	uint64_t sec;
	uint32_t nsec;

	wg_clock_wall(&sec, &nsec);
	wg_tai64n_encode(out, sec, nsec);
}
