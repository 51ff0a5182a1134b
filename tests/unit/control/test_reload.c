/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hot reload against a real engine and real tables (EAL --no-huge): a
 * session made by a real handshake with a second engine survives a reload
 * (same keypair, nonce counter going on), changed peers are updated in
 * place, removed peers and their prefixes disappear, added peers route, a
 * prefix moves between peers in one reload, a bad file or an interface change
 * changes nothing, a full table rolls everything back, and a random walk of
 * configurations matches tables built from scratch (a naive reference).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "../test_eal.h"
#include "control/config.h"
#include "control/engine.h"
#include "control/reload.h"
#include "control/tables.h"
#include "crypto/clock.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

enum { NKEYS = 12, QMAX = 64, B64 = 45 };

static struct rte_rcu_qsbr *rcu;
static unsigned int name_seq;

/* Keys made once: the device (two identities), peers P0..P11, two pre-shared keys. */
static uint8_t dev_priv[2][32], dev_pub[2][32];
static uint8_t peer_priv[NKEYS][32], peer_pub[NKEYS][32];
static char dev_priv64[2][B64], peer_pub64[NKEYS][B64], psk64[2][B64];
static uint8_t psk[2][32];

static void
b64(char out[B64], const uint8_t key[32])
{
	sodium_bin2base64(out, B64, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

static void
make_keys(void)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		wg_x25519_generate(dev_priv[i]);
		if (!wg_x25519_public(dev_pub[i], dev_priv[i]))
			abort();
		b64(dev_priv64[i], dev_priv[i]);
		wg_random_bytes(psk[i], 32);
		b64(psk64[i], psk[i]);
	}
	for (i = 0; i < NKEYS; i++) {
		wg_x25519_generate(peer_priv[i]);
		if (!wg_x25519_public(peer_pub[i], peer_priv[i]))
			abort();
		b64(peer_pub64[i], peer_pub[i]);
	}
}

/* ---- configurations as text ---- */

struct text {
	char buf[16384];
	size_t len;
};

static void __attribute__((format(printf, 2, 3)))
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(t->buf) - t->len);
	t->len += (size_t)n;
}

struct iface {
	int key;		/* dev_priv index */
	int port;
	int mtu;
	const char *wan;	/* device */
	int no_idle;		/* 1: dpdk.idle-backoff: false */
};

static const struct iface IFACE0 = { 0, 51820, 1420, "net_null0" };

static void
head(struct text *t, const struct iface *f)
{
	t->len = 0;
	put(t, "version: 1\ninterface:\n  private-key: %s\n  listen-port: %d\n  mtu: %d\n"
		"ports:\n  wan: { device: %s, address: [198.51.100.1/24] }\n"
		"  lan: { device: net_null1, address: [10.0.0.1/24] }\n",
		dev_priv64[f->key], f->port, f->mtu, f->wan);
	if (f->no_idle)
		put(t, "dpdk:\n  idle-backoff: false\n");
	put(t, "peers:\n");
}

/* One peer: allowed is a flow list without brackets ("" for none). */
static void
peer(struct text *t, int key, const char *name, int psk_no, const char *endpoint, int ka,
	const char *allowed)
{
	put(t, "  - public-key: %s\n", peer_pub64[key]);
	if (name != NULL)
		put(t, "    name: %s\n", name);
	if (psk_no >= 0)
		put(t, "    preshared-key: %s\n", psk64[psk_no]);
	if (endpoint != NULL)
		put(t, "    endpoint: \"%s\"\n", endpoint);
	if (ka != 0)
		put(t, "    persistent-keepalive: %d\n", ka);
	put(t, "    allowed-ips: [%s]\n", allowed);
}

static struct wg_conf *
load_text(const struct text *t)
{
	struct wg_conf *conf = NULL;
	char *msgs = NULL;
	size_t size = 0;
	FILE *err = open_memstream(&msgs, &size);
	int ret;

	assert_non_null(err);
	ret = wg_config_load_buffer("r.yaml", t->buf, t->len, 0, &conf, err);
	fclose(err);
	if (ret != 0)
		fail_msg("config: %s", msgs);
	free(msgs);
	return conf;
}

/* ---- the device under reload (side A) and a remote WireGuard (side B) ---- */

struct msg {
	int to;
	size_t len;
	uint8_t buf[160];
};

struct rig {
	struct wg_tables t;
	struct wg_engine *e;
	struct wg_conf *conf;
	/* B: plays peer P0 */
	struct wg_peers *b_peers;
	struct wg_engine *b;
	struct wg_peer *b_peer;
	struct msg q[QMAX];
	unsigned int qh, qt;
	unsigned int sent_other;	/* A's messages to peers other than P0 */
	unsigned int staged_sent;
};

static struct rig *the_rig;

static void
push(struct rig *r, int to, const void *m, size_t len)
{
	struct msg *x;

	assert_true(r->qt - r->qh < QMAX && len <= sizeof(x->buf));
	x = &r->q[r->qt++ % QMAX];
	x->to = to;
	x->len = len;
	memcpy(x->buf, m, len);
}

static void
a_send(void *arg, struct wg_peer *p, const void *m, size_t len)
{
	struct rig *r = arg;

	if (r->b != NULL && wg_ct_equal(p->public_key, peer_pub[0], 32))
		push(r, 1, m, len);
	else
		r->sent_other++;
}

static void
b_send(void *arg, struct wg_peer *p, const void *m, size_t len)
{
	(void)p;
	push(arg, 0, m, len);
}

static void
send_to(void *arg, const struct wg_endpoint *dst, const void *m, size_t len)
{
	(void)arg;
	(void)dst;
	(void)m;
	(void)len;
}

