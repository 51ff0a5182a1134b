/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The LAN -> WAN walk (design.md §3, protocol.md §9.1), one batch at a time:
 * inner packets forwarded from the LAN (already validated, TTL decremented,
 * MTU checked by worker.c), ICMP errors about decrypted packets (decap.c)
 * and staged packets the control lcore hands back.
 *  1. destination -> peer, one bulk allowed-IPs lookup per family;
 *  2. per peer: its live endpoint, the route to it, its current keypair and
 *     all the nonces its packets need (one reservation); no usable keypair:
 *     the packets go to the control lcore to be staged;
 *  3. zero padding (§9.1), one AEAD batch over the whole burst, in place;
 *  4. data header, UDP, IPv4 / IPv6 (ECN of the inner only), Ethernet,
 *     neighbour, TX; counters and events once per peer.
 * The same header code builds the control lcore's messages (wg_encap_udp).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_lcore.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include "control/allowedips.h"
#include "control/engine_worker.h"
#include "crypto/aead.h"
#include "crypto/clock.h"
#include "messages.h"
#include "pipeline.h"

_Static_assert(WG_ENCAP_LOOKUP == WG_ALLOWEDIPS_NO_PEER, "one sentinel for 'no peer yet'");
_Static_assert((int)WG_ENCAP_MAX <= (int)WG_NOISE_NONCE_BURST_MAX,
	"one nonce reservation covers a batch");

enum {
	OUTER_TTL = 64,
	ECN_MASK = 3,
	OUTER4_LEN = RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr),
	OUTER6_LEN = RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv6_hdr) + sizeof(struct rte_udp_hdr),
};

/* Our source address and the next hop for one endpoint. */
struct outer_route {
	struct wg_neigh_key nh;
	uint8_t src[16];
};

enum group_fate {
	FATE_SEND,
	FATE_STAGE,
	FATE_DROP,
};

/* The packets of one peer in a batch. */
struct tx_group {
	struct wg_peer *peer;
	struct noise_keypair *kp;
	uint32_t peer_id;
	uint16_t n;			/* packets */
	uint16_t sent;
	uint64_t next_counter;		/* from the reservation */
	uint64_t bytes;
	struct wg_endpoint ep;
	struct outer_route rt;
	uint8_t mac[RTE_ETHER_ADDR_LEN];
	bool resolved;
	bool stage_failed;
	uint8_t fate;			/* enum group_fate */
	uint8_t drop;			/* enum wg_drop_reason with FATE_DROP */
};

void
wg_encap_add(struct wg_worker *w, struct rte_mbuf *m, uint16_t l3, uint32_t peer_id, bool staged)
{
	struct wg_encap_item *it;

	if (w->n_encap == RTE_DIM(w->encap))
		wg_encap_flush(w);
	it = &w->encap[w->n_encap++];
	it->m = m;
	it->peer_id = peer_id;
	it->l3 = l3;
	it->staged = staged;
}

/* ---- outer headers (workers and the control lcore) ---- */

static int
outer_route(const struct wg_port *wan, const struct wg_endpoint *ep, struct outer_route *rt)
{
	const uint8_t *src;
	rte_be32_t dst;
	int i;

	if (ep->family == AF_INET) {
		if (wan->n_ip4 == 0)
			return -EAFNOSUPPORT;
		memcpy(&dst, ep->addr, 4);
		i = wg_port_ip4_onlink(wan, dst);
		memcpy(rt->src, &wan->ip4[i >= 0 ? i : 0].addr, 4);
	} else if (ep->family == AF_INET6) {
		src = wg_port_ip6_source(wan, ep->addr);
		if (wg_ip6_is_link_local(src) && !wg_ip6_is_link_local(ep->addr))
			return -EAFNOSUPPORT;
		memcpy(rt->src, src, 16);
	} else {
		return -EINVAL;
	}
	if (!wg_port_nexthop(wan, ep->family, ep->addr, &rt->nh))
		return -ENETUNREACH;
	return 0;
}

static void
udp_write(struct rte_udp_hdr *udp, uint16_t sport, uint16_t dport, uint16_t len)
{
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16(len);
	udp->dgram_cksum = 0;	/* optional over IPv4 (RFC 768) */
}

