/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/clock.h"
#include "crypto/ct.h"
#include "crypto/cookie.h"

_Static_assert(WG_MAC_LEN == 16, "compared with wg_ct_equal16");

enum {
	/* mac1 covers msg[0 : len - 32], mac2 covers msg[0 : len - 16]. */
	MAC1_OFFSET_FROM_END = 2 * WG_MAC_LEN,
	MAC2_OFFSET_FROM_END = WG_MAC_LEN,
	SENDER_INDEX_OFFSET = 4,
};

#define SECRET_MAX_AGE_NS ((uint64_t)COOKIE_SECRET_MAX_AGE * WG_NSEC_PER_SEC)
#define COOKIE_VALID_NS ((uint64_t)(COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY) * WG_NSEC_PER_SEC)

/* HASH(label || public key). */
static void
derive_key(uint8_t key[32], const char *label, const uint8_t public_key[32])
{
	wg_hash2(key, label, strlen(label), public_key, NOISE_PUBLIC_KEY_LEN);
}

static bool
handshake_length(size_t len)
{
	return len == MESSAGE_INITIATION_LEN || len == MESSAGE_RESPONSE_LEN;
}

size_t
wg_cookie_src_encode(uint8_t out[18], const struct wg_cookie_src *src)
{
	size_t alen;

	if (src->family == AF_INET)
		alen = 4;
	else if (src->family == AF_INET6)
		alen = 16;
	else
		return 0;
	memcpy(out, src->addr, alen);
	out[alen] = (uint8_t)(src->port >> 8);
	out[alen + 1] = (uint8_t)src->port;
	return alen + 2;
}

int
wg_cookie_checker_init(struct wg_cookie_checker *checker)
{
	memset(checker, 0, sizeof(*checker));
	if (pthread_mutex_init(&checker->lock, NULL) != 0)
		return -ENOMEM;
	wg_random_bytes(checker->secret, sizeof(checker->secret));
	checker->secret_birth = wg_clock_now();
	return 0;
}

void
wg_cookie_checker_destroy(struct wg_cookie_checker *checker)
{
	pthread_mutex_destroy(&checker->lock);
	wg_memzero(checker, sizeof(*checker));
}

void
wg_cookie_checker_precompute_device_keys(struct wg_cookie_checker *checker,
					 const uint8_t *public_key)
{
	if (public_key == NULL) {
		wg_memzero(checker->cookie_encryption_key, sizeof(checker->cookie_encryption_key));
		wg_memzero(checker->message_mac1_key, sizeof(checker->message_mac1_key));
		checker->has_keys = false;
		return;
	}
	derive_key(checker->cookie_encryption_key, WG_LABEL_COOKIE, public_key);
	derive_key(checker->message_mac1_key, WG_LABEL_MAC1, public_key);
	checker->has_keys = true;
}

void
wg_cookie_checker_set_secret(struct wg_cookie_checker *checker, const uint8_t secret[32],
			     uint64_t birth)
{
	pthread_mutex_lock(&checker->lock);
	memcpy(checker->secret, secret, sizeof(checker->secret));
	checker->secret_birth = birth;
	pthread_mutex_unlock(&checker->lock);
}

/* cookie = MAC(secret, src), with the secret replaced once 120 s old (§5.3). */
static bool
make_cookie(uint8_t cookie[COOKIE_LEN], struct wg_cookie_checker *checker,
	    const struct wg_cookie_src *src)
{
	uint8_t in[18];
	size_t inlen = wg_cookie_src_encode(in, src);
	uint64_t now;

	if (inlen == 0)
		return false;
	pthread_mutex_lock(&checker->lock);
	now = wg_clock_now();
	if (now < checker->secret_birth || now - checker->secret_birth >= SECRET_MAX_AGE_NS) {
		wg_random_bytes(checker->secret, sizeof(checker->secret));
		checker->secret_birth = now;
	}
	wg_mac(cookie, checker->secret, sizeof(checker->secret), in, inlen);
	pthread_mutex_unlock(&checker->lock);
	return true;
}

