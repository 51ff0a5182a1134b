/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Router duties on both ports: ARP replies and IPv6 neighbour advertisements
 * for our addresses (RFC 826, RFC 4861), learning neighbours from what we
 * receive (posted to the control lcore, the table's only writer), and the
 * probes and announcements the control lcore sends.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include <rte_arp.h>

#include "pipeline.h"

enum {
	ND_ROUTER_SOLICIT = 133,
	ND_NEIGHBOR_SOLICIT = 135,
	ND_NEIGHBOR_ADVERT = 136,
	ND_OPT_SOURCE_LLADDR = 1,
	ND_OPT_TARGET_LLADDR = 2,
	ND_HOP_LIMIT = 255,
};

#define ND_NA_ROUTER RTE_BE32(0x80000000)
#define ND_NA_SOLICITED RTE_BE32(0x40000000)
#define ND_NA_OVERRIDE RTE_BE32(0x20000000)

/* NS and NA share this layout (the NS's flags word is reserved). */
struct nd_msg {
	uint8_t type;
	uint8_t code;
	rte_be16_t cksum;
	rte_be32_t flags;
	uint8_t target[16];
} __rte_packed;

struct nd_opt_lladdr {
	uint8_t type;
	uint8_t len;		/* in units of 8 bytes: 1 */
	uint8_t mac[RTE_ETHER_ADDR_LEN];
};

static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };

/* ---- addresses of a port ---- */

int
wg_port_ip6_onlink(const struct wg_port *p, const uint8_t *a)
{
	unsigned int i;

	if (wg_ip6_is_link_local(a))
		return 0;
	for (i = 1; i < p->n_ip6; i++)
		if (wg_ip6_prefix_match(p->ip6[i].addr, a, p->ip6[i].prefixlen))
			return (int)i;
	return -1;
}

bool
wg_port_ip6_our_multicast(const struct wg_port *p, const uint8_t *a)
{
	uint8_t group[16];
	unsigned int i;

	if (memcmp(a, all_nodes, 16) == 0)
		return true;
	for (i = 0; i < p->n_ip6; i++) {
		wg_ip6_solicited_node(group, p->ip6[i].addr);
		if (memcmp(a, group, 16) == 0)
			return true;
	}
	return false;
}

const uint8_t *
wg_port_ip6_source(const struct wg_port *p, const uint8_t *dst)
{
	int i = wg_port_ip6_onlink(p, dst);

	if (i >= 0)
		return p->ip6[i].addr;
	if (p->n_ip6 > 1 && !wg_ip6_is_link_local(dst))
		return p->ip6[1].addr;
	return p->ip6[0].addr;
}

static bool
learnable_mac(const struct rte_ether_addr *mac)
{
	return rte_is_unicast_ether_addr(mac) && !rte_is_zero_ether_addr(mac);
}

/* Hand what we learned to the control lcore; the packet ends here. */
static void
post_learned(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m, uint8_t family,
	const void *addr, const struct rte_ether_addr *mac, uint8_t flags)
{
	struct wg_event ev = {
		.type = WG_EV_NEIGH,
		.flags = flags,
		.key = { .port = p->role, .family = family },
	};

	memcpy(ev.key.addr, addr, family == AF_INET ? 4 : 16);
	memcpy(ev.mac, mac->addr_bytes, 6);
	if (m != NULL)
		rte_pktmbuf_free(m);	/* counted as an event, or as event_ring_full */
	wg_worker_post(w, &ev);
}

/* ---- ARP ---- */

static void
arp_reply(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	struct rte_ether_hdr *eth, struct rte_arp_hdr *arp)
{
	uint32_t asked = arp->arp_data.arp_tip;

	eth->dst_addr = eth->src_addr;
	eth->src_addr = p->mac;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	arp->arp_data.arp_sha = p->mac;
	arp->arp_data.arp_sip = asked;
	m->ol_flags = 0;
	wg_stats_count(w->stats, WG_CNT_arp_replies, 1);
	wg_worker_tx(w, p->role, m);
}

