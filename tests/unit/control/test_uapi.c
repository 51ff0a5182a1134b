/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cross-platform UAPI against a real engine, peer table and allowed IPs:
 * requests through wg_uapi_process() with exact expected replies, every set
 * key, the allowed-IP operations checked against a naive model on random
 * sequences, malformed requests that must change nothing, and the socket
 * (wg's empty probe connection, two clients interleaved, a truncated request,
 * a live or stale socket at creation) in a temporary directory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "control/engine.h"
#include "control/tables.h"
#include "control/uapi.h"

#define K(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
/* The key pair of test_tables.c; the private key is already clamped. */
#define PRIV_HEX "00f032b2edf7f869e921fa34fa657722049b58b3eea24cb43421fb4b18393a4f"
#define PUB_HEX "6f1fdd90c36576eb200fa38dcc0e996feeddd1d1afecdb114c20da4bec9dc131"
/* All 0xff, and what the device keeps of it (clamped), and its public key. */
#define PRIV2_HEX K("ff")
#define PRIV2_CLAMPED_HEX "f8" "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" "7f"
#define PUB2_HEX "847c0d2c375234f365e660955187a3735a0f7613d1609d3a6a4d8c53aeaa5a22"
#define A_HEX K("11")
#define PSK_HEX K("22")
#define B_HEX K("33")
#define C_HEX K("44")

static struct rte_rcu_qsbr *rcu;
static unsigned int fx_no;
static unsigned int hook_calls;
static int hook_result;
static uint16_t hook_port;

struct fx {
	struct wg_tables t;
	struct wg_engine *e;
	struct wg_uapi *u;
	char dir[64];
	char name[16];
};

static void
op_send(void *arg, struct wg_peer *peer, const void *msg, size_t len)
{
	(void)arg;
	(void)peer;
	(void)msg;
	(void)len;
}

static void
op_send_to(void *arg, const struct wg_endpoint *dst, const void *msg, size_t len)
{
	(void)arg;
	(void)dst;
	(void)msg;
	(void)len;
}

static void
op_send_staged(void *arg, struct wg_peer *peer, void *pkt)
{
	(void)arg;
	(void)peer;
	(void)pkt;
}

static void
op_free_pkt(void *arg, struct wg_peer *peer, void *pkt)
{
	(void)arg;
	(void)peer;
	(void)pkt;
}

static const struct wg_engine_ops ops = {
	.send = op_send,
	.send_to = op_send_to,
	.send_staged = op_send_staged,
	.free_pkt = op_free_pkt,
};

static int
port_hook(void *arg, uint16_t port)
{
	(void)arg;
	hook_calls++;
	hook_port = port;
	return hook_result;
}

static struct fx *
fx_new(bool with_hook)
{
	struct wg_uapi_params up = { .listen_port = 51820, .poll_interval_us = 1 };
	struct wg_allowedips_params ap = { .rcu = rcu, .v4_rules = 1024, .v4_tbl8s = 256,
		.v4_hosts = 1024, .v6_groups = 256, .v6_hosts = 1024 };
	struct wg_peers_params pp = { .rcu = rcu, .max_peers = 1024 };
	struct wg_engine_params ep = { .rcu = rcu, .ops = &ops };
	struct fx *f = calloc(1, sizeof(*f));
	char name[16], err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_uapi.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(name, sizeof(name), "up%u", fx_no);
	pp.name = name;
	f->t.peers = wg_peers_create(&pp);
	snprintf(name, sizeof(name), "ua%u", fx_no);
	ap.name = name;
	f->t.allowedips = wg_allowedips_create(&ap);
	snprintf(name, sizeof(name), "ue%u", fx_no);
	ep.name = name;
	ep.peers = f->t.peers;
	ep.allowedips = f->t.allowedips;
	f->e = wg_engine_create(&ep);
	assert_non_null(f->t.peers);
	assert_non_null(f->t.allowedips);
	assert_non_null(f->e);
	snprintf(f->name, sizeof(f->name), "wgt%u", fx_no++);
	up.sock_dir = f->dir;
	if (with_hook)
		up.set_listen_port = port_hook;
	f->u = wg_uapi_create(f->name, f->e, &f->t, &up, err, sizeof(err));
	if (f->u == NULL)
		fail_msg("wg_uapi_create: %s", err);
	hook_calls = 0;
	hook_result = 0;
	return f;
}

static void
fx_free(struct fx *f)
{
	wg_uapi_free(f->u);
	wg_engine_free(f->e);
	wg_tables_free(&f->t);
	assert_int_equal(rmdir(f->dir), 0);	/* the socket file is gone */
	free(f);
}

/* Process text; the reply (caller frees) in *reply. Returns the errno of the reply. */
static int
req_n(struct fx *f, const char *text, size_t len, char **reply)
{
	size_t n;
	int ret;

	ret = wg_uapi_process(f->u, text, len, reply, &n);
	assert_non_null(*reply);
	assert_int_equal(strlen(*reply), n);
	return ret;
}

