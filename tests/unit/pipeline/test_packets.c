/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's packet path, one frame at a time, on net_ring ports (TX loops
 * back to RX, so what the worker sends is read back): a table of well-formed
 * and hostile frames, each with the counter or drop reason it must move and
 * whether it must be answered; the answers are checked byte by byte; at the
 * end every mbuf must be back in the pool. EAL with --no-huge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_icmp.h>
#include <rte_udp.h>

#include "control/config.h"
#include "messages.h"
#include "pipeline/pipeline.h"

static struct wg_dp *dp;
static struct wg_worker *w;

static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };
static const uint8_t wan_ip[4] = { 198, 51, 100, 1 }, wan_peer[4] = { 198, 51, 100, 2 };
static const uint8_t lan_ip[4] = { 10, 0, 0, 1 }, lan_peer[4] = { 10, 0, 0, 2 };
static const uint8_t lan_ip6[16] = { 0xfd, [15] = 1 }, lan_peer6[16] = { 0xfd, [15] = 2 };
static const uint8_t far4[4] = { 10, 192, 0, 5 }, far6[16] = { 0xfd, 0x01, [15] = 5 };

/* ---- frame builders ---- */

static uint8_t *
put_eth(uint8_t *b, uint8_t role, uint16_t type)
{
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)b;

	e->dst_addr = dp->port[role].mac;
	memcpy(e->src_addr.addr_bytes, peer_mac, 6);
	e->ether_type = rte_cpu_to_be_16(type);
	return b + sizeof(*e);
}

static uint8_t *
put_ip4(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint8_t ttl,
	uint16_t payload, uint16_t frag)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)b;

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + payload);
	ip->fragment_offset = rte_cpu_to_be_16(frag);
	ip->time_to_live = ttl;
	ip->next_proto_id = proto;
	memcpy(&ip->src_addr, src, 4);
	memcpy(&ip->dst_addr, dst, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return b + sizeof(*ip);
}

static uint8_t *
put_ip6(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint8_t hops,
	uint16_t payload)
{
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)b;

	ip->vtc_flow = RTE_BE32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(payload);
	ip->proto = proto;
	ip->hop_limits = hops;
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, dst, 16);
	return b + sizeof(*ip);
}

/* UDP to the listen port carrying a WireGuard message of len bytes, type word first. */
static size_t
wg_udp(uint8_t *b, uint32_t type, uint16_t len)
{
	uint8_t *p = put_ip4(put_eth(b, WG_WAN, RTE_ETHER_TYPE_IPV4), wan_peer, wan_ip,
		IPPROTO_UDP, 64, 8 + len, 0);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)p;

	u->src_port = RTE_BE16(40000);
	u->dst_port = rte_cpu_to_be_16(51820);
	u->dgram_len = rte_cpu_to_be_16(8 + len);
	u->dgram_cksum = 0;
	memset(p + 8, 0, len);
	if (len >= 4)
		memcpy(p + 8, &type, 4);
	return 14 + 20 + 8 + len;
}

static size_t
icmp4_echo(uint8_t *b, uint8_t role, const uint8_t *src, const uint8_t *dst, uint8_t ttl,
	uint16_t data, uint16_t frag)
{
	uint8_t *p = put_ip4(put_eth(b, role, RTE_ETHER_TYPE_IPV4), src, dst, IPPROTO_ICMP, ttl,
		8 + data, frag);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)p;

	memset(icmp, 0, 8 + data);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_ident = RTE_BE16(7);
	icmp->icmp_cksum = ~rte_raw_cksum(icmp, 8 + data);
	return 14 + 20 + 8 + data;
}

static size_t
icmp6_msg(uint8_t *b, uint8_t role, const uint8_t *src, const uint8_t *dst, uint8_t hops,
	uint8_t type, uint16_t len)
{
	uint8_t *p = put_ip6(put_eth(b, role, RTE_ETHER_TYPE_IPV6), src, dst, IPPROTO_ICMPV6,
		hops, len);
	uint16_t ck;

	memset(p, 0, len);
	p[0] = type;
	ck = rte_ipv6_udptcp_cksum((struct rte_ipv6_hdr *)(p - 40), p);
	memcpy(p + 2, &ck, 2);
	return 14 + 40 + len;
}

/* A neighbour solicitation from lan_peer6 to dst for target, with a source link-layer option. */
static size_t
ns_for(uint8_t *b, const uint8_t *dst, const uint8_t *target, uint8_t hops)
{
	uint8_t *p = put_ip6(put_eth(b, WG_LAN, RTE_ETHER_TYPE_IPV6), lan_peer6, dst,
		IPPROTO_ICMPV6, hops, 32);
	uint16_t ck;

	memset(p, 0, 32);
	p[0] = 135;
	memcpy(p + 8, target, 16);
	p[24] = 1;
	p[25] = 1;
	memcpy(p + 26, peer_mac, 6);
	ck = rte_ipv6_udptcp_cksum((struct rte_ipv6_hdr *)(p - 40), p);
	memcpy(p + 2, &ck, 2);
	return 14 + 40 + 32;
}

