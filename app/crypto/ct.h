/* SPDX-License-Identifier: BSD-3-Clause */
/* Constant-time comparison and secure zeroing: used for every MAC, key and secret. */
#ifndef WG_CT_H
#define WG_CT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* true when a and b are equal; time depends only on len. */
bool wg_ct_equal(const void *a, const void *b, size_t len) __attribute__((warn_unused_result));

/*
 * wg_ct_equal() for 16 bytes (Poly1305 tags, mac1, mac2), inline: two 64-bit
 * XORs ORed together, no branch before the verdict; the empty asm keeps the
 * compiler from turning the OR into an early exit.
 */
static inline bool __attribute__((warn_unused_result))
wg_ct_equal16(const void *a, const void *b)
{
	uint64_t x[2], y[2], d;

	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	d = (x[0] ^ y[0]) | (x[1] ^ y[1]);
	__asm__("" : "+r"(d));
	return d == 0;
}

/* true when every byte of p is zero; time depends only on len. */
bool wg_ct_is_zero(const void *p, size_t len) __attribute__((warn_unused_result));

/* Zero memory in a way the compiler may not elide. */
void wg_memzero(void *p, size_t len);

/* Fill with cryptographically secure random bytes (libsodium). */
void wg_random_bytes(void *p, size_t len);
uint32_t wg_random_u32(void);
/* Uniform in [0, upper_bound). */
uint32_t wg_random_uniform(uint32_t upper_bound);

#endif
