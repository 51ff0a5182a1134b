/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Noise_IKpsk2 handshake (protocol.md §4, §7.1, §7.2): the known-answer
 * transcript of tests/vectors/handshake_kat.json in both roles, step by step,
 * then handshakes between in-process devices: slot rotation, replays, the
 * 20 ms flood limit, low-order points and garbage responses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "kat_vectors.h"
#include "messages.h"
#include "crypto/aead.h"
#include "crypto/clock.h"
#include "crypto/cookie.h"
#include "crypto/ct.h"
#include "crypto/index_table.h"
#include "crypto/noise.h"
#include "crypto/x25519.h"

#define MS 1000000ULL
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static uint64_t fake_now;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

/* --- a small device with peers, as a control plane would hold them --- */

enum { MAX_TRACE = 48, TEST_MAX_PEERS = 4 };

struct trace_rec {
	unsigned int n;
	struct {
		const char *label;
		uint8_t v[32];
	} e[MAX_TRACE];
};

struct device;

struct peer {
	struct noise_handshake hs;
	struct noise_keypairs kps;
	struct wg_cookie cookie;
	struct device *dev;
};

struct device {
	struct noise_local local;
	struct wg_index_table *table;
	struct wg_cookie_checker checker;
	struct peer *peers[TEST_MAX_PEERS];
	unsigned int npeers;
	struct trace_rec trace;
	unsigned int retired;
};

static void
record(void *arg, const char *label, const uint8_t v[32])
{
	struct trace_rec *t = arg;

	assert_true(t->n < MAX_TRACE);
	t->e[t->n].label = label;
	memcpy(t->e[t->n].v, v, 32);
	t->n++;
}

static void
retire(void *arg, struct noise_keypair *kp)
{
	struct device *d = arg;

	/* Retired keypairs are already out of the index table and invalid. */
	assert_true(wg_index_table_lookup(d->table, kp->entry.index, NOISE_INDEX_KEYPAIR) !=
		    &kp->entry);
	assert_false(atomic_load(&kp->sending_valid));
	assert_false(atomic_load(&kp->receiving_valid));
	d->retired++;
	wg_noise_keypair_free(NULL, kp);
}

static struct noise_handshake *
lookup_peer(void *arg, const uint8_t pub[32])
{
	struct device *d = arg;
	unsigned int i;

	for (i = 0; i < d->npeers; i++)
		if (wg_ct_equal(d->peers[i]->hs.remote_static, pub, 32))
			return &d->peers[i]->hs;
	return NULL;
}

static void
device_init(struct device *d, const uint8_t *priv)
{
	uint8_t k[32];

	memset(d, 0, sizeof(*d));
	d->table = wg_index_table_create(16);
	assert_non_null(d->table);
	wg_noise_local_init(&d->local, &wg_index_table_ops, d->table, lookup_peer, d);
	wg_noise_local_set_retire(&d->local, retire, d);
	if (priv == NULL) {
		wg_x25519_generate(k);
		priv = k;
	}
	assert_int_equal(wg_noise_local_set_private_key(&d->local, priv), 0);
	assert_int_equal(wg_cookie_checker_init(&d->checker), 0);
	wg_cookie_checker_precompute_device_keys(&d->checker, d->local.public_key);
}

static struct peer *
device_add_peer(struct device *d, const uint8_t pub[32], const uint8_t *psk)
{
	struct peer *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	assert_true(d->npeers < TEST_MAX_PEERS);
	wg_noise_handshake_init(&p->hs, &d->local, pub, psk, p);
	wg_noise_keypairs_init(&p->kps);
	wg_cookie_init(&p->cookie, pub);
	p->dev = d;
	d->peers[d->npeers++] = p;
	return p;
}

static void
device_free(struct device *d)
{
	unsigned int i;

	for (i = 0; i < d->npeers; i++) {
		wg_noise_keypairs_clear(&d->peers[i]->kps);
		wg_noise_handshake_destroy(&d->peers[i]->hs);
		wg_cookie_destroy(&d->peers[i]->cookie);
		free(d->peers[i]);
	}
	assert_int_equal(wg_index_table_count(d->table), 0);
	wg_cookie_checker_destroy(&d->checker);
	wg_noise_local_destroy(&d->local);
	wg_index_table_destroy(d->table);
}

/* Two devices that know each other: a[0] is b's peer entry on a, and so on. */
struct pair {
	struct device a, b;
	struct peer *b_on_a, *a_on_b;
};

static struct pair *
pair_new(const uint8_t *psk)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	device_init(&p->a, NULL);
	device_init(&p->b, NULL);
	p->b_on_a = device_add_peer(&p->a, p->b.local.public_key, psk);
	p->a_on_b = device_add_peer(&p->b, p->a.local.public_key, psk);
	return p;
}

static void
pair_free(struct pair *p)
{
	device_free(&p->a);
	device_free(&p->b);
	free(p);
}

static const struct wg_cookie_src test_src = { .family = AF_INET, .addr = { 192, 0, 2, 1 },
					       .port = 51820 };

/* --- transport data through the keypairs --- */

static size_t
send_packet(struct peer *p, uint8_t *pkt, const uint8_t *plain, size_t len)
{
	struct noise_keypair *kp = wg_noise_keypairs_current(&p->kps);
	struct message_data *m = (struct message_data *)pkt;
	uint64_t counter;

	assert_non_null(kp);
	assert_true(wg_noise_keypair_send_usable(kp, wg_clock_now()));
	assert_true(wg_noise_keypair_nonce_reserve(kp, 1, &counter));
	m->header.type = MESSAGE_DATA;
	m->key_idx = kp->remote_index;
	m->counter = counter;
	wg_aead_encrypt(pkt + MESSAGE_DATA_HEADER_LEN, plain, len, NULL, 0, counter, kp->send_key);
	return MESSAGE_DATA_HEADER_LEN + len + NOISE_AUTHTAG_LEN;
}

