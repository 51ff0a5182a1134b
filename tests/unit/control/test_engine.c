/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The protocol engine, two instances wired back to back in one process with
 * a fake protocol clock. The harness plays the network (a FIFO of UDP
 * payloads between two addresses) and the workers: it encrypts inner packets
 * on the current keypair, decrypts transport messages with the keypair found
 * through the index table, runs the replay check and posts the events with
 * wg_engine_post() exactly as a worker does (engine_worker.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "../test_eal.h"
#include "control/engine.h"
#include "control/engine_wheel.h"
#include "crypto/aead.h"
#include "crypto/clock.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

#define MS 1000000ULL
#define SEC (1000 * MS)
enum { QMAX = 1024, A = 0, B = 1 };

static struct rte_rcu_qsbr *rcu;
static uint64_t fake_now = 1000 * SEC;
static int name_seq;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

struct tpkt {
	uint32_t id;
	uint16_t len;
	uint8_t data[48];
};

struct pair;

struct side {
	struct pair *p;
	int idx;
	struct wg_peers *peers;
	struct wg_engine *e;
	struct wg_peer *peer;		/* the other side */
	struct wg_endpoint addr;
	uint8_t priv[32], pub[32];
	struct tpkt *txq[QMAX];		/* send_staged: waiting for "a worker" */
	unsigned int ntx;
	struct wg_engine_event evq[QMAX];
	unsigned int nev;
	unsigned int sent[5];		/* messages sent, by type */
	unsigned int keepalives;	/* type 4 messages of 32 bytes */
	uint64_t init_at[64];		/* when initiations left */
	unsigned int n_init;
	unsigned int freed;
	uint32_t freed_ids[256];
	unsigned int rx_data, rx_keepalive, rx_drop;
	uint32_t last_rx_id;
	unsigned int backlog;
	bool unreachable;		/* messages to this side are lost */
	unsigned int hs[WG_HS_COUNT];
	enum wg_engine_hs_result last_hs;
};

struct netmsg {
	int to;
	struct wg_endpoint src;
	size_t len;
	uint8_t buf[160];
};

struct pair {
	struct side s[2];
	struct netmsg net[QMAX];
	unsigned int nhead, ntail;
	bool hold;			/* keep messages in flight (pump delivers nothing) */
	struct netmsg last_init[2];	/* the last initiation each side sent */
};

/* --- harness: network and workers --- */

static int
side_at(struct pair *p, const struct wg_endpoint *dst)
{
	int i;

	for (i = 0; i < 2; i++)
		if (p->s[i].addr.family == dst->family && p->s[i].addr.port == dst->port &&
				memcmp(p->s[i].addr.addr, dst->addr, 16) == 0)
			return i;
	return -1;
}

static void
net_push(struct side *from, const struct wg_endpoint *dst, const void *msg, size_t len)
{
	struct pair *p = from->p;
	struct netmsg *m;
	uint8_t type = ((const uint8_t *)msg)[0];
	int to = side_at(p, dst);

	assert_true(len <= sizeof(m->buf));
	if (type < 5)
		from->sent[type]++;
	if (type == MESSAGE_DATA && len == 32)
		from->keepalives++;
	if (type == MESSAGE_HANDSHAKE_INITIATION) {
		if (from->n_init < 64)
			from->init_at[from->n_init] = fake_now;
		from->n_init++;
	}
	if (to < 0 || p->s[to].unreachable)
		return;
	assert_true(p->ntail - p->nhead < QMAX);
	m = &p->net[p->ntail++ % QMAX];
	m->to = to;
	m->src = from->addr;
	m->len = len;
	memcpy(m->buf, msg, len);
	if (type == MESSAGE_HANDSHAKE_INITIATION)
		p->last_init[from->idx] = *m;
}

static void
op_send(void *arg, struct wg_peer *peer, const void *msg, size_t len)
{
	struct wg_endpoint ep;

	assert_true(wg_peer_endpoint_read(peer, &ep));
	net_push(arg, &ep, msg, len);
}

static void
op_send_to(void *arg, const struct wg_endpoint *dst, const void *msg, size_t len)
{
	net_push(arg, dst, msg, len);
}

static void
op_send_staged(void *arg, struct wg_peer *peer, void *pkt)
{
	struct side *s = arg;

	assert_ptr_equal(peer, s->peer);
	assert_true(s->ntx < QMAX);
	s->txq[s->ntx++] = pkt;
}

static void
op_free_pkt(void *arg, struct wg_peer *peer, void *pkt)
{
	struct side *s = arg;
	struct tpkt *t = pkt;

	(void)peer;
	if (s->freed < 256)
		s->freed_ids[s->freed] = t->id;
	s->freed++;
	free(t);
}

static const struct wg_engine_ops ops = {
	.send = op_send,
	.send_to = op_send_to,
	.send_staged = op_send_staged,
	.free_pkt = op_free_pkt,
};

static void
post(struct side *s, struct wg_peer *peer, uint32_t bits, const struct wg_endpoint *ep,
	struct noise_keypair *kp)
{
	if (wg_engine_post(peer, bits, wg_clock_now(), ep, kp)) {
		assert_true(s->nev < QMAX);
		s->evq[s->nev++] = (struct wg_engine_event){ .peer_id = peer->id, .bits = bits };
	}
}

/* The worker's send path for one inner packet of s (NULL pkt: none built yet). */
static void
worker_tx(struct side *s, struct tpkt *pkt)
{
	struct peer_msg {
		struct message_data hdr;
		uint8_t payload[64];
	} __attribute__((packed)) msg;
	struct noise_keypair *kp = wg_noise_keypairs_current(&s->peer->keypairs);
	uint64_t now = wg_clock_now(), ctr;
	struct wg_endpoint ep;
	uint32_t bits;

	if (kp == NULL || !wg_noise_keypair_send_usable(kp, now) ||
			!wg_noise_keypair_nonce_reserve(kp, 1, &ctr)) {
		wg_engine_stage(s->e, s->peer, pkt);
		return;
	}
	msg.hdr.header.type = MESSAGE_DATA;
	msg.hdr.key_idx = kp->remote_index;
	msg.hdr.counter = ctr;
	memcpy(msg.payload, &pkt->id, 4);
	memcpy(msg.payload + 4, pkt->data, pkt->len);
	wg_aead_encrypt(msg.payload, msg.payload, 4 + pkt->len, NULL, 0, ctr, kp->send_key);
	assert_true(wg_peer_endpoint_read(s->peer, &ep));
	net_push(s, &ep, &msg, 16 + 4 + pkt->len + 16);
	bits = WG_PEER_EV_AUTH_TX | WG_PEER_EV_DATA_TX;
	if (wg_peer_tx_rekey_needed(kp, now))
		bits |= WG_PEER_EV_REKEY_TX;
	wg_peer_count_tx(s->peer, 1, 16 + 4 + pkt->len + 16);
	post(s, s->peer, bits, NULL, NULL);
	free(pkt);
}

static void
worker_rx(struct side *s, const struct netmsg *m)
{
	const struct message_data *hdr = (const void *)m->buf;
	uint8_t pt[160];
	struct noise_keypair *kp;
	uint64_t now = wg_clock_now();
	struct wg_peer *peer;
	uint32_t bits, idx = hdr->key_idx;
	size_t ptlen;

	if (m->len < 32 || wg_index_lookup_keypairs(wg_engine_index(s->e), &idx, &kp, 1) == 0 ||
			!wg_noise_keypair_receive_usable(kp, now) ||
			!wg_aead_decrypt(pt, m->buf + 16, m->len - 16, NULL, 0, hdr->counter,
				kp->recv_key) ||
			!wg_noise_keypair_replay_check(kp, hdr->counter)) {
		s->rx_drop++;
		return;
	}
	peer = kp->entry.owner;
	ptlen = m->len - 32;
	bits = WG_PEER_EV_AUTH_RX | (ptlen != 0 ? WG_PEER_EV_DATA_RX : 0);
	if (!wg_peer_endpoint_equal(peer, &m->src))
		bits |= WG_PEER_EV_ENDPOINT;
	if (wg_peer_is_next(peer, kp))
		bits |= WG_PEER_EV_CONFIRM;
	if (wg_peer_rx_rekey_needed(peer, now))
		bits |= WG_PEER_EV_REKEY_RX;
	wg_peer_count_rx(peer, 1, m->len);
	if (ptlen == 0) {
		s->rx_keepalive++;
	} else {
		s->rx_data++;
		memcpy(&s->last_rx_id, pt, 4);
	}
	post(s, peer, bits, &m->src, kp);
}

static void
deliver(struct pair *p, const struct netmsg *m)
{
	struct side *s = &p->s[m->to];

	if (m->buf[0] == MESSAGE_DATA) {
		worker_rx(s, m);
		return;
	}
	s->last_hs = wg_engine_handshake_rx(s->e, m->buf, m->len, &m->src, s->backlog);
	s->hs[s->last_hs]++;
}

/* Run everything in flight to completion: workers, network, events. */
static void
pump(struct pair *p)
{
	unsigned int rounds, i, j, n;
	struct netmsg m;
	struct side *s;

	for (rounds = 0; rounds < 1000; rounds++) {
		bool busy = false;

		for (i = 0; i < 2; i++) {
			s = &p->s[i];
			n = s->ntx;
			s->ntx = 0;
			for (j = 0; j < n; j++)
				worker_tx(s, s->txq[j]);
			busy |= n != 0;
			n = s->nev;
			s->nev = 0;
			for (j = 0; j < n; j++)
				wg_engine_worker_event(s->e, &s->evq[j]);
			busy |= n != 0;
		}
		if (!p->hold && p->nhead != p->ntail) {
			m = p->net[p->nhead++ % QMAX];
			deliver(p, &m);
			busy = true;
		}
		if (!busy)
			return;
	}
	fail_msg("pump did not settle");
}

/* Deliver the oldest message in flight, and only it, then settle the workers. */
static void
deliver_one(struct pair *p)
{
	struct netmsg m;
	bool hold = p->hold;

	assert_true(p->nhead != p->ntail);
	m = p->net[p->nhead++ % QMAX];
	deliver(p, &m);
	p->hold = true;
	pump(p);
	p->hold = hold;
}

static void
run_timers(struct pair *p)
{
	wg_engine_timers_run(p->s[A].e);
	wg_engine_timers_run(p->s[B].e);
	pump(p);
}

/* Advance the clock by ms in steps of step_ms, running timers and traffic. */
static void
advance(struct pair *p, uint64_t ms, uint64_t step_ms)
{
	uint64_t end = fake_now + ms * MS;

	while (fake_now < end) {
		fake_now += step_ms * MS;
		if (fake_now > end)
			fake_now = end;
		run_timers(p);
	}
}

static struct tpkt *
new_pkt(uint32_t id)
{
	struct tpkt *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->id = id;
	t->len = 20;
	memset(t->data, (int)id, t->len);
	return t;
}

/* Inner traffic from s to the other side, as the LAN port would bring it. */
static void
send_data(struct pair *p, int from, uint32_t id)
{
	worker_tx(&p->s[from], new_pkt(id));
	pump(p);
}

/* --- fixture --- */

static void
side_init(struct pair *p, int i, const struct wg_engine_params *tmpl)
{
	struct side *s = &p->s[i];
	struct wg_peers_params pp = { .rcu = rcu, .max_peers = 64 };
	struct wg_engine_params ep = *tmpl;
	char pname[16], ename[16];

	s->p = p;
	s->idx = i;
	snprintf(pname, sizeof(pname), "tp%d", name_seq);
	snprintf(ename, sizeof(ename), "te%d", name_seq++);
	pp.name = pname;
	s->peers = wg_peers_create(&pp);
	assert_non_null(s->peers);
	ep.name = ename;
	ep.rcu = rcu;
	ep.peers = s->peers;
	ep.ops = &ops;
	ep.ops_arg = s;
	s->e = wg_engine_create(&ep);
	assert_non_null(s->e);
	wg_x25519_generate(s->priv);
	assert_true(wg_x25519_public(s->pub, s->priv));
	assert_int_equal(wg_engine_set_private_key(s->e, s->priv), 0);
	s->addr.family = AF_INET;
	s->addr.port = (uint16_t)(51820 + i);
	s->addr.addr[0] = 192;
	s->addr.addr[1] = 0;
	s->addr.addr[2] = 2;
	s->addr.addr[3] = (uint8_t)(1 + i);
}

static void
add_peer(struct side *s, const struct side *other, bool with_endpoint, uint16_t keepalive,
	const uint8_t *psk)
{
	struct wg_conf_peer cp;

	memset(&cp, 0, sizeof(cp));
	memcpy(cp.public_key, other->pub, 32);
	if (psk != NULL) {
		cp.has_psk = true;
		memcpy(cp.psk, psk, 32);
	}
	if (with_endpoint)
		cp.endpoint = other->addr;
	cp.persistent_keepalive = keepalive;
	assert_int_equal(wg_engine_peer_add(s->e, &cp, &s->peer), 0);
}

struct opts {
	uint16_t keepalive_a;
	uint32_t under_load_backlog;
	uint32_t hold_max;
};

/* A knows B's endpoint; B learns A's from the first initiation. */
static struct pair *
pair_new(const struct opts *o)
{
	struct wg_engine_params tmpl = { 0 };
	struct pair *p = calloc(1, sizeof(*p));
	static const uint8_t psk[32] = { 1, 2, 3 };

	assert_non_null(p);
	fake_now += 10 * SEC;
	if (o != NULL) {
		tmpl.under_load_backlog = o->under_load_backlog;
		tmpl.hold_max = o->hold_max;
	}
	side_init(p, A, &tmpl);
	side_init(p, B, &tmpl);
	add_peer(&p->s[A], &p->s[B], true, o != NULL ? o->keepalive_a : 0, psk);
	add_peer(&p->s[B], &p->s[A], false, 0, psk);
	return p;
}

static void
pair_free(struct pair *p)
{
	unsigned int i, j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < p->s[i].ntx; j++)
			free(p->s[i].txq[j]);
		wg_engine_free(p->s[i].e);
		wg_peers_free(p->s[i].peers);
	}
	free(p);
}

