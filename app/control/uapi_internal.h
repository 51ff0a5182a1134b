/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by uapi.c (socket server, get) and uapi_set.c (set requests). Control lcore only. */
#ifndef WG_UAPI_INTERNAL_H
#define WG_UAPI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "control/config.h"	/* struct wg_prefix */

struct wg_engine;
struct wg_tables;

/* What the requests read and change. */
struct wg_uapi_dev {
	struct wg_engine *engine;
	struct wg_tables *tables;
	uint16_t listen_port;		/* the running port */
	uint32_t fwmark;		/* reported, no effect */
	int (*set_listen_port)(void *arg, uint16_t port);
	void *hook_arg;
	struct wg_prefix *scratch;	/* one peer's allowed IPs (get, replace) */
	size_t scratch_cap;
};

/* The peer's allowed IPs into d->scratch, most recent first: the count or a negative errno. */
long wg_uapi_collect_prefixes(struct wg_uapi_dev *d, uint32_t peer_id);

/* A set request's lines (each ending with '\n', without "set=1" and the blank line): errno. */
int wg_uapi_set(struct wg_uapi_dev *d, const char *body, size_t len);

#endif
