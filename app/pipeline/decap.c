/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The WAN -> LAN walk for transport data (design.md §3, protocol.md §9.2),
 * one RX burst at a time:
 *  1. receiver index -> keypair for the whole burst in one bulk lookup; keys
 *     no longer valid for receiving are dropped before any crypto;
 *  2. one AEAD batch, in place (a failed tag wipes its buffer);
 *  3. in arrival order, for each packet whose tag verified: the replay
 *     window, then the peer's events and counters (gathered here, posted once
 *     per peer per burst), keepalives consumed, the inner IPv4 / IPv6 header
 *     validated and the padding trimmed;
 *  4. inner sources -> peers in one bulk lookup per family: each must be the
 *     peer that owns the keypair;
 *  5. ECN decapsulation (RFC 6040), TTL / hop limit (ICMP time exceeded goes
 *     back through the tunnel), next hop on the LAN, L2 rewrite, TX.
 * Nothing but the replay window and the peer's event words changes before a
 * packet authenticated.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include "control/allowedips.h"
#include "control/engine_worker.h"
#include "crypto/aead.h"
#include "crypto/clock.h"
#include "messages.h"
#include "pipeline.h"

enum {
	ECN_NOT_ECT = 0,
	ECN_ECT1 = 1,
	ECN_ECT0 = 2,
	ECN_CE = 3,
	ECN_MASK = 3,
	ICMP_ERROR_TTL = 64,
	ICMP_ERROR_TOS = 0xc0,		/* internetwork control (RFC 1812 4.3.2.5) */
	ICMP6_ECHO_REQUEST = 128,
};

/* A packet of the AEAD batch. */
struct rx_cand {
	struct rte_mbuf *m;
	struct noise_keypair *kp;
	uint16_t msg;
	uint16_t len;
};

/* What one burst did for one peer: posted once (engine_worker.h). */
struct rx_peer {
	struct wg_peer *peer;
	struct noise_keypair *next_kp;	/* a packet arrived on the unconfirmed `next` */
	struct wg_endpoint src;		/* outer source of its last authenticated packet */
	uint64_t bytes;
	uint32_t packets;
	uint32_t bits;
};

/* An authenticated inner packet (at offset 0, trimmed) waiting for the source check. */
struct rx_inner {
	struct rte_mbuf *m;
	struct wg_peer *peer;
	uint8_t family;
	uint8_t outer_ecn;
};

/* The last next hop looked up in this burst. */
struct nh_cache {
	struct wg_neigh_key key;
	uint8_t mac[RTE_ETHER_ADDR_LEN];
	bool valid;
	bool resolved;
};

void
wg_decap_add(struct wg_worker *w, struct rte_mbuf *m, uint16_t msg, uint16_t len)
{
	struct wg_decap_item *it;

	if (w->n_decap == RTE_DIM(w->decap))
		wg_decap_flush(w);
	it = &w->decap[w->n_decap++];
	it->m = m;
	it->msg = msg;
	it->len = len;
}

static inline uint32_t
read_le32(struct rte_mbuf *m, uint16_t off)
{
	return rte_le_to_cpu_32(*rte_pktmbuf_mtod_offset(m, unaligned_uint32_t *, off));
}

static inline uint64_t
read_le64(struct rte_mbuf *m, uint16_t off)
{
	return rte_le_to_cpu_64(*rte_pktmbuf_mtod_offset(m, unaligned_uint64_t *, off));
}

static void
drop_all(struct wg_worker *w, struct wg_decap_item *it, unsigned int n, enum wg_drop_reason r)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		rte_pktmbuf_free(it[i].m);
	wg_stats_drop(w->stats, r, n);
}