static struct noise_keypair *
cur(struct side *s)
{
	return wg_noise_keypairs_current(&s->peer->keypairs);
}

static struct noise_keypair *
next(struct side *s)
{
	return atomic_load(&s->peer->keypairs.next);
}

static struct wg_engine_stats
stats(struct side *s)
{
	struct wg_engine_stats st;

	wg_engine_stats_get(s->e, &st);
	return st;
}

/* A data packet from A starts the handshake; returns with both sides confirmed. */
static void
handshake(struct pair *p)
{
	send_data(p, A, 1);
	assert_non_null(cur(&p->s[A]));
	assert_non_null(cur(&p->s[B]));
	assert_null(next(&p->s[B]));
}

/* --- tests --- */

static void
test_handshake_by_traffic(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *a = &p->s[A], *b = &p->s[B];
	struct wg_endpoint ep;

	(void)state;
	assert_false(wg_peer_endpoint_read(b->peer, &ep));
	/* The static-static DH waits for each peer's first handshake, not its adoption. */
	assert_false(a->peer->handshake.ss_computed);
	assert_false(b->peer->handshake.ss_computed);
	p->hold = true;
	send_data(p, A, 7);
	assert_true(a->peer->handshake.ss_computed);
	assert_false(b->peer->handshake.ss_computed);
	/* Staged, and an initiation went out at once. */
	assert_int_equal(wg_engine_staged_count(a->peer), 1);
	assert_int_equal(a->sent[MESSAGE_HANDSHAKE_INITIATION], 1);
	assert_true(wg_engine_timer_pending(a->peer, WG_TIMER_RETRANSMIT_HANDSHAKE, NULL));

	/* B consumes it: response, keypair in `next`, endpoint learned. */
	deliver_one(p);
	assert_int_equal(b->last_hs, WG_HS_initiation);
	assert_true(b->peer->handshake.ss_computed);
	assert_int_equal(b->sent[MESSAGE_HANDSHAKE_RESPONSE], 1);
	assert_true(wg_peer_endpoint_read(b->peer, &ep));
	assert_int_equal(ep.port, a->addr.port);
	assert_null(cur(b));
	assert_non_null(next(b));
	assert_false(next(b)->i_am_initiator);
	assert_true(wg_engine_timer_pending(b->peer, WG_TIMER_ZERO_KEY_MATERIAL, NULL));

	assert_int_equal(p->ntail - p->nhead, 1);	/* the response, in flight */
	pair_free(p);

	p = pair_new(NULL);
	a = &p->s[A];
	b = &p->s[B];
	send_data(p, A, 7);
	/* A: session from the response, staged packet flushed instead of a keepalive. */
	assert_int_equal(a->hs[WG_HS_response], 1);
	assert_non_null(cur(a));
	assert_true(cur(a)->i_am_initiator);
	assert_int_equal(wg_engine_staged_count(a->peer), 0);
	assert_int_equal(stats(a).staged_sent, 1);
	assert_int_equal(a->keepalives, 0);
	assert_false(wg_engine_timer_pending(a->peer, WG_TIMER_RETRANSMIT_HANDSHAKE, NULL));
	assert_int_not_equal(a->peer->last_handshake_sec, 0);
	/* B: the first transport packet on `next` confirmed it. */
	assert_int_equal(b->rx_data, 1);
	assert_int_equal(b->last_rx_id, 7);
	assert_non_null(cur(b));
	assert_null(next(b));
	assert_false(cur(b)->i_am_initiator);
	assert_int_equal(cur(a)->remote_index, cur(b)->entry.index);
	assert_int_equal(cur(b)->remote_index, cur(a)->entry.index);
	assert_int_equal(stats(a).handshakes_completed, 1);
	assert_int_equal(stats(b).handshakes_completed, 1);
	assert_int_not_equal(b->peer->last_handshake_sec, 0);
	/* Both directions work now, on current only. */
	send_data(p, B, 8);
	assert_int_equal(a->rx_data, 1);
	assert_int_equal(a->last_rx_id, 8);
	assert_int_equal(a->rx_drop + b->rx_drop, 0);
	assert_int_equal(a->sent[MESSAGE_HANDSHAKE_INITIATION] + b->sent[MESSAGE_HANDSHAKE_INITIATION],
		1);
	pair_free(p);
}

