/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <blake2.h>

#include "crypto/blake2s.h"
#include "crypto/ct.h"
#include "crypto/hkdf.h"

void
wg_hash(uint8_t out[32], const void *in, size_t inlen)
{
	blake2s_state s;

	blake2s_init(&s, WG_BLAKE2S_HASH_LEN);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, out, WG_BLAKE2S_HASH_LEN);
	wg_memzero(&s, sizeof(s));
}

void
wg_hash2(uint8_t out[32], const void *a, size_t alen, const void *b, size_t blen)
{
	blake2s_state s;

	blake2s_init(&s, WG_BLAKE2S_HASH_LEN);
	blake2s_update(&s, a, alen);
	blake2s_update(&s, b, blen);
	blake2s_final(&s, out, WG_BLAKE2S_HASH_LEN);
	wg_memzero(&s, sizeof(s));
}

void
wg_blake2s_keyed(uint8_t *out, size_t outlen, const void *key, size_t keylen, const void *in,
		 size_t inlen)
{
	blake2s_state s;

	/* libb2 refuses an empty key: keylen 0 is the unkeyed parameter block. */
	if (keylen == 0)
		blake2s_init(&s, outlen);
	else
		blake2s_init_key(&s, outlen, key, keylen);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, out, outlen);
	wg_memzero(&s, sizeof(s));
}

void
wg_mac(uint8_t out[16], const void *key, size_t keylen, const void *in, size_t inlen)
{
	/* The 16-byte outlen goes into the parameter block: not a truncated hash. */
	wg_blake2s_keyed(out, 16, key, keylen, in, inlen);
}

void
wg_hmac(uint8_t out[32], const void *key, size_t keylen, const void *in, size_t inlen)
{
	uint8_t k[WG_BLAKE2S_BLOCK_LEN] = { 0 };
	uint8_t pad[WG_BLAKE2S_BLOCK_LEN];
	uint8_t inner[WG_BLAKE2S_HASH_LEN];
	blake2s_state s;
	unsigned int i;

	if (keylen > WG_BLAKE2S_BLOCK_LEN)
		wg_hash(k, key, keylen);
	else if (keylen > 0)
		memcpy(k, key, keylen);

	for (i = 0; i < WG_BLAKE2S_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x36;
	blake2s_init(&s, WG_BLAKE2S_HASH_LEN);
	blake2s_update(&s, pad, sizeof(pad));
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, inner, sizeof(inner));

	for (i = 0; i < WG_BLAKE2S_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x5c;
	blake2s_init(&s, WG_BLAKE2S_HASH_LEN);
	blake2s_update(&s, pad, sizeof(pad));
	blake2s_update(&s, inner, sizeof(inner));
	blake2s_final(&s, out, WG_BLAKE2S_HASH_LEN);

	wg_memzero(k, sizeof(k));
	wg_memzero(pad, sizeof(pad));
	wg_memzero(inner, sizeof(inner));
	wg_memzero(&s, sizeof(s));
}

static const struct wg_hkdf_hash hmac_blake2s = {
	.hash_len = WG_BLAKE2S_HASH_LEN,
	.hmac = wg_hmac,
};

void
wg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const void *key, size_t keylen,
       const void *input, size_t inlen)
{
	uint8_t prk[WG_BLAKE2S_HASH_LEN];
	uint8_t okm[3 * WG_BLAKE2S_HASH_LEN];
	size_t n = t3 != NULL ? 3 : t2 != NULL ? 2 : 1;

	/* §1.5: HKDF with salt = key, IKM = input, empty info. */
	wg_hkdf_extract(&hmac_blake2s, prk, key, keylen, input, inlen);
	if (wg_hkdf_expand(&hmac_blake2s, okm, n * WG_BLAKE2S_HASH_LEN, prk, sizeof(prk), NULL,
			   0) < 0)
		goto out;
	if (t1 != NULL)
		memcpy(t1, okm, WG_BLAKE2S_HASH_LEN);
	if (t2 != NULL)
		memcpy(t2, okm + WG_BLAKE2S_HASH_LEN, WG_BLAKE2S_HASH_LEN);
	if (t3 != NULL)
		memcpy(t3, okm + 2 * WG_BLAKE2S_HASH_LEN, WG_BLAKE2S_HASH_LEN);
out:
	wg_memzero(prk, sizeof(prk));
	wg_memzero(okm, sizeof(okm));
}
