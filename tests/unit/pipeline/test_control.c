/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control lcore's glue to the protocol engine, driven by hand on
 * net_ring ports (EAL --no-huge, no root): the tables and engine built from a
 * configuration; handshake messages from the handshake ring, their outer
 * source parsed (IPv4 and IPv6); what the engine sends leaving through
 * wg_encap_udp and the neighbour step (resolved at once, or held until a
 * worker's neighbour event) on a worker's TX ring, checked byte by byte and
 * accepted by a second engine playing the peer; a staged packet handed back
 * to a worker once the session is up; a worker's peer event; the hold budget
 * shared by staged packets and packets waiting for ARP; the telemetry peer
 * queries (pages, by key, unknown key, timeout); no mbuf leaked at the end.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>
#include <limits.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_udp.h>

#include "control/config.h"
#include "control/engine.h"
#include "control/engine_worker.h"
#include "control/peers.h"
#include "crypto/clock.h"
#include "crypto/x25519.h"
#include "messages.h"
#include "pipeline/dataplane.h"
#include "pipeline/pipeline.h"

enum { N_PEERS = 4, N_REMOTES = 3 };

static const uint8_t wan_ip[4] = { 198, 51, 100, 1 };
static const uint8_t wan_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1 };
static const uint8_t lan_ip[4] = { 10, 0, 0, 1 };
static const uint8_t gw_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };	/* static: 198.51.100.2 */
static const uint8_t r1_mac[6] = { 0x02, 0, 0, 0, 0, 0x03 };	/* learned: 2001:db8:1::3 */

static struct wg_dp *dp;
static struct wg_worker *w;
static struct wg_conf conf;
static struct wg_conf_peer conf_peers[N_PEERS];
static struct wg_prefix prefixes[N_PEERS], wan_addr[2], lan_addr[1];
static struct wg_conf_neighbor neighbor;
/* Wiped once the ports are set up, as a reload frees the file's strings. */
static char dev_names[2][16] = { "net_ring0", "net_ring1" };
static struct wg_peer *peer[N_PEERS];	/* wg-dpdk's view */
static struct rte_rcu_qsbr *remote_rcu;

/* A second engine playing the WireGuard peer of wg-dpdk's peer[i]. */
static struct remote {
	struct wg_peers *peers;
	struct wg_engine *e;
	struct wg_peer *peer;		/* wg-dpdk, as the remote sees it */
	uint8_t priv[32];
	uint8_t pub[32];
	uint8_t msg[256];		/* last message it sent */
	size_t len;
	unsigned int sent;
	unsigned int staged_sent;
} remote[N_REMOTES];

static int dummy_pkt;

static void
r_send(void *arg, struct wg_peer *p, const void *msg, size_t len)
{
	struct remote *r = arg;

	(void)p;
	assert_true(len <= sizeof(r->msg));
	memcpy(r->msg, msg, len);
	r->len = len;
	r->sent++;
}

static void
r_send_to(void *arg, const struct wg_endpoint *dst, const void *msg, size_t len)
{
	(void)arg;
	(void)dst;
	(void)msg;
	(void)len;
	fail_msg("the remote engine sent a cookie reply");
}

static void
r_send_staged(void *arg, struct wg_peer *p, void *pkt)
{
	(void)p;
	assert_ptr_equal(pkt, &dummy_pkt);
	((struct remote *)arg)->staged_sent++;
}

static void
r_free_pkt(void *arg, struct wg_peer *peer, void *pkt)
{
	(void)arg;
	(void)peer;
	assert_ptr_equal(pkt, &dummy_pkt);
}

static const struct wg_engine_ops remote_ops = {
	.send = r_send,
	.send_to = r_send_to,
	.send_staged = r_send_staged,
	.free_pkt = r_free_pkt,
};

static struct wg_endpoint
ep4(const uint8_t a[4], uint16_t port)
{
	struct wg_endpoint ep = { .family = AF_INET, .port = port };

	memcpy(ep.addr, a, 4);
	return ep;
}