static void
send_staged(void *arg, struct wg_peer *p, void *pkt)
{
	struct rig *r = arg;

	(void)p;
	r->staged_sent++;
	free(pkt);
}

static void
free_pkt(void *arg, struct wg_peer *peer, void *pkt)
{
	(void)arg;
	(void)peer;
	free(pkt);
}

static const struct wg_engine_ops a_ops = { a_send, send_to, send_staged, free_pkt };
static const struct wg_engine_ops b_ops = { b_send, send_to, send_staged, free_pkt };

static void
pump(struct rig *r)
{
	static const struct wg_endpoint a_addr = { AF_INET, 51820, { 198, 51, 100, 1 } };
	static const struct wg_endpoint b_addr = { AF_INET, 51820, { 192, 0, 2, 10 } };
	struct msg m;

	while (r->qh != r->qt) {
		m = r->q[r->qh++ % QMAX];
		if (m.to == 1)
			wg_engine_handshake_rx(r->b, m.buf, m.len, &a_addr, 0);
		else
			wg_engine_handshake_rx(r->e, m.buf, m.len, &b_addr, 0);
	}
}

static int
adopt(struct wg_peer *p, void *arg)
{
	return wg_engine_peer_adopt(arg, p);
}

static void
tables_for(struct rig *r, struct wg_tables_params *tp)
{
	char name[12];

	snprintf(name, sizeof(name), "rt%u", name_seq++);
	tp->name = name;
	tp->rcu = rcu;
	assert_int_equal(wg_tables_build(&r->t, r->conf, tp), 0);
}

static void
engine_for(struct rig *r)
{
	struct wg_engine_params ep = { .rcu = rcu, .ops = &a_ops };
	char name[12];

	snprintf(name, sizeof(name), "re%u", name_seq++);
	ep.name = name;
	ep.ops_arg = r;
	ep.peers = r->t.peers;
	ep.allowedips = r->t.allowedips;
	r->e = wg_engine_create(&ep);
	assert_non_null(r->e);
	assert_int_equal(wg_engine_set_private_key(r->e, r->conf->private_key), 0);
	assert_int_equal(wg_peers_foreach(r->t.peers, adopt, r->e), 0);
}

/* B knows A (device identity key_no) and has P0's private key. */
static void
remote_for(struct rig *r, int key_no)
{
	struct wg_peers_params pp = { .rcu = rcu, .max_peers = 8 };
	struct wg_engine_params ep = { .rcu = rcu, .ops = &b_ops };
	struct wg_conf_peer cp;
	char pname[12], ename[12];

	snprintf(pname, sizeof(pname), "rbp%u", name_seq);
	snprintf(ename, sizeof(ename), "rb%u", name_seq++);
	pp.name = pname;
	r->b_peers = wg_peers_create(&pp);
	assert_non_null(r->b_peers);
	ep.name = ename;
	ep.peers = r->b_peers;
	ep.ops_arg = r;
	r->b = wg_engine_create(&ep);
	assert_non_null(r->b);
	assert_int_equal(wg_engine_set_private_key(r->b, peer_priv[0]), 0);
	memset(&cp, 0, sizeof(cp));
	memcpy(cp.public_key, dev_pub[key_no], 32);
	assert_int_equal(wg_engine_peer_add(r->b, &cp, &r->b_peer), 0);
}

static struct rig *
rig_new(const struct text *t, struct wg_tables_params *tp)
{
	struct wg_tables_params dflt = { 0 };
	struct rig *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->conf = load_text(t);
	tables_for(r, tp != NULL ? tp : &dflt);
	engine_for(r);
	remote_for(r, 0);
	the_rig = r;
	return r;
}

static void
rig_free(struct rig *r)
{
	wg_engine_free(r->b);
	wg_peers_free(r->b_peers);
	wg_engine_free(r->e);
	wg_tables_free(&r->t);
	wg_config_free(r->conf);
	free(r);
	the_rig = NULL;
}

static struct wg_peer *
live(const struct rig *r, int key)
{
	return wg_peers_lookup(r->t.peers, peer_pub[key]);
}

/* A sends to P0: initiation, response, and A holds a current keypair. */
static struct noise_keypair *
handshake(struct rig *r)
{
	struct wg_peer *p = live(r, 0);

	wg_engine_stage(r->e, p, malloc(16));
	pump(r);
	assert_int_equal(r->staged_sent, 1);
	assert_non_null(wg_noise_keypairs_current(&p->keypairs));
	return wg_noise_keypairs_current(&p->keypairs);
}

/* Apply text over r's configuration; the new one becomes r's on success. */
static int
reload(struct rig *r, const struct text *t, struct wg_reload_stats *st, char **log)
{
	struct wg_conf *next = load_text(t);
	size_t size = 0;
	FILE *f = open_memstream(log, &size);
	int ret;

	assert_non_null(f);
	ret = wg_reload_apply(r->e, &r->t, r->conf, next, st, f);
	fclose(f);
	if (ret >= 0) {
		wg_config_free(r->conf);
		r->conf = next;
	} else {
		wg_config_free(next);
	}
	return ret;
}

static uint32_t
v4(const struct rig *r, const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return wg_allowedips_lookup4(r->t.allowedips, a.s_addr);
}

static uint32_t
v6(const struct rig *r, const char *s)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	return wg_allowedips_lookup6(r->t.allowedips, a);
}

static int
count_cb(const struct wg_prefix *prefix, void *arg)
{
	(void)prefix;
	(*(unsigned int *)arg)++;
	return 0;
}