static struct noise_keypair *
keypair_by_index(struct device *d, uint32_t index)
{
	struct noise_index_entry *e = wg_index_table_lookup(d->table, index, NOISE_INDEX_KEYPAIR);

	return e == NULL ? NULL : container_of(e, struct noise_keypair, entry);
}

/* The receive path of §9.2 up to the slot confirmation; NULL if dropped. */
static struct noise_keypair *
receive_packet(struct device *d, const uint8_t *pkt, size_t len, uint8_t *out, bool *confirmed)
{
	const struct message_data *m = (const struct message_data *)pkt;
	struct noise_keypair *kp = keypair_by_index(d, m->key_idx);
	uint64_t counter = m->counter;
	struct peer *p;

	*confirmed = false;
	if (kp == NULL || !wg_noise_keypair_receive_usable(kp, wg_clock_now()))
		return NULL;
	if (!wg_aead_decrypt(out, pkt + MESSAGE_DATA_HEADER_LEN, len - MESSAGE_DATA_HEADER_LEN,
			     NULL, 0, counter, kp->recv_key))
		return NULL;
	if (!wg_noise_keypair_replay_check(kp, counter))
		return NULL;
	p = kp->entry.owner;
	*confirmed = wg_noise_received_with_keypair(&p->kps, kp);
	return kp;
}

/* Send len bytes from one peer entry and check they arrive on the other device. */
static struct noise_keypair *
transfer(struct peer *from, struct device *to, size_t len, bool *confirmed)
{
	uint8_t plain[256], pkt[512], out[256];
	struct noise_keypair *kp;
	size_t n;

	assert_true(len <= sizeof(plain));
	wg_random_bytes(plain, len);
	n = send_packet(from, pkt, plain, len);
	kp = receive_packet(to, pkt, n, out, confirmed);
	assert_non_null(kp);
	assert_memory_equal(out, plain, len);
	return kp;
}

/* --- the known-answer transcript --- */

struct kat_case {
	const char *name;
	const uint8_t *si_priv, *sr_priv, *ei_priv, *er_priv, *si_pub, *sr_pub, *psk, *timestamp;
	uint32_t idx_i, idx_r;
	const uint8_t *initiation, *response, *plain, *data_i2r, *keepalive;
	size_t plain_len;
	const struct kat_step *steps;
	size_t steps_n;
};

