/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker loop. Read top to bottom: RX a burst on the WAN port and on the
 * LAN port, classify each frame, and end it in exactly one way: transmitted,
 * handed to the control lcore, or dropped with a counted reason. Transport
 * data (type 4) of a burst is collected and decrypted in one AEAD batch
 * (decap.c); inner packets to forward are collected and encrypted in one
 * batch (encap.c). Then send what the control lcore queued for us, flush the
 * TX buffers on the drain timer, report RCU quiescence, and back off when
 * there was nothing to do.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include "control/engine_worker.h"
#include "crypto/aead.h"
#include "messages.h"
#include "pipeline.h"

enum {
	IDLE_SPIN_LOOPS = 256,		/* empty loops before pausing */
	IDLE_PAUSE_LOOPS = 4096,	/* empty loops before sleeping */
	IDLE_SLEEP_MIN_US = 10,
	IDLE_SLEEP_MAX_US = 1000,
};

/* ---- WAN: WireGuard over UDP to the listen port ---- */

/*
 * The handshake messages of a burst go to the control lcore in one
 * multi-producer enqueue (one compare-and-swap on the ring's head, not one
 * per message); what the ring cannot take is dropped and counted.
 */
static void
hs_flush(struct wg_worker *w)
{
	unsigned int n = w->n_hs, done, i;

	if (n == 0)
		return;
	w->n_hs = 0;
	done = rte_ring_mp_enqueue_burst(w->dp->handshake_ring, (void **)w->hs, n, NULL);
	if (done != 0)
		wg_stats_count(w->stats, WG_CNT_to_control, done);
	for (i = done; i < n; i++)
		wg_worker_drop(w, w->hs[i], WG_DROP_handshake_ring_full);
}

static void
wg_message_input(struct wg_worker *w, struct rte_mbuf *m, uint16_t off, uint16_t len)
{
	struct wg_mbuf_meta *meta;
	uint32_t type;
	uint16_t want;

	if (len < sizeof(struct message_header)) {
		wg_worker_drop(w, m, WG_DROP_wg_bad_size);
		return;
	}
	/* The whole little-endian word: reserved bytes 1..3 must be zero. */
	type = rte_le_to_cpu_32(*rte_pktmbuf_mtod_offset(m, unaligned_uint32_t *, off));
	switch (type) {
	case MESSAGE_HANDSHAKE_INITIATION:
		want = MESSAGE_INITIATION_LEN;
		break;
	case MESSAGE_HANDSHAKE_RESPONSE:
		want = MESSAGE_RESPONSE_LEN;
		break;
	case MESSAGE_HANDSHAKE_COOKIE:
		want = MESSAGE_COOKIE_LEN;
		break;
	case MESSAGE_DATA:
		if (len < MESSAGE_MINIMUM_LENGTH)
			wg_worker_drop(w, m, WG_DROP_wg_bad_size);
		else
			wg_decap_add(w, m, off, len);
		return;
	default:
		wg_worker_drop(w, m, WG_DROP_wg_bad_type);
		return;
	}
	if (len != want) {
		wg_worker_drop(w, m, WG_DROP_wg_bad_size);
		return;
	}
	meta = wg_meta(m);
	meta->kind = WG_META_HANDSHAKE;
	meta->port = WG_WAN;
	meta->payload = off;
	if (w->n_hs == RTE_DIM(w->hs))
		hs_flush(w);
	w->hs[w->n_hs++] = m;
}

static void
udp_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3)
{
	const struct rte_udp_hdr *udp;
	struct wg_mbuf_meta *meta;
	uint16_t ulen;

	if (p->role != WG_WAN) {
		wg_worker_drop(w, m, WG_DROP_local_unhandled);
		return;
	}
	if (l3->l4_len < sizeof(*udp)) {
		wg_worker_drop(w, m, WG_DROP_udp_malformed);
		return;
	}
	udp = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, l3->l4);
	ulen = rte_be_to_cpu_16(udp->dgram_len);
	if (ulen < sizeof(*udp) || ulen > l3->l4_len) {
		wg_worker_drop(w, m, WG_DROP_udp_malformed);
		return;
	}
	if (rte_be_to_cpu_16(udp->dst_port) != w->dp->listen_port) {
		wg_worker_drop(w, m, WG_DROP_udp_port_closed);
		return;
	}
	meta = wg_meta(m);
	meta->l3 = l3->l3;
	meta->l4 = l3->l4;
	wg_message_input(w, m, l3->l4 + sizeof(*udp), ulen - sizeof(*udp));
}

