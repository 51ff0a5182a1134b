/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control lcore's loop (the EAL main lcore). It owns no port queue:
 * what it sends goes to a worker's TX ring. For now it consumes handshake
 * messages (counted and freed until the handshake code is plugged in),
 * applies the workers' neighbour events (it is the table's only writer),
 * holds packets that wait for ARP / ND, and ages and re-probes neighbours.
 */
#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_lcore.h>

#include "pipeline.h"

enum {
	CONTROL_BURST = 64,
	CONTROL_IDLE_LOOPS = 64,
	CONTROL_SLEEP_MAX_US = 1000,
};

uint64_t
wg_control_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static struct wg_lcore_stats *
my_stats(void)
{
	return &wg_stats[rte_lcore_id()];
}

static void
control_drop(struct rte_mbuf *m, enum wg_drop_reason r)
{
	wg_stats_drop(my_stats(), r, 1);
	rte_pktmbuf_free(m);
}

/* Control lcore only: it is the single producer of every worker's TX ring. */
void
wg_control_tx(struct wg_dp *dp, uint8_t role, struct rte_mbuf *m)
{
	struct wg_worker *w = dp->workers[dp->next_tx_worker++ % dp->n_workers];
	struct wg_mbuf_meta *meta = wg_meta(m);

	meta->kind = WG_META_TX;
	meta->port = role;
	if (rte_ring_sp_enqueue(w->tx_ring, m) != 0)
		control_drop(m, WG_DROP_tx_ring_full);
}

/* ---- neighbours ---- */

static void
probe(struct wg_dp *dp, const struct wg_neigh_key *key, const uint8_t *unicast)
{
	const struct wg_port *p = &dp->port[key->port];
	const struct rte_ether_addr *mac = (const struct rte_ether_addr *)unicast;
	struct rte_mbuf *m;
	rte_be32_t target;
	int src;

	if (key->family == AF_INET) {
		if (p->n_ip4 == 0)
			return;
		memcpy(&target, key->addr, 4);
		src = wg_port_ip4_onlink(p, target);
		m = wg_arp_request(dp, p, p->ip4[src >= 0 ? src : 0].addr, target, mac);
	} else {
		m = wg_nd_solicit(dp, p, key->addr, mac);
	}
	if (m == NULL) {
		wg_stats_drop(my_stats(), WG_DROP_alloc_failed, 1);
		return;
	}
	wg_control_tx(dp, key->port, m);
}

/* A held packet whose next hop answered (or did not). */
static void
send_held(void *ctx, void *pkt, const struct wg_neigh_key *key)
{
	struct wg_dp *dp = ctx;
	struct rte_mbuf *m = pkt;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint8_t mac[6];

	if (!wg_neigh_lookup(dp->neigh, key, mac)) {
		control_drop(m, WG_DROP_neigh_unresolved);
		return;
	}
	memcpy(eth->dst_addr.addr_bytes, mac, 6);
	eth->src_addr = dp->port[key->port].mac;
	wg_control_tx(dp, key->port, m);
}

static void
drop_held(void *ctx, void *pkt, const struct wg_neigh_key *key)
{
	(void)ctx;
	(void)key;
	control_drop(pkt, WG_DROP_neigh_unresolved);
}

static void
hold(struct wg_dp *dp, struct rte_mbuf *m, const struct wg_neigh_key *key, uint64_t now)
{
	struct rte_mbuf *evicted = wg_neigh_hold_add(dp->hold, m, key, now);

	if (evicted != NULL)
		control_drop(evicted, WG_DROP_neigh_hold_full);
}

/* A worker's packet waiting for meta.nexthop: send it, or hold it and probe. */
static void
neigh_wait(struct wg_dp *dp, struct rte_mbuf *m)
{
	struct wg_neigh_key k = wg_meta(m)->nexthop;
	uint64_t now = wg_control_now_ns();
	uint8_t mac[6];
	int ret;

	ret = k.port < WG_NB_PORTS ? wg_neigh_resolve(dp->neigh, &k, now, mac) : -EINVAL;
	if (ret < 0) {
		control_drop(m, WG_DROP_neigh_unresolved);
		return;
	}
	if (ret == WG_NEIGH_READY) {
		send_held(dp, m, &k);
		return;
	}
	hold(dp, m, &k, now);
	if (ret == WG_NEIGH_STARTED)
		probe(dp, &k, NULL);
}

static void
neigh_action(void *ctx, enum wg_neigh_action action, const struct wg_neigh_key *key,
	const uint8_t mac[6])
{
	struct wg_dp *dp = ctx;

	switch (action) {
	case WG_NEIGH_PROBE_MULTICAST:
		probe(dp, key, NULL);
		break;
	case WG_NEIGH_PROBE_UNICAST:
		probe(dp, key, mac);
		break;
	case WG_NEIGH_FAILED:
		wg_neigh_hold_take(dp->hold, key, UINT64_MAX, drop_held, dp);
		break;
	case WG_NEIGH_EXPIRED:
		break;
	}
}

static void
neigh_tick(struct wg_dp *dp)
{
	uint64_t now = wg_control_now_ns(), max_age = (uint64_t)WG_HOLD_MAX_MS * 1000000;

	wg_neigh_tick(dp->neigh, now, neigh_action, dp);
	if (now > max_age)
		wg_neigh_hold_take(dp->hold, NULL, now - max_age, drop_held, dp);
}

