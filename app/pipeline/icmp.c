/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICMP and ICMPv6 for our own addresses (echo) and the errors a router owes
 * its senders: time exceeded, fragmentation needed / packet too big. Errors
 * reuse the offending mbuf (no allocation on a worker): strip its Ethernet
 * header, trim it to the quote, prepend the new headers, and send it back to
 * the L2 neighbour that sent it.
 */
#include <netinet/in.h>

#include <rte_cycles.h>
#include <rte_icmp.h>

#include "pipeline.h"

enum {
	ICMP6_DST_UNREACH = 1,
	ICMP6_PACKET_TOO_BIG = 2,
	ICMP6_TIME_EXCEEDED = 3,
	ICMP6_PARAM_PROB = 4,
	ICMP6_ECHO_REQUEST = 128,
	ICMP6_ECHO_REPLY = 129,
	ICMP6_NEIGHBOR_SOLICIT = 135,
	ICMP6_NEIGHBOR_ADVERT = 136,
	ICMP_ERROR_TTL = 64,
};

/* ---- echo ---- */

void
wg_icmp4_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l3->l3);
	struct rte_icmp_hdr *icmp = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, l3->l4);
	rte_be32_t a;

	if (l3->l4_len < sizeof(*icmp) || rte_raw_cksum(icmp, l3->l4_len) != 0xffff) {
		wg_worker_drop(w, m, WG_DROP_icmp_malformed);
		return;
	}
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST) {
		wg_worker_drop(w, m, WG_DROP_icmp_unhandled);
		return;
	}
	eth->dst_addr = eth->src_addr;
	eth->src_addr = p->mac;
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	ip->time_to_live = ICMP_ERROR_TTL;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = ~rte_raw_cksum(icmp, l3->l4_len);
	m->ol_flags = 0;
	wg_stats_count(w->stats, WG_CNT_echo_replies, 1);
	wg_worker_tx(w, p->role, m);
}

static void
echo6_reply(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, l3->l3);
	struct rte_icmp_hdr *icmp = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, l3->l4);
	uint8_t a[16];

	if (l3->l4_len < sizeof(*icmp) || wg_ip6_is_multicast(ip->dst_addr)) {
		wg_worker_drop(w, m, WG_DROP_icmp_unhandled);
		return;
	}
	eth->dst_addr = eth->src_addr;
	eth->src_addr = p->mac;
	memcpy(a, ip->src_addr, 16);
	memcpy(ip->src_addr, ip->dst_addr, 16);
	memcpy(ip->dst_addr, a, 16);
	ip->hop_limits = ICMP_ERROR_TTL;
	icmp->icmp_type = ICMP6_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = rte_ipv6_udptcp_cksum(ip, icmp);
	m->ol_flags = 0;
	wg_stats_count(w->stats, WG_CNT_echo_replies, 1);
	wg_worker_tx(w, p->role, m);
}

void
wg_icmp6_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3)
{
	const struct rte_ipv6_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, l3->l3);
	const uint8_t *icmp = rte_pktmbuf_mtod_offset(m, const uint8_t *, l3->l4);

	if (l3->l4_len < 4 || rte_ipv6_udptcp_cksum_verify(ip, icmp) != 0) {
		wg_worker_drop(w, m, WG_DROP_icmp_malformed);
		return;
	}
	switch (icmp[0]) {
	case ICMP6_NEIGHBOR_SOLICIT:
	case ICMP6_NEIGHBOR_ADVERT:
		wg_nd_input(w, p, m, l3);
		break;
	case ICMP6_ECHO_REQUEST:
		echo6_reply(w, p, m, l3);
		break;
	default:
		wg_worker_drop(w, m, WG_DROP_icmp_unhandled);
	}
}

/* ---- errors ---- */

/* Token bucket per worker, so a flood of expiring packets cannot become a flood of errors. */
bool
wg_icmp_error_allowed(struct wg_worker *w)
{
	uint64_t hz = w->dp->tsc_hz, now = rte_rdtsc(), elapsed = now - w->icmp_last;
	uint64_t cap = (uint64_t)WG_ICMP_ERR_BURST * hz;

	w->icmp_last = now;
	if (elapsed > hz)
		elapsed = hz;
	w->icmp_tokens = RTE_MIN(cap, w->icmp_tokens + elapsed * WG_ICMP_ERR_PER_SEC);
	if (w->icmp_tokens < hz)
		return false;
	w->icmp_tokens -= hz;
	return true;
}

/* RFC 1812 4.3.2.7: no error about an ICMP error or a non-initial fragment. */
static bool
ip4_error_suppressed(struct rte_mbuf *m, const struct wg_l3 *l3)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l3->l3);
	uint8_t type;

	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK))
		return true;
	if (l3->proto != IPPROTO_ICMP)
		return false;
	if (l3->l4_len < 1)
		return true;
	type = *rte_pktmbuf_mtod_offset(m, const uint8_t *, l3->l4);
	return type != RTE_IP_ICMP_ECHO_REQUEST && type != RTE_IP_ICMP_ECHO_REPLY &&
		type != 13 && type != 14;	/* timestamp request / reply */
}