/* ---- LAN: inner packets to forward ---- */

static void
lan_forward4(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l3->l3);
	uint16_t tot = rte_be_to_cpu_16(ip->total_length);
	int i;

	if (wg_ip4_martian(ip->src_addr) || wg_ip4_martian(ip->dst_addr)) {
		wg_worker_drop(w, m, (rte_be_to_cpu_32(ip->dst_addr) >> 28) == 0xe ||
			ip->dst_addr == UINT32_MAX ? WG_DROP_l3_multicast : WG_DROP_ip4_martian);
		return;
	}
	i = wg_port_ip4_onlink(p, ip->dst_addr);
	if (i >= 0 && (ip->dst_addr | p->ip4[i].mask) == UINT32_MAX) {
		wg_worker_drop(w, m, WG_DROP_l3_multicast);
		return;
	}
	if (ip->time_to_live <= 1) {
		wg_icmp4_error(w, p, m, l3, WG_ICMP_TIME_EXCEEDED, 0, 0, WG_DROP_ttl_exceeded);
		return;
	}
	if (tot > w->dp->mtu) {
		if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG))
			wg_icmp4_error(w, p, m, l3, WG_ICMP_DEST_UNREACH, WG_ICMP_FRAG_NEEDED,
				w->dp->mtu,
				WG_DROP_too_big);
		else
			wg_worker_drop(w, m, WG_DROP_too_big);	/* no fragmentation yet */
		return;
	}
	wg_ip4_dec_ttl(ip);
	wg_encap_add(w, m, l3->l3, WG_ENCAP_LOOKUP, false);
}

static void
lan_forward6(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3)
{
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, l3->l3);

	if (wg_ip6_is_multicast(ip->src_addr) || wg_ip6_is_unspecified(ip->src_addr) ||
			wg_ip6_is_link_local(ip->src_addr) || wg_ip6_is_link_local(ip->dst_addr)) {
		wg_worker_drop(w, m, WG_DROP_ip6_martian);
		return;
	}
	if (ip->hop_limits <= 1) {
		wg_icmp6_error(w, p, m, l3, WG_ICMP6_TIME_EXCEEDED, 0, 0, WG_DROP_ttl_exceeded);
		return;
	}
	if (sizeof(*ip) + l3->l4_len > w->dp->mtu) {
		wg_icmp6_error(w, p, m, l3, WG_ICMP6_PACKET_TOO_BIG, 0, w->dp->mtu,
			WG_DROP_too_big);
		return;
	}
	ip->hop_limits--;
	wg_encap_add(w, m, l3->l3, WG_ENCAP_LOOKUP, false);
}

/* ---- IPv4 / IPv6 validation and local delivery ---- */

static void
ip4_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m)
{
	uint16_t len = rte_pktmbuf_data_len(m) - RTE_ETHER_HDR_LEN;
	const struct rte_ipv4_hdr *ip;
	struct wg_l3 l3 = { .l3 = RTE_ETHER_HDR_LEN };
	uint16_t ihl, tot;

	if (len < sizeof(*ip)) {
		wg_worker_drop(w, m, WG_DROP_ip4_short);
		return;
	}
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l3.l3);
	ihl = (ip->version_ihl & 0xf) * 4;
	tot = rte_be_to_cpu_16(ip->total_length);
	if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) || ihl > len || tot < ihl ||
			tot > len) {
		wg_worker_drop(w, m, WG_DROP_ip4_bad_header);
		return;
	}
	if (wg_ip4_cksum(ip) != 0) {
		wg_worker_drop(w, m, WG_DROP_ip4_bad_csum);
		return;
	}
	rte_pktmbuf_trim(m, len - tot);		/* Ethernet padding */
	l3.l4 = l3.l3 + ihl;
	l3.l4_len = tot - ihl;
	l3.proto = ip->next_proto_id;

	if (wg_port_ip4_local(p, ip->dst_addr) < 0) {
		if (p->role == WG_LAN)
			lan_forward4(w, p, m, &l3);
		else
			wg_worker_drop(w, m, wg_ip4_martian(ip->dst_addr) ?
				WG_DROP_l3_multicast : WG_DROP_not_for_us);
		return;
	}
	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
			RTE_IPV4_HDR_OFFSET_MASK)) {
		wg_worker_drop(w, m, WG_DROP_ip4_fragment);
		return;
	}
	switch (l3.proto) {
	case IPPROTO_UDP:
		udp_input(w, p, m, &l3);
		break;
	case IPPROTO_ICMP:
		wg_icmp4_input(w, p, m, &l3);
		break;
	default:
		wg_worker_drop(w, m, WG_DROP_local_unhandled);
	}
}