static unsigned int
n_prefixes(const struct rig *r, uint32_t id)
{
	unsigned int n = 0;

	assert_int_equal(wg_allowedips_list(r->t.allowedips, id, count_cb, &n), 0);
	return n;
}

static unsigned int
lines(const char *s)
{
	unsigned int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* The first configuration of most tests: P0, P1, P2. */
static void
conf_v1(struct text *t, const struct iface *f)
{
	head(t, f);
	peer(t, 0, "a", -1, "192.0.2.10:51820", 0, "10.1.0.0/24, \"fd00:a::/64\"");
	peer(t, 1, "b", 0, "[2001:db8::10]:51821", 0, "10.2.0.0/16, 10.3.0.5/32");
	peer(t, 2, "c", -1, NULL, 0, "10.4.0.0/24, \"fd00:c::/64\"");
}

/* P0 unchanged; P1 changed in every field and gives 10.3.0.5/32 to the new P3;
 * P2 removed, its 10.4.0.0/24 moving to P3 too. */
static void
conf_v2(struct text *t, const struct iface *f)
{
	head(t, f);
	peer(t, 0, "a", -1, "192.0.2.10:51820", 0, "10.1.0.0/24, \"fd00:a::/64\"");
	peer(t, 1, "b2", 1, "192.0.2.20:51822", 25, "10.2.0.0/16, 10.5.0.0/24");
	peer(t, 3, "d", -1, NULL, 0, "10.3.0.5/32, 10.4.0.0/24");
}

/* ---- tests ---- */

static void
test_session_survives_and_diff_applied(void **state)
{
	struct wg_peer *a, *b, *c, *d;
	struct noise_keypair *kp;
	struct wg_reload_stats st;
	struct wg_endpoint ep;
	uint64_t ctr, ctr2, hs_sec, tx;
	uint32_t a_id, c_id;
	char *log = NULL;
	struct text t;
	struct rig *r;

	(void)state;
	conf_v1(&t, &IFACE0);
	r = rig_new(&t, NULL);
	kp = handshake(r);
	a = live(r, 0);
	b = live(r, 1);
	c = live(r, 2);
	a_id = a->id;
	c_id = c->id;
	assert_true(wg_noise_keypair_nonce_reserve(kp, 3, &ctr));
	hs_sec = a->last_handshake_sec;
	assert_int_not_equal(hs_sec, 0);
	wg_peer_count_tx(a, 3, 300);
	tx = a->wk.tx_packets;
	assert_int_equal(v4(r, "10.3.0.5"), b->id);
	assert_int_equal(v4(r, "10.4.0.9"), c_id);

	conf_v2(&t, &IFACE0);
	assert_int_equal(reload(r, &t, &st, &log), 0);
	/* One summary line, exact counts. */
	assert_int_equal(lines(log), 1);
	assert_non_null(strstr(log, "r.yaml: reloaded: 1 peers added, 1 removed, 1 updated, "
		"1 unchanged; allowed IPs 3 added (2 moved), 0 removed"));
	free(log);
	assert_int_equal(st.peers_added, 1);
	assert_int_equal(st.peers_removed, 1);
	assert_int_equal(st.peers_updated, 1);
	assert_int_equal(st.peers_unchanged, 1);
	assert_int_equal(st.prefixes_added, 3);
	assert_int_equal(st.prefixes_moved, 2);
	assert_int_equal(st.prefixes_removed, 0);
	assert_int_equal(st.endpoints_set, 1);
	assert_int_equal(st.psks_set, 1);
	assert_int_equal(st.keepalives_set, 1);
	assert_int_equal(st.names_set, 1);
	assert_false(st.private_key_changed);
	assert_int_equal(st.failed, 0);

	/* P0 untouched: same peer, same keypair, counters go on. */
	assert_ptr_equal(live(r, 0), a);
	assert_int_equal(a->id, a_id);
	assert_ptr_equal(wg_noise_keypairs_current(&a->keypairs), kp);
	assert_true(wg_noise_keypair_send_usable(kp, wg_clock_now()));
	assert_true(wg_noise_keypair_nonce_reserve(kp, 1, &ctr2));
	assert_int_equal(ctr2, ctr + 3);
	assert_int_equal(a->last_handshake_sec, hs_sec);
	assert_int_equal(a->wk.tx_packets, tx);
	assert_int_equal(v4(r, "10.1.0.7"), a_id);
	assert_int_equal(v6(r, "fd00:a::1"), a_id);

	/* P1 updated in place. */
	assert_ptr_equal(live(r, 1), b);
	assert_string_equal(b->name, "b2");
	assert_true(b->has_psk);
	assert_memory_equal(b->preshared_key, psk[1], 32);
	assert_int_equal(b->persistent_keepalive, 25);
	assert_int_equal(b->endpoint.family, AF_INET);
	assert_int_equal(b->endpoint.port, 51822);
	assert_true(wg_peer_endpoint_read(b, &ep));
	assert_int_equal(ep.port, 51822);
	assert_int_equal(ep.addr[3], 20);
	/* keepalive 0 -> 25 sends at once: no session, so an initiation (not to P0). */
	assert_int_equal(r->sent_other, 1);
	assert_int_equal(v4(r, "10.2.9.9"), b->id);
	assert_int_equal(v4(r, "10.5.0.1"), b->id);
	assert_int_equal(n_prefixes(r, b->id), 2);

	/* P2 gone with its prefixes; P3 routable, with the prefixes moved to it. */
	assert_null(live(r, 2));
	d = live(r, 3);
	assert_non_null(d);
	assert_string_equal(d->name, "d");
	assert_int_equal(v4(r, "10.3.0.5"), d->id);
	assert_int_equal(v4(r, "10.4.0.9"), d->id);
	assert_int_equal(v6(r, "fd00:c::1"), WG_ALLOWEDIPS_NO_PEER);
	assert_int_equal(n_prefixes(r, d->id), 2);
	assert_int_equal(wg_peers_count(r->t.peers), 3);
	assert_int_equal(wg_allowedips_count(r->t.allowedips), 6);

	/* The same file again: nothing to do. */
	assert_int_equal(reload(r, &t, &st, &log), 0);
	free(log);
	assert_int_equal(st.peers_unchanged, 3);
	assert_int_equal(st.peers_added + st.peers_removed + st.peers_updated, 0);
	assert_int_equal(st.prefixes_added + st.prefixes_removed, 0);
	assert_ptr_equal(wg_noise_keypairs_current(&a->keypairs), kp);
	rig_free(r);
}

static void
test_roamed_endpoint_kept(void **state)
{
	struct wg_engine_event ev = { 0 };
	struct wg_endpoint roamed = { AF_INET, 40000, { 203, 0, 113, 7 } }, ep;
	struct wg_reload_stats st;
	char *log = NULL;
	struct wg_peer *a;
	struct text t;
	struct rig *r;

	(void)state;
	conf_v1(&t, &IFACE0);
	r = rig_new(&t, NULL);
	handshake(r);
	a = live(r, 0);
	/* A worker saw an authenticated packet from elsewhere: roaming. */
	ev.peer_id = a->id;
	ev.bits = WG_PEER_EV_AUTH_RX | WG_PEER_EV_ENDPOINT;
	assert_true(wg_engine_post(a, ev.bits, wg_clock_now(), &roamed, NULL));
	wg_engine_worker_event(r->e, &ev);
	assert_true(wg_peer_endpoint_read(a, &ep));
	assert_int_equal(ep.port, 40000);

	/* Reload changing another peer: P0's roamed endpoint stays. */
	head(&t, &IFACE0);
	peer(&t, 0, "a", -1, "192.0.2.10:51820", 0, "10.1.0.0/24, \"fd00:a::/64\"");
	peer(&t, 1, "b", 0, "[2001:db8::10]:51821", 0, "10.2.0.0/16");
	peer(&t, 2, "c", -1, NULL, 0, "10.4.0.0/24, \"fd00:c::/64\"");
	assert_int_equal(reload(r, &t, &st, &log), 0);
	free(log);
	assert_int_equal(st.endpoints_set, 0);
	assert_int_equal(st.prefixes_removed, 1);
	assert_int_equal(st.peers_updated, 1);
	assert_int_equal(v4(r, "10.3.0.5"), WG_ALLOWEDIPS_NO_PEER);
	assert_true(wg_peer_endpoint_read(a, &ep));
	assert_int_equal(ep.port, 40000);

	/* Endpoint deleted from the file: the live one stays (wg syncconf). */
	head(&t, &IFACE0);
	peer(&t, 0, "a", -1, NULL, 0, "10.1.0.0/24, \"fd00:a::/64\"");
	peer(&t, 1, "b", 0, "[2001:db8::10]:51821", 0, "10.2.0.0/16");
	peer(&t, 2, "c", -1, NULL, 0, "10.4.0.0/24, \"fd00:c::/64\"");
	assert_int_equal(reload(r, &t, &st, &log), 0);
	free(log);
	assert_int_equal(st.endpoints_set, 0);
	assert_true(wg_peer_endpoint_read(a, &ep));
	assert_int_equal(ep.port, 40000);

	/* The configured endpoint changed: it replaces the roamed one. */
	head(&t, &IFACE0);
	peer(&t, 0, "a", -1, "192.0.2.11:51823", 0, "10.1.0.0/24, \"fd00:a::/64\"");
	peer(&t, 1, "b", 0, "[2001:db8::10]:51821", 0, "10.2.0.0/16");
	peer(&t, 2, "c", -1, NULL, 0, "10.4.0.0/24, \"fd00:c::/64\"");
	assert_int_equal(reload(r, &t, &st, &log), 0);
	free(log);
	assert_int_equal(st.endpoints_set, 1);
	assert_true(wg_peer_endpoint_read(a, &ep));
	assert_int_equal(ep.port, 51823);
	assert_int_equal(ep.addr[3], 11);
	rig_free(r);
}

/* What the file did not change stays as it is live (wg set, UAPI). */
static void
test_live_changes_kept(void **state)
{
	struct wg_prefix moved = { .family = AF_INET, .len = 32, .addr = { 10, 3, 0, 5 } };
	struct wg_conf_peer extra;
	struct wg_reload_stats st;
	struct wg_peer *b, *c, *x;
	char *log = NULL;
	struct text t;
	struct rig *r;

	(void)state;
	conf_v1(&t, &IFACE0);
	r = rig_new(&t, NULL);
	b = live(r, 1);
	c = live(r, 2);
	/* Live changes: b's psk removed, b's /32 moved to c, a peer in no file added. */
	wg_engine_peer_set_psk(r->e, b, NULL);
	assert_int_equal(wg_allowedips_insert(r->t.allowedips, c->id, &moved), 0);
	memset(&extra, 0, sizeof(extra));
	memcpy(extra.public_key, peer_pub[9], 32);
	assert_int_equal(wg_engine_peer_add(r->e, &extra, &x), 0);

	/* The file changes only a's keepalive. */
	head(&t, &IFACE0);
	peer(&t, 0, "a", -1, "192.0.2.10:51820", 5, "10.1.0.0/24, \"fd00:a::/64\"");
	peer(&t, 1, "b", 0, "[2001:db8::10]:51821", 0, "10.2.0.0/16, 10.3.0.5/32");
	peer(&t, 2, "c", -1, NULL, 0, "10.4.0.0/24, \"fd00:c::/64\"");
	assert_int_equal(reload(r, &t, &st, &log), 0);
	free(log);
	assert_int_equal(st.peers_updated, 1);
	assert_int_equal(st.keepalives_set, 1);
	assert_int_equal(st.prefixes_added + st.prefixes_removed + st.psks_set, 0);
	assert_false(b->has_psk);
	assert_int_equal(v4(r, "10.3.0.5"), c->id);
	assert_ptr_equal(live(r, 9), x);

	/* The file now drops b's /32: c keeps it (not b's to remove). */
	head(&t, &IFACE0);
	peer(&t, 0, "a", -1, "192.0.2.10:51820", 5, "10.1.0.0/24, \"fd00:a::/64\"");
	peer(&t, 1, "b", 0, "[2001:db8::10]:51821", 0, "10.2.0.0/16");
	peer(&t, 2, "c", -1, NULL, 0, "10.4.0.0/24, \"fd00:c::/64\"");
	assert_int_equal(reload(r, &t, &st, &log), 0);
	free(log);
	assert_int_equal(st.prefixes_removed, 0);
	assert_int_equal(v4(r, "10.3.0.5"), c->id);

	/* A peer in the table but not the old file, written into the new one: taken over. */
	peer(&t, 9, "nine", 1, NULL, 0, "10.9.0.0/24");
	assert_int_equal(reload(r, &t, &st, &log), 0);
	free(log);
	assert_int_equal(st.peers_added, 0);
	assert_int_equal(st.peers_updated, 1);
	assert_ptr_equal(live(r, 9), x);
	assert_string_equal(x->name, "nine");
	assert_true(x->has_psk);
	assert_int_equal(v4(r, "10.9.0.1"), x->id);
	rig_free(r);
}

/* Everything a test can observe of the tables, to compare before and after. */
struct snapshot {
	uint32_t peers, prefixes;
	struct wg_peer *p[NKEYS];
	uint32_t route[6];
	uint16_t ka[NKEYS];
	bool has_psk[NKEYS];
	char name[NKEYS][16];
};

static void
snap(const struct rig *r, struct snapshot *s)
{
	static const char *addrs[] = { "10.1.0.1", "10.2.0.1", "10.3.0.5", "10.4.0.1",
		"10.5.0.1", "10.6.0.1" };
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->peers = wg_peers_count(r->t.peers);
	s->prefixes = wg_allowedips_count(r->t.allowedips);
	for (i = 0; i < NKEYS; i++) {
		s->p[i] = live(r, (int)i);
		if (s->p[i] == NULL)
			continue;
		s->ka[i] = s->p[i]->persistent_keepalive;
		s->has_psk[i] = s->p[i]->has_psk;
		snprintf(s->name[i], sizeof(s->name[i]), "%s",
			s->p[i]->name != NULL ? s->p[i]->name : "");
	}
	for (i = 0; i < RTE_DIM(addrs); i++)
		s->route[i] = v4(r, addrs[i]);
}

static void
assert_same(const struct snapshot *a, const struct snapshot *b)
{
	assert_memory_equal(a, b, sizeof(*a));
}

static void
test_bad_file_changes_nothing(void **state)
{
	char path[] = "/tmp/wg-test-reload.XXXXXX";
	struct snapshot before, after;
	struct wg_reload_stats st;
	struct wg_conf *cur;
	char *log = NULL;
	size_t size = 0;
	struct text t;
	struct rig *r;
	FILE *f, *lf;
	int fd;

	(void)state;
	conf_v1(&t, &IFACE0);
	r = rig_new(&t, NULL);
	snap(r, &before);
	cur = r->conf;

	/* A good new peer, then a bad prefix further down: the loader refuses the file. */
	conf_v2(&t, &IFACE0);
	put(&t, "  - public-key: %s\n    allowed-ips: [10.9.0.0/33]\n", peer_pub64[5]);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(t.buf, 1, t.len, f), t.len);
	fclose(f);
	lf = open_memstream(&log, &size);
	assert_int_equal(wg_reload_file(r->e, &r->t, path, &r->conf, &st, lf), -EINVAL);
	fclose(lf);
	assert_int_equal(lines(log), 1);
	assert_non_null(strstr(log, path));
	assert_non_null(strstr(log, "allowed-ips[0]"));
	assert_null(strstr(log, dev_priv64[0]));
	free(log);
	assert_ptr_equal(r->conf, cur);
	snap(r, &after);
	assert_same(&before, &after);

	/* A missing file: the same. */
	log = NULL;
	lf = open_memstream(&log, &size);
	assert_int_equal(wg_reload_file(r->e, &r->t, "/nonexistent/wg.yaml", &r->conf, &st, lf),
		-EINVAL);
	fclose(lf);
	assert_int_equal(lines(log), 1);
	free(log);
	snap(r, &after);
	assert_same(&before, &after);

	/* The same file fixed: applied, and the configuration replaced. */
	conf_v2(&t, &IFACE0);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(t.buf, 1, t.len, f), t.len);
	fclose(f);
	assert_int_equal(wg_reload_file(r->e, &r->t, path, &r->conf, &st, NULL), 0);
	assert_ptr_not_equal(r->conf, cur);
	assert_int_equal(st.peers_added, 1);
	assert_int_equal(v4(r, "10.3.0.5"), live(r, 3)->id);
	unlink(path);
	rig_free(r);
}

