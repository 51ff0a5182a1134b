/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The transport-data replay window of protocol.md §6.2: a ring of 128
 * 64-bit blocks (RFC 6479 style, wireguard-go's layout), window 8128, every
 * counter below REJECT_AFTER_MESSAGES accepted exactly once while it is no
 * more than 8128 behind the highest accepted counter.
 *
 * Not thread-safe: the keypair (noise.h) serialises updates. Call only after
 * the packet's AEAD tag verified.
 */
#ifndef WG_REPLAY_H
#define WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

enum {
	WG_REPLAY_BLOCK_BITS = 64,
	WG_REPLAY_RING_BLOCKS = 128, /* a power of two */
	WG_REPLAY_WINDOW = (WG_REPLAY_RING_BLOCKS - 1) * WG_REPLAY_BLOCK_BITS, /* 8128 */
};

struct wg_replay {
	uint64_t last;                          /* highest accepted counter (0 at start) */
	uint64_t ring[WG_REPLAY_RING_BLOCKS];   /* bit n % 8192 set: n was accepted */
};

/* Start a fresh window: nothing accepted yet. */
void wg_replay_init(struct wg_replay *r);

/*
 * Accept counter n once: returns true and records n when n < REJECT_AFTER_MESSAGES,
 * n was never accepted and n is not more than WG_REPLAY_WINDOW behind the
 * highest accepted counter; returns false, changing nothing, otherwise.
 */
bool wg_replay_check(struct wg_replay *r, uint64_t n) __attribute__((warn_unused_result));

#endif