enum wg_cookie_mac_state
wg_cookie_validate_packet(struct wg_cookie_checker *checker, const void *msg, size_t len,
			  const struct wg_cookie_src *src, bool check_cookie)
{
	const uint8_t *m = msg;
	uint8_t computed[WG_MAC_LEN], cookie[COOKIE_LEN];
	enum wg_cookie_mac_state ret = WG_COOKIE_INVALID_MAC;

	if (!handshake_length(len) || !checker->has_keys)
		goto out;
	wg_mac(computed, checker->message_mac1_key, sizeof(checker->message_mac1_key), m,
	       len - MAC1_OFFSET_FROM_END);
	if (!wg_ct_equal16(computed, m + len - MAC1_OFFSET_FROM_END))
		goto out;

	ret = WG_COOKIE_VALID_MAC_NO_COOKIE;
	if (!check_cookie || !make_cookie(cookie, checker, src))
		goto out;
	wg_mac(computed, cookie, sizeof(cookie), m, len - MAC2_OFFSET_FROM_END);
	if (!wg_ct_equal16(computed, m + len - MAC2_OFFSET_FROM_END))
		goto out;
	ret = WG_COOKIE_VALID_MAC_WITH_COOKIE;
out:
	wg_memzero(cookie, sizeof(cookie));
	return ret;
}

int
wg_cookie_message_create_fixed(struct message_handshake_cookie *dst, const void *msg,
			       size_t len, const struct wg_cookie_src *src,
			       struct wg_cookie_checker *checker, const uint8_t nonce[24])
{
	const uint8_t *m = msg;
	uint8_t cookie[COOKIE_LEN];
	int ret = -EINVAL;

	if (!handshake_length(len) || !make_cookie(cookie, checker, src))
		goto out;
	dst->header.type = MESSAGE_HANDSHAKE_COOKIE;
	memcpy(&dst->receiver_index, m + SENDER_INDEX_OFFSET, sizeof(dst->receiver_index));
	memcpy(dst->nonce, nonce, COOKIE_NONCE_LEN);
	/* The answered message's mac1 is the AAD: only its sender can open the reply. */
	wg_xaead_encrypt(dst->encrypted_cookie, cookie, COOKIE_LEN, m + len - MAC1_OFFSET_FROM_END,
			 WG_MAC_LEN, dst->nonce, checker->cookie_encryption_key);
	ret = 0;
out:
	wg_memzero(cookie, sizeof(cookie));
	return ret;
}

int
wg_cookie_message_create(struct message_handshake_cookie *dst, const void *msg, size_t len,
			 const struct wg_cookie_src *src, struct wg_cookie_checker *checker)
{
	uint8_t nonce[COOKIE_NONCE_LEN];

	wg_random_bytes(nonce, sizeof(nonce));
	return wg_cookie_message_create_fixed(dst, msg, len, src, checker, nonce);
}

void
wg_cookie_init(struct wg_cookie *cookie, const uint8_t peer_public_key[32])
{
	memset(cookie, 0, sizeof(*cookie));
	derive_key(cookie->message_mac1_key, WG_LABEL_MAC1, peer_public_key);
	derive_key(cookie->cookie_decryption_key, WG_LABEL_COOKIE, peer_public_key);
}

void
wg_cookie_destroy(struct wg_cookie *cookie)
{
	wg_memzero(cookie, sizeof(*cookie));
}

void
wg_cookie_add_mac_to_packet(void *msg, size_t len, struct wg_cookie *cookie)
{
	uint8_t *m = msg;
	uint8_t *mac1 = m + len - MAC1_OFFSET_FROM_END;
	uint8_t *mac2 = m + len - MAC2_OFFSET_FROM_END;
	uint64_t now;

	wg_mac(mac1, cookie->message_mac1_key, sizeof(cookie->message_mac1_key), m,
	       len - MAC1_OFFSET_FROM_END);
	memcpy(cookie->last_mac1_sent, mac1, WG_MAC_LEN);
	cookie->have_sent_mac1 = true;

	now = wg_clock_now();
	if (cookie->is_valid && now >= cookie->birth && now - cookie->birth < COOKIE_VALID_NS)
		wg_mac(mac2, cookie->cookie, sizeof(cookie->cookie), m, len - MAC2_OFFSET_FROM_END);
	else
		memset(mac2, 0, WG_MAC_LEN);
}

int
wg_cookie_message_consume(const struct message_handshake_cookie *src, struct wg_cookie *cookie)
{
	uint8_t plain[COOKIE_LEN];
	int ret = -EPROTO;

	if (!cookie->have_sent_mac1)
		goto out;
	ret = -EBADMSG;
	if (!wg_xaead_decrypt(plain, src->encrypted_cookie, sizeof(src->encrypted_cookie),
			      cookie->last_mac1_sent, WG_MAC_LEN, src->nonce,
			      cookie->cookie_decryption_key))
		goto out;
	memcpy(cookie->cookie, plain, sizeof(plain));
	cookie->birth = wg_clock_now();
	cookie->is_valid = true;
	/* Kernel behaviour: a second reply for the same mac1 is ignored. */
	cookie->have_sent_mac1 = false;
	ret = 0;
out:
	wg_memzero(plain, sizeof(plain));
	return ret;
}