static struct wg_endpoint
ep6(const uint8_t a[16], uint16_t port)
{
	struct wg_endpoint ep = { .family = AF_INET6, .port = port };

	memcpy(ep.addr, a, 16);
	return ep;
}

static const uint8_t r0_ip[4] = { 198, 51, 100, 2 };
static const uint8_t r1_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 3 };
static const uint8_t p3_ip[4] = { 198, 51, 100, 9 };	/* never answers ARP */

static int
remote_init(int i)
{
	struct remote *r = &remote[i];
	struct wg_peers_params pp = { .rcu = remote_rcu, .max_peers = 8 };
	struct wg_engine_params ep = { .rcu = remote_rcu, .ops = &remote_ops, .ops_arg = r };
	struct wg_conf_peer cp = { .endpoint = ep4(wan_ip, 51820) };
	char pname[16], ename[16];

	snprintf(pname, sizeof(pname), "rp%d", i);
	snprintf(ename, sizeof(ename), "re%d", i);
	pp.name = pname;
	ep.name = ename;
	r->peers = wg_peers_create(&pp);
	if (r->peers == NULL)
		return -1;
	ep.peers = r->peers;
	r->e = wg_engine_create(&ep);
	if (r->e == NULL)
		return -1;
	wg_x25519_generate(r->priv);
	if (!wg_x25519_public(r->pub, r->priv) || wg_engine_set_private_key(r->e, r->priv) != 0)
		return -1;
	memcpy(cp.public_key, conf.public_key, 32);
	return wg_engine_peer_add(r->e, &cp, &r->peer);
}

static void
prefix4(struct wg_prefix *p, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = AF_INET;
	p->len = len;
	p->addr[0] = a;
	p->addr[1] = b;
	p->addr[2] = c;
	p->addr[3] = d;
}

/* ---- frames ---- */

/* A handshake message from src to our listen port, as a worker hands it over. */
static struct rte_mbuf *
wan_frame(const struct wg_endpoint *src, const void *msg, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	uint16_t iplen = src->family == AF_INET ? sizeof(struct rte_ipv4_hdr) :
		sizeof(struct rte_ipv6_hdr);
	struct wg_mbuf_meta *meta;
	struct rte_ether_hdr *eth;
	struct rte_udp_hdr *udp;
	uint8_t *p;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(RTE_ETHER_HDR_LEN + iplen + 8 + len));
	assert_non_null(p);
	memset(p, 0, RTE_ETHER_HDR_LEN + iplen + 8);
	eth = (struct rte_ether_hdr *)p;
	eth->dst_addr = dp->port[WG_WAN].mac;
	memcpy(eth->src_addr.addr_bytes, gw_mac, 6);
	if (src->family == AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);

		eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = 0x45;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(iplen + 8 + len));
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		memcpy(&ip->src_addr, src->addr, 4);
		memcpy(&ip->dst_addr, wan_ip, 4);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(p + RTE_ETHER_HDR_LEN);

		eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
		ip->vtc_flow = RTE_BE32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16((uint16_t)(8 + len));
		ip->proto = IPPROTO_UDP;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, src->addr, 16);
		memcpy(ip->dst_addr, wan_ip6, 16);
	}
	udp = (struct rte_udp_hdr *)(p + RTE_ETHER_HDR_LEN + iplen);
	udp->src_port = rte_cpu_to_be_16(src->port);
	udp->dst_port = RTE_BE16(51820);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + len));
	memcpy(udp + 1, msg, len);
	meta = wg_meta(m);
	meta->kind = WG_META_HANDSHAKE;
	meta->port = WG_WAN;
	meta->l3 = RTE_ETHER_HDR_LEN;
	meta->l4 = (uint16_t)(RTE_ETHER_HDR_LEN + iplen);
	meta->payload = (uint16_t)(meta->l4 + 8);
	return m;
}