/* No staged data: the initiator confirms with a keepalive. */
static void
test_handshake_keepalive_confirms(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *a = &p->s[A], *b = &p->s[B];
	struct wg_engine_event ev;

	(void)state;
	/* A worker found no usable keypair and could not hand the packet over. */
	assert_true(wg_engine_post(a->peer, WG_PEER_EV_NO_KEYPAIR, fake_now, NULL, NULL));
	assert_false(wg_engine_post(a->peer, WG_PEER_EV_NO_KEYPAIR, fake_now, NULL, NULL));
	ev.peer_id = a->peer->id;
	wg_engine_worker_event(a->e, &ev);
	pump(p);
	assert_int_equal(a->sent[MESSAGE_HANDSHAKE_INITIATION], 1);
	assert_int_equal(a->keepalives, 1);
	assert_int_equal(stats(a).keepalives_sent, 1);
	assert_int_equal(b->rx_keepalive, 1);
	assert_non_null(cur(b));
	assert_null(next(b));
	/* The keepalive is not data: B owes no passive keepalive. */
	assert_false(wg_engine_timer_pending(b->peer, WG_TIMER_SEND_KEEPALIVE, NULL));
	advance(p, 12000, 100);
	assert_int_equal(b->keepalives, 0);
	pair_free(p);
}

/* Workers queue a peer once until the engine takes its events. */
static void
test_post_dedup(void **state)
{
	struct pair *p = pair_new(NULL);
	struct wg_peer *peer = p->s[A].peer;
	struct wg_engine_event ev = { .peer_id = peer->id };

	(void)state;
	assert_true(wg_engine_post(peer, WG_PEER_EV_AUTH_TX, fake_now, NULL, NULL));
	assert_false(wg_engine_post(peer, WG_PEER_EV_DATA_TX, fake_now, NULL, NULL));
	assert_int_equal(peer->wk.ev,
		WG_PEER_EV_AUTH_TX | WG_PEER_EV_DATA_TX | WG_PEER_EV_PENDING);
	wg_engine_worker_event(p->s[A].e, &ev);
	assert_int_equal(peer->wk.ev, 0);
	assert_int_equal(stats(&p->s[A]).events, 1);
	/* data_sent armed new_handshake. */
	assert_true(wg_engine_timer_pending(peer, WG_TIMER_NEW_HANDSHAKE, NULL));
	assert_true(wg_engine_post(peer, WG_PEER_EV_AUTH_TX, fake_now, NULL, NULL));
	wg_engine_post_undo(peer);
	assert_true(wg_engine_post(peer, WG_PEER_EV_AUTH_TX, fake_now, NULL, NULL));
	/* A stale id is ignored. */
	ev.peer_id = 63;
	wg_engine_worker_event(p->s[A].e, &ev);
	pair_free(p);
}

/* §8.3: time-based send-side rekey by the initiator only. */
static void
test_rekey_after_120s_initiator_only(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *a = &p->s[A], *b = &p->s[B];
	struct noise_keypair *first;
	uint64_t born;
	unsigned int t;

	(void)state;
	handshake(p);
	first = cur(a);
	born = first->birth;
	for (t = 0; t < 11; t++) {
		/* B first: A's data then cancels A's passive keepalive, which would rekey at 120 s. */
		advance(p, 10000, 1000);
		send_data(p, B, 200 + t);
		send_data(p, A, 100 + t);
	}
	/* 110 s: nobody rekeyed. */
	assert_int_equal(a->sent[MESSAGE_HANDSHAKE_INITIATION], 1);
	assert_ptr_equal(cur(a), first);
	/* The responder's data after 120 s does not rekey. */
	advance(p, 10000, 1000);
	assert_true(fake_now - born >= 120 * SEC);
	send_data(p, B, 300);
	assert_int_equal(b->sent[MESSAGE_HANDSHAKE_INITIATION], 0);
	assert_int_equal(a->sent[MESSAGE_HANDSHAKE_INITIATION], 1);
	/* The initiator's does, and the new session replaces the old one. */
	send_data(p, A, 301);
	assert_int_equal(a->sent[MESSAGE_HANDSHAKE_INITIATION], 2);
	assert_int_equal(b->sent[MESSAGE_HANDSHAKE_INITIATION], 0);
	assert_ptr_not_equal(cur(a), first);
	assert_ptr_equal(atomic_load(&a->peer->keypairs.previous), first);
	assert_int_equal(b->last_rx_id, 301);
	/* B confirms the new keypair with A's next packet. */
	send_data(p, A, 302);
	assert_null(next(b));
	assert_int_equal(cur(b)->entry.index, cur(a)->remote_index);
	assert_int_equal(a->rx_drop + b->rx_drop, 0);
	pair_free(p);
}