static int
req(struct fx *f, const char *text, char **reply)
{
	return req_n(f, text, strlen(text), reply);
}

static char *
get(struct fx *f)
{
	char *reply;

	assert_int_equal(req(f, "get=1\n\n", &reply), 0);
	return reply;
}

static void
set_ok(struct fx *f, const char *text)
{
	char *reply;

	assert_int_equal(req(f, text, &reply), 0);
	assert_string_equal(reply, "errno=0\n\n");
	free(reply);
}

static void
set_fails(struct fx *f, const char *text, int err)
{
	char *reply, want[32];

	assert_int_equal(req(f, text, &reply), err);
	snprintf(want, sizeof(want), "errno=%d\n\n", err);
	assert_string_equal(reply, want);
	free(reply);
}

static void
hex_key(const char *hex, uint8_t out[32])
{
	unsigned int i, v;

	for (i = 0; i < 32; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static struct wg_peer *
peer_hex(struct fx *f, const char *hex)
{
	uint8_t key[32];

	hex_key(hex, key);
	return wg_peers_lookup(f->t.peers, key);
}

static struct wg_prefix
pfx(const char *s)
{
	struct wg_prefix p;
	char buf[64], *slash;

	memset(&p, 0, sizeof(p));
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	assert_non_null(slash);
	*slash = '\0';
	p.family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	p.len = (uint8_t)atoi(slash + 1);
	assert_int_equal(inet_pton(p.family, buf, p.addr), 1);
	return p;
}

static uint32_t
owner(struct fx *f, const char *prefix)
{
	struct wg_prefix p = pfx(prefix);

	return wg_allowedips_owner(f->t.allowedips, &p);
}

static uint32_t
route4(struct fx *f, const char *addr)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, addr, &a), 1);
	return wg_allowedips_lookup4(f->t.allowedips, a.s_addr);
}

/* A device with two peers, used by the tests that change things. */
static const char populate[] =
	"set=1\n"
	"private_key=" PRIV_HEX "\n"
	"public_key=" A_HEX "\n"
	"preshared_key=" PSK_HEX "\n"
	"endpoint=192.0.2.1:51820\n"
	"allowed_ip=10.0.0.0/24\n"
	"allowed_ip=fd00::/64\n"
	"public_key=" B_HEX "\n"
	"endpoint=[2001:db8::1]:51821\n"
	"allowed_ip=10.1.0.0/16\n"
	"allowed_ip=10.2.0.1/32\n"
	"\n";

/* ---- get ---- */

static void
test_get_empty(void **state)
{
	struct fx *f = fx_new(false);
	char *r;

	(void)state;
	r = get(f);
	assert_string_equal(r, "listen_port=51820\nerrno=0\n\n");
	free(r);
	fx_free(f);
}

static void
test_set_every_key_exact_get(void **state)
{
	struct fx *f = fx_new(false);
	struct wg_peer *a, *b;
	char *r;

	(void)state;
	set_ok(f,
		"set=1\n"
		"private_key=" PRIV2_HEX "\n"
		"listen_port=51820\n"
		"fwmark=42\n"
		"replace_peers=true\n"
		"public_key=" A_HEX "\n"
		"preshared_key=" PSK_HEX "\n"
		"endpoint=192.0.2.1:51820\n"
		"persistent_keepalive_interval=25\n"
		"protocol_version=1\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.0.0.1/24\n"
		"allowed_ip=fd00::1/64\n"
		"public_key=" B_HEX "\n"
		"update_only=true\n"	/* B does not exist: ignored */
		"endpoint=198.51.100.1:1\n"
		"public_key=" B_HEX "\n"
		"endpoint=[2001:db8::1]:51821\n"
		"allowed_ip=10.1.0.0/16\n"
		"public_key=" C_HEX "\n"
		"remove=true\n"		/* C does not exist: nothing */
		"\n");
	a = peer_hex(f, A_HEX);
	b = peer_hex(f, B_HEX);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(peer_hex(f, C_HEX));
	/* The data path sees them at once. */
	assert_int_equal(route4(f, "10.0.0.77"), a->id);
	assert_int_equal(route4(f, "10.1.2.3"), b->id);
	assert_int_equal(route4(f, "10.2.0.1"), WG_ALLOWEDIPS_NO_PEER);
	assert_true(a->has_psk);
	assert_int_equal(a->persistent_keepalive, 25);
	/* Counters and the handshake time are the workers' and the engine's: fix them. */
	a->wk.tx_bytes = 1000;
	a->wk.rx_bytes = 2000;
	a->last_handshake_sec = 1700000000;
	a->last_handshake_nsec = 123456789;
	b->wk.tx_bytes = 0;
	r = get(f);
	assert_string_equal(r,
		"private_key=" PRIV2_CLAMPED_HEX "\n"
		"listen_port=51820\n"
		"fwmark=42\n"
		"public_key=" A_HEX "\n"
		"preshared_key=" PSK_HEX "\n"
		"protocol_version=1\n"
		"endpoint=192.0.2.1:51820\n"
		"last_handshake_time_sec=1700000000\n"
		"last_handshake_time_nsec=123456789\n"
		"tx_bytes=1000\n"
		"rx_bytes=2000\n"
		"persistent_keepalive_interval=25\n"
		"allowed_ip=10.0.0.0/24\n"
		"allowed_ip=fd00::/64\n"
		"public_key=" B_HEX "\n"
		"protocol_version=1\n"
		"endpoint=[2001:db8::1]:51821\n"
		"last_handshake_time_sec=0\n"
		"last_handshake_time_nsec=0\n"
		"tx_bytes=0\n"
		"rx_bytes=0\n"
		"persistent_keepalive_interval=0\n"
		"allowed_ip=10.1.0.0/16\n"
		"errno=0\n\n");
	free(r);

	/* Live changes of an existing peer, update_only on it, psk back to none, fwmark off. */
	set_ok(f,
		"set=1\n"
		"fwmark=0\n"
		"public_key=" A_HEX "\n"
		"update_only=true\n"
		"preshared_key=" K("00") "\n"
		"endpoint=[2001:db8::2]:1\n"
		"persistent_keepalive_interval=0\n"
		"\n");
	assert_false(a->has_psk);
	assert_int_equal(a->persistent_keepalive, 0);
	r = get(f);
	assert_non_null(strstr(r, "listen_port=51820\npublic_key=" A_HEX "\nprotocol_version=1\n"
		"endpoint=[2001:db8::2]:1\n"));
	assert_null(strstr(r, "preshared_key"));
	free(r);
	fx_free(f);
}

