/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's WireGuard paths on net_ring ports (what a port transmits
 * comes back on its RX queue): a data plane with a peer table, allowed IPs,
 * a receiver-index table and hand-installed keypairs, driven one frame or
 * one burst at a time on the test thread (the worker).
 *  - WAN -> LAN: the KAT's data packet (handshake_kat.json, data_i2r) leaves
 *    the LAN port as the exact inner packet with its TTL decremented and the
 *    right L2; replays, flipped bits anywhere, unknown indices, expired keys,
 *    foreign inner sources, bad inner lengths are dropped under their named
 *    reason and release nothing; keepalives are consumed; ECN (RFC 6040),
 *    TTL expiry (ICMP back through the tunnel), unresolved next hops;
 *  - LAN -> WAN: the exact WireGuard message (decrypted here with the peer's
 *    key): data header, counter, padding, outer IPv4 / IPv6 headers and
 *    checksums, ECN only in the outer TOS; staging for a peer without a
 *    keypair and the way back; no route, no endpoint, ring full;
 *  - events (endpoint change, confirmation of `next`, rekey conditions) and
 *    counters, once per peer per burst; each drop of a known peer's packet
 *    moves that peer's counter of the reason by one and no other peer's;
 *  - the control lcore's wg_encap_udp();
 *  - at the end every mbuf is back in the pool.
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

#include <rte_eal.h>
#include <rte_icmp.h>
#include <rte_udp.h>

#include "control/allowedips.h"
#include "control/config.h"
#include "control/engine_worker.h"
#include "control/index_rcu.h"
#include "control/peers.h"
#include "crypto/aead.h"
#include "crypto/clock.h"
#include "crypto/replay.h"
#include "kat_vectors.h"
#include "messages.h"
#include "../test_vectors.h"
#include "pipeline/pipeline.h"

#define NONE (-1)

static struct wg_dp *dp;
static struct wg_worker *w;
static struct wg_peers *peers;
static struct wg_allowedips *aips;
static struct wg_index_rcu *itab;

static uint64_t fake_ns = 1000 * WG_NSEC_PER_SEC;

static uint64_t
fake_clock(void)
{
	return fake_ns;
}

static const uint8_t wan_ip[4] = { 198, 51, 100, 1 }, wan_peer[4] = { 198, 51, 100, 2 };
static const uint8_t wan_roam[4] = { 198, 51, 100, 3 };
static const uint8_t wan_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t wan_peer6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
static const uint8_t lan_ip[4] = { 192, 168, 1, 1 }, lan_gw[4] = { 192, 168, 1, 254 };
static const uint8_t lan_host[4] = { 192, 168, 1, 7 };
static const uint8_t lan_ip6[16] = { 0xfd, [15] = 1 }, lan_host6[16] = { 0xfd, [15] = 7 };
static const uint8_t lan_far6[16] = { 0xfd, [15] = 5 };	/* on-link, never resolved */
static const uint8_t gw_mac[6] = { 0x02, 0, 0, 0, 0, 0xa1 };
static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 0xa7 };
static const uint8_t wan_mac[6] = { 0x02, 0, 0, 0, 0, 0xb2 };

/* Peers: A (the KAT initiator, IPv4 endpoint), B (IPv6 endpoint), C (no endpoint), D (no keys). */
enum { PA, PB, PC, PD, NPEERS };
static struct wg_peer *peer[NPEERS];
static const uint8_t pa_net[4] = { 10, 0, 0, 0 }, pb_net[4] = { 10, 0, 1, 0 };
static const uint8_t pc_net[4] = { 10, 0, 2, 0 }, pd_net[4] = { 10, 0, 3, 0 };
static const uint8_t pa_net6[16] = { 0xfd, 0x10 }, pb_net6[16] = { 0xfd, 0x11 };

/* Keypairs installed by hand; freed by the test. */
static struct noise_keypair *kp_a, *kp_a_next, *kp_b, *kp_d;
static uint8_t key_a_recv[32], key_a_send[32];
static const uint8_t key_b_recv[32] = { 0xb1 }, key_b_send[32] = { 0xb2 };
static const uint8_t key_n_recv[32] = { 0xc1 }, key_n_send[32] = { 0xc2 };
static const uint8_t key_d_recv[32] = { 0xd1 }, key_d_send[32] = { 0xd2 };
#define IDX_A ((uint32_t)kat_nopsk_idx_r)	/* ours: the KAT responder's */
#define REMOTE_A ((uint32_t)kat_nopsk_idx_i)
enum { IDX_B = 0x0b0b0b0b, REMOTE_B = 0x1b1b1b1b, IDX_N = 0x0c0c0c0c, IDX_D = 0x0d0d0d0d,
	REMOTE_D = 0x1d1d1d1d };

static struct noise_keypair *
install(struct wg_peer *p, uint32_t idx, uint32_t remote, const uint8_t *recv,
	const uint8_t *send, bool initiator, bool next)
{
	struct noise_keypair *kp = aligned_alloc(64, sizeof(*kp));

	assert_non_null(kp);
	memset(kp, 0, sizeof(*kp));
	kp->entry.owner = p;
	kp->entry.type = NOISE_INDEX_KEYPAIR;
	memcpy(kp->recv_key, recv, 32);
	memcpy(kp->send_key, send, 32);
	kp->birth = wg_clock_now();
	kp->remote_index = remote;
	kp->i_am_initiator = initiator;
	atomic_store(&kp->sending_valid, true);
	atomic_store(&kp->receiving_valid, true);
	atomic_flag_clear(&kp->replay_lock);
	wg_replay_init(&kp->replay);
	assert_int_equal(wg_index_rcu_ops.insert_at(itab, &kp->entry, idx), 0);
	if (next)
		atomic_store(&p->keypairs.next, kp);
	else
		atomic_store(&p->keypairs.current, kp);
	return kp;
}

static void
uninstall(struct noise_keypair **kp)
{
	struct wg_peer *p;

	if (*kp == NULL)
		return;
	p = (*kp)->entry.owner;
	if (atomic_load(&p->keypairs.current) == *kp)
		atomic_store(&p->keypairs.current, NULL);
	if (atomic_load(&p->keypairs.next) == *kp)
		atomic_store(&p->keypairs.next, NULL);
	wg_index_rcu_ops.remove(itab, &(*kp)->entry);
	free(*kp);
	*kp = NULL;
}

/* ---- frames ---- */

static uint8_t *
put_eth(uint8_t *b, uint8_t role, uint16_t type)
{
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)b;

	e->dst_addr = dp->port[role].mac;
	memcpy(e->src_addr.addr_bytes, role == WG_WAN ? wan_mac : host_mac, 6);
	e->ether_type = rte_cpu_to_be_16(type);
	return b + sizeof(*e);
}

static uint8_t *
put_ip4(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint8_t ttl,
	uint8_t tos, uint16_t payload)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)b;

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = tos;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + payload);
	ip->time_to_live = ttl;
	ip->next_proto_id = proto;
	memcpy(&ip->src_addr, src, 4);
	memcpy(&ip->dst_addr, dst, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return b + sizeof(*ip);
}

static uint8_t *
put_ip6(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint8_t hops,
	uint8_t tclass, uint16_t payload)
{
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)b;

	ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | (uint32_t)tclass << 20 | 0x12345);
	ip->payload_len = rte_cpu_to_be_16(payload);
	ip->proto = proto;
	ip->hop_limits = hops;
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, dst, 16);
	return b + sizeof(*ip);
}

/* An inner IPv4 UDP packet of total length len (>= 28) with a recognisable payload. */
static size_t
inner4(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t ttl, uint8_t tos, size_t len)
{
	uint8_t *p = put_ip4(b, src, dst, IPPROTO_UDP, ttl, tos, len - 20);
	size_t i;

	for (i = 0; i < len - 20; i++)
		p[i] = (uint8_t)(i * 7 + 1);
	return len;
}

static size_t
inner6(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t hops, uint8_t tclass,
	size_t len)
{
	uint8_t *p = put_ip6(b, src, dst, IPPROTO_UDP, hops, tclass, len - 40);
	size_t i;

	for (i = 0; i < len - 40; i++)
		p[i] = (uint8_t)(i * 5 + 3);
	return len;
}