static size_t
arp(uint8_t *b, uint16_t op, const uint8_t *tip, uint8_t hlen)
{
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)put_eth(b, WG_LAN, RTE_ETHER_TYPE_ARP);

	a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = hlen;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	memcpy(a->arp_data.arp_sha.addr_bytes, peer_mac, 6);
	memcpy(&a->arp_data.arp_sip, lan_peer, 4);
	memset(&a->arp_data.arp_tha, 0, 6);
	memcpy(&a->arp_data.arp_tip, tip, 4);
	return 14 + sizeof(*a);
}

/* ---- the cases ---- */

static size_t b_eth_short(uint8_t *b) { memset(b, 0, 10); return 10; }
static size_t b_other_mac(uint8_t *b)
{
	size_t n = icmp4_echo(b, WG_WAN, wan_peer, wan_ip, 64, 8, 0);

	b[5] ^= 1;
	return n;
}
static size_t b_vlan(uint8_t *b) { put_eth(b, WG_WAN, 0x8100); memset(b + 14, 0, 46); return 60; }
static size_t b_arp_short(uint8_t *b) { arp(b, 1, lan_ip, 6); return 14 + 20; }
static size_t b_arp_hlen(uint8_t *b) { return arp(b, 1, lan_ip, 8); }
static size_t b_arp_other(uint8_t *b)
{
	static const uint8_t other[4] = { 10, 0, 0, 3 };

	return arp(b, 1, other, 6);
}
static size_t b_arp_garp(uint8_t *b) { return arp(b, 1, lan_peer, 6); }
static size_t b_arp_us(uint8_t *b) { return arp(b, 1, lan_ip, 6); }
static size_t b_arp_reply(uint8_t *b) { return arp(b, 2, lan_ip, 6); }
static size_t b_ip4_short(uint8_t *b)
{
	wg_udp(b, 1, 148);
	return 14 + 19;
}
static size_t b_ip4_version(uint8_t *b) { size_t n = wg_udp(b, 1, 148); b[14] = 0x55; return n; }
static size_t b_ip4_ihl(uint8_t *b)
{
	size_t n = wg_udp(b, 1, 148);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + 14);

	ip->version_ihl = 0x44;
	ip->hdr_checksum = 0;
	return n;
}
static size_t b_ip4_ihl_long(uint8_t *b)
{
	size_t n = wg_udp(b, 1, 0);

	b[14] = 0x4f;	/* 60-byte header in a 28-byte packet */
	return n;
}
static size_t b_ip4_totlen(uint8_t *b)
{
	size_t n = wg_udp(b, 1, 148);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + 14);

	ip->total_length = rte_cpu_to_be_16(n);	/* 14 bytes more than the frame holds */
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return n;
}
static size_t b_ip4_csum(uint8_t *b) { size_t n = wg_udp(b, 1, 148); b[14 + 10] ^= 1; return n; }
static size_t b_ip4_frag(uint8_t *b)
{
	return icmp4_echo(b, WG_WAN, wan_peer, wan_ip, 64, 8, RTE_IPV4_HDR_MF_FLAG);
}
static size_t b_udp_trunc(uint8_t *b)
{
	size_t n = wg_udp(b, 1, 148);

	b[14 + 20 + 4] = 0;
	b[14 + 20 + 5] = 200;	/* UDP length beyond the IP payload */
	return n;
}
static size_t b_udp_short(uint8_t *b)
{
	uint8_t *p = put_ip4(put_eth(b, WG_WAN, RTE_ETHER_TYPE_IPV4), wan_peer, wan_ip,
		IPPROTO_UDP, 64, 6, 0);

	memset(p, 0, 6);
	return 14 + 20 + 6;
}
static size_t b_udp_port(uint8_t *b)
{
	size_t n = wg_udp(b, 1, 148);

	b[14 + 20 + 3] ^= 1;
	return n;
}
static size_t b_init(uint8_t *b) { return wg_udp(b, MESSAGE_HANDSHAKE_INITIATION, 148); }
static size_t b_init_long(uint8_t *b) { return wg_udp(b, MESSAGE_HANDSHAKE_INITIATION, 149); }
static size_t b_resp(uint8_t *b) { return wg_udp(b, MESSAGE_HANDSHAKE_RESPONSE, 92); }
static size_t b_resp_short(uint8_t *b) { return wg_udp(b, MESSAGE_HANDSHAKE_RESPONSE, 91); }
static size_t b_cookie(uint8_t *b) { return wg_udp(b, MESSAGE_HANDSHAKE_COOKIE, 64); }
static size_t b_reserved(uint8_t *b) { return wg_udp(b, 0x0100 | MESSAGE_HANDSHAKE_COOKIE, 64); }
static size_t b_type9(uint8_t *b) { return wg_udp(b, 9, 64); }
static size_t b_wg3bytes(uint8_t *b) { return wg_udp(b, 1, 3); }
static size_t b_data(uint8_t *b) { return wg_udp(b, MESSAGE_DATA, 32); }
static size_t b_data_short(uint8_t *b) { return wg_udp(b, MESSAGE_DATA, 31); }
static size_t b_tcp(uint8_t *b)
{
	put_ip4(put_eth(b, WG_WAN, RTE_ETHER_TYPE_IPV4), wan_peer, wan_ip, IPPROTO_TCP, 64, 20,
		0);
	memset(b + 34, 0, 20);
	return 54;
}
static size_t b_wan_other(uint8_t *b) { return icmp4_echo(b, WG_WAN, wan_peer, far4, 64, 8, 0); }
static size_t b_echo(uint8_t *b) { return icmp4_echo(b, WG_WAN, wan_peer, wan_ip, 64, 56, 0); }
static size_t b_echo_csum(uint8_t *b)
{
	size_t n = icmp4_echo(b, WG_WAN, wan_peer, wan_ip, 64, 56, 0);

	b[n - 1] ^= 1;
	return n;
}
static size_t b_echo_short(uint8_t *b)
{
	put_ip4(put_eth(b, WG_WAN, RTE_ETHER_TYPE_IPV4), wan_peer, wan_ip, IPPROTO_ICMP, 64, 4, 0);
	memset(b + 34, 0, 4);
	return 38;
}
static size_t b_lan_ttl1(uint8_t *b) { return icmp4_echo(b, WG_LAN, lan_peer, far4, 1, 8, 0); }
static size_t b_lan_big_df(uint8_t *b)
{
	return icmp4_echo(b, WG_LAN, lan_peer, far4, 64, 1500 - 28, RTE_IPV4_HDR_DF_FLAG);
}
static size_t b_lan_big(uint8_t *b) { return icmp4_echo(b, WG_LAN, lan_peer, far4, 64, 1472, 0); }
static size_t b_lan_fwd(uint8_t *b) { return icmp4_echo(b, WG_LAN, lan_peer, far4, 64, 8, 0); }
static size_t b_lan_mcast(uint8_t *b)
{
	static const uint8_t g[4] = { 224, 0, 0, 251 };

	return icmp4_echo(b, WG_LAN, lan_peer, g, 64, 8, 0);
}
static size_t b_lan_bcast(uint8_t *b)
{
	static const uint8_t bc[4] = { 10, 0, 0, 255 };

	return icmp4_echo(b, WG_LAN, lan_peer, bc, 64, 8, 0);
}
static size_t b_lan_martian(uint8_t *b)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 };

	return icmp4_echo(b, WG_LAN, lo, far4, 64, 8, 0);
}
static size_t b_ttl_icmp_err(uint8_t *b)
{
	size_t n = icmp4_echo(b, WG_LAN, lan_peer, far4, 1, 8, 0);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(b + 34);

	icmp->icmp_type = 3;	/* an ICMP error gets no error back */
	return n;
}
static size_t b_ip6_short(uint8_t *b) { put_eth(b, WG_LAN, RTE_ETHER_TYPE_IPV6); return 14 + 39; }
static size_t b_ip6_plen(uint8_t *b)
{
	size_t n = icmp6_msg(b, WG_LAN, lan_peer6, lan_ip6, 64, 128, 16);

	b[14 + 5] += 1;
	return n;
}
static size_t b_ip6_version(uint8_t *b)
{
	size_t n = icmp6_msg(b, WG_LAN, lan_peer6, lan_ip6, 64, 128, 16);

	b[14] = 0x40;
	return n;
}
static size_t b_echo6(uint8_t *b) { return icmp6_msg(b, WG_LAN, lan_peer6, lan_ip6, 64, 128, 16); }
static size_t b_echo6_csum(uint8_t *b)
{
	size_t n = icmp6_msg(b, WG_LAN, lan_peer6, lan_ip6, 64, 128, 16);

	b[n - 1] ^= 1;
	return n;
}
static size_t b_ns(uint8_t *b) { return ns_for(b, lan_ip6, lan_ip6, 255); }
/* To the solicited-node group ff02::1:ff00:1 of our address, as resolvers send it. */
static size_t b_ns_mcast(uint8_t *b)
{
	static const uint8_t group[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff, [15] = 1 };

	return ns_for(b, group, lan_ip6, 255);
}
static size_t b_ns_hops(uint8_t *b) { return ns_for(b, lan_ip6, lan_ip6, 64); }
static size_t b_ns_other(uint8_t *b) { return ns_for(b, lan_ip6, lan_peer6, 255); }
static size_t b_ns_badopt(uint8_t *b)
{
	size_t n = ns_for(b, lan_ip6, lan_ip6, 255);
	uint8_t *p = b + 54;
	uint16_t ck = 0;

	p[25] = 0;	/* option length 0 */
	memcpy(p + 2, &ck, 2);
	ck = rte_ipv6_udptcp_cksum((struct rte_ipv6_hdr *)(b + 14), p);
	memcpy(p + 2, &ck, 2);
	return n;
}
static size_t b_ip6_frag(uint8_t *b)
{
	put_ip6(put_eth(b, WG_LAN, RTE_ETHER_TYPE_IPV6), lan_peer6, lan_ip6, IPPROTO_FRAGMENT, 64,
		16);
	memset(b + 54, 0, 16);
	return 70;
}
static size_t b_lan6_hop1(uint8_t *b) { return icmp6_msg(b, WG_LAN, lan_peer6, far6, 1, 128, 16); }
static size_t b_lan6_big(uint8_t *b)
{
	return icmp6_msg(b, WG_LAN, lan_peer6, far6, 64, 128, 1400);
}
static size_t b_lan6_fwd(uint8_t *b) { return icmp6_msg(b, WG_LAN, lan_peer6, far6, 64, 128, 16); }
static size_t b_lan6_ll(uint8_t *b)
{
	static const uint8_t ll[16] = { 0xfe, 0x80, [15] = 9 };

	return icmp6_msg(b, WG_LAN, ll, far6, 64, 128, 16);
}