static void
test_listen_port(void **state)
{
	struct fx *f = fx_new(false);
	char *before, *after;

	(void)state;
	set_ok(f, populate);
	before = get(f);
	set_ok(f, "set=1\nlisten_port=51820\n\n");	/* the running port */
	/* Another port without a hook: refused before anything changes. */
	set_fails(f, "set=1\nlisten_port=51821\npublic_key=" A_HEX "\nremove=true\n\n",
		EOPNOTSUPP);
	after = get(f);
	assert_string_equal(before, after);
	free(before);
	free(after);
	fx_free(f);

	f = fx_new(true);
	set_ok(f, "set=1\nlisten_port=4242\n\n");
	assert_int_equal(hook_calls, 1);
	assert_int_equal(hook_port, 4242);
	assert_int_equal(wg_uapi_listen_port(f->u), 4242);
	set_ok(f, "set=1\nlisten_port=4242\n\n");	/* unchanged: no call */
	assert_int_equal(hook_calls, 1);
	hook_result = EADDRINUSE;
	set_fails(f, "set=1\nlisten_port=1\npublic_key=" A_HEX "\n\n", EADDRINUSE);
	assert_int_equal(wg_uapi_listen_port(f->u), 4242);
	assert_null(peer_hex(f, A_HEX));
	before = get(f);
	assert_string_equal(before, "listen_port=4242\nerrno=0\n\n");
	free(before);
	fx_free(f);
}

static void
test_replace_peers(void **state)
{
	struct fx *f = fx_new(false);
	struct wg_peer *c;
	char *r;

	(void)state;
	set_ok(f, populate);
	set_ok(f, "set=1\nreplace_peers=true\npublic_key=" C_HEX "\nallowed_ip=10.0.0.0/24\n\n");
	assert_null(peer_hex(f, A_HEX));
	assert_null(peer_hex(f, B_HEX));
	c = peer_hex(f, C_HEX);
	assert_non_null(c);
	assert_int_equal(wg_peers_count(f->t.peers), 1);
	assert_int_equal(route4(f, "10.0.0.1"), c->id);
	assert_int_equal(route4(f, "10.1.0.1"), WG_ALLOWEDIPS_NO_PEER);
	assert_int_equal(wg_allowedips_count(f->t.allowedips), 1);
	/* The private key stays. */
	r = get(f);
	assert_non_null(strstr(r, "private_key=" PRIV_HEX "\n"));
	free(r);
	/* replace_peers alone empties the device. */
	set_ok(f, "set=1\nreplace_peers=true\n\n");
	assert_int_equal(wg_peers_count(f->t.peers), 0);
	assert_int_equal(wg_allowedips_count(f->t.allowedips), 0);
	fx_free(f);
}

