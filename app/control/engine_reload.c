/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a reload needs from the engine beyond engine.h: renaming a live peer.
 * Kept apart from device.c (owned elsewhere); see reload.h.
 */
#include "control/engine_internal.h"
#include "control/reload.h"

char *
wg_engine_peer_swap_name(struct wg_engine *e, struct wg_peer *peer, char *name)
{
	char *old = peer->name;

	(void)e;
	/* Only the control lcore reads names (telemetry queries are served there). */
	peer->name = name;
	return old;
}