#define NONE (-1)
struct pkt_case {
	const char *name;
	uint8_t role;
	size_t (*build)(uint8_t *b);
	int drop;		/* enum wg_drop_reason, or NONE */
	int counter;		/* enum wg_counter that must move, or NONE */
	bool answered;		/* a frame goes back out of the same port */
};

static const struct pkt_case cases[] = {
	{ "short frame", WG_WAN, b_eth_short, WG_DROP_eth_short, NONE, false },
	{ "other unicast MAC", WG_WAN, b_other_mac, WG_DROP_eth_not_for_us, NONE, false },
	{ "VLAN tag", WG_WAN, b_vlan, WG_DROP_eth_unknown_type, NONE, false },
	{ "ARP truncated", WG_LAN, b_arp_short, WG_DROP_arp_malformed, NONE, false },
	{ "ARP hlen 8", WG_LAN, b_arp_hlen, WG_DROP_arp_malformed, NONE, false },
	{ "ARP for another host", WG_LAN, b_arp_other, WG_DROP_arp_not_for_us, NONE, false },
	{ "gratuitous ARP", WG_LAN, b_arp_garp, NONE, WG_CNT_neigh_events, false },
	{ "ARP request for us", WG_LAN, b_arp_us, NONE, WG_CNT_arp_replies, true },
	{ "ARP reply to us", WG_LAN, b_arp_reply, NONE, WG_CNT_neigh_events, false },
	{ "IPv4 truncated", WG_WAN, b_ip4_short, WG_DROP_ip4_short, NONE, false },
	{ "IPv4 version 5", WG_WAN, b_ip4_version, WG_DROP_ip4_bad_header, NONE, false },
	{ "IPv4 IHL 4", WG_WAN, b_ip4_ihl, WG_DROP_ip4_bad_header, NONE, false },
	{ "IPv4 IHL past the end", WG_WAN, b_ip4_ihl_long, WG_DROP_ip4_bad_header, NONE, false },
	{ "IPv4 total length too big", WG_WAN, b_ip4_totlen, WG_DROP_ip4_bad_header, NONE, false },
	{ "IPv4 bad checksum", WG_WAN, b_ip4_csum, WG_DROP_ip4_bad_csum, NONE, false },
	{ "IPv4 fragment to us", WG_WAN, b_ip4_frag, WG_DROP_ip4_fragment, NONE, false },
	{ "UDP length too big", WG_WAN, b_udp_trunc, WG_DROP_udp_malformed, NONE, false },
	{ "UDP header truncated", WG_WAN, b_udp_short, WG_DROP_udp_malformed, NONE, false },
	{ "UDP other port", WG_WAN, b_udp_port, WG_DROP_udp_port_closed, NONE, false },
	{ "initiation", WG_WAN, b_init, NONE, WG_CNT_to_control, false },
	{ "initiation 149 bytes", WG_WAN, b_init_long, WG_DROP_wg_bad_size, NONE, false },
	{ "response", WG_WAN, b_resp, NONE, WG_CNT_to_control, false },
	{ "response 91 bytes", WG_WAN, b_resp_short, WG_DROP_wg_bad_size, NONE, false },
	{ "cookie reply", WG_WAN, b_cookie, NONE, WG_CNT_to_control, false },
	{ "reserved byte set", WG_WAN, b_reserved, WG_DROP_wg_bad_type, NONE, false },
	{ "type 9", WG_WAN, b_type9, WG_DROP_wg_bad_type, NONE, false },
	{ "3-byte message", WG_WAN, b_wg3bytes, WG_DROP_wg_bad_size, NONE, false },
	{ "data", WG_WAN, b_data, WG_DROP_wg_unknown_index, NONE, false },
	{ "data 31 bytes", WG_WAN, b_data_short, WG_DROP_wg_bad_size, NONE, false },
	{ "TCP to us", WG_WAN, b_tcp, WG_DROP_local_unhandled, NONE, false },
	{ "WAN to another address", WG_WAN, b_wan_other, WG_DROP_not_for_us, NONE, false },
	{ "echo", WG_WAN, b_echo, NONE, WG_CNT_echo_replies, true },
	{ "echo bad checksum", WG_WAN, b_echo_csum, WG_DROP_icmp_malformed, NONE, false },
	{ "ICMP truncated", WG_WAN, b_echo_short, WG_DROP_icmp_malformed, NONE, false },
	{ "LAN TTL 1", WG_LAN, b_lan_ttl1, NONE, WG_CNT_icmp_errors, true },
	{ "LAN too big, DF", WG_LAN, b_lan_big_df, NONE, WG_CNT_icmp_errors, true },
	{ "LAN too big, no DF", WG_LAN, b_lan_big, WG_DROP_too_big, NONE, false },
	{ "LAN forward", WG_LAN, b_lan_fwd, WG_DROP_no_route, NONE, false },
	{ "LAN multicast", WG_LAN, b_lan_mcast, WG_DROP_l3_multicast, NONE, false },
	{ "LAN subnet broadcast", WG_LAN, b_lan_bcast, WG_DROP_l3_multicast, NONE, false },
	{ "LAN loopback source", WG_LAN, b_lan_martian, WG_DROP_ip4_martian, NONE, false },
	{ "no error for an error", WG_LAN, b_ttl_icmp_err, WG_DROP_ttl_exceeded, NONE, false },
	{ "IPv6 truncated", WG_LAN, b_ip6_short, WG_DROP_ip6_short, NONE, false },
	{ "IPv6 payload length", WG_LAN, b_ip6_plen, WG_DROP_ip6_bad_header, NONE, false },
	{ "IPv6 version 4", WG_LAN, b_ip6_version, WG_DROP_ip6_bad_header, NONE, false },
	{ "echo6", WG_LAN, b_echo6, NONE, WG_CNT_echo_replies, true },
	{ "echo6 bad checksum", WG_LAN, b_echo6_csum, WG_DROP_icmp_malformed, NONE, false },
	{ "NS for us", WG_LAN, b_ns, NONE, WG_CNT_nd_adverts, true },
	{ "NS to solicited-node", WG_LAN, b_ns_mcast, NONE, WG_CNT_nd_adverts, true },
	{ "NS hop limit 64", WG_LAN, b_ns_hops, WG_DROP_nd_malformed, NONE, false },
	{ "NS for another", WG_LAN, b_ns_other, WG_DROP_nd_not_for_us, NONE, false },
	{ "NS option length 0", WG_LAN, b_ns_badopt, WG_DROP_nd_malformed, NONE, false },
	{ "IPv6 fragment to us", WG_LAN, b_ip6_frag, WG_DROP_ip6_fragment, NONE, false },
	{ "LAN hop limit 1", WG_LAN, b_lan6_hop1, NONE, WG_CNT_icmp_errors, true },
	{ "LAN IPv6 too big", WG_LAN, b_lan6_big, NONE, WG_CNT_icmp_errors, true },
	{ "LAN IPv6 forward", WG_LAN, b_lan6_fwd, WG_DROP_no_route, NONE, false },
	{ "LAN link-local source", WG_LAN, b_lan6_ll, WG_DROP_ip6_martian, NONE, false },
};