static void
handshake_in(const struct wg_endpoint *src, const void *msg, size_t len)
{
	assert_int_equal(rte_ring_mp_enqueue(dp->handshake_ring, wan_frame(src, msg, len)), 0);
	wg_control_poll(dp);
}

static struct rte_mbuf *
tx_take(void)
{
	struct rte_mbuf *m;

	return rte_ring_sc_dequeue(w->tx_ring, (void **)&m) == 0 ? m : NULL;
}

/*
 * A frame the control lcore queued for the WAN port: Ethernet to mac, our
 * address to dst (IPv4 or IPv6), UDP from the listen port. Returns the
 * WireGuard message and its length.
 */
static const uint8_t *
check_out(struct rte_mbuf *m, const uint8_t mac[6], const struct wg_endpoint *dst, size_t *len)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)p;
	const uint8_t *l3 = p + RTE_ETHER_HDR_LEN;
	const struct rte_udp_hdr *udp;
	uint16_t l4;

	assert_int_equal(wg_meta(m)->kind, WG_META_TX);
	assert_int_equal(wg_meta(m)->port, WG_WAN);
	assert_memory_equal(eth->dst_addr.addr_bytes, mac, 6);
	assert_memory_equal(&eth->src_addr, &dp->port[WG_WAN].mac, 6);
	if (dst->family == AF_INET) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)l3;

		assert_int_equal(eth->ether_type, RTE_BE16(RTE_ETHER_TYPE_IPV4));
		assert_int_equal(ip->next_proto_id, IPPROTO_UDP);
		assert_memory_equal(&ip->src_addr, wan_ip, 4);
		assert_memory_equal(&ip->dst_addr, dst->addr, 4);
		assert_int_equal(rte_ipv4_cksum(ip), 0);
		l4 = RTE_ETHER_HDR_LEN + sizeof(*ip);
	} else {
		const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)l3;

		assert_int_equal(eth->ether_type, RTE_BE16(RTE_ETHER_TYPE_IPV6));
		assert_int_equal(ip->proto, IPPROTO_UDP);
		assert_memory_equal(ip->src_addr, wan_ip6, 16);
		assert_memory_equal(ip->dst_addr, dst->addr, 16);
		/* IPv6 UDP checksum: correct, so the sum over the datagram verifies. */
		assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, p + RTE_ETHER_HDR_LEN +
			sizeof(*ip)), 0);
		l4 = RTE_ETHER_HDR_LEN + sizeof(*ip);
	}
	udp = (const struct rte_udp_hdr *)(p + l4);
	assert_int_equal(rte_be_to_cpu_16(udp->src_port), 51820);
	assert_int_equal(rte_be_to_cpu_16(udp->dst_port), dst->port);
	*len = rte_be_to_cpu_16(udp->dgram_len) - 8u;
	assert_int_equal(rte_pktmbuf_data_len(m), l4 + 8 + *len);
	return p + l4 + 8;
}

static struct wg_engine_stats
engine_stats(void)
{
	struct wg_engine_stats s;

	wg_control_engine_stats(&s);
	return s;
}

static uint64_t
drops(enum wg_drop_reason r)
{
	struct wg_lcore_stats s;

	wg_stats_sum(&s);
	return s.drop[r];
}

/* ---- tests ---- */

