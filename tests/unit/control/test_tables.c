/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wg_tables_build(): a configuration becomes a peer table and allowed-IPs that
 * route every configured prefix to its peer, skip our own key, and stay
 * consistent through wg_tables_add_peer() (moves) and wg_tables_remove_peer().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <sodium.h>

#include "../test_eal.h"
#include "control/config.h"
#include "control/tables.h"

static struct rte_rcu_qsbr *rcu;
static unsigned int table_no;

/* Our private key, the two ports, and the peers that follow. */
#define CONF_HEAD \
	"version: 1\n" \
	"interface:\n" \
	"  private-key: APAysu33+GnpIfo0+mV3IgSbWLPuoky0NCH7Sxg5Ok8=\n" \
	"  listen-port: 51820\n" \
	"ports:\n" \
	"  wan: { device: net_null0, address: [198.51.100.1/24] }\n" \
	"  lan: { device: net_null1, address: [10.0.0.1/24] }\n" \
	"peers:\n"

/* Keys: our private key and three peers (public keys of arbitrary private keys). */
static const char conf_text[] =
	CONF_HEAD
	"  - name: a\n"
	"    public-key: EbeRuGl3Q5Zr6kCxXMwTa8cUHhaXKVLBHis073GMNmY=\n"
	"    endpoint: 192.0.2.10:51820\n"
	"    persistent-keepalive: 25\n"
	"    allowed-ips: [10.192.122.3/32, 10.192.124.0/24, \"fd00:1::/64\"]\n"
	"  - name: b\n"
	"    public-key: ELT8GhKXvSk1HlH50596fdX7BxG0Hxe/LdM2wGbpZmE=\n"
	"    preshared-key: FHbKPUwdwKPZ8YXpvB2/LnHJcR3wMHVAhnLnC5qrQMs=\n"
	"    endpoint: \"[2001:db8::10]:51821\"\n"
	"    allowed-ips: [10.192.0.0/16, \"fd00::/16\", \"::/0\"]\n"
	"  - name: c\n"
	"    public-key: OeyqsnswzTnSoItdmO8yEc1K2Z3Ng+ZrJBnhCZJCohY=\n"
	"    allowed-ips: [0.0.0.0/0]\n"
	/* our own public key: ignored with a warning, like wg does */
	"  - name: self\n"
	"    public-key: bx/dkMNldusgD6ONzA6Zb+7d0dGv7NsRTCDaS+ydwTE=\n"
	"    allowed-ips: [172.16.0.0/12]\n";

static struct wg_conf *
load(void)
{
	struct wg_conf *conf = NULL;
	FILE *err = tmpfile();

	assert_non_null(err);
	assert_int_equal(wg_config_load_buffer("t.yaml", conf_text, sizeof(conf_text) - 1, 0,
					       &conf, err), 0);
	fclose(err);
	return conf;
}

static void
build(struct wg_tables *t, const struct wg_conf *conf)
{
	struct wg_tables_params p = { .rcu = rcu };
	char name[11];

	snprintf(name, sizeof(name), "tt%u", table_no++);
	p.name = name;
	assert_int_equal(wg_tables_build(t, conf, &p), 0);
}

static uint32_t
v4(const struct wg_tables *t, const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return wg_allowedips_lookup4(t->allowedips, a.s_addr);
}

static uint32_t
v6(const struct wg_tables *t, const char *s)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	return wg_allowedips_lookup6(t->allowedips, a);
}

static struct wg_peer *
peer_of(const struct wg_tables *t, const struct wg_conf *conf, unsigned int i)
{
	struct wg_peer *p = wg_peers_lookup(t->peers, conf->peers[i].public_key);

	assert_non_null(p);
	return p;
}

static int
count_cb(const struct wg_prefix *prefix, void *arg)
{
	(void)prefix;
	(*(unsigned int *)arg)++;
	return 0;
}

static unsigned int
n_prefixes(const struct wg_tables *t, uint32_t id)
{
	unsigned int n = 0;

	assert_int_equal(wg_allowedips_list(t->allowedips, id, count_cb, &n), 0);
	return n;
}