/* 1. Keypairs for the burst; returns the candidates for decryption, in order. */
static unsigned int
find_keypairs(struct wg_worker *w, struct rx_cand *cand, uint64_t now)
{
	struct wg_decap_item *it = w->decap;
	struct noise_keypair *kp[WG_BURST];
	uint32_t idx[WG_BURST];
	unsigned int n = w->n_decap, i, k = 0;

	for (i = 0; i < n; i++)
		idx[i] = read_le32(it[i].m, it[i].msg + offsetof(struct message_data, key_idx));
	wg_index_lookup_keypairs(w->dp->index, idx, kp, n);
	for (i = 0; i < n; i++) {
		if (kp[i] == NULL)
			continue;
		rte_prefetch0(kp[i]->recv_key);
		rte_prefetch0(&kp[i]->replay_lock);
	}
	for (i = 0; i < n; i++) {
		if (kp[i] == NULL) {
			wg_worker_drop(w, it[i].m, WG_DROP_wg_unknown_index);
			continue;
		}
		if (!wg_noise_keypair_receive_usable(kp[i], now)) {
			wg_worker_drop_peer(w, it[i].m, WG_DROP_wg_key_expired, kp[i]->entry.owner);
			continue;
		}
		cand[k].m = it[i].m;
		cand[k].kp = kp[i];
		cand[k].msg = it[i].msg;
		cand[k].len = it[i].len;
		k++;
	}
	return k;
}

/*
 * The lines the serial stage reads after the batch (replay word, the peer's
 * slots, endpoint and worker block): with many peers they are cold, and the
 * AEAD batch is long enough to hide their fetch.
 */
static void
prefetch_after_decrypt(const struct rx_cand *cand, const struct wg_aead_op *ops, unsigned int n)
{
	const struct noise_keypair *kp;
	struct wg_peer *peer;
	unsigned int i;

	for (i = 0; i < n; i++) {
		kp = cand[i].kp;
		peer = kp->entry.owner;
		rte_prefetch0(&kp->replay.ring[(ops[i].counter / WG_REPLAY_BLOCK_BITS) &
			(WG_REPLAY_RING_BLOCKS - 1)]);
		rte_prefetch0_write(&peer->keypairs);	/* with ep and the event word */
		rte_prefetch0_write(&peer->wk.rx_bytes);
	}
}

/* 2. One AEAD batch over every candidate, in place. */
static void
decrypt(struct wg_worker *w, const struct rx_cand *cand, struct wg_aead_op *ops, unsigned int n)
{
	unsigned int i;
	uint16_t data;

	for (i = 0; i < n; i++) {
		data = cand[i].msg + MESSAGE_DATA_HEADER_LEN;
		ops[i].key = cand[i].kp->recv_key;
		ops[i].counter = read_le64(cand[i].m,
			cand[i].msg + offsetof(struct message_data, counter));
		ops[i].data = rte_pktmbuf_mtod_offset(cand[i].m, uint8_t *, data);
		ops[i].len = cand[i].len - MESSAGE_MINIMUM_LENGTH;
		ops[i].tag = ops[i].data + ops[i].len;
		ops[i].ok = false;
	}
	prefetch_after_decrypt(cand, ops, n);
	wg_aead_decrypt_batch(w->aead, ops, n);
}

/* The outer source (roaming) and the outer ECN field (RFC 6040) of an authenticated packet. */
static void
outer_source(struct rte_mbuf *m, struct wg_endpoint *ep, uint8_t *ecn)
{
	const struct wg_mbuf_meta *meta = wg_meta(m);
	const struct rte_udp_hdr *udp =
		rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, meta->l4);
	const struct rte_ipv4_hdr *ip4 =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, meta->l3);
	const struct rte_ipv6_hdr *ip6 = (const struct rte_ipv6_hdr *)ip4;

	memset(ep, 0, sizeof(*ep));
	ep->port = rte_be_to_cpu_16(udp->src_port);
	if ((ip4->version_ihl >> 4) == 4) {
		ep->family = AF_INET;
		memcpy(ep->addr, &ip4->src_addr, 4);
		*ecn = ip4->type_of_service & ECN_MASK;
	} else {
		ep->family = AF_INET6;
		memcpy(ep->addr, ip6->src_addr, 16);
		*ecn = (rte_be_to_cpu_32(ip6->vtc_flow) >> 20) & ECN_MASK;
	}
}