static void
test_interface_change_refused(void **state)
{
	static const struct {
		struct iface f;
		const char *what;
	} cases[] = {
		{ { 0, 51821, 1420, "net_null0" }, "interface.listen-port changed" },
		{ { 0, 51820, 1400, "net_null0" }, "interface.mtu changed" },
		{ { 0, 51820, 1420, "net_null7" }, "ports.wan changed" },
		{ { 0, 51820, 1420, "net_null0", 1 }, "dpdk.idle-backoff changed" },
		{ { 0, 51821, 1400, "net_null0" }, "interface.listen-port, interface.mtu changed" },
	};
	struct snapshot before, after;
	struct wg_reload_stats st;
	char *log = NULL;
	struct text t;
	struct rig *r;
	unsigned int i;

	(void)state;
	conf_v1(&t, &IFACE0);
	r = rig_new(&t, NULL);
	snap(r, &before);
	for (i = 0; i < RTE_DIM(cases); i++) {
		/* The peer changes of v2 come with it: refused as well. */
		conf_v2(&t, &cases[i].f);
		assert_int_equal(reload(r, &t, &st, &log), -ENOTSUP);
		assert_int_equal(lines(log), 1);
		assert_non_null(strstr(log, "r.yaml: reload refused (nothing changed): "));
		assert_non_null(strstr(log, cases[i].what));
		assert_non_null(strstr(log, "need a restart"));
		free(log);
		assert_int_equal(st.peers_added + st.peers_removed + st.peers_updated, 0);
		snap(r, &after);
		assert_same(&before, &after);
	}
	rig_free(r);
}

