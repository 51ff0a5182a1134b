/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The neighbour table (ARP / ND results) and the packets held while a next
 * hop resolves. No EAL here: the caller provides the memory, so the module
 * is unit-tested without hugepages.
 *
 * One writer (the control lcore), lock-free readers (workers, telemetry):
 * every slot is a sequence lock, slots are never freed while the table
 * exists, and a slot once keyed keeps a key (a FREE slot is a tombstone
 * reused by a later insert on the same probe path), so a lookup never
 * follows a broken probe chain. Lookups probe at most WG_NEIGH_WINDOW slots.
 */
#ifndef WG_NEIGH_H
#define WG_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	WG_NEIGH_WINDOW = 16,
	WG_NEIGH_MAX_PROBES = 3,
};

enum wg_neigh_state {
	WG_NEIGH_FREE = 0,	/* tombstone (or never used when family is 0) */
	WG_NEIGH_INCOMPLETE,	/* resolving: broadcast probes, no MAC yet */
	WG_NEIGH_REACHABLE,	/* confirmed within reachable time */
	WG_NEIGH_STALE,		/* usable; re-probed if used */
	WG_NEIGH_PROBE,		/* usable; unicast probes outstanding */
	WG_NEIGH_PERMANENT,	/* static entry from the configuration */
	WG_NEIGH_STATE_MAX
};

/* port is the caller's port index (0 WAN, 1 LAN); family AF_INET or AF_INET6. */
struct wg_neigh_key {
	uint8_t port;
	uint8_t family;
	uint8_t addr[16];	/* network order; zero beyond the family's size */
};

struct wg_neigh_entry {
	uint32_t seq;		/* odd while the writer changes the slot */
	uint8_t state;
	uint8_t probes;
	uint8_t used;		/* set by readers, cleared by the aging pass */
	uint8_t pad;
	struct wg_neigh_key key;
	uint8_t mac[6];
	uint64_t confirmed_ns;	/* last confirmation or creation */
	uint64_t probe_ns;	/* last probe sent */
} __attribute__((aligned(64)));

struct wg_neigh_params {
	uint64_t reachable_ns;	/* REACHABLE -> STALE */
	uint64_t gc_ns;		/* unused STALE entry removed after this */
	uint64_t retrans_ns;	/* between probes */
};

struct wg_neigh_table {
	uint32_t mask;		/* slots - 1 */
	uint32_t max_entries;	/* live (non-FREE) entries */
	uint32_t n_live;
	uint32_t seed;
	struct wg_neigh_params params;
	struct wg_neigh_entry slots[];
};

/* Bytes needed for a table of max_entries (slots: power of two >= 2 * max). */
size_t wg_neigh_table_size(uint32_t max_entries);
/* Initialise zeroed memory of wg_neigh_table_size(max_entries) bytes. */
void wg_neigh_table_init(struct wg_neigh_table *t, uint32_t max_entries, uint32_t seed,
	const struct wg_neigh_params *params);

/* Reader side (any thread): true and *mac when the entry is usable. */
bool wg_neigh_lookup(struct wg_neigh_table *t, const struct wg_neigh_key *key, uint8_t mac[6])
	__attribute__((warn_unused_result));

/* Writer side (control lcore only). */
int wg_neigh_add_static(struct wg_neigh_table *t, const struct wg_neigh_key *key,
	const uint8_t mac[6], uint64_t now);

enum wg_neigh_resolve_result {
	WG_NEIGH_READY = 0,	/* *mac set */
	WG_NEIGH_PENDING = 1,	/* resolution already under way */
	WG_NEIGH_STARTED = 2,	/* new INCOMPLETE entry: send the first probe now */
};
/* Returns an enum wg_neigh_resolve_result, or -ENOSPC. */
int wg_neigh_resolve(struct wg_neigh_table *t, const struct wg_neigh_key *key, uint64_t now,
	uint8_t mac[6]);

enum {
	WG_NEIGH_F_SOLICITED = 1 << 0,	/* a reply to our probe: REACHABLE */
	WG_NEIGH_F_CREATE = 1 << 1,	/* create a STALE entry if missing */
};
/*
 * Learned (key, mac) from an ARP reply / request or NA / NS. Returns 1 when
 * the entry just became usable (held packets can go), 0 otherwise, -ENOSPC.
 */
int wg_neigh_confirm(struct wg_neigh_table *t, const struct wg_neigh_key *key,
	const uint8_t mac[6], unsigned int flags, uint64_t now);

enum wg_neigh_action {
	WG_NEIGH_PROBE_MULTICAST,	/* INCOMPLETE: broadcast ARP / multicast NS */
	WG_NEIGH_PROBE_UNICAST,		/* PROBE: to the cached MAC */
	WG_NEIGH_FAILED,		/* removed: drop what waits for it */
	WG_NEIGH_EXPIRED,		/* removed after gc time unused */
};
typedef void (*wg_neigh_action_fn)(void *ctx, enum wg_neigh_action action,
	const struct wg_neigh_key *key, const uint8_t mac[6]);
/* Aging and probing; call about once per second. Returns the number of actions. */
unsigned int wg_neigh_tick(struct wg_neigh_table *t, uint64_t now, wg_neigh_action_fn fn,
	void *ctx);

/* Consistent copy of every live entry (any thread). Returns how many. */
typedef void (*wg_neigh_walk_fn)(void *ctx, const struct wg_neigh_entry *copy);
unsigned int wg_neigh_walk(struct wg_neigh_table *t, wg_neigh_walk_fn fn, void *ctx);

const char *wg_neigh_state_name(enum wg_neigh_state s);

/*
 * Packets waiting for a next hop, under one global cap: adding to a full
 * hold evicts the oldest packet (returned to the caller to free and count).
 * Control lcore only.
 */
struct wg_neigh_held {
	void *pkt;
	uint64_t since_ns;
	struct wg_neigh_key key;
};

struct wg_neigh_hold {
	uint32_t cap;
	uint32_t n;
	struct wg_neigh_held held[];
};

size_t wg_neigh_hold_size(uint32_t cap);
void wg_neigh_hold_init(struct wg_neigh_hold *h, uint32_t cap);
/* Returns the evicted oldest packet when the hold was full, else NULL. */
void *wg_neigh_hold_add(struct wg_neigh_hold *h, void *pkt, const struct wg_neigh_key *key,
	uint64_t now);
/*
 * Remove and pass to fn, oldest first, every packet waiting for key (any key
 * when NULL) that has waited since at most older_than. Returns how many.
 */
typedef void (*wg_neigh_hold_fn)(void *ctx, void *pkt, const struct wg_neigh_key *key);
unsigned int wg_neigh_hold_take(struct wg_neigh_hold *h, const struct wg_neigh_key *key,
	uint64_t older_than, wg_neigh_hold_fn fn, void *ctx);

#endif