/* peer[0] initiates over IPv4; the next hop is a static neighbour: the response leaves at once. */
static void
test_responder_ipv4(void **state)
{
	struct wg_endpoint src = ep4(r0_ip, 51820), dp_ep = ep4(wan_ip, 51820), cur;
	struct remote *r = &remote[0];
	struct rte_mbuf *m;
	const uint8_t *msg;
	size_t len;

	(void)state;
	wg_engine_stage(r->e, r->peer, &dummy_pkt);
	assert_int_equal(r->sent, 1);
	assert_int_equal(r->len, MESSAGE_INITIATION_LEN);
	handshake_in(&src, r->msg, r->len);
	m = tx_take();
	assert_non_null(m);
	assert_null(tx_take());
	msg = check_out(m, gw_mac, &src, &len);
	assert_int_equal(len, MESSAGE_RESPONSE_LEN);
	assert_int_equal(msg[0], MESSAGE_HANDSHAKE_RESPONSE);
	/* The peer accepts it: a session, and its staged packet goes. */
	assert_int_equal(wg_engine_handshake_rx(r->e, msg, len, &dp_ep, 0), WG_HS_response);
	assert_int_equal(r->staged_sent, 1);
	rte_pktmbuf_free(m);
	assert_true(wg_peer_endpoint_read(peer[0], &cur));
	assert_memory_equal(&cur, &src, sizeof(cur));
	assert_int_equal(engine_stats().hs[WG_HS_initiation], 1);
	assert_int_equal(engine_stats().responses_sent, 1);
}

/* peer[1] (no endpoint configured) initiates over IPv6: learned, response held for ND. */
static void
test_responder_ipv6_held(void **state)
{
	struct wg_endpoint src = ep6(r1_ip6, 40000), dp_ep = ep6(wan_ip6, 51820), cur;
	struct wg_event ev = { .type = WG_EV_NEIGH, .flags = WG_NEIGH_F_SOLICITED };
	struct wg_hold_budget *b = wg_engine_hold_budget(dp->engine);
	struct remote *r = &remote[1];
	const struct rte_ether_hdr *eth;
	const struct rte_ipv6_hdr *ip6;
	struct rte_mbuf *m;
	const uint8_t *msg;
	size_t len;

	(void)state;
	assert_false(wg_peer_endpoint_read(peer[1], &cur));
	wg_engine_stage(r->e, r->peer, &dummy_pkt);
	assert_int_equal(r->len, MESSAGE_INITIATION_LEN);
	handshake_in(&src, r->msg, r->len);
	assert_true(wg_peer_endpoint_read(peer[1], &cur));
	assert_memory_equal(&cur, &src, sizeof(cur));
	/* Only a neighbour solicitation went out; the response waits, under the budget. */
	m = tx_take();
	assert_non_null(m);
	assert_null(tx_take());
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	ip6 = (const struct rte_ipv6_hdr *)(eth + 1);
	assert_int_equal(eth->ether_type, RTE_BE16(RTE_ETHER_TYPE_IPV6));
	assert_int_equal(ip6->proto, IPPROTO_ICMPV6);
	assert_int_equal(((const uint8_t *)(ip6 + 1))[0], 135);
	rte_pktmbuf_free(m);
	assert_int_equal(dp->hold->n, 1);
	assert_int_equal(b->used, 1);
	/* A worker learned the neighbour: the held response leaves, to its MAC. */
	memcpy(ev.mac, r1_mac, 6);
	ev.key.port = WG_WAN;
	ev.key.family = AF_INET6;
	memcpy(ev.key.addr, r1_ip6, 16);
	assert_int_equal(rte_ring_sp_enqueue_elem(w->event_ring, &ev, sizeof(ev)), 0);
	wg_control_poll(dp);
	m = tx_take();
	assert_non_null(m);
	msg = check_out(m, r1_mac, &src, &len);
	assert_int_equal(len, MESSAGE_RESPONSE_LEN);
	assert_int_equal(wg_engine_handshake_rx(r->e, msg, len, &dp_ep, 0), WG_HS_response);
	rte_pktmbuf_free(m);
	assert_int_equal(dp->hold->n, 0);
	assert_int_equal(b->used, 0);
}