static void
test_private_key_change(void **state)
{
	struct iface f = IFACE0;
	struct wg_reload_stats st;
	struct noise_keypair *kp;
	uint8_t pub[32];
	char *log = NULL;
	struct wg_peer *a;
	struct text t;
	struct rig *r;

	(void)state;
	conf_v1(&t, &IFACE0);
	r = rig_new(&t, NULL);
	kp = handshake(r);
	a = live(r, 0);
	f.key = 1;
	conf_v1(&t, &f);
	assert_int_equal(reload(r, &t, &st, &log), 0);
	assert_non_null(strstr(log, "private key changed"));
	free(log);
	assert_true(st.private_key_changed);
	assert_int_equal(st.peers_unchanged, 3);
	assert_true(wg_engine_public_key(r->e, pub));
	assert_memory_equal(pub, dev_pub[1], 32);
	/* §8.4: the peer stays, its current keypair stops sending. */
	assert_ptr_equal(live(r, 0), a);
	assert_true(wg_noise_keypairs_current(&a->keypairs) == NULL ||
		!wg_noise_keypair_send_usable(kp, wg_clock_now()));

	/* A new session with the new identity. */
	wg_engine_free(r->b);
	wg_peers_free(r->b_peers);
	remote_for(r, 1);
	r->staged_sent = 0;
	kp = handshake(r);
	assert_true(wg_noise_keypair_send_usable(kp, wg_clock_now()));
	rig_free(r);
}