/*
 * The burst's entry for peer. With many peers a burst holds as many peers as
 * packets: a small map from the peer's address to its last entry avoids
 * comparing each packet with every entry (an empty slot proves the peer has
 * none yet; one naming another peer falls back to the scan).
 */
enum { RX_PEER_MAP = 128, RX_PEER_NONE = 0xff };
_Static_assert((int)WG_BURST < (int)RX_PEER_NONE, "entry indices fit the map");

static struct rx_peer *
rx_peer_get(struct rx_peer *peers, unsigned int *n, uint8_t *map, struct wg_peer *peer)
{
	unsigned int h = ((uintptr_t)peer / RTE_CACHE_LINE_SIZE) % RX_PEER_MAP;
	unsigned int i = map[h];

	if (i != RX_PEER_NONE && peers[i].peer == peer)
		return &peers[i];
	if (i != RX_PEER_NONE) {
		for (i = 0; i < *n; i++)
			if (peers[i].peer == peer)
				break;
	}
	if (i == RX_PEER_NONE || i == *n) {
		i = (*n)++;
		peers[i] = (struct rx_peer){ .peer = peer };
	}
	map[h] = i;
	return &peers[i];
}

/*
 * protocol.md §9.2 step 8: the inner header and its length; m is cut to
 * the inner packet (padding trimmed). 0 (not IP), AF_INET or AF_INET6.
 */
static uint8_t
inner_trim(struct rte_mbuf *m, uint16_t off, uint16_t plen)
{
	const uint8_t *p = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
	const struct rte_ipv4_hdr *ip4 = (const struct rte_ipv4_hdr *)p;
	const struct rte_ipv6_hdr *ip6 = (const struct rte_ipv6_hdr *)p;
	uint16_t len, ihl;
	uint8_t family;

	if (plen >= sizeof(*ip4) && (p[0] >> 4) == 4) {
		ihl = (p[0] & 0xf) * 4;
		len = rte_be_to_cpu_16(ip4->total_length);
		if (ihl < sizeof(*ip4) || len < ihl || len > plen || wg_ip4_cksum(ip4) != 0)
			return 0;
		family = AF_INET;
	} else if (plen >= sizeof(*ip6) && (p[0] >> 4) == 6) {
		len = rte_be_to_cpu_16(ip6->payload_len);
		if (len > plen - sizeof(*ip6))
			return 0;
		len += sizeof(*ip6);
		family = AF_INET6;
	} else {
		return 0;
	}
	rte_pktmbuf_adj(m, off);
	rte_pktmbuf_trim(m, rte_pktmbuf_data_len(m) - len);
	return family;
}

/*
 * 3. In arrival order: replay window, events, keepalives, inner header.
 * Returns the data packets left for the source check.
 */