static void
outer_write4(struct rte_mbuf *m, uint16_t sport, const struct wg_endpoint *ep,
	const struct outer_route *rt, uint8_t tos)
{
	uint16_t len = rte_pktmbuf_data_len(m) + sizeof(struct rte_udp_hdr);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, OUTER4_LEN);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = tos;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + len);
	ip->packet_id = 0;	/* atomic datagram (RFC 6864) */
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = OUTER_TTL;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	memcpy(&ip->src_addr, rt->src, 4);
	memcpy(&ip->dst_addr, ep->addr, 4);
	ip->hdr_checksum = wg_ip4_cksum(ip);
	udp_write((struct rte_udp_hdr *)(ip + 1), sport, ep->port, len);
}

static void
outer_write6(struct rte_mbuf *m, uint16_t sport, const struct wg_endpoint *ep,
	const struct outer_route *rt, uint8_t tos)
{
	uint16_t len = rte_pktmbuf_data_len(m) + sizeof(struct rte_udp_hdr);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, OUTER6_LEN);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | (uint32_t)tos << 20);
	ip->payload_len = rte_cpu_to_be_16(len);
	ip->proto = IPPROTO_UDP;
	ip->hop_limits = OUTER_TTL;
	memcpy(ip->src_addr, rt->src, 16);
	memcpy(ip->dst_addr, ep->addr, 16);
	udp_write(udp, sport, ep->port, len);
	/* Mandatory over IPv6 (RFC 8200 8.1); computed in software. */
	udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);
}

/*
 * Prepend UDP, IP and Ethernet (type only) to the WireGuard message in m.
 * tos: the outer TOS / traffic class, the inner ECN bits on data. The caller
 * checked the headroom.
 */
static void
outer_write(struct rte_mbuf *m, uint16_t sport, const struct wg_endpoint *ep,
	const struct outer_route *rt, uint8_t tos)
{
	if (ep->family == AF_INET)
		outer_write4(m, sport, ep, rt, tos);
	else
		outer_write6(m, sport, ep, rt, tos);
	m->ol_flags = 0;
}

int
wg_encap_udp(struct wg_dp *dp, struct rte_mbuf *m, const struct wg_endpoint *dst)
{
	struct wg_mbuf_meta *meta = wg_meta(m);
	struct outer_route rt;
	int ret;

	ret = outer_route(&dp->port[WG_WAN], dst, &rt);
	if (ret != 0)
		return ret;
	if (rte_pktmbuf_headroom(m) < (dst->family == AF_INET ? OUTER4_LEN : OUTER6_LEN) ||
			!rte_pktmbuf_is_contiguous(m))
		return -ENOSPC;
	outer_write(m, dp->listen_port, dst, &rt, 0);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr = dp->port[WG_WAN].mac;
	meta->port = WG_WAN;
	meta->nexthop = rt.nh;
	return 0;
}

bool
wg_encap_send_staged(struct wg_dp *dp, struct rte_mbuf *m, uint32_t peer_id)
{
	/* One worker per peer: its staged packets leave in the order they were staged. */
	struct wg_worker *w = dp->workers[peer_id % dp->n_workers];
	struct wg_mbuf_meta *meta = wg_meta(m);

	meta->kind = WG_META_STAGED;
	meta->port = WG_WAN;
	meta->peer_id = peer_id;
	if (rte_ring_sp_enqueue(w->tx_ring, m) != 0) {
		wg_stats_drop(&wg_stats[rte_lcore_id()], WG_DROP_tx_ring_full, 1);
		rte_pktmbuf_free(m);
		return false;
	}
	return true;
}

/* ---- 1. destinations -> peers ---- */