/* A peer whose key was our old identity is added after the key change. */
static void
test_key_swap_with_peer(void **state)
{
	struct iface f = IFACE0;
	struct wg_reload_stats st;
	char *log = NULL;
	struct text t;
	struct rig *r;
	char old_pub64[B64];

	(void)state;
	conf_v1(&t, &IFACE0);
	r = rig_new(&t, NULL);
	b64(old_pub64, dev_pub[0]);
	f.key = 1;
	conf_v1(&t, &f);
	put(&t, "  - public-key: %s\n    name: old-self\n    allowed-ips: [10.6.0.0/24]\n",
		old_pub64);
	assert_int_equal(reload(r, &t, &st, &log), 0);
	free(log);
	assert_int_equal(st.peers_added, 1);
	assert_int_equal(st.failed, 0);
	assert_non_null(wg_peers_lookup(r->t.peers, dev_pub[0]));
	assert_int_equal(v4(r, "10.6.0.1"), wg_peers_lookup(r->t.peers, dev_pub[0])->id);
	rig_free(r);
}

static void
test_full_table_rolls_back(void **state)
{
	struct wg_tables_params tp = { .max_peers = 4 };
	struct snapshot before, after;
	struct wg_reload_stats st;
	struct noise_keypair *kp;
	char *log = NULL;
	struct text t;
	struct rig *r;

	(void)state;
	conf_v1(&t, &IFACE0);
	r = rig_new(&t, &tp);
	kp = handshake(r);
	snap(r, &before);
	/* Two new peers, room for one; the first takes prefixes from b and c. */
	head(&t, &IFACE0);
	peer(&t, 0, "a", -1, "192.0.2.10:51820", 0, "10.1.0.0/24, \"fd00:a::/64\"");
	peer(&t, 1, "b", 0, "[2001:db8::10]:51821", 9, "10.2.0.0/16");
	peer(&t, 3, "d", -1, NULL, 0, "10.3.0.5/32, 10.4.0.0/24, 10.6.0.0/24");
	peer(&t, 4, "e", -1, NULL, 0, "10.7.0.0/24");
	assert_int_equal(reload(r, &t, &st, &log), -ENOSPC);
	assert_int_equal(lines(log), 1);
	assert_non_null(strstr(log, "reload failed (nothing changed): cannot add peer e: "
		"peer table full"));
	free(log);
	snap(r, &after);
	assert_same(&before, &after);
	assert_int_equal(live(r, 1)->persistent_keepalive, 0);
	assert_ptr_equal(wg_noise_keypairs_current(&live(r, 0)->keypairs), kp);

	/* Room for d alone (its moves undone by the rollback above work again). */
	head(&t, &IFACE0);
	peer(&t, 0, "a", -1, "192.0.2.10:51820", 0, "10.1.0.0/24, \"fd00:a::/64\"");
	peer(&t, 1, "b", 0, "[2001:db8::10]:51821", 0, "10.2.0.0/16, 10.3.0.5/32");
	peer(&t, 2, "c", -1, NULL, 0, "10.4.0.0/24, \"fd00:c::/64\"");
	peer(&t, 3, "d", -1, NULL, 0, "10.6.0.0/24");
	wg_peers_reclaim(r->t.peers);
	assert_int_equal(reload(r, &t, &st, &log), 0);
	free(log);
	assert_int_equal(v4(r, "10.6.0.1"), live(r, 3)->id);
	rig_free(r);
}

