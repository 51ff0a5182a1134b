/* SPDX-License-Identifier: BSD-3-Clause */
#include <sodium.h>

#include "crypto/ct.h"

bool
wg_ct_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

bool
wg_ct_is_zero(const void *p, size_t len)
{
	return sodium_is_zero(p, len) == 1;
}

void
wg_memzero(void *p, size_t len)
{
	sodium_memzero(p, len);
}

void
wg_random_bytes(void *p, size_t len)
{
	randombytes_buf(p, len);
}

uint32_t
wg_random_u32(void)
{
	return randombytes_random();
}

uint32_t
wg_random_uniform(uint32_t upper_bound)
{
	return randombytes_uniform(upper_bound);
}
