/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal: RFC 5869 HKDF parameterised by its HMAC, so that the WireGuard
 * KDF (HMAC-BLAKE2s, empty info) and the RFC's own SHA-256 vectors run
 * through the same extract/expand code. Not part of the public crypto API.
 */
#ifndef WG_HKDF_H
#define WG_HKDF_H

#include <stddef.h>
#include <stdint.h>

enum { WG_HKDF_MAX_HASH_LEN = 64 };

struct wg_hkdf_hash {
	size_t hash_len; /* output length of hmac, at most WG_HKDF_MAX_HASH_LEN */
	void (*hmac)(uint8_t *out, const void *key, size_t keylen, const void *in, size_t inlen);
};

/* prk = HMAC(salt, ikm); prk has h->hash_len bytes. */
void wg_hkdf_extract(const struct wg_hkdf_hash *h, uint8_t *prk, const void *salt, size_t saltlen,
		     const void *ikm, size_t ikmlen);
/*
 * okm = T(1) || T(2) || ... truncated to okmlen bytes, with
 * T(i) = HMAC(prk, T(i-1) || info || i). Returns 0, or -1 when okmlen exceeds
 * 255 * hash_len. Intermediate blocks are wiped.
 */
int wg_hkdf_expand(const struct wg_hkdf_hash *h, uint8_t *okm, size_t okmlen, const uint8_t *prk,
		   size_t prklen, const void *info, size_t infolen);

#endif