static void
test_build_routes_every_prefix(void **state)
{
	struct wg_conf *conf = load();
	struct wg_peer *a, *b, *c;
	struct wg_tables t;
	uint8_t self_pub[32];

	(void)state;
	build(&t, conf);
	a = peer_of(&t, conf, 0);
	b = peer_of(&t, conf, 1);
	c = peer_of(&t, conf, 2);
	assert_int_equal(wg_peers_count(t.peers), 3);
	assert_string_equal(a->name, "a");
	assert_int_equal(a->persistent_keepalive, 25);
	assert_int_equal(a->endpoint.family, AF_INET);
	assert_int_equal(a->endpoint.port, 51820);
	assert_false(a->has_psk);
	assert_true(b->has_psk);
	assert_memory_equal(b->preshared_key, conf->peers[1].psk, 32);
	assert_int_equal(b->endpoint.family, AF_INET6);
	assert_int_equal(b->endpoint.port, 51821);
	assert_int_equal(c->endpoint.family, 0);

	/* Our own key was configured as a peer: dropped, its prefix unrouted... */
	assert_int_equal(conf->n_peers, 3);
	memcpy(self_pub, conf->public_key, 32);
	assert_null(wg_peers_lookup(t.peers, self_pub));
	/* ...so 172.16.1.1 falls to c's default route. */
	assert_int_equal(v4(&t, "172.16.1.1"), c->id);

	/* Longest prefix wins across peers. */
	assert_int_equal(v4(&t, "10.192.122.3"), a->id);
	assert_int_equal(v4(&t, "10.192.122.4"), b->id);
	assert_int_equal(v4(&t, "10.192.124.200"), a->id);
	assert_int_equal(v4(&t, "10.192.125.1"), b->id);
	assert_int_equal(v4(&t, "8.8.8.8"), c->id);
	assert_int_equal(v6(&t, "fd00:1::1234"), a->id);
	assert_int_equal(v6(&t, "fd00:2::1"), b->id);
	assert_int_equal(v6(&t, "2001:db8::1"), b->id);

	assert_int_equal(n_prefixes(&t, a->id), 3);
	assert_int_equal(n_prefixes(&t, b->id), 3);
	assert_int_equal(n_prefixes(&t, c->id), 1);
	wg_tables_free(&t);
	assert_null(t.peers);
	assert_null(t.allowedips);
	wg_config_free(conf);
}

static void
test_add_moves_and_remove_unroutes(void **state)
{
	struct wg_conf *conf = load();
	struct wg_conf_peer extra;
	struct wg_prefix moved = { .family = AF_INET, .len = 32 };
	struct wg_peer *a, *b, *d = NULL;
	struct wg_tables t;

	(void)state;
	build(&t, conf);
	a = peer_of(&t, conf, 0);
	b = peer_of(&t, conf, 1);

	/* A new peer claiming a's /32 takes it (wg set semantics). */
	memset(&extra, 0, sizeof(extra));
	memset(extra.public_key, 0x42, sizeof(extra.public_key));
	inet_pton(AF_INET, "10.192.122.3", moved.addr);
	extra.allowed = &moved;
	extra.n_allowed = 1;
	assert_int_equal(wg_tables_add_peer(&t, &extra, &d), 0);
	assert_non_null(d);
	assert_int_equal(v4(&t, "10.192.122.3"), d->id);
	assert_int_equal(n_prefixes(&t, a->id), 2);
	assert_int_equal(n_prefixes(&t, d->id), 1);
	/* The same key twice is refused and changes nothing. */
	assert_int_equal(wg_tables_add_peer(&t, &extra, NULL), -EEXIST);
	assert_int_equal(wg_peers_count(t.peers), 4);

	/* Removing b unroutes its prefixes: the covering routes take over. */
	assert_int_equal(wg_tables_remove_peer(&t, b->id), 0);
	assert_null(wg_peers_lookup(t.peers, conf->peers[1].public_key));
	assert_int_equal(v4(&t, "10.192.125.1"), peer_of(&t, conf, 2)->id);
	assert_int_equal(v6(&t, "fd00:2::1"), WG_ALLOWEDIPS_NO_PEER);
	assert_int_equal(v6(&t, "fd00:1::1"), a->id);
	assert_int_equal(wg_tables_remove_peer(&t, b->id), -ENOENT);
	wg_tables_free(&t);
	wg_config_free(conf);
}

