/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker loop. Read top to bottom: RX a burst on the WAN port and on the
 * LAN port, classify each frame, and end it in exactly one way: transmitted,
 * handed to the control lcore, or dropped with a counted reason. Then send
 * what the control lcore queued for us, flush the TX buffers on the drain
 * timer, report RCU quiescence, and back off when there was nothing to do.
 */
#include <netinet/in.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include "messages.h"
#include "pipeline.h"

enum {
	IDLE_SPIN_LOOPS = 256,		/* empty loops before pausing */
	IDLE_PAUSE_LOOPS = 4096,	/* empty loops before sleeping */
	IDLE_SLEEP_MIN_US = 10,
	IDLE_SLEEP_MAX_US = 1000,
};

/* ---- WAN: WireGuard over UDP to the listen port ---- */

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
		wg_worker_drop(w, m, len < MESSAGE_MINIMUM_LENGTH ?
			WG_DROP_wg_bad_size : WG_DROP_not_implemented);
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
	if (rte_ring_mp_enqueue(w->dp->handshake_ring, m) != 0) {
		wg_worker_drop(w, m, WG_DROP_handshake_ring_full);
		return;
	}
	wg_stats_count(w->stats, WG_CNT_to_control, 1);
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

/* RFC 1624: TTL is the high byte of its 16-bit word; fold the carry. */
static void
ip4_dec_ttl(struct rte_ipv4_hdr *ip)
{
	uint32_t sum = rte_be_to_cpu_16(ip->hdr_checksum) + 0x0100;

	ip->time_to_live--;
	ip->hdr_checksum = rte_cpu_to_be_16((uint16_t)(sum + (sum >> 16)));
}

static bool
ip4_martian(rte_be32_t a)
{
	uint32_t h = rte_be_to_cpu_32(a);

	return (h >> 24) == 0 || (h >> 24) == 127 || (h >> 28) == 0xe || h == UINT32_MAX;
}

static void
lan_forward4(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l3->l3);
	uint16_t tot = rte_be_to_cpu_16(ip->total_length);
	int i;

	if (ip4_martian(ip->src_addr) || ip4_martian(ip->dst_addr)) {
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
	ip4_dec_ttl(ip);
	/* Allowed-IPs lookup and encryption come next. */
	wg_worker_drop(w, m, WG_DROP_no_route);
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
	/* Allowed-IPs lookup and encryption come next. */
	wg_worker_drop(w, m, WG_DROP_no_route);
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
	if (rte_ipv4_cksum(ip) != 0) {
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
			wg_worker_drop(w, m, ip4_martian(ip->dst_addr) ?
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

void
wg_worker_input(struct wg_worker *w, uint8_t role, struct rte_mbuf *m)
{
	eth_input(w, &w->dp->port[role], m);
}

static unsigned int
rx_port(struct wg_worker *w, uint8_t role)
{
	const struct wg_port *p = &w->dp->port[role];
	struct rte_mbuf *pkts[WG_BURST];
	uint16_t n, i;

	n = rte_eth_rx_burst(p->port_id, w->index, pkts, WG_BURST);
	if (n == 0)
		return 0;
	wg_stats_count(w->stats, role == WG_WAN ? WG_CNT_rx_wan : WG_CNT_rx_lan, n);
	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		eth_input(w, p, pkts[i]);
	}
	return n;
}

/* Packets the control lcore originated (handshakes, ARP / ND, staged packets). */
static unsigned int
tx_from_control(struct wg_worker *w)
{
	struct rte_mbuf *pkts[WG_BURST];
	unsigned int n, i;

	n = rte_ring_sc_dequeue_burst(w->tx_ring, (void **)pkts, WG_BURST, NULL);
	for (i = 0; i < n; i++)
		wg_worker_tx(w, wg_meta(pkts[i])->port, pkts[i]);
	if (n != 0)
		wg_stats_count(w->stats, WG_CNT_control_tx, n);
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

	rte_rcu_qsbr_thread_register(dp->qsbr, w->index);
	rte_rcu_qsbr_thread_online(dp->qsbr, w->index);
	busy(w);
	w->last_drain = rte_rdtsc();

	while (!wg_dp_quitting()) {
		n = rx_port(w, WG_WAN);
		n += rx_port(w, WG_LAN);
		n += tx_from_control(w);

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
	return 0;
}