void
wg_arp_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp;
	struct rte_ether_addr sha;
	uint32_t sip, tip;
	bool for_us, learnable;

	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*arp)) {
		wg_worker_drop(w, m, WG_DROP_arp_malformed);
		return;
	}
	arp = (struct rte_arp_hdr *)(eth + 1);
	if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
			arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
			arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
		wg_worker_drop(w, m, WG_DROP_arp_malformed);
		return;
	}
	sha = arp->arp_data.arp_sha;
	sip = arp->arp_data.arp_sip;
	tip = arp->arp_data.arp_tip;
	for_us = wg_port_ip4_local(p, tip) >= 0;
	learnable = learnable_mac(&sha) && sip != 0 && wg_port_ip4_local(p, sip) < 0 &&
		wg_port_ip4_onlink(p, sip) >= 0;

	switch (arp->arp_opcode) {
	case RTE_BE16(RTE_ARP_OP_REQUEST):
		if (for_us) {
			if (learnable)
				post_learned(w, p, NULL, AF_INET, &sip, &sha, WG_NEIGH_F_CREATE);
			arp_reply(w, p, m, eth, arp);
		} else if (sip == tip && learnable) {
			post_learned(w, p, m, AF_INET, &sip, &sha, 0);	/* gratuitous */
		} else {
			wg_worker_drop(w, m, WG_DROP_arp_not_for_us);
		}
		break;
	case RTE_BE16(RTE_ARP_OP_REPLY):
		if (learnable && (for_us || sip == tip))
			post_learned(w, p, m, AF_INET, &sip, &sha,
				for_us ? WG_NEIGH_F_SOLICITED : 0);
		else
			wg_worker_drop(w, m, WG_DROP_arp_not_for_us);
		break;
	default:
		wg_worker_drop(w, m, WG_DROP_arp_malformed);
	}
}

/* ---- neighbour discovery ---- */

/* The link-layer address option of type want into *mac (*found); false if options are malformed. */
static bool
nd_lladdr(struct rte_mbuf *m, const struct wg_l3 *l3, uint8_t want, struct rte_ether_addr *mac,
	bool *found)
{
	uint16_t off = l3->l4 + sizeof(struct nd_msg), end = l3->l4 + l3->l4_len;
	const uint8_t *o;

	*found = false;
	while (off < end) {
		if (end - off < 2)
			return false;
		o = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
		if (o[1] == 0 || o[1] * 8 > end - off)
			return false;
		if (o[0] == want && o[1] == 1) {
			memcpy(mac->addr_bytes, o + 2, RTE_ETHER_ADDR_LEN);
			*found = true;
		}
		off += o[1] * 8;
	}
	return true;
}

static bool
is_solicited_node(const uint8_t *a)
{
	uint8_t group[16];

	wg_ip6_solicited_node(group, a);
	return memcmp(a, group, 13) == 0;
}

static void
nd_put_header(struct rte_ether_hdr *eth, struct rte_ipv6_hdr *ip,
	const struct rte_ether_addr *src, const struct rte_ether_addr *dst,
	const uint8_t *ip_src, const uint8_t *ip_dst)
{
	eth->dst_addr = *dst;
	eth->src_addr = *src;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	ip->vtc_flow = RTE_BE32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(sizeof(struct nd_msg) + sizeof(struct nd_opt_lladdr));
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = ND_HOP_LIMIT;
	memmove(ip->src_addr, ip_src, 16);
	memmove(ip->dst_addr, ip_dst, 16);
}