void
wg_icmp4_error(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3, uint8_t type, uint8_t code, uint16_t mtu, enum wg_drop_reason r)
{
	const struct rte_ipv4_hdr *orig =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l3->l3);
	uint16_t quote = RTE_MIN(rte_be_to_cpu_16(orig->total_length),
		(uint16_t)(WG_IP4_ICMP_QUOTE_MAX - sizeof(struct rte_ipv4_hdr) -
		sizeof(struct rte_icmp_hdr)));
	struct rte_ether_addr to_mac = rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr;
	rte_be32_t to = orig->src_addr;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;
	int src;

	if (p->n_ip4 == 0 || ip4_error_suppressed(m, l3)) {
		wg_worker_drop(w, m, r);
		return;
	}
	if (!wg_icmp_error_allowed(w)) {
		wg_worker_drop(w, m, WG_DROP_icmp_ratelimited);
		return;
	}
	src = wg_port_ip4_onlink(p, to);
	rte_pktmbuf_adj(m, l3->l3);
	rte_pktmbuf_trim(m, rte_pktmbuf_data_len(m) - quote);
	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eth) + sizeof(*ip) +
		sizeof(*icmp));
	if (eth == NULL) {
		wg_worker_drop(w, m, r);
		return;
	}
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	eth->dst_addr = to_mac;
	eth->src_addr = p->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0xc0;	/* internetwork control (RFC 1812 4.3.2.5) */
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + sizeof(*icmp) + quote);
	ip->time_to_live = ICMP_ERROR_TTL;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = p->ip4[src >= 0 ? src : 0].addr;
	ip->dst_addr = to;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_type = type;
	icmp->icmp_code = code;
	icmp->icmp_cksum = 0;
	icmp->icmp_ident = 0;
	icmp->icmp_seq_nb = rte_cpu_to_be_16(mtu);	/* next-hop MTU (RFC 1191) or unused */
	icmp->icmp_cksum = ~rte_raw_cksum(icmp, sizeof(*icmp) + quote);
	m->ol_flags = 0;
	wg_stats_count(w->stats, WG_CNT_icmp_errors, 1);
	wg_worker_tx(w, p->role, m);
}

/* RFC 4443 2.4 (e): no error about an ICMPv6 error. */
static bool
ip6_error_suppressed(struct rte_mbuf *m, const struct wg_l3 *l3)
{
	if (l3->proto != IPPROTO_ICMPV6)
		return false;
	return l3->l4_len < 1 || *rte_pktmbuf_mtod_offset(m, const uint8_t *, l3->l4) < 128;
}

void
wg_icmp6_error(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3, uint8_t type, uint8_t code, uint32_t mtu, enum wg_drop_reason r)
{
	const struct rte_ipv6_hdr *orig =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, l3->l3);
	uint16_t quote = RTE_MIN(sizeof(*orig) + l3->l4_len,
		WG_IP6_ICMP_QUOTE_MAX - sizeof(struct rte_ipv6_hdr) - 8);
	struct rte_ether_addr to_mac = rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr;
	struct rte_ether_hdr *eth;
	struct rte_ipv6_hdr *ip;
	uint8_t *icmp, to[16];
	rte_be32_t word;
	uint16_t cksum;

	if (ip6_error_suppressed(m, l3)) {
		wg_worker_drop(w, m, r);
		return;
	}
	if (!wg_icmp_error_allowed(w)) {
		wg_worker_drop(w, m, WG_DROP_icmp_ratelimited);
		return;
	}
	memcpy(to, orig->src_addr, 16);
	rte_pktmbuf_adj(m, l3->l3);
	rte_pktmbuf_trim(m, rte_pktmbuf_data_len(m) - quote);
	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eth) + sizeof(*ip) + 8);
	if (eth == NULL) {
		wg_worker_drop(w, m, r);
		return;
	}
	ip = (struct rte_ipv6_hdr *)(eth + 1);
	icmp = (uint8_t *)(ip + 1);
	eth->dst_addr = to_mac;
	eth->src_addr = p->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	ip->vtc_flow = RTE_BE32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(8 + quote);
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = ICMP_ERROR_TTL;
	memcpy(ip->src_addr, wg_port_ip6_source(p, to), 16);
	memcpy(ip->dst_addr, to, 16);
	icmp[0] = type;
	icmp[1] = code;
	icmp[2] = 0;
	icmp[3] = 0;
	word = rte_cpu_to_be_32(mtu);	/* MTU for packet too big, else unused */
	memcpy(icmp + 4, &word, 4);
	cksum = rte_ipv6_udptcp_cksum(ip, icmp);
	memcpy(icmp + 2, &cksum, 2);
	m->ol_flags = 0;
	wg_stats_count(w->stats, WG_CNT_icmp_errors, 1);
	wg_worker_tx(w, p->role, m);
}