/* A type 4 message for our index idx: msg gets 16 + plen + 16 bytes. */
static size_t
seal(uint8_t *msg, uint32_t idx, uint64_t counter, const uint8_t *key, const uint8_t *plain,
	size_t plen)
{
	uint32_t type = MESSAGE_DATA;

	memcpy(msg, &type, 4);
	memcpy(msg + 4, &idx, 4);
	memcpy(msg + 8, &counter, 8);
	wg_aead_encrypt(msg + 16, plain, plen, NULL, 0, counter, key);
	return 16 + plen + 16;
}

/* Outer frame from src:sport (IPv4) around a WireGuard message, with the outer TOS. */
static size_t
outer4(uint8_t *b, const uint8_t *src, uint16_t sport, uint8_t tos, const uint8_t *msg,
	size_t len)
{
	uint8_t *p = put_ip4(put_eth(b, WG_WAN, RTE_ETHER_TYPE_IPV4), src, wan_ip, IPPROTO_UDP,
		64, tos, 8 + len);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)p;

	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = rte_cpu_to_be_16(51820);
	u->dgram_len = rte_cpu_to_be_16(8 + len);
	u->dgram_cksum = 0;
	memcpy(p + 8, msg, len);
	return 14 + 20 + 8 + len;
}

static size_t
outer6(uint8_t *b, const uint8_t *src, uint16_t sport, uint8_t tclass, const uint8_t *msg,
	size_t len)
{
	uint8_t *p = put_ip6(put_eth(b, WG_WAN, RTE_ETHER_TYPE_IPV6), src, wan_ip6, IPPROTO_UDP,
		64, tclass, 8 + len);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)p;

	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = rte_cpu_to_be_16(51820);
	u->dgram_len = rte_cpu_to_be_16(8 + len);
	u->dgram_cksum = 0;
	memcpy(p + 8, msg, len);
	u->dgram_cksum = rte_ipv6_udptcp_cksum((struct rte_ipv6_hdr *)(p - 40), u);
	return 14 + 40 + 8 + len;
}

/* A data frame from peer A's endpoint carrying plain (sealed with A's key). */
static size_t
from_a(uint8_t *b, uint64_t counter, const uint8_t *plain, size_t plen)
{
	uint8_t msg[2048];
	size_t len = seal(msg, IDX_A, counter, key_a_recv, plain, plen);

	return outer4(b, wan_peer, 40000, 0, msg, len);
}

/* ---- driving the worker ---- */

static struct rte_mbuf *
mbuf_of(const uint8_t *bytes, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);

	assert_non_null(m);
	assert_non_null(rte_pktmbuf_append(m, len));
	memcpy(rte_pktmbuf_mtod(m, void *), bytes, len);
	return m;
}

/* Everything that left a port since the last call. */
static unsigned int
collect(uint8_t role, struct rte_mbuf **out, unsigned int max)
{
	wg_worker_flush(w);
	return rte_eth_rx_burst(dp->port[role].port_id, 0, out, max);
}

