/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linear probing with backward-shift deletion. Indices are uniformly random,
 * so the low bits are the slot; a remote sender only chooses which index it
 * looks up, never which are stored.
 */
#include <errno.h>
#include <stdlib.h>

#include "crypto/ct.h"
#include "crypto/index_table.h"

enum { MIN_SLOTS = 16, MAX_SLOTS = 1U << 31, MAX_DRAWS = 64 };

struct wg_index_table {
	struct noise_index_entry **slots;
	uint32_t mask;
	uint32_t count;
};

static struct noise_index_entry **
alloc_slots(uint64_t n)
{
	return calloc(n, sizeof(struct noise_index_entry *));
}

struct wg_index_table *
wg_index_table_create(uint32_t capacity_hint)
{
	struct wg_index_table *t;
	uint64_t n = MIN_SLOTS;

	while (n < 2ULL * capacity_hint && n < MAX_SLOTS)
		n <<= 1;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->slots = alloc_slots(n);
	if (t->slots == NULL) {
		free(t);
		return NULL;
	}
	t->mask = (uint32_t)(n - 1);
	return t;
}

void
wg_index_table_destroy(struct wg_index_table *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t);
}

uint32_t
wg_index_table_count(const struct wg_index_table *t)
{
	return t->count;
}

/* The slot holding index, or the empty slot ending its probe chain. */
static uint32_t
find(const struct wg_index_table *t, uint32_t index)
{
	uint32_t i = index & t->mask;

	while (t->slots[i] != NULL && t->slots[i]->index != index)
		i = (i + 1) & t->mask;
	return i;
}

static int
grow(struct wg_index_table *t)
{
	struct noise_index_entry **old = t->slots;
	uint64_t n = (uint64_t)t->mask + 1, i;

	if (2 * n > MAX_SLOTS)
		return -ENOSPC;
	t->slots = alloc_slots(2 * n);
	if (t->slots == NULL) {
		t->slots = old;
		return -ENOMEM;
	}
	t->mask = (uint32_t)(2 * n - 1);
	for (i = 0; i < n; i++)
		if (old[i] != NULL)
			t->slots[find(t, old[i]->index)] = old[i];
	free(old);
	return 0;
}

static int
make_room(struct wg_index_table *t)
{
	if (2ULL * (t->count + 1) <= (uint64_t)t->mask + 1)
		return 0;
	return grow(t);
}

int
wg_index_table_insert_at(struct wg_index_table *t, struct noise_index_entry *e, uint32_t index)
{
	uint32_t i;
	int ret;

	ret = make_room(t);
	if (ret < 0)
		return ret;
	i = find(t, index);
	if (t->slots[i] != NULL)
		return -EEXIST;
	e->index = index;
	t->slots[i] = e;
	t->count++;
	return 0;
}

int
wg_index_table_insert(struct wg_index_table *t, struct noise_index_entry *e)
{
	uint32_t i, index;
	int ret, draws;

	ret = make_room(t);
	if (ret < 0)
		return ret;
	/* At most half full: a draw is free with probability >= 1/2. */
	for (draws = 0; draws < MAX_DRAWS; draws++) {
		index = wg_random_u32();
		i = find(t, index);
		if (t->slots[i] == NULL) {
			e->index = index;
			t->slots[i] = e;
			t->count++;
			return 0;
		}
	}
	return -ENOSPC;
}

struct noise_index_entry *
wg_index_table_lookup(const struct wg_index_table *t, uint32_t index, unsigned int type_mask)
{
	struct noise_index_entry *e = t->slots[find(t, index)];

	if (e == NULL || (e->type & type_mask) == 0)
		return NULL;
	return e;
}

void
wg_index_table_replace(struct wg_index_table *t, struct noise_index_entry *old_e,
		       struct noise_index_entry *new_e)
{
	uint32_t i = find(t, old_e->index);

	new_e->index = old_e->index;
	if (t->slots[i] == old_e)
		t->slots[i] = new_e;
}

void
wg_index_table_remove(struct wg_index_table *t, struct noise_index_entry *e)
{
	uint32_t i = find(t, e->index), j, home;

	if (t->slots[i] != e)
		return;
	t->count--;
	j = i;
	for (;;) {
		t->slots[i] = NULL;
		for (;;) {
			j = (j + 1) & t->mask;
			if (t->slots[j] == NULL)
				return;
			home = t->slots[j]->index & t->mask;
			/* Movable unless its home lies cyclically in (i, j]. */
			if (((j - home) & t->mask) >= ((j - i) & t->mask))
				break;
		}
		t->slots[i] = t->slots[j];
		i = j;
	}
}

static int
ops_insert(void *table, struct noise_index_entry *e)
{
	return wg_index_table_insert(table, e);
}

static int
ops_insert_at(void *table, struct noise_index_entry *e, uint32_t index)
{
	return wg_index_table_insert_at(table, e, index);
}

static void
ops_replace(void *table, struct noise_index_entry *old_e, struct noise_index_entry *new_e)
{
	wg_index_table_replace(table, old_e, new_e);
}

static void
ops_remove(void *table, struct noise_index_entry *e)
{
	wg_index_table_remove(table, e);
}

static struct noise_index_entry *
ops_lookup(void *table, uint32_t index, unsigned int type_mask)
{
	return wg_index_table_lookup(table, index, type_mask);
}

const struct noise_index_ops wg_index_table_ops = {
	.insert = ops_insert,
	.insert_at = ops_insert_at,
	.replace = ops_replace,
	.remove = ops_remove,
	.lookup = ops_lookup,
};