/* §8.3: a pure receiver that initiated current rekeys at 165 s, once. */
static void
test_rekey_receive_side_165s(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *a = &p->s[A], *b = &p->s[B];
	uint64_t born;

	(void)state;
	handshake(p);			/* A's data + B's confirmation at t = 0 */
	born = cur(a)->birth;
	advance(p, 20000, 1000);	/* B's passive keepalive at 10 s */
	assert_int_equal(b->keepalives, 1);
	advance(p, 140000, 5000);	/* 160 s: silence */
	send_data(p, B, 1);
	assert_int_equal(a->sent[MESSAGE_HANDSHAKE_INITIATION], 1);
	advance(p, 4000, 1000);
	assert_true(fake_now - born < 165 * SEC);
	send_data(p, B, 2);
	assert_int_equal(a->sent[MESSAGE_HANDSHAKE_INITIATION], 1);
	advance(p, 2000, 1000);
	assert_true(fake_now - born >= 165 * SEC);
	/* Hold the network so only A's reaction to this packet is observed. */
	send_data(p, B, 3);
	assert_int_equal(a->sent[MESSAGE_HANDSHAKE_INITIATION], 2);
	assert_int_equal(b->sent[MESSAGE_HANDSHAKE_INITIATION], 0);
	assert_true(cur(a)->i_am_initiator);
	pair_free(p);
}

/* §8.2, §8.7: 20 initiations 5 s + [0, 333] ms apart, then give up. */
static void
test_retransmit_and_give_up(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *a = &p->s[A];
	uint64_t d, at;
	unsigned int i;

	(void)state;
	p->s[B].unreachable = true;
	send_data(p, A, 42);
	assert_int_equal(a->n_init, 1);
	advance(p, 120000, 1);
	assert_int_equal(a->n_init, MAX_TIMER_HANDSHAKES + 2);
	for (i = 1; i < a->n_init; i++) {
		d = a->init_at[i] - a->init_at[i - 1];
		assert_true(d >= 5000 * MS);
		assert_true(d <= (5000 + REKEY_TIMEOUT_JITTER_MAX_MS + 1) * MS);
	}
	/* Given up 5 s after the 20th: staged packet dropped, zeroing armed. */
	assert_int_equal(stats(a).gave_up, 1);
	assert_int_equal(wg_engine_staged_count(a->peer), 0);
	assert_int_equal(a->freed, 1);
	assert_int_equal(a->freed_ids[0], 42);
	assert_false(wg_engine_timer_pending(a->peer, WG_TIMER_RETRANSMIT_HANDSHAKE, NULL));
	assert_true(wg_engine_timer_pending(a->peer, WG_TIMER_ZERO_KEY_MATERIAL, &at));
	assert_true(at > fake_now + 400 * SEC && at <= fake_now + 540 * SEC);
	advance(p, 60000, 100);
	assert_int_equal(a->n_init, MAX_TIMER_HANDSHAKES + 2);
	pair_free(p);
}

/* §8.2: keys zeroed 540 s after the last session was derived. */
static void
test_zero_key_material(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *a = &p->s[A], *b = &p->s[B];

	(void)state;
	handshake(p);
	advance(p, 20000, 1000);
	assert_int_equal(wg_index_rcu_count(wg_engine_index(a->e)), 1);
	advance(p, 518000, 1000);	/* 538 s */
	assert_non_null(cur(a));
	assert_non_null(cur(b));
	advance(p, 3000, 100);		/* 541 s */
	assert_null(cur(a));
	assert_null(cur(b));
	assert_null(atomic_load(&a->peer->keypairs.previous));
	assert_int_equal(stats(a).keys_zeroed, 1);
	assert_int_equal(stats(b).keys_zeroed, 1);
	assert_int_equal(wg_index_rcu_count(wg_engine_index(a->e)), 0);
	assert_int_equal(wg_index_rcu_count(wg_engine_index(b->e)), 0);
	advance(p, 2000, 1000);		/* housekeeping frees the retired keypairs */
	assert_int_equal(wg_index_rcu_retired(wg_engine_index(a->e)), 0);
	/* Data afterwards starts a fresh handshake. */
	send_data(p, A, 9);
	assert_int_equal(b->last_rx_id, 9);
	assert_int_equal(a->sent[MESSAGE_HANDSHAKE_INITIATION], 2);
	pair_free(p);
}

/* §8.2 send_keepalive: 10 s after data received, again if more data came meanwhile. */
static void
test_passive_keepalive(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *b = &p->s[B];
	uint64_t at, t0;

	(void)state;
	handshake(p);
	advance(p, 30000, 1000);
	assert_int_equal(b->keepalives, 1);	/* for the handshake's data packet */
	t0 = fake_now;
	send_data(p, A, 2);
	assert_true(wg_engine_timer_pending(b->peer, WG_TIMER_SEND_KEEPALIVE, &at));
	assert_int_equal(at, t0 + 10 * SEC);
	advance(p, 5000, 1000);
	send_data(p, A, 3);	/* while pending: need_another_keepalive */
	advance(p, 4900, 100);
	assert_int_equal(b->keepalives, 1);
	advance(p, 200, 100);
	assert_int_equal(b->keepalives, 2);
	assert_true(wg_engine_timer_pending(b->peer, WG_TIMER_SEND_KEEPALIVE, &at));
	assert_int_equal(at, t0 + 20 * SEC);
	advance(p, 10000, 100);
	assert_int_equal(b->keepalives, 3);
	assert_false(wg_engine_timer_pending(b->peer, WG_TIMER_SEND_KEEPALIVE, NULL));
	/* Data sent by B cancels it: B's reply is its acknowledgement. */
	send_data(p, A, 4);
	send_data(p, B, 5);
	assert_false(wg_engine_timer_pending(b->peer, WG_TIMER_SEND_KEEPALIVE, NULL));
	advance(p, 15000, 1000);
	assert_int_equal(b->keepalives, 3);
	pair_free(p);
}

/* §8.2 new_handshake: 15 s + jitter after data sent with nothing heard back. */
static void
test_new_handshake_after_15s(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *a = &p->s[A];
	uint64_t t0;

	(void)state;
	handshake(p);
	advance(p, 30000, 1000);
	a->unreachable = true;		/* B's answers are lost */
	t0 = fake_now;
	send_data(p, A, 2);
	advance(p, 14999, 1);
	assert_int_equal(a->n_init, 1);
	advance(p, 340, 1);
	assert_int_equal(a->n_init, 2);
	assert_true(a->init_at[1] - t0 >= 15 * SEC);
	assert_true(a->init_at[1] - t0 <= 15 * SEC + (REKEY_TIMEOUT_JITTER_MAX_MS + 1) * MS);
	/* A reply in time cancels it. */
	a->unreachable = false;
	advance(p, 10000, 100);		/* the retransmission completes the handshake */
	send_data(p, A, 3);
	send_data(p, B, 4);
	advance(p, 20000, 100);
	assert_false(wg_engine_timer_pending(a->peer, WG_TIMER_NEW_HANDSHAKE, NULL));
	pair_free(p);
}