static void
free_all(struct rte_mbuf **m, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static struct wg_lcore_stats before;
static uint64_t peer_before[NPEERS][WG_PEER_DROP_MAX];

static void
stats_mark(void)
{
	unsigned int i, j;

	wg_stats_read(w->lcore_id, &before);
	for (i = 0; i < NPEERS; i++)
		for (j = 0; j < WG_PEER_DROP_MAX; j++)
			peer_before[i][j] = peer[i]->wk.drop[j];
}

/*
 * Peer p's counter of reason r moved by exactly n, and no other per-peer
 * drop counter of any peer moved (p NONE: none moved at all).
 */
static void
expect_peer_drops_(int p, int r, uint64_t n, int line)
{
	int slot = p == NONE ? NONE : wg_stats_peer_index(r);
	unsigned int i, j;
	uint64_t d;

	if (p != NONE && slot < 0)
		fail_msg("line %d: drop %s is not counted per peer", line, wg_stats_drop_name(r));
	for (i = 0; i < NPEERS; i++) {
		for (j = 0; j < WG_PEER_DROP_MAX; j++) {
			d = peer[i]->wk.drop[j] - peer_before[i][j];
			if (d != ((int)i == p && (int)j == slot ? n : 0))
				fail_msg("line %d: peer %c drop %s moved by %" PRIu64, line,
					'A' + i, wg_stats_drop_name(wg_stats_peer_reason(j)), d);
		}
	}
}
#define expect_peer_drops(p, r, n) expect_peer_drops_((p), (r), (n), __LINE__)

/* Exactly n drops, all under reason r (NONE: no drop at all, in no peer either). */
static void
expect_drops_(int r, uint64_t n, int line)
{
	struct wg_lcore_stats after;
	unsigned int j;
	uint64_t d;

	wg_stats_read(w->lcore_id, &after);
	for (j = 0; j < WG_DROP_MAX; j++) {
		d = after.drop[j] - before.drop[j];
		if (d != ((int)j == r ? n : 0))
			fail_msg("line %d: drop %s moved by %" PRIu64, line, wg_stats_drop_name(j),
				d);
	}
	if (r == NONE)
		expect_peer_drops_(NONE, 0, 0, line);
}
#define expect_drops(r, n) expect_drops_((r), (n), __LINE__)

static uint64_t
counter_delta(enum wg_counter c)
{
	struct wg_lcore_stats after;

	wg_stats_read(w->lcore_id, &after);
	return after.cnt[c] - before.cnt[c];
}

/* One frame in on role; whatever leaves port out_role is returned (at most one expected). */
static struct rte_mbuf *
feed(uint8_t role, const uint8_t *bytes, size_t len, uint8_t out_role)
{
	struct rte_mbuf *out[4];
	unsigned int n;

	wg_worker_input(w, role, mbuf_of(bytes, len));
	n = collect(out_role, out, RTE_DIM(out));
	assert_true(n <= 1);
	return n == 1 ? out[0] : NULL;
}

/* Nothing must leave either port. */
static void
feed_silent(uint8_t role, const uint8_t *bytes, size_t len)
{
	struct rte_mbuf *out[4];

	wg_worker_input(w, role, mbuf_of(bytes, len));
	assert_int_equal(collect(WG_LAN, out, RTE_DIM(out)), 0);
	assert_int_equal(collect(WG_WAN, out, RTE_DIM(out)), 0);
}

/* The engine's side of the events: drain the ring, take and clear the peers' event words. */
static unsigned int
take_events(uint32_t *ids, unsigned int max)
{
	struct wg_event ev;
	unsigned int n = 0, i;

	while (rte_ring_sc_dequeue_elem(w->event_ring, &ev, sizeof(ev)) == 0) {
		assert_int_equal(ev.type, WG_EV_PEER);
		if (n < max)
			ids[n] = ev.peer.peer_id;
		n++;
	}
	for (i = 0; i < NPEERS; i++)
		__atomic_fetch_and(&peer[i]->wk.ev, ~(uint32_t)WG_PEER_EV_PENDING,
			__ATOMIC_SEQ_CST);
	return n;
}

static uint32_t
take_bits(struct wg_peer *p)
{
	return wg_engine_take(p);
}

static void
reset_events(void)
{
	unsigned int i;

	take_events(NULL, 0);
	for (i = 0; i < NPEERS; i++)
		take_bits(peer[i]);
}

/* ---- WAN -> LAN ---- */

/* The KAT's data packet: the exact inner packet leaves the LAN to the gateway. */
static void
test_kat_decrypt(void **state)
{
	uint8_t buf[256], want[28];
	struct rte_mbuf *out;
	const uint8_t *o;
	uint32_t ids[4];
	size_t len;

	(void)state;
	reset_events();
	len = outer4(buf, wan_peer, 40000, 0, kat_nopsk_data_i2r, kat_nopsk_data_i2r_len);
	stats_mark();
	out = feed(WG_WAN, buf, len, WG_LAN);
	expect_drops(NONE, 0);
	assert_non_null(out);
	/* 10.0.0.1 -> 10.0.0.2 is off-link: the LAN gateway's MAC, from ours. */
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	assert_int_equal(rte_pktmbuf_pkt_len(out), 14 + 28);
	assert_memory_equal(o, gw_mac, 6);
	assert_memory_equal(o + 6, dp->port[WG_LAN].mac.addr_bytes, 6);
	assert_int_equal(o[12] << 8 | o[13], RTE_ETHER_TYPE_IPV4);
	/* The plaintext less its 4 bytes of padding, TTL 64 -> 63, checksum +0x0100. */
	memcpy(want, kat_nopsk_data_i2r_plain, 28);
	want[8] = 0x3f;
	want[10] = 0x67;
	want[11] = 0xdf;
	assert_memory_equal(o + 14, want, 28);
	rte_pktmbuf_free(out);
	assert_int_equal(counter_delta(WG_CNT_decrypted), 1);
	/* One event for A: authenticated data, same endpoint, not `next`. */
	assert_int_equal(take_events(ids, 4), 1);
	assert_int_equal(ids[0], peer[PA]->id);
	assert_int_equal(take_bits(peer[PA]), WG_PEER_EV_AUTH_RX | WG_PEER_EV_DATA_RX);
	assert_int_equal(peer[PA]->wk.rx_packets, 1);
	assert_int_equal(peer[PA]->wk.rx_bytes, 64);
	assert_int_equal(peer[PA]->wk.last_rx, wg_clock_now());

	/* The same message again: the replay window refuses it, nothing moves. */
	stats_mark();
	feed_silent(WG_WAN, buf, len);
	expect_drops(WG_DROP_wg_replay, 1);
	expect_peer_drops(PA, WG_DROP_wg_replay, 1);
	assert_int_equal(take_events(ids, 4), 0);
	assert_int_equal(peer[PA]->wk.rx_packets, 1);
}

/* Any flipped bit: header, ciphertext or tag. Nothing released, no event, no counter. */
static void
test_tamper(void **state)
{
	static const struct {
		size_t at;
		int drop;
	} flips[] = {
		{ 0, WG_DROP_wg_bad_type },		/* type */
		{ 1, WG_DROP_wg_bad_type },		/* reserved */
		{ 4, WG_DROP_wg_unknown_index },	/* receiver index */
		{ 7, WG_DROP_wg_unknown_index },
		{ 8, WG_DROP_wg_bad_tag },		/* counter (the nonce) */
		{ 15, WG_DROP_wg_bad_tag },
		{ 16, WG_DROP_wg_bad_tag },		/* ciphertext */
		{ 40, WG_DROP_wg_bad_tag },
		{ 47, WG_DROP_wg_bad_tag },
		{ 48, WG_DROP_wg_bad_tag },		/* tag */
		{ 63, WG_DROP_wg_bad_tag },
	};
	uint8_t buf[256], plain[64], msg[128];
	uint32_t ids[4];
	size_t i, len, n;

	(void)state;
	reset_events();
	inner4(plain, (const uint8_t[]){ 10, 0, 0, 1 }, lan_host, 64, 0, 32);
	for (i = 0; i < RTE_DIM(flips); i++) {
		n = seal(msg, IDX_A, 100 + i, key_a_recv, plain, 32);
		msg[flips[i].at] ^= 0x01;
		len = outer4(buf, wan_peer, 40000, 0, msg, n);
		stats_mark();
		feed_silent(WG_WAN, buf, len);
		expect_drops(flips[i].drop, 1);
		/* Only a packet whose keypair was found is A's: a bad index names nobody. */
		if (flips[i].drop == WG_DROP_wg_bad_tag)
			expect_peer_drops(PA, WG_DROP_wg_bad_tag, 1);
		else
			expect_peer_drops(NONE, 0, 0);
	}
	assert_int_equal(take_events(ids, 4), 0);
	assert_int_equal(take_bits(peer[PA]), 0);
	assert_int_equal(peer[PA]->wk.rx_packets, 1);

	/* Truncated: 31 bytes; 40 bytes (a tag that is not one). */
	n = seal(msg, IDX_A, 200, key_a_recv, plain, 0);
	stats_mark();
	feed_silent(WG_WAN, buf, outer4(buf, wan_peer, 40000, 0, msg, 31));
	expect_drops(WG_DROP_wg_bad_size, 1);
	expect_peer_drops(NONE, 0, 0);
	n = seal(msg, IDX_A, 201, key_a_recv, plain, 32);
	stats_mark();
	feed_silent(WG_WAN, buf, outer4(buf, wan_peer, 40000, 0, msg, 40));
	expect_drops(WG_DROP_wg_bad_tag, 1);
	expect_peer_drops(PA, WG_DROP_wg_bad_tag, 1);
	/* The counters never accepted are still free: the intact message goes through. */
	n = seal(msg, IDX_A, 201, key_a_recv, plain, 32);
	stats_mark();
	rte_pktmbuf_free(feed(WG_WAN, buf, outer4(buf, wan_peer, 40000, 0, msg, n), WG_LAN));
	expect_drops(NONE, 0);
	reset_events();
}

/* Unknown index, a handshake's index, expired keys, keys no longer valid. */
static void
test_keys(void **state)
{
	uint8_t buf[256], plain[64], msg[128];
	size_t n;

	(void)state;
	inner4(plain, (const uint8_t[]){ 10, 0, 0, 1 }, lan_host, 64, 0, 32);
	n = seal(msg, 0x77777777, 0, key_a_recv, plain, 32);
	stats_mark();
	feed_silent(WG_WAN, buf, outer4(buf, wan_peer, 40000, 0, msg, n));
	expect_drops(WG_DROP_wg_unknown_index, 1);
	expect_peer_drops(NONE, 0, 0);

	/* 180 s after its birth the key is refused before any decryption. */
	fake_ns += (uint64_t)REJECT_AFTER_TIME * WG_NSEC_PER_SEC;
	n = seal(msg, IDX_A, 300, key_a_recv, plain, 32);
	stats_mark();
	feed_silent(WG_WAN, buf, outer4(buf, wan_peer, 40000, 0, msg, n));
	expect_drops(WG_DROP_wg_key_expired, 1);
	expect_peer_drops(PA, WG_DROP_wg_key_expired, 1);
	fake_ns -= (uint64_t)REJECT_AFTER_TIME * WG_NSEC_PER_SEC;
	/* Receiving invalidated (counter limit, zeroing): the same. */
	atomic_store(&kp_a->receiving_valid, false);
	stats_mark();
	feed_silent(WG_WAN, buf, outer4(buf, wan_peer, 40000, 0, msg, n));
	expect_drops(WG_DROP_wg_key_expired, 1);
	expect_peer_drops(PA, WG_DROP_wg_key_expired, 1);
	atomic_store(&kp_a->receiving_valid, true);
	stats_mark();
	rte_pktmbuf_free(feed(WG_WAN, buf, outer4(buf, wan_peer, 40000, 0, msg, n), WG_LAN));
	expect_drops(NONE, 0);
	assert_int_equal(take_bits(peer[PA]) & WG_PEER_EV_AUTH_RX, WG_PEER_EV_AUTH_RX);
	reset_events();
}

/* A keepalive: consumed and counted; the timers hear of it (AUTH_RX without DATA_RX). */
static void
test_keepalive(void **state)
{
	uint8_t buf[256], msg[64];
	uint64_t pk = peer[PA]->wk.rx_packets;
	struct wg_endpoint ep;
	size_t n;

	(void)state;
	reset_events();
	n = seal(msg, IDX_A, 400, key_a_recv, NULL, 0);
	assert_int_equal(n, 32);
	stats_mark();
	feed_silent(WG_WAN, buf, outer4(buf, wan_peer, 40000, 0, msg, n));
	expect_drops(NONE, 0);
	assert_int_equal(counter_delta(WG_CNT_keepalives_rx), 1);
	assert_int_equal(take_bits(peer[PA]), WG_PEER_EV_AUTH_RX);
	assert_int_equal(peer[PA]->wk.rx_packets, pk + 1);
	reset_events();

	/* A keepalive from another address and port moves the endpoint (§9.6). */
	n = seal(msg, IDX_A, 401, key_a_recv, NULL, 0);
	feed_silent(WG_WAN, buf, outer4(buf, wan_roam, 40002, 0, msg, n));
	assert_int_equal(take_bits(peer[PA]), WG_PEER_EV_AUTH_RX | WG_PEER_EV_ENDPOINT);
	memcpy(&ep, &peer[PA]->wk.ev_endpoint.u.ep, sizeof(ep));
	assert_int_equal(ep.family, AF_INET);
	assert_int_equal(ep.port, 40002);
	assert_memory_equal(ep.addr, wan_roam, 4);
	/* A replayed counter from there moves nothing. */
	feed_silent(WG_WAN, buf, outer4(buf, wan_roam, 40002, 0, msg, n));
	assert_int_equal(take_bits(peer[PA]), 0);
	reset_events();
}

/* Inner packets: lengths, versions, sources outside the peer's allowed IPs. */
static void
test_inner_checks(void **state)
{
	static const uint8_t foreign[4] = { 10, 9, 9, 9 }, b_src[4] = { 10, 0, 1, 9 };
	static const uint8_t a_src6[16] = { 0xfd, 0x10, [15] = 9 };
	static const uint8_t b_src6[16] = { 0xfd, 0x11, [15] = 9 };
	uint8_t buf[512], plain[256];
	uint64_t c = 500;
	struct rte_mbuf *out;
	size_t len;

	(void)state;
	reset_events();
	/* IPv4 total length beyond the plaintext. */
	len = inner4(plain, (const uint8_t[]){ 10, 0, 0, 1 }, lan_host, 64, 0, 40);
	plain[3] = 41;
	plain[10] = plain[11] = 0;
	((struct rte_ipv4_hdr *)plain)->hdr_checksum = rte_ipv4_cksum((void *)plain);
	stats_mark();
	feed_silent(WG_WAN, buf, from_a(buf, c++, plain, len));
	expect_drops(WG_DROP_inner_malformed, 1);
	expect_peer_drops(PA, WG_DROP_inner_malformed, 1);
	/* Total length under the header, a bad IPv4 checksum, version 5, too short. */
	len = inner4(plain, (const uint8_t[]){ 10, 0, 0, 1 }, lan_host, 64, 0, 40);
	plain[3] = 19;
	stats_mark();
	feed_silent(WG_WAN, buf, from_a(buf, c++, plain, len));
	expect_drops(WG_DROP_inner_malformed, 1);
	expect_peer_drops(PA, WG_DROP_inner_malformed, 1);
	len = inner4(plain, (const uint8_t[]){ 10, 0, 0, 1 }, lan_host, 64, 0, 40);
	plain[11] ^= 1;
	stats_mark();
	feed_silent(WG_WAN, buf, from_a(buf, c++, plain, len));
	expect_drops(WG_DROP_inner_malformed, 1);
	expect_peer_drops(PA, WG_DROP_inner_malformed, 1);
	plain[11] ^= 1;
	plain[0] = 0x55;
	stats_mark();
	feed_silent(WG_WAN, buf, from_a(buf, c++, plain, len));
	expect_drops(WG_DROP_inner_malformed, 1);
	expect_peer_drops(PA, WG_DROP_inner_malformed, 1);
	stats_mark();
	feed_silent(WG_WAN, buf, from_a(buf, c++, plain, 16));
	expect_drops(WG_DROP_inner_malformed, 1);
	expect_peer_drops(PA, WG_DROP_inner_malformed, 1);
	/* IPv6 payload length beyond the plaintext, and under 40 bytes. */
	len = inner6(plain, a_src6, lan_host6, 64, 0, 80);
	plain[5] = 41;
	stats_mark();
	feed_silent(WG_WAN, buf, from_a(buf, c++, plain, len));
	expect_drops(WG_DROP_inner_malformed, 1);
	expect_peer_drops(PA, WG_DROP_inner_malformed, 1);
	stats_mark();
	feed_silent(WG_WAN, buf, from_a(buf, c++, plain, 39));
	expect_drops(WG_DROP_inner_malformed, 1);
	expect_peer_drops(PA, WG_DROP_inner_malformed, 1);

	/* Sources: nobody's, and peer B's, sent by A. Authenticated all the same. */
	reset_events();
	len = inner4(plain, foreign, lan_host, 64, 0, 40);
	stats_mark();
	feed_silent(WG_WAN, buf, from_a(buf, c++, plain, len));
	expect_drops(WG_DROP_allowedips_src_mismatch, 1);
	expect_peer_drops(PA, WG_DROP_allowedips_src_mismatch, 1);
	len = inner4(plain, b_src, lan_host, 64, 0, 40);
	stats_mark();
	feed_silent(WG_WAN, buf, from_a(buf, c++, plain, len));
	expect_drops(WG_DROP_allowedips_src_mismatch, 1);
	expect_peer_drops(PA, WG_DROP_allowedips_src_mismatch, 1);
	len = inner6(plain, b_src6, lan_host6, 64, 0, 60);
	stats_mark();
	feed_silent(WG_WAN, buf, from_a(buf, c++, plain, len));
	expect_drops(WG_DROP_allowedips_src_mismatch, 1);
	expect_peer_drops(PA, WG_DROP_allowedips_src_mismatch, 1);
	assert_int_equal(take_bits(peer[PA]), WG_PEER_EV_AUTH_RX | WG_PEER_EV_DATA_RX);

	/* Padding trimmed: 41 bytes of IPv4 in 48 of plaintext leave as 41 bytes. */
	len = inner4(plain, (const uint8_t[]){ 10, 0, 0, 1 }, lan_host, 64, 0, 41);
	memset(plain + 41, 0, 7);
	stats_mark();
	out = feed(WG_WAN, buf, from_a(buf, c++, plain, 48), WG_LAN);
	expect_drops(NONE, 0);
	assert_non_null(out);
	assert_int_equal(rte_pktmbuf_pkt_len(out), 14 + 41);
	/* On-link destination: the host's MAC (a static neighbour). */
	assert_memory_equal(rte_pktmbuf_mtod(out, const uint8_t *), host_mac, 6);
	rte_pktmbuf_free(out);
	reset_events();
}

/* IPv6 inner over an IPv6 outer: hop limit, ECN; an unresolved next hop waits for ND. */
static void
test_ipv6_and_neigh_wait(void **state)
{
	static const uint8_t a_src6[16] = { 0xfd, 0x10, [15] = 9 };
	uint8_t buf[512], plain[256], msg[512], want[256];
	struct rte_mbuf *out, *m = NULL;
	struct wg_mbuf_meta *meta;
	struct wg_endpoint ep;
	size_t len, n;

	(void)state;
	reset_events();
	/* From A's new IPv6 address: it roams there. Outer ECT(0) leaves the inner alone. */
	len = inner6(plain, a_src6, lan_host6, 64, 0x01, 100);
	memset(plain + 100, 0, 12);
	n = seal(msg, IDX_A, 600, key_a_recv, plain, 112);
	stats_mark();
	out = feed(WG_WAN, buf, outer6(buf, wan_peer6, 40100, 0x02, msg, n), WG_LAN);
	expect_drops(NONE, 0);
	assert_non_null(out);
	memcpy(want, plain, len);
	want[7] = 63;
	assert_int_equal(rte_pktmbuf_pkt_len(out), 14 + len);
	assert_memory_equal(rte_pktmbuf_mtod(out, const uint8_t *), host_mac, 6);
	assert_int_equal(rte_pktmbuf_mtod(out, const uint8_t *)[12] << 8 |
		rte_pktmbuf_mtod(out, const uint8_t *)[13], RTE_ETHER_TYPE_IPV6);
	assert_memory_equal(rte_pktmbuf_mtod_offset(out, const uint8_t *, 14), want, len);
	rte_pktmbuf_free(out);
	assert_int_equal(take_bits(peer[PA]),
		WG_PEER_EV_AUTH_RX | WG_PEER_EV_DATA_RX | WG_PEER_EV_ENDPOINT);
	memcpy(&ep, &peer[PA]->wk.ev_endpoint.u.ep, sizeof(ep));
	assert_int_equal(ep.family, AF_INET6);
	assert_int_equal(ep.port, 40100);
	assert_memory_equal(ep.addr, wan_peer6, 16);

	/* fd00::5 is on-link and unknown: handed to the control lcore to resolve. */
	reset_events();
	inner6(plain, a_src6, lan_far6, 64, 0, 100);
	memset(plain + 100, 0, 12);
	n = seal(msg, IDX_A, 601, key_a_recv, plain, 112);
	stats_mark();
	feed_silent(WG_WAN, buf, outer4(buf, wan_peer, 40000, 0, msg, n));
	expect_drops(NONE, 0);
	assert_int_equal(counter_delta(WG_CNT_to_control), 1);
	assert_int_equal(rte_ring_sc_dequeue(w->ctrl_ring, (void **)&m), 0);
	meta = wg_meta(m);
	assert_int_equal(meta->kind, WG_META_NEIGH_WAIT);
	assert_int_equal(meta->port, WG_LAN);
	assert_int_equal(meta->nexthop.port, WG_LAN);
	assert_int_equal(meta->nexthop.family, AF_INET6);
	assert_memory_equal(meta->nexthop.addr, lan_far6, 16);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 14 + 100);
	assert_memory_equal(rte_pktmbuf_mtod_offset(m, const uint8_t *, 6),
		dp->port[WG_LAN].mac.addr_bytes, 6);
	rte_pktmbuf_free(m);
	/* The live endpoint is still the IPv4 one (nobody applied the roaming event). */
	assert_int_equal(take_bits(peer[PA]), WG_PEER_EV_AUTH_RX | WG_PEER_EV_DATA_RX);
	reset_events();
}

