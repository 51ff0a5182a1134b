/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mac1, mac2 and cookie replies (protocol.md §5): the cookie part of the
 * known-answer transcript, tampering, stale replies, mac2 under load, secret
 * rotation at 120 s and cookie expiry at 115 s, on a fake protocol clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "kat_vectors.h"
#include "messages.h"
#include "crypto/blake2s.h"
#include "crypto/clock.h"
#include "crypto/cookie.h"
#include "crypto/ct.h"

#define SEC WG_NSEC_PER_SEC

static uint64_t fake_now;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

static const struct wg_cookie_src src4 = { .family = AF_INET, .addr = { 192, 0, 2, 1 },
					   .port = 51820 };

struct kat_cookie_case {
	const char *name;
	const uint8_t *si_pub, *sr_pub, *initiation, *response, *secret, *cookie, *nonce, *reply;
	const uint8_t *with_mac2, *mac1_key_r, *mac1_key_i, *cookie_key_r;
};

#define KAT_CASE(c)                                                                        \
	{ #c, kat_##c##_si_pub, kat_##c##_sr_pub, kat_##c##_initiation, kat_##c##_response, \
	  kat_##c##_cookie_secret, kat_##c##_cookie, kat_##c##_cookie_nonce,               \
	  kat_##c##_cookie_reply, kat_##c##_initiation_with_mac2,                          \
	  kat_##c##_mac1_key_responder, kat_##c##_mac1_key_initiator,                      \
	  kat_##c##_cookie_key_responder }

static const struct kat_cookie_case kat_cases[] = { KAT_CASE(nopsk), KAT_CASE(psk) };

static void
run_kat(const struct kat_cookie_case *k)
{
	struct wg_cookie_checker responder, initiator;
	struct wg_cookie to_responder, to_initiator;
	struct message_handshake_initiation msg;
	struct message_handshake_cookie reply;
	uint8_t enc[18], cookie[16];

	/* The source encoding and the cookie itself. */
	assert_int_equal(strcmp(kat_nopsk_cookie_src, "192.0.2.1:51820"), 0);
	assert_int_equal(wg_cookie_src_encode(enc, &src4), 6);
	assert_memory_equal(enc, "\xc0\x00\x02\x01\xca\x6c", 6);
	wg_mac(cookie, k->secret, 32, enc, 6);
	assert_memory_equal(cookie, k->cookie, 16);

	/* Derived keys. */
	assert_int_equal(wg_cookie_checker_init(&responder), 0);
	assert_int_equal(wg_cookie_checker_init(&initiator), 0);
	wg_cookie_checker_precompute_device_keys(&responder, k->sr_pub);
	wg_cookie_checker_precompute_device_keys(&initiator, k->si_pub);
	assert_memory_equal(responder.message_mac1_key, k->mac1_key_r, 32);
	assert_memory_equal(responder.cookie_encryption_key, k->cookie_key_r, 32);
	assert_memory_equal(initiator.message_mac1_key, k->mac1_key_i, 32);
	wg_cookie_init(&to_responder, k->sr_pub);
	wg_cookie_init(&to_initiator, k->si_pub);
	assert_memory_equal(to_responder.message_mac1_key, k->mac1_key_r, 32);
	assert_memory_equal(to_responder.cookie_decryption_key, k->cookie_key_r, 32);
	assert_memory_equal(to_initiator.message_mac1_key, k->mac1_key_i, 32);

	/* Both KAT messages carry a valid mac1 and a zero mac2. */
	assert_int_equal(wg_cookie_validate_packet(&responder, k->initiation, MESSAGE_INITIATION_LEN,
						   &src4, false),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	assert_int_equal(wg_cookie_validate_packet(&initiator, k->response, MESSAGE_RESPONSE_LEN,
						   &src4, false),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);

	/* Under load the responder answers message 1 with the KAT cookie reply. */
	wg_cookie_checker_set_secret(&responder, k->secret, fake_now);
	assert_int_equal(wg_cookie_validate_packet(&responder, k->initiation, MESSAGE_INITIATION_LEN,
						   &src4, true),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	assert_int_equal(wg_cookie_message_create_fixed(&reply, k->initiation,
							MESSAGE_INITIATION_LEN, &src4, &responder,
							k->nonce), 0);
	if (memcmp(&reply, k->reply, MESSAGE_COOKIE_LEN) != 0)
		fail_msg("%s: cookie reply differs", k->name);

	/* The initiator sends message 1 (same bytes), takes the cookie, resends with mac2. */
	memcpy(&msg, k->initiation, sizeof(msg));
	memset(&msg.macs, 0xee, sizeof(msg.macs));
	wg_cookie_add_mac_to_packet(&msg, sizeof(msg), &to_responder);
	assert_memory_equal(&msg, k->initiation, MESSAGE_INITIATION_LEN);
	memcpy(&reply, k->reply, sizeof(reply));
	assert_int_equal(wg_cookie_message_consume(&reply, &to_responder), 0);
	assert_memory_equal(to_responder.cookie, k->cookie, 16);
	wg_cookie_add_mac_to_packet(&msg, sizeof(msg), &to_responder);
	if (memcmp(&msg, k->with_mac2, MESSAGE_INITIATION_LEN) != 0)
		fail_msg("%s: initiation_with_mac2 differs", k->name);
	assert_int_equal(wg_cookie_validate_packet(&responder, k->with_mac2, MESSAGE_INITIATION_LEN,
						   &src4, true),
			 WG_COOKIE_VALID_MAC_WITH_COOKIE);

	wg_cookie_destroy(&to_responder);
	wg_cookie_destroy(&to_initiator);
	wg_cookie_checker_destroy(&responder);
	wg_cookie_checker_destroy(&initiator);
}

static void
test_kat(void **state)
{
	(void)state;
	run_kat(&kat_cases[0]);
	run_kat(&kat_cases[1]);
}

/* A device (checker) and the peer state another node keeps for it. */
struct fixture {
	uint8_t pub[32];
	struct wg_cookie_checker checker;
	struct wg_cookie peer;
};

static int
setup(void **state)
{
	static struct fixture f;

	fake_now = 10000 * SEC;
	wg_clock_set_source(fake_clock);
	wg_random_bytes(f.pub, sizeof(f.pub));
	if (wg_cookie_checker_init(&f.checker) != 0)
		return -1;
	wg_cookie_checker_precompute_device_keys(&f.checker, f.pub);
	wg_cookie_init(&f.peer, f.pub);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	wg_cookie_checker_destroy(&f->checker);
	wg_cookie_destroy(&f->peer);
	wg_clock_set_source(NULL);
	return 0;
}

static void
random_initiation(struct message_handshake_initiation *m)
{
	wg_random_bytes(m, sizeof(*m));
	m->header.type = MESSAGE_HANDSHAKE_INITIATION;
}

/* Send m to the checker under load, get a reply for src, hand it to the peer. */
static void
obtain_cookie(struct fixture *f, struct message_handshake_initiation *m,
	      const struct wg_cookie_src *src)
{
	struct message_handshake_cookie reply;

	wg_cookie_add_mac_to_packet(m, sizeof(*m), &f->peer);
	assert_int_equal(wg_cookie_validate_packet(&f->checker, m, sizeof(*m), src, true),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	assert_int_equal(wg_cookie_message_create(&reply, m, sizeof(*m), src, &f->checker), 0);
	assert_int_equal(reply.header.type, MESSAGE_HANDSHAKE_COOKIE);
	assert_int_equal(reply.receiver_index, m->sender_index);
	assert_int_equal(wg_cookie_message_consume(&reply, &f->peer), 0);
	assert_true(f->peer.is_valid);
}

static void
test_mac1(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_initiation m, bad;
	struct message_handshake_response r;
	size_t i;

	random_initiation(&m);
	wg_cookie_add_mac_to_packet(&m, sizeof(m), &f->peer);
	assert_true(f->peer.have_sent_mac1);
	assert_memory_equal(f->peer.last_mac1_sent, m.macs.mac1, 16);
	assert_true(wg_ct_is_zero(m.macs.mac2, 16));
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &src4, false),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	/* Any changed bit before or inside mac1 is caught. */
	for (i = 0; i < offsetof(struct message_handshake_initiation, macs.mac2); i++) {
		bad = m;
		((uint8_t *)&bad)[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(wg_cookie_validate_packet(&f->checker, &bad, sizeof(bad), &src4,
							   false),
				 WG_COOKIE_INVALID_MAC);
		assert_int_equal(wg_cookie_validate_packet(&f->checker, &bad, sizeof(bad), &src4,
							   true),
				 WG_COOKIE_INVALID_MAC);
	}
	/* mac2 is ignored when not under load. */
	bad = m;
	bad.macs.mac2[3] ^= 1;
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &bad, sizeof(bad), &src4, false),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	/* Wrong lengths. */
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m) - 1, &src4, false),
			 WG_COOKIE_INVALID_MAC);
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, MESSAGE_COOKIE_LEN, &src4,
						   false),
			 WG_COOKIE_INVALID_MAC);
	/* A response: mac1 over its own 60 bytes. */
	wg_random_bytes(&r, sizeof(r));
	wg_cookie_add_mac_to_packet(&r, sizeof(r), &f->peer);
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &r, sizeof(r), &src4, false),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	r.receiver_index ^= 1;
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &r, sizeof(r), &src4, false),
			 WG_COOKIE_INVALID_MAC);
	/* A device without keys accepts nothing. */
	wg_cookie_checker_precompute_device_keys(&f->checker, NULL);
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &src4, false),
			 WG_COOKIE_INVALID_MAC);
}

