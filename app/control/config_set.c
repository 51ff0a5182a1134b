/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>

#include "control/config_set.h"

enum { MIN_SLOTS = 16 };

void
wg_config_set_init(struct wg_config_set *s, uint64_t (*hash)(const void *, uint32_t),
	bool (*equal)(const void *, uint32_t, uint32_t))
{
	s->slots = NULL;
	s->mask = 0;
	s->n = 0;
	s->hash = hash;
	s->equal = equal;
}

/*
 * A slot holds the upper 32 bits of the key's hash (the tag, which also picks
 * the position) and the index + 1: probing compares tags first, so the keys
 * (in the caller's array, a cache miss away) are read only on a likely match,
 * and growing needs no rehash.
 */
static uint64_t
make_slot(uint64_t h, uint32_t i)
{
	return (h >> 32) << 32 | (uint64_t)(i + 1);
}

static void
place(uint64_t *slots, uint32_t mask, uint64_t slot)
{
	uint32_t pos = (uint32_t)(slot >> 32) & mask;

	while (slots[pos] != 0)
		pos = (pos + 1) & mask;
	slots[pos] = slot;
}

/* Keep the load factor at most 1/2 so linear probing stays short. */
static int
grow(struct wg_config_set *s)
{
	uint32_t size = s->slots == NULL ? MIN_SLOTS : (s->mask + 1) * 2;
	uint64_t *slots;
	uint32_t i;

	if (size == 0)
		return -1;
	slots = calloc(size, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (i = 0; s->slots != NULL && i <= s->mask; i++)
		if (s->slots[i] != 0)
			place(slots, size - 1, s->slots[i]);
	free(s->slots);
	s->slots = slots;
	s->mask = size - 1;
	return 0;
}

uint32_t
wg_config_set_insert(struct wg_config_set *s, const void *base, uint32_t i)
{
	uint64_t slot = make_slot(s->hash(base, i), i), tag = slot >> 32;
	uint32_t pos;

	if ((s->slots == NULL || s->n + 1 > (s->mask + 1) / 2) && grow(s) < 0)
		return WG_CONFIG_SET_NOMEM;
	for (pos = (uint32_t)tag & s->mask; s->slots[pos] != 0; pos = (pos + 1) & s->mask) {
		uint32_t other = (uint32_t)s->slots[pos] - 1;

		if (s->slots[pos] >> 32 == tag && s->equal(base, other, i))
			return other;
	}
	s->slots[pos] = slot;
	s->n++;
	return i;
}

void
wg_config_set_free(struct wg_config_set *s)
{
	free(s->slots);
	s->slots = NULL;
	s->mask = 0;
	s->n = 0;
}
