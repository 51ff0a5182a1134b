/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control lcore's loop (the EAL main lcore). It owns no port queue:
 * what it sends goes to a worker's TX ring. Each loop it
 *   - hands the handshake messages of the handshake ring to the protocol
 *     engine (wg_engine_handshake_rx), with their outer source and the ring's
 *     backlog as the under-load signal;
 *   - applies the workers' events: learned neighbours (it is the neighbour
 *     table's only writer) and peers with protocol events pending
 *     (wg_engine_worker_event);
 *   - takes the workers' packets: those waiting for ARP / ND, and inner
 *     packets of peers without a session (staged by the engine);
 *   - runs the engine's timers, publishes its counters for telemetry and
 *     answers telemetry's peer queries;
 *   - once a second ages and re-probes neighbours.
 * What the engine sends comes back through the ops below: handshake
 * messages, cookie replies and keepalives get outer headers (wg_encap_udp)
 * and go through the neighbour step; staged packets go back to a worker to
 * be encrypted. Packets held here (staged or waiting for a neighbour) share
 * the engine's hold budget. Every mbuf ends transmitted (via a worker),
 * handed on, or freed with a counted reason.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_udp.h>

#include "control/engine.h"
#include "control/engine_worker.h"
#include "control/peers.h"
#include "control/reload.h"
#include "control/uapi.h"
#include "dataplane.h"
#include "pipeline.h"