#define KAT_CASE(c)                                                                        \
	{ #c, kat_##c##_si_priv, kat_##c##_sr_priv, kat_##c##_ei_priv, kat_##c##_er_priv,  \
	  kat_##c##_si_pub, kat_##c##_sr_pub, kat_##c##_psk, kat_##c##_timestamp,          \
	  kat_##c##_idx_i, kat_##c##_idx_r, kat_##c##_initiation, kat_##c##_response,      \
	  kat_##c##_data_i2r_plain, kat_##c##_data_i2r, kat_##c##_data_r2i_keepalive,      \
	  kat_##c##_data_i2r_plain_len, kat_##c##_steps, kat_##c##_steps_n }

static const struct kat_case kat_cases[] = { KAT_CASE(nopsk), KAT_CASE(psk) };

static void
hex(char *out, const uint8_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", v[i]);
}

/* The trace must be the KAT's steps [first, first + count), labels and values. */
static void
check_trace(const struct trace_rec *t, const struct kat_case *k, size_t first, size_t count,
	    const char *who)
{
	char got[65], want[65];
	size_t i;

	if (t->n != count)
		fail_msg("%s/%s: %u traced values, expected %zu", k->name, who, t->n, count);
	for (i = 0; i < count; i++) {
		const struct kat_step *s = &k->steps[first + i];

		if (strcmp(t->e[i].label, s->label) != 0)
			fail_msg("%s/%s: step %zu is '%s', expected '%s'", k->name, who, first + i,
				 t->e[i].label, s->label);
		if (memcmp(t->e[i].v, s->v, 32) != 0) {
			hex(got, t->e[i].v, 32);
			hex(want, s->v, 32);
			fail_msg("%s/%s: step %zu '%s' = %s, expected %s", k->name, who, first + i,
				 s->label, got, want);
		}
	}
}

static void
check_bytes(const struct kat_case *k, const char *what, const void *got, const uint8_t *want,
	    size_t n)
{
	if (memcmp(got, want, n) != 0) {
		char g[2 * 160 + 1], w[2 * 160 + 1];

		hex(g, got, n < 160 ? n : 160);
		hex(w, want, n < 160 ? n : 160);
		fail_msg("%s: %s differs:\n got  %s\n want %s", k->name, what, g, w);
	}
}

static void
run_kat(const struct kat_case *k)
{
	struct device ini, res;
	struct peer *r_on_i, *i_on_r;
	struct message_handshake_initiation init, init_in;
	struct message_handshake_response resp, resp_in;
	struct noise_handshake *hs;
	struct noise_keypair *kpi, *kpr;
	uint8_t pkt[128], out[64];
	bool confirmed;
	size_t n;

	device_init(&ini, k->si_priv);
	device_init(&res, k->sr_priv);
	check_bytes(k, "S_i_pub", ini.local.public_key, k->si_pub, 32);
	check_bytes(k, "S_r_pub", res.local.public_key, k->sr_pub, 32);
	r_on_i = device_add_peer(&ini, k->sr_pub, k->psk);
	i_on_r = device_add_peer(&res, k->si_pub, k->psk);
	wg_noise_local_set_trace(&ini.local, record, &ini.trace);
	wg_noise_local_set_trace(&res.local, record, &res.trace);

	/* Initiator: message 1, steps 0-10, byte for byte with mac1 and zero mac2. */
	assert_int_equal(wg_noise_handshake_create_initiation_fixed(&init, &r_on_i->hs, k->ei_priv,
								    k->timestamp, k->idx_i), 0);
	wg_cookie_add_mac_to_packet(&init, sizeof(init), &r_on_i->cookie);
	check_trace(&ini.trace, k, 0, 11, "create_initiation");
	check_bytes(k, "initiation", &init, k->initiation, MESSAGE_INITIATION_LEN);
	assert_int_equal(r_on_i->hs.state, NOISE_HANDSHAKE_CREATED_INITIATION);
	assert_int_equal(r_on_i->hs.entry.index, k->idx_i);

	/* Responder: consumes the KAT's own bytes and answers with the KAT response. */
	memcpy(&init_in, k->initiation, sizeof(init_in));
	assert_int_equal(wg_cookie_validate_packet(&res.checker, &init_in, sizeof(init_in),
						   &test_src, false),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	assert_int_equal(wg_noise_handshake_consume_initiation(&res.local, &init_in, &hs), 0);
	assert_ptr_equal(hs, &i_on_r->hs);
	check_trace(&res.trace, k, 0, 11, "consume_initiation");
	check_bytes(k, "latest timestamp", hs->latest_timestamp, k->timestamp, 12);
	assert_int_equal(hs->remote_index, k->idx_i);

	res.trace.n = 0;
	assert_int_equal(wg_noise_handshake_create_response_fixed(&resp, hs, k->er_priv, k->idx_r),
			 0);
	wg_cookie_add_mac_to_packet(&resp, sizeof(resp), &i_on_r->cookie);
	check_trace(&res.trace, k, 11, 9, "create_response");
	check_bytes(k, "response", &resp, k->response, MESSAGE_RESPONSE_LEN);

	res.trace.n = 0;
	assert_int_equal(wg_noise_handshake_begin_session(hs, &i_on_r->kps), 0);
	check_trace(&res.trace, k, 20, 2, "responder begin_session");
	/* Handshake state is zeroed after derivation; the timestamp stays. */
	assert_int_equal(hs->state, NOISE_HANDSHAKE_ZEROED);
	assert_true(wg_ct_is_zero(hs->chaining_key, 32));
	assert_true(wg_ct_is_zero(hs->hash, 32));
	assert_true(wg_ct_is_zero(hs->ephemeral_private, 32));
	assert_true(wg_ct_is_zero(hs->remote_ephemeral, 32));
	check_bytes(k, "latest timestamp kept", hs->latest_timestamp, k->timestamp, 12);
	kpr = atomic_load(&i_on_r->kps.next);
	assert_non_null(kpr);
	assert_null(wg_noise_keypairs_current(&i_on_r->kps));
	check_bytes(k, "responder T_recv", kpr->recv_key, k->steps[20].v, 32);
	check_bytes(k, "responder T_send", kpr->send_key, k->steps[21].v, 32);
	assert_false(kpr->i_am_initiator);
	assert_int_equal(kpr->entry.index, k->idx_r);
	assert_int_equal(kpr->remote_index, k->idx_i);

	/* Initiator: consumes the KAT response. */
	memcpy(&resp_in, k->response, sizeof(resp_in));
	assert_int_equal(wg_cookie_validate_packet(&ini.checker, &resp_in, sizeof(resp_in),
						   &test_src, false),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	ini.trace.n = 0;
	assert_int_equal(wg_noise_handshake_consume_response(&ini.local, &resp_in, &hs), 0);
	assert_ptr_equal(hs, &r_on_i->hs);
	check_trace(&ini.trace, k, 11, 9, "consume_response");
	ini.trace.n = 0;
	assert_int_equal(wg_noise_handshake_begin_session(hs, &r_on_i->kps), 0);
	check_trace(&ini.trace, k, 20, 2, "initiator begin_session");
	kpi = wg_noise_keypairs_current(&r_on_i->kps);
	assert_non_null(kpi);
	check_bytes(k, "initiator T_send", kpi->send_key, k->steps[20].v, 32);
	check_bytes(k, "initiator T_recv", kpi->recv_key, k->steps[21].v, 32);
	assert_true(kpi->i_am_initiator);
	assert_int_equal(kpi->entry.index, k->idx_i);
	assert_int_equal(kpi->remote_index, k->idx_r);

	/* data_i2r: the padded ICMP packet on counter 0. */
	assert_int_equal(k->plain_len % WG_PADDING_MULTIPLE, 0);
	n = send_packet(r_on_i, pkt, k->plain, k->plain_len);
	assert_int_equal(n, k->plain_len + 32);
	check_bytes(k, "data_i2r", pkt, k->data_i2r, n);
	memcpy(pkt, k->data_i2r, n);
	assert_ptr_equal(receive_packet(&res, pkt, n, out, &confirmed), kpr);
	check_bytes(k, "data_i2r plaintext", out, k->plain, k->plain_len);
	/* The first packet on `next` confirms it. */
	assert_true(confirmed);
	assert_ptr_equal(wg_noise_keypairs_current(&i_on_r->kps), kpr);
	assert_null(atomic_load(&i_on_r->kps.next));
	/* A replay of it is dropped. */
	assert_null(receive_packet(&res, pkt, n, out, &confirmed));

	/* data_r2i_keepalive: empty plaintext on the responder's counter 0. */
	n = send_packet(i_on_r, pkt, NULL, 0);
	assert_int_equal(n, 32);
	check_bytes(k, "data_r2i_keepalive", pkt, k->keepalive, n);
	assert_ptr_equal(receive_packet(&ini, pkt, n, out, &confirmed), kpi);
	assert_false(confirmed);

	wg_noise_local_set_trace(&ini.local, NULL, NULL);
	device_free(&ini);
	device_free(&res);
}

static void
test_kat(void **state)
{
	(void)state;
	run_kat(&kat_cases[0]);
	run_kat(&kat_cases[1]);
}

/* --- in-process handshakes --- */

static uint64_t tai_seconds = 1700000000;

/* A TAI64N label strictly after every earlier one of this test run. */
static void
next_timestamp(uint8_t ts[12])
{
	uint64_t s = 0x400000000000000aULL + tai_seconds++;
	int i;

	for (i = 0; i < 8; i++)
		ts[i] = (uint8_t)(s >> (56 - 8 * i));
	memset(ts + 8, 0, 4);
}

static int
create_initiation(struct message_handshake_initiation *m, struct peer *to, const uint8_t ts[12])
{
	uint8_t e[32];
	int ret;

	wg_x25519_generate(e);
	do
		ret = wg_noise_handshake_create_initiation_fixed(m, &to->hs, e, ts,
								 wg_random_u32());
	while (ret == -EEXIST);
	if (ret == 0)
		wg_cookie_add_mac_to_packet(m, sizeof(*m), &to->cookie);
	return ret;
}

/*
 * A full handshake from `from` (a peer entry on the initiating device) to
 * device `to`, 1 s after the previous one, with a fresh timestamp.
 */
static void
handshake(struct peer *from, struct device *to, struct peer *from_on_to)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_handshake *hs;
	uint8_t ts[12];

	fake_now += WG_NSEC_PER_SEC;
	next_timestamp(ts);
	assert_int_equal(create_initiation(&init, from, ts), 0);
	assert_int_equal(wg_cookie_validate_packet(&to->checker, &init, sizeof(init), &test_src,
						   false),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	assert_int_equal(wg_noise_handshake_consume_initiation(&to->local, &init, &hs), 0);
	assert_ptr_equal(hs, &from_on_to->hs);
	assert_int_equal(wg_noise_handshake_create_response(&resp, hs), 0);
	wg_cookie_add_mac_to_packet(&resp, sizeof(resp), &from_on_to->cookie);
	assert_int_equal(wg_noise_handshake_begin_session(hs, &from_on_to->kps), 0);
	assert_int_equal(wg_cookie_validate_packet(&from->dev->checker, &resp, sizeof(resp),
						   &test_src, false),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	assert_int_equal(wg_noise_handshake_consume_response(&from->dev->local, &resp, &hs), 0);
	assert_ptr_equal(hs, &from->hs);
	assert_int_equal(wg_noise_handshake_begin_session(hs, &from->kps), 0);
}

static void
full_handshake(const uint8_t *psk)
{
	struct pair *p = pair_new(psk);
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_handshake *hs;
	struct noise_keypair *kpa, *kpb;
	bool confirmed;
	int i;

	/* The public functions: random ephemerals and indices, the real TAI64N clock. */
	assert_int_equal(wg_noise_handshake_create_initiation(&init, &p->b_on_a->hs), 0);
	wg_cookie_add_mac_to_packet(&init, sizeof(init), &p->b_on_a->cookie);
	assert_int_equal(init.header.type, MESSAGE_HANDSHAKE_INITIATION);
	assert_int_equal(init.sender_index, p->b_on_a->hs.entry.index);
	assert_int_equal(wg_cookie_validate_packet(&p->b.checker, &init, sizeof(init), &test_src,
						   false),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &init, &hs), 0);
	assert_ptr_equal(hs, &p->a_on_b->hs);
	assert_int_equal(wg_noise_handshake_create_response(&resp, hs), 0);
	wg_cookie_add_mac_to_packet(&resp, sizeof(resp), &p->a_on_b->cookie);
	assert_int_equal(resp.header.type, MESSAGE_HANDSHAKE_RESPONSE);
	assert_int_equal(resp.receiver_index, init.sender_index);
	assert_int_equal(wg_noise_handshake_begin_session(hs, &p->a_on_b->kps), 0);
	assert_int_equal(wg_cookie_validate_packet(&p->a.checker, &resp, sizeof(resp), &test_src,
						   false),
			 WG_COOKIE_VALID_MAC_NO_COOKIE);
	assert_int_equal(wg_noise_handshake_consume_response(&p->a.local, &resp, &hs), 0);
	assert_ptr_equal(hs, &p->b_on_a->hs);
	assert_int_equal(wg_noise_handshake_begin_session(hs, &p->b_on_a->kps), 0);

	kpa = wg_noise_keypairs_current(&p->b_on_a->kps);
	kpb = atomic_load(&p->a_on_b->kps.next);
	assert_non_null(kpa);
	assert_non_null(kpb);
	assert_memory_equal(kpa->send_key, kpb->recv_key, 32);
	assert_memory_equal(kpa->recv_key, kpb->send_key, 32);
	assert_int_equal(kpa->remote_index, kpb->entry.index);
	assert_int_equal(kpb->remote_index, kpa->entry.index);
	assert_ptr_equal(kpa->entry.owner, p->b_on_a);
	assert_ptr_equal(kpb->entry.owner, p->a_on_b);

	/* The responder has nothing to send with until the initiator confirms. */
	assert_null(wg_noise_keypairs_current(&p->a_on_b->kps));
	assert_ptr_equal(transfer(p->b_on_a, &p->b, 100, &confirmed), kpb);
	assert_true(confirmed);
	assert_ptr_equal(wg_noise_keypairs_current(&p->a_on_b->kps), kpb);
	for (i = 0; i < 50; i++) {
		assert_ptr_equal(transfer(p->a_on_b, &p->a, (size_t)i * 5, &confirmed), kpa);
		assert_false(confirmed);
		assert_ptr_equal(transfer(p->b_on_a, &p->b, 200 - (size_t)i, &confirmed), kpb);
		assert_false(confirmed);
	}
	pair_free(p);
}

static void
test_full_handshake(void **state)
{
	uint8_t psk[32];

	(void)state;
	full_handshake(NULL);
	wg_random_bytes(psk, sizeof(psk));
	full_handshake(psk);
}

static void
test_psk_mismatch(void **state)
{
	struct pair *p = pair_new(NULL);
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_handshake *hs;
	uint8_t ts[12], psk[32] = { 1 };

	(void)state;
	/* Only the responder has a psk: the initiator cannot open the response. */
	wg_noise_handshake_set_preshared_key(&p->a_on_b->hs, psk);
	fake_now += WG_NSEC_PER_SEC;
	next_timestamp(ts);
	assert_int_equal(create_initiation(&init, p->b_on_a, ts), 0);
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &init, &hs), 0);
	assert_int_equal(wg_noise_handshake_create_response(&resp, hs), 0);
	assert_int_equal(wg_noise_handshake_consume_response(&p->a.local, &resp, &hs), -EBADMSG);
	assert_null(hs);
	assert_int_equal(p->b_on_a->hs.state, NOISE_HANDSHAKE_CREATED_INITIATION);
	pair_free(p);
}

static void
test_rotation(void **state)
{
	struct pair *p = pair_new(NULL);
	struct peer *ab = p->b_on_a, *ba = p->a_on_b;
	struct noise_keypair *k1a, *k1b, *k2a, *k2b, *k3a, *k3b, *k4a, *k4b;
	uint32_t k1a_index;
	bool confirmed;

	(void)state;
	/* 1: a initiates. */
	handshake(ab, &p->b, ba);
	k1a = wg_noise_keypairs_current(&ab->kps);
	k1b = atomic_load(&ba->kps.next);
	k1a_index = k1a->entry.index;
	assert_ptr_equal(transfer(ab, &p->b, 10, &confirmed), k1b);
	assert_true(confirmed);

	/* 2: a initiates again; b keeps sending on k1 until a uses k2. */
	handshake(ab, &p->b, ba);
	k2a = wg_noise_keypairs_current(&ab->kps);
	k2b = atomic_load(&ba->kps.next);
	assert_ptr_equal(atomic_load(&ab->kps.previous), k1a);
	assert_ptr_equal(wg_noise_keypairs_current(&ba->kps), k1b);
	assert_null(atomic_load(&ba->kps.previous));
	/* b -> a on k1: a still receives it through `previous`. */
	assert_ptr_equal(transfer(ba, &p->a, 20, &confirmed), k1a);
	assert_false(confirmed);
	/* a -> b on k2 confirms k2 on b. */
	assert_ptr_equal(transfer(ab, &p->b, 30, &confirmed), k2b);
	assert_true(confirmed);
	assert_ptr_equal(atomic_load(&ba->kps.previous), k1b);
	assert_ptr_equal(wg_noise_keypairs_current(&ba->kps), k2b);
	assert_null(atomic_load(&ba->kps.next));
	assert_ptr_equal(transfer(ba, &p->a, 40, &confirmed), k2a);
	assert_int_equal(p->a.retired + p->b.retired, 0);

	/* 3: roles swap, b initiates. a puts k3 in `next` and drops k1. */
	handshake(ba, &p->a, ab);
	k3b = wg_noise_keypairs_current(&ba->kps);
	k3a = atomic_load(&ab->kps.next);
	assert_non_null(k3a);
	assert_ptr_equal(atomic_load(&ba->kps.previous), k2b);
	assert_ptr_equal(wg_noise_keypairs_current(&ab->kps), k2a);
	assert_null(atomic_load(&ab->kps.previous));
	assert_int_equal(p->a.retired, 1);              /* k1a */
	assert_int_equal(p->b.retired, 1);              /* k1b */
	assert_null(keypair_by_index(&p->a, k1a_index));
	/* a keeps sending on k2, which b still receives as `previous`. */
	assert_ptr_equal(transfer(ab, &p->b, 50, &confirmed), k2b);
	assert_false(confirmed);

	/*
	 * 4: before b used k3, a initiates: a's unconfirmed `next` (k3) becomes
	 * `previous`, its `current` (k2) is destroyed.
	 */
	handshake(ab, &p->b, ba);
	k4a = wg_noise_keypairs_current(&ab->kps);
	assert_ptr_equal(atomic_load(&ab->kps.previous), k3a);
	assert_null(atomic_load(&ab->kps.next));
	assert_int_equal(p->a.retired, 2);              /* k2a */
	/* b still sends on k3 (its current); a receives it as `previous`. */
	assert_ptr_equal(transfer(ba, &p->a, 60, &confirmed), k3a);
	assert_false(confirmed);
	assert_int_equal(p->b.retired, 2);              /* k2b, b's `previous` */
	/* a sends on k4; b confirms it. */
	k4b = atomic_load(&ba->kps.next);
	assert_ptr_equal(transfer(ab, &p->b, 70, &confirmed), k4b);
	assert_true(confirmed);
	assert_ptr_equal(atomic_load(&ba->kps.previous), k3b);
	assert_ptr_equal(wg_noise_keypairs_current(&ba->kps), k4b);
	assert_ptr_equal(transfer(ba, &p->a, 80, &confirmed), k4a);
	assert_int_equal(p->b.retired, 2);

	/* Zeroing key material destroys all three and their indices. */
	wg_noise_keypairs_clear(&ab->kps);
	assert_null(wg_noise_keypairs_current(&ab->kps));
	assert_int_equal(p->a.retired, 4);
	pair_free(p);
}

static void
test_expire_current(void **state)
{
	struct pair *p = pair_new(NULL);
	struct noise_keypair *kp;
	uint64_t counter;

	(void)state;
	handshake(p->b_on_a, &p->b, p->a_on_b);
	kp = wg_noise_keypairs_current(&p->b_on_a->kps);
	assert_true(wg_noise_keypair_send_usable(kp, wg_clock_now()));
	/* Age limit. */
	assert_false(wg_noise_keypair_send_usable(kp, kp->birth +
							  (uint64_t)REJECT_AFTER_TIME *
								  WG_NSEC_PER_SEC));
	wg_noise_keypairs_expire_current(&p->b_on_a->kps);
	assert_false(wg_noise_keypair_send_usable(kp, wg_clock_now()));
	assert_false(wg_noise_keypair_nonce_reserve(kp, 1, &counter));
	/* Receiving still works. */
	assert_true(wg_noise_keypair_receive_usable(kp, wg_clock_now()));
	pair_free(p);
}

/* The handshake fields §4.2 says must not change on a refused message. */
struct hs_snapshot {
	enum noise_handshake_state state;
	uint32_t index, remote_index;
	uint8_t ts[12], c[32], h[32], re[32], e[32];
	uint64_t last;
	bool consumed;
	unsigned int table_count;
};

static void
snapshot(struct hs_snapshot *s, const struct noise_handshake *hs, const struct device *d)
{
	memset(s, 0, sizeof(*s));
	s->state = hs->state;
	s->index = hs->entry.index;
	s->remote_index = hs->remote_index;
	memcpy(s->ts, hs->latest_timestamp, 12);
	memcpy(s->c, hs->chaining_key, 32);
	memcpy(s->h, hs->hash, 32);
	memcpy(s->re, hs->remote_ephemeral, 32);
	memcpy(s->e, hs->ephemeral_private, 32);
	s->last = hs->last_initiation_consumption;
	s->consumed = hs->has_consumed_initiation;
	s->table_count = wg_index_table_count(d->table);
}

static void
assert_unchanged(const struct hs_snapshot *before, const struct noise_handshake *hs,
		 const struct device *d)
{
	struct hs_snapshot now;

	snapshot(&now, hs, d);
	assert_memory_equal(before, &now, sizeof(now));
}

static void
test_replayed_initiation(void **state)
{
	struct pair *p = pair_new(NULL);
	struct message_handshake_initiation first, old;
	struct message_handshake_response resp;
	struct noise_handshake *hs;
	struct hs_snapshot snap;
	uint8_t ts_old[12], ts[12];

	(void)state;
	next_timestamp(ts_old);
	next_timestamp(ts);
	assert_int_equal(create_initiation(&old, p->b_on_a, ts_old), 0);
	assert_int_equal(create_initiation(&first, p->b_on_a, ts), 0);

	fake_now += WG_NSEC_PER_SEC;
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &first, &hs), 0);
	snapshot(&snap, &p->a_on_b->hs, &p->b);

	/* The same message again, well after the flood limit: same timestamp. */
	fake_now += WG_NSEC_PER_SEC;
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &first, &hs),
			 -EALREADY);
	assert_null(hs);
	assert_unchanged(&snap, &p->a_on_b->hs, &p->b);
	/* A genuine but older initiation. */
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &old, &hs),
			 -EALREADY);
	assert_unchanged(&snap, &p->a_on_b->hs, &p->b);

	/* The timestamp survives the session and key zeroing (§7.1). */
	assert_int_equal(wg_noise_handshake_create_response(&resp, &p->a_on_b->hs), 0);
	assert_int_equal(wg_noise_handshake_begin_session(&p->a_on_b->hs, &p->a_on_b->kps), 0);
	wg_noise_keypairs_clear(&p->a_on_b->kps);
	wg_noise_handshake_clear(&p->a_on_b->hs);
	fake_now += WG_NSEC_PER_SEC;
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &first, &hs),
			 -EALREADY);
	pair_free(p);
}

