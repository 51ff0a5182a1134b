/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "crypto/ct.h"
#include "crypto/hkdf.h"

void
wg_hkdf_extract(const struct wg_hkdf_hash *h, uint8_t *prk, const void *salt, size_t saltlen,
		const void *ikm, size_t ikmlen)
{
	h->hmac(prk, salt, saltlen, ikm, ikmlen);
}

int
wg_hkdf_expand(const struct wg_hkdf_hash *h, uint8_t *okm, size_t okmlen, const uint8_t *prk,
	       size_t prklen, const void *info, size_t infolen)
{
	/* T(i-1) || info || i, with info bounded by the caller's small labels. */
	uint8_t block[WG_HKDF_MAX_HASH_LEN + 256 + 1];
	uint8_t t[WG_HKDF_MAX_HASH_LEN];
	size_t tlen = 0, done = 0, n;
	unsigned int i;

	if (okmlen > 255 * h->hash_len || infolen > 256 || h->hash_len > WG_HKDF_MAX_HASH_LEN)
		return -1;
	for (i = 1; done < okmlen; i++) {
		memcpy(block, t, tlen);
		if (infolen > 0)
			memcpy(block + tlen, info, infolen);
		block[tlen + infolen] = (uint8_t)i;
		h->hmac(t, prk, prklen, block, tlen + infolen + 1);
		tlen = h->hash_len;
		n = okmlen - done < tlen ? okmlen - done : tlen;
		memcpy(okm + done, t, n);
		done += n;
	}
	wg_memzero(block, sizeof(block));
	wg_memzero(t, sizeof(t));
	return 0;
}
