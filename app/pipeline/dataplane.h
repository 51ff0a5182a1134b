/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data plane's entry point, and the glue between it and the protocol
 * engine of the control lcore that telemetry and tests use.
 */
#ifndef WG_DATAPLANE_H
#define WG_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include "control/config.h"
#include "stats.h"

struct wg_dp;
struct wg_engine_ops;
struct wg_engine_stats;

/* Exit statuses (config.md). */
enum {
	WG_DATAPLANE_OK = 0,
	WG_DATAPLANE_RUNTIME_ERROR = 3,	/* EAL, port, memory, or mbufs leaked at shutdown */
};

/*
 * Initialise EAL with eal_argv (eal_argv[0] is the program name, as in
 * main's argv), set up both ports of conf with one RX and one TX queue per
 * worker (every EAL lcore but the main one), build the peer and allowed-IPs
 * tables and the protocol engine from conf, run the workers and the control
 * loop (on the main lcore) until SIGINT or SIGTERM, then stop the ports, free
 * the engine and the tables (keys wiped) and check that every mbuf is back in
 * its pool.
 *
 * Environment:
 *   WG_DPDK_IDLE=0 keeps the workers polling when idle, WG_DPDK_IDLE=1 makes
 *       them back off (pause, then sleep, so that a shared CPU is not
 *       starved); unset, dpdk.idle-backoff of the configuration decides
 *       (default true);
 *   WG_DPDK_CLOCK_SPEEDUP=N runs the protocol clock N times faster (timers,
 *       rekeys, ages; TAI64N and handshake times stay on the wall clock);
 *   WG_DPDK_UNDER_LOAD_THRESHOLD=N: handshake messages queued behind the
 *       one being processed from which the engine is under load (cookies,
 *       rate limit); default MAX_QUEUED_INCOMING_HANDSHAKES / 8 = 512.
 *   WG_DPDK_UAPI_DIR=DIR puts the wg tool's socket DIR/<name>.sock instead of
 *       /var/run/wireguard/<name>.sock (tests).
 *
 * Returns WG_DATAPLANE_OK, or WG_DATAPLANE_RUNTIME_ERROR after printing the
 * reason to stderr.
 */
int wg_dataplane_run(struct wg_conf **confp, const char *conf_path, int eal_argc, char **eal_argv);

/*
 * After wg_dp_create(): the peer and allowed-IPs tables from conf, the
 * receiver-index table and the engine (private key, every configured peer
 * adopted), published in dp for the workers, with one hold budget for
 * staged packets and packets waiting for ARP / ND. under_load_backlog 0: the
 * engine's default. 0 or a negative errno (message printed); wg_dp_destroy()
 * frees what was built either way.
 */
int wg_dp_engine_create(struct wg_dp *dp, const struct wg_conf *conf,
	uint32_t under_load_backlog);

/* control.c: the engine's output (arg: the struct wg_dp). */
extern const struct wg_engine_ops wg_control_engine_ops;
/*
 * One pass of the control loop on the calling (main) lcore: handshake ring,
 * worker rings, engine timers, engine counters published, telemetry query
 * answered. No neighbour aging, no idle backoff. Returns the work done. For
 * tests that drive the control lcore by hand.
 */
unsigned int wg_control_poll(struct wg_dp *dp);

/* Packets the control lcore may hold (staged + waiting for a neighbour), all peers. */
enum { WG_DP_HOLD_BUDGET = 8192 };

/*
 * A copy of one peer taken by the control lcore between two packets, so
 * that endpoint, counters and handshake time belong together.
 */
struct wg_peer_info {
	uint32_t id;
	uint8_t public_key[32];
	struct wg_endpoint endpoint;	/* family 0: none */
	uint64_t rx_bytes;
	uint64_t rx_packets;
	uint64_t tx_bytes;
	uint64_t tx_packets;
	uint64_t last_handshake_sec;	/* wall clock, 0: never */
	uint32_t last_handshake_nsec;
	uint16_t persistent_keepalive;
	uint16_t staged;
	bool has_psk;
	bool has_current_keypair;	/* false once the key material is zeroed */
	char name[64];			/* "" when none */
	uint64_t drop[WG_PEER_DROP_MAX];	/* by enum wg_peer_drop_reason (stats.h) */
};

enum { WG_PEER_QUERY_MAX = 64 };

/*
 * Any thread but the control lcore (telemetry): copies of up to max peers
 * (at most WG_PEER_QUERY_MAX) whose id is >= start, in id order. Returns how
 * many, with *next the id to ask for next (UINT32_MAX after the last peer)
 * and *total the number of peers; -ETIMEDOUT when the control loop did not
 * answer within a second (stopping), -EINVAL.
 */
int wg_control_peers_query(struct wg_dp *dp, uint32_t start, struct wg_peer_info *out,
	unsigned int max, uint32_t *next, uint32_t *total);
/* Same for the peer with this public key: 0, -ENOENT, -ETIMEDOUT. */
int wg_control_peer_query(struct wg_dp *dp, const uint8_t public_key[32],
	struct wg_peer_info *out);
/* The device as the control lcore sees it between two packets (wg show's interface part). */
struct wg_device_info {
	uint8_t public_key[32];
	bool has_identity;		/* false: no private key (all zero) */
	uint16_t listen_port;		/* the running port (a wg set listen-port included) */
	uint32_t peers;
};

/* Any thread but the control lcore (telemetry): 0, -ETIMEDOUT, -EINVAL. */
int wg_control_device_query(struct wg_dp *dp, struct wg_device_info *out);

/*
 * The engine's counters as last published by the control lcore (each
 * counter read atomically; all zero before the engine ran). Any thread.
 */
void wg_control_engine_stats(struct wg_engine_stats *out);

#endif