/* RFC 6040: outer CE marks an ECT inner packet CE, and drops a not-ECT one. */
static void
test_ecn(void **state)
{
	static const struct {
		uint8_t inner, outer, result;	/* result 0xff: dropped */
	} table[] = {
		{ 0, 0, 0 }, { 0, 1, 0 }, { 0, 2, 0 }, { 0, 3, 0xff },
		{ 1, 0, 1 }, { 1, 1, 1 }, { 1, 2, 1 }, { 1, 3, 3 },
		{ 2, 0, 2 }, { 2, 1, 1 }, { 2, 2, 2 }, { 2, 3, 3 },
		{ 3, 0, 3 }, { 3, 1, 3 }, { 3, 2, 3 }, { 3, 3, 3 },
	};
	uint8_t buf[256], plain[64], msg[128];
	struct rte_ipv4_hdr ip;
	struct rte_mbuf *out;
	size_t i, n;

	(void)state;
	for (i = 0; i < RTE_DIM(table); i++) {
		inner4(plain, (const uint8_t[]){ 10, 0, 0, 1 }, lan_host, 64,
			0xb8 | table[i].inner, 32);
		n = seal(msg, IDX_A, 700 + i, key_a_recv, plain, 32);
		stats_mark();
		if (table[i].result == 0xff) {
			feed_silent(WG_WAN, buf, outer4(buf, wan_peer, 40000, table[i].outer, msg,
				n));
			expect_drops(WG_DROP_ecn_not_ect_ce, 1);
			expect_peer_drops(PA, WG_DROP_ecn_not_ect_ce, 1);
			continue;
		}
		out = feed(WG_WAN, buf, outer4(buf, wan_peer, 40000, table[i].outer, msg, n),
			WG_LAN);
		expect_drops(NONE, 0);
		assert_non_null(out);
		memcpy(&ip, rte_pktmbuf_mtod_offset(out, const void *, 14), sizeof(ip));
		assert_int_equal(ip.type_of_service, 0xb8 | table[i].result);
		assert_int_equal(rte_ipv4_cksum(&ip), 0);
		assert_int_equal(ip.time_to_live, 63);
		rte_pktmbuf_free(out);
	}
	reset_events();
}

