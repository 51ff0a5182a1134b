/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "neigh.h"

static const char *const state_names[WG_NEIGH_STATE_MAX] = {
	[WG_NEIGH_FREE] = "free",
	[WG_NEIGH_INCOMPLETE] = "incomplete",
	[WG_NEIGH_REACHABLE] = "reachable",
	[WG_NEIGH_STALE] = "stale",
	[WG_NEIGH_PROBE] = "probe",
	[WG_NEIGH_PERMANENT] = "permanent",
};

const char *
wg_neigh_state_name(enum wg_neigh_state s)
{
	return (unsigned int)s < WG_NEIGH_STATE_MAX ? state_names[s] : "?";
}

static bool
usable(uint8_t state)
{
	return state == WG_NEIGH_REACHABLE || state == WG_NEIGH_STALE ||
		state == WG_NEIGH_PROBE || state == WG_NEIGH_PERMANENT;
}

static bool
key_equal(const struct wg_neigh_key *a, const struct wg_neigh_key *b)
{
	return a->port == b->port && a->family == b->family &&
		memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static uint32_t
key_hash(const struct wg_neigh_table *t, const struct wg_neigh_key *k)
{
	const uint64_t mul = 0x9e3779b97f4a7c15ULL;
	uint64_t a, b, h;

	memcpy(&a, k->addr, 8);
	memcpy(&b, k->addr + 8, 8);
	h = (t->seed | ((uint64_t)k->port << 40) | ((uint64_t)k->family << 48)) ^ a;
	h *= mul;
	h ^= h >> 32;
	h ^= b;
	h *= mul;
	h ^= h >> 29;
	return (uint32_t)h;
}

size_t
wg_neigh_table_size(uint32_t max_entries)
{
	uint32_t slots = 1;

	while (slots < 2 * max_entries || slots < WG_NEIGH_WINDOW)
		slots <<= 1;
	return sizeof(struct wg_neigh_table) + (size_t)slots * sizeof(struct wg_neigh_entry);
}

void
wg_neigh_table_init(struct wg_neigh_table *t, uint32_t max_entries, uint32_t seed,
	const struct wg_neigh_params *params)
{
	size_t slots = (wg_neigh_table_size(max_entries) - sizeof(*t)) /
		sizeof(struct wg_neigh_entry);

	t->mask = (uint32_t)slots - 1;
	t->max_entries = max_entries;
	t->n_live = 0;
	t->seed = seed;
	t->params = *params;
}

/* A consistent snapshot of one slot; false if the slot was never used. */
static bool
read_slot(const struct wg_neigh_entry *e, struct wg_neigh_entry *copy)
{
	uint32_t s1, s2;

	for (;;) {
		s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		memcpy(copy, e, sizeof(*copy));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
		if (s1 == s2)
			return copy->key.family != 0;
	}
}

static void
write_begin(struct wg_neigh_entry *e)
{
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
write_end(struct wg_neigh_entry *e)
{
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELEASE);
}

bool
wg_neigh_lookup(struct wg_neigh_table *t, const struct wg_neigh_key *key, uint8_t mac[6])
{
	uint32_t h = key_hash(t, key);
	struct wg_neigh_entry copy;
	struct wg_neigh_entry *e;
	unsigned int i;

	for (i = 0; i < WG_NEIGH_WINDOW; i++) {
		e = &t->slots[(h + i) & t->mask];
		if (!read_slot(e, &copy))
			return false;
		if (!key_equal(&copy.key, key))
			continue;
		if (!usable(copy.state))
			return false;
		memcpy(mac, copy.mac, 6);
		if (!__atomic_load_n(&e->used, __ATOMIC_RELAXED))
			__atomic_store_n(&e->used, 1, __ATOMIC_RELAXED);
		return true;
	}
	return false;
}

/* Writer: the live entry for key, or NULL. */
static struct wg_neigh_entry *
find_live(struct wg_neigh_table *t, const struct wg_neigh_key *key)
{
	uint32_t h = key_hash(t, key);
	struct wg_neigh_entry *e;
	unsigned int i;

	for (i = 0; i < WG_NEIGH_WINDOW; i++) {
		e = &t->slots[(h + i) & t->mask];
		if (e->key.family == 0)
			return NULL;
		if (key_equal(&e->key, key))
			return e->state != WG_NEIGH_FREE ? e : NULL;
	}
	return NULL;
}

static void
slot_free(struct wg_neigh_table *t, struct wg_neigh_entry *e)
{
	write_begin(e);
	e->state = WG_NEIGH_FREE;
	write_end(e);
	t->n_live--;
}

/* The oldest entry that is not static, among slots [from, from + n). */
static struct wg_neigh_entry *
oldest_evictable(struct wg_neigh_table *t, uint32_t from, uint32_t n)
{
	struct wg_neigh_entry *best = NULL, *e;
	uint32_t i;

	for (i = 0; i < n; i++) {
		e = &t->slots[(from + i) & t->mask];
		if (e->state == WG_NEIGH_FREE || e->state == WG_NEIGH_PERMANENT)
			continue;
		if (best == NULL || e->confirmed_ns < best->confirmed_ns)
			best = e;
	}
	return best;
}

/*
 * Writer: a slot for a key that has no live entry, on the key's probe path,
 * keyed and counted live (state set by the caller). NULL when every
 * candidate is static.
 */
static struct wg_neigh_entry *
slot_claim(struct wg_neigh_table *t, const struct wg_neigh_key *key, uint8_t state,
	const uint8_t mac[6], uint64_t now)
{
	uint32_t h = key_hash(t, key);
	struct wg_neigh_entry *slot = NULL, *victim, *e;
	unsigned int i;

	if (t->n_live >= t->max_entries) {
		victim = oldest_evictable(t, 0, t->mask + 1);
		if (victim == NULL)
			return NULL;
		slot_free(t, victim);
	}
	for (i = 0; i < WG_NEIGH_WINDOW; i++) {
		e = &t->slots[(h + i) & t->mask];
		if (e->key.family == 0 || key_equal(&e->key, key)) {
			slot = e;
			break;
		}
		if (e->state == WG_NEIGH_FREE && slot == NULL)
			slot = e;
	}
	if (slot == NULL) {
		slot = oldest_evictable(t, h, WG_NEIGH_WINDOW);
		if (slot == NULL)
			return NULL;
		slot_free(t, slot);
	}
	write_begin(slot);
	slot->key = *key;
	slot->state = state;
	slot->probes = 0;
	__atomic_store_n(&slot->used, 0, __ATOMIC_RELAXED);
	memset(slot->mac, 0, sizeof(slot->mac));
	if (mac != NULL)
		memcpy(slot->mac, mac, sizeof(slot->mac));
	slot->confirmed_ns = now;
	slot->probe_ns = now;
	write_end(slot);
	t->n_live++;
	return slot;
}

int
wg_neigh_add_static(struct wg_neigh_table *t, const struct wg_neigh_key *key,
	const uint8_t mac[6], uint64_t now)
{
	struct wg_neigh_entry *e = find_live(t, key);

	if (e != NULL) {
		write_begin(e);
		e->state = WG_NEIGH_PERMANENT;
		memcpy(e->mac, mac, sizeof(e->mac));
		e->confirmed_ns = now;
		write_end(e);
		return 0;
	}
	return slot_claim(t, key, WG_NEIGH_PERMANENT, mac, now) != NULL ? 0 : -ENOSPC;
}

int
wg_neigh_resolve(struct wg_neigh_table *t, const struct wg_neigh_key *key, uint64_t now,
	uint8_t mac[6])
{
	struct wg_neigh_entry *e = find_live(t, key);

	if (e != NULL) {
		if (!usable(e->state))
			return WG_NEIGH_PENDING;
		memcpy(mac, e->mac, 6);
		if (!e->used)
			__atomic_store_n(&e->used, 1, __ATOMIC_RELAXED);
		return WG_NEIGH_READY;
	}
	e = slot_claim(t, key, WG_NEIGH_INCOMPLETE, NULL, now);
	if (e == NULL)
		return -ENOSPC;
	/* The caller sends the first probe now. */
	e->probes = 1;
	return WG_NEIGH_STARTED;
}

static void
set_mac_state(struct wg_neigh_entry *e, const uint8_t mac[6], uint8_t state, uint64_t now)
{
	write_begin(e);
	memcpy(e->mac, mac, sizeof(e->mac));
	e->state = state;
	e->probes = 0;
	e->confirmed_ns = now;
	write_end(e);
}

int
wg_neigh_confirm(struct wg_neigh_table *t, const struct wg_neigh_key *key,
	const uint8_t mac[6], unsigned int flags, uint64_t now)
{
	uint8_t state = (flags & WG_NEIGH_F_SOLICITED) ? WG_NEIGH_REACHABLE : WG_NEIGH_STALE;
	struct wg_neigh_entry *e = find_live(t, key);
	bool was_usable;

	if (e == NULL) {
		if (!(flags & WG_NEIGH_F_CREATE))
			return 0;
		return slot_claim(t, key, state, mac, now) != NULL ? 1 : -ENOSPC;
	}
	if (e->state == WG_NEIGH_PERMANENT)
		return 0;
	was_usable = usable(e->state);
	/* An unsolicited message with the same MAC confirms nothing (RFC 4861 7.2.5). */
	if (state == WG_NEIGH_REACHABLE || e->state == WG_NEIGH_INCOMPLETE ||
			memcmp(e->mac, mac, sizeof(e->mac)) != 0)
		set_mac_state(e, mac, state, now);
	return !was_usable && usable(e->state);
}

static void
set_state(struct wg_neigh_entry *e, uint8_t state)
{
	write_begin(e);
	e->state = state;
	write_end(e);
}

/* One slot's aging step; true when fn was called. */
static bool
age_slot(struct wg_neigh_table *t, struct wg_neigh_entry *e, uint64_t now,
	wg_neigh_action_fn fn, void *ctx)
{
	const struct wg_neigh_params *p = &t->params;
	struct wg_neigh_key key = e->key;
	uint8_t mac[6];
	enum wg_neigh_action action;

	memcpy(mac, e->mac, sizeof(mac));
	switch (e->state) {
	case WG_NEIGH_REACHABLE:
		if (now - e->confirmed_ns < p->reachable_ns)
			return false;
		__atomic_store_n(&e->used, 0, __ATOMIC_RELAXED);
		set_state(e, WG_NEIGH_STALE);
		return false;
	case WG_NEIGH_STALE:
		if (__atomic_exchange_n(&e->used, 0, __ATOMIC_RELAXED)) {
			write_begin(e);
			e->state = WG_NEIGH_PROBE;
			e->probes = 1;
			e->probe_ns = now;
			write_end(e);
			action = WG_NEIGH_PROBE_UNICAST;
		} else if (now - e->confirmed_ns >= p->gc_ns) {
			slot_free(t, e);
			action = WG_NEIGH_EXPIRED;
		} else {
			return false;
		}
		break;
	case WG_NEIGH_INCOMPLETE:
	case WG_NEIGH_PROBE:
		if (now - e->probe_ns < p->retrans_ns)
			return false;
		if (e->probes >= WG_NEIGH_MAX_PROBES) {
			slot_free(t, e);
			action = WG_NEIGH_FAILED;
			break;
		}
		action = e->state == WG_NEIGH_INCOMPLETE ?
			WG_NEIGH_PROBE_MULTICAST : WG_NEIGH_PROBE_UNICAST;
		e->probes++;
		e->probe_ns = now;
		break;
	default:
		return false;
	}
	if (fn != NULL)
		fn(ctx, action, &key, mac);
	return true;
}

unsigned int
wg_neigh_tick(struct wg_neigh_table *t, uint64_t now, wg_neigh_action_fn fn, void *ctx)
{
	unsigned int n = 0;
	uint32_t i;

	for (i = 0; i <= t->mask; i++)
		if (t->slots[i].key.family != 0)
			n += age_slot(t, &t->slots[i], now, fn, ctx);
	return n;
}

unsigned int
wg_neigh_walk(struct wg_neigh_table *t, wg_neigh_walk_fn fn, void *ctx)
{
	struct wg_neigh_entry copy;
	unsigned int n = 0;
	uint32_t i;

	for (i = 0; i <= t->mask; i++) {
		if (!read_slot(&t->slots[i], &copy) || copy.state == WG_NEIGH_FREE)
			continue;
		fn(ctx, &copy);
		n++;
	}
	return n;
}

size_t
wg_neigh_hold_size(uint32_t cap)
{
	return sizeof(struct wg_neigh_hold) + (size_t)cap * sizeof(struct wg_neigh_held);
}

void
wg_neigh_hold_init(struct wg_neigh_hold *h, uint32_t cap)
{
	h->cap = cap;
	h->n = 0;
}

/*
 * The array is kept in arrival order (removal shifts), so the oldest is
 * always held[0]; the cap is small (hundreds) and only the control lcore
 * touches it.
 */
static void
remove_at(struct wg_neigh_hold *h, uint32_t i)
{
	memmove(&h->held[i], &h->held[i + 1], (h->n - i - 1) * sizeof(h->held[0]));
	h->n--;
}

void *
wg_neigh_hold_add(struct wg_neigh_hold *h, void *pkt, const struct wg_neigh_key *key,
	uint64_t now)
{
	void *evicted = NULL;

	if (h->cap == 0)
		return pkt;
	if (h->n == h->cap) {
		evicted = h->held[0].pkt;
		remove_at(h, 0);
	}
	h->held[h->n].pkt = pkt;
	h->held[h->n].since_ns = now;
	h->held[h->n].key = *key;
	h->n++;
	return evicted;
}

unsigned int
wg_neigh_hold_take(struct wg_neigh_hold *h, const struct wg_neigh_key *key,
	uint64_t older_than, wg_neigh_hold_fn fn, void *ctx)
{
	struct wg_neigh_held one;
	unsigned int n = 0;
	uint32_t i = 0;

	while (i < h->n) {
		one = h->held[i];
		if (one.since_ns > older_than ||
				(key != NULL && !key_equal(&one.key, key))) {
			i++;
			continue;
		}
		remove_at(h, i);
		fn(ctx, one.pkt, &one.key);
		n++;
	}
	return n;
}