static unsigned int
authenticate(struct wg_worker *w, const struct rx_cand *cand, const struct wg_aead_op *ops,
	unsigned int n, struct rx_inner *in, struct rx_peer *peers, unsigned int *n_peers)
{
	unsigned int i, k = 0, good = 0, keepalives = 0;
	uint8_t map[RX_PEER_MAP];
	struct wg_endpoint src;
	struct rx_peer *rp;
	struct wg_peer *peer;
	uint16_t plen;
	uint8_t ecn, family;

	memset(map, RX_PEER_NONE, sizeof(map));
	for (i = 0; i < n; i++) {
		peer = cand[i].kp->entry.owner;
		if (!ops[i].ok) {
			wg_worker_drop_peer(w, cand[i].m, WG_DROP_wg_bad_tag, peer);
			continue;
		}
		if (!wg_noise_keypair_replay_check(cand[i].kp, ops[i].counter)) {
			wg_worker_drop_peer(w, cand[i].m, WG_DROP_wg_replay, peer);
			continue;
		}
		/* Authenticated: it moves the endpoint and the timers (§9.6) whatever follows. */
		good++;
		rp = rx_peer_get(peers, n_peers, map, peer);
		outer_source(cand[i].m, &src, &ecn);
		rp->src = src;
		rp->packets++;
		rp->bytes += cand[i].len;
		rp->bits |= WG_PEER_EV_AUTH_RX;
		if (wg_peer_is_next(peer, cand[i].kp)) {
			rp->bits |= WG_PEER_EV_CONFIRM;
			rp->next_kp = cand[i].kp;
		}
		plen = ops[i].len;
		if (plen == 0) {
			keepalives++;
			rte_pktmbuf_free(cand[i].m);
			continue;
		}
		rp->bits |= WG_PEER_EV_DATA_RX;
		family = inner_trim(cand[i].m, cand[i].msg + MESSAGE_DATA_HEADER_LEN, plen);
		if (family == 0) {
			wg_worker_drop_peer(w, cand[i].m, WG_DROP_inner_malformed, peer);
			continue;
		}
		in[k].m = cand[i].m;
		in[k].peer = peer;
		in[k].family = family;
		in[k].outer_ecn = ecn;
		k++;
	}
	wg_stats_count(w->stats, WG_CNT_decrypted, good);
	wg_stats_count(w->stats, WG_CNT_keepalives_rx, keepalives);
	return k;
}

static void
post_events(struct wg_worker *w, struct rx_peer *peers, unsigned int n, uint64_t now)
{
	struct rx_peer *rp;
	unsigned int i;

	for (i = 0; i < n; i++) {
		rp = &peers[i];
		if (!wg_peer_endpoint_equal(rp->peer, &rp->src))
			rp->bits |= WG_PEER_EV_ENDPOINT;
		if (wg_peer_rx_rekey_needed(rp->peer, now))
			rp->bits |= WG_PEER_EV_REKEY_RX;
		wg_peer_count_rx(rp->peer, rp->packets, rp->bytes);
		wg_worker_post_peer(w, rp->peer, rp->bits, now, &rp->src, rp->next_kp);
	}
}

/* 4. Inner source -> peer, one bulk lookup per family; true for each packet from its peer. */
static void
check_sources(struct wg_worker *w, const struct rx_inner *in, unsigned int n, bool *ok)
{
	const struct wg_allowedips *t = w->dp->allowedips;
	uint32_t a4[WG_BURST], id4[WG_BURST], id6[WG_BURST];
	uint8_t a6[WG_BURST][16], slot[WG_BURST];
	const struct rte_ipv4_hdr *ip4;
	const struct rte_ipv6_hdr *ip6;
	unsigned int i, n4 = 0, n6 = 0;

	for (i = 0; i < n; i++) {
		if (in[i].family == AF_INET) {
			ip4 = rte_pktmbuf_mtod(in[i].m, const struct rte_ipv4_hdr *);
			a4[n4] = ip4->src_addr;
			slot[i] = n4++;
		} else {
			ip6 = rte_pktmbuf_mtod(in[i].m, const struct rte_ipv6_hdr *);
			memcpy(a6[n6], ip6->src_addr, 16);
			slot[i] = n6++;
		}
	}
	for (i = 0; i < n4; i++)
		id4[i] = WG_ALLOWEDIPS_NO_PEER;
	for (i = 0; i < n6; i++)
		id6[i] = WG_ALLOWEDIPS_NO_PEER;
	if (t != NULL && n4 != 0)
		wg_allowedips_lookup4_bulk(t, a4, id4, n4);
	if (t != NULL && n6 != 0)
		wg_allowedips_lookup6_bulk(t, (const uint8_t (*)[16])a6, id6, n6);
	for (i = 0; i < n; i++)
		ok[i] = (in[i].family == AF_INET ? id4[slot[i]] : id6[slot[i]]) == in[i].peer->id;
}

/* RFC 6040 4.2 (normal mode): the inner ECN field to forward, or -1 to drop. */
static int
ecn_decap(uint8_t inner, uint8_t outer)
{
	if (outer == ECN_CE)
		return inner == ECN_NOT_ECT ? -1 : ECN_CE;
	if (outer == ECN_ECT1 && inner == ECN_ECT0)
		return ECN_ECT1;
	return inner;
}