/* An allowed-IPs table too small for the new /32s: the move done before is undone. */
static void
test_full_prefix_table_rolls_back(void **state)
{
	struct wg_allowedips_params ap = { .rcu = rcu, .v4_hosts = 16, .v4_rules = 64,
		.v4_tbl8s = 64, .v6_hosts = 16, .v6_groups = 64 };
	struct snapshot before, after;
	struct wg_reload_stats st;
	struct wg_allowedips *big;
	char *log = NULL, name[12];
	struct text t;
	struct rig *r;
	unsigned int i;

	(void)state;
	conf_v1(&t, &IFACE0);
	r = rig_new(&t, NULL);
	/* Swap in a small allowed-IPs table holding the same routes. */
	snprintf(name, sizeof(name), "ra%u", name_seq++);
	ap.name = name;
	big = r->t.allowedips;
	r->t.allowedips = wg_allowedips_create(&ap);
	assert_non_null(r->t.allowedips);
	for (i = 0; i < r->conf->n_peers; i++) {
		const struct wg_conf_peer *cp = &r->conf->peers[i];
		uint32_t k;

		for (k = 0; k < cp->n_allowed; k++)
			assert_int_equal(wg_allowedips_insert(r->t.allowedips,
				live(r, (int)i)->id, &cp->allowed[k]), 0);
	}
	snap(r, &before);
	head(&t, &IFACE0);
	peer(&t, 0, "a", -1, "192.0.2.10:51820", 0, "10.1.0.0/24, \"fd00:a::/64\"");
	peer(&t, 1, "b", 0, "[2001:db8::10]:51821", 0, "10.2.0.0/16");
	peer(&t, 2, "c", -1, NULL, 0, "10.4.0.0/24, \"fd00:c::/64\"");
	put(&t, "  - public-key: %s\n    allowed-ips: [10.3.0.5/32", peer_pub64[3]);
	for (i = 0; i < 200; i++)
		put(&t, ", 10.8.%u.%u/32", i / 100, i % 100);
	put(&t, "]\n");
	assert_int_equal(reload(r, &t, &st, &log), -ENOSPC);
	assert_int_equal(lines(log), 1);
	assert_non_null(strstr(log, "reload failed (nothing changed)"));
	assert_non_null(strstr(log, "allowed-IPs table full"));
	free(log);
	snap(r, &after);
	assert_same(&before, &after);
	assert_int_equal(v4(r, "10.3.0.5"), live(r, 1)->id);
	assert_int_equal(v4(r, "10.8.0.1"), WG_ALLOWEDIPS_NO_PEER);
	wg_allowedips_free(r->t.allowedips);
	r->t.allowedips = big;
	rig_free(r);
}

static void
test_sighup_flag(void **state)
{
	(void)state;
	assert_false(wg_reload_pending());
	wg_reload_request();
	wg_reload_request();
	assert_true(wg_reload_pending());
	assert_false(wg_reload_pending());
	assert_int_equal(wg_reload_sighup_install(), 0);
	assert_int_equal(raise(SIGHUP), 0);
	assert_true(wg_reload_pending());
	assert_false(wg_reload_pending());
	signal(SIGHUP, SIG_DFL);
}

/* ---- differential: random reloads against tables built from scratch ---- */

static const char *const pool[] = {
	"10.0.1.1/32", "10.0.1.2/32", "10.0.1.3/32", "10.0.2.0/24", "10.0.3.0/24", "10.1.0.0/16",
	"10.2.0.0/16", "10.3.0.0/20", "10.4.0.0/25", "10.5.0.0/30", "172.16.0.0/12",
	"192.168.1.0/24", "0.0.0.0/0", "10.0.0.0/8", "\"fd00::1/128\"", "\"fd00::2/128\"",
	"\"fd00:1::/64\"", "\"fd00:2::/64\"", "\"fd00:3::/48\"", "\"fd00::/16\"", "\"::/0\"",
	"\"2001:db8::/32\"", "\"fd00:4::/96\"", "\"fd00:5::/120\"",
};
#define NPOOL RTE_DIM(pool)

struct want {
	bool present;
	struct wg_endpoint ep;		/* configured endpoint (kept when deleted) */
};

static const char *const endpoints[] = { NULL, "192.0.2.1:1000", "[2001:db8::2]:2000" };
static const char *const names[] = { NULL, "x", "y" };