static void
test_flood(void **state)
{
	struct pair *p = pair_new(NULL);
	struct message_handshake_initiation m1, m2, m3;
	struct noise_handshake *hs;
	struct hs_snapshot snap;
	uint8_t ts[12];

	(void)state;
	next_timestamp(ts);
	assert_int_equal(create_initiation(&m1, p->b_on_a, ts), 0);
	next_timestamp(ts);
	assert_int_equal(create_initiation(&m2, p->b_on_a, ts), 0);
	next_timestamp(ts);
	assert_int_equal(create_initiation(&m3, p->b_on_a, ts), 0);

	fake_now += WG_NSEC_PER_SEC;
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &m1, &hs), 0);
	snapshot(&snap, &p->a_on_b->hs, &p->b);
	/* 19.999999 ms later: refused, nothing changes. */
	fake_now += 20 * MS - 1;
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &m2, &hs), -EBUSY);
	assert_null(hs);
	assert_unchanged(&snap, &p->a_on_b->hs, &p->b);
	/* 20 ms after the last consumed one: accepted. */
	fake_now += 1;
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &m2, &hs), 0);
	/* The window restarts from the accepted one, not the refused one. */
	fake_now += 10 * MS;
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &m3, &hs), -EBUSY);
	fake_now += 10 * MS;
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &m3, &hs), 0);
	pair_free(p);
}

