/* SPDX-License-Identifier: BSD-3-Clause */
/* X25519 against protocol.md §11.5, clamping, and low-order point rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/ct.h"
#include "crypto/x25519.h"
#include "kat_vectors.h"

static void
unhex32(uint8_t out[32], const char *hex)
{
	unsigned int i, b;

	assert_int_equal(strlen(hex), 64);
	for (i = 0; i < 32; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
}

static void
assert_hex32(const uint8_t got[32], const char *hex)
{
	uint8_t want[32];

	unhex32(want, hex);
	assert_memory_equal(got, want, 32);
}

static void
test_rfc7748_vectors(void **state)
{
	static const struct {
		const char *scalar, *u, *out;
	} v[] = {
		{ "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
		/* Its u has bit 255 set: it must be masked, not rejected. */
		{ "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
	};
	uint8_t k[32], u[32], out[32];
	unsigned int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		unhex32(k, v[i].scalar);
		unhex32(u, v[i].u);
		assert_true(wg_x25519(out, k, u));
		assert_hex32(out, v[i].out);
	}
}

static void
test_rfc7748_iterated(void **state)
{
	uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32];
	unsigned int i;

	(void)state;
	for (i = 1; i <= 1000; i++) {
		assert_true(wg_x25519(r, k, u));
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			assert_hex32(k, "422c8e7a6227d7bca1350b3e2bb7279f"
					"7897b87bb6854b783c60e80311ae3079");
	}
	assert_hex32(k, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

static void
test_rfc7748_dh(void **state)
{
	uint8_t a[32], b[32], apub[32], bpub[32], s1[32], s2[32];

	(void)state;
	unhex32(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex32(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	assert_true(wg_x25519_public(apub, a));
	assert_true(wg_x25519_public(bpub, b));
	assert_hex32(apub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_hex32(bpub, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_true(wg_x25519(s1, a, bpub));
	assert_true(wg_x25519(s2, b, apub));
	assert_hex32(s1, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_memory_equal(s1, s2, 32);
	/* The KAT keys are these same RFC keys. */
	assert_memory_equal(apub, kat_nopsk_si_pub, 32);
	assert_memory_equal(bpub, kat_nopsk_sr_pub, 32);
}

/* Any 32-byte string is a private key: the unclamped form gives the clamped result. */
static void
test_clamping(void **state)
{
	uint8_t raw[32], clamped[32], peer[32], p1[32], p2[32], s1[32], s2[32];
	unsigned int i;

	(void)state;
	wg_x25519_generate(peer);
	assert_true(wg_x25519_public(peer, peer));
	for (i = 0; i < 64; i++) {
		wg_random_bytes(raw, 32);
		raw[0] |= 7;          /* force the bits clamping changes */
		raw[31] |= 0x80;
		raw[31] &= (uint8_t)~0x40;
		memcpy(clamped, raw, 32);
		wg_x25519_clamp(clamped);
		assert_int_equal(clamped[0] & 7, 0);
		assert_int_equal(clamped[31] & 0xc0, 0x40);
		assert_memory_equal(clamped + 1, raw + 1, 30);
		assert_true(wg_x25519_public(p1, raw));
		assert_true(wg_x25519_public(p2, clamped));
		assert_memory_equal(p1, p2, 32);
		assert_true(wg_x25519(s1, raw, peer));
		assert_true(wg_x25519(s2, clamped, peer));
		assert_memory_equal(s1, s2, 32);
		/* The caller's key is not modified. */
		assert_int_equal(raw[0] & 7, 7);
	}
	/* Generated keys are already clamped. */
	wg_x25519_generate(raw);
	memcpy(clamped, raw, 32);
	wg_x25519_clamp(clamped);
	assert_memory_equal(raw, clamped, 32);
}

static void
test_low_order_rejected(void **state)
{
	uint8_t priv[32], out[32];
	unsigned int i, j;

	(void)state;
	assert_true(kat_low_order_points_n >= 7);
	for (i = 0; i < kat_low_order_points_n; i++) {
		for (j = 0; j < 16; j++) {
			wg_random_bytes(priv, 32);
			memset(out, 0xa5, sizeof(out));
			assert_false(wg_x25519(out, priv, kat_low_order_points[i]));
			assert_true(wg_ct_is_zero(out, 32));
		}
	}
}

static void
test_zero_private_refused(void **state)
{
	uint8_t zero[32] = { 0 }, pub[32];

	(void)state;
	memset(pub, 0xa5, sizeof(pub));
	assert_false(wg_x25519_public(pub, zero));
	assert_true(wg_ct_is_zero(pub, 32));
	/* Only all-zero is refused: a key that clamps to 2^254 is fine. */
	zero[31] = 0x80;
	assert_true(wg_x25519_public(pub, zero));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7748_vectors),
		cmocka_unit_test(test_rfc7748_iterated),
		cmocka_unit_test(test_rfc7748_dh),
		cmocka_unit_test(test_clamping),
		cmocka_unit_test(test_low_order_rejected),
		cmocka_unit_test(test_zero_private_refused),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("x25519", tests, NULL, NULL);
}
