/* SPDX-License-Identifier: BSD-3-Clause */
/* HASH, MAC, HMAC and KDF of protocol.md §1.2-§1.5, over BLAKE2s (libb2). */
#ifndef WG_BLAKE2S_H
#define WG_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>

enum { WG_BLAKE2S_HASH_LEN = 32, WG_BLAKE2S_BLOCK_LEN = 64 };

/* HASH(in): unkeyed BLAKE2s-256. */
void wg_hash(uint8_t out[32], const void *in, size_t inlen);
/* HASH(a || b), the form every Noise MixHash takes. */
void wg_hash2(uint8_t out[32], const void *a, size_t alen, const void *b, size_t blen);
/*
 * BLAKE2s keyed mode (RFC 7693) with outlen bytes of output (1..32) and a key
 * of 0..32 bytes; outlen and keylen go into the parameter block.
 */
void wg_blake2s_keyed(uint8_t *out, size_t outlen, const void *key, size_t keylen,
		      const void *in, size_t inlen);
/* MAC(key, in): wg_blake2s_keyed with outlen 16 (not a truncated 32-byte hash). */
void wg_mac(uint8_t out[16], const void *key, size_t keylen, const void *in, size_t inlen);
/* HMAC-BLAKE2s-256 (RFC 2104, 64-byte block). */
void wg_hmac(uint8_t out[32], const void *key, size_t keylen, const void *in, size_t inlen);
/*
 * KDFn(key, input) of §1.5: writes t1, t2, t3 to the non-NULL outputs
 * (t2 / t3 NULL for KDF1 / KDF2). Intermediate values are wiped.
 */
void wg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const void *key, size_t keylen,
	    const void *input, size_t inlen);

#endif