static void
test_replace_allowed_ips(void **state)
{
	struct fx *f = fx_new(false);
	struct wg_peer *a, *b;
	char *r;

	(void)state;
	set_ok(f, populate);
	a = peer_hex(f, A_HEX);
	b = peer_hex(f, B_HEX);
	set_ok(f, "set=1\npublic_key=" A_HEX "\nreplace_allowed_ips=true\n"
		"allowed_ip=fd00::/64\nallowed_ip=10.9.0.0/16\nallowed_ip=10.2.0.1/32\n\n");
	assert_int_equal(owner(f, "10.0.0.0/24"), WG_ALLOWEDIPS_NO_PEER);
	assert_int_equal(owner(f, "fd00::/64"), a->id);
	assert_int_equal(owner(f, "10.9.0.0/16"), a->id);
	assert_int_equal(owner(f, "10.2.0.1/32"), a->id);	/* moved from B */
	assert_int_equal(owner(f, "10.1.0.0/16"), b->id);
	r = get(f);
	/* The kept prefix keeps its place; the new ones follow in request order. */
	assert_non_null(strstr(r, "persistent_keepalive_interval=0\nallowed_ip=fd00::/64\n"
		"allowed_ip=10.9.0.0/16\nallowed_ip=10.2.0.1/32\npublic_key=" B_HEX));
	assert_non_null(strstr(r, "persistent_keepalive_interval=0\nallowed_ip=10.1.0.0/16\n"
		"errno=0\n\n"));
	free(r);
	/* replace_allowed_ips alone clears. */
	set_ok(f, "set=1\npublic_key=" A_HEX "\nreplace_allowed_ips=true\n\n");
	assert_int_equal(owner(f, "fd00::/64"), WG_ALLOWEDIPS_NO_PEER);
	assert_int_equal(wg_allowedips_count(f->t.allowedips), 1);
	fx_free(f);
}

static void
test_remove_prefix_form(void **state)
{
	struct fx *f = fx_new(false);
	struct wg_peer *a, *b;

	(void)state;
	set_ok(f, populate);
	a = peer_hex(f, A_HEX);
	b = peer_hex(f, B_HEX);
	/* Own prefix (host bits are masked first), another peer's, an absent one. */
	set_ok(f, "set=1\npublic_key=" A_HEX "\nallowed_ip=-10.0.0.9/24\n"
		"allowed_ip=-10.1.0.0/16\nallowed_ip=-172.16.0.0/12\nallowed_ip=-fd00::/64\n\n");
	assert_int_equal(owner(f, "10.0.0.0/24"), WG_ALLOWEDIPS_NO_PEER);
	assert_int_equal(owner(f, "fd00::/64"), WG_ALLOWEDIPS_NO_PEER);
	assert_int_equal(owner(f, "10.1.0.0/16"), b->id);
	assert_int_equal(route4(f, "10.0.0.1"), WG_ALLOWEDIPS_NO_PEER);
	assert_non_null(a);
	fx_free(f);
}

static void
test_update_only_and_remove(void **state)
{
	struct fx *f = fx_new(false);
	struct wg_peer *b;

	(void)state;
	set_ok(f, populate);
	set_ok(f, "set=1\npublic_key=" C_HEX "\nupdate_only=true\nallowed_ip=10.0.0.0/24\n\n");
	assert_null(peer_hex(f, C_HEX));
	assert_int_equal(owner(f, "10.0.0.0/24"), peer_hex(f, A_HEX)->id);
	set_ok(f, "set=1\npublic_key=" B_HEX "\nupdate_only=true\nendpoint=198.51.100.7:9\n\n");
	b = peer_hex(f, B_HEX);
	assert_int_equal(b->endpoint.family, AF_INET);
	assert_int_equal(b->endpoint.port, 9);
	/* remove: gone from the table and from routing at once. */
	set_ok(f, "set=1\npublic_key=" A_HEX "\nremove=true\n\n");
	assert_null(peer_hex(f, A_HEX));
	assert_int_equal(route4(f, "10.0.0.1"), WG_ALLOWEDIPS_NO_PEER);
	assert_int_equal(wg_peers_count(f->t.peers), 1);
	assert_int_equal(wg_allowedips_count(f->t.allowedips), 2);
	/* Removed then added again in one request: a fresh peer. */
	set_ok(f, "set=1\npublic_key=" B_HEX "\nremove=true\npublic_key=" B_HEX
		"\nallowed_ip=10.7.0.0/16\n\n");
	b = peer_hex(f, B_HEX);
	assert_non_null(b);
	assert_int_equal(b->endpoint.family, 0);
	assert_int_equal(wg_allowedips_count(f->t.allowedips), 1);
	assert_int_equal(route4(f, "10.7.1.1"), b->id);
	fx_free(f);
}

static void
test_prefix_moves(void **state)
{
	struct fx *f = fx_new(false);
	struct wg_peer *a, *c;

	(void)state;
	set_ok(f, populate);
	a = peer_hex(f, A_HEX);
	set_ok(f, "set=1\npublic_key=" C_HEX "\nallowed_ip=10.0.0.0/24\n"
		"allowed_ip=10.1.0.0/16\n\n");
	c = peer_hex(f, C_HEX);
	assert_int_equal(owner(f, "10.0.0.0/24"), c->id);
	assert_int_equal(owner(f, "10.1.0.0/16"), c->id);
	assert_int_equal(owner(f, "fd00::/64"), a->id);
	assert_int_equal(route4(f, "10.1.0.1"), c->id);
	assert_int_equal(wg_allowedips_count(f->t.allowedips), 4);
	fx_free(f);
}