static void
random_conf(struct text *t, struct want *w)
{
	int owner[NPOOL];
	bool in[NKEYS];
	unsigned int i, k;

	head(t, &IFACE0);
	for (k = 0; k < NKEYS; k++)
		in[k] = wg_random_uniform(10) < 7;
	for (i = 0; i < NPOOL; i++) {
		owner[i] = -1;
		k = wg_random_uniform(NKEYS);
		if (in[k] && wg_random_uniform(10) < 7)
			owner[i] = (int)k;
	}
	for (k = 0; k < NKEYS; k++) {
		struct text al = { .len = 0 };
		unsigned int e = wg_random_uniform(3);

		al.buf[0] = '\0';
		if (!in[k]) {
			w[k].present = false;
			continue;
		}
		for (i = 0; i < NPOOL; i++)
			if (owner[i] == (int)k)
				put(&al, "%s%s", al.len != 0 ? ", " : "", pool[i]);
		peer(t, (int)k, names[wg_random_uniform(3)], (int)wg_random_uniform(3) - 1,
			endpoints[e], wg_random_uniform(2) != 0 ? 25 : 0, al.buf);
		if (!w[k].present || e != 0) {
			memset(&w[k].ep, 0, sizeof(w[k].ep));
			if (e == 1)
				w[k].ep = (struct wg_endpoint){ AF_INET, 1000, { 192, 0, 2, 1 } };
			if (e == 2)
				w[k].ep = (struct wg_endpoint){ AF_INET6, 2000,
					{ 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } };
		}
		w[k].present = true;
	}
}

static bool
str_eq_null(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

struct plist {
	unsigned int n;
	struct wg_prefix p[NPOOL];
};

static int
collect_cb(const struct wg_prefix *prefix, void *arg)
{
	struct plist *l = arg;

	assert_true(l->n < NPOOL);
	l->p[l->n++] = *prefix;
	return 0;
}

static int
prefix_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct wg_prefix));
}

static void
prefixes_of(const struct wg_tables *t, uint32_t id, struct plist *l)
{
	l->n = 0;
	assert_int_equal(wg_allowedips_list(t->allowedips, id, collect_cb, l), 0);
	qsort(l->p, l->n, sizeof(l->p[0]), prefix_cmp);
}

/* The reloaded tables against tables built from conf alone. */
static void
compare(const struct rig *r, const struct want *w)
{
	struct wg_tables_params tp = { .rcu = rcu };
	struct plist got, exp;
	struct wg_peer *x, *y;
	struct wg_tables ref;
	char name[12];
	unsigned int k, i;

	snprintf(name, sizeof(name), "rr%u", name_seq++);
	tp.name = name;
	assert_int_equal(wg_tables_build(&ref, r->conf, &tp), 0);
	assert_int_equal(wg_peers_count(r->t.peers), wg_peers_count(ref.peers));
	assert_int_equal(wg_allowedips_count(r->t.allowedips), wg_allowedips_count(ref.allowedips));
	for (k = 0; k < NKEYS; k++) {
		x = wg_peers_lookup(r->t.peers, peer_pub[k]);
		y = wg_peers_lookup(ref.peers, peer_pub[k]);
		assert_int_equal(x != NULL, w[k].present);
		assert_int_equal(y != NULL, w[k].present);
		if (x == NULL)
			continue;
		assert_int_equal(x->has_psk, y->has_psk);
		assert_memory_equal(x->preshared_key, y->preshared_key, 32);
		assert_int_equal(x->persistent_keepalive, y->persistent_keepalive);
		assert_true(str_eq_null(x->name, y->name));
		assert_memory_equal(&x->endpoint, &w[k].ep, sizeof(w[k].ep));
		prefixes_of(&r->t, x->id, &got);
		prefixes_of(&ref, y->id, &exp);
		assert_int_equal(got.n, exp.n);
		for (i = 0; i < got.n; i++)
			assert_memory_equal(&got.p[i], &exp.p[i], sizeof(got.p[i]));
	}
	wg_tables_free(&ref);
}

static void
test_random_reloads_match_fresh_build(void **state)
{
	struct wg_peer *before[NKEYS];
	struct want w[NKEYS];
	struct wg_reload_stats st;
	char *log = NULL;
	unsigned int round, k, kept = 0;
	struct text t;
	struct rig *r;

	(void)state;
	memset(w, 0, sizeof(w));
	random_conf(&t, w);
	r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->conf = load_text(&t);
	{
		struct wg_tables_params tp = { 0 };

		tables_for(r, &tp);
	}
	engine_for(r);
	compare(r, w);
	for (round = 0; round < 300; round++) {
		for (k = 0; k < NKEYS; k++)
			before[k] = live(r, (int)k);
		random_conf(&t, w);
		assert_int_equal(reload(r, &t, &st, &log), 0);
		free(log);
		compare(r, w);
		/* Peers in both files are the same objects. */
		for (k = 0; k < NKEYS; k++) {
			if (before[k] != NULL && w[k].present) {
				assert_ptr_equal(live(r, (int)k), before[k]);
				kept++;
			}
		}
		wg_peers_reclaim(r->t.peers);
		wg_allowedips_reclaim(r->t.allowedips);
	}
	printf("# 300 random reloads, %u kept peers checked\n", kept);
	assert_true(kept > 300);
	wg_engine_free(r->e);
	wg_tables_free(&r->t);
	wg_config_free(r->conf);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_survives_and_diff_applied),
		cmocka_unit_test(test_roamed_endpoint_kept),
		cmocka_unit_test(test_live_changes_kept),
		cmocka_unit_test(test_bad_file_changes_nothing),
		cmocka_unit_test(test_interface_change_refused),
		cmocka_unit_test(test_private_key_change),
		cmocka_unit_test(test_key_swap_with_peer),
		cmocka_unit_test(test_full_table_rolls_back),
		cmocka_unit_test(test_full_prefix_table_rolls_back),
		cmocka_unit_test(test_sighup_flag),
		cmocka_unit_test(test_random_reloads_match_fresh_build),
	};
	int ret;

	rcu = wg_test_eal_init("test_reload", "1024", 4);
	if (rcu == NULL)
		return 1;
	make_keys();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	wg_test_eal_fini(rcu);
	return ret;
}