/* Feed one frame; return what came back out of its port (NULL if nothing). */
static struct rte_mbuf *
feed(uint8_t role, const uint8_t *bytes, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool), *out[4];
	uint16_t n, i;

	assert_non_null(m);
	assert_non_null(rte_pktmbuf_append(m, len));
	memcpy(rte_pktmbuf_mtod(m, void *), bytes, len);
	wg_worker_input(w, role, m);
	wg_worker_flush(w);
	n = rte_eth_rx_burst(dp->port[role].port_id, 0, out, RTE_DIM(out));
	assert_true(n <= 1);
	for (i = 1; i < n; i++)
		rte_pktmbuf_free(out[i]);
	return n == 1 ? out[0] : NULL;
}

static void
test_table(void **state)
{
	struct wg_lcore_stats before, after;
	uint8_t buf[2048];
	struct rte_mbuf *out;
	size_t i, len;
	unsigned int j;

	(void)state;
	for (i = 0; i < RTE_DIM(cases); i++) {
		memset(buf, 0, sizeof(buf));
		len = cases[i].build(buf);
		wg_stats_read(w->lcore_id, &before);
		out = feed(cases[i].role, buf, len);
		wg_stats_read(w->lcore_id, &after);
		if ((out != NULL) != cases[i].answered)
			fail_msg("%s: %s", cases[i].name, out ? "answered" : "not answered");
		rte_pktmbuf_free(out);
		for (j = 0; j < WG_DROP_MAX; j++)
			if (after.drop[j] - before.drop[j] != (j == (unsigned int)cases[i].drop))
				fail_msg("%s: drop %s moved by %" PRIu64, cases[i].name,
					wg_stats_drop_name(j), after.drop[j] - before.drop[j]);
		if (cases[i].counter != NONE &&
				after.cnt[cases[i].counter] == before.cnt[cases[i].counter])
			fail_msg("%s: %s did not move", cases[i].name,
				wg_stats_counter_name(cases[i].counter));
	}
	/* The three handshake messages wait on the ring for the control lcore. */
	assert_int_equal(rte_ring_count(dp->handshake_ring), 3);
}