/* §8.2 persistent keepalive: every P s of silence, and at once when switched on. */
static void
test_persistent_keepalive(void **state)
{
	struct opts o = { .keepalive_a = 25 };
	struct pair *p = pair_new(&o);
	struct side *a = &p->s[A], *b = &p->s[B];
	unsigned int k0;
	uint64_t t0;

	(void)state;
	handshake(p);
	advance(p, 12000, 100);		/* B's passive keepalive at 10 s re-arms A's timer */
	k0 = a->keepalives;
	t0 = fake_now;
	advance(p, 23000 - 1, 1);
	assert_int_equal(a->keepalives, k0);
	advance(p, 2, 1);
	assert_int_equal(a->keepalives, k0 + 1);	/* 25 s after B's keepalive arrived */
	advance(p, 25000, 100);
	assert_int_equal(a->keepalives, k0 + 2);
	(void)t0;
	/* B had it off; switching it on sends a keepalive immediately. */
	assert_int_equal(b->keepalives, 1);
	wg_engine_peer_set_persistent_keepalive(b->e, b->peer, 5);
	pump(p);
	assert_int_equal(b->keepalives, 2);
	advance(p, 5000, 100);
	assert_int_equal(b->keepalives, 3);
	pair_free(p);
}

/* §7.4: no initiation within 5 s of the last initiation or response sent. */
static void
test_initiation_rate_limit(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *a = &p->s[A], *b = &p->s[B];
	struct wg_engine_event ev;

	(void)state;
	b->unreachable = true;
	send_data(p, A, 1);
	assert_int_equal(a->n_init, 1);
	advance(p, 1000, 100);
	send_data(p, A, 2);
	advance(p, 3000, 100);
	send_data(p, A, 3);
	assert_int_equal(a->n_init, 1);
	assert_int_equal(wg_engine_staged_count(a->peer), 3);
	pair_free(p);

	/* A response counts too: B answered, so B may not initiate for 5 s. */
	p = pair_new(NULL);
	a = &p->s[A];
	b = &p->s[B];
	a->unreachable = true;
	send_data(p, A, 1);
	b->unreachable = true;		/* A's retransmissions do not reach B either */
	assert_int_equal(b->sent[MESSAGE_HANDSHAKE_RESPONSE], 1);
	assert_non_null(next(b));
	advance(p, 1000, 100);
	assert_true(wg_engine_post(b->peer, WG_PEER_EV_NO_KEYPAIR, fake_now, NULL, NULL));
	ev.peer_id = b->peer->id;
	wg_engine_worker_event(b->e, &ev);
	assert_int_equal(b->n_init, 0);
	advance(p, 4000, 100);
	assert_true(wg_engine_post(b->peer, WG_PEER_EV_NO_KEYPAIR, fake_now, NULL, NULL));
	wg_engine_worker_event(b->e, &ev);
	assert_int_equal(b->n_init, 1);
	pair_free(p);
}

/* §5.2, §5.4, §5.5, §7.3: under load, a cookie reply, then mac2; then the rate limiter. */
static void
test_under_load(void **state)
{
	struct opts o = { .under_load_backlog = 4 };
	struct pair *p = pair_new(&o);
	struct side *a = &p->s[A], *b = &p->s[B];
	struct netmsg replay;
	unsigned int i, limited = 0;
	enum wg_engine_hs_result r;

	(void)state;
	b->backlog = 10;
	send_data(p, A, 1);
	assert_int_equal(b->hs[WG_HS_cookie_sent], 1);
	assert_int_equal(b->sent[MESSAGE_HANDSHAKE_COOKIE], 1);
	assert_int_equal(a->hs[WG_HS_cookie], 1);
	assert_null(next(b));
	assert_null(cur(a));
	/* The retransmission carries mac2 and goes through. */
	advance(p, 5400, 100);
	assert_int_equal(b->hs[WG_HS_initiation], 1);
	assert_int_equal(b->hs[WG_HS_cookie_sent], 1);
	assert_non_null(cur(a));
	assert_non_null(cur(b));
	assert_int_equal(b->last_rx_id, 1);
	/* Replays of that initiation, valid mac2: the source runs out of tokens. */
	replay = p->last_init[A];
	for (i = 0; i < 10; i++) {
		r = wg_engine_handshake_rx(b->e, replay.buf, replay.len, &replay.src, 10);
		assert_true(r == WG_HS_replay || r == WG_HS_ratelimited);
		limited += r == WG_HS_ratelimited;
	}
	assert_true(limited >= 5);
	assert_int_equal(r, WG_HS_ratelimited);
	/* Hysteresis: the load is gone but for 1 s mac2 is still required. */
	replay.buf[132] ^= 1;	/* spoil mac2 */
	r = wg_engine_handshake_rx(b->e, replay.buf, replay.len, &replay.src, 0);
	assert_int_equal(r, WG_HS_cookie_sent);
	fake_now += 1100 * MS;
	r = wg_engine_handshake_rx(b->e, replay.buf, replay.len, &replay.src, 0);
	assert_int_equal(r, WG_HS_replay);
	pump(p);
	pair_free(p);
}

/* A replayed initiation, a bad mac1, a bad length: no state changes. */
static void
test_replay_and_bad_mac(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *a = &p->s[A], *b = &p->s[B];
	struct noise_keypair *bc, *ac;
	struct netmsg m;
	struct wg_engine_stats before;
	enum wg_engine_hs_result r;

	(void)state;
	handshake(p);
	bc = cur(b);
	ac = cur(a);
	m = p->last_init[A];
	before = stats(b);
	r = wg_engine_handshake_rx(b->e, m.buf, m.len, &m.src, 0);
	assert_int_equal(r, WG_HS_replay);
	m.buf[116] ^= 0x80;	/* mac1 */
	r = wg_engine_handshake_rx(b->e, m.buf, m.len, &m.src, 0);
	assert_int_equal(r, WG_HS_bad_mac1);
	m.buf[116] ^= 0x80;
	m.buf[20] ^= 1;		/* the ephemeral, covered by mac1 */
	r = wg_engine_handshake_rx(b->e, m.buf, m.len, &m.src, 0);
	assert_int_equal(r, WG_HS_bad_mac1);
	r = wg_engine_handshake_rx(b->e, m.buf, m.len - 1, &m.src, 0);
	assert_int_equal(r, WG_HS_bad_length);
	m.buf[0] = 9;
	r = wg_engine_handshake_rx(b->e, m.buf, m.len, &m.src, 0);
	assert_int_equal(r, WG_HS_bad_length);
	/* Nothing moved: keypairs, endpoint, answers, timers. */
	assert_ptr_equal(cur(b), bc);
	assert_null(next(b));
	assert_ptr_equal(cur(a), ac);
	assert_int_equal(b->sent[MESSAGE_HANDSHAKE_RESPONSE], 1);
	assert_int_equal(stats(b).responses_sent, before.responses_sent);
	assert_int_equal(stats(b).hs[WG_HS_replay], 1);
	pair_free(p);
}