static void
test_stale_reply(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_initiation a, b;
	struct message_handshake_cookie reply_a, reply_b;

	/* No mac1 sent yet: any reply is dropped. */
	random_initiation(&a);
	random_initiation(&b);
	assert_int_equal(wg_cookie_message_create(&reply_a, &a, sizeof(a), &src4, &f->checker), 0);
	assert_int_equal(wg_cookie_message_consume(&reply_a, &f->peer), -EPROTO);

	wg_cookie_add_mac_to_packet(&a, sizeof(a), &f->peer);
	assert_int_equal(wg_cookie_message_create(&reply_a, &a, sizeof(a), &src4, &f->checker), 0);
	wg_cookie_add_mac_to_packet(&b, sizeof(b), &f->peer);
	assert_int_equal(wg_cookie_message_create(&reply_b, &b, sizeof(b), &src4, &f->checker), 0);
	/* The reply to the older message: its AAD is a stale mac1. */
	assert_int_equal(wg_cookie_message_consume(&reply_a, &f->peer), -EBADMSG);
	assert_false(f->peer.is_valid);
	/* A tampered reply. */
	reply_b.nonce[0] ^= 1;
	assert_int_equal(wg_cookie_message_consume(&reply_b, &f->peer), -EBADMSG);
	reply_b.nonce[0] ^= 1;
	assert_int_equal(wg_cookie_message_consume(&reply_b, &f->peer), 0);
	assert_true(f->peer.is_valid);
	/* Kernel: a second reply for the same mac1 is ignored. */
	assert_int_equal(wg_cookie_message_consume(&reply_b, &f->peer), -EPROTO);
	/* Bad length for a reply. */
	assert_int_equal(wg_cookie_message_create(&reply_a, &a, 100, &src4, &f->checker), -EINVAL);
}