/*
 * The handshake ring is bounded (MAX_QUEUED_INCOMING_HANDSHAKES): filled by
 * handshake messages the control lcore has not taken yet, one more is freed
 * under handshake_ring_full and nothing else moves. Runs after test_table
 * (three messages already queued); test_no_leak frees the queued ones.
 */
static void
test_handshake_ring_full(void **state)
{
	struct wg_lcore_stats before, after;
	struct rte_mbuf *burst[8];
	uint8_t buf[2048];
	unsigned int j, n;
	size_t len;

	(void)state;
	memset(buf, 0, sizeof(buf));
	len = b_init(buf);
	assert_int_equal(rte_ring_get_capacity(dp->handshake_ring), MAX_QUEUED_INCOMING_HANDSHAKES);
	wg_stats_read(w->lcore_id, &before);
	n = MAX_QUEUED_INCOMING_HANDSHAKES - rte_ring_count(dp->handshake_ring);
	for (j = 0; j < n; j++)
		assert_null(feed(WG_WAN, buf, len));
	wg_stats_read(w->lcore_id, &after);
	assert_int_equal(after.cnt[WG_CNT_to_control] - before.cnt[WG_CNT_to_control], n);
	assert_int_equal(after.drop[WG_DROP_handshake_ring_full],
		before.drop[WG_DROP_handshake_ring_full]);
	assert_true(rte_ring_full(dp->handshake_ring));

	before = after;
	for (j = 0; j < 5; j++)
		assert_null(feed(WG_WAN, buf, len));
	wg_stats_read(w->lcore_id, &after);
	for (j = 0; j < WG_DROP_MAX; j++)
		if (after.drop[j] - before.drop[j] != (j == WG_DROP_handshake_ring_full ? 5u : 0u))
			fail_msg("full ring: drop %s moved by %" PRIu64, wg_stats_drop_name(j),
				after.drop[j] - before.drop[j]);
	assert_int_equal(after.cnt[WG_CNT_to_control], before.cnt[WG_CNT_to_control]);
	assert_int_equal(rte_ring_count(dp->handshake_ring), MAX_QUEUED_INCOMING_HANDSHAKES);

	/*
	 * A burst's handshake messages go in one enqueue: with room for 3, a
	 * burst of 8 puts 3 on the ring and drops 5, each counted.
	 */
	for (j = 0; j < 3; j++) {
		assert_int_equal(rte_ring_sc_dequeue(dp->handshake_ring, (void **)&burst[0]), 0);
		rte_pktmbuf_free(burst[0]);
	}
	for (j = 0; j < RTE_DIM(burst); j++) {
		burst[j] = rte_pktmbuf_alloc(dp->pool);
		assert_non_null(burst[j]);
		assert_non_null(rte_pktmbuf_append(burst[j], len));
		memcpy(rte_pktmbuf_mtod(burst[j], void *), buf, len);
	}
	before = after;
	wg_worker_input_burst(w, WG_WAN, burst, RTE_DIM(burst));
	wg_worker_flush(w);
	wg_stats_read(w->lcore_id, &after);
	assert_int_equal(after.cnt[WG_CNT_to_control] - before.cnt[WG_CNT_to_control], 3);
	assert_int_equal(after.drop[WG_DROP_handshake_ring_full] -
		before.drop[WG_DROP_handshake_ring_full], RTE_DIM(burst) - 3);
	assert_int_equal(rte_ring_count(dp->handshake_ring), MAX_QUEUED_INCOMING_HANDSHAKES);
}

