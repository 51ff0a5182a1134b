/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AEAD: the single-message path against protocol.md §11.2-§11.4, and the
 * intel-ipsec-mb batch path against the single-message path and the KAT.
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
#include "crypto/ct.h"
#include "kat_vectors.h"
#include "messages.h"
#include "rfc8439_vectors.h"
#include "../test_vectors.h"

/* §11.2: the nonce has a non-zero first word, so only the raw primitive can take it. */
static void
test_rfc8439_raw_nonce(void **state)
{
	uint8_t key[32], nonce[12], aad[12], ct[114 + 16], want[114 + 16], pt[114];

	(void)state;
	assert_int_equal(strlen(sunscreen), 114);
	unhex(key, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
	unhex(nonce, "070000004041424344454647");
	unhex(aad, "50515253c0c1c2c3c4c5c6c7");
	unhex(want, "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
		    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
		    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
		    "3ff4def08e4b7a9de576d26586cec64b6116"
		    "1ae10b594f09e26a7e902ecbd0600691");
	memset(ct, 0, sizeof(ct));
	wg_aead_encrypt_raw(ct, (const uint8_t *)sunscreen, 114, aad, 12, nonce, key);
	assert_memory_equal(ct, want, sizeof(ct));
	assert_true(wg_aead_decrypt_raw(pt, ct, sizeof(ct), aad, 12, nonce, key));
	assert_memory_equal(pt, sunscreen, 114);
	/* The first nonce word takes part: with it zeroed the tag fails, nothing is released. */
	nonce[0] = 0;
	memset(pt, 0x5a, sizeof(pt));
	assert_false(wg_aead_decrypt_raw(pt, ct, sizeof(ct), aad, 12, nonce, key));
	assert_true(wg_ct_is_zero(pt, sizeof(pt)));
	assert_false(wg_aead_decrypt_raw(pt, ct, 15, aad, 12, nonce, key));
}

/* The counter interface is the raw primitive under 00000000 || LE64(counter) (§1.6). */
static void
test_counter_nonce_layout(void **state)
{
	static const uint64_t counters[] = { 0, 1, 0xff, 0x100, 0x0807060504030201ULL,
					     REKEY_AFTER_MESSAGES, REJECT_AFTER_MESSAGES - 1,
					     UINT64_MAX };
	uint8_t key[32], nonce[12], a[64 + 16], b[64 + 16], msg[64];
	unsigned int i, j;

	(void)state;
	wg_random_bytes(key, sizeof(key));
	wg_random_bytes(msg, sizeof(msg));
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		memset(nonce, 0, 4);
		for (j = 0; j < 8; j++)
			nonce[4 + j] = (uint8_t)(counters[i] >> (8 * j));
		wg_aead_encrypt(a, msg, sizeof(msg), msg, 7, counters[i], key);
		wg_aead_encrypt_raw(b, msg, sizeof(msg), msg, 7, nonce, key);
		assert_memory_equal(a, b, sizeof(a));
	}
}