static void
test_low_order_initiation_ephemeral(void **state)
{
	struct pair *p = pair_new(NULL);
	struct message_handshake_initiation init, bad;
	struct noise_handshake *hs;
	struct hs_snapshot snap;
	uint8_t ts[12];
	size_t i;

	(void)state;
	next_timestamp(ts);
	assert_int_equal(create_initiation(&init, p->b_on_a, ts), 0);
	fake_now += WG_NSEC_PER_SEC;
	snapshot(&snap, &p->a_on_b->hs, &p->b);
	for (i = 0; i < kat_low_order_points_n; i++) {
		bad = init;
		memcpy(bad.unencrypted_ephemeral, kat_low_order_points[i], 32);
		assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &bad, &hs),
				 -EINVAL);
		assert_unchanged(&snap, &p->a_on_b->hs, &p->b);
	}
	/* The genuine message still goes through. */
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &init, &hs), 0);
	pair_free(p);
}

static void
test_low_order_response_ephemeral(void **state)
{
	struct pair *p = pair_new(NULL);
	struct message_handshake_initiation init;
	struct message_handshake_response resp, bad;
	struct noise_handshake *hs;
	struct hs_snapshot snap;
	uint8_t ts[12];
	size_t i;

	(void)state;
	next_timestamp(ts);
	assert_int_equal(create_initiation(&init, p->b_on_a, ts), 0);
	fake_now += WG_NSEC_PER_SEC;
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &init, &hs), 0);
	assert_int_equal(wg_noise_handshake_create_response(&resp, hs), 0);

	snapshot(&snap, &p->b_on_a->hs, &p->a);
	for (i = 0; i < kat_low_order_points_n; i++) {
		bad = resp;
		memcpy(bad.unencrypted_ephemeral, kat_low_order_points[i], 32);
		assert_int_equal(wg_noise_handshake_consume_response(&p->a.local, &bad, &hs),
				 -EINVAL);
		assert_null(hs);
		assert_unchanged(&snap, &p->b_on_a->hs, &p->a);
	}
	assert_int_equal(wg_noise_handshake_consume_response(&p->a.local, &resp, &hs), 0);
	pair_free(p);
}

