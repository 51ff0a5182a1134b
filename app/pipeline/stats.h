/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-lcore counters and the one list of drop reasons (design.md §6). Every
 * lcore writes only its own cache-aligned block; telemetry reads them with
 * relaxed loads and sums.
 */
#ifndef WG_STATS_H
#define WG_STATS_H

#include <stdint.h>

#include <rte_common.h>
#include <rte_config.h>

/* X(name, description): the drop reasons, in the order telemetry shows them. */
#define WG_DROP_REASONS(X) \
	X(eth_short, "frame shorter than an Ethernet header") \
	X(eth_segmented, "frame spans several mbufs") \
	X(eth_not_for_us, "unicast frame to another MAC") \
	X(eth_unknown_type, "EtherType neither ARP, IPv4 nor IPv6 (VLAN included)") \
	X(arp_malformed, "ARP too short or not Ethernet/IPv4") \
	X(arp_not_for_us, "ARP request for an address we do not own") \
	X(ip4_short, "IPv4 header truncated") \
	X(ip4_bad_header, "IPv4 version, IHL or total length invalid") \
	X(ip4_bad_csum, "IPv4 header checksum wrong") \
	X(ip4_fragment, "IPv4 fragment (not reassembled)") \
	X(ip4_martian, "IPv4 source or destination not routable") \
	X(ip6_short, "IPv6 header truncated") \
	X(ip6_bad_header, "IPv6 version or payload length invalid") \
	X(ip6_fragment, "IPv6 fragment (not reassembled)") \
	X(ip6_martian, "IPv6 source or destination not routable") \
	X(l3_multicast, "multicast or broadcast not for us") \
	X(not_for_us, "WAN packet to an address we do not own") \
	X(local_unhandled, "protocol to our address we do not serve") \
	X(udp_malformed, "UDP header truncated or length invalid") \
	X(udp_port_closed, "UDP to our address, not the listen port") \
	X(icmp_malformed, "ICMP too short or checksum wrong") \
	X(icmp_unhandled, "ICMP type to our address we do not answer") \
	X(nd_malformed, "neighbour discovery invalid (RFC 4861 7.1)") \
	X(nd_not_for_us, "neighbour solicitation for an address we do not own") \
	X(wg_bad_type, "WireGuard message type unknown or reserved bytes set") \
	X(wg_bad_size, "WireGuard message of the wrong size for its type") \
	X(handshake_ring_full, "handshake ring to the control lcore full") \
	X(wg_unknown_index, "transport data: receiver index unknown or not a keypair's") \
	X(wg_key_expired, "transport data: keypair not valid for receiving (age, counter)") \
	X(wg_bad_tag, "transport data: authentication tag did not verify") \
	X(wg_replay, "transport data: counter already seen or behind the window") \
	X(inner_malformed, "decrypted packet not IPv4 / IPv6, or lengths / checksum invalid") \
	X(allowedips_src_mismatch, "decrypted packet's source not routed to the sending peer") \
	X(ecn_not_ect_ce, "outer CE on a not-ECT inner packet (RFC 6040 4.2)") \
	X(crypto_unavailable, "worker without an AEAD context (not started)") \
	X(ttl_exceeded, "TTL / hop limit expired, ICMP error not sent") \
	X(too_big, "inner packet over the tunnel MTU, ICMP error not sent") \
	X(icmp_ratelimited, "ICMP error suppressed by the rate limit") \
	X(no_route, "no route for the inner destination") \
	X(no_gateway, "next hop off-link and no gateway on the port") \
	X(no_endpoint, "peer without a known endpoint") \
	X(no_wan_address, "no WAN address of the endpoint's family") \
	X(staged_no_keypair, "staged packet handed back, still no usable keypair") \
	X(encap_no_room, "no headroom / tailroom for the WireGuard headers and padding") \
	X(ctrl_ring_full, "ring to the control lcore full") \
	X(event_ring_full, "event ring to the control lcore full") \
	X(tx_ring_full, "control lcore's ring to a worker full") \
	X(tx_full, "TX queue full") \
	X(alloc_failed, "mbuf allocation failed (control lcore)") \
	X(neigh_unresolved, "next hop did not answer ARP / ND") \
	X(neigh_hold_full, "held for resolution, oldest dropped at the global cap") \
	X(staged_dropped, "staged packet dropped (per-peer or global cap, no endpoint, give-up)") \
	X(handshake_consumed, "handshake message refused by the engine (hs_* in /wg/stats: why)") \
	X(shutdown, "freed at shutdown")

