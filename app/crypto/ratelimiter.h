/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-source handshake rate limiter of protocol.md §7.3: a token bucket
 * per source (20 packets/s, burst 5, 1 ns of tokens per ns), keyed on the
 * full IPv4 address or the upper 64 bits of an IPv6 address (a /64 shares a
 * bucket). The table is bounded: a new source is refused while it is full.
 * Entries idle for more than 1 s are removed by wg_ratelimiter_gc(), which
 * the control lcore calls every second, and opportunistically when the table
 * is full. Time is the protocol clock (wg_clock_now()).
 *
 * Thread-safe (one mutex per limiter); it runs on the handshake path only.
 */
#ifndef WG_RATELIMITER_H
#define WG_RATELIMITER_H

#include <stdbool.h>
#include <stdint.h>

enum {
	WG_RATELIMITER_PACKETS_PER_SECOND = 20,
	WG_RATELIMITER_PACKETS_BURSTABLE = 5,
	WG_RATELIMITER_DEFAULT_ENTRIES = 8192 * 8,
};

struct wg_ratelimiter;

/* A limiter holding at most max_entries sources (0: the default). NULL on failure. */
struct wg_ratelimiter *wg_ratelimiter_create(uint32_t max_entries);
void wg_ratelimiter_destroy(struct wg_ratelimiter *rl);

/*
 * Take one packet's tokens for the source: family is AF_INET (addr holds 4
 * bytes) or AF_INET6 (16 bytes), network byte order. false: refuse the
 * packet (bucket empty, table full, or unknown family).
 */
bool wg_ratelimiter_allow(struct wg_ratelimiter *rl, int family, const uint8_t *addr)
	__attribute__((warn_unused_result));

/* Remove every entry idle for more than 1 s; returns how many were removed. */
uint32_t wg_ratelimiter_gc(struct wg_ratelimiter *rl);

/* Sources currently tracked. */
uint32_t wg_ratelimiter_count(struct wg_ratelimiter *rl);

#endif