static void
lookup_peers(struct wg_worker *w, struct wg_encap_item *it, unsigned int n)
{
	const struct wg_allowedips *t = w->dp->allowedips;
	uint32_t a4[WG_ENCAP_MAX], id4[WG_ENCAP_MAX], id6[WG_ENCAP_MAX];
	uint8_t a6[WG_ENCAP_MAX][16], slot[WG_ENCAP_MAX], v4[WG_ENCAP_MAX];
	const uint8_t *p;
	unsigned int i, n4 = 0, n6 = 0;

	for (i = 0; i < n; i++) {
		if (it[i].peer_id != WG_ENCAP_LOOKUP)
			continue;
		p = rte_pktmbuf_mtod_offset(it[i].m, const uint8_t *, it[i].l3);
		v4[i] = (p[0] >> 4) == 4;
		if (v4[i]) {
			memcpy(&a4[n4], &((const struct rte_ipv4_hdr *)p)->dst_addr, 4);
			slot[i] = n4++;
		} else {
			memcpy(a6[n6], ((const struct rte_ipv6_hdr *)p)->dst_addr, 16);
			slot[i] = n6++;
		}
	}
	if (n4 + n6 == 0)
		return;
	for (i = 0; i < n4; i++)
		id4[i] = WG_ALLOWEDIPS_NO_PEER;
	for (i = 0; i < n6; i++)
		id6[i] = WG_ALLOWEDIPS_NO_PEER;
	if (t != NULL && n4 != 0)
		wg_allowedips_lookup4_bulk(t, a4, id4, n4);
	if (t != NULL && n6 != 0)
		wg_allowedips_lookup6_bulk(t, (const uint8_t (*)[16])a6, id6, n6);
	for (i = 0; i < n; i++) {
		if (it[i].peer_id != WG_ENCAP_LOOKUP)
			continue;
		it[i].peer_id = v4[i] ? id4[slot[i]] : id6[slot[i]];
		if (it[i].peer_id == WG_ALLOWEDIPS_NO_PEER) {
			wg_worker_drop(w, it[i].m, WG_DROP_no_route);
			it[i].m = NULL;
		}
	}
}

/* ---- 2. per peer ---- */

/*
 * Group the items by peer. With many peers a burst holds as many groups as
 * packets: a small map from the low bits of the peer id to its last group
 * avoids comparing each item with every group. An empty map slot proves the
 * peer has no group yet; an occupied one that names another peer falls back
 * to the scan.
 */
enum { GROUP_MAP = 128, GROUP_NONE = 0xff };
_Static_assert((int)WG_ENCAP_MAX < (int)GROUP_NONE, "group indices fit the map");

static unsigned int
group_items(struct wg_encap_item *it, unsigned int n, struct tx_group *g, uint8_t *gi)
{
	uint8_t map[GROUP_MAP];
	unsigned int i, j, h, ng = 0;

	memset(map, GROUP_NONE, sizeof(map));
	for (i = 0; i < n; i++) {
		if (it[i].m == NULL)
			continue;
		h = it[i].peer_id % GROUP_MAP;
		j = map[h];
		if (j == GROUP_NONE || g[j].peer_id != it[i].peer_id) {
			if (j != GROUP_NONE)
				for (j = 0; j < ng; j++)
					if (g[j].peer_id == it[i].peer_id)
						break;
			if (j == GROUP_NONE || j == ng) {
				j = ng++;
				g[j] = (struct tx_group){ .peer_id = it[i].peer_id };
			}
			map[h] = j;
		}
		g[j].n++;
		gi[i] = j;
	}
	return ng;
}

static void
group_drop(struct tx_group *g, enum wg_drop_reason r)
{
	g->fate = FATE_DROP;
	g->drop = r;
}

/*
 * Several peers in a batch: with many configured peers their structs are
 * cold, and group_prepare() would wait for each miss in turn (peer slot,
 * peer, keypair). Start every line the batch needs first, one level at a
 * time, so that the misses of all groups overlap.
 */
static void
groups_prefetch(struct wg_worker *w, struct tx_group *g, unsigned int ng)
{
	struct wg_peers *peers = w->dp->peers;
	struct noise_keypair *kp;
	struct wg_peer *peer;
	unsigned int i;

	if (peers == NULL || ng < 2)
		return;
	for (i = 0; i < ng; i++) {
		peer = wg_peers_get(peers, g[i].peer_id);
		if (peer == NULL)
			continue;
		rte_prefetch0_write(&peer->keypairs);	/* with ep and the event word */
		rte_prefetch0_write(&peer->wk.rx_bytes);
	}
	for (i = 0; i < ng; i++) {
		peer = wg_peers_get(peers, g[i].peer_id);
		if (peer == NULL)
			continue;
		kp = wg_noise_keypairs_current(&peer->keypairs);
		if (kp == NULL)
			continue;
		rte_prefetch0(&kp->sending_valid);
		rte_prefetch0_write(&kp->send_counter);	/* with send_key */
	}
}