#define WG_DROP_ENUM(name, desc) WG_DROP_##name,
enum wg_drop_reason {
	WG_DROP_REASONS(WG_DROP_ENUM)
	WG_DROP_MAX
};
#undef WG_DROP_ENUM

/*
 * The reasons of the list above that also count in the peer they concern
 * (struct wg_peer_worker.drop, in this order): those of paths that already
 * know the peer, after its keypair was found (receive) or its allowed IPs
 * chose it (send), and the control lcore's staging and messages for it.
 * Only the drop paths count them, never the path of a packet that passes.
 */
#define WG_PEER_DROP_REASONS(X) \
	X(ip4_martian) \
	X(ip6_martian) \
	X(l3_multicast) \
	X(local_unhandled) \
	X(wg_key_expired) \
	X(wg_bad_tag) \
	X(wg_replay) \
	X(inner_malformed) \
	X(allowedips_src_mismatch) \
	X(ecn_not_ect_ce) \
	X(ttl_exceeded) \
	X(no_gateway) \
	X(no_endpoint) \
	X(no_wan_address) \
	X(staged_no_keypair) \
	X(encap_no_room) \
	X(ctrl_ring_full) \
	X(tx_ring_full) \
	X(staged_dropped)

#define WG_PEER_DROP_ENUM(name) WG_PEER_DROP_##name,
enum wg_peer_drop_reason {
	WG_PEER_DROP_REASONS(WG_PEER_DROP_ENUM)
	WG_PEER_DROP_MAX
};
#undef WG_PEER_DROP_ENUM

/* Counters that are not drops, per port where it matters. */
#define WG_COUNTERS(X) \
	X(rx_wan) \
	X(rx_lan) \
	X(tx_wan) \
	X(tx_lan) \
	X(to_control) \
	X(arp_replies) \
	X(nd_adverts) \
	X(echo_replies) \
	X(icmp_errors) \
	X(neigh_events) \
	X(handshakes_rx) \
	X(decrypted) \
	X(keepalives_rx) \
	X(encrypted) \
	X(staged) \
	X(peer_events) \
	X(control_tx) \
	X(idle_sleeps)

#define WG_COUNTER_ENUM(name) WG_CNT_##name,
enum wg_counter {
	WG_COUNTERS(WG_COUNTER_ENUM)
	WG_CNT_MAX
};
#undef WG_COUNTER_ENUM

struct wg_lcore_stats {
	uint64_t cnt[WG_CNT_MAX];
	uint64_t drop[WG_DROP_MAX];
} __rte_cache_aligned;

/* One block per EAL lcore, indexed by rte_lcore_id(). */
extern struct wg_lcore_stats wg_stats[RTE_MAX_LCORE];

/* Single writer per block: a relaxed store keeps readers from seeing torn values. */
static inline void
wg_stats_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

static inline void
wg_stats_count(struct wg_lcore_stats *s, enum wg_counter c, uint64_t n)
{
	wg_stats_add(&s->cnt[c], n);
}

static inline void
wg_stats_drop(struct wg_lcore_stats *s, enum wg_drop_reason r, uint64_t n)
{
	wg_stats_add(&s->drop[r], n);
}

const char *wg_stats_drop_name(enum wg_drop_reason r);
const char *wg_stats_drop_desc(enum wg_drop_reason r);
const char *wg_stats_counter_name(enum wg_counter c);
/* The peer counter index of a drop reason, or -1 when it is not counted per peer. */
int wg_stats_peer_index(enum wg_drop_reason r);
/* The drop reason of a peer counter index (i < WG_PEER_DROP_MAX). */
enum wg_drop_reason wg_stats_peer_reason(unsigned int i);

/* Sum every lcore into out (relaxed loads, safe while workers run). */
void wg_stats_sum(struct wg_lcore_stats *out);
/* Relaxed copy of one lcore's block. */
void wg_stats_read(unsigned int lcore_id, struct wg_lcore_stats *out);
void wg_stats_reset(void);

#endif
