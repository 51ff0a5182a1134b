/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The 16-lane multi-buffer ChaCha20-Poly1305 (chachapoly_mb.c) and the
 * hybrid batch dispatch in front of it (aead.c):
 *  - RFC 8439 §2.3.2, §2.4.2, §2.5.2, §2.8.2 and Appendix A vectors through
 *    every lane position, next to other lanes of random lengths;
 *  - differential tests against libsodium and intel-ipsec-mb for every
 *    length 0..1500 in mixed batches, both directions and across engines;
 *  - Poly1305 edge cases (all-0xff keys and messages, block boundaries);
 *  - failed tags release nothing; the KAT's data packets byte for byte;
 *  - no key material left on the stack after a call;
 *  - the dispatch: forced engines really run (per-engine counters).
 * Skipped (cmocka skip) on CPUs without AVX-512F/BW/VL/IFMA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/aead.h"
#include "crypto/chachapoly_mb.h"
#include "crypto/ct.h"
#include "kat_vectors.h"
#include "messages.h"
#include "rfc8439_vectors.h"
#include "../test_vectors.h"

enum { LANES = WG_MB_LANES, MAXLEN = 1500 };

static int
need_mb(void **state)
{
	(void)state;
	if (!wg_mb_available()) {
		print_message("no AVX-512F/BW/VL/IFMA here: multi-buffer tests skipped\n");
		skip();
	}
	return 0;
}

/* ---- ChaCha20 alone ---- */

struct stream_lanes {
	struct wg_mb_stream v[LANES];
	struct wg_mb_stream *p[LANES];
	uint8_t key[LANES][32], nonce[LANES][12];
	uint8_t data[LANES][MAXLEN], want[LANES][MAXLEN];
};

/* Lane `at` gets (key, nonce, counter, msg); the others random; all checked against libsodium. */
static void
stream_at(struct stream_lanes *s, unsigned int at, const uint8_t *key, const uint8_t *nonce,
	  uint32_t counter, const uint8_t *msg, uint32_t len, const uint8_t *expect)
{
	unsigned int l;

	for (l = 0; l < LANES; l++) {
		struct wg_mb_stream *v = &s->v[l];

		if (l == at) {
			memcpy(s->key[l], key, 32);
			memcpy(s->nonce[l], nonce, 12);
			v->counter = counter;
			v->len = len;
			memcpy(s->data[l], msg, len);
		} else {
			wg_random_bytes(s->key[l], 32);
			wg_random_bytes(s->nonce[l], 12);
			v->counter = wg_random_uniform(1000);
			v->len = wg_random_uniform(MAXLEN + 1);
			wg_random_bytes(s->data[l], v->len);
		}
		v->key = s->key[l];
		v->nonce = s->nonce[l];
		v->data = s->data[l];
		s->p[l] = v;
		assert_int_equal(crypto_stream_chacha20_ietf_xor_ic(s->want[l], s->data[l], v->len,
								    s->nonce[l], v->counter,
								    s->key[l]), 0);
	}
	if (expect != NULL)
		assert_memory_equal(s->want[at], expect, len);
	wg_mb_chacha20(s->p, LANES);
	for (l = 0; l < LANES; l++)
		assert_memory_equal(s->data[l], s->want[l], s->v[l].len);
}

static void
stream_every_lane(const char *key_hex, const char *nonce_hex, uint32_t counter,
		  const uint8_t *msg, uint32_t len, const char *expect_hex)
{
	struct stream_lanes *s = malloc(sizeof(*s));
	uint8_t key[32], nonce[12], expect[MAXLEN];
	unsigned int at;

	assert_non_null(s);
	unhex(key, key_hex);
	unhex(nonce, nonce_hex);
	assert_int_equal(unhex(expect, expect_hex), len);
	for (at = 0; at < LANES; at++)
		stream_at(s, at, key, nonce, counter, msg, len, expect);
	free(s);
}

