/* SPDX-License-Identifier: BSD-3-Clause */
/* HASH, MAC, HMAC and KDF against protocol.md §2, §11.1, §11.6 and the KAT transcript. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <blake2.h>
#include <cmocka.h>
#include <sodium.h>

#include "crypto/blake2s.h"
#include "crypto/hkdf.h"
#include "kat_vectors.h"
#include "messages.h"
#include "../test_vectors.h"

static void
assert_hex(const uint8_t *got, const char *want_hex)
{
	uint8_t want[256];
	size_t n = unhex(want, want_hex);

	assert_memory_equal(got, want, n);
}

static void
test_hash_abc(void **state)
{
	uint8_t out[32];

	(void)state;
	wg_hash(out, "abc", 3);
	assert_hex(out, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	/* HASH(a || b) over any split equals HASH of the concatenation. */
	wg_hash2(out, "a", 1, "bc", 2);
	assert_hex(out, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	wg_hash2(out, "abc", 3, "", 0);
	assert_hex(out, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
}

/* §11.1: keyed BLAKE2s-256 (blake2s-kat.txt) through wg_blake2s_keyed, the code under wg_mac. */
static void
test_keyed_kat(void **state)
{
	uint8_t key[32], out[32], zero = 0, ref[32];
	unsigned int i;

	(void)state;
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	wg_blake2s_keyed(out, 32, key, 32, NULL, 0);
	assert_hex(out, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49");
	wg_blake2s_keyed(out, 32, key, 32, &zero, 1);
	assert_hex(out, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1");
	/* An empty key is the unkeyed hash (parameter word 0 = 0x01010020). */
	wg_blake2s_keyed(out, 32, NULL, 0, "abc", 3);
	assert_hex(out, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	/* wg_mac is the same function with outlen 16. */
	wg_blake2s_keyed(ref, 16, key, 32, "message", 7);
	wg_mac(out, key, 32, "message", 7);
	assert_memory_equal(out, ref, 16);
}

/* MAC is keyed BLAKE2s with outlen 16 in the parameter block: not a truncation. */
static void
test_mac_not_truncated(void **state)
{
	uint8_t key[32], mac[16], full[32], ref[16];

	(void)state;
	memset(key, 0x42, sizeof(key));
	wg_mac(mac, key, 32, "message", 7);
	assert_int_equal(blake2s(full, "message", key, 32, 7, 32), 0);
	assert_memory_not_equal(mac, full, 16);
	/* Differential: libsodium's generichash is BLAKE2b, so use libb2 with outlen 16. */
	assert_int_equal(blake2s(ref, "message", key, 16, 7, 32), 0);
	assert_memory_equal(mac, ref, 16);
	/* mac2 uses a 16-byte key (the cookie). */
	wg_mac(mac, key, 16, "message", 7);
	assert_int_equal(blake2s(ref, "message", key, 16, 7, 16), 0);
	assert_memory_equal(mac, ref, 16);
}

/* The mac1 fields of the KAT messages: MAC(HASH(LABEL_MAC1 || S_pub), msg[0:off]). */
static void
test_mac1_kat(void **state)
{
	const struct message_handshake_initiation *init = (const void *)kat_nopsk_initiation;
	const struct message_handshake_response *resp = (const void *)kat_nopsk_response;
	uint8_t key[32], mac[16];

	(void)state;
	wg_hash2(key, WG_LABEL_MAC1, 8, kat_nopsk_sr_pub, 32);
	assert_memory_equal(key, kat_nopsk_mac1_key_responder, 32);
	wg_hash2(key, WG_LABEL_MAC1, 8, kat_nopsk_si_pub, 32);
	assert_memory_equal(key, kat_nopsk_mac1_key_initiator, 32);
	wg_hash2(key, WG_LABEL_COOKIE, 8, kat_nopsk_sr_pub, 32);
	assert_memory_equal(key, kat_nopsk_cookie_key_responder, 32);

	wg_mac(mac, kat_nopsk_mac1_key_responder, 32, init, offsetof(typeof(*init), macs));
	assert_memory_equal(mac, init->macs.mac1, 16);
	wg_mac(mac, kat_nopsk_mac1_key_initiator, 32, resp, offsetof(typeof(*resp), macs));
	assert_memory_equal(mac, resp->macs.mac1, 16);
	/* mac2 = MAC(cookie, msg[0:132]), 16-byte key. */
	init = (const void *)kat_nopsk_initiation_with_mac2;
	wg_mac(mac, kat_nopsk_cookie, 16, init, offsetof(typeof(*init), macs.mac2));
	assert_memory_equal(mac, init->macs.mac2, 16);
}

/* §2: C0 and H0, and the same values as the first steps of the KAT. */
static void
test_constants(void **state)
{
	uint8_t c0[32], h0[32];

	(void)state;
	wg_hash(c0, NOISE_CONSTRUCTION, strlen(NOISE_CONSTRUCTION));
	assert_hex(c0, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	wg_hash2(h0, c0, 32, NOISE_IDENTIFIER, strlen(NOISE_IDENTIFIER));
	assert_hex(h0, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
	assert_memory_equal(c0, kat_nopsk_steps[0].v, 32);
	assert_memory_equal(h0, kat_nopsk_steps[1].v, 32);
}

/* Naive RFC 2104 HMAC over libb2's one-shot blake2s, to check wg_hmac against. */
static void
naive_hmac(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *in, size_t inlen)
{
	uint8_t k[64] = { 0 }, buf[64 + 1024], inner[32];
	unsigned int i;

	if (keylen > 64)
		assert_int_equal(blake2s(k, key, NULL, 32, keylen, 0), 0);
	else
		memcpy(k, key, keylen);
	for (i = 0; i < 64; i++)
		buf[i] = k[i] ^ 0x36;
	memcpy(buf + 64, in, inlen);
	assert_int_equal(blake2s(inner, buf, NULL, 32, 64 + inlen, 0), 0);
	for (i = 0; i < 64; i++)
		buf[i] = k[i] ^ 0x5c;
	memcpy(buf + 64, inner, 32);
	assert_int_equal(blake2s(out, buf, NULL, 32, 96, 0), 0);
}

static void
test_hmac(void **state)
{
	static const size_t keylens[] = { 0, 1, 16, 32, 63, 64, 65, 100, 200 };
	uint8_t key[200], in[1024], got[32], want[32];
	unsigned int i, j;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 13 + 5);
	for (i = 0; i < sizeof(keylens) / sizeof(keylens[0]); i++) {
		for (j = 0; j <= 200; j += 37) {
			wg_hmac(got, key, keylens[i], in, j);
			naive_hmac(want, key, keylens[i], in, j);
			assert_memory_equal(got, want, 32);
		}
	}
	/* A long key is hashed first: HMAC(k) == HMAC(HASH(k)) for |k| > 64. */
	wg_hash(want, key, 100);
	wg_hmac(got, key, 100, in, 10);
	wg_hmac(want, want, 32, in, 10);
	assert_memory_equal(got, want, 32);
}

static const struct {
	const char *key, *input, *t1, *t2, *t3;
} kdf_vectors[] = {
	{ "test-key", "test-input",
	  "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
	  "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
	  "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24" },
	{ "wireguard", "wireguard",
	  "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
	  "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
	  "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160" },
	{ "", "",
	  "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
	  "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
	  "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e" },
};

static void
test_kdf_wireguard_go(void **state)
{
	uint8_t t1[32], t2[32], t3[32];
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(kdf_vectors) / sizeof(kdf_vectors[0]); i++) {
		const char *k = kdf_vectors[i].key, *in = kdf_vectors[i].input;

		wg_kdf(t1, t2, t3, k, strlen(k), in, strlen(in));
		assert_hex(t1, kdf_vectors[i].t1);
		assert_hex(t2, kdf_vectors[i].t2);
		assert_hex(t3, kdf_vectors[i].t3);
		/* KDF1 and KDF2 are the leading outputs of the same computation. */
		memset(t1, 0, 32);
		memset(t2, 0, 32);
		wg_kdf(t1, t2, NULL, k, strlen(k), in, strlen(in));
		assert_hex(t1, kdf_vectors[i].t1);
		assert_hex(t2, kdf_vectors[i].t2);
		memset(t1, 0, 32);
		wg_kdf(t1, NULL, NULL, k, strlen(k), in, strlen(in));
		assert_hex(t1, kdf_vectors[i].t1);
	}
}

/* The first KDF step of the KAT: C = KDF1(C0, Ei_pub). */
static void
test_kdf_kat_step(void **state)
{
	uint8_t c[32];

	(void)state;
	assert_string_equal(kat_nopsk_steps[3].label, "C = KDF1(C, Ei_pub)");
	wg_kdf(c, NULL, NULL, kat_nopsk_steps[0].v, 32, kat_nopsk_ei_pub, 32);
	assert_memory_equal(c, kat_nopsk_steps[3].v, 32);
}

static void
hmac_sha256(uint8_t *out, const void *key, size_t keylen, const void *in, size_t inlen)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, in, inlen);
	crypto_auth_hmacsha256_final(&st, out);
}

static const struct wg_hkdf_hash sha256 = { .hash_len = 32, .hmac = hmac_sha256 };

/* RFC 5869 A.1 and A.3 through the same extract/expand that wg_kdf uses. */
static void
test_hkdf_rfc5869(void **state)
{
	uint8_t ikm[22], salt[13], info[10], prk[32], okm[42];
	unsigned int i;

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)i;
	for (i = 0; i < sizeof(info); i++)
		info[i] = (uint8_t)(0xf0 + i);

	wg_hkdf_extract(&sha256, prk, salt, sizeof(salt), ikm, sizeof(ikm));
	assert_hex(prk, "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
	assert_int_equal(wg_hkdf_expand(&sha256, okm, 42, prk, 32, info, sizeof(info)), 0);
	assert_hex(okm, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
			"34007208d5b887185865");

	wg_hkdf_extract(&sha256, prk, NULL, 0, ikm, sizeof(ikm));
	assert_hex(prk, "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
	assert_int_equal(wg_hkdf_expand(&sha256, okm, 42, prk, 32, NULL, 0), 0);
	assert_hex(okm, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
			"9d201395faa4b61a96c8");

	/* L > 255 * HashLen is refused. */
	assert_int_equal(wg_hkdf_expand(&sha256, okm, 255 * 32 + 1, prk, 32, NULL, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_abc),
		cmocka_unit_test(test_keyed_kat),
		cmocka_unit_test(test_mac_not_truncated),
		cmocka_unit_test(test_mac1_kat),
		cmocka_unit_test(test_constants),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_kdf_wireguard_go),
		cmocka_unit_test(test_kdf_kat_step),
		cmocka_unit_test(test_hkdf_rfc5869),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("blake2s", tests, NULL, NULL);
}