/* RFC 1812 4.3.2.7: no error about an ICMP error or a non-initial fragment. */
static bool
ip4_error_suppressed(const struct rte_ipv4_hdr *ip)
{
	uint16_t ihl = rte_ipv4_hdr_len(ip), len = rte_be_to_cpu_16(ip->total_length);
	uint8_t type;

	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK))
		return true;
	if (ip->next_proto_id != IPPROTO_ICMP)
		return false;
	if (len <= ihl)
		return true;
	type = ((const uint8_t *)ip)[ihl];
	return type != RTE_IP_ICMP_ECHO_REQUEST && type != RTE_IP_ICMP_ECHO_REPLY &&
		type != 13 && type != 14;	/* timestamp request / reply */
}

/*
 * Time exceeded for a decrypted IPv4 packet (at offset 0): the error goes
 * back through the tunnel to its sender, from our first LAN address, and is
 * encrypted for the same peer with this burst's LAN packets.
 */
static void
time_exceeded4(struct wg_worker *w, struct rte_mbuf *m, struct wg_peer *peer)
{
	const struct wg_port *lan = &w->dp->port[WG_LAN];
	const struct rte_ipv4_hdr *orig = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint16_t quote = RTE_MIN(rte_be_to_cpu_16(orig->total_length),
		(uint16_t)(WG_IP4_ICMP_QUOTE_MAX - sizeof(struct rte_ipv4_hdr) -
		sizeof(struct rte_icmp_hdr)));
	rte_be32_t to = orig->src_addr;
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;

	if (lan->n_ip4 == 0 || ip4_error_suppressed(orig)) {
		wg_worker_drop_peer(w, m, WG_DROP_ttl_exceeded, peer);
		return;
	}
	if (!wg_icmp_error_allowed(w)) {
		wg_worker_drop_peer(w, m, WG_DROP_icmp_ratelimited, peer);
		return;
	}
	rte_pktmbuf_trim(m, rte_pktmbuf_data_len(m) - quote);
	ip = (struct rte_ipv4_hdr *)rte_pktmbuf_prepend(m, sizeof(*ip) + sizeof(*icmp));
	if (ip == NULL) {
		wg_worker_drop_peer(w, m, WG_DROP_ttl_exceeded, peer);
		return;
	}
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	memset(ip, 0, sizeof(*ip) + sizeof(*icmp));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = ICMP_ERROR_TOS;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + sizeof(*icmp) + quote);
	ip->time_to_live = ICMP_ERROR_TTL;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = lan->ip4[0].addr;
	ip->dst_addr = to;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_type = WG_ICMP_TIME_EXCEEDED;
	icmp->icmp_cksum = ~rte_raw_cksum(icmp, sizeof(*icmp) + quote);
	wg_stats_count(w->stats, WG_CNT_icmp_errors, 1);
	wg_encap_add(w, m, 0, peer->id, false);
}