static void
test_low_order_static(void **state)
{
	struct message_handshake_initiation init;
	struct noise_handshake *hs;
	struct hs_snapshot snap;
	struct device a, b;
	struct peer *bad_on_a, *x_on_b, *b_on_x;
	uint8_t ts[12];
	size_t i;

	(void)state;
	for (i = 0; i < kat_low_order_points_n; i++) {
		/* Initiator side: a peer configured with a low-order key. */
		device_init(&a, NULL);
		bad_on_a = device_add_peer(&a, kat_low_order_points[i], NULL);
		snapshot(&snap, &bad_on_a->hs, &a);
		next_timestamp(ts);
		assert_int_equal(create_initiation(&init, bad_on_a, ts), -EINVAL);
		assert_unchanged(&snap, &bad_on_a->hs, &a);
		assert_int_equal(wg_noise_handshake_create_initiation(&init, &bad_on_a->hs),
				 -EINVAL);
		assert_unchanged(&snap, &bad_on_a->hs, &a);
		device_free(&a);

		/*
		 * Responder side: an initiator whose static public key is the
		 * low-order point (its own SS is fine, ours is zero).
		 */
		device_init(&a, NULL);
		device_init(&b, NULL);
		memcpy(a.local.public_key, kat_low_order_points[i], 32);
		b_on_x = device_add_peer(&a, b.local.public_key, NULL);
		x_on_b = device_add_peer(&b, kat_low_order_points[i], NULL);
		next_timestamp(ts);
		assert_int_equal(create_initiation(&init, b_on_x, ts), 0);
		fake_now += WG_NSEC_PER_SEC;
		snapshot(&snap, &x_on_b->hs, &b);
		assert_int_equal(wg_noise_handshake_consume_initiation(&b.local, &init, &hs),
				 -EINVAL);
		assert_null(hs);
		assert_unchanged(&snap, &x_on_b->hs, &b);
		device_free(&a);
		device_free(&b);
	}
}

