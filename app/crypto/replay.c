/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "messages.h"
#include "crypto/replay.h"

_Static_assert((WG_REPLAY_RING_BLOCKS & (WG_REPLAY_RING_BLOCKS - 1)) == 0,
	       "the ring size must be a power of two");

void
wg_replay_init(struct wg_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* Clear the blocks a forward jump leaves behind; at most the whole ring. */
static void
slide(struct wg_replay *r, uint64_t n)
{
	uint64_t cur = r->last / WG_REPLAY_BLOCK_BITS;
	uint64_t diff = n / WG_REPLAY_BLOCK_BITS - cur;
	uint64_t i;

	if (diff > WG_REPLAY_RING_BLOCKS)
		diff = WG_REPLAY_RING_BLOCKS;
	for (i = 1; i <= diff; i++)
		r->ring[(cur + i) & (WG_REPLAY_RING_BLOCKS - 1)] = 0;
	r->last = n;
}

bool
wg_replay_check(struct wg_replay *r, uint64_t n)
{
	uint64_t bit, *word;

	if (n >= REJECT_AFTER_MESSAGES)
		return false;
	if (n > r->last)
		slide(r, n);
	else if (r->last - n > WG_REPLAY_WINDOW)
		return false;

	word = &r->ring[(n / WG_REPLAY_BLOCK_BITS) & (WG_REPLAY_RING_BLOCKS - 1)];
	bit = 1ULL << (n % WG_REPLAY_BLOCK_BITS);
	if (*word & bit)
		return false;
	*word |= bit;
	return true;
}