/* Decrypt one message that left the WAN port for peer A / B; returns the plaintext length. */
static size_t
open_wan(struct rte_mbuf *out, const uint8_t *key, uint8_t family, uint32_t remote,
	uint16_t port, uint64_t *counter, uint8_t *plain, uint8_t *tos)
{
	const uint8_t *o = rte_pktmbuf_mtod(out, const uint8_t *);
	size_t l3 = family == AF_INET ? 20 : 40, len = rte_pktmbuf_pkt_len(out);
	const uint8_t *udp = o + 14 + l3, *msg = udp + 8;
	struct rte_ipv4_hdr ip4;
	uint32_t type, idx;
	uint16_t ulen;

	assert_true(len >= 14 + l3 + 8 + 32);
	assert_memory_equal(o, wan_mac, 6);
	assert_memory_equal(o + 6, dp->port[WG_WAN].mac.addr_bytes, 6);
	if (family == AF_INET) {
		assert_int_equal(o[12] << 8 | o[13], RTE_ETHER_TYPE_IPV4);
		memcpy(&ip4, o + 14, sizeof(ip4));
		assert_int_equal(ip4.version_ihl, 0x45);
		assert_int_equal(rte_ipv4_cksum(&ip4), 0);
		assert_int_equal(rte_be_to_cpu_16(ip4.total_length), len - 14);
		assert_int_equal(rte_be_to_cpu_16(ip4.fragment_offset), RTE_IPV4_HDR_DF_FLAG);
		assert_int_equal(ip4.time_to_live, 64);
		assert_int_equal(ip4.next_proto_id, IPPROTO_UDP);
		assert_memory_equal(&ip4.src_addr, wan_ip, 4);
		assert_memory_equal(&ip4.dst_addr, wan_peer, 4);
		assert_int_equal(udp[2] << 8 | udp[3], port);
		assert_int_equal(udp[6] | udp[7], 0);	/* no UDP checksum over IPv4 */
		*tos = ip4.type_of_service;
	} else {
		const struct rte_ipv6_hdr *ip6 = (const struct rte_ipv6_hdr *)(o + 14);
		uint32_t flow = rte_be_to_cpu_32(ip6->vtc_flow);

		assert_int_equal(o[12] << 8 | o[13], RTE_ETHER_TYPE_IPV6);
		assert_int_equal(flow >> 28, 6);
		assert_int_equal(flow & 0xfffff, 0);	/* no flow label */
		assert_int_equal(rte_be_to_cpu_16(ip6->payload_len), len - 14 - 40);
		assert_int_equal(ip6->proto, IPPROTO_UDP);
		assert_int_equal(ip6->hop_limits, 64);
		assert_memory_equal(ip6->src_addr, wan_ip6, 16);
		assert_memory_equal(ip6->dst_addr, wan_peer6, 16);
		assert_int_equal(udp[2] << 8 | udp[3], port);
		assert_int_not_equal(udp[6] | udp[7], 0);
		assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip6, udp), 0);
		*tos = (flow >> 20) & 0xff;
	}
	assert_int_equal(udp[0] << 8 | udp[1], 51820);
	ulen = udp[4] << 8 | udp[5];
	assert_int_equal(ulen, len - 14 - l3);
	memcpy(&type, msg, 4);
	memcpy(&idx, msg + 4, 4);
	memcpy(counter, msg + 8, 8);
	assert_int_equal(type, MESSAGE_DATA);
	assert_int_equal(idx, remote);
	assert_true(wg_aead_decrypt(plain, msg + 16, ulen - 8 - 16, NULL, 0, *counter, key));
	return ulen - 8 - 32;
}

static size_t
lan4(uint8_t *b, const uint8_t *dst, uint8_t ttl, uint8_t tos, size_t len)
{
	return 14 + inner4(put_eth(b, WG_LAN, RTE_ETHER_TYPE_IPV4), lan_host, dst, ttl, tos, len);
}

/* ---- LAN -> WAN ---- */