static void
nd_put_body(struct rte_ipv6_hdr *ip, struct nd_msg *nd, uint8_t type, rte_be32_t flags,
	const uint8_t *target, uint8_t opt_type, const struct rte_ether_addr *mac)
{
	struct nd_opt_lladdr *opt = (struct nd_opt_lladdr *)(nd + 1);

	nd->type = type;
	nd->code = 0;
	nd->cksum = 0;
	nd->flags = flags;
	memmove(nd->target, target, 16);
	opt->type = opt_type;
	opt->len = 1;
	memcpy(opt->mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	nd->cksum = rte_ipv6_udptcp_cksum(ip, nd);
}

/* Make m exactly len bytes long (it holds at least an IPv6 header). */
static bool
set_length(struct rte_mbuf *m, uint16_t len)
{
	uint16_t cur = rte_pktmbuf_data_len(m);

	if (cur > len)
		return rte_pktmbuf_trim(m, cur - len) == 0;
	return cur == len || rte_pktmbuf_append(m, len - cur) != NULL;
}

static void
ns_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, l3->l3);
	struct nd_msg *nd = rte_pktmbuf_mtod_offset(m, struct nd_msg *, l3->l4);
	struct rte_ether_addr sllao, to_mac;
	uint8_t target[16], to[16];
	bool dad = wg_ip6_is_unspecified(ip->src_addr), has_sllao;

	if (!nd_lladdr(m, l3, ND_OPT_SOURCE_LLADDR, &sllao, &has_sllao) ||
			wg_ip6_is_multicast(nd->target) ||
			(dad && (has_sllao || !is_solicited_node(ip->dst_addr)))) {
		wg_worker_drop(w, m, WG_DROP_nd_malformed);
		return;
	}
	if (wg_port_ip6_local(p, nd->target) < 0) {
		wg_worker_drop(w, m, WG_DROP_nd_not_for_us);
		return;
	}
	memcpy(target, nd->target, 16);
	if (dad) {
		memcpy(to, all_nodes, 16);
		wg_ip6_mcast_mac(&to_mac, to);
	} else {
		memcpy(to, ip->src_addr, 16);
		to_mac = has_sllao ? sllao : eth->src_addr;
		if (has_sllao && learnable_mac(&sllao))
			post_learned(w, p, NULL, AF_INET6, to, &sllao, WG_NEIGH_F_CREATE);
	}
	if (!set_length(m, l3->l4 + sizeof(*nd) + sizeof(struct nd_opt_lladdr))) {
		wg_worker_drop(w, m, WG_DROP_nd_malformed);
		return;
	}
	nd_put_header(eth, ip, &p->mac, &to_mac, target, to);
	nd_put_body(ip, nd, ND_NEIGHBOR_ADVERT,
		ND_NA_ROUTER | ND_NA_OVERRIDE | (dad ? 0 : ND_NA_SOLICITED),
		target, ND_OPT_TARGET_LLADDR, &p->mac);
	m->ol_flags = 0;
	wg_stats_count(w->stats, WG_CNT_nd_adverts, 1);
	wg_worker_tx(w, p->role, m);
}

static void
na_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3)
{
	const struct rte_ipv6_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, l3->l3);
	const struct nd_msg *nd = rte_pktmbuf_mtod_offset(m, const struct nd_msg *, l3->l4);
	struct rte_ether_addr tllao;
	bool solicited = (nd->flags & ND_NA_SOLICITED) != 0, has_tllao;

	if (!nd_lladdr(m, l3, ND_OPT_TARGET_LLADDR, &tllao, &has_tllao) ||
			wg_ip6_is_multicast(nd->target) ||
			(solicited && wg_ip6_is_multicast(ip->dst_addr))) {
		wg_worker_drop(w, m, WG_DROP_nd_malformed);
		return;
	}
	if (!has_tllao || !learnable_mac(&tllao) || wg_port_ip6_local(p, nd->target) >= 0 ||
			wg_port_ip6_onlink(p, nd->target) < 0) {
		wg_worker_drop(w, m, WG_DROP_icmp_unhandled);
		return;
	}
	post_learned(w, p, m, AF_INET6, nd->target, &tllao, solicited ? WG_NEIGH_F_SOLICITED : 0);
}