static void
test_mac2_under_load(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_initiation m, bad;
	struct message_handshake_response r;
	struct wg_cookie_src other = src4, src6 = { .family = AF_INET6, .port = 4500 };
	size_t i;

	random_initiation(&m);
	/* No cookie yet: zero mac2, refused under load. */
	wg_cookie_add_mac_to_packet(&m, sizeof(m), &f->peer);
	assert_true(wg_ct_is_zero(m.macs.mac2, 16));
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &src4, true),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);

	obtain_cookie(f, &m, &src4);
	wg_cookie_add_mac_to_packet(&m, sizeof(m), &f->peer);
	assert_false(wg_ct_is_zero(m.macs.mac2, 16));
	/* Valid mac2 from the source the cookie was made for. */
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &src4, true),
			 WG_COOKIE_VALID_MAC_WITH_COOKIE);
	/* Another port or address: the cookie does not fit. */
	other.port++;
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &other, true),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	other = src4;
	other.addr[3] = 2;
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &other, true),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	/* Any wrong bit of mac2. */
	for (i = 0; i < 16; i++) {
		bad = m;
		bad.macs.mac2[i] ^= 0x80;
		assert_int_equal(wg_cookie_validate_packet(&f->checker, &bad, sizeof(bad), &src4,
							   true),
				 WG_COOKIE_VALID_MAC_NO_COOKIE);
	}
	/* Zero mac2. */
	bad = m;
	memset(bad.macs.mac2, 0, 16);
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &bad, sizeof(bad), &src4, true),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	/* The same cookie covers a response from that source. */
	wg_random_bytes(&r, sizeof(r));
	wg_cookie_add_mac_to_packet(&r, sizeof(r), &f->peer);
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &r, sizeof(r), &src4, true),
			 WG_COOKIE_VALID_MAC_WITH_COOKIE);

	/* IPv6: all 16 address bytes count. */
	src6.addr[0] = 0x20;
	src6.addr[15] = 7;
	random_initiation(&m);
	obtain_cookie(f, &m, &src6);
	wg_cookie_add_mac_to_packet(&m, sizeof(m), &f->peer);
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &src6, true),
			 WG_COOKIE_VALID_MAC_WITH_COOKIE);
	other = src6;
	other.addr[15] = 8;
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &other, true),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	/* An unknown family never has a cookie. */
	other.family = AF_UNIX;
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &other, true),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
}