static void
test_own_key(void **state)
{
	struct fx *f = fx_new(false);
	char *r;

	(void)state;
	set_ok(f, populate);
	/* A peer section with our own public key is ignored, silently. */
	set_ok(f, "set=1\npublic_key=" PUB_HEX "\nallowed_ip=10.5.0.0/16\n\n");
	assert_null(peer_hex(f, PUB_HEX));
	assert_int_equal(owner(f, "10.5.0.0/16"), WG_ALLOWEDIPS_NO_PEER);
	/* A peer that has the public key of a new private key goes (the kernel does so). */
	set_ok(f, "set=1\npublic_key=" PUB2_HEX "\nallowed_ip=10.6.0.0/16\n\n");
	assert_non_null(peer_hex(f, PUB2_HEX));
	set_ok(f, "set=1\nprivate_key=" PRIV2_HEX "\n\n");
	assert_null(peer_hex(f, PUB2_HEX));
	assert_int_equal(owner(f, "10.6.0.0/16"), WG_ALLOWEDIPS_NO_PEER);
	/* All zeros: no identity, no private_key line. */
	set_ok(f, "set=1\nprivate_key=" K("00") "\n\n");
	r = get(f);
	assert_null(strstr(r, "private_key"));
	assert_non_null(strstr(r, "public_key=" A_HEX));
	free(r);
	fx_free(f);
}

/* ---- malformed requests change nothing ---- */

struct bad {
	const char *text;
	int err;
};

static const struct bad bad_requests[] = {
	{ "set=1\nprivate_key=" K("z0") "\n\n", EINVAL },
	{ "set=1\nprivate_key=" K("00") "0\n\n", EINVAL },
	{ "set=1\nprivate_key=00\n\n", EINVAL },
	{ "set=1\nprivate_key=\n\n", EINVAL },
	{ "set=1\nbogus=1\n\n", EINVAL },
	{ "set=1\nreplace_peers=true\npublic_key=" C_HEX "\nbogus=1\n\n", EINVAL },
	{ "set=1\nendpoint=192.0.2.9:1\n\n", EINVAL },		/* peer key, no peer */
	{ "set=1\nallowed_ip=10.0.0.0/8\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nprivate_key=" PRIV2_HEX "\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nlisten_port=1\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nendpoint=192.0.2.9\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nendpoint=192.0.2.9:0\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nendpoint=192.0.2.9:65536\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nendpoint=example.com:1\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nendpoint=2001:db8::1:1\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nendpoint=[2001:db8::1]\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nendpoint=\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nallowed_ip=10.0.0.0/33\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nallowed_ip=10.0.0.0\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nallowed_ip=foo/8\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nallowed_ip=-fd00::/129\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nallowed_ip=10.0.0.0/\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nallowed_ip=\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nprotocol_version=2\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nprotocol_version=\n\n", EINVAL },
	{ "set=1\nreplace_peers=false\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nremove=yes\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nupdate_only=1\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nreplace_allowed_ips=TRUE\n\n", EINVAL },
	{ "set=1\nlisten_port=65536\n\n", EINVAL },
	{ "set=1\nlisten_port=-1\n\n", EINVAL },
	{ "set=1\nlisten_port=\n\n", EINVAL },
	{ "set=1\nfwmark=4294967296\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\npersistent_keepalive_interval=65536\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\npreshared_key=" K("2") "\n\n", EINVAL },
	{ "set=1\npublic_key=" K("1") "\n\n", EINVAL },
	{ "set=1\npublic_key=" A_HEX "\nendpoint=" K("1234") "\n\n", EINVAL },	/* too long */
	{ "set=1\nno equals sign\n\n", EPROTO },
	{ "set=1\n=value\n\n", EPROTO },
	{ "set=1\nreplace_peers=true\n", EPROTO },		/* truncated */
	{ "set=1\npublic_key=" A_HEX "\nremove=true", EPROTO },	/* truncated */
	{ "set=1\n", EPROTO },
	{ "", EPROTO },
	{ "\n", EPROTO },
	{ "set=2\n\n", EPROTO },
	{ "SET=1\nreplace_peers=true\n\n", EPROTO },
	{ "get=1\nreplace_peers=true\n\n", EINVAL },
	{ "get=1\n\nset=1\nreplace_peers=true\n\n", EINVAL },	/* two requests */
	/* Valid changes of every kind, then one bad line: none of them may happen. */
	{ "set=1\nreplace_peers=true\nprivate_key=" PRIV2_HEX "\nfwmark=7\n"
	  "public_key=" C_HEX "\nallowed_ip=10.0.0.0/24\n"
	  "public_key=" A_HEX "\nremove=true\n"
	  "public_key=" B_HEX "\nreplace_allowed_ips=true\nendpoint=192.0.2.1:1\n"
	  "endpoint=192.0.2.1:x\n\n", EINVAL },
};