void
wg_nd_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3)
{
	const struct rte_ipv6_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, l3->l3);
	const struct nd_msg *nd = rte_pktmbuf_mtod_offset(m, const struct nd_msg *, l3->l4);

	/* RFC 4861 7.1: only on-link senders (hop limit 255), code 0, room for the target. */
	if (ip->hop_limits != ND_HOP_LIMIT || l3->l4_len < sizeof(*nd) || nd->code != 0) {
		wg_worker_drop(w, m, WG_DROP_nd_malformed);
		return;
	}
	if (nd->type == ND_NEIGHBOR_SOLICIT)
		ns_input(w, p, m, l3);
	else
		na_input(w, p, m, l3);
}

/* ---- what the control lcore sends ---- */

static struct rte_mbuf *
frame_alloc(struct wg_dp *dp, uint8_t role, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);

	if (m == NULL)
		return NULL;
	if (rte_pktmbuf_append(m, len) == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(rte_pktmbuf_mtod(m, void *), 0, len);
	wg_meta(m)->kind = WG_META_TX;
	wg_meta(m)->port = role;
	return m;
}

struct rte_mbuf *
wg_arp_request(struct wg_dp *dp, const struct wg_port *p, rte_be32_t sender, rte_be32_t target,
	const struct rte_ether_addr *unicast)
{
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;
	struct rte_mbuf *m;

	m = frame_alloc(dp, p->role, sizeof(*eth) + sizeof(*arp));
	if (m == NULL)
		return NULL;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	arp = (struct rte_arp_hdr *)(eth + 1);
	if (unicast != NULL)
		eth->dst_addr = *unicast;
	else
		memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr = p->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = p->mac;
	arp->arp_data.arp_sip = sender;
	arp->arp_data.arp_tip = target;
	return m;
}

static struct rte_mbuf *
nd_frame(struct wg_dp *dp, const struct wg_port *p, struct rte_ipv6_hdr **ip, struct nd_msg **nd)
{
	uint16_t len = sizeof(struct rte_ether_hdr) + sizeof(**ip) + sizeof(**nd) +
		sizeof(struct nd_opt_lladdr);
	struct rte_mbuf *m = frame_alloc(dp, p->role, len);

	if (m == NULL)
		return NULL;
	*ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, sizeof(struct rte_ether_hdr));
	*nd = (struct nd_msg *)(*ip + 1);
	return m;
}

struct rte_mbuf *
wg_nd_solicit(struct wg_dp *dp, const struct wg_port *p, const uint8_t *target,
	const struct rte_ether_addr *unicast)
{
	struct rte_ether_addr dst_mac;
	struct rte_ipv6_hdr *ip;
	struct nd_msg *nd;
	struct rte_mbuf *m;
	uint8_t dst[16];

	m = nd_frame(dp, p, &ip, &nd);
	if (m == NULL)
		return NULL;
	if (unicast != NULL) {
		memcpy(dst, target, 16);
		dst_mac = *unicast;
	} else {
		wg_ip6_solicited_node(dst, target);
		wg_ip6_mcast_mac(&dst_mac, dst);
	}
	nd_put_header(rte_pktmbuf_mtod(m, struct rte_ether_hdr *), ip, &p->mac, &dst_mac,
		wg_port_ip6_source(p, target), dst);
	nd_put_body(ip, nd, ND_NEIGHBOR_SOLICIT, 0, target, ND_OPT_SOURCE_LLADDR, &p->mac);
	return m;
}

struct rte_mbuf *
wg_nd_advert_unsolicited(struct wg_dp *dp, const struct wg_port *p, const uint8_t *addr)
{
	struct rte_ether_addr dst_mac;
	struct rte_ipv6_hdr *ip;
	struct nd_msg *nd;
	struct rte_mbuf *m;

	m = nd_frame(dp, p, &ip, &nd);
	if (m == NULL)
		return NULL;
	wg_ip6_mcast_mac(&dst_mac, all_nodes);
	nd_put_header(rte_pktmbuf_mtod(m, struct rte_ether_hdr *), ip, &p->mac, &dst_mac,
		addr, all_nodes);
	nd_put_body(ip, nd, ND_NEIGHBOR_ADVERT, ND_NA_ROUTER | ND_NA_OVERRIDE, addr,
		ND_OPT_TARGET_LLADDR, &p->mac);
	return m;
}