static void
test_answers(void **state)
{
	uint8_t buf[2048];
	struct rte_mbuf *out;
	const uint8_t *o;
	const struct rte_ipv6_hdr *ip6;
	struct rte_ipv4_hdr ip4;
	size_t len;

	(void)state;
	/* ARP reply: to the asker, from our MAC, sender = the address asked. */
	len = b_arp_us(buf);
	out = feed(WG_LAN, buf, len);
	assert_non_null(out);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	assert_memory_equal(o, peer_mac, 6);
	assert_memory_equal(o + 6, dp->port[WG_LAN].mac.addr_bytes, 6);
	assert_int_equal(o[14 + 7], 2);				/* op reply */
	assert_memory_equal(o + 14 + 8, dp->port[WG_LAN].mac.addr_bytes, 6);
	assert_memory_equal(o + 14 + 14, lan_ip, 4);
	assert_memory_equal(o + 14 + 18, peer_mac, 6);
	assert_memory_equal(o + 14 + 24, lan_peer, 4);
	rte_pktmbuf_free(out);

	/* Echo reply: addresses swapped, both checksums valid, payload kept. */
	len = b_echo(buf);
	out = feed(WG_WAN, buf, len);
	assert_non_null(out);
	assert_int_equal(rte_pktmbuf_pkt_len(out), len);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	memcpy(&ip4, o + 14, sizeof(ip4));
	assert_int_equal(rte_ipv4_cksum(&ip4), 0);
	assert_memory_equal(&ip4.src_addr, wan_ip, 4);
	assert_memory_equal(&ip4.dst_addr, wan_peer, 4);
	assert_int_equal(o[34], RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(rte_raw_cksum(o + 34, len - 34), 0xffff);
	rte_pktmbuf_free(out);

	/* Fragmentation needed: type 3 code 4, MTU 1420, quoting the original header. */
	len = b_lan_big_df(buf);
	out = feed(WG_LAN, buf, len);
	assert_non_null(out);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	assert_int_equal(rte_pktmbuf_pkt_len(out), 14 + 20 + 8 + 548);
	memcpy(&ip4, o + 14, sizeof(ip4));
	assert_int_equal(rte_ipv4_cksum(&ip4), 0);
	assert_memory_equal(&ip4.src_addr, lan_ip, 4);
	assert_memory_equal(&ip4.dst_addr, lan_peer, 4);
	assert_int_equal(o[34], 3);
	assert_int_equal(o[35], 4);
	assert_int_equal(o[34 + 6] << 8 | o[34 + 7], 1420);
	assert_memory_equal(o + 42, buf + 14, 20);
	assert_int_equal(rte_raw_cksum(o + 34, 8 + 548), 0xffff);
	rte_pktmbuf_free(out);

	/* Packet too big: ICMPv6 type 2 with the MTU, valid checksum, at most 1280 bytes. */
	len = b_lan6_big(buf);
	out = feed(WG_LAN, buf, len);
	assert_non_null(out);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	ip6 = (const struct rte_ipv6_hdr *)(o + 14);
	assert_int_equal(rte_pktmbuf_pkt_len(out), 14 + 1280);
	assert_int_equal(o[54], 2);
	assert_int_equal(o[54 + 4] << 24 | o[54 + 5] << 16 | o[54 + 6] << 8 | o[54 + 7], 1420);
	assert_memory_equal(ip6->src_addr, lan_ip6, 16);
	assert_memory_equal(ip6->dst_addr, lan_peer6, 16);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip6, o + 54), 0);
	rte_pktmbuf_free(out);

	/* Neighbour advertisement: solicited, override, router, target option with our MAC. */
	len = b_ns(buf);
	out = feed(WG_LAN, buf, len);
	assert_non_null(out);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	ip6 = (const struct rte_ipv6_hdr *)(o + 14);
	assert_int_equal(rte_pktmbuf_pkt_len(out), 14 + 40 + 32);
	assert_memory_equal(o, peer_mac, 6);
	assert_int_equal(ip6->hop_limits, 255);
	assert_memory_equal(ip6->src_addr, lan_ip6, 16);
	assert_memory_equal(ip6->dst_addr, lan_peer6, 16);
	assert_int_equal(o[54], 136);
	assert_int_equal(o[54 + 4], 0xe0);
	assert_memory_equal(o + 54 + 8, lan_ip6, 16);
	assert_int_equal(o[54 + 24], 2);
	assert_memory_equal(o + 54 + 26, dp->port[WG_LAN].mac.addr_bytes, 6);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip6, o + 54), 0);
	rte_pktmbuf_free(out);
}