enum {
	CONTROL_BURST = 64,
	CONTROL_IDLE_LOOPS = 64,
	CONTROL_SLEEP_MAX_US = 1000,
	QUERY_TIMEOUT_MS = 1000,
	QUERY_POLL_US = 100,
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

/* A drop of one of peer's packets (peer may be NULL): also in its counters. */
static void
control_drop_peer(struct rte_mbuf *m, enum wg_drop_reason r, struct wg_peer *peer)
{
	wg_peer_count_drop(peer, r, 1);
	control_drop(m, r);
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

/* The global cap on held packets (staged and waiting for a neighbour); NULL: none. */
static struct wg_hold_budget *
hold_budget(struct wg_dp *dp)
{
	return dp->engine != NULL ? wg_engine_hold_budget(dp->engine) : NULL;
}

static void
hold_release(struct wg_dp *dp)
{
	struct wg_hold_budget *b = hold_budget(dp);

	if (b != NULL)
		wg_hold_budget_put(b, 1);
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

/* A packet whose next hop is (or should now be) resolved: fill in L2 and send. */
static void
send_resolved(struct wg_dp *dp, struct rte_mbuf *m, const struct wg_neigh_key *key)
{
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

/* wg_neigh_hold_take() callbacks: the packet leaves the hold (and the budget). */
static void
send_held(void *ctx, void *pkt, const struct wg_neigh_key *key)
{
	struct wg_dp *dp = ctx;

	hold_release(dp);
	send_resolved(dp, pkt, key);
}

static void
drop_held(void *ctx, void *pkt, const struct wg_neigh_key *key)
{
	(void)key;
	hold_release(ctx);
	control_drop(pkt, WG_DROP_neigh_unresolved);
}

static void
hold(struct wg_dp *dp, struct rte_mbuf *m, const struct wg_neigh_key *key, uint64_t now)
{
	struct wg_hold_budget *b = hold_budget(dp);
	struct rte_mbuf *evicted;

	if (b != NULL && !wg_hold_budget_take(b)) {
		control_drop(m, WG_DROP_neigh_hold_full);
		return;
	}
	evicted = wg_neigh_hold_add(dp->hold, m, key, now);
	if (evicted != NULL) {
		hold_release(dp);
		control_drop(evicted, WG_DROP_neigh_hold_full);
	}
}

/* A packet waiting for meta.nexthop (a worker's, or ours): send it, or hold it and probe. */
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
		send_resolved(dp, m, &k);
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

/* ---- the engine's output (struct wg_engine_ops, arg: the struct wg_dp) ---- */

static enum wg_drop_reason
encap_reason(int err)
{
	switch (err) {
	case -EAFNOSUPPORT:
		return WG_DROP_no_wan_address;
	case -ENETUNREACH:
		return WG_DROP_no_gateway;
	case -ENOSPC:
		return WG_DROP_encap_no_room;
	default:
		return WG_DROP_no_route;
	}
}

/* A WireGuard message the engine originated, in a new mbuf, to dst (for peer, or NULL). */
static void
send_message(struct wg_dp *dp, struct wg_peer *peer, const struct wg_endpoint *dst,
	const void *msg, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	void *data;
	int ret;

	if (m == NULL) {
		wg_stats_drop(my_stats(), WG_DROP_alloc_failed, 1);
		return;
	}
	data = len <= UINT16_MAX ? rte_pktmbuf_append(m, (uint16_t)len) : NULL;
	if (data == NULL) {
		control_drop_peer(m, WG_DROP_encap_no_room, peer);
		return;
	}
	memcpy(data, msg, len);
	ret = wg_encap_udp(dp, m, dst);
	if (ret != 0) {
		control_drop_peer(m, encap_reason(ret), peer);
		return;
	}
	neigh_wait(dp, m);
}

static void
op_send(void *arg, struct wg_peer *peer, const void *msg, size_t len)
{
	struct wg_endpoint ep;

	if (!wg_peer_endpoint_read(peer, &ep)) {
		wg_stats_drop(my_stats(), WG_DROP_no_endpoint, 1);
		wg_peer_count_drop(peer, WG_DROP_no_endpoint, 1);
		return;
	}
	send_message(arg, peer, &ep, msg, len);
}

static void
op_send_to(void *arg, const struct wg_endpoint *dst, const void *msg, size_t len)
{
	send_message(arg, NULL, dst, msg, len);
}

static void
op_send_staged(void *arg, struct wg_peer *peer, void *pkt)
{
	/* Ring full: freed and counted per lcore by the callee. */
	if (!wg_encap_send_staged(arg, pkt, peer->id))
		wg_peer_count_drop(peer, WG_DROP_tx_ring_full, 1);
}

static void
op_free_pkt(void *arg, struct wg_peer *peer, void *pkt)
{
	(void)arg;
	control_drop_peer(pkt, wg_dp_quitting() ? WG_DROP_shutdown : WG_DROP_staged_dropped,
		peer);
}

const struct wg_engine_ops wg_control_engine_ops = {
	.send = op_send,
	.send_to = op_send_to,
	.send_staged = op_send_staged,
	.free_pkt = op_free_pkt,
};

/* ---- handshake messages ---- */

/* The outer source of a received handshake message, and the message itself. */
static bool
parse_message(struct rte_mbuf *m, struct wg_endpoint *src, const void **msg, size_t *len)
{
	const struct wg_mbuf_meta *meta = wg_meta(m);
	uint16_t data_len = rte_pktmbuf_data_len(m), ulen;
	const struct rte_ipv4_hdr *ip4;
	const struct rte_ipv6_hdr *ip6;
	const struct rte_udp_hdr *udp;

	memset(src, 0, sizeof(*src));
	if (meta->l3 >= meta->l4 || (uint32_t)meta->l4 + sizeof(*udp) > data_len ||
			meta->payload != meta->l4 + sizeof(*udp))
		return false;
	ip4 = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, meta->l3);
	switch (ip4->version_ihl >> 4) {
	case 4:
		src->family = AF_INET;
		memcpy(src->addr, &ip4->src_addr, 4);
		break;
	case 6:
		if ((uint32_t)meta->l3 + sizeof(*ip6) > meta->l4)
			return false;
		ip6 = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, meta->l3);
		src->family = AF_INET6;
		memcpy(src->addr, ip6->src_addr, 16);
		break;
	default:
		return false;
	}
	udp = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, meta->l4);
	src->port = rte_be_to_cpu_16(udp->src_port);
	ulen = rte_be_to_cpu_16(udp->dgram_len);
	if (ulen < sizeof(*udp) || (uint32_t)meta->l4 + ulen > data_len)
		return false;
	*msg = rte_pktmbuf_mtod_offset(m, const void *, meta->payload);
	*len = ulen - sizeof(*udp);
	return true;
}

static void
handshake_message(struct wg_dp *dp, struct rte_mbuf *m, unsigned int backlog)
{
	enum wg_engine_hs_result r;
	struct wg_endpoint src;
	const void *msg;
	size_t len;

	if (!parse_message(m, &src, &msg, &len)) {
		control_drop(m, WG_DROP_wg_bad_size);
		return;
	}
	r = wg_engine_handshake_rx(dp->engine, msg, len, &src, backlog);
	if (r == WG_HS_initiation || r == WG_HS_response || r == WG_HS_cookie)
		rte_pktmbuf_free(m);
	else
		control_drop(m, WG_DROP_handshake_consumed);
}

static unsigned int
handshakes(struct wg_dp *dp)
{
	struct rte_mbuf *pkts[CONTROL_BURST];
	unsigned int n, i, left = 0;

	n = rte_ring_sc_dequeue_burst(dp->handshake_ring, (void **)pkts, CONTROL_BURST, &left);
	if (n == 0)
		return 0;
	wg_stats_count(my_stats(), WG_CNT_handshakes_rx, n);
	for (i = 0; i < n; i++) {
		if (dp->engine == NULL)
			control_drop(pkts[i], WG_DROP_handshake_consumed);
		else
			handshake_message(dp, pkts[i], left + (n - i - 1));
	}
	return n;
}

/* ---- the rings from the workers ---- */

static void
apply_event(struct wg_dp *dp, const struct wg_event *ev)
{
	struct wg_engine_event pe;

	switch (ev->type) {
	case WG_EV_NEIGH:
		if (ev->key.port >= WG_NB_PORTS)
			return;
		if (wg_neigh_confirm(dp->neigh, &ev->key, ev->mac, ev->flags,
				wg_control_now_ns()) == 1)
			wg_neigh_hold_take(dp->hold, &ev->key, UINT64_MAX, send_held, dp);
		break;
	case WG_EV_PEER:
		if (dp->engine == NULL)
			return;
		pe.peer_id = ev->peer.peer_id;
		pe.bits = ev->peer.bits;
		wg_engine_worker_event(dp->engine, &pe);
		break;
	default:
		break;
	}
}

/* An inner packet of a peer without a usable keypair: the engine stages it. */
static void
stage(struct wg_dp *dp, struct rte_mbuf *m)
{
	struct wg_peer *peer = NULL;

	if (dp->engine != NULL)
		peer = wg_peers_get(dp->peers, wg_meta(m)->peer_id);
	if (peer == NULL) {
		control_drop(m, WG_DROP_no_route);
		return;
	}
	wg_engine_stage(dp->engine, peer, m);
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
		switch (wg_meta(pkts[i])->kind) {
		case WG_META_NEIGH_WAIT:
			neigh_wait(dp, pkts[i]);
			break;
		case WG_META_STAGE:
			stage(dp, pkts[i]);
			break;
		default:
			control_drop(pkts[i], WG_DROP_local_unhandled);
		}
	}
	return n + m;
}