static void
ip6_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m)
{
	uint16_t len = rte_pktmbuf_data_len(m) - RTE_ETHER_HDR_LEN;
	const struct rte_ipv6_hdr *ip;
	struct wg_l3 l3 = { .l3 = RTE_ETHER_HDR_LEN };
	uint16_t plen;

	if (len < sizeof(*ip)) {
		wg_worker_drop(w, m, WG_DROP_ip6_short);
		return;
	}
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, l3.l3);
	plen = rte_be_to_cpu_16(ip->payload_len);
	if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6 || plen > len - sizeof(*ip)) {
		wg_worker_drop(w, m, WG_DROP_ip6_bad_header);
		return;
	}
	rte_pktmbuf_trim(m, len - sizeof(*ip) - plen);
	l3.l4 = l3.l3 + sizeof(*ip);
	l3.l4_len = plen;
	l3.proto = ip->proto;

	if (wg_ip6_is_multicast(ip->src_addr)) {
		wg_worker_drop(w, m, WG_DROP_ip6_martian);
		return;
	}
	if (wg_port_ip6_local(p, ip->dst_addr) < 0 && !wg_port_ip6_our_multicast(p, ip->dst_addr)) {
		if (wg_ip6_is_multicast(ip->dst_addr))
			wg_worker_drop(w, m, WG_DROP_l3_multicast);
		else if (p->role == WG_LAN)
			lan_forward6(w, p, m, &l3);
		else
			wg_worker_drop(w, m, WG_DROP_not_for_us);
		return;
	}
	switch (l3.proto) {
	case IPPROTO_UDP:
		if (wg_ip6_is_multicast(ip->dst_addr))
			wg_worker_drop(w, m, WG_DROP_l3_multicast);
		else
			udp_input(w, p, m, &l3);
		break;
	case IPPROTO_ICMPV6:
		wg_icmp6_input(w, p, m, &l3);
		break;
	case IPPROTO_FRAGMENT:
		wg_worker_drop(w, m, WG_DROP_ip6_fragment);
		break;
	default:
		wg_worker_drop(w, m, WG_DROP_local_unhandled);
	}
}

/* ---- Ethernet ---- */

static void
eth_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth;

	if (!rte_pktmbuf_is_contiguous(m)) {
		wg_worker_drop(w, m, WG_DROP_eth_segmented);
		return;
	}
	if (rte_pktmbuf_data_len(m) < sizeof(*eth)) {
		wg_worker_drop(w, m, WG_DROP_eth_short);
		return;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (rte_is_unicast_ether_addr(&eth->dst_addr) &&
			!rte_is_same_ether_addr(&eth->dst_addr, &p->mac)) {
		wg_worker_drop(w, m, WG_DROP_eth_not_for_us);
		return;
	}
	switch (eth->ether_type) {
	case RTE_BE16(RTE_ETHER_TYPE_ARP):
		wg_arp_input(w, p, m);
		break;
	case RTE_BE16(RTE_ETHER_TYPE_IPV4):
		ip4_input(w, p, m);
		break;
	case RTE_BE16(RTE_ETHER_TYPE_IPV6):
		ip6_input(w, p, m);
		break;
	default:
		wg_worker_drop(w, m, WG_DROP_eth_unknown_type);
	}
}

/* The batches a burst filled: decrypt first (it may queue ICMP errors to encrypt). */
static void
flush_batches(struct wg_worker *w)
{
	hs_flush(w);
	wg_decap_flush(w);
	wg_encap_flush(w);
}

void
wg_worker_input(struct wg_worker *w, uint8_t role, struct rte_mbuf *m)
{
	eth_input(w, &w->dp->port[role], m);
	flush_batches(w);
}