/* An IPv4 packet to A: the exact message (counter, padding, ECN only), then the next counter. */
static void
test_encrypt4(void **state)
{
	static const uint8_t dst[4] = { 10, 0, 0, 2 };
	uint8_t buf[2048], plain[2048], want[2048];
	struct rte_mbuf *out;
	uint64_t counter, tx = peer[PA]->wk.tx_packets;
	uint32_t ids[4];
	size_t len, plen;
	uint8_t tos;

	(void)state;
	reset_events();
	len = lan4(buf, dst, 64, 0xb9, 28);	/* DSCP 46, ECT(1) */
	stats_mark();
	out = feed(WG_LAN, buf, len, WG_WAN);
	expect_drops(NONE, 0);
	assert_non_null(out);
	plen = open_wan(out, key_a_send, AF_INET, REMOTE_A, 40000, &counter, plain, &tos);
	rte_pktmbuf_free(out);
	assert_int_equal(counter, 0);
	assert_int_equal(tos, 0x01);		/* ECN of the inner, no DSCP */
	assert_int_equal(plen, 32);		/* 28 padded to 16 */
	memcpy(want, buf + 14, 28);
	want[8] = 63;
	((struct rte_ipv4_hdr *)want)->hdr_checksum = 0;
	((struct rte_ipv4_hdr *)want)->hdr_checksum = rte_ipv4_cksum((void *)want);
	memset(want + 28, 0, 4);
	assert_memory_equal(plain, want, 32);
	assert_int_equal(counter_delta(WG_CNT_encrypted), 1);
	assert_int_equal(take_events(ids, 4), 1);
	assert_int_equal(ids[0], peer[PA]->id);
	assert_int_equal(take_bits(peer[PA]), WG_PEER_EV_AUTH_TX | WG_PEER_EV_DATA_TX);
	assert_int_equal(peer[PA]->wk.tx_packets, tx + 1);

	/* 1419 bytes: padded to the MTU (1420), not to 1424. Counter 1. */
	len = lan4(buf, dst, 64, 0, 1419);
	out = feed(WG_LAN, buf, len, WG_WAN);
	assert_non_null(out);
	plen = open_wan(out, key_a_send, AF_INET, REMOTE_A, 40000, &counter, plain, &tos);
	rte_pktmbuf_free(out);
	assert_int_equal(counter, 1);
	assert_int_equal(plen, 1420);
	assert_int_equal(plain[1419], 0);
	assert_memory_equal(plain + 20, buf + 14 + 20, 1399);
	/* 1420 exactly: no padding at all. */
	len = lan4(buf, dst, 64, 0, 1420);
	out = feed(WG_LAN, buf, len, WG_WAN);
	assert_non_null(out);
	plen = open_wan(out, key_a_send, AF_INET, REMOTE_A, 40000, &counter, plain, &tos);
	rte_pktmbuf_free(out);
	assert_int_equal(counter, 2);
	assert_int_equal(plen, 1420);
	assert_int_equal(atomic_load(&kp_a->send_counter), 3);
	reset_events();
}

/* An IPv6 packet to B over B's IPv6 endpoint: traffic class ECN only, UDP checksum. */
static void
test_encrypt6(void **state)
{
	static const uint8_t dst6[16] = { 0xfd, 0x11, [15] = 5 };
	uint8_t buf[512], plain[512], want[512];
	struct rte_mbuf *out;
	uint64_t counter;
	size_t len, plen;
	uint8_t tos;

	(void)state;
	reset_events();
	len = 14 + inner6(put_eth(buf, WG_LAN, RTE_ETHER_TYPE_IPV6), lan_host6, dst6, 64, 0xba, 61);
	stats_mark();
	out = feed(WG_LAN, buf, len, WG_WAN);
	expect_drops(NONE, 0);
	assert_non_null(out);
	plen = open_wan(out, key_b_send, AF_INET6, REMOTE_B, 40001, &counter, plain, &tos);
	rte_pktmbuf_free(out);
	assert_int_equal(counter, 0);
	assert_int_equal(tos, 0x02);		/* ECT(0) of 0xba */
	assert_int_equal(plen, 64);
	memcpy(want, buf + 14, 61);
	want[7] = 63;
	memset(want + 61, 0, 3);
	assert_memory_equal(plain, want, 64);
	assert_int_equal(take_bits(peer[PB]), WG_PEER_EV_AUTH_TX | WG_PEER_EV_DATA_TX);
	reset_events();
}

/* A burst for two peers: one nonce reservation, one event and one counter update per peer. */
static void
test_burst(void **state)
{
	static const uint8_t da[4] = { 10, 0, 0, 2 }, db[4] = { 10, 0, 1, 2 };
	struct rte_mbuf *in[8], *out[16];
	uint8_t buf[256], plain[256], tos;
	uint64_t c, next_a = atomic_load(&kp_a->send_counter), next_b;
	uint64_t ta = peer[PA]->wk.tx_packets, tb = peer[PB]->wk.tx_packets;
	uint32_t ids[8];
	unsigned int i, n, na = 0, nb = 0;
	size_t len;

	(void)state;
	reset_events();
	next_b = atomic_load(&kp_b->send_counter);
	for (i = 0; i < 8; i++) {
		len = lan4(buf, i % 3 == 0 ? db : da, 64, 0, 40 + i);
		in[i] = mbuf_of(buf, len);
	}
	stats_mark();
	wg_worker_input_burst(w, WG_LAN, in, 8);
	expect_drops(NONE, 0);
	n = collect(WG_WAN, out, RTE_DIM(out));
	assert_int_equal(n, 8);
	for (i = 0; i < n; i++) {
		/* Same order as received; each peer's counters consecutive. */
		if (i % 3 == 0) {
			open_wan(out[i], key_b_send, AF_INET6, REMOTE_B, 40001, &c, plain, &tos);
			assert_int_equal(c, next_b + nb++);
		} else {
			open_wan(out[i], key_a_send, AF_INET, REMOTE_A, 40000, &c, plain, &tos);
			assert_int_equal(c, next_a + na++);
		}
		assert_int_equal(plain[3], 40 + i);	/* total length */
	}
	free_all(out, n);
	assert_int_equal(take_events(ids, 8), 2);
	assert_int_equal(peer[PA]->wk.tx_packets, ta + 5);
	assert_int_equal(peer[PB]->wk.tx_packets, tb + 3);
	assert_int_equal(counter_delta(WG_CNT_encrypted), 8);
	reset_events();
}

/* No route, no endpoint, no keypair (staged and back), ring full. */
static void
test_no_session(void **state)
{
	static const uint8_t nowhere[4] = { 10, 99, 0, 1 }, dc[4] = { 10, 0, 2, 2 };
	static const uint8_t dd[4] = { 10, 0, 3, 2 };
	uint8_t buf[256], plain[256], tos;
	struct rte_mbuf *m = NULL, *out;
	struct wg_mbuf_meta *meta;
	void *dummy[WG_WORKER_RING_SIZE];
	unsigned int free_slots, i;
	uint64_t c;
	size_t len;

	(void)state;
	reset_events();
	stats_mark();
	feed_silent(WG_LAN, buf, lan4(buf, nowhere, 64, 0, 40));
	expect_drops(WG_DROP_no_route, 1);
	expect_peer_drops(NONE, 0, 0);
	stats_mark();
	feed_silent(WG_LAN, buf, lan4(buf, dc, 64, 0, 40));
	expect_drops(WG_DROP_no_endpoint, 1);
	expect_peer_drops(PC, WG_DROP_no_endpoint, 1);

	/* D has an endpoint and no keypair: the inner packet goes to the control lcore. */
	len = lan4(buf, dd, 64, 0, 40);
	stats_mark();
	feed_silent(WG_LAN, buf, len);
	expect_drops(NONE, 0);
	assert_int_equal(counter_delta(WG_CNT_staged), 1);
	assert_int_equal(rte_ring_sc_dequeue(w->ctrl_ring, (void **)&m), 0);
	meta = wg_meta(m);
	assert_int_equal(meta->kind, WG_META_STAGE);
	assert_int_equal(meta->peer_id, peer[PD]->id);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 40);
	assert_int_equal(rte_pktmbuf_mtod(m, const uint8_t *)[8], 63);	/* TTL done once */
	/* The engine hands it back while D still has no keypair: dropped. */
	assert_true(wg_encap_send_staged(dp, m, peer[PD]->id));
	stats_mark();
	assert_int_equal(wg_worker_from_control(w), 1);
	expect_drops(WG_DROP_staged_no_keypair, 1);
	expect_peer_drops(PD, WG_DROP_staged_no_keypair, 1);

	/* Staged again, and handed back once D has a session: encrypted for D. */
	feed_silent(WG_LAN, buf, len);
	assert_int_equal(rte_ring_sc_dequeue(w->ctrl_ring, (void **)&m), 0);
	kp_d = install(peer[PD], IDX_D, REMOTE_D, key_d_recv, key_d_send, true, false);
	assert_true(wg_encap_send_staged(dp, m, peer[PD]->id));
	stats_mark();
	assert_int_equal(wg_worker_from_control(w), 1);
	expect_drops(NONE, 0);
	out = NULL;
	assert_int_equal(collect(WG_WAN, &out, 1), 1);
	open_wan(out, key_d_send, AF_INET, REMOTE_D, 40003, &c, plain, &tos);
	assert_int_equal(c, 0);
	assert_memory_equal(plain + 20, buf + 14 + 20, 20);
	assert_int_equal(plain[8], 63);
	rte_pktmbuf_free(out);
	uninstall(&kp_d);

	/* The ring to the control lcore full: dropped, and a handshake asked for. */
	reset_events();
	free_slots = rte_ring_free_count(w->ctrl_ring);
	for (i = 0; i < free_slots; i++)
		dummy[i] = &dummy[i];
	assert_int_equal(rte_ring_sp_enqueue_bulk(w->ctrl_ring, dummy, free_slots, NULL),
		free_slots);
	stats_mark();
	feed_silent(WG_LAN, buf, len);
	expect_drops(WG_DROP_ctrl_ring_full, 1);
	expect_peer_drops(PD, WG_DROP_ctrl_ring_full, 1);
	assert_int_equal(take_bits(peer[PD]), WG_PEER_EV_NO_KEYPAIR);
	assert_int_equal(rte_ring_sc_dequeue_bulk(w->ctrl_ring, dummy, free_slots, NULL),
		free_slots);
	reset_events();
}