static void
test_secret_rotation(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_initiation m;
	uint8_t secret[32], enc[18], c1[16];
	size_t n;

	wg_random_bytes(secret, sizeof(secret));
	wg_cookie_checker_set_secret(&f->checker, secret, fake_now);
	random_initiation(&m);
	obtain_cookie(f, &m, &src4);
	n = wg_cookie_src_encode(enc, &src4);
	wg_mac(c1, secret, 32, enc, n);
	assert_memory_equal(f->peer.cookie, c1, 16);

	/* Just under 120 s: the secret and the cookie still hold. */
	fake_now += 115 * SEC - 1;
	wg_cookie_add_mac_to_packet(&m, sizeof(m), &f->peer);
	fake_now += 5 * SEC;
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &src4, true),
			 WG_COOKIE_VALID_MAC_WITH_COOKIE);
	assert_memory_equal(f->checker.secret, secret, 32);
	/* At 120 s a mac2 check replaces the secret: the old cookie fails. */
	fake_now += 1;
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &src4, true),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	assert_memory_not_equal(f->checker.secret, secret, 32);
	assert_true(f->checker.secret_birth == fake_now);

	/* Creating a reply rotates lazily too. */
	memcpy(secret, f->checker.secret, 32);
	fake_now += 120 * SEC;
	random_initiation(&m);
	obtain_cookie(f, &m, &src4);
	assert_memory_not_equal(f->checker.secret, secret, 32);
	wg_cookie_add_mac_to_packet(&m, sizeof(m), &f->peer);
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &src4, true),
			 WG_COOKIE_VALID_MAC_WITH_COOKIE);
}

static void
test_cookie_expiry(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_initiation m;
	uint8_t mac2[16];

	random_initiation(&m);
	obtain_cookie(f, &m, &src4);
	/* Used for mac2 while younger than 115 s. */
	fake_now += 115 * SEC - 1;
	wg_cookie_add_mac_to_packet(&m, sizeof(m), &f->peer);
	assert_false(wg_ct_is_zero(m.macs.mac2, 16));
	wg_mac(mac2, f->peer.cookie, 16, &m, offsetof(struct message_handshake_initiation, macs.mac2));
	assert_memory_equal(m.macs.mac2, mac2, 16);
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &src4, true),
			 WG_COOKIE_VALID_MAC_WITH_COOKIE);
	/* At 115 s: zero mac2 again. */
	fake_now += 1;
	wg_cookie_add_mac_to_packet(&m, sizeof(m), &f->peer);
	assert_true(wg_ct_is_zero(m.macs.mac2, 16));
	assert_int_equal(wg_cookie_validate_packet(&f->checker, &m, sizeof(m), &src4, true),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac2_under_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_expiry, setup, teardown),
	};

	return cmocka_run_group_tests_name("cookie", tests, NULL, NULL);
}