void
wg_worker_input_burst(struct wg_worker *w, uint8_t role, struct rte_mbuf **pkts, uint16_t n)
{
	const struct wg_port *p = &w->dp->port[role];
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		eth_input(w, p, pkts[i]);
	}
	flush_batches(w);
}

static unsigned int
rx_port(struct wg_worker *w, uint8_t role)
{
	const struct wg_port *p = &w->dp->port[role];
	struct rte_mbuf *pkts[WG_BURST];
	uint16_t n;

	n = rte_eth_rx_burst(p->port_id, w->index, pkts, WG_BURST);
	if (n == 0)
		return 0;
	wg_stats_count(w->stats, role == WG_WAN ? WG_CNT_rx_wan : WG_CNT_rx_lan, n);
	wg_worker_input_burst(w, role, pkts, n);
	return n;
}

/* Packets the control lcore originated (handshakes, ARP / ND) or staged (to encrypt). */
unsigned int
wg_worker_from_control(struct wg_worker *w)
{
	struct rte_mbuf *pkts[WG_BURST];
	struct wg_mbuf_meta *meta;
	unsigned int n, i;

	n = rte_ring_sc_dequeue_burst(w->tx_ring, (void **)pkts, WG_BURST, NULL);
	for (i = 0; i < n; i++) {
		meta = wg_meta(pkts[i]);
		if (meta->kind == WG_META_STAGED)
			wg_encap_add(w, pkts[i], 0, meta->peer_id, true);
		else
			wg_worker_tx(w, meta->port, pkts[i]);
	}
	if (n != 0) {
		wg_stats_count(w->stats, WG_CNT_control_tx, n);
		wg_encap_flush(w);
	}
	return n;
}

static void
flush_tx(struct wg_worker *w)
{
	unsigned int role;
	uint16_t sent;

	for (role = 0; role < WG_NB_PORTS; role++) {
		sent = rte_eth_tx_buffer_flush(w->dp->port[role].port_id, w->index, w->txb[role]);
		if (sent != 0)
			wg_stats_count(w->stats, role == WG_WAN ? WG_CNT_tx_wan : WG_CNT_tx_lan,
				sent);
	}
}

void
wg_worker_flush(struct wg_worker *w)
{
	flush_tx(w);
}

bool
wg_worker_post(struct wg_worker *w, const struct wg_event *ev)
{
	struct wg_event copy = *ev;

	if (rte_ring_sp_enqueue_elem(w->event_ring, &copy, sizeof(copy)) != 0) {
		wg_stats_drop(w->stats, WG_DROP_event_ring_full, 1);
		return false;
	}
	wg_stats_count(w->stats, WG_CNT_neigh_events, 1);
	return true;
}

_Static_assert(sizeof(struct wg_event_peer) == sizeof(struct wg_engine_event) &&
	offsetof(struct wg_event_peer, bits) == offsetof(struct wg_engine_event, bits),
	"a peer event carries a struct wg_engine_event");
_Static_assert(sizeof(struct wg_event) == 32, "event ring elements stay 32 bytes");

/* Once per peer per burst (engine_worker.h): queued only when the peer was not already. */
void
wg_worker_post_peer(struct wg_worker *w, struct wg_peer *peer, uint32_t bits, uint64_t now,
	const struct wg_endpoint *ep, struct noise_keypair *kp)
{
	struct wg_event ev = { .type = WG_EV_PEER };

	if (!wg_engine_post(peer, bits, now, ep, kp))
		return;
	ev.peer.peer_id = peer->id;
	ev.peer.bits = bits;
	if (rte_ring_sp_enqueue_elem(w->event_ring, &ev, sizeof(ev)) != 0) {
		wg_engine_post_undo(peer);
		wg_stats_drop(w->stats, WG_DROP_event_ring_full, 1);
		return;
	}
	wg_stats_count(w->stats, WG_CNT_peer_events, 1);
}

void
wg_worker_to_control(struct wg_worker *w, struct rte_mbuf *m)
{
	if (rte_ring_sp_enqueue(w->ctrl_ring, m) != 0) {
		wg_worker_drop(w, m, WG_DROP_ctrl_ring_full);
		return;
	}
	wg_stats_count(w->stats, WG_CNT_to_control, 1);
}