/* Rekey conditions: 120 s send side, 165 s receive side (initiator); `next` confirmation. */
static void
test_rekey_and_confirm(void **state)
{
	static const uint8_t da[4] = { 10, 0, 0, 2 };
	uint8_t buf[256], plain[64], msg[128];
	struct rte_mbuf *out;
	size_t n;

	(void)state;
	reset_events();
	/* Our current keypair for B is the initiator's: 121 s old, it asks for a rekey. */
	kp_b->birth = wg_clock_now() - 121 * WG_NSEC_PER_SEC;
	out = feed(WG_LAN, buf, lan4(buf, (const uint8_t[]){ 10, 0, 1, 2 }, 64, 0, 40), WG_WAN);
	assert_non_null(out);
	rte_pktmbuf_free(out);
	assert_int_equal(take_bits(peer[PB]),
		WG_PEER_EV_AUTH_TX | WG_PEER_EV_DATA_TX | WG_PEER_EV_REKEY_TX);
	/* 166 s: receiving on it asks for the receive-side rekey (still valid until 180 s). */
	kp_b->birth = wg_clock_now() - 166 * WG_NSEC_PER_SEC;
	inner4(plain, (const uint8_t[]){ 10, 0, 1, 9 }, lan_host, 64, 0, 32);
	n = seal(msg, IDX_B, 0, key_b_recv, plain, 32);
	out = feed(WG_WAN, buf, outer6(buf, wan_peer6, 40001, 0, msg, n), WG_LAN);
	assert_non_null(out);
	rte_pktmbuf_free(out);
	assert_int_equal(take_bits(peer[PB]),
		WG_PEER_EV_AUTH_RX | WG_PEER_EV_DATA_RX | WG_PEER_EV_REKEY_RX);
	kp_b->birth = wg_clock_now();
	reset_events();

	/* A packet on A's unconfirmed `next`: CONFIRM with that keypair. */
	kp_a_next = install(peer[PA], IDX_N, REMOTE_A, key_n_recv, key_n_send, false, true);
	inner4(plain, (const uint8_t[]){ 10, 0, 0, 1 }, lan_host, 64, 0, 32);
	n = seal(msg, IDX_N, 0, key_n_recv, plain, 32);
	out = feed(WG_WAN, buf, outer4(buf, wan_peer, 40000, 0, msg, n), WG_LAN);
	assert_non_null(out);
	rte_pktmbuf_free(out);
	assert_int_equal(take_bits(peer[PA]),
		WG_PEER_EV_AUTH_RX | WG_PEER_EV_DATA_RX | WG_PEER_EV_CONFIRM);
	assert_ptr_equal(peer[PA]->wk.ev_keypair, kp_a_next);
	uninstall(&kp_a_next);

	/* Current expired for sending (180 s): staged, not sent on a dead key. */
	fake_ns += (uint64_t)REJECT_AFTER_TIME * WG_NSEC_PER_SEC;
	stats_mark();
	feed_silent(WG_LAN, buf, lan4(buf, da, 64, 0, 40));
	expect_drops(NONE, 0);
	assert_int_equal(counter_delta(WG_CNT_staged), 1);
	fake_ns -= (uint64_t)REJECT_AFTER_TIME * WG_NSEC_PER_SEC;
	out = NULL;
	assert_int_equal(rte_ring_sc_dequeue(w->ctrl_ring, (void **)&out), 0);
	rte_pktmbuf_free(out);
	reset_events();
}

/* TTL 1 inside the tunnel: ICMP time exceeded goes back to the sender through the tunnel. */
static void
test_time_exceeded(void **state)
{
	static const uint8_t a_src[4] = { 10, 0, 0, 1 };
	uint8_t buf[512], plain[512], msg[512], tos;
	struct rte_ipv4_hdr ip;
	struct rte_mbuf *out;
	uint64_t c;
	size_t len, n, plen;

	(void)state;
	reset_events();
	len = inner4(plain, a_src, lan_host, 1, 0, 60);
	memset(plain + 60, 0, 4);
	n = seal(msg, IDX_A, 900, key_a_recv, plain, 64);
	stats_mark();
	out = feed(WG_WAN, buf, outer4(buf, wan_peer, 40000, 0, msg, n), WG_WAN);
	expect_drops(NONE, 0);
	assert_non_null(out);
	assert_int_equal(counter_delta(WG_CNT_icmp_errors), 1);
	plen = open_wan(out, key_a_send, AF_INET, REMOTE_A, 40000, &c, buf, &tos);
	rte_pktmbuf_free(out);
	assert_int_equal(plen, 96);			/* 20 + 8 + 60 padded */
	memcpy(&ip, buf, sizeof(ip));
	assert_int_equal(rte_ipv4_cksum(&ip), 0);
	assert_int_equal(rte_be_to_cpu_16(ip.total_length), 88);
	assert_memory_equal(&ip.src_addr, lan_ip, 4);
	assert_memory_equal(&ip.dst_addr, a_src, 4);
	assert_int_equal(ip.next_proto_id, IPPROTO_ICMP);
	assert_int_equal(buf[20], 11);			/* time exceeded */
	assert_int_equal(buf[21], 0);
	assert_int_equal(rte_raw_cksum(buf + 20, 68), 0xffff);
	assert_memory_equal(buf + 28, plain, len);	/* the packet as received */
	reset_events();
}

/* The control lcore's messages: UDP / IP / Ethernet in front, next hop in the metadata. */
static void
test_encap_udp(void **state)
{
	struct wg_endpoint ep = { .family = AF_INET6, .port = 40001 };
	struct wg_endpoint far = { .family = AF_INET, .port = 9 };
	const uint8_t *o;
	struct rte_mbuf *m;
	struct wg_mbuf_meta *meta;
	uint8_t msg[148] = { 1 };

	(void)state;
	memcpy(ep.addr, wan_peer6, 16);
	m = mbuf_of(msg, sizeof(msg));
	assert_int_equal(wg_encap_udp(dp, m, &ep), 0);
	meta = wg_meta(m);
	assert_int_equal(meta->port, WG_WAN);
	assert_int_equal(meta->nexthop.port, WG_WAN);
	assert_int_equal(meta->nexthop.family, AF_INET6);
	assert_memory_equal(meta->nexthop.addr, wan_peer6, 16);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 14 + 40 + 8 + 148);
	o = rte_pktmbuf_mtod(m, const uint8_t *);
	assert_memory_equal(o + 6, dp->port[WG_WAN].mac.addr_bytes, 6);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify((const void *)(o + 14), o + 54), 0);
	assert_int_equal(rte_be_to_cpu_32(((const struct rte_ipv6_hdr *)(o + 14))->vtc_flow),
		6u << 28);
	assert_memory_equal(o + 62, msg, 148);
	rte_pktmbuf_free(m);
	/* Off-link IPv4 without a WAN gateway: no route. */
	memcpy(far.addr, (const uint8_t[]){ 203, 0, 113, 9 }, 4);
	m = mbuf_of(msg, sizeof(msg));
	assert_int_equal(wg_encap_udp(dp, m, &far), -ENETUNREACH);
	rte_pktmbuf_free(m);
}