/* Removing a peer mid-handshake: staged packets, timers, indices go; late answers are unknown. */
static void
test_remove_mid_handshake(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *a = &p->s[A], *b = &p->s[B];
	struct wg_engine_stats st;
	struct wg_peer *gone;

	(void)state;
	p->hold = true;
	send_data(p, A, 1);
	send_data(p, A, 2);
	assert_int_equal(wg_engine_staged_count(a->peer), 2);
	/* Deliver the initiation only: B answers, the response stays in flight. */
	deliver_one(p);
	assert_non_null(next(b));
	assert_int_equal(wg_index_rcu_count(wg_engine_index(b->e)), 1);
	assert_int_equal(wg_index_rcu_count(wg_engine_index(a->e)), 1);
	gone = a->peer;
	assert_int_equal(wg_engine_peer_remove(a->e, gone), 0);
	assert_int_equal(wg_engine_peer_remove(a->e, gone), -ENOENT);
	assert_int_equal(a->freed, 2);
	assert_int_equal(wg_index_rcu_count(wg_engine_index(a->e)), 0);
	assert_null(wg_peers_lookup(a->peers, b->pub));
	assert_int_equal(b->sent[MESSAGE_HANDSHAKE_RESPONSE], 1);
	/* B's response (sent before the removal) reaches nobody. */
	deliver_one(p);
	assert_int_equal(a->hs[WG_HS_unknown], 1);
	p->hold = false;
	/* No timer of the removed peer ever fires. */
	st = stats(a);
	advance(p, 60000, 500);
	assert_int_equal(stats(a).timers_fired, st.timers_fired);
	assert_int_equal(a->n_init, 1);
	/* On B: the unconfirmed keypair is retired and freed after the grace period. */
	assert_int_equal(wg_engine_peer_remove(b->e, b->peer), 0);
	assert_int_equal(wg_index_rcu_count(wg_engine_index(b->e)), 0);
	advance(p, 2000, 1000);
	assert_int_equal(wg_index_rcu_retired(wg_engine_index(b->e)), 0);
	a->peer = NULL;
	b->peer = NULL;
	pair_free(p);
}

/* §8.4: a new private key clears handshakes and stops sending on current and next. */
static void
test_private_key_change(void **state)
{
	struct pair *p = pair_new(NULL);
	struct side *a = &p->s[A], *b = &p->s[B];
	struct noise_keypair *bc;
	uint8_t priv[32], pub[32];
	struct wg_conf_peer cp;
	struct wg_peer *self;

	(void)state;
	handshake(p);
	bc = cur(b);
	wg_x25519_generate(priv);
	assert_true(wg_x25519_public(pub, priv));
	assert_int_equal(wg_engine_set_private_key(b->e, priv), 0);
	assert_ptr_equal(cur(b), bc);
	assert_false(atomic_load(&bc->sending_valid));
	assert_true(atomic_load(&bc->receiving_valid));
	/* B still receives on it. */
	send_data(p, A, 5);
	assert_int_equal(b->last_rx_id, 5);
	/* B's data needs a new session: its initiation names a key A does not know. */
	send_data(p, B, 6);
	assert_int_equal(b->n_init, 1);
	assert_int_equal(a->hs[WG_HS_unknown], 1);
	assert_int_equal(wg_engine_staged_count(b->peer), 1);
	/* A's initiations carry mac1 for B's old key. */
	advance(p, 121000, 1000);	/* A rekeys on its next data */
	send_data(p, A, 7);
	assert_true(b->hs[WG_HS_bad_mac1] >= 1);
	/* A peer with the device's own new public key is removed, as the kernel does. */
	memset(&cp, 0, sizeof(cp));
	wg_x25519_generate(priv);
	assert_true(wg_x25519_public(cp.public_key, priv));
	assert_int_equal(wg_engine_peer_add(b->e, &cp, &self), 0);
	assert_int_equal(wg_engine_set_private_key(b->e, priv), 0);
	assert_null(wg_peers_lookup(b->peers, cp.public_key));
	assert_int_equal(wg_engine_peer_add(b->e, &cp, NULL), -EINVAL);
	/* No identity: every handshake message fails mac1. */
	assert_int_equal(wg_engine_set_private_key(b->e, NULL), 0);
	assert_false(wg_engine_public_key(b->e, pub));
	pair_free(p);
}

/* Staged queue: 128 per peer, oldest dropped first; a global cap. */
static void
test_staged_caps(void **state)
{
	struct opts o = { .hold_max = 200 };
	struct pair *p = pair_new(&o);
	struct side *a = &p->s[A];
	struct wg_conf_peer cp;
	struct wg_peer *other;
	unsigned int i;

	(void)state;
	p->s[B].unreachable = true;
	for (i = 0; i < 130; i++)
		worker_tx(a, new_pkt(i));
	assert_int_equal(wg_engine_staged_count(a->peer), MAX_STAGED_PACKETS);
	assert_int_equal(a->freed, 2);
	assert_int_equal(a->freed_ids[0], 0);
	assert_int_equal(a->freed_ids[1], 1);
	assert_int_equal(stats(a).staged_dropped, 2);
	assert_int_equal(wg_engine_hold_budget(a->e)->used, MAX_STAGED_PACKETS);
	/* A second peer hits the global cap of 200. */
	memset(&cp, 0, sizeof(cp));
	wg_x25519_generate(cp.psk);
	assert_true(wg_x25519_public(cp.public_key, cp.psk));
	memset(cp.psk, 0, 32);
	cp.endpoint = p->s[B].addr;
	cp.endpoint.port = 9;
	assert_int_equal(wg_engine_peer_add(a->e, &cp, &other), 0);
	for (i = 0; i < 100; i++)
		wg_engine_stage(a->e, other, new_pkt(1000 + i));
	assert_int_equal(wg_engine_staged_count(other), 200 - MAX_STAGED_PACKETS);
	assert_int_equal(stats(a).staged_over_cap, 100 - (200 - MAX_STAGED_PACKETS));
	/* Removal gives the budget back. */
	assert_int_equal(wg_engine_peer_remove(a->e, other), 0);
	assert_int_equal(wg_engine_hold_budget(a->e)->used, MAX_STAGED_PACKETS);
	/* A peer put in the table by someone else is ignored until adopted. */
	{
		struct wg_peer *tmpl = aligned_alloc(64, RTE_ALIGN_CEIL(sizeof(*tmpl), 64));
		struct wg_peer *raw;
		uint8_t k[32];

		assert_non_null(tmpl);
		memset(tmpl, 0, sizeof(*tmpl));
		wg_x25519_generate(k);
		assert_true(wg_x25519_public(tmpl->public_key, k));
		tmpl->endpoint = p->s[B].addr;
		assert_int_equal(wg_peers_add(a->peers, tmpl, &raw), 0);
		free(tmpl);
		assert_int_equal(wg_engine_peer_adopt(a->e, raw), 0);
		assert_int_equal(wg_engine_peer_adopt(a->e, raw), -EEXIST);
		assert_true(wg_peer_endpoint_read(raw, &cp.endpoint));
		assert_int_equal(cp.endpoint.port, p->s[B].addr.port);
		assert_int_equal(wg_engine_peer_remove(a->e, raw), 0);
	}
	/* No endpoint: dropped at once. */
	memset(&cp.endpoint, 0, sizeof(cp.endpoint));
	assert_int_equal(wg_engine_peer_add(a->e, &cp, &other), 0);
	wg_engine_stage(a->e, other, new_pkt(7));
	assert_int_equal(wg_engine_staged_count(other), 0);
	assert_int_equal(stats(a).no_endpoint, 1);
	pair_free(p);
}