void
wg_worker_send(struct wg_worker *w, uint8_t role, struct rte_mbuf *m,
	const struct wg_neigh_key *nh, const uint8_t *mac)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct wg_mbuf_meta *meta;

	eth->src_addr = w->dp->port[role].mac;
	m->ol_flags = 0;
	if (mac != NULL) {
		memcpy(eth->dst_addr.addr_bytes, mac, RTE_ETHER_ADDR_LEN);
		wg_worker_tx(w, role, m);
		return;
	}
	meta = wg_meta(m);
	meta->kind = WG_META_NEIGH_WAIT;
	meta->port = role;
	meta->nexthop = *nh;
	wg_worker_to_control(w, m);
}

bool
wg_port_nexthop(const struct wg_port *p, uint8_t family, const uint8_t *dst,
	struct wg_neigh_key *nh)
{
	rte_be32_t a;

	memset(nh, 0, sizeof(*nh));
	nh->port = p->role;
	nh->family = family;
	if (family == AF_INET) {
		memcpy(&a, dst, 4);
		if (wg_port_ip4_onlink(p, a) >= 0)
			memcpy(nh->addr, dst, 4);
		else if (p->has_gw4)
			memcpy(nh->addr, &p->gw4, 4);
		else
			return false;
		return true;
	}
	if (wg_port_ip6_onlink(p, dst) >= 0)
		memcpy(nh->addr, dst, 16);
	else if (p->has_gw6)
		memcpy(nh->addr, p->gw6, 16);
	else
		return false;
	return true;
}

int
wg_worker_start(struct wg_worker *w)
{
	if (w->aead == NULL)
		w->aead = wg_aead_ctx_create();
	return w->aead != NULL ? 0 : -ENOMEM;
}

void
wg_worker_stop(struct wg_worker *w)
{
	wg_aead_ctx_free(w->aead);
	w->aead = NULL;
}

/*
 * Nothing received: spin a little, then pause, then sleep with growing
 * naps (offline for RCU while asleep) so that a shared CPU is not starved.
 */
static void
idle(struct wg_worker *w)
{
	struct wg_dp *dp = w->dp;

	if (!dp->idle || ++w->idle_loops < IDLE_SPIN_LOOPS)
		return;
	if (w->idle_loops < IDLE_PAUSE_LOOPS) {
		rte_pause();
		return;
	}
	flush_tx(w);
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->index);
	rte_delay_us_sleep(w->sleep_us);
	rte_rcu_qsbr_thread_online(dp->qsbr, w->index);
	wg_stats_count(w->stats, WG_CNT_idle_sleeps, 1);
	w->sleep_us = RTE_MIN(w->sleep_us * 2, (uint32_t)IDLE_SLEEP_MAX_US);
}

static void
busy(struct wg_worker *w)
{
	w->idle_loops = 0;
	w->sleep_us = IDLE_SLEEP_MIN_US;
}

int
wg_worker_main(void *arg)
{
	struct wg_worker *w = arg;
	struct wg_dp *dp = w->dp;
	unsigned int n;
	uint64_t now;

	if (wg_worker_start(w) != 0) {
		/* Startup, not the hot path: without AEAD this worker cannot serve its queues. */
		fprintf(stderr, "wg-dpdk: worker lcore %u: no AEAD context (out of memory, or "
			"WG_DPDK_AEAD not auto, mb or ipsecmb), stopping\n", w->lcore_id);
		__atomic_store_n(&wg_dp_quit, 1, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	printf("wg-dpdk: worker lcore %u: AEAD %s\n", w->lcore_id, wg_aead_ctx_describe(w->aead));
	fflush(stdout);
	rte_rcu_qsbr_thread_register(dp->qsbr, w->index);
	rte_rcu_qsbr_thread_online(dp->qsbr, w->index);
	busy(w);
	w->last_drain = rte_rdtsc();

	while (!wg_dp_quitting()) {
		n = rx_port(w, WG_WAN);
		n += rx_port(w, WG_LAN);
		n += wg_worker_from_control(w);

		now = rte_rdtsc();
		if (now - w->last_drain >= w->drain_tsc) {
			flush_tx(w);
			w->last_drain = now;
		}
		rte_rcu_qsbr_quiescent(dp->qsbr, w->index);
		if (n == 0)
			idle(w);
		else
			busy(w);
	}
	flush_tx(w);
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->index);
	rte_rcu_qsbr_thread_unregister(dp->qsbr, w->index);
	wg_worker_stop(w);
	return 0;
}
