/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), at most half full. Slots are found with SipHash under a random
 * key, so a remote sender cannot aim its sources at one probe chain.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "messages.h"
#include "crypto/clock.h"
#include "crypto/ct.h"
#include "crypto/ratelimiter.h"

enum {
	PACKET_COST = WG_NSEC_PER_SEC / WG_RATELIMITER_PACKETS_PER_SECOND,
	TOKEN_MAX = PACKET_COST * WG_RATELIMITER_PACKETS_BURSTABLE,
	IDLE_NS = WG_NSEC_PER_SEC,
	/* A full table sweeps by itself at most this often. */
	OPPORTUNISTIC_GC_NS = WG_NSEC_PER_SEC / 8,
};

struct rl_entry {
	uint64_t key;
	uint64_t last_time_ns;
	uint64_t tokens;
	uint8_t family;
	bool used;
};

struct wg_ratelimiter {
	pthread_mutex_t lock;
	struct rl_entry *slots;
	uint32_t mask;          /* slots - 1 */
	uint32_t count;
	uint32_t max_entries;
	uint64_t last_gc;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

struct wg_ratelimiter *
wg_ratelimiter_create(uint32_t max_entries)
{
	struct wg_ratelimiter *rl;
	uint64_t slots = 2;

	if (max_entries == 0)
		max_entries = WG_RATELIMITER_DEFAULT_ENTRIES;
	if (max_entries > (1U << 30))
		return NULL;
	while (slots < 2ULL * max_entries)
		slots <<= 1;

	rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		return NULL;
	rl->slots = calloc(slots, sizeof(*rl->slots));
	if (rl->slots == NULL)
		goto err;
	if (pthread_mutex_init(&rl->lock, NULL) != 0)
		goto err;
	rl->mask = (uint32_t)(slots - 1);
	rl->max_entries = max_entries;
	rl->last_gc = wg_clock_now();
	wg_random_bytes(rl->hash_key, sizeof(rl->hash_key));
	return rl;
err:
	free(rl->slots);
	free(rl);
	return NULL;
}

void
wg_ratelimiter_destroy(struct wg_ratelimiter *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	wg_memzero(rl->hash_key, sizeof(rl->hash_key));
	free(rl->slots);
	free(rl);
}

static uint32_t
home_slot(const struct wg_ratelimiter *rl, uint64_t key, uint8_t family)
{
	uint8_t in[9], out[crypto_shorthash_BYTES];
	uint64_t h;

	memcpy(in, &key, sizeof(key));
	in[8] = family;
	crypto_shorthash(out, in, sizeof(in), rl->hash_key);
	memcpy(&h, out, sizeof(h));
	return (uint32_t)h & rl->mask;
}

/* Empty slot i and pull later members of its probe chain back over the hole. */
static void
remove_slot(struct wg_ratelimiter *rl, uint32_t i)
{
	uint32_t j = i, home;

	for (;;) {
		rl->slots[i].used = false;
		for (;;) {
			j = (j + 1) & rl->mask;
			if (!rl->slots[j].used)
				goto done;
			home = home_slot(rl, rl->slots[j].key, rl->slots[j].family);
			/* Movable unless its home lies cyclically in (i, j]. */
			if (((j - home) & rl->mask) >= ((j - i) & rl->mask))
				break;
		}
		rl->slots[i] = rl->slots[j];
		i = j;
	}
done:
	rl->count--;
}

static bool
idle(const struct rl_entry *e, uint64_t now)
{
	return now > e->last_time_ns && now - e->last_time_ns > IDLE_NS;
}

static uint32_t
sweep(struct wg_ratelimiter *rl, uint64_t now)
{
	uint32_t i = 0, removed = 0;

	/*
	 * Entries only move backwards, so re-examining slot i after a removal
	 * visits every entry; one that wraps past the end is examined again.
	 */
	while (i <= rl->mask) {
		if (rl->slots[i].used && idle(&rl->slots[i], now)) {
			remove_slot(rl, i);
			removed++;
			continue;
		}
		i++;
	}
	rl->last_gc = now;
	return removed;
}

uint32_t
wg_ratelimiter_gc(struct wg_ratelimiter *rl)
{
	uint32_t removed;

	pthread_mutex_lock(&rl->lock);
	removed = sweep(rl, wg_clock_now());
	pthread_mutex_unlock(&rl->lock);
	return removed;
}

uint32_t
wg_ratelimiter_count(struct wg_ratelimiter *rl)
{
	uint32_t n;

	pthread_mutex_lock(&rl->lock);
	n = rl->count;
	pthread_mutex_unlock(&rl->lock);
	return n;
}

static bool
make_key(int family, const uint8_t *addr, uint64_t *key)
{
	uint32_t v4;

	if (family == AF_INET) {
		memcpy(&v4, addr, sizeof(v4));
		*key = v4;
		return true;
	}
	if (family == AF_INET6) {
		/* The upper 64 bits: a whole /64 shares one bucket. */
		memcpy(key, addr, sizeof(*key));
		return true;
	}
	return false;
}

/* The slot holding the key, or the empty slot that ends its probe chain. */
static uint32_t
find(const struct wg_ratelimiter *rl, uint64_t key, uint8_t family)
{
	uint32_t i = home_slot(rl, key, family);

	while (rl->slots[i].used &&
	       (rl->slots[i].key != key || rl->slots[i].family != family))
		i = (i + 1) & rl->mask;
	return i;
}

static bool
take_tokens(struct rl_entry *e, uint64_t now)
{
	uint64_t tokens = e->tokens;

	if (now > e->last_time_ns)
		tokens += now - e->last_time_ns;
	if (tokens > TOKEN_MAX)
		tokens = TOKEN_MAX;
	e->last_time_ns = now;
	if (tokens < PACKET_COST) {
		e->tokens = tokens;
		return false;
	}
	e->tokens = tokens - PACKET_COST;
	return true;
}

static bool
insert(struct wg_ratelimiter *rl, uint64_t key, uint8_t family, uint64_t now)
{
	struct rl_entry *e;

	if (rl->count >= rl->max_entries) {
		if (now < rl->last_gc + OPPORTUNISTIC_GC_NS)
			return false;
		sweep(rl, now);
		if (rl->count >= rl->max_entries)
			return false;
	}
	/* A sweep may have moved entries: probe again. */
	e = &rl->slots[find(rl, key, family)];
	e->key = key;
	e->family = family;
	e->used = true;
	e->last_time_ns = now;
	/* A new source is charged for this packet and may send 4 more at once. */
	e->tokens = TOKEN_MAX - PACKET_COST;
	rl->count++;
	return true;
}

bool
wg_ratelimiter_allow(struct wg_ratelimiter *rl, int family, const uint8_t *addr)
{
	uint64_t key, now;
	uint32_t i;
	bool ok;

	if (!make_key(family, addr, &key))
		return false;

	pthread_mutex_lock(&rl->lock);
	now = wg_clock_now();
	i = find(rl, key, (uint8_t)family);
	if (rl->slots[i].used)
		ok = take_tokens(&rl->slots[i], now);
	else
		ok = insert(rl, key, (uint8_t)family, now);
	pthread_mutex_unlock(&rl->lock);
	return ok;
}
