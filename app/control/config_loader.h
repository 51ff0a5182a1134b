/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the configuration loader (config.c, config_ports.c,
 * config_peers.c): the state of one load and the helpers the sections share.
 */
#ifndef WG_CONFIG_LOADER_H
#define WG_CONFIG_LOADER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "control/config.h"
#include "control/config_set.h"
#include "control/config_yaml.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

struct wg_config_include {
	const char *pattern;
	yaml_mark_t mark;
};

struct wg_config_loader {
	struct wg_conf *conf;
	struct wg_yaml *y;		/* the file being read */
	unsigned int flags;
	uint16_t file;			/* its index in conf->files */
	char dir[PATH_MAX];		/* its directory for relative paths; "": the cwd */
	size_t cap_peers, cap_prefixes, cap_owner, cap_neighbors, cap_files, cap_eal;
	size_t cap_addresses, cap_includes;
	struct wg_config_set keys, prefixes, neighbors, addresses;
	uint32_t *owner;		/* prefix index -> peer index */
	uint32_t peer;			/* the peer being read */
	uint32_t neighbor;		/* the neighbor being read */
	struct wg_conf_port *port;	/* the port being read */
	bool have_private_key;
	yaml_mark_t address_mark;
	yaml_mark_t lan_device_mark;
	size_t own_peer;		/* SIZE_MAX: none */
	size_t n_includes;
	struct wg_config_include *includes;
};

/* A copy of s in the configuration's string arena; NULL when out of memory. */
char *wg_config_strdup(struct wg_conf *c, const char *s);
/* Make room for need elements of size bytes in the array *p of capacity *cap. */
int wg_config_grow(void *p, size_t *cap, size_t need, size_t size)
	__attribute__((warn_unused_result));
/* Report "out of memory" at the current event; -1. */
int wg_config_oom(struct wg_yaml *y);
/* s for a message, unless it looks like a key (one pasted in the wrong place may be secret). */
const char *wg_config_quote(struct wg_yaml *y, const char *s);
/* Read a key from the current scalar, the key itself or a file name; the scalar is wiped. */
int wg_config_read_key(struct wg_config_loader *l, struct wg_yaml *y, bool file,
	uint8_t out[32]) __attribute__((warn_unused_result));
/* Read a decimal in [lo, hi]; else "'VALUE' is WHAT (LO..HI)". */
int wg_config_read_uint(struct wg_yaml *y, uint32_t lo, uint32_t hi, uint32_t *out,
	const char *what) __attribute__((warn_unused_result));

/* Hash the 16 bytes at b and extra. */
static inline uint64_t
wg_config_hash16(const uint8_t *b, uint64_t extra)
{
	uint64_t a, c;

	memcpy(&a, b, 8);
	memcpy(&c, b + 8, 8);
	return wg_config_set_mix(a ^ wg_config_set_mix(c ^ extra));
}

/* The ports section (config_ports.c) and its hash sets. */
void wg_config_ports_init(struct wg_config_loader *l);
int wg_config_ports_parse(struct wg_yaml *y, void *ctx);
/* The peers section (config_peers.c) and its hash sets. */
void wg_config_peers_init(struct wg_config_loader *l);
int wg_config_peers_parse(struct wg_yaml *y, void *ctx);

#endif
