/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hierarchical timer wheel (Varghese and Lauck) for the engine's per-peer
 * timers: 4 levels of 256 slots, a tick of 1 ms of the protocol clock, so
 * level L holds timers due within 256^(L+1) ticks (about 49 days in all;
 * later ones are parked in the last level and re-filed when it comes round).
 * Adding, moving and deleting a timer is O(1); a timer is touched at most
 * once per level on its way down, and advancing over empty ticks jumps
 * straight to the next occupied level boundary. Idle timers therefore cost
 * nothing per tick. Single-threaded (the control lcore).
 */
#ifndef WG_ENGINE_WHEEL_H
#define WG_ENGINE_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

#include "control/engine_peer.h"	/* struct wg_wheel_node */

enum {
	WG_WHEEL_BITS = 8,
	WG_WHEEL_SLOTS = 1 << WG_WHEEL_BITS,
	WG_WHEEL_LEVELS = 4,
	WG_WHEEL_TICK_NS = 1000000,
};

struct wg_wheel {
	uint64_t cur;			/* the next tick to run; every earlier one has run */
	uint32_t count[WG_WHEEL_LEVELS];
	uint64_t visited;		/* nodes touched by advancing: fired, cascaded or re-filed */
	uint64_t fired;
	struct wg_wheel_node *slot[WG_WHEEL_LEVELS][WG_WHEEL_SLOTS];
};

typedef void (*wg_wheel_fn)(void *arg, struct wg_wheel_node *node);

void wg_wheel_init(struct wg_wheel *w, uint64_t now_tick);
void wg_wheel_node_init(struct wg_wheel_node *n);

static inline bool
wg_wheel_pending(const struct wg_wheel_node *n)
{
	return n->pprev != NULL;
}

/* Arm (or move) n to fire at tick expires; a past tick fires at the next advance. */
void wg_wheel_add(struct wg_wheel *w, struct wg_wheel_node *n, uint64_t expires);
/* Disarm n if pending. */
void wg_wheel_del(struct wg_wheel *w, struct wg_wheel_node *n);
/*
 * Run every tick up to and including now_tick: fn is called for each node
 * due, already disarmed (it may re-arm it, or add and delete other nodes).
 * Returns how many fired.
 */
unsigned int wg_wheel_advance(struct wg_wheel *w, uint64_t now_tick, wg_wheel_fn fn, void *arg);
/* Nodes pending. */
uint32_t wg_wheel_count(const struct wg_wheel *w);

/* Protocol-clock ns to ticks: deadlines round up so that nothing fires early. */
static inline uint64_t
wg_wheel_tick_ceil(uint64_t ns)
{
	return (ns + WG_WHEEL_TICK_NS - 1) / WG_WHEEL_TICK_NS;
}

static inline uint64_t
wg_wheel_tick_floor(uint64_t ns)
{
	return ns / WG_WHEEL_TICK_NS;
}

#endif