/* §11.3: RFC 8439 A.5 through the WireGuard counter interface, with its AAD. */
static void
test_rfc8439_a5_counter(void **state)
{
	static const char prefix[] = "Internet-Drafts are draft documents valid for a maximum of "
				     "six months";
	const uint64_t counter = 0x0807060504030201ULL;
	uint8_t key[32], aad[12], ct[265 + 16], pt[265], again[265 + 16];

	(void)state;
	unhex(key, "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
	unhex(aad, "f33388860000000000004e91");
	assert_int_equal(unhex(ct, a5_ct), sizeof(ct));
	assert_true(wg_aead_decrypt(pt, ct, sizeof(ct), aad, 12, counter, key));
	assert_memory_equal(pt, prefix, strlen(prefix));
	wg_aead_encrypt(again, pt, sizeof(pt), aad, 12, counter, key);
	assert_memory_equal(again, ct, sizeof(ct));
	/* In place, dst == src. */
	assert_true(wg_aead_decrypt(again, again, sizeof(again), aad, 12, counter, key));
	assert_memory_equal(again, pt, sizeof(pt));
}

static void
test_single_tag_failure(void **state)
{
	const uint64_t counter = 0x0807060504030201ULL;
	uint8_t key[32], aad[12], ct[265 + 16], pt[265], bad[265 + 16];
	unsigned int i;

	(void)state;
	unhex(key, "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
	unhex(aad, "f33388860000000000004e91");
	unhex(ct, a5_ct);
	for (i = 0; i < sizeof(ct) * 8; i += 97) {
		memcpy(bad, ct, sizeof(ct));
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		memset(pt, 0x5a, sizeof(pt));
		assert_false(wg_aead_decrypt(pt, bad, sizeof(bad), aad, 12, counter, key));
		/* Nothing was released: the output is wiped. */
		assert_true(wg_ct_is_zero(pt, sizeof(pt)));
	}
	/* Wrong counter, wrong AAD, wrong key, truncated input. */
	assert_false(wg_aead_decrypt(pt, ct, sizeof(ct), aad, 12, counter + 1, key));
	assert_false(wg_aead_decrypt(pt, ct, sizeof(ct), aad, 11, counter, key));
	key[0] ^= 1;
	assert_false(wg_aead_decrypt(pt, ct, sizeof(ct), aad, 12, counter, key));
	assert_false(wg_aead_decrypt(pt, ct, 15, NULL, 0, 0, key));
}

/* §11.4: HChaCha20 and XChaCha20-Poly1305, through wg_hchacha20 and wg_xaead_*. */
static void
test_xchacha(void **state)
{
	uint8_t key[32], nonce16[16], sub[32], want[32], n12[12] = { 0 };
	uint8_t nonce[24], aad[12], ct[114 + 16], ref[114 + 16], pt[114];
	unsigned int i;

	(void)state;
	unhex(key, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	unhex(nonce16, "000000090000004a0000000031415927");
	wg_hchacha20(sub, key, nonce16);
	unhex(want, "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
	assert_memory_equal(sub, want, 32);

	unhex(key, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
	unhex(nonce, "404142434445464748494a4b4c4d4e4f5051525354555657");
	unhex(aad, "50515253c0c1c2c3c4c5c6c7");
	unhex(ref, "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
		   "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
		   "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
		   "21f9664c97637da9768812f615c68b13b52e"
		   "c0875924c1c7987947deafd8780acf49");
	wg_xaead_encrypt(ct, (const uint8_t *)sunscreen, 114, aad, 12, nonce, key);
	assert_memory_equal(ct, ref, sizeof(ct));
	assert_true(wg_xaead_decrypt(pt, ct, sizeof(ct), aad, 12, nonce, key));
	assert_memory_equal(pt, sunscreen, 114);

	/* The construction of §1.7 from our parts: subkey, then 00000000 || nonce[16..23]. */
	wg_hchacha20(sub, key, nonce);
	memcpy(n12 + 4, nonce + 16, 8);
	wg_aead_encrypt_raw(ref, (const uint8_t *)sunscreen, 114, aad, 12, n12, sub);
	assert_memory_equal(ct, ref, sizeof(ct));

	/* Every nonce byte matters (the first 16 through the subkey, the last 8 directly). */
	for (i = 0; i < 24; i++) {
		nonce[i] ^= 0x01;
		memset(pt, 0x5a, sizeof(pt));
		assert_false(wg_xaead_decrypt(pt, ct, sizeof(ct), aad, 12, nonce, key));
		assert_true(wg_ct_is_zero(pt, sizeof(pt)));
		nonce[i] ^= 0x01;
	}
	ct[5] ^= 1;
	assert_false(wg_xaead_decrypt(pt, ct, sizeof(ct), aad, 12, nonce, key));
	assert_false(wg_xaead_decrypt(pt, ct, 15, aad, 12, nonce, key));
}

/* Differential: our XChaCha20 construction against libsodium's, random inputs and lengths. */
static void
test_xchacha_vs_libsodium(void **state)
{
	uint8_t key[32], nonce[24], ad[40], msg[300], ours[300 + 16], ref[300 + 16];
	unsigned int i, len, adlen;

	(void)state;
	for (i = 0; i < 200; i++) {
		len = wg_random_uniform(sizeof(msg) + 1);
		adlen = wg_random_uniform(sizeof(ad) + 1);
		wg_random_bytes(key, sizeof(key));
		wg_random_bytes(nonce, sizeof(nonce));
		wg_random_bytes(ad, adlen);
		wg_random_bytes(msg, len);
		wg_xaead_encrypt(ours, msg, len, ad, adlen, nonce, key);
		crypto_aead_xchacha20poly1305_ietf_encrypt(ref, NULL, msg, len, ad, adlen, NULL,
							   nonce, key);
		assert_memory_equal(ours, ref, len + 16);
	}
}

/* The cookie reply of the KAT: XAEAD(cookie_key(responder), nonce, cookie, aad = mac1). */
static void
test_xchacha_cookie_kat(void **state)
{
	const struct message_handshake_cookie *reply = (const void *)kat_nopsk_cookie_reply;
	const struct message_handshake_initiation *init = (const void *)kat_nopsk_initiation;
	uint8_t out[COOKIE_LEN + NOISE_AUTHTAG_LEN], cookie[COOKIE_LEN];

	(void)state;
	wg_xaead_encrypt(out, kat_nopsk_cookie, COOKIE_LEN, init->macs.mac1, WG_MAC_LEN,
			 kat_nopsk_cookie_nonce, kat_nopsk_cookie_key_responder);
	assert_memory_equal(out, reply->encrypted_cookie, sizeof(out));
	assert_true(wg_xaead_decrypt(cookie, reply->encrypted_cookie, sizeof(out), init->macs.mac1,
				     WG_MAC_LEN, reply->nonce, kat_nopsk_cookie_key_responder));
	assert_memory_equal(cookie, kat_nopsk_cookie, COOKIE_LEN);
}

static struct wg_aead_ctx *
new_ctx(enum wg_aead_submit mode)
{
	struct wg_aead_ctx *ctx = wg_aead_ctx_create();
	const char *arch;

	assert_non_null(ctx);
	arch = wg_aead_ctx_arch(ctx);
	assert_true(strcmp(arch, "avx512") == 0 || strcmp(arch, "avx2") == 0 ||
		    strcmp(arch, "avx") == 0 || strcmp(arch, "sse") == 0);
	wg_aead_ctx_set_submit(ctx, mode);
	return ctx;
}

enum { MAX_OPS = 200, MAX_LEN = 1500 };

struct batch {
	struct wg_aead_op ops[MAX_OPS];
	uint8_t keys[MAX_OPS][32];
	uint8_t plain[MAX_OPS][MAX_LEN];
	uint8_t ref[MAX_OPS][MAX_LEN + 16];  /* single-message ciphertext || tag */
	uint8_t data[MAX_OPS][MAX_LEN];
	uint8_t tags[MAX_OPS][16];
};

/* Random keys, counters and lengths (0 included), with the single-message reference. */
static void
batch_fill(struct batch *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct wg_aead_op *op = &b->ops[i];

		wg_random_bytes(b->keys[i], 32);
		op->key = b->keys[i];
		op->counter = ((uint64_t)wg_random_u32() << 32) | wg_random_u32();
		if (i % 5 == 0)
			op->counter &= 0xff;
		op->len = wg_random_uniform(MAX_LEN + 1);
		if (i % 7 == 0)
			op->len = 0;
		op->data = b->data[i];
		op->tag = b->tags[i];
		op->ok = false;
		wg_random_bytes(b->plain[i], op->len);
		memcpy(op->data, b->plain[i], op->len);
		wg_aead_encrypt(b->ref[i], b->plain[i], op->len, NULL, 0, op->counter, op->key);
	}
}

static void
batch_roundtrip(enum wg_aead_submit mode)
{
	struct batch *b = malloc(sizeof(*b));
	struct wg_aead_ctx *ctx = new_ctx(mode);
	unsigned int round, n, i;

	assert_non_null(b);
	for (round = 0; round < 40; round++) {
		n = round < 4 ? round + 1 : 1 + wg_random_uniform(64);
		if (round == 39)
			n = MAX_OPS; /* more than one manager round */
		batch_fill(b, n);
		wg_aead_encrypt_batch(ctx, b->ops, n);
		for (i = 0; i < n; i++) {
			assert_memory_equal(b->data[i], b->ref[i], b->ops[i].len);
			assert_memory_equal(b->tags[i], b->ref[i] + b->ops[i].len, 16);
		}
		assert_int_equal(wg_aead_decrypt_batch(ctx, b->ops, n), n);
		for (i = 0; i < n; i++) {
			assert_true(b->ops[i].ok);
			assert_memory_equal(b->data[i], b->plain[i], b->ops[i].len);
		}
	}
	/* Decrypting what the single-message path produced, too. */
	batch_fill(b, 64);
	for (i = 0; i < 64; i++) {
		memcpy(b->data[i], b->ref[i], b->ops[i].len);
		memcpy(b->tags[i], b->ref[i] + b->ops[i].len, 16);
	}
	assert_int_equal(wg_aead_decrypt_batch(ctx, b->ops, 64), 64);
	for (i = 0; i < 64; i++)
		assert_memory_equal(b->data[i], b->plain[i], b->ops[i].len);
	/* n = 0 is a no-op. */
	assert_int_equal(wg_aead_decrypt_batch(ctx, b->ops, 0), 0);
	assert_int_equal(wg_aead_ctx_fallbacks(ctx), 0);
	wg_aead_ctx_free(ctx);
	free(b);
}

static void
test_batch_vs_single_jobs(void **state)
{
	(void)state;
	batch_roundtrip(WG_AEAD_SUBMIT_JOBS);
}

static void
test_batch_vs_single_burst(void **state)
{
	(void)state;
	batch_roundtrip(WG_AEAD_SUBMIT_BURST);
}

/* A flipped bit in one op fails only that op, and its buffer is wiped. */
static void
batch_tamper(enum wg_aead_submit mode)
{
	struct batch *b = malloc(sizeof(*b));
	struct wg_aead_ctx *ctx = new_ctx(mode);
	unsigned int trial, n, victim, i, bit;
	bool in_tag;

	assert_non_null(b);
	for (trial = 0; trial < 40; trial++) {
		n = 1 + wg_random_uniform(64);
		batch_fill(b, n);
		victim = wg_random_uniform(n);
		for (i = 0; i < n; i++) {
			memcpy(b->data[i], b->ref[i], b->ops[i].len);
			memcpy(b->tags[i], b->ref[i] + b->ops[i].len, 16);
		}
		in_tag = b->ops[victim].len == 0 || trial % 2 == 0;
		if (in_tag) {
			bit = wg_random_uniform(128);
			b->tags[victim][bit / 8] ^= (uint8_t)(1u << (bit % 8));
		} else {
			bit = wg_random_uniform(b->ops[victim].len * 8);
			b->data[victim][bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		assert_int_equal(wg_aead_decrypt_batch(ctx, b->ops, n), n - 1);
		for (i = 0; i < n; i++) {
			if (i == victim) {
				assert_false(b->ops[i].ok);
				assert_true(wg_ct_is_zero(b->data[i], b->ops[i].len));
			} else {
				assert_true(b->ops[i].ok);
				assert_memory_equal(b->data[i], b->plain[i], b->ops[i].len);
			}
		}
	}
	/* Every op failing: a wrong key for all. */
	batch_fill(b, 16);
	for (i = 0; i < 16; i++) {
		memcpy(b->data[i], b->ref[i], b->ops[i].len);
		memcpy(b->tags[i], b->ref[i] + b->ops[i].len, 16);
		b->keys[i][31] ^= 0x80;
	}
	assert_int_equal(wg_aead_decrypt_batch(ctx, b->ops, 16), 0);
	for (i = 0; i < 16; i++) {
		assert_false(b->ops[i].ok);
		assert_true(wg_ct_is_zero(b->data[i], b->ops[i].len));
	}
	wg_aead_ctx_free(ctx);
	free(b);
}

static void
test_batch_vs_single_auto(void **state)
{
	(void)state;
	batch_roundtrip(WG_AEAD_SUBMIT_AUTO);
}

static void
test_batch_tamper_auto(void **state)
{
	(void)state;
	batch_tamper(WG_AEAD_SUBMIT_AUTO);
}

static void
test_batch_tamper_jobs(void **state)
{
	(void)state;
	batch_tamper(WG_AEAD_SUBMIT_JOBS);
}

static void
test_batch_tamper_burst(void **state)
{
	(void)state;
	batch_tamper(WG_AEAD_SUBMIT_BURST);
}

/* The KAT's data packet and keepalive, byte for byte through the batch path. */
static void
test_batch_kat_packets(void **state)
{
	const uint8_t *t_i2r = kat_step("T_send(initiator) = T_recv(responder)");
	const uint8_t *t_r2i = kat_step("T_recv(initiator) = T_send(responder)");
	uint8_t pkt[2][64], tag[2][16];
	struct wg_aead_op ops[2];
	struct wg_aead_ctx *ctx;
	int mode;

	(void)state;
	assert_int_equal(kat_nopsk_data_i2r_len, MESSAGE_DATA_HEADER_LEN + 32 + 16);
	assert_int_equal(kat_nopsk_data_r2i_keepalive_len, MESSAGE_DATA_HEADER_LEN + 16);
	for (mode = WG_AEAD_SUBMIT_AUTO; mode <= WG_AEAD_SUBMIT_BURST; mode++) {
		ctx = new_ctx((enum wg_aead_submit)mode);
		memcpy(pkt[0], kat_nopsk_data_i2r_plain, 32);
		ops[0] = (struct wg_aead_op){ .key = t_i2r, .counter = 0, .data = pkt[0], .len = 32,
					      .tag = tag[0] };
		ops[1] = (struct wg_aead_op){ .key = t_r2i, .counter = 0, .data = NULL, .len = 0,
					      .tag = tag[1] };
		wg_aead_encrypt_batch(ctx, ops, 2);
		assert_memory_equal(pkt[0], kat_nopsk_data_i2r + 16, 32);
		assert_memory_equal(tag[0], kat_nopsk_data_i2r + 48, 16);
		assert_memory_equal(tag[1], kat_nopsk_data_r2i_keepalive + 16, 16);

		assert_int_equal(wg_aead_decrypt_batch(ctx, ops, 2), 2);
		assert_true(ops[0].ok && ops[1].ok);
		assert_memory_equal(pkt[0], kat_nopsk_data_i2r_plain, 32);
		/* The keepalive under the other direction's key must fail. */
		ops[1].key = t_i2r;
		assert_int_equal(wg_aead_decrypt_batch(ctx, &ops[1], 1), 0);
		assert_false(ops[1].ok);
		wg_aead_ctx_free(ctx);
	}
}

/* wg_ct_equal16: equal, every single-bit difference, unaligned, agrees with wg_ct_equal. */
static void
test_ct_equal16(void **state)
{
	uint8_t a[17], b[17];
	unsigned int byte, bit, off;

	(void)state;
	for (off = 0; off < 2; off++) {
		randombytes_buf(a, sizeof(a));
		memcpy(b, a, sizeof(b));
		assert_true(wg_ct_equal16(a + off, b + off));
		for (byte = 0; byte < 16; byte++)
			for (bit = 0; bit < 8; bit++) {
				b[off + byte] ^= (uint8_t)(1u << bit);
				assert_false(wg_ct_equal16(a + off, b + off));
				assert_false(wg_ct_equal(a + off, b + off, 16));
				b[off + byte] ^= (uint8_t)(1u << bit);
			}
		if (off == 0) {
			b[16] ^= 0xff;		/* the 17th byte is not compared */
			assert_true(wg_ct_equal16(a, b));
		}
		memset(b, 0, sizeof(b));
		memset(a, 0, sizeof(a));
		assert_true(wg_ct_equal16(a, b));
		a[15] = 0x80;
		assert_false(wg_ct_equal16(a, b));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8439_raw_nonce),
		cmocka_unit_test(test_ct_equal16),
		cmocka_unit_test(test_counter_nonce_layout),
		cmocka_unit_test(test_rfc8439_a5_counter),
		cmocka_unit_test(test_single_tag_failure),
		cmocka_unit_test(test_xchacha),
		cmocka_unit_test(test_xchacha_vs_libsodium),
		cmocka_unit_test(test_xchacha_cookie_kat),
		cmocka_unit_test(test_batch_vs_single_jobs),
		cmocka_unit_test(test_batch_vs_single_burst),
		cmocka_unit_test(test_batch_vs_single_auto),
		cmocka_unit_test(test_batch_tamper_jobs),
		cmocka_unit_test(test_batch_tamper_burst),
		cmocka_unit_test(test_batch_tamper_auto),
		cmocka_unit_test(test_batch_kat_packets),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("aead", tests, NULL, NULL);
}