/* Endpoint, route, keypair and nonces: decide what happens to the peer's packets. */
static void
group_prepare(struct wg_worker *w, struct tx_group *g, uint64_t now)
{
	struct wg_dp *dp = w->dp;
	int ret;

	g->peer = dp->peers != NULL ? wg_peers_get(dp->peers, g->peer_id) : NULL;
	if (g->peer == NULL) {
		group_drop(g, WG_DROP_no_route);	/* removed since the lookup */
		return;
	}
	if (!wg_peer_endpoint_read(g->peer, &g->ep)) {
		group_drop(g, WG_DROP_no_endpoint);
		return;
	}
	ret = outer_route(&dp->port[WG_WAN], &g->ep, &g->rt);
	if (ret != 0) {
		group_drop(g, ret == -ENETUNREACH ? WG_DROP_no_gateway : WG_DROP_no_wan_address);
		return;
	}
	g->kp = wg_noise_keypairs_current(&g->peer->keypairs);
	if (g->kp == NULL || !wg_noise_keypair_send_usable(g->kp, now) ||
			!wg_noise_keypair_nonce_reserve(g->kp, g->n, &g->next_counter)) {
		g->fate = FATE_STAGE;
		return;
	}
	g->fate = FATE_SEND;
	g->resolved = wg_neigh_lookup(dp->neigh, &g->rt.nh, g->mac);
}

/* No usable keypair: to the control lcore, which stages it and starts a handshake. */
static void
stage(struct wg_worker *w, struct wg_encap_item *it, struct tx_group *g)
{
	struct rte_mbuf *m = it->m;
	struct wg_mbuf_meta *meta = wg_meta(m);

	if (it->staged) {
		wg_worker_drop_peer(w, m, WG_DROP_staged_no_keypair, g->peer);
		return;
	}
	rte_pktmbuf_adj(m, it->l3);
	meta->kind = WG_META_STAGE;
	meta->peer_id = g->peer_id;
	if (rte_ring_sp_enqueue(w->ctrl_ring, m) != 0) {
		wg_worker_drop_peer(w, m, WG_DROP_ctrl_ring_full, g->peer);
		g->stage_failed = true;
		return;
	}
	wg_stats_count(w->stats, WG_CNT_to_control, 1);
	wg_stats_count(w->stats, WG_CNT_staged, 1);
}

/* ---- 3. padding and the AEAD operation ---- */

/* protocol.md §9.1: the padded plaintext length for an inner packet of len bytes. */
static uint32_t
padded_len(uint32_t len, uint32_t mtu)
{
	uint32_t last, pad_to;

	if (mtu == 0)
		return RTE_ALIGN_CEIL(len, WG_PADDING_MULTIPLE);
	last = len > mtu ? len % mtu : len;
	pad_to = RTE_MIN(mtu, (uint32_t)RTE_ALIGN_CEIL(last, WG_PADDING_MULTIPLE));
	return len + pad_to - last;
}

/* Cut m to the inner packet, pad it, make room for the tag. false: no room. */
static bool
pad(struct wg_worker *w, struct wg_encap_item *it, const struct tx_group *g,
	struct wg_aead_op *op, uint8_t *ecn)
{
	struct rte_mbuf *m = it->m;
	uint32_t len, plen, need;
	const uint8_t *p;
	uint8_t *tail;

	rte_pktmbuf_adj(m, it->l3);
	len = rte_pktmbuf_data_len(m);
	plen = padded_len(len, w->dp->mtu);
	need = MESSAGE_DATA_HEADER_LEN + (g->ep.family == AF_INET ? OUTER4_LEN : OUTER6_LEN);
	if (rte_pktmbuf_headroom(m) < need ||
			rte_pktmbuf_tailroom(m) < plen - len + NOISE_AUTHTAG_LEN)
		return false;
	p = rte_pktmbuf_mtod(m, const uint8_t *);
	if ((p[0] >> 4) == 4)
		*ecn = ((const struct rte_ipv4_hdr *)p)->type_of_service & ECN_MASK;
	else
		*ecn = (rte_be_to_cpu_32(((const struct rte_ipv6_hdr *)p)->vtc_flow) >> 20) &
			ECN_MASK;
	tail = (uint8_t *)rte_pktmbuf_append(m, plen - len + NOISE_AUTHTAG_LEN);
	memset(tail, 0, plen - len);
	op->data = rte_pktmbuf_mtod(m, uint8_t *);
	op->len = plen;
	op->tag = op->data + plen;
	return true;
}

