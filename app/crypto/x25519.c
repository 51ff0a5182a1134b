/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <sodium.h>

#include "crypto/ct.h"
#include "crypto/x25519.h"

void
wg_x25519_clamp(uint8_t key[32])
{
	key[0] &= 248;
	key[31] &= 127;
	key[31] |= 64;
}

bool
wg_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t k[WG_KEY_LEN];
	bool ok;

	memcpy(k, priv, sizeof(k));
	wg_x25519_clamp(k);
	/*
	 * libsodium returns -1 on an all-zero result (leaving out unspecified);
	 * the decision is ours, made on the output itself in constant time.
	 */
	if (crypto_scalarmult_curve25519(out, k, pub) != 0)
		sodium_memzero(out, WG_KEY_LEN);
	ok = !wg_ct_is_zero(out, WG_KEY_LEN);
	if (!ok)
		wg_memzero(out, WG_KEY_LEN);
	wg_memzero(k, sizeof(k));
	return ok;
}

bool
wg_x25519_public(uint8_t pub[32], const uint8_t priv[32])
{
	uint8_t k[WG_KEY_LEN];
	bool ok = false;

	if (wg_ct_is_zero(priv, WG_KEY_LEN)) {
		wg_memzero(pub, WG_KEY_LEN);
		return false;
	}
	memcpy(k, priv, sizeof(k));
	wg_x25519_clamp(k);
	if (crypto_scalarmult_curve25519_base(pub, k) != 0) {
		wg_memzero(pub, WG_KEY_LEN);
		goto out;
	}
	ok = !wg_ct_is_zero(pub, WG_KEY_LEN);
out:
	wg_memzero(k, sizeof(k));
	return ok;
}

void
wg_x25519_generate(uint8_t priv[32])
{
	wg_random_bytes(priv, WG_KEY_LEN);
	wg_x25519_clamp(priv);
}