static void
resolve_start(struct wg_dp *dp, uint8_t role, uint8_t family, const void *addr)
{
	struct wg_neigh_key key = { .port = role, .family = family };
	uint8_t mac[6];

	memcpy(key.addr, addr, family == AF_INET ? 4 : 16);
	if (wg_neigh_resolve(dp->neigh, &key, wg_control_now_ns(), mac) == WG_NEIGH_STARTED)
		probe(dp, &key, NULL);
}

/* Gratuitous ARP and unsolicited NA for our addresses; resolve the gateways. */
static void
announce(struct wg_dp *dp)
{
	const struct wg_port *p;
	struct rte_mbuf *m;
	unsigned int role, i;

	for (role = 0; role < WG_NB_PORTS; role++) {
		p = &dp->port[role];
		for (i = 0; i < p->n_ip4; i++) {
			m = wg_arp_request(dp, p, p->ip4[i].addr, p->ip4[i].addr, NULL);
			if (m != NULL)
				wg_control_tx(dp, role, m);
		}
		for (i = 0; i < p->n_ip6; i++) {
			m = wg_nd_advert_unsolicited(dp, p, p->ip6[i].addr);
			if (m != NULL)
				wg_control_tx(dp, role, m);
		}
		if (p->has_gw4)
			resolve_start(dp, role, AF_INET, &p->gw4);
		if (p->has_gw6)
			resolve_start(dp, role, AF_INET6, p->gw6);
	}
}

/* ---- the rings from the workers ---- */

static unsigned int
handshakes(struct wg_dp *dp)
{
	struct rte_mbuf *pkts[CONTROL_BURST];
	unsigned int n, i;

	n = rte_ring_sc_dequeue_burst(dp->handshake_ring, (void **)pkts, CONTROL_BURST, NULL);
	if (n == 0)
		return 0;
	wg_stats_count(my_stats(), WG_CNT_handshakes_rx, n);
	/* The handshake code (mac1, cookies, Noise) is plugged in here next. */
	for (i = 0; i < n; i++)
		control_drop(pkts[i], WG_DROP_handshake_consumed);
	return n;
}

static void
apply_event(struct wg_dp *dp, const struct wg_event *ev)
{
	if (ev->type != WG_EV_NEIGH || ev->key.port >= WG_NB_PORTS)
		return;
	if (wg_neigh_confirm(dp->neigh, &ev->key, ev->mac, ev->flags, wg_control_now_ns()) == 1)
		wg_neigh_hold_take(dp->hold, &ev->key, UINT64_MAX, send_held, dp);
}

static unsigned int
worker_rings(struct wg_dp *dp, struct wg_worker *w)
{
	struct wg_event ev[CONTROL_BURST];
	struct rte_mbuf *pkts[CONTROL_BURST];
	unsigned int n, m, i;

	n = rte_ring_sc_dequeue_burst_elem(w->event_ring, ev, sizeof(ev[0]), CONTROL_BURST,
		NULL);
	for (i = 0; i < n; i++)
		apply_event(dp, &ev[i]);
	m = rte_ring_sc_dequeue_burst(w->ctrl_ring, (void **)pkts, CONTROL_BURST, NULL);
	for (i = 0; i < m; i++) {
		if (wg_meta(pkts[i])->kind == WG_META_NEIGH_WAIT)
			neigh_wait(dp, pkts[i]);
		else
			control_drop(pkts[i], WG_DROP_local_unhandled);
	}
	return n + m;
}

void
wg_control_main(struct wg_dp *dp)
{
	uint64_t tick = dp->tsc_hz, last_tick = rte_rdtsc(), now;
	unsigned int n, i, idle_loops = 0, sleep_us = 10;

	announce(dp);
	while (!wg_dp_quitting()) {
		n = handshakes(dp);
		for (i = 0; i < dp->n_workers; i++)
			n += worker_rings(dp, dp->workers[i]);
		now = rte_rdtsc();
		if (now - last_tick >= tick) {
			neigh_tick(dp);
			last_tick = now;
		}
		if (n != 0) {
			idle_loops = 0;
			sleep_us = 10;
		} else if (dp->idle && ++idle_loops >= CONTROL_IDLE_LOOPS) {
			rte_delay_us_sleep(sleep_us);
			sleep_us = RTE_MIN(sleep_us * 2, (unsigned int)CONTROL_SLEEP_MAX_US);
		}
	}
}

static void
drain_ring(struct rte_ring *r)
{
	struct rte_mbuf *m;

	if (r == NULL)
		return;
	while (rte_ring_sc_dequeue(r, (void **)&m) == 0)
		control_drop(m, WG_DROP_shutdown);
}

static void
drop_shutdown(void *ctx, void *pkt, const struct wg_neigh_key *key)
{
	(void)ctx;
	(void)key;
	control_drop(pkt, WG_DROP_shutdown);
}

void
wg_control_drain(struct wg_dp *dp)
{
	unsigned int i;

	drain_ring(dp->handshake_ring);
	for (i = 0; i < dp->n_workers; i++) {
		if (dp->workers[i] == NULL)
			continue;
		drain_ring(dp->workers[i]->tx_ring);
		drain_ring(dp->workers[i]->ctrl_ring);
	}
	if (dp->hold != NULL)
		wg_neigh_hold_take(dp->hold, NULL, UINT64_MAX, drop_shutdown, dp);
}