/* n peers, each with an IPv4 /24 and /32 and an IPv6 /64 and /128. */
static struct wg_conf *
load_many(unsigned int n)
{
	static const char head[] = CONF_HEAD;
	struct wg_conf *conf = NULL;
	uint8_t key[32] = { 1, 2, 3 };
	char b64[64], *text;
	size_t len = 0, cap = sizeof(head) + (size_t)n * 200;
	unsigned int i;

	text = malloc(cap);
	assert_non_null(text);
	len = (size_t)snprintf(text, cap, "%s", head);
	for (i = 0; i < n; i++) {
		key[30] = (uint8_t)(i >> 8);
		key[31] = (uint8_t)i;
		sodium_bin2base64(b64, sizeof(b64), key, sizeof(key),
			sodium_base64_VARIANT_ORIGINAL);
		len += (size_t)snprintf(text + len, cap - len, "  - public-key: %s\n"
			"    allowed-ips: [10.%u.%u.0/24, 172.16.%u.%u/32, \"fd00:%x::/64\", "
			"\"fd01::%x/128\"]\n", b64, i >> 8, i & 255, i >> 8, i & 255, i, i);
		assert_true(len < cap);
	}
	assert_int_equal(wg_config_load_buffer("many.yaml", text, len, 0, &conf, NULL), 0);
	free(text);
	assert_int_equal(conf->n_prefixes, 4 * n);
	return conf;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static size_t
heap_free(size_t *largest)
{
	struct rte_malloc_socket_stats st;

	assert_int_equal(rte_malloc_get_socket_stats((int)rte_socket_id(), &st), 0);
	if (largest != NULL)
		*largest = st.greatest_free_size;
	return st.heap_freesz_bytes;
}

/*
 * Out of EAL memory at every stage of wg_tables_build(): a ballast leaves
 * less room than the tables need, in steps. Each attempt either builds the
 * tables or fails with -ENOMEM, leaves both pointers NULL and every byte and
 * EAL name it took free again (the next attempt reuses the names); small
 * rooms fail, enough room succeeds.
 */
static void
test_out_of_memory(void **state)
{
	enum { STEPS = 24 };
	struct wg_tables_params p = { .rcu = rcu, .name = "oom" };
	struct wg_conf *conf = load_many(3000);
	size_t before, need, largest, room, rooms[STEPS + 16];
	unsigned int k, n_rooms = 0, failed = 0, built = 0;
	struct wg_tables t;
	void *ballast;
	int ret;

	(void)state;
	before = heap_free(NULL);
	assert_int_equal(wg_tables_build(&t, conf, &p), 0);
	need = before - heap_free(NULL);
	assert_int_equal(v4(&t, "10.11.183.9"), peer_of(&t, conf, 3000 - 1)->id);
	wg_tables_free(&t);
	assert_int_equal(heap_free(NULL), before);
	/* Even steps up to need, then need less 4 KiB .. 64 MiB (the last allocations), more. */
	for (k = 0; k < STEPS; k++)
		rooms[n_rooms++] = need / STEPS * k;
	for (k = 0; k < 15; k++)
		rooms[n_rooms++] = need - ((size_t)4096 << k);
	rooms[n_rooms++] = need + need / 4;
	qsort(rooms, n_rooms, sizeof(rooms[0]), cmp_size);
	for (k = 0; k < n_rooms; k++) {
		room = rooms[k];
		heap_free(&largest);
		/* The heap's own headers take some of the largest free block. */
		ballast = largest > room + 4096 ? rte_malloc("ballast", largest - room - 1024, 0) :
			NULL;
		assert_true(ballast != NULL || room + 4096 >= largest);
		before = heap_free(NULL);
		ret = wg_tables_build(&t, conf, &p);
		if (ret == 0) {
			assert_int_equal(v4(&t, "172.16.11.183"), peer_of(&t, conf, 3000 - 1)->id);
			wg_tables_free(&t);
			built++;
		} else {
			if (ret != -ENOMEM)
				fail_msg("room %zu of %zu: %s", room, need, strerror(-ret));
			assert_null(t.peers);
			assert_null(t.allowedips);
			assert_int_equal(built, 0);	/* less room than what once sufficed */
			failed++;
		}
		assert_int_equal(heap_free(NULL), before);
		rte_free(ballast);
	}
	print_message("tables need %zu bytes of EAL memory; %u attempts failed cleanly with "
		"ENOMEM, %u built\n", need, failed, built);
	assert_true(failed >= STEPS);
	assert_true(built >= 1);
	wg_config_free(conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_routes_every_prefix),
		cmocka_unit_test(test_add_moves_and_remove_unroutes),
		cmocka_unit_test(test_out_of_memory),
	};
	int ret;

	rcu = wg_test_eal_init("test_tables", "512", 4);
	if (rcu == NULL)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	wg_test_eal_fini(rcu);
	return ret;
}