/* The same for IPv6 (RFC 4443 3.3), from our LAN address for the destination. */
static void
time_exceeded6(struct wg_worker *w, struct rte_mbuf *m, struct wg_peer *peer)
{
	const struct wg_port *lan = &w->dp->port[WG_LAN];
	const struct rte_ipv6_hdr *orig = rte_pktmbuf_mtod(m, const struct rte_ipv6_hdr *);
	uint16_t len = rte_pktmbuf_data_len(m);
	uint16_t quote = RTE_MIN(len, WG_IP6_ICMP_QUOTE_MAX - sizeof(*orig) - 8);
	const uint8_t *src, *l4 = (const uint8_t *)(orig + 1);
	struct rte_ipv6_hdr *ip;
	uint8_t to[16], *icmp;
	uint16_t cksum;

	memcpy(to, orig->src_addr, 16);
	src = wg_port_ip6_source(lan, to);
	/* RFC 4443 2.4 (e): never about an ICMPv6 error. */
	if (wg_ip6_is_link_local(src) ||
			(orig->proto == IPPROTO_ICMPV6 &&
			 (len <= sizeof(*orig) || l4[0] < ICMP6_ECHO_REQUEST))) {
		wg_worker_drop_peer(w, m, WG_DROP_ttl_exceeded, peer);
		return;
	}
	if (!wg_icmp_error_allowed(w)) {
		wg_worker_drop_peer(w, m, WG_DROP_icmp_ratelimited, peer);
		return;
	}
	rte_pktmbuf_trim(m, len - quote);
	ip = (struct rte_ipv6_hdr *)rte_pktmbuf_prepend(m, sizeof(*ip) + 8);
	if (ip == NULL) {
		wg_worker_drop_peer(w, m, WG_DROP_ttl_exceeded, peer);
		return;
	}
	icmp = (uint8_t *)(ip + 1);
	ip->vtc_flow = RTE_BE32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(8 + quote);
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = ICMP_ERROR_TTL;
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, to, 16);
	memset(icmp, 0, 8);
	icmp[0] = WG_ICMP6_TIME_EXCEEDED;
	cksum = rte_ipv6_udptcp_cksum(ip, icmp);
	memcpy(icmp + 2, &cksum, 2);
	wg_stats_count(w->stats, WG_CNT_icmp_errors, 1);
	wg_encap_add(w, m, 0, peer->id, false);
}

/* 5. The last step: next hop on the LAN, Ethernet header, TX or wait for the neighbour. */
static void
out_lan(struct wg_worker *w, const struct rx_inner *r, const uint8_t *dst, struct nh_cache *c)
{
	struct wg_dp *dp = w->dp;
	struct rte_mbuf *m = r->m;
	struct rte_ether_hdr *eth;
	struct wg_neigh_key nh;

	if (!wg_port_nexthop(&dp->port[WG_LAN], r->family, dst, &nh)) {
		wg_worker_drop_peer(w, m, WG_DROP_no_gateway, r->peer);
		return;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eth));
	if (eth == NULL) {
		wg_worker_drop_peer(w, m, WG_DROP_encap_no_room, r->peer);
		return;
	}
	eth->ether_type = r->family == AF_INET ? RTE_BE16(RTE_ETHER_TYPE_IPV4) :
		RTE_BE16(RTE_ETHER_TYPE_IPV6);
	if (!c->valid || memcmp(&c->key, &nh, sizeof(nh)) != 0) {
		c->key = nh;
		c->resolved = wg_neigh_lookup(dp->neigh, &nh, c->mac);
		c->valid = true;
	}
	wg_worker_send(w, WG_LAN, m, &nh, c->resolved ? c->mac : NULL);
}

static void
deliver4(struct wg_worker *w, const struct rx_inner *r, struct nh_cache *c)
{
	struct wg_dp *dp = w->dp;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(r->m, struct rte_ipv4_hdr *);
	uint8_t inner = ip->type_of_service & ECN_MASK;
	int i, ecn;

	if (wg_ip4_martian(ip->dst_addr)) {
		wg_worker_drop_peer(w, r->m, wg_ip4_multicast(ip->dst_addr) ? WG_DROP_l3_multicast :
			WG_DROP_ip4_martian, r->peer);
		return;
	}
	if (wg_port_ip4_local(&dp->port[WG_LAN], ip->dst_addr) >= 0 ||
			wg_port_ip4_local(&dp->port[WG_WAN], ip->dst_addr) >= 0) {
		wg_worker_drop_peer(w, r->m, WG_DROP_local_unhandled, r->peer);
		return;
	}
	i = wg_port_ip4_onlink(&dp->port[WG_LAN], ip->dst_addr);
	if (i >= 0 && (ip->dst_addr | dp->port[WG_LAN].ip4[i].mask) == UINT32_MAX) {
		wg_worker_drop_peer(w, r->m, WG_DROP_l3_multicast, r->peer);
		return;
	}
	ecn = ecn_decap(inner, r->outer_ecn);
	if (ecn < 0) {
		wg_worker_drop_peer(w, r->m, WG_DROP_ecn_not_ect_ce, r->peer);
		return;
	}
	if (ecn != inner) {
		ip->type_of_service = (ip->type_of_service & ~ECN_MASK) | ecn;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = wg_ip4_cksum(ip);
	}
	if (ip->time_to_live <= 1) {
		time_exceeded4(w, r->m, r->peer);
		return;
	}
	wg_ip4_dec_ttl(ip);
	out_lan(w, r, (const uint8_t *)&ip->dst_addr, c);
}

