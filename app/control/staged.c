/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packets of peers without a usable session (protocol.md §8.5, §8.6): at
 * most MAX_STAGED_PACKETS per peer (the oldest is dropped first), under the
 * global hold budget. The ring is allocated when the first packet arrives and
 * freed once empty, so idle peers carry a NULL pointer.
 */
#include <stdlib.h>

#include "control/engine_internal.h"

static void
drop(struct wg_engine *e, struct wg_peer *peer, void *pkt)
{
	e->ops->free_pkt(e->ops_arg, peer, pkt);
	wg_hold_budget_put(e->budget, 1);
	e->stats.staged_dropped++;
}

static void *
pop(struct wg_staged *s)
{
	void *pkt = s->pkts[s->head];

	s->head = (uint8_t)((s->head + 1) % MAX_STAGED_PACKETS);
	s->count--;
	return pkt;
}

static void
release(struct wg_staged *s)
{
	free(s->pkts);
	s->pkts = NULL;
	s->head = 0;
	s->count = 0;
}

void
wg_staged_purge(struct wg_engine *e, struct wg_peer *peer)
{
	struct wg_staged *s = &peer->staged;

	while (s->count > 0)
		drop(e, peer, pop(s));
	release(s);
}

/*
 * The kernel's wg_packet_send_staged_packets(): hand everything to the data
 * plane when current can send, else keep it and start a handshake.
 */
void
wg_staged_flush(struct wg_engine *e, struct wg_peer *peer)
{
	struct wg_staged *s = &peer->staged;

	if (s->count == 0)
		return;
	if (!wg_send_current_usable(e, peer)) {
		wg_send_queued_initiation(e, peer, false);
		return;
	}
	while (s->count > 0) {
		e->ops->send_staged(e->ops_arg, peer, pop(s));
		wg_hold_budget_put(e->budget, 1);
		e->stats.staged_sent++;
	}
	release(s);
}

void
wg_engine_stage(struct wg_engine *e, struct wg_peer *peer, void *pkt)
{
	struct wg_staged *s = &peer->staged;

	engine_clock(e);
	if (__atomic_load_n(&peer->ep.u.ep.family, __ATOMIC_RELAXED) == 0) {
		/* Nowhere to send it, now or after a handshake (§8.6). */
		e->ops->free_pkt(e->ops_arg, peer, pkt);
		e->stats.no_endpoint++;
		return;
	}
	if (s->count == MAX_STAGED_PACKETS)
		drop(e, peer, pop(s));
	if (s->pkts == NULL)
		s->pkts = malloc(MAX_STAGED_PACKETS * sizeof(*s->pkts));
	if (s->pkts == NULL || !wg_hold_budget_take(e->budget)) {
		e->ops->free_pkt(e->ops_arg, peer, pkt);
		e->stats.staged_over_cap++;
		if (s->count == 0)
			release(s);
		return;
	}
	s->pkts[(s->head + s->count) % MAX_STAGED_PACKETS] = pkt;
	s->count++;
	e->stats.staged++;
	wg_staged_flush(e, peer);
}

unsigned int
wg_engine_staged_count(const struct wg_peer *peer)
{
	return peer->staged.count;
}
