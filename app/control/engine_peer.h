/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-peer state of the protocol engine, embedded in struct wg_peer (the
 * block marked "protocol state (engine)" in peers.h). Kept small: an idle
 * peer holds no staged-packet array, no keypair and one timer-wheel node.
 *
 * Who writes what:
 *   handshake, keypairs, cookie, timers, staged, last handshake time: the
 *       control lcore only (engine);
 *   endpoint: the control lcore only, under its sequence count; workers read
 *       it with wg_peer_endpoint_read() (engine_worker.h);
 *   wk (struct wg_peer_worker): workers, with relaxed atomics and the event
 *       helpers of engine_worker.h; the control lcore reads and clears;
 *       wk.drop: whoever drops one of the peer's packets (relaxed adds).
 */
#ifndef WG_ENGINE_PEER_H
#define WG_ENGINE_PEER_H

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/config.h"	/* struct wg_endpoint */
#include "crypto/cookie.h"
#include "crypto/noise.h"

/*
 * An endpoint behind a sequence count: even while stable, odd while being
 * written. Words are copied with relaxed atomics, so readers never race on
 * plain memory; a reader retries while the count is odd or changed.
 */
struct wg_endpoint_seq {
	uint32_t seq;
	union {
		struct wg_endpoint ep;
		uint32_t w[5];
	} u;
};

_Static_assert(sizeof(struct wg_endpoint) == 20, "wg_endpoint is five 32-bit words");

/* A node of the engine's hierarchical timer wheel (engine_wheel.h). */
struct wg_wheel_node {
	struct wg_wheel_node *next;
	struct wg_wheel_node **pprev;	/* NULL: not pending */
	uint64_t expires;		/* wheel tick (ms of the protocol clock) */
	uint8_t level;
};

/* The five per-peer timers of protocol.md §8.2, in the order they are checked. */
enum wg_peer_timer {
	WG_TIMER_RETRANSMIT_HANDSHAKE,
	WG_TIMER_SEND_KEEPALIVE,
	WG_TIMER_NEW_HANDSHAKE,
	WG_TIMER_ZERO_KEY_MATERIAL,
	WG_TIMER_PERSISTENT_KEEPALIVE,
	WG_TIMER_COUNT,
};

/*
 * One wheel node per peer, armed for the earliest of the pending deadlines:
 * a peer costs the wheel nothing until its first timer is due.
 */
struct wg_peer_timers {
	struct wg_wheel_node node;
	uint64_t at[WG_TIMER_COUNT];	/* protocol-clock ns; 0: not pending */
	uint64_t last_sent_handshake;	/* protocol clock (§7.4) */
	uint8_t handshake_attempts;
	bool sent_handshake;		/* last_sent_handshake is meaningful */
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
};

/* Inner packets waiting for a session: a ring allocated on first use. */
struct wg_staged {
	void **pkts;			/* MAX_STAGED_PACKETS slots, or NULL when empty */
	uint8_t head;			/* oldest */
	uint8_t count;
};

/*
 * Per-peer drop counters: one per reason of WG_PEER_DROP_REASONS
 * (pipeline/stats.h, which checks the count), at the end of the peer, off
 * the two lines a packet touches.
 */
enum { WG_PEER_DROP_SLOTS = 19 };

/*
 * Written by workers (relaxed atomics, once per burst). The pending-event
 * words come first: struct wg_peer places them on the line of the keypair
 * slots and the endpoint, which every packet reads anyway; the counters and
 * times fill the next line. With many peers a packet then touches two peer
 * lines. Counters and times are read by the control lcore and telemetry.
 */
struct wg_peer_worker {
	/* Pending events (engine_worker.h). */
	uint32_t ev;			/* WG_PEER_EV_* accumulated since the engine took them,
					 * and WG_PEER_EV_PENDING while queued to the control lcore */
	uint32_t ev_spare;
	struct noise_keypair *ev_keypair;	/* WG_PEER_EV_CONFIRM: the keypair seen as `next` */
	uint64_t rx_bytes;
	uint64_t rx_packets;
	uint64_t tx_bytes;
	uint64_t tx_packets;
	/* Protocol clock of the last ... (0: never): orders the events of one batch. */
	uint64_t last_rx;		/* authenticated packet received */
	uint64_t last_rx_data;		/* non-keepalive data received */
	uint64_t last_tx;		/* authenticated packet sent */
	uint64_t last_tx_data;		/* non-keepalive data sent */
	struct wg_endpoint_seq ev_endpoint;	/* WG_PEER_EV_ENDPOINT: the new source (rare) */
	/*
	 * Cold: drops of this peer's packets, relaxed atomic adds on the drop
	 * paths only (workers and the control lcore); read by the control lcore.
	 */
	uint64_t drop[WG_PEER_DROP_SLOTS];
};

#endif