/* ---- telemetry: engine counters and peer snapshots ---- */

/* Published by the control lcore, one relaxed store per counter. */
static struct wg_engine_stats engine_snapshot;

_Static_assert(sizeof(struct wg_engine_stats) % sizeof(uint64_t) == 0,
	"wg_engine_stats is made of 64-bit counters");

static void
publish_engine_stats(struct wg_dp *dp)
{
	struct wg_engine_stats s;
	const uint64_t *src = (const uint64_t *)&s;
	uint64_t *dst = (uint64_t *)&engine_snapshot;
	size_t i;

	wg_engine_stats_get(dp->engine, &s);
	for (i = 0; i < sizeof(s) / sizeof(uint64_t); i++)
		__atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
}

void
wg_control_engine_stats(struct wg_engine_stats *out)
{
	const uint64_t *src = (const uint64_t *)&engine_snapshot;
	uint64_t *dst = (uint64_t *)out;
	size_t i;

	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/*
 * One telemetry query at a time (the mutex), answered by the control lcore:
 * IDLE -> POSTED (telemetry) -> SERVING -> DONE (control) -> IDLE
 * (telemetry). A telemetry thread that times out takes its query back
 * with POSTED -> IDLE; once the control lcore has claimed it (SERVING) the
 * telemetry thread waits for DONE, so the output buffer is never written
 * after its owner returned.
 */
enum { QUERY_IDLE, QUERY_POSTED, QUERY_SERVING, QUERY_DONE };

enum query_kind { QUERY_PEERS, QUERY_PEER, QUERY_DEVICE };

static struct {
	pthread_mutex_t lock;
	uint32_t state;
	enum query_kind kind;
	uint8_t key[32];
	uint32_t start;
	unsigned int max;
	struct wg_peer_info *out;
	struct wg_device_info *device;
	int result;
	uint32_t next;
	uint32_t total;
} query = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
peer_info(const struct wg_peer *peer, struct wg_peer_info *out)
{
	unsigned int i;

	memset(out, 0, sizeof(*out));
	out->id = peer->id;
	memcpy(out->public_key, peer->public_key, sizeof(out->public_key));
	wg_peer_endpoint_read(peer, &out->endpoint);
	out->rx_bytes = __atomic_load_n(&peer->wk.rx_bytes, __ATOMIC_RELAXED);
	out->rx_packets = __atomic_load_n(&peer->wk.rx_packets, __ATOMIC_RELAXED);
	out->tx_bytes = __atomic_load_n(&peer->wk.tx_bytes, __ATOMIC_RELAXED);
	out->tx_packets = __atomic_load_n(&peer->wk.tx_packets, __ATOMIC_RELAXED);
	for (i = 0; i < RTE_DIM(out->drop); i++)
		out->drop[i] = __atomic_load_n(&peer->wk.drop[i], __ATOMIC_RELAXED);
	out->last_handshake_sec = peer->last_handshake_sec;
	out->last_handshake_nsec = peer->last_handshake_nsec;
	out->persistent_keepalive = peer->persistent_keepalive;
	out->staged = (uint16_t)wg_engine_staged_count(peer);
	out->has_psk = peer->has_psk;
	/* The control lcore is the only writer of the slots. */
	out->has_current_keypair = atomic_load_explicit(&peer->keypairs.current,
		memory_order_relaxed) != NULL;
	if (peer->name != NULL)
		snprintf(out->name, sizeof(out->name), "%s", peer->name);
}

static void
device_info(const struct wg_dp *dp, uint32_t n_peers, struct wg_device_info *out)
{
	memset(out, 0, sizeof(*out));
	out->peers = n_peers;
	out->listen_port = dp->uapi != NULL ? wg_uapi_listen_port(dp->uapi) : dp->listen_port;
	if (dp->engine != NULL)
		out->has_identity = wg_engine_public_key(dp->engine, out->public_key);
}

/* Control lcore: the posted query, if any. Ids are scanned up to MAX_PEERS at worst. */
static unsigned int
serve_query(struct wg_dp *dp)
{
	uint32_t expected = QUERY_POSTED, id;
	struct wg_peer *peer;
	unsigned int n = 0;

	if (__atomic_load_n(&query.state, __ATOMIC_RELAXED) != QUERY_POSTED ||
			!__atomic_compare_exchange_n(&query.state, &expected, QUERY_SERVING, false,
				__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	query.next = UINT32_MAX;
	query.total = dp->peers != NULL ? wg_peers_count(dp->peers) : 0;
	if (query.kind == QUERY_DEVICE) {
		device_info(dp, query.total, query.device);
		query.result = 0;
	} else if (dp->peers == NULL) {
		query.result = query.kind == QUERY_PEER ? -ENOENT : 0;
	} else if (query.kind == QUERY_PEER) {
		peer = wg_peers_lookup(dp->peers, query.key);
		if (peer != NULL)
			peer_info(peer, query.out);
		query.result = peer != NULL ? 0 : -ENOENT;
	} else {
		for (id = query.start; id < MAX_PEERS; id++) {
			peer = wg_peers_get(dp->peers, id);
			if (peer == NULL)
				continue;
			if (n == query.max) {
				query.next = id;
				break;
			}
			peer_info(peer, &query.out[n++]);
		}
		query.result = (int)n;
	}
	__atomic_store_n(&query.state, QUERY_DONE, __ATOMIC_RELEASE);
	return 1;
}

/* Telemetry side: post the query filled in under query.lock and wait for the answer. */
static int
query_run(void)
{
	uint64_t deadline = wg_control_now_ns() + (uint64_t)QUERY_TIMEOUT_MS * 1000000;
	uint32_t expected;

	__atomic_store_n(&query.state, QUERY_POSTED, __ATOMIC_RELEASE);
	while (__atomic_load_n(&query.state, __ATOMIC_ACQUIRE) != QUERY_DONE) {
		expected = QUERY_POSTED;
		if (wg_control_now_ns() > deadline &&
				__atomic_compare_exchange_n(&query.state, &expected, QUERY_IDLE,
					false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return -ETIMEDOUT;
		usleep(QUERY_POLL_US);
	}
	__atomic_store_n(&query.state, QUERY_IDLE, __ATOMIC_RELAXED);
	return query.result;
}

int
wg_control_peers_query(struct wg_dp *dp, uint32_t start, struct wg_peer_info *out,
	unsigned int max, uint32_t *next, uint32_t *total)
{
	int ret;

	(void)dp;
	if (out == NULL || max == 0 || max > WG_PEER_QUERY_MAX)
		return -EINVAL;
	pthread_mutex_lock(&query.lock);
	query.kind = QUERY_PEERS;
	query.start = start;
	query.max = max;
	query.out = out;
	ret = query_run();
	if (next != NULL)
		*next = ret >= 0 ? query.next : UINT32_MAX;
	if (total != NULL)
		*total = ret >= 0 ? query.total : 0;
	pthread_mutex_unlock(&query.lock);
	return ret;
}

int
wg_control_peer_query(struct wg_dp *dp, const uint8_t public_key[32], struct wg_peer_info *out)
{
	int ret;

	(void)dp;
	pthread_mutex_lock(&query.lock);
	query.kind = QUERY_PEER;
	memcpy(query.key, public_key, sizeof(query.key));
	query.max = 1;
	query.out = out;
	ret = query_run();
	pthread_mutex_unlock(&query.lock);
	return ret;
}

int
wg_control_device_query(struct wg_dp *dp, struct wg_device_info *out)
{
	int ret;

	(void)dp;
	if (out == NULL)
		return -EINVAL;
	pthread_mutex_lock(&query.lock);
	query.kind = QUERY_DEVICE;
	query.device = out;
	ret = query_run();
	pthread_mutex_unlock(&query.lock);
	return ret;
}

/* ---- the loop ---- */

/* As when a peer is configured with persistent keepalive: one keepalive now (kernel). */
static int
start_keepalive(struct wg_peer *peer, void *arg)
{
	uint16_t seconds = peer->persistent_keepalive;

	if (seconds != 0) {
		peer->persistent_keepalive = 0;
		wg_engine_peer_set_persistent_keepalive(arg, peer, seconds);
	}
	return 0;
}

/*
 * SIGHUP: read the file again and apply only the difference (reload.h). The
 * reload writes its one line: the summary, or why nothing changed.
 */
static void
reload(struct wg_dp *dp)
{
	if (dp->engine == NULL || dp->conf_path == NULL || dp->confp == NULL)
		return;
	/* Refused: nothing changed. */
	if (wg_reload_file(dp->engine, &dp->tables, dp->conf_path, dp->confp, NULL, stderr) < 0)
		__atomic_fetch_add(&dp->reloads_refused, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&dp->reloads, 1, __ATOMIC_RELAXED);
}

unsigned int
wg_control_poll(struct wg_dp *dp)
{
	unsigned int n, i;

	n = handshakes(dp);
	for (i = 0; i < dp->n_workers; i++)
		n += worker_rings(dp, dp->workers[i]);
	if (dp->engine != NULL) {
		wg_engine_timers_run(dp->engine);
		publish_engine_stats(dp);
	}
	if (dp->uapi != NULL)
		n += wg_uapi_poll(dp->uapi);
	if (wg_reload_pending())
		reload(dp);
	return n + serve_query(dp);
}

void
wg_control_main(struct wg_dp *dp)
{
	uint64_t tick = dp->tsc_hz, last_tick = rte_rdtsc(), now;
	unsigned int n, idle_loops = 0, sleep_us = 10;

	announce(dp);
	if (dp->engine != NULL)
		wg_peers_foreach(dp->peers, start_keepalive, dp->engine);
	while (!wg_dp_quitting()) {
		n = wg_control_poll(dp);
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
	(void)key;
	hold_release(ctx);
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
	if (dp->engine != NULL)
		publish_engine_stats(dp);
}