static const char key_seq[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char key_zero[] = "0000000000000000000000000000000000000000000000000000000000000000";

/* §2.3.2: the block function; its serialized output is the keystream of block 1. */
static void
test_rfc_2_3_2_block(void **state)
{
	uint8_t zeros[64] = { 0 };

	(void)state;
	stream_every_lane(key_seq, "000000090000004a00000000", 1, zeros, 64,
			  "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
			  "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
}

/* §2.4.2: encrypting the sunscreen text from block counter 1. */
static void
test_rfc_2_4_2_encrypt(void **state)
{
	(void)state;
	stream_every_lane(key_seq, "000000000000004a00000000", 1, (const uint8_t *)sunscreen, 114,
			  "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
			  "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
			  "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
			  "5af90bbf74a35be6b40b8eedf2785e42874d");
}

/* Appendix A.1 #1 / A.2 #1: the all-zero key, nonce and counter. */
static void
test_rfc_a1_a2_zero(void **state)
{
	uint8_t zeros[64] = { 0 };

	(void)state;
	stream_every_lane(key_zero, "000000000000000000000000", 0, zeros, 64,
			  "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
			  "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
}

/* Appendix A.2 #3 (the Jabberwocky, counter 42) and more counters and nonces, vs libsodium. */
static void
test_rfc_a2_more(void **state)
{
	static const char jabberwocky[] = "'Twas brillig, and the slithy toves\n"
					  "Did gyre and gimble in the wabe:\n"
					  "All mimsy were the borogoves,\n"
					  "And the mome raths outgrabe.";
	struct stream_lanes *s = malloc(sizeof(*s));
	uint8_t key[32], nonce[12], msg[MAXLEN];
	unsigned int at;

	(void)state;
	assert_non_null(s);
	assert_int_equal(strlen(jabberwocky), 127);
	unhex(key, "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
	unhex(nonce, "000000000000000000000002");
	for (at = 0; at < LANES; at++)
		stream_at(s, at, key, nonce, 42, (const uint8_t *)jabberwocky, 127, NULL);
	/* A counter high in its 32-bit word (libsodium refuses to let it wrap). */
	wg_random_bytes(msg, sizeof(msg));
	for (at = 0; at < LANES; at++)
		stream_at(s, at, key, nonce, 0xffffff00u, msg, 300, NULL);
	free(s);
}

/* ---- Poly1305 alone ---- */

struct mac_lanes {
	struct wg_mb_mac v[LANES];
	struct wg_mb_mac *p[LANES];
	uint8_t key[LANES][32], msg[LANES][MAXLEN], tag[LANES][16], want[LANES][16];
};

static void
mac_at(struct mac_lanes *m, unsigned int at, const uint8_t *key, const uint8_t *msg,
       uint32_t len, const uint8_t *expect)
{
	unsigned int l;

	for (l = 0; l < LANES; l++) {
		struct wg_mb_mac *v = &m->v[l];

		if (l == at) {
			memcpy(m->key[l], key, 32);
			memcpy(m->msg[l], msg, len);
			v->len = len;
		} else {
			wg_random_bytes(m->key[l], 32);
			v->len = wg_random_uniform(MAXLEN + 1);
			wg_random_bytes(m->msg[l], v->len);
		}
		v->key = m->key[l];
		v->msg = m->msg[l];
		v->tag = m->tag[l];
		m->p[l] = v;
		crypto_onetimeauth_poly1305(m->want[l], m->msg[l], v->len, m->key[l]);
	}
	if (expect != NULL)
		assert_memory_equal(m->want[at], expect, 16);
	wg_mb_poly1305(m->p, LANES);
	for (l = 0; l < LANES; l++) {
		if (memcmp(m->tag[l], m->want[l], 16) != 0)
			fail_msg("poly1305 lane %u (target %u) len %u differs", l, at, m->v[l].len);
	}
}

static void
mac_every_lane(const uint8_t *key, const uint8_t *msg, uint32_t len, const uint8_t *expect)
{
	struct mac_lanes *m = malloc(sizeof(*m));
	unsigned int at;

	assert_non_null(m);
	for (at = 0; at < LANES; at++)
		mac_at(m, at, key, msg, len, expect);
	free(m);
}

/* §2.5.2 */
static void
test_rfc_2_5_2_poly(void **state)
{
	static const char msg[] = "Cryptographic Forum Research Group";
	uint8_t key[32], tag[16];

	(void)state;
	unhex(key, "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
	unhex(tag, "a8061dc1305136c6c22b8baf0c0127a9");
	mac_every_lane(key, (const uint8_t *)msg, 34, tag);
}

/* Appendix A.3: the structured Poly1305 vectors (carries through every limb). */
static void
test_rfc_a3_poly(void **state)
{
	static const struct {
		const char *r, *s, *msg, *tag;
	} v[] = {
		{ "00000000000000000000000000000000", "00000000000000000000000000000000",
		  "0000000000000000000000000000000000000000000000000000000000000000"
		  "0000000000000000000000000000000000000000000000000000000000000000",
		  "00000000000000000000000000000000" },
		{ "02000000000000000000000000000000", "00000000000000000000000000000000",
		  "ffffffffffffffffffffffffffffffff", "03000000000000000000000000000000" },
		{ "02000000000000000000000000000000", "ffffffffffffffffffffffffffffffff",
		  "02000000000000000000000000000000", "03000000000000000000000000000000" },
		{ "01000000000000000000000000000000", "00000000000000000000000000000000",
		  "ffffffffffffffffffffffffffffffff"
		  "f0ffffffffffffffffffffffffffffff"
		  "11000000000000000000000000000000",
		  "05000000000000000000000000000000" },
		{ "01000000000000000000000000000000", "00000000000000000000000000000000",
		  "ffffffffffffffffffffffffffffffff"
		  "fbfefefefefefefefefefefefefefefe"
		  "01010101010101010101010101010101",
		  "00000000000000000000000000000000" },
		{ "02000000000000000000000000000000", "00000000000000000000000000000000",
		  "fdffffffffffffffffffffffffffffff", "faffffffffffffffffffffffffffffff" },
		{ "01000000000000000400000000000000", "00000000000000000000000000000000",
		  "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000"
		  "0000000000000000000000000000000001000000000000000000000000000000",
		  "14000000000000005500000000000000" },
		{ "01000000000000000400000000000000", "00000000000000000000000000000000",
		  "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000"
		  "00000000000000000000000000000000",
		  "13000000000000000000000000000000" },
	};
	uint8_t key[32], msg[256], tag[16];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unhex(key, v[i].r);
		unhex(key + 16, v[i].s);
		len = unhex(msg, v[i].msg);
		unhex(tag, v[i].tag);
		mac_every_lane(key, msg, (uint32_t)len, tag);
	}
	/* r = 0: the tag is s whatever the message (A.3 #2 and #3's shape). */
	memset(key, 0, 16);
	wg_random_bytes(key + 16, 16);
	wg_random_bytes(msg, sizeof(msg));
	mac_every_lane(key, msg, 200, key + 16);
}

/* All-0xff keys and messages, zeros, at and around every block boundary. */
static void
test_poly_edges(void **state)
{
	static const uint32_t lens[] = { 0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65,
					 127, 128, 129, 255, 256, 257, 1023, 1024, 1025, 1500 };
	struct mac_lanes *m = malloc(sizeof(*m));
	uint8_t key[32], ff[MAXLEN], zero[MAXLEN];
	size_t i, k;

	(void)state;
	assert_non_null(m);
	memset(ff, 0xff, sizeof(ff));
	memset(zero, 0, sizeof(zero));
	for (k = 0; k < 3; k++) {
		if (k == 0)
			memset(key, 0xff, 32);
		else if (k == 1)
			memset(key, 0, 32);
		else
			wg_random_bytes(key, 32);
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			mac_at(m, (unsigned int)(i % LANES), key, ff, lens[i], NULL);
			mac_at(m, (unsigned int)((i + 7) % LANES), key, zero, lens[i], NULL);
		}
	}
	/* Sixteen all-0xff lanes under all-0xff keys, lengths at boundaries. */
	for (i = 0; i < LANES; i++) {
		memset(m->key[i], 0xff, 32);
		memset(m->msg[i], 0xff, MAXLEN);
		m->v[i] = (struct wg_mb_mac){ .key = m->key[i], .msg = m->msg[i],
					      .len = lens[i + 8], .tag = m->tag[i] };
		m->p[i] = &m->v[i];
		crypto_onetimeauth_poly1305(m->want[i], m->msg[i], m->v[i].len, m->key[i]);
	}
	wg_mb_poly1305(m->p, LANES);
	for (i = 0; i < LANES; i++)
		assert_memory_equal(m->tag[i], m->want[i], 16);
	free(m);
}

/* ---- The AEAD ---- */

struct aead_lanes {
	struct wg_aead_op ops[LANES];
	struct wg_aead_op *p[LANES];
	uint8_t key[LANES][32];
	uint8_t plain[LANES][MAXLEN], data[LANES][MAXLEN], ref[LANES][MAXLEN + 16];
	uint8_t tag[LANES][16];
};

static void
aead_set(struct aead_lanes *a, unsigned int l, uint32_t len)
{
	struct wg_aead_op *op = &a->ops[l];

	wg_random_bytes(a->key[l], 32);
	wg_random_bytes(a->plain[l], len);
	memcpy(a->data[l], a->plain[l], len);
	op->key = a->key[l];
	op->counter = ((uint64_t)wg_random_u32() << 32) | wg_random_u32();
	op->data = len > 0 || l % 2 ? a->data[l] : NULL;
	op->len = len;
	op->tag = a->tag[l];
	op->ok = false;
	a->p[l] = op;
	wg_aead_encrypt(a->ref[l], a->plain[l], len, NULL, 0, op->counter, op->key);
}

static void
aead_check_sealed(const struct aead_lanes *a, unsigned int n)
{
	unsigned int l;

	for (l = 0; l < n; l++) {
		if (memcmp(a->data[l], a->ref[l], a->ops[l].len) != 0 ||
		    memcmp(a->tag[l], a->ref[l] + a->ops[l].len, 16) != 0)
			fail_msg("lane %u of %u, len %u: not libsodium's ciphertext", l, n,
				 a->ops[l].len);
	}
}

static void
aead_check_opened(const struct aead_lanes *a, unsigned int n)
{
	unsigned int l;

	for (l = 0; l < n; l++) {
		assert_true(a->ops[l].ok);
		if (memcmp(a->data[l], a->plain[l], a->ops[l].len) != 0)
			fail_msg("lane %u of %u, len %u: wrong plaintext", l, n, a->ops[l].len);
	}
}

/*
 * §2.8.2 and A.5, which have AAD, composed from the lanes' ChaCha20 and
 * Poly1305; the Poly1305 one-time key (§2.6: the first 32 bytes of block 0)
 * is checked against the RFC's value on its way.
 */
static void
aead_composed(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t adlen,
	      const uint8_t *pt, size_t len, const uint8_t *expect /* ct || tag */,
	      const char *otk_hex)
{
	struct stream_lanes *s = malloc(sizeof(*s));
	struct mac_lanes *m = malloc(sizeof(*m));
	uint8_t zeros[64] = { 0 }, otk[64], want_otk[32], mac_data[512 + 64];
	uint64_t l64;
	size_t off;
	unsigned int at;

	assert_non_null(s);
	assert_non_null(m);
	assert_true(len <= 512 && adlen <= 16);
	assert_int_equal(unhex(want_otk, otk_hex), 32);
	for (at = 0; at < LANES; at++) {
		stream_at(s, at, key, nonce, 0, zeros, 64, NULL);   /* §2.6: block 0 */
		memcpy(otk, s->data[at], 64);
		if (memcmp(otk, want_otk, 32) != 0)
			fail_msg("lane %u: Poly1305 one-time key differs from the RFC's", at);
		stream_at(s, at, key, nonce, 1, pt, (uint32_t)len, expect);
		memset(mac_data, 0, sizeof(mac_data));
		memcpy(mac_data, aad, adlen);
		off = (adlen + 15) / 16 * 16;
		memcpy(mac_data + off, s->data[at], len);
		off += (len + 15) / 16 * 16;
		l64 = adlen;
		memcpy(mac_data + off, &l64, 8);
		l64 = len;
		memcpy(mac_data + off + 8, &l64, 8);
		mac_at(m, at, otk, mac_data, (uint32_t)(off + 16), expect + len);
	}
	free(s);
	free(m);
}

static void
test_rfc_2_8_2_aead(void **state)
{
	uint8_t key[32], nonce[12], aad[12], want[114 + 16];

	(void)state;
	unhex(key, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
	unhex(nonce, "070000004041424344454647");
	unhex(aad, "50515253c0c1c2c3c4c5c6c7");
	unhex(want, "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
		    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
		    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
		    "3ff4def08e4b7a9de576d26586cec64b6116"
		    "1ae10b594f09e26a7e902ecbd0600691");
	aead_composed(key, nonce, aad, 12, (const uint8_t *)sunscreen, 114, want,
		      "7bac2b252db447af09b67a55a4e955840ae1d6731075d9eb2a9375783ed553ff");
}

/*
 * A.5 (§11.3): the plaintext from our single-message path (WireGuard counter
 * 0x0807060504030201), then ct || tag and the one-time key rebuilt from the lanes.
 */
static void
test_rfc_a5_aead(void **state)
{
	uint8_t key[32], nonce[12], aad[12], ct[265 + 16], pt[265];

	(void)state;
	unhex(key, "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
	unhex(nonce, "000000000102030405060708");
	unhex(aad, "f33388860000000000004e91");
	assert_int_equal(unhex(ct, a5_ct), sizeof(ct));
	assert_true(wg_aead_decrypt(pt, ct, sizeof(ct), aad, 12, 0x0807060504030201ULL, key));
	aead_composed(key, nonce, aad, 12, pt, sizeof(pt), ct,
		      "bdf04aa95ce4de8995b14bb6a18fecaf26478f50c054f563dbc0a21e261572aa");
}

/* Every length 0..1500, in batches of 1..16 mixed with random lengths, each way. */
static void
test_differential_all_lengths(void **state)
{
	struct aead_lanes *a = malloc(sizeof(*a));
	struct wg_aead_ctx *imb = wg_aead_ctx_create();
	uint32_t next = 0;
	unsigned int n, l, round = 0;

	(void)state;
	assert_non_null(a);
	assert_non_null(imb);
	assert_true(wg_aead_ctx_set_impl(imb, WG_AEAD_IMPL_IPSECMB));
	while (next <= MAXLEN) {
		n = 1 + (round % 16 == 0 ? 15 : wg_random_uniform(LANES));
		for (l = 0; l < n; l++) {
			uint32_t len = wg_random_uniform(2) && next <= MAXLEN ? next++
									   : wg_random_uniform(MAXLEN + 1);
			aead_set(a, l, len);
		}
		/* mb seals, compared with libsodium; intel-ipsec-mb opens. */
		wg_mb_encrypt(a->p, n);
		aead_check_sealed(a, n);
		for (l = 0; l < n; l++)
			a->ops[l].ok = false;
		assert_int_equal(wg_aead_decrypt_batch(imb, a->ops, n), n);
		aead_check_opened(a, n);
		/* intel-ipsec-mb seals, mb opens. */
		wg_aead_encrypt_batch(imb, a->ops, n);
		aead_check_sealed(a, n);
		for (l = 0; l < n; l++)
			a->ops[l].ok = false;
		assert_int_equal(wg_mb_decrypt(a->p, n), n);
		aead_check_opened(a, n);
		round++;
	}
	wg_aead_ctx_free(imb);
	free(a);
}

/* All-0xff keys, plaintexts and counters at block boundaries, and the other extremes. */
static void
test_aead_edges(void **state)
{
	static const uint32_t lens[] = { 0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1024, 1420,
					 1439, 1440, 1500 };
	struct aead_lanes *a = malloc(sizeof(*a));
	unsigned int l, k;

	(void)state;
	assert_non_null(a);
	for (k = 0; k < 3; k++) {
		for (l = 0; l < LANES; l++) {
			aead_set(a, l, lens[(l + k) % LANES]);
			memset(a->key[l], k == 1 ? 0 : 0xff, 32);
			memset(a->plain[l], k == 1 ? 0 : 0xff, a->ops[l].len);
			memcpy(a->data[l], a->plain[l], a->ops[l].len);
			a->ops[l].counter = k == 0 ? ~0ULL : k == 1 ? 0 : 1ULL << 63;
			wg_aead_encrypt(a->ref[l], a->plain[l], a->ops[l].len, NULL, 0,
					a->ops[l].counter, a->key[l]);
		}
		wg_mb_encrypt(a->p, LANES);
		aead_check_sealed(a, LANES);
		assert_int_equal(wg_mb_decrypt(a->p, LANES), LANES);
		aead_check_opened(a, LANES);
	}
	free(a);
}

/* Tampered lanes fail alone, are wiped, and the others come through intact. */
static void
test_tag_failure_lanes(void **state)
{
	struct aead_lanes *a = malloc(sizeof(*a));
	unsigned int trial, n, l, bad, want_ok;

	(void)state;
	assert_non_null(a);
	for (trial = 0; trial < 200; trial++) {
		n = 1 + wg_random_uniform(LANES);
		for (l = 0; l < n; l++)
			aead_set(a, l, trial % 3 == 0 ? 1420 : wg_random_uniform(MAXLEN + 1));
		wg_mb_encrypt(a->p, n);
		bad = trial % 17 == 0 ? (1u << n) - 1 : wg_random_u32() & ((1u << n) - 1);
		want_ok = 0;
		for (l = 0; l < n; l++) {
			if (!(bad & (1u << l))) {
				want_ok++;
				continue;
			}
			switch ((trial + l) % 3) {
			case 0:
				a->tag[l][wg_random_uniform(16)] ^= (uint8_t)(1u << wg_random_uniform(8));
				break;
			case 1:
				if (a->ops[l].len > 0) {
					a->data[l][wg_random_uniform(a->ops[l].len)] ^= 0x40;
					break;
				}
				/* no data to flip: change the counter */
				__attribute__((fallthrough));
			default:
				a->ops[l].counter ^= 1;
				break;
			}
		}
		assert_int_equal(wg_mb_decrypt(a->p, n), want_ok);
		for (l = 0; l < n; l++) {
			if (bad & (1u << l)) {
				assert_false(a->ops[l].ok);
				assert_true(wg_ct_is_zero(a->data[l], a->ops[l].len));
			} else {
				assert_true(a->ops[l].ok);
				assert_memory_equal(a->data[l], a->plain[l], a->ops[l].len);
			}
		}
	}
	free(a);
}

/* The handshake transcript's data packet and keepalive, at every lane position. */
static void
test_kat_packets_every_lane(void **state)
{
	const uint8_t *t_i2r = kat_step("T_send(initiator) = T_recv(responder)");
	const uint8_t *t_r2i = kat_step("T_recv(initiator) = T_send(responder)");
	struct aead_lanes *a = malloc(sizeof(*a));
	unsigned int at, ka, l;

	(void)state;
	assert_non_null(a);
	assert_int_equal(kat_nopsk_data_i2r_len, MESSAGE_DATA_HEADER_LEN + 32 + 16);
	for (at = 0; at < LANES; at++) {
		ka = (at + 5) % LANES;
		for (l = 0; l < LANES; l++)
			aead_set(a, l, wg_random_uniform(MAXLEN + 1));
		a->ops[at] = (struct wg_aead_op){ .key = t_i2r, .counter = 0, .data = a->data[at],
						  .len = 32, .tag = a->tag[at] };
		memcpy(a->data[at], kat_nopsk_data_i2r_plain, 32);
		a->ops[ka] = (struct wg_aead_op){ .key = t_r2i, .counter = 0, .data = NULL, .len = 0,
						  .tag = a->tag[ka] };
		wg_mb_encrypt(a->p, LANES);
		assert_memory_equal(a->data[at], kat_nopsk_data_i2r + 16, 32);
		assert_memory_equal(a->tag[at], kat_nopsk_data_i2r + 48, 16);
		assert_memory_equal(a->tag[ka], kat_nopsk_data_r2i_keepalive + 16, 16);
		for (l = 0; l < LANES; l++)
			if (l != at && l != ka)
				assert_memory_equal(a->data[l], a->ref[l], a->ops[l].len);
		assert_int_equal(wg_mb_decrypt(a->p, LANES), LANES);
		assert_memory_equal(a->data[at], kat_nopsk_data_i2r_plain, 32);
	}
	free(a);
}

/*
 * After a call, no 32-bit word of the key, of the Poly1305 one-time key or
 * of the first keystream block is left in the stack area the call used.
 * probe() reads (as bytes, never interpreting them) the stack below its
 * caller, which is where wg_mb_encrypt's callees had their frames.
 */
enum { PROBE_BYTES = 48 * 1024 };

static __attribute__((noinline)) unsigned int
probe(const uint32_t *needles, unsigned int n)
{
	const volatile uint8_t *top = __builtin_frame_address(0);
	const volatile uint8_t *area = top - PROBE_BYTES;
	unsigned int i, k, hits = 0;
	uint32_t w;

	for (i = 0; i + 4 <= PROBE_BYTES; i += 4) {
		w = (uint32_t)area[i] | (uint32_t)area[i + 1] << 8 | (uint32_t)area[i + 2] << 16 |
		    (uint32_t)area[i + 3] << 24;
		for (k = 0; k < n; k++)
			hits += w == needles[k];
	}
	return hits;
}

static __attribute__((noinline)) void
clobber(void)
{
	uint8_t area[PROBE_BYTES + 1024];

	memset(area, 0, sizeof(area));
	__asm__ volatile("" : : "r"(area) : "memory");
}

/* Control: a frame that leaves the needles behind is found. */
static __attribute__((noinline)) void
leave(const uint32_t *needles, unsigned int n)
{
	uint32_t area[64];
	unsigned int i;

	for (i = 0; i < 64; i++)
		area[i] = needles[i % n];
	__asm__ volatile("" : : "r"(area) : "memory");
}

static void
test_no_secrets_on_stack(void **state)
{
	static uint8_t key[32], data[LANES][1420], tags[LANES][16], block[64];
	static uint32_t needles[8 + 16 + 16];
	uint8_t nonce[12] = { 0 };
	struct wg_aead_op ops[LANES], *p[LANES], big[2 * LANES];
	struct wg_aead_ctx *ctx;
	unsigned int l, i, n = 0;

	(void)state;
	do {
		wg_random_bytes(key, 32);
		memcpy(needles, key, 32);
		/* Block 0 (the one-time key and the rest) and block 1 (the first keystream). */
		memset(block, 0, 64);
		crypto_stream_chacha20_ietf_xor_ic(block, block, 64, nonce, 0, key);
		memcpy(needles + 8, block, 64);
		memset(block, 0, 64);
		crypto_stream_chacha20_ietf_xor_ic(block, block, 64, nonce, 1, key);
		memcpy(needles + 24, block, 64);
		n = 0;
		for (i = 0; i < 40; i++)
			for (l = 0; l < i; l++)
				n += needles[i] == needles[l] || needles[i] == 0;
	} while (n != 0);
	for (l = 0; l < LANES; l++) {
		memset(data[l], 0, sizeof(data[l]));
		ops[l] = (struct wg_aead_op){ .key = key, .counter = 0, .data = data[l],
					      .len = 1420, .tag = tags[l] };
		p[l] = &ops[l];
	}
	clobber();
	leave(needles, 40);
	assert_true(probe(needles, 40) > 0);
	clobber();
	assert_int_equal(probe(needles, 40), 0);
	wg_mb_encrypt(p, LANES);
	/* The ciphertext of zeros is the keystream: check it, then drop it. */
	assert_memory_equal(data[0], needles + 24, 64);
	assert_int_equal(probe(needles, 40), 0);
	clobber();
	wg_mb_decrypt(p, LANES);
	assert_int_equal(probe(needles, 40), 0);

	/* Through the batch API: several groups, one wipe at the end. */
	ctx = wg_aead_ctx_create();
	assert_non_null(ctx);
	assert_true(wg_aead_ctx_set_impl(ctx, WG_AEAD_IMPL_MB));
	for (l = 0; l < LANES; l++) {
		big[l] = ops[l];
		big[l + LANES] = ops[l];
		big[l].len = 64;
	}
	clobber();
	wg_aead_encrypt_batch(ctx, big, 2 * LANES);
	assert_int_equal(probe(needles, 40), 0);
	clobber();
	wg_aead_decrypt_batch(ctx, big, 2 * LANES);
	assert_int_equal(probe(needles, 40), 0);
	wg_aead_ctx_free(ctx);
	wg_memzero(key, sizeof(key));
}

/* ---- The dispatch ---- */

static void
dispatch_roundtrip(struct wg_aead_ctx *ctx, unsigned int n, uint32_t fixed_len)
{
	struct {
		struct wg_aead_op ops[64];
		uint8_t key[64][32], plain[64][MAXLEN], data[64][MAXLEN], ref[64][MAXLEN + 16];
		uint8_t tag[64][16];
	} *b = malloc(sizeof(*b));
	unsigned int i;

	assert_non_null(b);
	assert_true(n <= 64);
	for (i = 0; i < n; i++) {
		uint32_t len = fixed_len != UINT32_MAX ? fixed_len : wg_random_uniform(MAXLEN + 1);

		wg_random_bytes(b->key[i], 32);
		wg_random_bytes(b->plain[i], len);
		memcpy(b->data[i], b->plain[i], len);
		b->ops[i] = (struct wg_aead_op){ .key = b->key[i], .counter = wg_random_u32(),
						 .data = b->data[i], .len = len, .tag = b->tag[i] };
		wg_aead_encrypt(b->ref[i], b->plain[i], len, NULL, 0, b->ops[i].counter, b->key[i]);
	}
	wg_aead_encrypt_batch(ctx, b->ops, n);
	for (i = 0; i < n; i++) {
		assert_memory_equal(b->data[i], b->ref[i], b->ops[i].len);
		assert_memory_equal(b->tag[i], b->ref[i] + b->ops[i].len, 16);
	}
	if (n > 2)
		b->tag[n / 2][3] ^= 1;
	assert_int_equal(wg_aead_decrypt_batch(ctx, b->ops, n), n > 2 ? n - 1 : n);
	for (i = 0; i < n; i++) {
		if (n > 2 && i == n / 2) {
			assert_false(b->ops[i].ok);
			assert_true(wg_ct_is_zero(b->data[i], b->ops[i].len));
			continue;
		}
		assert_true(b->ops[i].ok);
		assert_memory_equal(b->data[i], b->plain[i], b->ops[i].len);
	}
	free(b);
}

static void
test_dispatch_engines(void **state)
{
	struct wg_aead_ctx *ctx = wg_aead_ctx_create();
	uint64_t mb, imb, mb0, imb0;
	unsigned int n;

	(void)state;
	assert_non_null(ctx);
	/* Forced multi-buffer: everything through mb. */
	assert_true(wg_aead_ctx_set_impl(ctx, WG_AEAD_IMPL_MB));
	assert_string_equal(wg_aead_ctx_describe(ctx), "mb-avx512ifma");
	for (n = 1; n <= 64; n += (n < 20 ? 1 : 11))
		dispatch_roundtrip(ctx, n, UINT32_MAX);
	wg_aead_ctx_counts(ctx, &mb, &imb);
	assert_true(mb > 0);
	assert_int_equal(imb, 0);
	/* Forced intel-ipsec-mb: nothing more through mb. */
	assert_true(wg_aead_ctx_set_impl(ctx, WG_AEAD_IMPL_IPSECMB));
	for (n = 1; n <= 64; n += 9)
		dispatch_roundtrip(ctx, n, UINT32_MAX);
	wg_aead_ctx_counts(ctx, &mb0, &imb0);
	assert_int_equal(mb0, mb);
	assert_true(imb0 > 0);
	/* Auto: full bursts of small packets go multi-buffer, a lone packet does not. */
	assert_true(wg_aead_ctx_set_impl(ctx, WG_AEAD_IMPL_AUTO));
	dispatch_roundtrip(ctx, 32, 64);
	wg_aead_ctx_counts(ctx, &mb, &imb);
	assert_int_equal(mb - mb0, 64);   /* 32 sealed + 32 opened */
	assert_int_equal(imb, imb0);
	dispatch_roundtrip(ctx, 1, 64);
	wg_aead_ctx_counts(ctx, &mb0, &imb0);
	assert_int_equal(mb0, mb);
	assert_int_equal(imb0, imb + 2);
	for (n = 1; n <= 64; n += 7)
		dispatch_roundtrip(ctx, n, UINT32_MAX);
	wg_aead_ctx_free(ctx);
}

static void
test_env_override(void **state)
{
	struct wg_aead_ctx *ctx;
	enum wg_aead_impl impl;

	(void)state;
	assert_true(wg_aead_impl_parse("mb", &impl) && impl == WG_AEAD_IMPL_MB);
	assert_true(wg_aead_impl_parse("ipsecmb", &impl) && impl == WG_AEAD_IMPL_IPSECMB);
	assert_true(wg_aead_impl_parse("auto", &impl) && impl == WG_AEAD_IMPL_AUTO);
	assert_false(wg_aead_impl_parse("fast", &impl));
	setenv("WG_DPDK_AEAD", "ipsecmb", 1);
	ctx = wg_aead_ctx_create();
	assert_non_null(ctx);
	assert_int_equal(wg_aead_ctx_impl(ctx), WG_AEAD_IMPL_IPSECMB);
	wg_aead_ctx_free(ctx);
	setenv("WG_DPDK_AEAD", "mb", 1);
	ctx = wg_aead_ctx_create();
	assert_non_null(ctx);
	assert_int_equal(wg_aead_ctx_impl(ctx), WG_AEAD_IMPL_MB);
	wg_aead_ctx_free(ctx);
	setenv("WG_DPDK_AEAD", "bogus", 1);
	assert_null(wg_aead_ctx_create());
	unsetenv("WG_DPDK_AEAD");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rfc_2_3_2_block, need_mb),
		cmocka_unit_test_setup(test_rfc_2_4_2_encrypt, need_mb),
		cmocka_unit_test_setup(test_rfc_a1_a2_zero, need_mb),
		cmocka_unit_test_setup(test_rfc_a2_more, need_mb),
		cmocka_unit_test_setup(test_rfc_2_5_2_poly, need_mb),
		cmocka_unit_test_setup(test_rfc_a3_poly, need_mb),
		cmocka_unit_test_setup(test_poly_edges, need_mb),
		cmocka_unit_test_setup(test_rfc_2_8_2_aead, need_mb),
		cmocka_unit_test_setup(test_rfc_a5_aead, need_mb),
		cmocka_unit_test_setup(test_differential_all_lengths, need_mb),
		cmocka_unit_test_setup(test_aead_edges, need_mb),
		cmocka_unit_test_setup(test_tag_failure_lanes, need_mb),
		cmocka_unit_test_setup(test_kat_packets_every_lane, need_mb),
		cmocka_unit_test_setup(test_no_secrets_on_stack, need_mb),
		cmocka_unit_test_setup(test_dispatch_engines, need_mb),
		cmocka_unit_test_setup(test_env_override, need_mb),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("aead_mb", tests, NULL, NULL);
}
