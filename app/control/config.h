/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The configuration file (docs/config.md): a streaming libyaml loader that
 * never calls EAL. Every error is one line "FILE:LINE:COLUMN: KEY-PATH: what"
 * (1-based positions, key path as written, list indices from 0, "(root)" for
 * the document itself); warnings have the same form with "warning: " after
 * the position. Secrets are never printed.
 *
 * Required keys: version (must be 1), interface.private-key or
 * interface.private-key-file, interface.listen-port, ports.wan.device,
 * ports.wan.address (at least one), ports.lan.device, and public-key in every
 * peer and ip, mac in every neighbor. Everything else is optional.
 */
#ifndef WG_CONFIG_H
#define WG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
	WG_CONF_IFNAME_MAX = 15,	/* IFNAMSIZ - 1 */
	WG_CONF_MTU_DEFAULT = 1420,
	WG_CONF_MTU_MIN = 576,
	WG_CONF_MTU_MAX = 9000,
};

/*
 * An IPv4 or IPv6 prefix; family is AF_INET or AF_INET6 (0: none). addr is
 * in network byte order, zero beyond the family's size and, for allowed IPs,
 * below len. A plain address (gateway, neighbor) has len 32 or 128.
 */
struct wg_prefix {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
};

/* A UDP endpoint; family 0 means none. port in host byte order. */
struct wg_endpoint {
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
};

struct wg_conf_peer {
	uint8_t public_key[32];
	uint8_t psk[32];		/* all zero when !has_psk */
	struct wg_prefix *allowed;	/* n_allowed entries, inside wg_conf.prefixes */
	const char *name;		/* NULL when absent */
	struct wg_endpoint endpoint;
	bool has_psk;
	uint16_t persistent_keepalive;	/* seconds, 0 = off */
	uint16_t file;			/* index in wg_conf.files, for messages */
	uint32_t n_allowed;
	uint32_t first_allowed;		/* allowed == prefixes + first_allowed */
	uint32_t line;			/* 1-based position of the peer's mapping */
	uint32_t column;
};

struct wg_conf_port {
	const char *device;		/* DPDK device name: PCI address or vdev name */
	uint32_t n_addresses;
	struct wg_prefix *addresses;	/* interface addresses, host bits kept */
	struct wg_prefix gateway4;	/* family 0 when absent */
	struct wg_prefix gateway6;
};

struct wg_conf_neighbor {
	struct wg_prefix ip;		/* len 32 or 128 */
	uint8_t mac[6];
};

struct wg_conf_mem;

struct wg_conf {
	int version;
	char ifname[WG_CONF_IFNAME_MAX + 1];	/* default "wg0" */
	uint8_t private_key[32];
	uint8_t public_key[32];		/* derived from private_key */
	uint16_t listen_port;
	uint16_t mtu;
	int eal_argc;			/* dpdk.eal-args, without argv[0] */
	char **eal_argv;		/* eal_argc entries, then NULL */
	bool idle_backoff;		/* dpdk.idle-backoff, default true */
	struct wg_conf_port wan;
	struct wg_conf_port lan;
	size_t n_neighbors;
	struct wg_conf_neighbor *neighbors;
	size_t n_peers;			/* in file order, includes last */
	struct wg_conf_peer *peers;
	size_t n_prefixes;		/* every peer's allowed IPs, in peer order */
	struct wg_prefix *prefixes;
	size_t n_files;			/* [0] is the main file, then included files */
	const char **files;
	struct wg_conf_mem *mem;	/* private: string arena */
};

/* wg_config_load_buffer() flags. */
enum {
	WG_CONFIG_NO_FILES = 1 << 0,	/* refuse key files and includes (fuzzing) */
};

/*
 * Load and validate a configuration file. Returns 0 and sets *out, or -1
 * after printing exactly one error line to err (warnings may precede it).
 * err may be NULL to print nothing.
 */
int wg_config_load(const char *path, struct wg_conf **out, FILE *err)
	__attribute__((warn_unused_result));

/*
 * Same, from memory; name is used in messages and its directory resolves
 * relative key-file and include paths.
 */
int wg_config_load_buffer(const char *name, const void *buf, size_t len, unsigned int flags,
	struct wg_conf **out, FILE *err) __attribute__((warn_unused_result));

/* Wipe the keys and free everything; NULL is allowed. */
void wg_config_free(struct wg_conf *conf);

/*
 * One line without newline, e.g. "wg0: 3 peers, 5 prefixes (4 IPv4, 1 IPv6),
 * wan net_tap0, lan net_tap1", then ", no idle back-off" when dpdk.idle-backoff
 * is false. Returns what snprintf returns.
 */
int wg_config_summary(const struct wg_conf *conf, char *buf, size_t size);

#endif