static void
deliver6(struct wg_worker *w, const struct rx_inner *r, struct nh_cache *c)
{
	static const uint8_t loopback[16] = { [15] = 1 };
	struct wg_dp *dp = w->dp;
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(r->m, struct rte_ipv6_hdr *);
	uint32_t flow = rte_be_to_cpu_32(ip->vtc_flow);
	uint8_t inner = (flow >> 20) & ECN_MASK;
	int ecn;

	if (wg_ip6_is_multicast(ip->dst_addr)) {
		wg_worker_drop_peer(w, r->m, WG_DROP_l3_multicast, r->peer);
		return;
	}
	if (wg_ip6_is_link_local(ip->dst_addr) || wg_ip6_is_unspecified(ip->dst_addr) ||
			memcmp(ip->dst_addr, loopback, 16) == 0) {
		wg_worker_drop_peer(w, r->m, WG_DROP_ip6_martian, r->peer);
		return;
	}
	if (wg_port_ip6_local(&dp->port[WG_LAN], ip->dst_addr) >= 0 ||
			wg_port_ip6_local(&dp->port[WG_WAN], ip->dst_addr) >= 0) {
		wg_worker_drop_peer(w, r->m, WG_DROP_local_unhandled, r->peer);
		return;
	}
	ecn = ecn_decap(inner, r->outer_ecn);
	if (ecn < 0) {
		wg_worker_drop_peer(w, r->m, WG_DROP_ecn_not_ect_ce, r->peer);
		return;
	}
	if (ecn != inner)
		ip->vtc_flow = rte_cpu_to_be_32((flow & ~(ECN_MASK << 20)) | (uint32_t)ecn << 20);
	if (ip->hop_limits <= 1) {
		time_exceeded6(w, r->m, r->peer);
		return;
	}
	ip->hop_limits--;
	out_lan(w, r, ip->dst_addr, c);
}

void
wg_decap_flush(struct wg_worker *w)
{
	struct rx_cand cand[WG_BURST];
	struct wg_aead_op ops[WG_BURST];
	struct rx_inner in[WG_BURST];
	struct rx_peer peers[WG_BURST];
	struct nh_cache cache = { .valid = false };
	bool ok[WG_BURST];
	unsigned int n, k, i, n_peers = 0;
	uint64_t now;

	if (w->n_decap == 0)
		return;
	if (w->dp->index == NULL) {
		drop_all(w, w->decap, w->n_decap, WG_DROP_wg_unknown_index);
		w->n_decap = 0;
		return;
	}
	now = wg_clock_now();
	n = find_keypairs(w, cand, now);
	w->n_decap = 0;
	if (n == 0)
		return;
	if (w->aead == NULL) {
		for (i = 0; i < n; i++)
			wg_worker_drop(w, cand[i].m, WG_DROP_crypto_unavailable);
		return;
	}
	decrypt(w, cand, ops, n);
	k = authenticate(w, cand, ops, n, in, peers, &n_peers);
	post_events(w, peers, n_peers, now);
	check_sources(w, in, k, ok);
	for (i = 0; i < k; i++) {
		if (!ok[i])
			wg_worker_drop_peer(w, in[i].m, WG_DROP_allowedips_src_mismatch,
				in[i].peer);
		else if (in[i].family == AF_INET)
			deliver4(w, &in[i], &cache);
		else
			deliver6(w, &in[i], &cache);
	}
}