static void
test_malformed_changes_nothing(void **state)
{
	static const char nul[] = "set=1\npublic_key=" A_HEX "\nendpoint=192.0.2.9:1\0x\n\n";
	struct fx *f = fx_new(false);
	char *before, *after, *r;
	size_t i;

	(void)state;
	set_ok(f, populate);
	set_ok(f, "set=1\nfwmark=3\npublic_key=" A_HEX "\npersistent_keepalive_interval=5\n\n");
	before = get(f);
	for (i = 0; i < RTE_DIM(bad_requests); i++) {
		print_message("# %zu: %.40s\n", i, bad_requests[i].text);
		set_fails(f, bad_requests[i].text, bad_requests[i].err);
		after = get(f);
		assert_string_equal(before, after);
		free(after);
	}
	assert_int_equal(req_n(f, nul, sizeof(nul) - 1, &r), EINVAL);
	free(r);
	after = get(f);
	assert_string_equal(before, after);
	free(after);
	free(before);
	fx_free(f);
}

/* ---- allowed IPs against a naive model ---- */

static const char *const universe[] = {
	"10.0.0.0/8", "10.0.0.0/24", "10.0.0.1/32", "0.0.0.0/0",
	"fd00::/8", "fd00::/64", "fd00::1/128", "::/0",
};
enum { NU = RTE_DIM(universe), NP = 3 };
static const char *const model_keys[NP] = { A_HEX, B_HEX, C_HEX };

static uint32_t
lcg(uint32_t *s)
{
	*s = *s * 1103515245 + 12345;
	return *s >> 16;
}

static void
test_allowed_ips_model(void **state)
{
	struct fx *f = fx_new(false);
	int model[NU];		/* owner: peer index or -1 */
	uint32_t ids[NP], seed = 42;
	char text[4096];
	unsigned int iter, sec, nsec, k, nops, p, u, i;
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "set=1\n");
	for (p = 0; p < NP; p++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "public_key=%s\n", model_keys[p]);
	snprintf(text + n, sizeof(text) - n, "\n");
	set_ok(f, text);
	for (p = 0; p < NP; p++)
		ids[p] = peer_hex(f, model_keys[p])->id;
	for (u = 0; u < NU; u++)
		model[u] = -1;
	for (iter = 0; iter < 3000; iter++) {
		n = (size_t)snprintf(text, sizeof(text), "set=1\n");
		nsec = 1 + lcg(&seed) % 3;
		for (sec = 0; sec < nsec; sec++) {
			p = lcg(&seed) % NP;
			n += (size_t)snprintf(text + n, sizeof(text) - n, "public_key=%s\n",
				model_keys[p]);
			nops = lcg(&seed) % 7;
			for (k = 0; k < nops; k++) {
				unsigned int kind = lcg(&seed) % 8;

				u = lcg(&seed) % NU;
				if (kind == 0) {
					n += (size_t)snprintf(text + n, sizeof(text) - n,
						"replace_allowed_ips=true\n");
					for (i = 0; i < NU; i++)
						if (model[i] == (int)p)
							model[i] = -1;
				} else if (kind <= 2) {
					n += (size_t)snprintf(text + n, sizeof(text) - n,
						"allowed_ip=-%s\n", universe[u]);
					if (model[u] == (int)p)
						model[u] = -1;
				} else {
					n += (size_t)snprintf(text + n, sizeof(text) - n,
						"allowed_ip=%s\n", universe[u]);
					model[u] = (int)p;
				}
			}
		}
		snprintf(text + n, sizeof(text) - n, "\n");
		set_ok(f, text);
		for (u = 0; u < NU; u++) {
			uint32_t want = model[u] < 0 ? WG_ALLOWEDIPS_NO_PEER : ids[model[u]];

			if (owner(f, universe[u]) != want)
				fail_msg("iteration %u, %s: owner %u, model %u\n%s", iter,
					universe[u], owner(f, universe[u]), want, text);
		}
	}
	fx_free(f);
}

/* ---- the socket ---- */