/* ---- 4. headers and TX ---- */

static void
send_one(struct wg_worker *w, struct rte_mbuf *m, struct tx_group *g, uint64_t counter,
	uint8_t ecn)
{
	struct message_data *hdr;

	hdr = (struct message_data *)rte_pktmbuf_prepend(m, sizeof(*hdr));
	hdr->header.type = rte_cpu_to_le_32(MESSAGE_DATA);
	hdr->key_idx = g->kp->remote_index;	/* the wire bytes as received */
	hdr->counter = rte_cpu_to_le_64(counter);
	g->sent++;
	g->bytes += rte_pktmbuf_data_len(m);
	outer_write(m, w->dp->listen_port, &g->ep, &g->rt, ecn);
	wg_worker_send(w, WG_WAN, m, &g->rt.nh, g->resolved ? g->mac : NULL);
}

static void
group_report(struct wg_worker *w, struct tx_group *g, uint64_t now)
{
	uint32_t bits;

	if (g->fate == FATE_STAGE && g->stage_failed)
		wg_worker_post_peer(w, g->peer, WG_PEER_EV_NO_KEYPAIR, now, NULL, NULL);
	if (g->fate != FATE_SEND || g->sent == 0)
		return;
	/* Only inner packets come this way: every one is data, none a keepalive. */
	bits = WG_PEER_EV_AUTH_TX | WG_PEER_EV_DATA_TX;
	if (wg_peer_tx_rekey_needed(g->kp, now))
		bits |= WG_PEER_EV_REKEY_TX;
	wg_peer_count_tx(g->peer, g->sent, g->bytes);
	wg_worker_post_peer(w, g->peer, bits, now, NULL, NULL);
}

void
wg_encap_flush(struct wg_worker *w)
{
	struct wg_encap_item *it = w->encap;
	unsigned int n = w->n_encap, i, ng, k = 0;
	struct tx_group groups[WG_ENCAP_MAX];
	struct wg_aead_op ops[WG_ENCAP_MAX];
	uint8_t gi[WG_ENCAP_MAX], ecn[WG_ENCAP_MAX], opi[WG_ENCAP_MAX];
	struct tx_group *g;
	uint64_t now;

	if (n == 0)
		return;
	lookup_peers(w, it, n);
	ng = group_items(it, n, groups, gi);
	now = wg_clock_now();
	groups_prefetch(w, groups, ng);
	for (i = 0; i < ng; i++)
		group_prepare(w, &groups[i], now);
	for (i = 0; i < n; i++) {
		if (it[i].m == NULL)
			continue;
		g = &groups[gi[i]];
		if (g->fate == FATE_DROP) {
			wg_worker_drop_peer(w, it[i].m, g->drop, g->peer);
		} else if (g->fate == FATE_STAGE) {
			stage(w, &it[i], g);
		} else if (w->aead == NULL) {
			wg_worker_drop(w, it[i].m, WG_DROP_crypto_unavailable);
		} else if (!pad(w, &it[i], g, &ops[k], &ecn[k])) {
			wg_worker_drop_peer(w, it[i].m, WG_DROP_encap_no_room, g->peer);
		} else {
			ops[k].key = g->kp->send_key;
			ops[k].counter = g->next_counter++;
			opi[k++] = i;
			continue;
		}
		it[i].m = NULL;
	}
	if (k != 0) {
		wg_aead_encrypt_batch(w->aead, ops, k);
		wg_stats_count(w->stats, WG_CNT_encrypted, k);
	}
	for (i = 0; i < k; i++)
		send_one(w, it[opi[i]].m, &groups[gi[opi[i]]], ops[i].counter, ecn[i]);
	for (i = 0; i < ng; i++)
		group_report(w, &groups[i], now);
	w->n_encap = 0;
}