/* What the ARP request and NS above taught: events for the control lcore. */
static void
test_events(void **state)
{
	struct wg_event ev;
	unsigned int n = 0, learned6 = 0;

	(void)state;
	while (rte_ring_sc_dequeue_elem(w->event_ring, &ev, sizeof(ev)) == 0) {
		assert_int_equal(ev.type, WG_EV_NEIGH);
		assert_int_equal(ev.key.port, WG_LAN);
		assert_memory_equal(ev.mac, peer_mac, 6);
		if (ev.key.family == AF_INET6) {
			assert_memory_equal(ev.key.addr, lan_peer6, 16);
			learned6++;
		} else {
			assert_memory_equal(ev.key.addr, lan_peer, 4);
		}
		n++;
	}
	/* Gratuitous ARP, ARP request (x2), ARP reply, NS (x3). */
	assert_int_equal(n, 7);
	assert_int_equal(learned6, 3);
}

static struct wg_conf conf;
static struct wg_prefix wan_addr[2], lan_addr[2];

static void
prefix(struct wg_prefix *p, uint8_t family, const uint8_t *a, uint8_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->len = len;
	memcpy(p->addr, a, family == AF_INET ? 4 : 16);
}

static int
setup(void **state)
{
	char prefix_arg[64];
	char *argv[] = { "test_packets", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
		"--lcores=0@0,1@0", "--vdev=net_ring0", "--vdev=net_ring1",
		"--log-level=*:error", prefix_arg };
	static const uint8_t wan_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	(void)state;
	snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=wgpkt%d", (int)getpid());
	if (rte_eal_init(RTE_DIM(argv), argv) < 0)
		return -1;
	prefix(&wan_addr[0], AF_INET, wan_ip, 24);
	prefix(&wan_addr[1], AF_INET6, wan_ip6, 64);
	prefix(&lan_addr[0], AF_INET, lan_ip, 24);
	prefix(&lan_addr[1], AF_INET6, lan_ip6, 64);
	conf.listen_port = 51820;
	conf.mtu = 1420;
	conf.wan = (struct wg_conf_port){ .device = "net_ring0", .n_addresses = 2,
		.addresses = wan_addr };
	conf.lan = (struct wg_conf_port){ .device = "net_ring1", .n_addresses = 2,
		.addresses = lan_addr };
	dp = wg_dp_create(&conf);
	if (dp == NULL || dp->n_workers != 1)
		return -1;
	w = dp->workers[0];
	return 0;
}