/* A LAN packet for peer[2] without a session: staged, initiation, then handed back. */
static void
test_initiator_staged(void **state)
{
	struct wg_endpoint dst = ep4(r0_ip, 51822), dp_ep = ep4(wan_ip, 51820);
	struct wg_hold_budget *b = wg_engine_hold_budget(dp->engine);
	struct remote *r = &remote[2];
	struct rte_mbuf *inner, *m;
	const uint8_t *msg;
	size_t len;

	(void)state;
	inner = rte_pktmbuf_alloc(dp->pool);
	assert_non_null(inner);
	assert_non_null(rte_pktmbuf_append(inner, 60));
	wg_meta(inner)->kind = WG_META_STAGE;
	wg_meta(inner)->peer_id = peer[2]->id;
	assert_int_equal(rte_ring_sp_enqueue(w->ctrl_ring, inner), 0);
	wg_control_poll(dp);
	assert_int_equal(wg_engine_staged_count(peer[2]), 1);
	assert_int_equal(b->used, 1);
	m = tx_take();
	assert_non_null(m);
	assert_null(tx_take());
	msg = check_out(m, gw_mac, &dst, &len);
	assert_int_equal(len, MESSAGE_INITIATION_LEN);
	assert_int_equal(wg_engine_handshake_rx(r->e, msg, len, &dp_ep, 0), WG_HS_initiation);
	rte_pktmbuf_free(m);
	assert_int_equal(r->len, MESSAGE_RESPONSE_LEN);
	handshake_in(&dst, r->msg, r->len);
	/* The session is up: the very mbuf that was staged goes back to a worker. */
	m = tx_take();
	assert_ptr_equal(m, inner);
	assert_int_equal(wg_meta(m)->kind, WG_META_STAGED);
	assert_int_equal(wg_meta(m)->peer_id, peer[2]->id);
	assert_null(tx_take());
	rte_pktmbuf_free(m);
	assert_int_equal(b->used, 0);
	assert_int_equal(engine_stats().hs[WG_HS_response], 1);
	assert_int_equal(engine_stats().staged_sent, 1);
}

/* A worker's WG_EV_PEER reaches wg_engine_worker_event(). */
static void
test_peer_event(void **state)
{
	struct wg_event ev = { .type = WG_EV_PEER };
	uint64_t before = engine_stats().events;

	(void)state;
	assert_true(wg_engine_post(peer[0], WG_PEER_EV_AUTH_RX | WG_PEER_EV_DATA_RX,
		wg_clock_now(), NULL, NULL));
	ev.peer.peer_id = peer[0]->id;
	ev.peer.bits = WG_PEER_EV_AUTH_RX | WG_PEER_EV_DATA_RX;
	assert_int_equal(rte_ring_sp_enqueue_elem(w->event_ring, &ev, sizeof(ev)), 0);
	wg_control_poll(dp);
	assert_int_equal(engine_stats().events, before + 1);
	assert_int_equal(__atomic_load_n(&peer[0]->wk.ev, __ATOMIC_RELAXED), 0);
}

static struct rte_mbuf *
stage_for(struct wg_peer *p)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);

	assert_non_null(m);
	assert_non_null(rte_pktmbuf_append(m, 40));
	wg_meta(m)->kind = WG_META_STAGE;
	wg_meta(m)->peer_id = p->id;
	assert_int_equal(rte_ring_sp_enqueue(w->ctrl_ring, m), 0);
	wg_control_poll(dp);
	return m;
}