static void
test_garbage_response(void **state)
{
	struct pair *p = pair_new(NULL);
	struct message_handshake_initiation init;
	struct message_handshake_response resp, bad;
	struct noise_handshake *hs;
	struct hs_snapshot snap;
	bool confirmed;
	uint8_t ts[12];
	size_t i;

	(void)state;
	next_timestamp(ts);
	assert_int_equal(create_initiation(&init, p->b_on_a, ts), 0);
	fake_now += WG_NSEC_PER_SEC;
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &init, &hs), 0);
	assert_int_equal(wg_noise_handshake_create_response(&resp, hs), 0);
	assert_int_equal(wg_noise_handshake_begin_session(hs, &p->a_on_b->kps), 0);

	wg_cookie_add_mac_to_packet(&resp, sizeof(resp), &p->a_on_b->cookie);
	snapshot(&snap, &p->b_on_a->hs, &p->a);
	/* Valid receiver index, any other byte flipped: mac1 catches it. */
	for (i = 0; i < offsetof(struct message_handshake_response, macs.mac2); i++) {
		if (i >= offsetof(struct message_handshake_response, receiver_index) &&
		    i < offsetof(struct message_handshake_response, unencrypted_ephemeral))
			continue;
		bad = resp;
		((uint8_t *)&bad)[i] ^= 0x40;
		assert_int_equal(wg_cookie_validate_packet(&p->a.checker, &bad, sizeof(bad),
							   &test_src, false),
				 WG_COOKIE_INVALID_MAC);
	}
	/* And Noise itself refuses a changed ephemeral or tag. */
	for (i = offsetof(struct message_handshake_response, unencrypted_ephemeral);
	     i < offsetof(struct message_handshake_response, macs); i++) {
		bad = resp;
		((uint8_t *)&bad)[i] ^= 0x40;
		assert_int_not_equal(wg_noise_handshake_consume_response(&p->a.local, &bad, &hs),
				     0);
		assert_null(hs);
		assert_unchanged(&snap, &p->b_on_a->hs, &p->a);
	}
	/* Random garbage with the right receiver index. */
	for (i = 0; i < 32; i++) {
		wg_random_bytes(&bad, sizeof(bad));
		bad.header.type = MESSAGE_HANDSHAKE_RESPONSE;
		bad.receiver_index = resp.receiver_index;
		assert_int_not_equal(wg_noise_handshake_consume_response(&p->a.local, &bad, &hs),
				     0);
		assert_unchanged(&snap, &p->b_on_a->hs, &p->a);
	}
	/* An unknown receiver index. */
	bad = resp;
	bad.receiver_index ^= 1;
	assert_int_equal(wg_noise_handshake_consume_response(&p->a.local, &bad, &hs), -ENOENT);

	/* The genuine response still completes the pending handshake. */
	assert_int_equal(wg_noise_handshake_consume_response(&p->a.local, &resp, &hs), 0);
	assert_int_equal(wg_noise_handshake_begin_session(hs, &p->b_on_a->kps), 0);
	assert_non_null(transfer(p->b_on_a, &p->b, 64, &confirmed));
	assert_true(confirmed);
	/* Replaying the response now finds no handshake under that index. */
	assert_int_equal(wg_noise_handshake_consume_response(&p->a.local, &resp, &hs), -ENOENT);
	pair_free(p);
}

static void
test_states(void **state)
{
	struct pair *p = pair_new(NULL);
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	uint32_t old_index;
	uint8_t ts[12];

	(void)state;
	/* Nothing consumed: no response, no session. */
	assert_int_equal(wg_noise_handshake_create_response(&resp, &p->a_on_b->hs), -EPROTO);
	assert_int_equal(wg_noise_handshake_begin_session(&p->a_on_b->hs, &p->a_on_b->kps),
			 -EPROTO);
	/* A created initiation cannot begin a session either. */
	next_timestamp(ts);
	assert_int_equal(create_initiation(&init, p->b_on_a, ts), 0);
	assert_int_equal(wg_noise_handshake_begin_session(&p->b_on_a->hs, &p->b_on_a->kps),
			 -EPROTO);
	/* A new initiation replaces the previous one and its index. */
	old_index = p->b_on_a->hs.entry.index;
	next_timestamp(ts);
	assert_int_equal(create_initiation(&init, p->b_on_a, ts), 0);
	assert_int_not_equal(p->b_on_a->hs.entry.index, old_index);
	assert_null(wg_index_table_lookup(p->a.table, old_index, NOISE_INDEX_HANDSHAKE));
	assert_int_equal(wg_index_table_count(p->a.table), 1);
	/* Clearing forgets the in-flight handshake and its index. */
	wg_noise_handshake_clear(&p->b_on_a->hs);
	assert_int_equal(p->b_on_a->hs.state, NOISE_HANDSHAKE_ZEROED);
	assert_int_equal(wg_index_table_count(p->a.table), 0);
	pair_free(p);
}