/* Last: queued handshakes are freed, the ports closed, and no mbuf may be missing. */
static void
test_no_leak(void **state)
{
	(void)state;
	assert_int_equal(wg_dp_destroy(dp), 0);
	dp = NULL;
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
	int ret;

	(void)state;
	if (dp != NULL)
		wg_dp_destroy(dp);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	ret = rte_eal_cleanup();
	remove_runtime_dir(dir);
	return ret;
}

/* wg_ip4_cksum() equals rte_ipv4_cksum() on random headers, with and without options. */
static void
test_ip4_cksum(void **state)
{
	uint8_t buf[60];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
	unsigned int i, j;

	(void)state;
	srandom(3);
	for (i = 0; i < 200000; i++) {
		for (j = 0; j < sizeof(buf); j++)
			buf[j] = (uint8_t)random();
		if (i % 1000 == 0)
			memset(buf, i % 2000 == 0 ? 0 : 0xff, sizeof(buf));
		ip->version_ihl = (uint8_t)(0x40 | (i % 8 == 0 ? 5 + i / 8 % 11 : 5));
		assert_int_equal(wg_ip4_cksum(ip), rte_ipv4_cksum(ip));
		/* Filled in, the header verifies to 0 both ways. */
		ip->hdr_checksum = 0;
		ip->hdr_checksum = wg_ip4_cksum(ip);
		assert_int_equal(wg_ip4_cksum(ip), 0);
		assert_int_equal(rte_ipv4_cksum(ip), 0);
	}
	ip->hdr_checksum ^= 1;
	assert_int_not_equal(wg_ip4_cksum(ip), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_handshake_ring_full),
		cmocka_unit_test(test_ip4_cksum),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_no_leak),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