/* Staged packets and packets waiting for ARP take from one budget. */
static void
test_hold_budget(void **state)
{
	struct wg_hold_budget *b = wg_engine_hold_budget(dp->engine);
	uint64_t staged0 = drops(WG_DROP_staged_dropped), hold0 = drops(WG_DROP_neigh_hold_full);
	uint32_t max = b->max;
	struct rte_mbuf *m;
	const uint8_t *p;

	(void)state;
	assert_int_equal(max, WG_DP_HOLD_BUDGET);
	assert_int_equal(b->used, 0);
	b->max = 3;
	/* Staged (1), its initiation waits for ARP (2), an ARP request goes out. */
	stage_for(peer[3]);
	assert_int_equal(b->used, 2);
	assert_int_equal(dp->hold->n, 1);
	m = tx_take();
	assert_non_null(m);
	p = rte_pktmbuf_mtod(m, const uint8_t *);
	assert_int_equal(((const struct rte_ether_hdr *)p)->ether_type,
		RTE_BE16(RTE_ETHER_TYPE_ARP));
	assert_memory_equal(p + RTE_ETHER_HDR_LEN + 24, p3_ip, 4);	/* target */
	rte_pktmbuf_free(m);
	assert_null(tx_take());
	/* A second staged packet fills the budget (no new initiation: §7.4). */
	stage_for(peer[3]);
	assert_int_equal(b->used, 3);
	assert_int_equal(wg_engine_staged_count(peer[3]), 2);
	/* A third is refused by the global cap, and so is a worker's packet for ARP. */
	stage_for(peer[3]);
	assert_int_equal(wg_engine_staged_count(peer[3]), 2);
	assert_int_equal(drops(WG_DROP_staged_dropped), staged0 + 1);
	m = rte_pktmbuf_alloc(dp->pool);
	assert_non_null(m);
	assert_non_null(rte_pktmbuf_append(m, 60));
	wg_meta(m)->kind = WG_META_NEIGH_WAIT;
	wg_meta(m)->port = WG_WAN;
	memset(&wg_meta(m)->nexthop, 0, sizeof(wg_meta(m)->nexthop));
	wg_meta(m)->nexthop.port = WG_WAN;
	wg_meta(m)->nexthop.family = AF_INET;
	memcpy(wg_meta(m)->nexthop.addr, p3_ip, 4);
	assert_int_equal(rte_ring_sp_enqueue(w->ctrl_ring, m), 0);
	wg_control_poll(dp);
	assert_int_equal(drops(WG_DROP_neigh_hold_full), hold0 + 1);
	assert_int_equal(b->used, 3);
	assert_int_equal(dp->hold->n, 1);
	assert_null(tx_take());
	assert_int_equal(engine_stats().staged_over_cap, 1);
	b->max = max;
	/* What is still held (2 staged, 1 initiation) is freed by wg_dp_destroy(). */
}

/* ---- telemetry queries: another thread asks, the control loop answers ---- */

static struct {
	struct wg_peer_info info[WG_PEER_QUERY_MAX];
	uint32_t next, total;
	int n;
	int by_key_ret[2];
	struct wg_peer_info one;
	int page_ret;
	struct wg_peer_info page[2];
	uint32_t page_next;
	int device_ret;
	struct wg_device_info device;
	uint32_t done;
} q;