static int
client(struct fx *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", wg_uapi_path(f->u));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void
send_all(struct fx *f, int fd, const char *s, size_t len)
{
	ssize_t w;

	while (len != 0) {
		w = send(fd, s, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			assert_int_equal(errno, EAGAIN);
			wg_uapi_poll(f->u);
			continue;
		}
		s += w;
		len -= (size_t)w;
	}
}

/* Poll the server until fd has a whole reply (it ends with a blank line). */
static char *
recv_reply(struct fx *f, int fd)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	unsigned int spins;
	ssize_t r;

	assert_non_null(buf);
	for (spins = 0; spins < 1000000; spins++) {
		wg_uapi_poll(f->u);
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
		if (r > 0)
			len += (size_t)r;
		else if (r == 0)
			break;
		if (len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n')
			break;
	}
	buf[len] = '\0';
	return buf;
}

static char *
sock_req(struct fx *f, const char *text)
{
	int fd = client(f);
	char *r;

	send_all(f, fd, text, strlen(text));
	r = recv_reply(f, fd);
	close(fd);
	return r;
}

static void
test_socket_get_probe_truncated(void **state)
{
	struct fx *f = fx_new(false);
	char *direct, *r;
	struct stat st;
	int fd, i;

	(void)state;
	assert_int_equal(stat(wg_uapi_path(f->u), &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	set_ok(f, populate);
	/* wg's probe: connect, close, no request; several of them. */
	for (i = 0; i < 3; i++)
		close(client(f));
	for (i = 0; i < 10; i++)
		wg_uapi_poll(f->u);
	direct = get(f);
	r = sock_req(f, "get=1\n\n");
	assert_string_equal(r, direct);
	free(r);
	/* A set over the socket, then two requests in one write. */
	r = sock_req(f, "set=1\npublic_key=" C_HEX "\nallowed_ip=10.3.0.0/16\n\n");
	assert_string_equal(r, "errno=0\n\n");
	free(r);
	assert_non_null(peer_hex(f, C_HEX));
	fd = client(f);
	send_all(f, fd, "set=1\nbad\n\nget=1\n\n", strlen("set=1\nbad\n\nget=1\n\n"));
	r = recv_reply(f, fd);
	assert_string_equal(r, "errno=71\n\n");
	free(r);
	r = recv_reply(f, fd);
	assert_non_null(strstr(r, "public_key=" C_HEX));
	free(r);
	close(fd);
	/* Truncated: the client stops writing without the blank line. */
	fd = client(f);
	send_all(f, fd, "set=1\npublic_key=" A_HEX "\nremove=true\n",
		strlen("set=1\npublic_key=" A_HEX "\nremove=true\n"));
	shutdown(fd, SHUT_WR);
	r = recv_reply(f, fd);
	assert_string_equal(r, "errno=71\n\n");
	free(r);
	close(fd);
	assert_non_null(peer_hex(f, A_HEX));
	free(direct);
	fx_free(f);
}

static void
test_socket_two_clients_interleaved(void **state)
{
	static const char set_c[] = "set=1\npublic_key=" C_HEX "\nallowed_ip=10.3.0.0/16\n"
		"endpoint=192.0.2.3:3\n\n";
	struct fx *f = fx_new(false);
	char *before, *r;
	int a, b, i;

	(void)state;
	set_ok(f, populate);
	before = get(f);
	a = client(f);
	b = client(f);
	send_all(f, a, set_c, 40);		/* half of a set */
	for (i = 0; i < 10; i++)
		wg_uapi_poll(f->u);
	send_all(f, b, "get=1\n\n", 7);
	r = recv_reply(f, b);
	assert_string_equal(r, before);	/* nothing of a's half request */
	free(r);
	send_all(f, a, set_c + 40, sizeof(set_c) - 1 - 40);
	r = recv_reply(f, a);
	assert_string_equal(r, "errno=0\n\n");
	free(r);
	send_all(f, b, "get=1\n\n", 7);
	r = recv_reply(f, b);
	assert_non_null(strstr(r, "public_key=" C_HEX "\nprotocol_version=1\n"
		"endpoint=192.0.2.3:3\n"));
	free(r);
	close(a);
	close(b);
	free(before);
	fx_free(f);
}

/* A large set (1000 peers) arrives over many polls and applies at once. */
static void
test_socket_large_set(void **state)
{
	struct fx *f = fx_new(false);
	size_t cap = 1 << 20, n;
	char *text = malloc(cap), *r;
	unsigned int i;
	int fd;

	(void)state;
	assert_non_null(text);
	n = (size_t)snprintf(text, cap, "set=1\nreplace_peers=true\n");
	for (i = 0; i < 1000; i++)
		n += (size_t)snprintf(text + n, cap - n, "public_key=%056x%08x\n"
			"replace_allowed_ips=true\nallowed_ip=10.%u.%u.0/24\n", 0, i + 1,
			i >> 8, i & 255);
	n += (size_t)snprintf(text + n, cap - n, "\n");
	fd = client(f);
	send_all(f, fd, text, n);
	r = recv_reply(f, fd);
	assert_string_equal(r, "errno=0\n\n");
	free(r);
	assert_int_equal(wg_peers_count(f->t.peers), 1000);
	assert_int_equal(wg_allowedips_count(f->t.allowedips), 1000);
	send_all(f, fd, "get=1\n\n", 7);
	r = recv_reply(f, fd);
	assert_true(strlen(r) > 1000 * 200);
	assert_non_null(strstr(r, "allowed_ip=10.3.231.0/24\nerrno=0\n\n"));
	free(r);
	close(fd);
	free(text);
	fx_free(f);
}

/* Limits: request size, idle connections, connections at once. */
static void
test_socket_limits(void **state)
{
	struct wg_uapi_params up = { .listen_port = 51820, .poll_interval_us = 1,
		.max_request = 200, .idle_timeout_ms = 200, .max_clients = 2 };
	struct fx *f = fx_new(false);
	struct wg_uapi *u0 = f->u;
	char err[256], big[300], *r;
	int fd[3], i;

	(void)state;
	f->u = wg_uapi_create("limits", f->e, &f->t, &up, err, sizeof(err));
	assert_non_null(f->u);
	/* Over max_request without a blank line: EMSGSIZE, then closed. */
	memset(big, 'x', sizeof(big));
	fd[0] = client(f);
	send_all(f, fd[0], big, sizeof(big));
	r = recv_reply(f, fd[0]);
	assert_string_equal(r, "errno=90\n\n");
	free(r);
	r = recv_reply(f, fd[0]);	/* then EOF */
	assert_string_equal(r, "");
	free(r);
	close(fd[0]);
	/* Two connections at once: a third waits until one goes. */
	for (i = 0; i < 3; i++)
		fd[i] = client(f);
	send_all(f, fd[2], "get=1\n\n", 7);
	for (i = 0; i < 100; i++)
		wg_uapi_poll(f->u);
	assert_int_equal(recv(fd[2], big, sizeof(big), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	close(fd[0]);
	r = recv_reply(f, fd[2]);
	assert_string_equal(r, "listen_port=51820\nerrno=0\n\n");
	free(r);
	/* An idle connection is closed after the timeout (fd[1] sent nothing). */
	usleep(300 * 1000);
	r = recv_reply(f, fd[1]);
	assert_string_equal(r, "");
	free(r);
	close(fd[1]);
	close(fd[2]);
	wg_uapi_free(f->u);
	f->u = u0;
	fx_free(f);
}

static void
test_create_live_stale_and_bad(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct wg_uapi_params up = { .listen_port = 1 };
	struct fx *f = fx_new(false);
	struct wg_uapi *u2;
	char err[256], path[100];
	int fd;

	(void)state;
	up.sock_dir = f->dir;
	/* A live server answers: refused. */
	u2 = wg_uapi_create(f->name, f->e, &f->t, &up, err, sizeof(err));
	assert_null(u2);
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(err, "another process"));
	/* Its socket is untouched. */
	free(sock_req(f, "get=1\n\n"));

	/* A stale socket (bound, nobody listening): replaced. */
	snprintf(path, sizeof(path), "%s/stale.sock", f->dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	u2 = wg_uapi_create("stale", f->e, &f->t, &up, err, sizeof(err));
	if (u2 == NULL)
		fail_msg("stale socket: %s", err);
	wg_uapi_free(u2);
	assert_int_equal(access(path, F_OK), -1);

	/* Not a socket: refused, left alone. */
	snprintf(path, sizeof(path), "%s/file.sock", f->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_null(wg_uapi_create("file", f->e, &f->t, &up, err, sizeof(err)));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(unlink(path), 0);

	/* Bad names. */
	assert_null(wg_uapi_create("../x", f->e, &f->t, &up, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_null(wg_uapi_create("0123456789abcdef", f->e, &f->t, &up, err, sizeof(err)));
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_empty),
		cmocka_unit_test(test_set_every_key_exact_get),
		cmocka_unit_test(test_listen_port),
		cmocka_unit_test(test_replace_peers),
		cmocka_unit_test(test_replace_allowed_ips),
		cmocka_unit_test(test_remove_prefix_form),
		cmocka_unit_test(test_update_only_and_remove),
		cmocka_unit_test(test_prefix_moves),
		cmocka_unit_test(test_own_key),
		cmocka_unit_test(test_malformed_changes_nothing),
		cmocka_unit_test(test_allowed_ips_model),
		cmocka_unit_test(test_socket_get_probe_truncated),
		cmocka_unit_test(test_socket_two_clients_interleaved),
		cmocka_unit_test(test_socket_large_set),
		cmocka_unit_test(test_socket_limits),
		cmocka_unit_test(test_create_live_stale_and_bad),
	};
	char prefix[64];
	char *argv[] = { "test_uapi", "--no-huge", "-m", "1024", "--no-pci", prefix,
		"--log-level=lib.eal:error", "--no-telemetry", NULL };
	size_t sz;
	int ret;

	snprintf(prefix, sizeof(prefix), "--file-prefix=test_uapi_%d", (int)getpid());
	if (rte_eal_init(RTE_DIM(argv) - 1, argv) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	sz = rte_rcu_qsbr_get_memsize(1);
	rcu = rte_zmalloc(NULL, sz, RTE_CACHE_LINE_SIZE);
	if (rcu == NULL || rte_rcu_qsbr_init(rcu, 1) != 0)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rte_free(rcu);
	rte_eal_cleanup();
	return ret;
}