static void
test_unknown_peer_and_key_change(void **state)
{
	struct pair *p = pair_new(NULL);
	struct message_handshake_initiation init;
	struct noise_handshake *hs;
	struct device c;
	struct peer *c_on_a;
	uint8_t ts[12], newkey[32];

	(void)state;
	/* c knows nobody: a's initiation decrypts but names an unknown peer. */
	device_init(&c, NULL);
	c_on_a = device_add_peer(&p->a, c.local.public_key, NULL);
	next_timestamp(ts);
	assert_int_equal(create_initiation(&init, c_on_a, ts), 0);
	fake_now += WG_NSEC_PER_SEC;
	assert_int_equal(wg_noise_handshake_consume_initiation(&c.local, &init, &hs), -ENOENT);
	assert_null(hs);
	device_free(&c);

	/* No identity: nothing works. */
	handshake(p->b_on_a, &p->b, p->a_on_b);
	assert_int_equal(wg_noise_local_set_private_key(&p->b.local, NULL), 0);
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &init, &hs), -ENOKEY);

	/*
	 * b takes a new key: the cached static-static DH on both sides must be
	 * recomputed, or the timestamp would not decrypt.
	 */
	wg_x25519_generate(newkey);
	assert_int_equal(wg_noise_local_set_private_key(&p->b.local, newkey), 0);
	wg_cookie_checker_precompute_device_keys(&p->b.checker, p->b.local.public_key);
	next_timestamp(ts);
	/* a still uses b's old public key: b cannot even decrypt the static. */
	assert_int_equal(create_initiation(&init, p->b_on_a, ts), 0);
	fake_now += WG_NSEC_PER_SEC;
	assert_int_equal(wg_noise_handshake_consume_initiation(&p->b.local, &init, &hs), -EBADMSG);
	/* a learns the new key (a new peer entry, as a reload would make). */
	wg_noise_keypairs_clear(&p->b_on_a->kps);
	wg_noise_handshake_destroy(&p->b_on_a->hs);
	wg_noise_handshake_init(&p->b_on_a->hs, &p->a.local, p->b.local.public_key, NULL,
				p->b_on_a);
	wg_cookie_init(&p->b_on_a->cookie, p->b.local.public_key);
	handshake(p->b_on_a, &p->b, p->a_on_b);
	/* An all-zero private key is refused and removes the identity (kernel). */
	memset(newkey, 0, sizeof(newkey));
	assert_int_equal(wg_noise_local_set_private_key(&p->b.local, newkey), -EINVAL);
	assert_false(p->b.local.has_identity);
	assert_int_equal(wg_noise_handshake_create_initiation(&init, &p->a_on_b->hs), -ENOKEY);
	pair_free(p);
}

static void
test_index_table(void **state)
{
	struct wg_index_table *t = wg_index_table_create(4);
	struct noise_index_entry e[3000], other;
	unsigned int i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 3000; i++) {
		e[i].type = i % 2 ? NOISE_INDEX_KEYPAIR : NOISE_INDEX_HANDSHAKE;
		assert_int_equal(wg_index_table_insert(t, &e[i]), 0);
	}
	assert_int_equal(wg_index_table_count(t), 3000);
	for (i = 0; i < 3000; i++) {
		assert_ptr_equal(wg_index_table_lookup(t, e[i].index, e[i].type), &e[i]);
		assert_null(wg_index_table_lookup(t, e[i].index, e[i].type ^ 3));
	}
	/* Unique indices: inserting an existing one fails. */
	assert_int_equal(wg_index_table_insert_at(t, &other, e[7].index), -EEXIST);
	/* Removal keeps every other probe chain intact. */
	for (i = 0; i < 3000; i += 3)
		wg_index_table_remove(t, &e[i]);
	for (i = 0; i < 3000; i++) {
		if (i % 3 == 0)
			assert_null(wg_index_table_lookup(t, e[i].index, 3));
		else
			assert_ptr_equal(wg_index_table_lookup(t, e[i].index, 3), &e[i]);
	}
	assert_int_equal(wg_index_table_count(t), 2000);
	/* Removing twice, or an entry not in the table, is a no-op. */
	wg_index_table_remove(t, &e[0]);
	other.index = e[1].index;
	wg_index_table_remove(t, &other);
	assert_int_equal(wg_index_table_count(t), 2000);
	/* Replace keeps the index. */
	other.type = NOISE_INDEX_KEYPAIR;
	wg_index_table_replace(t, &e[2], &other);
	assert_int_equal(other.index, e[2].index);
	assert_ptr_equal(wg_index_table_lookup(t, e[2].index, 3), &other);
	wg_index_table_destroy(t);
}

static int
group_setup(void **state)
{
	(void)state;
	fake_now = 5000 * WG_NSEC_PER_SEC;
	wg_clock_set_source(fake_clock);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	wg_clock_set_source(NULL);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat),
		cmocka_unit_test(test_full_handshake),
		cmocka_unit_test(test_psk_mismatch),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_expire_current),
		cmocka_unit_test(test_replayed_initiation),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_low_order_initiation_ephemeral),
		cmocka_unit_test(test_low_order_response_ephemeral),
		cmocka_unit_test(test_low_order_static),
		cmocka_unit_test(test_garbage_response),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_unknown_peer_and_key_change),
		cmocka_unit_test(test_index_table),
	};

	return cmocka_run_group_tests_name("noise", tests, group_setup, group_teardown);
}