static void *
query_thread(void *arg)
{
	uint8_t unknown[32];

	(void)arg;
	q.n = wg_control_peers_query(dp, 0, q.info, WG_PEER_QUERY_MAX, &q.next, &q.total);
	q.page_ret = wg_control_peers_query(dp, 1, q.page, 2, &q.page_next, NULL);
	q.by_key_ret[0] = wg_control_peer_query(dp, remote[0].pub, &q.one);
	memset(unknown, 0x55, sizeof(unknown));
	q.by_key_ret[1] = wg_control_peer_query(dp, unknown, &q.info[N_PEERS]);
	q.device_ret = wg_control_device_query(dp, &q.device);
	__atomic_store_n(&q.done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void
run_queries(void)
{
	pthread_t t;

	memset(&q, 0, sizeof(q));
	assert_int_equal(pthread_create(&t, NULL, query_thread, NULL), 0);
	while (!__atomic_load_n(&q.done, __ATOMIC_ACQUIRE))
		wg_control_poll(dp);
	assert_int_equal(pthread_join(t, NULL), 0);
}

static void
test_queries(void **state)
{
	struct wg_endpoint ep0 = ep4(r0_ip, 51820);
	struct wg_peer_info info;
	uint32_t next = 0;
	int i;

	(void)state;
	run_queries();
	assert_int_equal(q.n, N_PEERS);
	assert_int_equal(q.total, N_PEERS);
	assert_int_equal(q.next, UINT32_MAX);
	for (i = 0; i < N_PEERS; i++) {
		assert_int_equal(q.info[i].id, peer[i]->id);
		assert_memory_equal(q.info[i].public_key, conf_peers[i].public_key, 32);
	}
	assert_memory_equal(&q.info[0].endpoint, &ep0, sizeof(ep0));
	assert_string_equal(q.info[0].name, "r0");
	assert_string_equal(q.info[3].name, "");
	assert_int_equal(q.info[3].staged, 2);
	/* Received: the initiation; sent: the response (WireGuard message bytes). */
	assert_int_equal(q.info[0].rx_bytes, MESSAGE_INITIATION_LEN);
	assert_int_equal(q.info[0].tx_bytes, MESSAGE_RESPONSE_LEN);
	assert_int_equal(q.info[2].rx_bytes, MESSAGE_RESPONSE_LEN);
	assert_int_equal(q.info[2].tx_bytes, MESSAGE_INITIATION_LEN);
	assert_true(q.info[2].last_handshake_sec > 0);
	assert_int_equal(q.info[3].last_handshake_sec, 0);
	assert_int_equal(q.page_ret, 2);
	assert_int_equal(q.page[0].id, peer[1]->id);
	assert_int_equal(q.page[1].id, peer[2]->id);
	assert_int_equal(q.page_next, peer[3]->id);
	assert_int_equal(q.by_key_ret[0], 0);
	assert_int_equal(q.one.id, peer[0]->id);
	assert_int_equal(q.by_key_ret[1], -ENOENT);
	assert_int_equal(q.device_ret, 0);
	assert_true(q.device.has_identity);
	assert_memory_equal(q.device.public_key, conf.public_key, 32);
	assert_int_equal(q.device.peers, N_PEERS);
	assert_int_equal(q.device.listen_port, 51820);
	assert_int_equal(wg_control_device_query(dp, NULL), -EINVAL);
	/* Nobody polls: the query times out and is taken back; the next one works. */
	assert_int_equal(wg_control_peers_query(dp, 0, &info, 1, &next, NULL), -ETIMEDOUT);
	assert_int_equal(next, UINT32_MAX);
	assert_int_equal(wg_control_peers_query(dp, 0, &info, 0, NULL, NULL), -EINVAL);
	run_queries();
	assert_int_equal(q.n, N_PEERS);
	assert_int_equal(q.by_key_ret[0], 0);
}

/* The ports keep their own copy of the device names (telemetry reads them after a reload). */
static void
test_port_names(void **state)
{
	(void)state;
	assert_string_equal(dp->port[WG_WAN].device, "net_ring0");
	assert_string_equal(dp->port[WG_LAN].device, "net_ring1");
}

/* Last: held, staged and queued packets are freed; no mbuf may be missing. */
static void
test_no_leak(void **state)
{
	(void)state;
	assert_int_equal(wg_dp_destroy(dp), 0);
	dp = NULL;
}

/* ---- fixture ---- */

static int
setup(void **state)
{
	char prefix_arg[64];
	char *argv[] = { "test_control", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
		"--lcores=0@0,1@0", "--vdev=net_ring0", "--vdev=net_ring1",
		"--log-level=*:error", prefix_arg };
	const struct wg_endpoint endpoints[N_PEERS] = {
		ep4(r0_ip, 51820), { 0 }, ep4(r0_ip, 51822), ep4(p3_ip, 51820),
	};
	static const char *const names[N_PEERS] = { "r0", "r1", "r2", NULL };
	size_t size;
	int i;

	(void)state;
	snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=wgctl%d", (int)getpid());
	if (rte_eal_init(RTE_DIM(argv), argv) < 0)
		return -1;
	size = rte_rcu_qsbr_get_memsize(1);
	remote_rcu = rte_zmalloc("remote_rcu", size, RTE_CACHE_LINE_SIZE);
	if (remote_rcu == NULL || rte_rcu_qsbr_init(remote_rcu, 1) != 0)
		return -1;
	wg_x25519_generate(conf.private_key);
	if (!wg_x25519_public(conf.public_key, conf.private_key))
		return -1;
	for (i = 0; i < N_REMOTES; i++)
		if (remote_init(i) != 0)
			return -1;
	memset(&wan_addr, 0, sizeof(wan_addr));
	wan_addr[0] = (struct wg_prefix){ .family = AF_INET, .len = 24 };
	memcpy(wan_addr[0].addr, wan_ip, 4);
	wan_addr[1] = (struct wg_prefix){ .family = AF_INET6, .len = 64 };
	memcpy(wan_addr[1].addr, wan_ip6, 16);
	lan_addr[0] = (struct wg_prefix){ .family = AF_INET, .len = 24 };
	memcpy(lan_addr[0].addr, lan_ip, 4);
	conf.listen_port = 51820;
	conf.mtu = 1420;
	conf.wan = (struct wg_conf_port){ .device = dev_names[0], .n_addresses = 2,
		.addresses = wan_addr };
	conf.lan = (struct wg_conf_port){ .device = dev_names[1], .n_addresses = 1,
		.addresses = lan_addr };
	neighbor.ip = (struct wg_prefix){ .family = AF_INET, .len = 32 };
	memcpy(neighbor.ip.addr, r0_ip, 4);
	memcpy(neighbor.mac, gw_mac, 6);
	conf.neighbors = &neighbor;
	conf.n_neighbors = 1;
	for (i = 0; i < N_PEERS; i++) {
		struct wg_conf_peer *cp = &conf_peers[i];

		if (i < N_REMOTES)
			memcpy(cp->public_key, remote[i].pub, 32);
		else
			wg_x25519_generate(cp->public_key);	/* any 32 bytes: never answers */
		prefix4(&prefixes[i], 10, (uint8_t)(192 + i), 0, 0, 24);
		cp->allowed = &prefixes[i];
		cp->n_allowed = 1;
		cp->first_allowed = (uint32_t)i;
		cp->endpoint = endpoints[i];
		cp->name = names[i];
	}
	conf.peers = conf_peers;
	conf.n_peers = N_PEERS;
	conf.prefixes = prefixes;
	conf.n_prefixes = N_PEERS;
	dp = wg_dp_create(&conf);
	if (dp == NULL || dp->n_workers != 1 || wg_dp_engine_create(dp, &conf, 0) != 0)
		return -1;
	memset(dev_names, 0x55, sizeof(dev_names));
	conf.wan.device = conf.lan.device = NULL;
	if (dp->peers == NULL || dp->allowedips == NULL || dp->index == NULL)
		return -1;
	w = dp->workers[0];
	for (i = 0; i < N_PEERS; i++) {
		peer[i] = wg_peers_lookup(dp->peers, conf_peers[i].public_key);
		if (peer[i] == NULL)
			return -1;
	}
	return 0;
}

/* EAL leaves its runtime directory (telemetry socket) behind: remove ours. */
static void
remove_runtime_dir(const char *dir)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int
teardown(void **state)
{
	char dir[PATH_MAX];
	int i, ret;

	(void)state;
	if (dp != NULL)
		wg_dp_destroy(dp);
	for (i = 0; i < N_REMOTES; i++) {
		wg_engine_free(remote[i].e);
		wg_peers_free(remote[i].peers);
	}
	rte_free(remote_rcu);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	ret = rte_eal_cleanup();
	remove_runtime_dir(dir);
	return ret;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_responder_ipv4),
		cmocka_unit_test(test_responder_ipv6_held),
		cmocka_unit_test(test_initiator_staged),
		cmocka_unit_test(test_peer_event),
		cmocka_unit_test(test_hold_budget),
		cmocka_unit_test(test_queries),
		cmocka_unit_test(test_port_names),
		cmocka_unit_test(test_no_leak),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
