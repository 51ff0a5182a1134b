/* SPDX-License-Identifier: BSD-3-Clause */
#include <stddef.h>
#include <string.h>

#include "control/engine_wheel.h"

#define MASK ((uint64_t)WG_WHEEL_SLOTS - 1)
#define SPAN(level) (1ULL << (WG_WHEEL_BITS * ((level) + 1)))

void
wg_wheel_init(struct wg_wheel *w, uint64_t now_tick)
{
	memset(w, 0, sizeof(*w));
	w->cur = now_tick;
}

void
wg_wheel_node_init(struct wg_wheel_node *n)
{
	memset(n, 0, sizeof(*n));
}

static void
list_add(struct wg_wheel_node **head, struct wg_wheel_node *n)
{
	n->next = *head;
	if (n->next != NULL)
		n->next->pprev = &n->next;
	*head = n;
	n->pprev = head;
}

static void
list_del(struct wg_wheel_node *n)
{
	*n->pprev = n->next;
	if (n->next != NULL)
		n->next->pprev = n->pprev;
	n->next = NULL;
	n->pprev = NULL;
}

/* File n by its distance from the current tick. */
static void
link_node(struct wg_wheel *w, struct wg_wheel_node *n)
{
	uint64_t e = n->expires < w->cur ? w->cur : n->expires;
	uint64_t delta = e - w->cur;
	unsigned int level = 0;

	while (level < WG_WHEEL_LEVELS - 1 && delta >= SPAN(level))
		level++;
	/* Beyond the wheel: park in the farthest slot, re-filed when it comes round. */
	if (delta >= SPAN(WG_WHEEL_LEVELS - 1))
		e = w->cur + SPAN(WG_WHEEL_LEVELS - 1) - 1;
	n->level = (uint8_t)level;
	w->count[level]++;
	list_add(&w->slot[level][(e >> (WG_WHEEL_BITS * level)) & MASK], n);
}

void
wg_wheel_del(struct wg_wheel *w, struct wg_wheel_node *n)
{
	if (n->pprev == NULL)
		return;
	w->count[n->level]--;
	list_del(n);
}

void
wg_wheel_add(struct wg_wheel *w, struct wg_wheel_node *n, uint64_t expires)
{
	wg_wheel_del(w, n);
	n->expires = expires;
	link_node(w, n);
}

uint32_t
wg_wheel_count(const struct wg_wheel *w)
{
	uint32_t n = 0;
	unsigned int l;

	for (l = 0; l < WG_WHEEL_LEVELS; l++)
		n += w->count[l];
	return n;
}

/*
 * Take a slot's list into a local head: nodes stay counted at their level
 * until popped, so a callback may still delete any of them.
 */
static void
detach(struct wg_wheel_node **slot, struct wg_wheel_node **local)
{
	*local = *slot;
	*slot = NULL;
	if (*local != NULL)
		(*local)->pprev = local;
}

/* Move the nodes of one slot of a higher level down, relative to the current tick. */
static void
cascade(struct wg_wheel *w, unsigned int level, unsigned int idx)
{
	struct wg_wheel_node *local, *n;

	detach(&w->slot[level][idx], &local);
	while (local != NULL) {
		n = local;
		w->count[n->level]--;
		list_del(n);
		w->visited++;
		link_node(w, n);
	}
}

static unsigned int
run_tick(struct wg_wheel *w, uint64_t t, wg_wheel_fn fn, void *arg)
{
	struct wg_wheel_node *local, *n;
	unsigned int level, idx, fired = 0;

	for (level = 1; (t & ((1ULL << (WG_WHEEL_BITS * level)) - 1)) == 0 &&
			level < WG_WHEEL_LEVELS; level++) {
		idx = (t >> (WG_WHEEL_BITS * level)) & MASK;
		cascade(w, level, idx);
	}
	detach(&w->slot[0][t & MASK], &local);
	while ((n = local) != NULL) {
		w->count[n->level]--;
		list_del(n);
		w->visited++;
		if (n->expires > t) {
			link_node(w, n);	/* parked beyond the wheel */
			continue;
		}
		fired++;
		fn(arg, n);
	}
	return fired;
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The next tick worth running: the next boundary of the lowest occupied level. */
static uint64_t
next_tick(const struct wg_wheel *w, uint64_t limit)
{
	unsigned int level = 0;
	uint64_t span;

	while (level < WG_WHEEL_LEVELS && w->count[level] == 0)
		level++;
	if (level == 0)
		return w->cur;
	if (level == WG_WHEEL_LEVELS)
		return limit;
	span = 1ULL << (WG_WHEEL_BITS * level);
	return min_u64((w->cur + span - 1) & ~(span - 1), limit);
}

unsigned int
wg_wheel_advance(struct wg_wheel *w, uint64_t now_tick, wg_wheel_fn fn, void *arg)
{
	unsigned int fired = 0;

	while (w->cur <= now_tick) {
		fired += run_tick(w, w->cur, fn, arg);
		w->cur++;
		w->cur = next_tick(w, now_tick + 1);
	}
	w->fired += fired;
	return fired;
}
