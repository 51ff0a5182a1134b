/* SPDX-License-Identifier: BSD-3-Clause */
/* The peer table: add / lookup / remove / iterate, duplicate keys, id reuse after a grace period. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "../test_eal.h"
#include "control/peers.h"

static struct rte_rcu_qsbr *rcu;
static unsigned int table_no;

static struct wg_peers *
make_table(uint32_t max_peers)
{
	struct wg_peers_params p = { .rcu = rcu, .max_peers = max_peers };
	struct wg_peers *t;
	char name[16];

	snprintf(name, sizeof(name), "tp%u", table_no++);
	p.name = name;
	t = wg_peers_create(&p);
	assert_non_null(t);
	return t;
}

static void
key_of(uint8_t key[32], unsigned int n)
{
	unsigned int i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(n * 31 + i * 7 + (n >> 8));
}

static struct wg_peer *
add(struct wg_peers *t, unsigned int n, int expect)
{
	struct wg_peer init, *out = NULL;

	memset(&init, 0, sizeof(init));
	key_of(init.public_key, n);
	init.id = 12345;	/* ignored */
	init.persistent_keepalive = (uint16_t)n;
	assert_int_equal(wg_peers_add(t, &init, &out), expect);
	return out;
}

static void
test_add_lookup_remove(void **state)
{
	struct wg_peers *t = make_table(64);
	struct wg_peer init, *a, *b;
	uint8_t key[32];

	(void)state;
	memset(&init, 0, sizeof(init));
	key_of(init.public_key, 1);
	memset(init.preshared_key, 0x5a, sizeof(init.preshared_key));
	init.has_psk = true;
	init.endpoint.family = 2;
	init.endpoint.port = 51820;
	init.persistent_keepalive = 25;
	init.name = (char *)"branch-1";
	assert_int_equal(wg_peers_add(t, &init, &a), 0);
	assert_int_equal(a->id, 0);
	assert_string_equal(a->name, "branch-1");
	assert_ptr_not_equal(a->name, init.name);
	assert_int_equal(a->persistent_keepalive, 25);
	assert_int_equal(a->endpoint.port, 51820);
	assert_memory_equal(a->preshared_key, init.preshared_key, 32);

	b = add(t, 2, 0);
	assert_int_equal(b->id, 1);
	assert_null(b->name);
	assert_int_equal(wg_peers_count(t), 2);

	key_of(key, 1);
	assert_ptr_equal(wg_peers_lookup(t, key), a);
	key_of(key, 2);
	assert_ptr_equal(wg_peers_lookup(t, key), b);
	key_of(key, 3);
	assert_null(wg_peers_lookup(t, key));
	assert_ptr_equal(wg_peers_get(t, 0), a);
	assert_ptr_equal(wg_peers_get(t, 1), b);
	assert_null(wg_peers_get(t, 2));
	assert_null(wg_peers_get(t, 63));
	assert_null(wg_peers_get(t, 64));
	assert_null(wg_peers_get(t, UINT32_MAX));

	/* Duplicate public key refused, table unchanged. */
	add(t, 1, -EEXIST);
	assert_int_equal(wg_peers_count(t), 2);

	assert_int_equal(wg_peers_remove(t, 0), 0);
	assert_int_equal(wg_peers_remove(t, 0), -ENOENT);
	assert_int_equal(wg_peers_remove(t, 7), -ENOENT);
	assert_int_equal(wg_peers_remove(t, 1000), -ENOENT);
	key_of(key, 1);
	assert_null(wg_peers_lookup(t, key));
	assert_null(wg_peers_get(t, 0));
	assert_int_equal(wg_peers_count(t), 1);
	/* The key can come back once removed. */
	a = add(t, 1, 0);
	assert_ptr_equal(wg_peers_lookup(t, key), a);
	wg_peers_free(t);
}

static int
collect(struct wg_peer *peer, void *arg)
{
	uint32_t *seen = arg;

	seen[seen[0] + 1] = peer->id;
	seen[0]++;
	return peer->id == 40 ? 99 : 0;
}

static void
test_foreach(void **state)
{
	struct wg_peers *t = make_table(100);
	uint32_t seen[101];
	unsigned int i;

	(void)state;
	for (i = 0; i < 50; i++)
		add(t, 100 + i, 0);
	for (i = 0; i < 50; i += 3)
		assert_int_equal(wg_peers_remove(t, i), 0);
	memset(seen, 0, sizeof(seen));
	assert_int_equal(wg_peers_foreach(t, collect, seen), 99);
	/* Ids 0..40 not divisible by 3, in order, stopping at 40. */
	assert_int_equal(seen[0], 27);
	for (i = 1; i <= seen[0]; i++) {
		assert_true(seen[i] % 3 != 0);
		if (i > 1)
			assert_true(seen[i] > seen[i - 1]);
	}
	assert_int_equal(seen[seen[0]], 40);
	wg_peers_free(t);
}

/* A reader that never reports quiescent holds every removed id back. */
static void
test_id_reuse_after_grace_period(void **state)
{
	struct wg_peers *t = make_table(8);
	struct wg_peer *p;
	unsigned int i;

	(void)state;
	assert_int_equal(rte_rcu_qsbr_thread_register(rcu, 0), 0);
	rte_rcu_qsbr_thread_online(rcu, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(add(t, i, 0)->id, i);
	assert_int_equal(wg_peers_remove(t, 1), 0);
	assert_int_equal(wg_peers_remove(t, 2), 0);
	wg_peers_reclaim(t);
	/* Grace period not over: fresh ids only. */
	for (i = 4; i < 8; i++)
		assert_int_equal(add(t, 10 + i, 0)->id, i);
	/* Every id is live or pending: full. */
	add(t, 50, -ENOSPC);
	assert_null(wg_peers_get(t, 1));
	assert_null(wg_peers_get(t, 2));

	rte_rcu_qsbr_quiescent(rcu, 0);
	/* The grace period is over: add reclaims by itself and reuses 1 and 2. */
	p = add(t, 51, 0);
	assert_true(p->id == 1 || p->id == 2);
	p = add(t, 52, 0);
	assert_true(p->id == 1 || p->id == 2);
	add(t, 53, -ENOSPC);
	assert_int_equal(wg_peers_count(t), 8);

	/* Removed while the reader is online again, then freed with it offline. */
	assert_int_equal(wg_peers_remove(t, 5), 0);
	rte_rcu_qsbr_thread_offline(rcu, 0);
	assert_int_equal(rte_rcu_qsbr_thread_unregister(rcu, 0), 0);
	p = add(t, 54, 0);
	assert_int_equal(p->id, 5);
	wg_peers_free(t);
}

static void
test_bad_params(void **state)
{
	struct wg_peers_params p = { .name = "bad", .rcu = rcu, .max_peers = 0 };

	(void)state;
	assert_null(wg_peers_create(&p));
	p.max_peers = WG_PEERS_MAX_ID + 1;
	assert_null(wg_peers_create(&p));
	p.max_peers = 4;
	p.rcu = NULL;
	assert_null(wg_peers_create(&p));
	p.rcu = rcu;
	p.name = "a-name-far-too-long-for-dpdk";
	assert_null(wg_peers_create(&p));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_lookup_remove),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_id_reuse_after_grace_period),
		cmocka_unit_test(test_bad_params),
	};
	int ret;

	rcu = wg_test_eal_init("test_peers", "1024", 4);
	if (rcu == NULL)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	wg_test_eal_fini(rcu);
	return ret;
}