/* ---- fixture ---- */

static struct wg_conf conf;
static struct wg_prefix wan_addr[2], lan_addr[2];
static struct wg_conf_neighbor neighbors[4];

static void
prefix(struct wg_prefix *p, uint8_t family, const uint8_t *a, uint8_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->len = len;
	memcpy(p->addr, a, family == AF_INET ? 4 : 16);
}

static void
neighbor(struct wg_conf_neighbor *n, uint8_t family, const uint8_t *a, const uint8_t *mac)
{
	prefix(&n->ip, family, a, family == AF_INET ? 32 : 128);
	memcpy(n->mac, mac, 6);
}

static struct wg_peer *
add_peer(uint8_t tag, uint8_t family, const uint8_t *addr, uint16_t port)
{
	struct wg_peer tmpl, *out;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.public_key[0] = tag;
	tmpl.ep.u.ep.family = family;
	tmpl.ep.u.ep.port = port;
	if (family != 0)
		memcpy(tmpl.ep.u.ep.addr, addr, family == AF_INET ? 4 : 16);
	if (wg_peers_add(peers, &tmpl, &out) != 0)
		return NULL;
	return out;
}

static int
route(struct wg_peer *p, uint8_t family, const uint8_t *a, uint8_t len)
{
	struct wg_prefix pf;

	prefix(&pf, family, a, len);
	return wg_allowedips_insert(aips, p->id, &pf);
}

static int
tables(void)
{
	struct wg_peers_params pp = { .name = "wtp", .rcu = dp->qsbr, .max_peers = 16 };
	struct wg_allowedips_params ap = { .name = "wta", .rcu = dp->qsbr, .v4_rules = 64,
		.v4_tbl8s = 16, .v4_hosts = 64, .v6_groups = 64, .v6_hosts = 64 };
	struct wg_index_rcu_params ip = { .name = "wti", .rcu = dp->qsbr, .entries = 256,
		.retire_queue = 64 };

	peers = wg_peers_create(&pp);
	aips = wg_allowedips_create(&ap);
	itab = wg_index_rcu_create(&ip);
	if (peers == NULL || aips == NULL || itab == NULL)
		return -1;
	peer[PA] = add_peer(0xa, AF_INET, wan_peer, 40000);
	peer[PB] = add_peer(0xb, AF_INET6, wan_peer6, 40001);
	peer[PC] = add_peer(0xc, 0, NULL, 0);
	peer[PD] = add_peer(0xd, AF_INET, wan_peer, 40003);
	if (peer[PA] == NULL || peer[PB] == NULL || peer[PC] == NULL || peer[PD] == NULL)
		return -1;
	if (route(peer[PA], AF_INET, pa_net, 24) || route(peer[PB], AF_INET, pb_net, 24) ||
			route(peer[PC], AF_INET, pc_net, 24) ||
			route(peer[PD], AF_INET, pd_net, 24) ||
			route(peer[PA], AF_INET6, pa_net6, 64) ||
			route(peer[PB], AF_INET6, pb_net6, 64))
		return -1;
	dp->peers = peers;
	dp->allowedips = aips;
	dp->index = itab;
	return 0;
}

static int
setup(void **state)
{
	char prefix_arg[64];
	char *argv[] = { "test_wgpath", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
		"--lcores=0@0,1@0", "--vdev=net_ring0", "--vdev=net_ring1",
		"--log-level=*:error", prefix_arg };

	(void)state;
	snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=wgpath%d", (int)getpid());
	if (rte_eal_init(RTE_DIM(argv), argv) < 0)
		return -1;
	wg_clock_set_source(fake_clock);
	prefix(&wan_addr[0], AF_INET, wan_ip, 24);
	prefix(&wan_addr[1], AF_INET6, wan_ip6, 64);
	prefix(&lan_addr[0], AF_INET, lan_ip, 24);
	prefix(&lan_addr[1], AF_INET6, lan_ip6, 64);
	neighbor(&neighbors[0], AF_INET, lan_gw, gw_mac);
	neighbor(&neighbors[1], AF_INET, lan_host, host_mac);
	neighbor(&neighbors[2], AF_INET6, lan_host6, host_mac);
	neighbor(&neighbors[3], AF_INET, wan_peer, wan_mac);
	conf.listen_port = 51820;
	conf.mtu = 1420;
	conf.wan = (struct wg_conf_port){ .device = "net_ring0", .n_addresses = 2,
		.addresses = wan_addr };
	conf.lan = (struct wg_conf_port){ .device = "net_ring1", .n_addresses = 2,
		.addresses = lan_addr };
	prefix(&conf.lan.gateway4, AF_INET, lan_gw, 32);
	conf.neighbors = neighbors;
	conf.n_neighbors = RTE_DIM(neighbors);
	dp = wg_dp_create(&conf);
	if (dp == NULL || dp->n_workers != 1)
		return -1;
	w = dp->workers[0];
	if (wg_worker_start(w) != 0 || tables() != 0)
		return -1;
	/* The IPv6 endpoint's neighbour, on the WAN port only. */
	{
		struct wg_neigh_key k = { .port = WG_WAN, .family = AF_INET6 };

		memcpy(k.addr, wan_peer6, 16);
		if (wg_neigh_add_static(dp->neigh, &k, wan_mac, 0) != 0)
			return -1;
	}
	memcpy(key_a_recv, kat_step("T_send(initiator) = T_recv(responder)"), 32);
	memcpy(key_a_send, kat_step("T_recv(initiator) = T_send(responder)"), 32);
	kp_a = install(peer[PA], IDX_A, REMOTE_A, key_a_recv, key_a_send, false, false);
	kp_b = install(peer[PB], IDX_B, REMOTE_B, key_b_recv, key_b_send, true, false);
	return 0;
}

static void
free_tables(void)
{
	uninstall(&kp_a);
	uninstall(&kp_a_next);
	uninstall(&kp_b);
	uninstall(&kp_d);
	if (dp != NULL) {
		dp->peers = NULL;
		dp->allowedips = NULL;
		dp->index = NULL;
	}
	wg_index_rcu_free(itab);
	wg_allowedips_free(aips);
	wg_peers_free(peers);
	itab = NULL;
	aips = NULL;
	peers = NULL;
}

/* Last: nothing left in a ring, every mbuf back in the pool. */
static void
test_no_leak(void **state)
{
	(void)state;
	reset_events();
	assert_int_equal(rte_ring_count(w->ctrl_ring), 0);
	assert_int_equal(rte_ring_count(w->tx_ring), 0);
	wg_worker_stop(w);
	free_tables();
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
	if (dp != NULL) {
		wg_worker_stop(w);
		free_tables();
		wg_dp_destroy(dp);
	}
	wg_clock_set_source(NULL);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	ret = rte_eal_cleanup();
	remove_runtime_dir(dir);
	return ret;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_decrypt),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_inner_checks),
		cmocka_unit_test(test_ipv6_and_neigh_wait),
		cmocka_unit_test(test_ecn),
		cmocka_unit_test(test_encrypt4),
		cmocka_unit_test(test_encrypt6),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_no_session),
		cmocka_unit_test(test_rekey_and_confirm),
		cmocka_unit_test(test_time_exceeded),
		cmocka_unit_test(test_encap_udp),
		cmocka_unit_test(test_no_leak),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
