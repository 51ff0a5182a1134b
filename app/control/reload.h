/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hot reload (design.md §4, SIGHUP): the control lcore loads the file again
 * and applies only the difference between the configuration it runs and the
 * new one. Peers are matched by public key:
 *
 *   in the old file, not in the new one     removed (allowed IPs, sessions, staged packets)
 *   in the new file, not in the peer table  added with its allowed IPs
 *   in both                                 updated in place; handshake, keypairs,
 *                                           counters, timers and the roamed endpoint
 *                                           are kept
 *
 * In-place changes are the file's own delta (old file against new file), so
 * what the file did not change is left as it is live (a roamed endpoint, a
 * `wg set` change): pre-shared key, persistent keepalive and name are set
 * when they differ between the two files; the endpoint only when the
 * configured endpoint changed (an endpoint deleted from the file keeps the
 * live one, as `wg syncconf` does); allowed IPs are inserted and removed by
 * difference (a prefix that moves between two peers moves in one step and is
 * never unrouted). Peers present live but in neither file (added with
 * `wg set`) are left alone.
 *
 * Interface: a new private key is applied with wg_engine_set_private_key()
 * (every session restarts, protocol.md §8.4). A change of anything that
 * cannot be applied live (interface.name, listen-port, mtu, dpdk.eal-args,
 * dpdk.idle-backoff, ports: devices, addresses, gateways, neighbors) refuses the whole reload
 * with one line naming what changed: nothing is applied, so the running state
 * is always exactly one version of the file. Restart to apply those.
 *
 * All or nothing: the apply first does everything that can fail and can be
 * undone (new peers, new allowed IPs, name copies); if one fails (a table
 * full, memory), what it did is undone (moved prefixes go back to their
 * owners) and the reload changes nothing. Only then come the steps that
 * cannot fail (removals, in-place updates, the key change).
 */
#ifndef WG_RELOAD_H
#define WG_RELOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "control/config.h"
#include "control/engine.h"
#include "control/tables.h"

struct wg_reload_stats {
	uint32_t peers_added;
	uint32_t peers_removed;
	uint32_t peers_updated;		/* in place: at least one field or prefix changed */
	uint32_t peers_unchanged;
	uint32_t prefixes_added;	/* inserted for a peer, moves included */
	uint32_t prefixes_moved;	/* of which taken from another peer */
	uint32_t prefixes_removed;
	uint32_t endpoints_set;
	uint32_t psks_set;
	uint32_t keepalives_set;
	uint32_t names_set;
	bool private_key_changed;
	uint32_t failed;		/* steps that failed after the point of no return */
};

/* wg_reload_apply() returns this (positive) when it applied all but stats.failed steps. */
#define WG_RELOAD_PARTIAL 1

/*
 * Apply new_conf over old_conf (the configuration e and t run now; both fully
 * loaded and validated). Control lcore only. Returns 0 when everything was
 * applied; -ENOTSUP when an interface change needs a restart, -ENOSPC or
 * -ENOMEM when a table or memory ran out, -EINVAL for bad arguments: in these
 * cases nothing changed. WG_RELOAD_PARTIAL when a step failed after the point
 * of no return (only adding a peer whose key was our old public key, after a
 * key change; each failure logged). out (may be NULL) gets the counts; log
 * (may be NULL) gets one line per refusal or failure and a summary line.
 */
int wg_reload_apply(struct wg_engine *e, struct wg_tables *t, const struct wg_conf *old_conf,
	const struct wg_conf *new_conf, struct wg_reload_stats *out, FILE *log)
	__attribute__((warn_unused_result));

/*
 * Load path (the loader prints its one error line to log on failure) and
 * apply it over *cur. On success (0 or WG_RELOAD_PARTIAL) *cur is freed and
 * replaced by the new configuration; otherwise the new one is freed and *cur
 * is kept. -EINVAL (with the loader's line) for a bad file.
 */
int wg_reload_file(struct wg_engine *e, struct wg_tables *t, const char *path,
	struct wg_conf **cur, struct wg_reload_stats *out, FILE *log)
	__attribute__((warn_unused_result));

/* One line without newline for the counts, e.g. "2 peers added, 1 removed, ...". */
int wg_reload_summary(const struct wg_reload_stats *s, char *buf, size_t size);

/*
 * engine_reload.c: give a live peer the name (an owned malloc'ed string or
 * NULL) and return its old one for the caller to free. Control lcore only:
 * names are read only there.
 */
char *wg_engine_peer_swap_name(struct wg_engine *e, struct wg_peer *peer, char *name);

/* Async-signal-safe: ask the control loop for a reload (call from a SIGHUP handler). */
void wg_reload_request(void);
/* Control loop: true once after one or more requests (the flag is cleared). */
bool wg_reload_pending(void);
/* Install a SIGHUP handler that calls wg_reload_request(). 0 or -errno. */
int wg_reload_sighup_install(void);

#endif