/* --- the timer wheel --- */

struct wnode {
	struct wg_wheel_node n;
	uint64_t fired_at;
	unsigned int fires;
};

static uint64_t wheel_now;

static void
wheel_cb(void *arg, struct wg_wheel_node *n)
{
	struct wnode *w = container_of(n, struct wnode, n);

	(void)arg;
	w->fired_at = wheel_now;
	w->fires++;
}

/* 100,000 idle timers: advancing costs nothing until they come due, then 3 touches each. */
static void
test_wheel_idle_cost(void **state)
{
	enum { N = 100000 };
	struct wnode *nodes = calloc(N, sizeof(*nodes));
	static struct wg_wheel w;
	uint64_t t, base = 12345;
	unsigned int i;

	(void)state;
	assert_non_null(nodes);
	wg_wheel_init(&w, base);
	srandom(3);
	for (i = 0; i < N; i++) {
		wg_wheel_node_init(&nodes[i].n);
		/* 540 s timers and keepalives, all more than 65.5 s away. */
		wg_wheel_add(&w, &nodes[i].n, base + 70000 + (uint64_t)random() % 500000);
	}
	assert_int_equal(wg_wheel_count(&w), N);
	/* Tick by tick through the first 50 s: no node is looked at. */
	for (t = base; t < base + 50000; t++) {
		wheel_now = t;
		assert_int_equal(wg_wheel_advance(&w, t, wheel_cb, NULL), 0);
	}
	assert_int_equal(w.visited, 0);
	/* Through 600 s in 1 ms steps: each fires once, on time, after at most 3 touches. */
	for (; t <= base + 600000; t++) {
		wheel_now = t;
		wg_wheel_advance(&w, t, wheel_cb, NULL);
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(nodes[i].fires, 1);
		assert_int_equal(nodes[i].fired_at, nodes[i].n.expires);
	}
	printf("# wheel: %u timers, %" PRIu64 " node visits in all (fired %" PRIu64 ")\n", N,
		w.visited, w.fired);
	assert_true(w.visited <= 3ULL * N);
	assert_int_equal(w.fired, N);
	assert_int_equal(wg_wheel_count(&w), 0);
	free(nodes);
}

static void
wheel_cb_exact(void *arg, struct wg_wheel_node *n)
{
	struct wnode *w = container_of(n, struct wnode, n);

	w->fired_at = ((struct wg_wheel *)arg)->cur;	/* the tick being run */
	w->fires++;
}

/* Random adds, moves, deletes and clock jumps against a naive array. */
static void
test_wheel_differential(void **state)
{
	enum { N = 2000, STEPS = 100000 };
	static struct wnode nodes[N];
	static uint64_t want[N];	/* 0: not armed */
	static unsigned int fires[N];
	static struct wg_wheel w;
	uint64_t t = 1000, to, r;
	unsigned int i, j, step;

	(void)state;
	memset(nodes, 0, sizeof(nodes));
	wg_wheel_init(&w, t + 1);
	srandom(11);
	for (step = 0; step < STEPS; step++) {
		i = (unsigned int)random() % N;
		switch (random() % 4) {
		case 0:
		case 1:
			r = (uint64_t)random();
			if (random() % 64 == 0)
				r = r << 2;			/* beyond the wheel: parked */
			else if (random() % 2)
				r %= 300;
			else
				r %= 3000000;
			want[i] = t + 1 + r;
			wg_wheel_add(&w, &nodes[i].n, want[i]);
			break;
		case 2:
			wg_wheel_del(&w, &nodes[i].n);
			want[i] = 0;
			break;
		default:
			r = (uint64_t)random();
			to = t + (random() % 64 == 0 ? r << 3 : random() % 8 == 0 ? r % 5000000 : r % 50);
			wg_wheel_advance(&w, to, wheel_cb_exact, &w);
			for (j = 0; j < N; j++) {
				if (want[j] != 0 && want[j] <= to) {
					fires[j]++;
					assert_int_equal(nodes[j].fired_at, want[j]);
					want[j] = 0;
				}
				assert_int_equal(nodes[j].fires, fires[j]);
				assert_int_equal(wg_wheel_pending(&nodes[j].n), want[j] != 0);
			}
			t = to;
			break;
		}
	}
}

/* The engine: 100,000 peers without a session cost the wheel nothing. */
static void
test_engine_idle_peers(void **state)
{
	enum { N = 100000 };
	struct wg_peers_params pp = { .name = "idle", .rcu = rcu, .max_peers = N + 1 };
	struct wg_engine_params ep = { .name = "idle", .rcu = rcu, .ops = &ops };
	struct wg_engine_stats st;
	struct wg_conf_peer cp;
	struct side s;
	unsigned int i;

	(void)state;
	memset(&s, 0, sizeof(s));
	ep.ops_arg = &s;
	ep.peers = wg_peers_create(&pp);
	assert_non_null(ep.peers);
	s.e = wg_engine_create(&ep);
	assert_non_null(s.e);
	memset(&cp, 0, sizeof(cp));
	for (i = 0; i < N; i++) {
		memcpy(cp.public_key, &i, sizeof(i));
		cp.public_key[31] = 0x42;
		assert_int_equal(wg_engine_peer_add(s.e, &cp, NULL), 0);
	}
	for (i = 0; i < 20000; i++) {
		fake_now += MS;
		wg_engine_timers_run(s.e);
	}
	wg_engine_stats_get(s.e, &st);
	assert_int_equal(st.wheel_visited, 0);
	assert_int_equal(st.timers_fired, 0);
	wg_engine_free(s.e);
	wg_peers_free(ep.peers);
}

/* --- message limits (§6.3, §8.3, §8.4) --- */

#define RK REKEY_AFTER_MESSAGES
#define RJ REJECT_AFTER_MESSAGES

/*
 * The next send counter of a keypair against both limits, either role, with
 * the key young (the time rule is tested above): whether the send side wants
 * a rekey, whether the key may send, and whether one more nonce is given out.
 */
static const struct {
	uint64_t counter;
	bool rekey, usable, reserve, usable_after;
} counter_limits[] = {
	/* 1 */ { 0, false, true, true, true },
	/* 2 */ { RK - 1, false, true, true, true },
	/* 3 */ { RK, false, true, true, true },         /* rekey once it *exceeds* 2^60 */
	/* 4 */ { RK + 1, true, true, true, true },
	/* 5 */ { RJ - 2, true, true, true, true },
	/* 6 */ { RJ - 1, true, true, true, false },     /* the last nonce: then no more */
	/* 7 */ { RJ, true, false, false, false },       /* 2^64 - 2^13 - 1 itself */
	/* 8 */ { RJ + 1, true, false, false, false },
	/* 9 */ { UINT64_MAX, true, false, false, false },
};

