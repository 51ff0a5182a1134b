/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RCU receiver-index table: noise ops semantics, the worker bulk lookup
 * (keypair entries only), deferred frees held back by an online reader that
 * has not reported quiescent, and a differential run against a naive array.
 */
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

#include "../test_eal.h"
#include "control/engine_worker.h"

static struct rte_rcu_qsbr *rcu;
static int table_seq;

static struct wg_index_rcu *
make_table(uint32_t entries, uint32_t retire_queue)
{
	struct wg_index_rcu_params p = {
		.rcu = rcu,
		.entries = entries,
		.retire_queue = retire_queue,
	};
	char name[16];

	snprintf(name, sizeof(name), "ix%d", table_seq++);
	p.name = name;
	return wg_index_rcu_create(&p);
}

static struct noise_keypair *
new_keypair(void *owner)
{
	struct noise_keypair *kp = aligned_alloc(64, sizeof(*kp));

	assert_non_null(kp);
	memset(kp, 0, sizeof(*kp));
	kp->entry.type = NOISE_INDEX_KEYPAIR;
	kp->entry.owner = owner;
	return kp;
}

static void
test_ops_and_lookup(void **state)
{
	const struct noise_index_ops *ops = &wg_index_rcu_ops;
	struct noise_handshake hs = { .entry = { .type = NOISE_INDEX_HANDSHAKE } };
	struct noise_keypair *kp = new_keypair(&hs), *out[4];
	struct wg_index_rcu *t = make_table(64, 16);
	uint32_t idx[4];

	(void)state;
	assert_non_null(t);
	assert_int_equal(ops->insert_at(t, &hs.entry, 0x11223344), 0);
	assert_int_equal(hs.entry.index, 0x11223344);
	assert_int_equal(ops->insert_at(t, &kp->entry, 0x11223344), -EEXIST);
	assert_ptr_equal(ops->lookup(t, 0x11223344, NOISE_INDEX_HANDSHAKE), &hs.entry);
	assert_null(ops->lookup(t, 0x11223344, NOISE_INDEX_KEYPAIR));
	/* Handshake entries are invisible to the data path (§9.5). */
	assert_null(wg_index_lookup_keypair(t, 0x11223344));

	ops->replace(t, &hs.entry, &kp->entry);
	assert_int_equal(kp->entry.index, 0x11223344);
	assert_int_equal(wg_index_rcu_count(t), 1);
	assert_ptr_equal(wg_index_lookup_keypair(t, 0x11223344), kp);
	assert_ptr_equal(ops->lookup(t, 0x11223344, NOISE_INDEX_HANDSHAKE | NOISE_INDEX_KEYPAIR),
		&kp->entry);
	/* The handshake still carries the index: removing it must not drop the keypair. */
	ops->remove(t, &hs.entry);
	assert_ptr_equal(wg_index_lookup_keypair(t, 0x11223344), kp);

	assert_int_equal(ops->insert(t, &hs.entry), 0);
	assert_int_not_equal(hs.entry.index, 0x11223344);
	idx[0] = 0x11223344;
	idx[1] = hs.entry.index;
	idx[2] = 0xdeadbeef;
	idx[3] = 0x11223344;
	assert_int_equal(wg_index_lookup_keypairs(t, idx, out, 4), 2);
	assert_ptr_equal(out[0], kp);
	assert_null(out[1]);
	assert_null(out[2]);
	assert_ptr_equal(out[3], kp);

	ops->remove(t, &kp->entry);
	assert_null(wg_index_lookup_keypair(t, 0x11223344));
	ops->remove(t, &kp->entry);	/* absent: no-op */
	assert_int_equal(wg_index_rcu_count(t), 1);
	wg_index_rcu_retire_keypair(t, kp);
	wg_index_rcu_reclaim(t);
	assert_int_equal(wg_index_rcu_retired(t), 0);	/* no reader online */
	wg_index_rcu_free(t);
}

/* A reader that is online and has not reported keeps every retired keypair alive. */
static void
test_grace_period(void **state)
{
	struct wg_index_rcu *t = make_table(256, 8);
	struct noise_keypair *kp[100];
	unsigned int i;

	(void)state;
	assert_non_null(t);
	assert_int_equal(rte_rcu_qsbr_thread_register(rcu, 0), 0);
	rte_rcu_qsbr_thread_online(rcu, 0);
	for (i = 0; i < 100; i++) {
		kp[i] = new_keypair(NULL);
		assert_int_equal(wg_index_rcu_ops.insert(t, &kp[i]->entry), 0);
	}
	assert_int_equal(wg_index_rcu_count(t), 100);
	/* More retirements than the queue holds: the overflow list takes the rest. */
	for (i = 0; i < 100; i++) {
		wg_index_rcu_ops.remove(t, &kp[i]->entry);
		wg_index_rcu_retire_keypair(t, kp[i]);
	}
	wg_index_rcu_reclaim(t);
	assert_int_equal(wg_index_rcu_retired(t), 100);
	assert_int_equal(wg_index_rcu_count(t), 0);
	rte_rcu_qsbr_quiescent(rcu, 0);
	wg_index_rcu_reclaim(t);
	assert_int_equal(wg_index_rcu_retired(t), 0);
	rte_rcu_qsbr_thread_offline(rcu, 0);
	assert_int_equal(rte_rcu_qsbr_thread_unregister(rcu, 0), 0);
	wg_index_rcu_free(t);
}