static void
test_counter_limits_table(void **state)
{
	struct noise_keypair *kp = aligned_alloc(WG_NOISE_CACHE_LINE, sizeof(*kp));
	uint64_t now = 500 * SEC, first;
	unsigned int i, role;
	bool got;

	(void)state;
	assert_non_null(kp);
	assert_true(RJ == 0xffffffffffffdfffULL);       /* 2^64 - 2^13 - 1 (protocol.md §6.1) */
	for (i = 0; i < sizeof(counter_limits) / sizeof(counter_limits[0]); i++) {
		for (role = 0; role < 2; role++) {
			memset(kp, 0, sizeof(*kp));
			kp->birth = now - 10 * SEC;
			kp->i_am_initiator = role == 1;
			atomic_init(&kp->sending_valid, true);
			atomic_init(&kp->send_counter, counter_limits[i].counter);
			if (wg_peer_tx_rekey_needed(kp, now) != counter_limits[i].rekey)
				fail_msg("row %u (%s): rekey expected %d", i + 1,
					role ? "initiator" : "responder", counter_limits[i].rekey);
			if (wg_noise_keypair_send_usable(kp, now) != counter_limits[i].usable)
				fail_msg("row %u: usable expected %d", i + 1,
					counter_limits[i].usable);
			first = 42;
			got = wg_noise_keypair_nonce_reserve(kp, 1, &first);
			if (got != counter_limits[i].reserve ||
					(got && first != counter_limits[i].counter) ||
					(!got && first != 42))
				fail_msg("row %u: reserve expected %d", i + 1,
					counter_limits[i].reserve);
			if (wg_noise_keypair_send_usable(kp, now) != counter_limits[i].usable_after)
				fail_msg("row %u: usable after one nonce expected %d", i + 1,
					counter_limits[i].usable_after);
		}
	}
	free(kp);
}

/*
 * The same limits through the engine: after a handshake the sender's current
 * keypair is set to the row's counter and one inner packet sent. The packet
 * either goes out on that keypair with that counter or is staged; a
 * handshake is or is not started by the sender, whichever role it has; then
 * the network runs and the packet arrives exactly once either way.
 */
static const struct {
	int from;
	uint64_t counter;
	bool sent_on_old, initiation;
} engine_limits[] = {
	/* 1 */ { A, RK - 1, true, false },
	/* 2 */ { A, RK, true, true },          /* counter becomes 2^60 + 1 */
	/* 3 */ { B, RK - 1, true, false },
	/* 4 */ { B, RK, true, true },          /* the responder rekeys on messages too */
	/* 5 */ { A, RJ - 2, true, true },
	/* 6 */ { A, RJ - 1, true, true },      /* the last counter still goes out */
	/* 7 */ { A, RJ, false, true },         /* refused: staged, handshake */
	/* 8 */ { B, RJ - 1, true, true },
	/* 9 */ { B, RJ, false, true },
	/* 10 */ { B, UINT64_MAX, false, true },
};

static void
test_counter_limits_engine(void **state)
{
	static const struct timespec tai64n_step = { .tv_nsec = 20 * 1000 * 1000 };
	unsigned int i, data0, init0, other_init0, rx0;
	struct noise_keypair *old;
	struct side *s, *o;
	struct pair *p;
	uint32_t id;

	(void)state;
	for (i = 0; i < sizeof(engine_limits) / sizeof(engine_limits[0]); i++) {
		p = pair_new(NULL);
		handshake(p);
		advance(p, 6000, 1000);         /* past REKEY_TIMEOUT since the handshake */
		/*
		 * TAI64N is real wall-clock time in 2^24 ns steps: a second
		 * initiation within ~16.8 ms of the first would be a replay.
		 */
		nanosleep(&tai64n_step, NULL);
		s = &p->s[engine_limits[i].from];
		o = &p->s[!engine_limits[i].from];
		old = cur(s);
		atomic_store(&old->send_counter, engine_limits[i].counter);
		data0 = s->sent[MESSAGE_DATA];
		init0 = s->sent[MESSAGE_HANDSHAKE_INITIATION];
		other_init0 = o->sent[MESSAGE_HANDSHAKE_INITIATION];
		rx0 = o->rx_data;
		id = 7000 + i;

		p->hold = true;
		send_data(p, engine_limits[i].from, id);
		if ((s->sent[MESSAGE_DATA] - data0 == 1) != engine_limits[i].sent_on_old)
			fail_msg("row %u: sent on the old keypair expected %d", i + 1,
				engine_limits[i].sent_on_old);
		if (engine_limits[i].sent_on_old) {
			assert_true(atomic_load(&old->send_counter) ==
				engine_limits[i].counter + 1);
			assert_int_equal(wg_engine_staged_count(s->peer), 0);
		} else {
			/* No nonce was taken from a keypair at the limit; the packet waits. */
			assert_true(atomic_load(&old->send_counter) == engine_limits[i].counter);
			assert_int_equal(wg_engine_staged_count(s->peer), 1);
		}
		if ((s->sent[MESSAGE_HANDSHAKE_INITIATION] - init0 == 1) !=
				engine_limits[i].initiation)
			fail_msg("row %u: initiation expected %d", i + 1,
				engine_limits[i].initiation);
		assert_int_equal(o->sent[MESSAGE_HANDSHAKE_INITIATION], other_init0);

		p->hold = false;
		pump(p);
		assert_int_equal(o->rx_data - rx0, 1);
		assert_int_equal(o->last_rx_id, id);
		assert_int_equal(p->s[A].rx_drop + p->s[B].rx_drop, 0);
		assert_int_equal(wg_engine_staged_count(s->peer), 0);
		if ((cur(s) != old) != engine_limits[i].initiation)
			fail_msg("row %u: new session expected %d (sent init %u, other %u)", i + 1,
				engine_limits[i].initiation,
				s->sent[MESSAGE_HANDSHAKE_INITIATION] - init0,
				o->sent[MESSAGE_HANDSHAKE_INITIATION] - other_init0);
		pair_free(p);
	}
}

static void
test_struct_sizes(void **state)
{
	(void)state;
	/* Memory per idle peer stays in the hundreds of bytes. */
	printf("# sizeof(struct wg_peer) = %zu, engine part = %zu\n", sizeof(struct wg_peer),
		sizeof(struct wg_peer) - offsetof(struct wg_peer, handshake));
	assert_true(sizeof(struct wg_peer) <= 1024);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_struct_sizes),
		cmocka_unit_test(test_post_dedup),
		cmocka_unit_test(test_handshake_by_traffic),
		cmocka_unit_test(test_handshake_keepalive_confirms),
		cmocka_unit_test(test_rekey_after_120s_initiator_only),
		cmocka_unit_test(test_rekey_receive_side_165s),
		cmocka_unit_test(test_retransmit_and_give_up),
		cmocka_unit_test(test_zero_key_material),
		cmocka_unit_test(test_passive_keepalive),
		cmocka_unit_test(test_new_handshake_after_15s),
		cmocka_unit_test(test_persistent_keepalive),
		cmocka_unit_test(test_initiation_rate_limit),
		cmocka_unit_test(test_under_load),
		cmocka_unit_test(test_replay_and_bad_mac),
		cmocka_unit_test(test_remove_mid_handshake),
		cmocka_unit_test(test_private_key_change),
		cmocka_unit_test(test_staged_caps),
		cmocka_unit_test(test_counter_limits_table),
		cmocka_unit_test(test_counter_limits_engine),
		cmocka_unit_test(test_wheel_idle_cost),
		cmocka_unit_test(test_wheel_differential),
		cmocka_unit_test(test_engine_idle_peers),
	};
	int ret;

	rcu = wg_test_eal_init("test_engine", "1024", 4);
	if (rcu == NULL)
		return 1;
	wg_clock_set_source(fake_clock);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	wg_clock_set_source(NULL);
	wg_test_eal_fini(rcu);
	return ret;
}