/* Random inserts and removes against a naive array of (index, entry). */
static void
test_differential(void **state)
{
	enum { N = 2000, STEPS = 20000 };
	struct wg_index_rcu *t = make_table(4 * N, 64);
	static struct noise_index_entry ents[N];
	static bool live[N];
	unsigned int step, i, j, n_live = 0;
	struct noise_keypair *out;
	uint32_t idx;

	(void)state;
	assert_non_null(t);
	srandom(7);
	for (i = 0; i < N; i++)
		ents[i].type = (i & 1) ? NOISE_INDEX_KEYPAIR : NOISE_INDEX_HANDSHAKE;
	for (step = 0; step < STEPS; step++) {
		i = (unsigned int)random() % N;
		if (!live[i]) {
			assert_int_equal(wg_index_rcu_ops.insert(t, &ents[i]), 0);
			live[i] = true;
			n_live++;
		} else {
			wg_index_rcu_ops.remove(t, &ents[i]);
			live[i] = false;
			n_live--;
		}
		if (step % 1000 != 0)
			continue;
		assert_int_equal(wg_index_rcu_count(t), n_live);
		for (j = 0; j < N; j++) {
			if (!live[j])
				continue;
			assert_ptr_equal(wg_index_rcu_ops.lookup(t, ents[j].index, ~0u), &ents[j]);
			/* Indices are unique among live entries. */
		}
	}
	for (j = 0; j < N; j++) {
		for (i = j + 1; i < N && live[j]; i++)
			if (live[i])
				assert_int_not_equal(ents[i].index, ents[j].index);
	}
	/* Keypair entries only, through the worker path (not real keypairs: compare addresses). */
	for (j = 0; j < N; j++) {
		if (!live[j])
			continue;
		idx = ents[j].index;
		wg_index_lookup_keypairs(t, &idx, &out, 1);
		if (ents[j].type == NOISE_INDEX_KEYPAIR)
			assert_ptr_equal(&out->entry, &ents[j]);
		else
			assert_null(out);
	}
	wg_index_rcu_free(t);
}

/* Capacity: exactly `entries` live indices; a fixed index whose slot is taken is refused. */
static void
test_capacity_and_slots(void **state)
{
	enum { N = 64 };
	struct wg_index_rcu *t = make_table(N, 16);
	static struct noise_index_entry ents[N + 2];
	unsigned int i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < N + 2; i++)
		ents[i].type = NOISE_INDEX_KEYPAIR;
	for (i = 0; i < N; i++) {
		assert_int_equal(wg_index_rcu_ops.insert(t, &ents[i]), 0);
	}
	assert_int_equal(wg_index_rcu_ops.insert(t, &ents[N]), -ENOSPC);
	for (i = 0; i < N; i++)
		assert_ptr_equal(wg_index_rcu_ops.lookup(t, ents[i].index, ~0u), &ents[i]);
	/* Same low bits, other high bits: another index, not found, and its slot is busy. */
	assert_null(wg_index_rcu_ops.lookup(t, ents[0].index ^ 0x80000000u, ~0u));
	wg_index_rcu_ops.remove(t, &ents[1]);
	assert_int_equal(wg_index_rcu_ops.insert_at(t, &ents[N], ents[0].index ^ 0x80000000u),
		-EEXIST);
	assert_int_equal(wg_index_rcu_ops.insert_at(t, &ents[N], ents[1].index ^ 0x80000000u), 0);
	assert_ptr_equal(wg_index_rcu_ops.lookup(t, ents[1].index ^ 0x80000000u, ~0u), &ents[N]);
	/* The removed entry's old index does not find the new owner of its slot. */
	assert_null(wg_index_rcu_ops.lookup(t, ents[1].index, ~0u));
	assert_int_equal(wg_index_rcu_ops.insert(t, &ents[N + 1]), -ENOSPC);
	wg_index_rcu_free(t);
}

static void
test_bad_params(void **state)
{
	struct wg_index_rcu_params p = { .name = "x", .rcu = NULL };

	(void)state;
	assert_null(wg_index_rcu_create(&p));
	p.rcu = rcu;
	p.name = "a-name-too-long-for-eal";
	assert_null(wg_index_rcu_create(&p));
	assert_null(wg_index_rcu_create(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops_and_lookup),
		cmocka_unit_test(test_grace_period),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_capacity_and_slots),
		cmocka_unit_test(test_bad_params),
	};
	int ret;

	rcu = wg_test_eal_init("test_index_rcu", "512", 4);
	if (rcu == NULL)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	wg_test_eal_fini(rcu);
	return ret;
}
