/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cycles per packet of the worker's real code (design.md §7), next to the
 * raw AEAD cost of the same batches measured in the same run.
 *
 * The calling thread plays the worker: its input is the RX ring of a net_ring
 * port (the ring is filled outside the timed region), and the timed region is
 * what the worker loop does for it: rte_eth_rx_burst, wg_worker_input_burst
 * (classify, lookups, one AEAD batch, headers, TX buffering) for three bursts
 * of 32, then the TX flush. Building the frames (and sealing them, for the
 * decrypt direction, with a fresh counter per packet), draining the output
 * port and freeing the mbufs, and taking the peers' events off the event ring
 * the way the control lcore does, are not timed. Each pipeline round is
 * followed by an AEAD round over the same padded lengths (three batches of
 * 32 with the worker's own context); the medians of both are compared.
 *
 * Modes (any combination; none: --pipeline):
 *   --pipeline   encrypt (LAN -> WAN) and decrypt (WAN -> LAN), inner sizes
 *                64, 128, 512, 1420 and IMIX (7:4:1 of 64, 570, 1420) for 1
 *                peer; 64 and IMIX with 100,000 configured peers (and with
 *                1,048,576 under --scale), destinations / receiver indices
 *                drawn at random over all peers. One line per case:
 *      bench dir=encrypt size=1420 peers=1 mpps=2.31 cycles=1120 aead_cycles=980 ratio=1.14
 *   --flood      decrypt with 0 %, 10 % and 50 % of the RX bursts made of
 *                handshake initiations (valid mac1), which the worker hands
 *                to the handshake ring (drained, not processed): worker
 *                cycles per data packet and the ratio clean / flooded.
 *   --handshake  responder handshakes per second through wg_engine_handshake_rx
 *                (prebuilt initiations from many peers, static-static DH
 *                cached by a first round) next to tsc_hz / (4 x X25519 cycles).
 * Options: --quick (fewer rounds), --scale, --no-huge (skip hugepages),
 * --sizes 64,1420,imix, --peers 1,100000, --cpu N (default 1).
 *
 * Hugepages: as root the process reserves 2 MiB pages itself (writes
 * /proc/sys/vm/nr_hugepages, mounts hugetlbfs on a private temporary
 * directory for --huge-dir) and gives them back at exit; otherwise, or when
 * that fails, it runs with --no-huge and says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <x86intrin.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include "control/allowedips.h"
#include "control/config.h"
#include "control/engine.h"
#include "control/index_rcu.h"
#include "control/peers.h"
#include "crypto/aead.h"
#include "crypto/clock.h"
#include "crypto/cookie.h"
#include "crypto/index_table.h"
#include "crypto/noise.h"
#include "crypto/tai64n.h"
#include "crypto/x25519.h"
#include "messages.h"
#include "pipeline/pipeline.h"

enum {
	BURST = WG_BURST,
	ROUND_BURSTS = 3,
	ROUND_PKTS = ROUND_BURSTS * BURST,	/* a multiple of the IMIX pattern (12) */
	MTU = 1420,
	SIZE_IMIX = 0,
	LISTEN_PORT = 51820,
	FLOOD_DATA = 9,				/* data bursts per flood round */
	MAX_CASES = 64,
	HUGE_PAGE_MB = 2,
};

static const uint16_t imix_pattern[12] = { 64, 570, 64, 64, 1420, 64, 570, 64, 570, 64, 64, 570 };

static const uint8_t wan_ip[4] = { 198, 51, 100, 1 }, wan_gw[4] = { 198, 51, 100, 254 };
static const uint8_t lan_ip[4] = { 192, 168, 1, 1 }, lan_host[4] = { 192, 168, 1, 7 };
static const uint8_t nb_mac[6] = { 0x02, 0, 0, 0, 0, 9 };
static const uint8_t aead_key[32] = { 0x42 };

static struct wg_dp *dp;
static struct wg_worker *w;
static uint64_t tsc_hz;
static unsigned int rounds;
static bool failed;

/* The configured peers of the current case set. */
static struct {
	uint32_t n;
	unsigned int seq;
	struct wg_peers *peers;
	struct wg_allowedips *aips;
	struct wg_index_rcu *itab;
	struct noise_keypair *kps;	/* n, one per peer */
	struct wg_peer **peer;
	uint64_t *rx_counter;		/* next counter each peer sends us */
} T;

/* ---- addresses and keys of peer i ---- */

static rte_be32_t
peer_inner(uint32_t i)
{
	return rte_cpu_to_be_32(0x0a000001u + i);	/* 10.0.0.1 + i: its /32 */
}

static rte_be32_t
peer_outer(uint32_t i)
{
	return rte_cpu_to_be_32(0x64400001u + i);	/* 100.64.0.1 + i, behind the gateway */
}

static uint16_t
peer_port(uint32_t i)
{
	return (uint16_t)(20000 + i % 40000);
}

/* Our receiver index of peer i's keypair: a bijection that looks random. */
static uint32_t
peer_index(uint32_t i)
{
	return (i * 0x9e3779b1u) ^ 0x5bd1e995u;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t
median(uint64_t *s, unsigned int n)
{
	qsort(s, n, sizeof(*s), cmp_u64);
	return s[n / 2];
}

/* ---- the peer tables (what wg_tables_build and the engine would publish) ---- */

static void
tables_free(void)
{
	uint32_t i;

	if (T.peers == NULL)
		return;
	dp->peers = NULL;
	dp->allowedips = NULL;
	dp->index = NULL;
	for (i = 0; i < T.n; i++)
		atomic_store(&T.peer[i]->keypairs.current, NULL);
	wg_index_rcu_free(T.itab);
	wg_allowedips_free(T.aips);
	wg_peers_free(T.peers);
	free(T.kps);
	free(T.peer);
	free(T.rx_counter);
	T.peers = NULL;
	T.n = 0;
}

static int
tables_build(uint32_t n)
{
	char pn[16], an[16], in[16];
	struct wg_peers_params pp = { .name = pn, .rcu = dp->qsbr, .max_peers = n };
	struct wg_allowedips_params ap = { .name = an, .rcu = dp->qsbr, .v4_rules = 64,
		.v4_tbl8s = 16, .v4_hosts = RTE_MAX(n, 64u), .v6_groups = 64, .v6_hosts = 64 };
	struct wg_index_rcu_params ip = { .name = in, .rcu = dp->qsbr,
		.entries = RTE_MAX(n, 256u), .retire_queue = 64 };
	struct wg_peer tmpl, *peer;
	struct noise_keypair *kp;
	struct wg_prefix pf;
	uint64_t now = wg_clock_now();
	rte_be32_t a;
	uint32_t i;

	tables_free();
	T.seq++;
	snprintf(pn, sizeof(pn), "bpp%u", T.seq);
	snprintf(an, sizeof(an), "bpa%u", T.seq);
	snprintf(in, sizeof(in), "bpi%u", T.seq);
	T.peers = wg_peers_create(&pp);
	T.aips = wg_allowedips_create(&ap);
	T.itab = wg_index_rcu_create(&ip);
	T.kps = aligned_alloc(64, RTE_ALIGN_CEIL((size_t)n * sizeof(*T.kps), 64));
	T.peer = calloc(n, sizeof(*T.peer));
	T.rx_counter = calloc(n, sizeof(*T.rx_counter));
	if (T.peers == NULL || T.aips == NULL || T.itab == NULL || T.kps == NULL ||
			T.peer == NULL || T.rx_counter == NULL)
		return -1;
	T.n = n;
	memset(T.kps, 0, (size_t)n * sizeof(*T.kps));
	memset(&tmpl, 0, sizeof(tmpl));
	memset(&pf, 0, sizeof(pf));
	pf.family = AF_INET;
	pf.len = 32;
	for (i = 0; i < n; i++) {
		memcpy(tmpl.public_key, &i, sizeof(i));
		tmpl.public_key[31] = 0x77;
		tmpl.ep.u.ep.family = AF_INET;
		tmpl.ep.u.ep.port = peer_port(i);
		a = peer_outer(i);
		memcpy(tmpl.ep.u.ep.addr, &a, 4);
		if (wg_peers_add(T.peers, &tmpl, &peer) != 0)
			return -1;
		a = peer_inner(i);
		memcpy(pf.addr, &a, 4);
		if (wg_allowedips_insert(T.aips, peer->id, &pf) != 0)
			return -1;
		kp = &T.kps[i];
		kp->entry.owner = peer;
		kp->entry.type = NOISE_INDEX_KEYPAIR;
		memcpy(kp->send_key, aead_key, 32);
		memcpy(kp->send_key, &i, sizeof(i));
		memcpy(kp->recv_key, kp->send_key, 32);
		kp->recv_key[31] = 0x33;
		kp->birth = now;
		kp->remote_index = ~peer_index(i);
		atomic_store(&kp->sending_valid, true);
		atomic_store(&kp->receiving_valid, true);
		atomic_flag_clear(&kp->replay_lock);
		wg_replay_init(&kp->replay);
		if (wg_index_rcu_ops.insert_at(T.itab, &kp->entry, peer_index(i)) != 0)
			return -1;
		atomic_store(&peer->keypairs.current, kp);
		T.peer[i] = peer;
	}
	dp->peers = T.peers;
	dp->allowedips = T.aips;
	dp->index = T.itab;
	return 0;
}

/* ---- frames ---- */

static void
ip4_write(struct rte_ipv4_hdr *ip, rte_be32_t src, rte_be32_t dst, uint16_t tot)
{
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(tot);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

static void
udp_write(struct rte_udp_hdr *u, uint16_t sport, uint16_t dport, uint16_t len)
{
	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = rte_cpu_to_be_16(dport);
	u->dgram_len = rte_cpu_to_be_16(len);
	u->dgram_cksum = 0;
}

/* An inner IPv4 / UDP packet of size bytes. */
static void
inner_write(uint8_t *p, rte_be32_t src, rte_be32_t dst, uint16_t size)
{
	ip4_write((struct rte_ipv4_hdr *)p, src, dst, size);
	udp_write((struct rte_udp_hdr *)(p + 20), 5001, 5001, size - 20);
	memset(p + 28, 0x5a, size - 28);
}

static uint8_t *
eth_write(struct rte_mbuf *m, uint8_t role, size_t len)
{
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);

	e->dst_addr = dp->port[role].mac;
	memcpy(e->src_addr.addr_bytes, nb_mac, 6);
	e->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	return (uint8_t *)(e + 1);
}

static uint32_t
padded(uint16_t size)
{
	return RTE_MIN((uint32_t)MTU, RTE_ALIGN_CEIL((uint32_t)size, 16));
}

/* A LAN frame carrying an inner packet of size bytes to peer i. */
static struct rte_mbuf *
lan_frame(uint32_t i, uint16_t size)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	rte_be32_t src;
	uint8_t *p;

	if (m == NULL)
		return NULL;
	memcpy(&src, lan_host, 4);
	p = eth_write(m, WG_LAN, RTE_ETHER_HDR_LEN + size);
	inner_write(p, src, peer_inner(i), size);
	return m;
}

/* A WAN frame from peer i with an inner packet of size bytes; op set up to seal it. */
static struct rte_mbuf *
wan_frame(uint32_t i, uint16_t size, struct wg_aead_op *op)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	uint32_t plen = padded(size), ulen = 8 + MESSAGE_MINIMUM_LENGTH + plen;
	struct message_data *hdr;
	rte_be32_t dst;
	uint8_t *p;

	if (m == NULL)
		return NULL;
	memcpy(&dst, wan_ip, 4);
	p = eth_write(m, WG_WAN, RTE_ETHER_HDR_LEN + 20 + ulen);
	ip4_write((struct rte_ipv4_hdr *)p, peer_outer(i), dst, 20 + ulen);
	udp_write((struct rte_udp_hdr *)(p + 20), peer_port(i), LISTEN_PORT, ulen);
	hdr = (struct message_data *)(p + 28);
	hdr->header.type = rte_cpu_to_le_32(MESSAGE_DATA);
	hdr->key_idx = rte_cpu_to_le_32(peer_index(i));
	hdr->counter = rte_cpu_to_le_64(T.rx_counter[i]);
	p += 28 + MESSAGE_DATA_HEADER_LEN;
	memcpy(&dst, lan_host, 4);
	inner_write(p, peer_inner(i), dst, size);
	memset(p + size, 0, plen - size);
	*op = (struct wg_aead_op){ .key = T.kps[i].recv_key, .counter = T.rx_counter[i]++,
		.data = p, .len = plen, .tag = p + plen };
	return m;
}

/* A WAN frame with a handshake initiation (msg: 148 bytes with a valid mac1). */
static struct rte_mbuf *
init_frame(const void *msg)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	uint16_t ulen = 8 + MESSAGE_INITIATION_LEN;
	rte_be32_t dst;
	uint8_t *p;

	if (m == NULL)
		return NULL;
	memcpy(&dst, wan_ip, 4);
	p = eth_write(m, WG_WAN, RTE_ETHER_HDR_LEN + 20 + ulen);
	ip4_write((struct rte_ipv4_hdr *)p, rte_cpu_to_be_32(0xcb007101u + (rng() & 0xff)), dst,
		20 + ulen);
	udp_write((struct rte_udp_hdr *)(p + 20), 40000, LISTEN_PORT, ulen);
	memcpy(p + 28, msg, MESSAGE_INITIATION_LEN);
	return m;
}

/* ---- around the timed region: feed, drain, play the control lcore ---- */

static void
feed(uint8_t role, struct rte_mbuf **pkts, unsigned int n)
{
	unsigned int sent = 0;

	while (sent < n)
		sent += rte_eth_tx_burst(dp->port[role].port_id, 0, pkts + sent, n - sent);
}

/* Free what the worker transmitted on port role; returns the count. */
static unsigned int
drain(uint8_t role)
{
	struct rte_mbuf *out[BURST];
	unsigned int n, total = 0;

	while ((n = rte_eth_rx_burst(dp->port[role].port_id, 0, out, BURST)) != 0) {
		rte_pktmbuf_free_bulk(out, n);
		total += n;
	}
	return total;
}

/* What the control lcore does with the rings: take the events, free the rest. */
static unsigned int
control_drain(void)
{
	struct wg_event ev[64];
	struct wg_peer *peer;
	void *m[64];
	unsigned int n, i, hs = 0;

	while ((n = rte_ring_dequeue_burst_elem(w->event_ring, ev, sizeof(ev[0]), 64,
			NULL)) != 0) {
		for (i = 0; i < n; i++) {
			if (ev[i].type != WG_EV_PEER)
				continue;
			peer = wg_peers_get(T.peers, ev[i].peer.peer_id);
			if (peer == NULL)
				continue;
			(void)wg_engine_take(peer);
		}
	}
	while ((n = rte_ring_dequeue_burst(dp->handshake_ring, m, 64, NULL)) != 0) {
		rte_pktmbuf_free_bulk((struct rte_mbuf **)m, n);
		hs += n;
	}
	while ((n = rte_ring_dequeue_burst(w->ctrl_ring, m, 64, NULL)) != 0) {
		fprintf(stderr, "bench_pipeline: %u packets went to the control lcore\n", n);
		rte_pktmbuf_free_bulk((struct rte_mbuf **)m, n);
		failed = true;
	}
	return hs;
}

/*
 * The timed part: what rx_port() and the drain timer of the worker loop do.
 * Not inlined, so that a profiler can collect inside it alone
 * (valgrind --tool=callgrind --toggle-collect=worker_round).
 */
static __rte_noinline uint64_t
worker_round(uint8_t role, unsigned int bursts)
{
	struct rte_mbuf *pkts[BURST];
	uint16_t port = dp->port[role].port_id;
	uint64_t t0;
	unsigned int b, n;

	t0 = __rdtsc();
	for (b = 0; b < bursts; b++) {
		n = rte_eth_rx_burst(port, 0, pkts, BURST);
		wg_stats_count(w->stats, role == WG_WAN ? WG_CNT_rx_wan : WG_CNT_rx_lan, n);
		wg_worker_input_burst(w, role, pkts, n);
	}
	wg_worker_flush(w);
	return __rdtsc() - t0;
}

static bool
no_drops(const char *what)
{
	struct wg_lcore_stats s;
	unsigned int j;
	bool ok = true;

	wg_stats_read(w->lcore_id, &s);
	for (j = 0; j < WG_DROP_MAX; j++)
		if (s.drop[j] != 0) {
			fprintf(stderr, "bench_pipeline: %s: %" PRIu64 " drops %s\n", what,
				s.drop[j], wg_stats_drop_name(j));
			ok = false;
		}
	memset(&wg_stats[w->lcore_id], 0, sizeof(wg_stats[0]));
	return ok;
}

/* ---- the pipeline cases ---- */

struct result {
	bool encrypt;
	uint16_t size;		/* SIZE_IMIX */
	uint32_t peers;
	uint64_t cycles;
	uint64_t aead;
	double avg_size;
};

static struct result results[MAX_CASES];
static unsigned int n_results;

static uint16_t
size_at(uint16_t size, unsigned int k)
{
	return size == SIZE_IMIX ? imix_pattern[k % RTE_DIM(imix_pattern)] : size;
}

/* One pipeline round: build, feed, time, drain; cycles per packet. */
static uint64_t
pipeline_round(bool encrypt, uint16_t size)
{
	struct rte_mbuf *pkts[ROUND_PKTS];
	struct wg_aead_op ops[ROUND_PKTS];
	uint64_t c;
	unsigned int k, out;
	uint32_t peer;

	for (k = 0; k < ROUND_PKTS; k++) {
		peer = T.n == 1 ? 0 : rng() % T.n;
		pkts[k] = encrypt ? lan_frame(peer, size_at(size, k)) :
			wan_frame(peer, size_at(size, k), &ops[k]);
		if (pkts[k] == NULL) {
			fprintf(stderr, "bench_pipeline: mbuf pool empty\n");
			exit(1);
		}
	}
	if (!encrypt)
		for (k = 0; k < ROUND_PKTS; k += BURST)
			wg_aead_encrypt_batch(w->aead, ops + k, BURST);
	feed(encrypt ? WG_LAN : WG_WAN, pkts, ROUND_PKTS);
	c = worker_round(encrypt ? WG_LAN : WG_WAN, ROUND_BURSTS);
	out = drain(encrypt ? WG_WAN : WG_LAN);
	control_drain();
	if (out != ROUND_PKTS) {
		fprintf(stderr, "bench_pipeline: %u of %u packets came out\n", out, ROUND_PKTS);
		failed = true;
	}
	return c / ROUND_PKTS;
}

/* The AEAD alone over the same padded lengths, same context, same batches. */
static __rte_noinline uint64_t
aead_round(bool encrypt, uint16_t size, unsigned int r)
{
	static uint8_t data[ROUND_PKTS][MTU + 16 + 12] __rte_cache_aligned;
	struct wg_aead_op ops[ROUND_PKTS];
	uint64_t t0, c;
	unsigned int k;

	for (k = 0; k < ROUND_PKTS; k++) {
		ops[k] = (struct wg_aead_op){ .key = aead_key,
			.counter = (uint64_t)r * ROUND_PKTS + k, .data = data[k],
			.len = padded(size_at(size, k)) };
		ops[k].tag = data[k] + ops[k].len;
		memset(data[k], (int)k, ops[k].len);
	}
	if (!encrypt)
		for (k = 0; k < ROUND_PKTS; k += BURST)
			wg_aead_encrypt_batch(w->aead, ops + k, BURST);
	t0 = __rdtsc();
	for (k = 0; k < ROUND_PKTS; k += BURST) {
		if (encrypt)
			wg_aead_encrypt_batch(w->aead, ops + k, BURST);
		else
			wg_aead_decrypt_batch(w->aead, ops + k, BURST);
	}
	c = __rdtsc() - t0;
	if (!encrypt)
		for (k = 0; k < ROUND_PKTS; k++)
			if (!ops[k].ok)
				failed = true;
	return c / ROUND_PKTS;
}

/*
 * The memory floor of the encrypt path at this scale: for the same random
 * peers, only the lines a packet must touch (its allowed-IPs slot, the two
 * peer lines, the two keypair lines), fetched a burst at a time, level by
 * level, with prefetches as the pipeline does and nothing else to do.
 */
static __rte_noinline uint64_t
walk_round(void)
{
	uint32_t a4[ROUND_PKTS], id[ROUND_PKTS];
	const struct noise_keypair *kp[BURST];
	struct wg_peer *p[BURST];
	uint64_t t0, c, sum = 0;
	unsigned int k, j;

	for (k = 0; k < ROUND_PKTS; k++)
		a4[k] = peer_inner(T.n == 1 ? 0 : rng() % T.n);
	t0 = __rdtsc();
	for (k = 0; k < ROUND_PKTS; k += BURST) {
		wg_allowedips_lookup4_bulk(T.aips, a4 + k, id + k, BURST);
		for (j = 0; j < BURST; j++) {
			p[j] = wg_peers_get(T.peers, id[k + j]);
			rte_prefetch0_write(&p[j]->keypairs);
			rte_prefetch0_write(&p[j]->wk.rx_bytes);
		}
		for (j = 0; j < BURST; j++) {
			kp[j] = wg_noise_keypairs_current(&p[j]->keypairs);
			rte_prefetch0(&kp[j]->sending_valid);
			rte_prefetch0_write(&kp[j]->send_counter);
		}
		for (j = 0; j < BURST; j++)
			sum += p[j]->ep.seq + p[j]->wk.tx_bytes + kp[j]->birth +
				atomic_load_explicit(&kp[j]->send_counter, memory_order_relaxed);
	}
	c = __rdtsc() - t0;
	if (sum == 1)	/* keep the loads */
		printf(" ");
	return c / ROUND_PKTS;
}

static void
run_walk(unsigned int n_rounds)
{
	uint64_t *ws = calloc(n_rounds, sizeof(*ws));
	unsigned int r;

	if (ws == NULL)
		exit(1);
	for (r = 0; r < RTE_MIN(n_rounds / 10 + 1, 50u); r++)
		walk_round();
	for (r = 0; r < n_rounds; r++)
		ws[r] = walk_round();
	printf("bench_pipeline: peers=%u memory floor: the 5 lines an encrypted packet must touch "
		"(allowed-IPs, peer x2, keypair x2), 32 at a time, alone: %" PRIu64
		" cycles/packet\n", T.n, median(ws, n_rounds));
	fflush(stdout);
	free(ws);
}

static const char *
size_name(uint16_t size, char *buf, size_t len)
{
	if (size == SIZE_IMIX)
		return "imix";
	snprintf(buf, len, "%u", size);
	return buf;
}

static void
run_case(bool encrypt, uint16_t size, unsigned int n_rounds)
{
	uint64_t *ps = calloc(n_rounds, sizeof(*ps)), *as = calloc(n_rounds, sizeof(*as));
	struct result *res = &results[n_results];
	double mpps;
	char sb[8];
	unsigned int r, k;

	if (ps == NULL || as == NULL || n_results == MAX_CASES)
		exit(1);
	/* Warm-up: caches, the mempool cache, the first events of each peer. */
	for (r = 0; r < RTE_MIN(n_rounds / 10 + 1, 50u); r++)
		pipeline_round(encrypt, size);
	for (r = 0; r < n_rounds; r++) {
		ps[r] = pipeline_round(encrypt, size);
		as[r] = aead_round(encrypt, size, r);
	}
	res->encrypt = encrypt;
	res->size = size;
	res->peers = T.n;
	res->cycles = median(ps, n_rounds);
	res->aead = median(as, n_rounds);
	res->avg_size = 0;
	for (k = 0; k < ROUND_PKTS; k++)
		res->avg_size += size_at(size, k);
	res->avg_size /= ROUND_PKTS;
	n_results++;
	if (!no_drops(encrypt ? "encrypt" : "decrypt"))
		failed = true;
	mpps = (double)tsc_hz / (double)res->cycles / 1e6;
	printf("bench dir=%s size=%s peers=%u mpps=%.2f cycles=%" PRIu64 " aead_cycles=%" PRIu64
		" ratio=%.2f\n", encrypt ? "encrypt" : "decrypt", size_name(size, sb, sizeof(sb)),
		T.n, mpps, res->cycles, res->aead, (double)res->cycles / (double)res->aead);
	fflush(stdout);
	free(ps);
	free(as);
}

static void
print_table(void)
{
	const struct result *r;
	double mpps;
	char sb[8];
	unsigned int i;

	printf("\n| dir | inner size | peers | Mpps | Gbit/s inner | cycles/pkt | AEAD cycles/pkt "
		"| pipeline/AEAD |\n|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < n_results; i++) {
		r = &results[i];
		mpps = (double)tsc_hz / (double)r->cycles / 1e6;
		printf("| %s | %s | %u | %.2f | %.2f | %" PRIu64 " | %" PRIu64 " | %.2f |\n",
			r->encrypt ? "encrypt" : "decrypt", size_name(r->size, sb, sizeof(sb)),
			r->peers, mpps, mpps * r->avg_size * 8 / 1000, r->cycles, r->aead,
			(double)r->cycles / (double)r->aead);
	}
	printf("\n");
}

/* ---- initiations (a real initiator, mac1 included) ---- */

struct initiator {
	struct noise_local local;
	struct noise_handshake hs;
	struct wg_cookie cookie;
	struct wg_endpoint src;
};

static struct noise_handshake *
no_peer(void *arg, const uint8_t pub[32])
{
	(void)arg;
	(void)pub;
	return NULL;
}

static int
initiator_init(struct initiator *in, struct wg_index_table *tab, const uint8_t resp_pub[32],
	uint8_t pub[32], uint32_t n)
{
	uint8_t priv[32];
	rte_be32_t a = rte_cpu_to_be_32(0xcb007100u + n);	/* 203.0.113.0 + n */

	wg_x25519_generate(priv);
	if (!wg_x25519_public(pub, priv))
		return -1;
	wg_noise_local_init(&in->local, &wg_index_table_ops, tab, no_peer, NULL);
	if (wg_noise_local_set_private_key(&in->local, priv) != 0)
		return -1;
	wg_noise_handshake_init(&in->hs, &in->local, resp_pub, NULL, in);
	wg_cookie_init(&in->cookie, resp_pub);
	memset(&in->src, 0, sizeof(in->src));
	in->src.family = AF_INET;
	in->src.port = (uint16_t)(10000 + n % 50000);
	memcpy(in->src.addr, &a, 4);
	return 0;
}

/* A fresh initiation (new ephemeral, timestamp label ts_sec) with mac1. */
static int
initiation(struct initiator *in, struct message_handshake_initiation *msg, uint64_t ts_sec,
	uint32_t index)
{
	uint8_t eph[32], ts[12];

	wg_x25519_generate(eph);
	wg_tai64n_encode(ts, ts_sec, 0);
	if (wg_noise_handshake_create_initiation_fixed(msg, &in->hs, eph, ts, index) != 0)
		return -1;
	wg_cookie_add_mac_to_packet(msg, sizeof(*msg), &in->cookie);
	return 0;
}

/* ---- worker under a handshake flood ---- */

/*
 * One flood round: FLOOD_DATA bursts of data (always the same, so the data's
 * cache footprint does not change with the load) and init_bursts bursts of
 * initiations spread among them. Cycles per data packet.
 */
static uint64_t
flood_round(uint16_t size, unsigned int init_bursts,
	const struct message_handshake_initiation *msg)
{
	struct rte_mbuf *pkts[(2 * FLOOD_DATA) * BURST];
	struct wg_aead_op ops[BURST];
	unsigned int b, k, n = FLOOD_DATA + init_bursts, ni = 0, out, hs;
	uint64_t c;
	bool init;

	for (b = 0; b < n; b++) {
		/* Initiation bursts at evenly spaced positions. */
		init = init_bursts != 0 && ni < init_bursts && b * init_bursts >= ni * n;
		ni += init;
		for (k = 0; k < BURST; k++) {
			pkts[b * BURST + k] = init ? init_frame(msg) : wan_frame(0, size, &ops[k]);
			if (pkts[b * BURST + k] == NULL)
				exit(1);
		}
		if (!init)
			wg_aead_encrypt_batch(w->aead, ops, BURST);
	}
	feed(WG_WAN, pkts, n * BURST);
	c = worker_round(WG_WAN, n);
	out = drain(WG_LAN);
	hs = control_drain();
	if (out != FLOOD_DATA * BURST || hs != init_bursts * BURST) {
		fprintf(stderr, "bench_pipeline: flood: %u of %u data, %u of %u initiations\n",
			out, FLOOD_DATA * BURST, hs, init_bursts * BURST);
		failed = true;
	}
	return c / (FLOOD_DATA * BURST);
}

static void
run_flood(uint16_t size, unsigned int n_rounds)
{
	/* Initiation bursts per FLOOD_DATA data bursts: 0 %, 10 %, 50 % of all bursts. */
	static const unsigned int pct[] = { 0, 10, 50 };
	static const unsigned int init_bursts[] = { 0, FLOOD_DATA / 9, FLOOD_DATA };
	struct message_handshake_initiation msg;
	struct wg_index_table *tab = wg_index_table_create(4);
	struct initiator *in = calloc(1, sizeof(*in));
	uint64_t *s[RTE_DIM(pct)], med[RTE_DIM(pct)];
	uint8_t resp_priv[32], resp_pub[32], pub[32];
	unsigned int r, v;

	wg_x25519_generate(resp_priv);
	if (tab == NULL || in == NULL || !wg_x25519_public(resp_pub, resp_priv) ||
			initiator_init(in, tab, resp_pub, pub, 1) != 0 ||
			initiation(in, &msg, (uint64_t)time(NULL), 1) != 0) {
		fprintf(stderr, "bench_pipeline: cannot build an initiation\n");
		exit(1);
	}
	for (v = 0; v < RTE_DIM(pct); v++)
		s[v] = calloc(n_rounds, sizeof(uint64_t));
	for (r = 0; r < 20; r++)
		flood_round(size, 0, &msg);
	/* Interleaved: the three loads see the same machine. */
	for (r = 0; r < n_rounds; r++)
		for (v = 0; v < RTE_DIM(pct); v++)
			s[v][r] = flood_round(size, init_bursts[v], &msg);
	for (v = 0; v < RTE_DIM(pct); v++)
		med[v] = median(s[v], n_rounds);
	for (v = 1; v < RTE_DIM(pct); v++)
		printf("flood size=%u init_bursts=%u%% cycles=%" PRIu64 " clean_cycles=%" PRIu64
			" ratio=%.2f\n", size, pct[v], med[v], med[0],
			(double)med[0] / (double)med[v]);
	fflush(stdout);
	if (!no_drops("flood"))
		failed = true;
	for (v = 0; v < RTE_DIM(pct); v++)
		free(s[v]);
	wg_noise_handshake_destroy(&in->hs);
	wg_noise_local_destroy(&in->local);
	free(in);
	wg_index_table_destroy(tab);
}

/* ---- control lcore: responder handshakes per second ---- */

static unsigned int responses;

static void
hs_send(void *arg, struct wg_peer *peer, const void *msg, size_t len)
{
	(void)arg;
	(void)peer;
	(void)msg;
	responses += len == MESSAGE_RESPONSE_LEN;
}

static void
hs_send_to(void *arg, const struct wg_endpoint *dst, const void *msg, size_t len)
{
	(void)arg;
	(void)dst;
	(void)msg;
	(void)len;
}

static void
hs_send_staged(void *arg, struct wg_peer *peer, void *pkt)
{
	(void)arg;
	(void)peer;
	(void)pkt;
}

static void
hs_free_pkt(void *arg, struct wg_peer *peer, void *pkt)
{
	(void)arg;
	(void)peer;
	(void)pkt;
}

static const struct wg_engine_ops hs_ops = {
	.send = hs_send,
	.send_to = hs_send_to,
	.send_staged = hs_send_staged,
	.free_pkt = hs_free_pkt,
};

static uint64_t
x25519_cycles(const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t out[32];
	uint64_t t0;
	unsigned int i;
	bool ok = true;

	t0 = __rdtsc();
	for (i = 0; i < 16; i++)
		ok &= wg_x25519(out, priv, pub);
	if (!ok)
		failed = true;
	return (__rdtsc() - t0) / 16;
}

static void
run_handshake(unsigned int n, unsigned int n_rounds)
{
	struct wg_peers_params pp = { .name = "bhp", .rcu = dp->qsbr, .max_peers = n };
	struct wg_engine_params ep = { .name = "bhe", .rcu = dp->qsbr, .ops = &hs_ops };
	struct message_handshake_initiation *msg = calloc(n, sizeof(*msg));
	struct initiator *in = calloc(n, sizeof(*in));
	struct wg_index_table *tab = wg_index_table_create(2 * n);
	uint64_t *xs = calloc(n_rounds * 8, sizeof(uint64_t)), hs_cycles = 0, t0, base, x;
	uint8_t priv[32], pub[32];
	struct wg_engine_stats st;
	struct wg_conf_peer cp;
	struct wg_engine *e;
	struct wg_peers *peers;
	enum wg_engine_hs_result res;
	unsigned int i, r, bad = 0;
	struct timespec ts0, ts1;
	double hz, bound;

	peers = wg_peers_create(&pp);
	ep.peers = peers;
	e = peers != NULL ? wg_engine_create(&ep) : NULL;
	wg_x25519_generate(priv);
	if (msg == NULL || in == NULL || tab == NULL || xs == NULL || e == NULL ||
			!wg_x25519_public(pub, priv) || wg_engine_set_private_key(e, priv) != 0) {
		fprintf(stderr, "bench_pipeline: handshake setup failed\n");
		exit(1);
	}
	memset(&cp, 0, sizeof(cp));
	for (i = 0; i < n; i++)
		if (initiator_init(&in[i], tab, pub, cp.public_key, i) != 0 ||
				wg_engine_peer_add(e, &cp, NULL) != 0) {
			fprintf(stderr, "bench_pipeline: handshake peer %u failed\n", i);
			exit(1);
		}
	base = (uint64_t)time(NULL);
	/* Round 0 computes and caches every peer's static-static DH; not timed. */
	for (r = 0; r <= n_rounds; r++) {
		for (i = 0; i < n; i++)
			if (initiation(&in[i], &msg[i], base + r, i + 1) != 0)
				exit(1);
		clock_gettime(CLOCK_MONOTONIC, &ts0);
		t0 = __rdtsc();
		for (i = 0; i < n; i++) {
			res = wg_engine_handshake_rx(e, &msg[i], sizeof(msg[i]), &in[i].src, 0);
			bad += res != WG_HS_initiation;
		}
		if (r > 0)
			hs_cycles += __rdtsc() - t0;
		wg_engine_timers_run(e);
		if (r > 0)
			for (i = 0; i < 8; i++)
				xs[(r - 1) * 8 + i] = x25519_cycles(priv,
					in[r % n].local.public_key);
		/* The 20 ms initiation flood limit per peer (protocol.md §7.2). */
		do {
			clock_gettime(CLOCK_MONOTONIC, &ts1);
		} while ((ts1.tv_sec - ts0.tv_sec) * 1000000000L + ts1.tv_nsec - ts0.tv_nsec <
			25000000L);
	}
	wg_engine_stats_get(e, &st);
	x = median(xs, n_rounds * 8);
	hz = (double)tsc_hz * n * n_rounds / (double)hs_cycles;
	bound = (double)tsc_hz / (4.0 * (double)x);
	printf("handshake peers=%u handshakes=%u rate=%.0f cycles=%.0f x25519_cycles=%" PRIu64
		" bound=%.0f ratio=%.2f\n", n, n * n_rounds, hz,
		(double)hs_cycles / ((double)n * n_rounds), x, bound, hz / bound);
	if (bad != 0 || responses != n * (n_rounds + 1)) {
		fprintf(stderr, "bench_pipeline: handshake: %u not answered, %u responses;", bad,
			responses);
		for (i = 0; i < WG_HS_COUNT; i++)
			if (st.hs[i] != 0)
				fprintf(stderr, " %s=%" PRIu64, wg_engine_hs_result_name(i),
					st.hs[i]);
		fprintf(stderr, "\n");
		failed = true;
	}
	wg_engine_free(e);
	wg_peers_free(peers);
	for (i = 0; i < n; i++) {
		wg_noise_handshake_destroy(&in[i].hs);
		wg_noise_local_destroy(&in[i].local);
	}
	wg_index_table_destroy(tab);
	free(xs);
	free(in);
	free(msg);
}

/* ---- hugepages ---- */

static struct {
	bool on;
	long old;
	char old_text[24];
	char dir[64];
} huge;

static long
nr_hugepages(void)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");
	long n = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

static bool
set_nr_hugepages(long n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");
	bool ok;

	if (f == NULL)
		return false;
	ok = fprintf(f, "%ld\n", n) > 0;
	return fclose(f) == 0 && ok;
}

static void
huge_release(void)
{
	if (!huge.on)
		return;
	umount2(huge.dir, MNT_DETACH);
	rmdir(huge.dir);
	set_nr_hugepages(huge.old);
	huge.on = false;
}

/*
 * Killed (^C, a closed pipe): give the pages back all the same, with system
 * calls only. Pages still mapped become surplus and go back at exit.
 */
static void
huge_signal(int sig)
{
	int fd;

	if (huge.on) {
		umount2(huge.dir, MNT_DETACH);
		rmdir(huge.dir);
		fd = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, huge.old_text, strlen(huge.old_text)) < 0) {
				/* nothing more a signal handler can do */
			}
			close(fd);
		}
	}
	_exit(128 + sig);
}

/* Reserve mb MiB of 2 MiB pages on a private mount; false: run with --no-huge. */
static bool
huge_reserve(unsigned int mb, const char **why)
{
	long want = mb / HUGE_PAGE_MB;

	*why = "not root";
	if (geteuid() != 0)
		return false;
	huge.old = nr_hugepages();
	*why = "no /proc/sys/vm/nr_hugepages";
	if (huge.old < 0 || !set_nr_hugepages(huge.old + want))
		return false;
	if (nr_hugepages() < huge.old + want) {
		set_nr_hugepages(huge.old);
		*why = "the kernel could not reserve enough 2 MiB pages";
		return false;
	}
	snprintf(huge.dir, sizeof(huge.dir), "/tmp/bench-huge.XXXXXX");
	if (mkdtemp(huge.dir) == NULL || mount("nodev", huge.dir, "hugetlbfs", 0,
			"pagesize=2M") != 0) {
		if (huge.dir[0] != 0)
			rmdir(huge.dir);
		set_nr_hugepages(huge.old);
		*why = "cannot mount hugetlbfs";
		return false;
	}
	snprintf(huge.old_text, sizeof(huge.old_text), "%ld\n", huge.old);
	signal(SIGINT, huge_signal);
	signal(SIGTERM, huge_signal);
	signal(SIGHUP, huge_signal);
	signal(SIGPIPE, huge_signal);
	huge.on = true;
	return true;
}

static void
remove_dir(const char *dir)
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

/* ---- main ---- */

static void
prefix(struct wg_prefix *p, const uint8_t *a, uint8_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = AF_INET;
	p->len = len;
	memcpy(p->addr, a, 4);
}

static int
dp_setup(void)
{
	static struct wg_prefix wan[1], lan[1];
	static struct wg_conf_neighbor nb[2];
	struct wg_conf conf = { .listen_port = LISTEN_PORT, .mtu = MTU };

	prefix(&wan[0], wan_ip, 24);
	prefix(&lan[0], lan_ip, 24);
	prefix(&nb[0].ip, wan_gw, 32);
	prefix(&nb[1].ip, lan_host, 32);
	memcpy(nb[0].mac, nb_mac, 6);
	memcpy(nb[1].mac, nb_mac, 6);
	conf.wan = (struct wg_conf_port){ .device = "net_ring0", .n_addresses = 1,
		.addresses = wan };
	prefix(&conf.wan.gateway4, wan_gw, 32);
	conf.lan = (struct wg_conf_port){ .device = "net_ring1", .n_addresses = 1,
		.addresses = lan };
	conf.neighbors = nb;
	conf.n_neighbors = 2;
	dp = wg_dp_create(&conf);
	if (dp == NULL)
		return -1;
	w = dp->workers[0];
	return wg_worker_start(w);
}

static unsigned int
parse_list(const char *s, uint32_t *out, unsigned int max, bool sizes)
{
	char *copy = strdup(s), *tok, *save = NULL;
	unsigned int n = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL && n < max;
			tok = strtok_r(NULL, ",", &save))
		out[n++] = sizes && strcmp(tok, "imix") == 0 ? SIZE_IMIX :
			(uint32_t)strtoul(tok, NULL, 10);
	free(copy);
	return n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_pipeline [--pipeline] [--flood] [--handshake] [--quick] "
		"[--scale] [--no-huge] [--sizes 64,1420,imix] [--peers 1,100000] [--cpu N]\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pipeline", no_argument, NULL, 'p' },
		{ "flood", no_argument, NULL, 'f' },
		{ "handshake", no_argument, NULL, 'h' },
		{ "quick", no_argument, NULL, 'q' },
		{ "scale", no_argument, NULL, 's' },
		{ "no-huge", no_argument, NULL, 'n' },
		{ "sizes", required_argument, NULL, 'S' },
		{ "peers", required_argument, NULL, 'P' },
		{ "cpu", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t sizes[8] = { 64, 128, 512, 1420, SIZE_IMIX }, peers[4] = { 1, 100000 };
	unsigned int n_sizes = 5, n_peers = 2, cpu = 1, i, j, d, mb;
	bool do_pipe = false, do_flood = false, do_hs = false, quick = false, scale = false;
	bool nohuge = false, custom_sizes = false;
	char lcores[64], prefix_arg[64], huge_arg[96], mem_arg[16], dir[PATH_MAX];
	const char *why = "--no-huge asked";
	char *eal[16];
	int eal_argc = 0, opt, rc;
	struct timespec t0, t1;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p': do_pipe = true; break;
		case 'f': do_flood = true; break;
		case 'h': do_hs = true; break;
		case 'q': quick = true; break;
		case 's': scale = true; break;
		case 'n': nohuge = true; break;
		case 'S':
			n_sizes = parse_list(optarg, sizes, RTE_DIM(sizes), true);
			custom_sizes = true;
			break;
		case 'P': n_peers = parse_list(optarg, peers, RTE_DIM(peers) - 1, false); break;
		case 'c': cpu = (unsigned int)strtoul(optarg, NULL, 10); break;
		default:
			usage();
			return 2;
		}
	}
	if (!do_pipe && !do_flood && !do_hs)
		do_pipe = true;
	if (scale && n_peers < RTE_DIM(peers))
		peers[n_peers++] = 1048576;
	rounds = quick ? 200 : 2000;

	/* Memory: the mbuf pool and, per peer, the DPDK hash entries (RSS in plain memory). */
	mb = scale ? 1536 : 512;
	snprintf(lcores, sizeof(lcores), "--lcores=0@%u,1@%u", cpu, cpu);
	snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=bpipe%d", (int)getpid());
	eal[eal_argc++] = "bench_pipeline";
	if (!nohuge && huge_reserve(mb, &why)) {
		snprintf(huge_arg, sizeof(huge_arg), "--huge-dir=%s", huge.dir);
		eal[eal_argc++] = huge_arg;
		eal[eal_argc++] = "--huge-unlink";
		snprintf(mem_arg, sizeof(mem_arg), "%u", mb);
	} else {
		eal[eal_argc++] = "--no-huge";
		snprintf(mem_arg, sizeof(mem_arg), "%u", mb);
	}
	eal[eal_argc++] = "-m";
	eal[eal_argc++] = mem_arg;
	eal[eal_argc++] = "--no-pci";
	eal[eal_argc++] = "--no-shconf";
	eal[eal_argc++] = lcores;
	eal[eal_argc++] = "--vdev=net_ring0";
	eal[eal_argc++] = "--vdev=net_ring1";
	eal[eal_argc++] = "--log-level=*:error";
	eal[eal_argc++] = prefix_arg;
	if (rte_eal_init(eal_argc, eal) < 0) {
		huge_release();
		return 1;
	}
	tsc_hz = rte_get_tsc_hz();
	if (dp_setup() != 0) {
		fprintf(stderr, "bench_pipeline: data plane setup failed\n");
		huge_release();
		return 1;
	}
	printf("bench_pipeline: aead=\"%s\" tsc_hz=%" PRIu64 " burst=%u rounds=%u x %u packets "
		"cpu=%u memory=%s\n", wg_aead_ctx_describe(w->aead), tsc_hz, BURST, rounds, ROUND_PKTS,
		cpu, huge.on ? "hugepages (2 MiB)" : "4 KiB pages");
	if (!huge.on)
		printf("bench_pipeline: running with --no-huge (%s)\n", why);
	fflush(stdout);

	if (do_pipe) {
		for (i = 0; i < n_peers; i++) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			if (tables_build(peers[i]) != 0) {
				fprintf(stderr, "bench_pipeline: tables of %u peers failed\n",
					peers[i]);
				failed = true;
				break;
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			printf("bench_pipeline: %u peers configured in %.1f s\n", peers[i],
				(double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
			for (j = 0; j < n_sizes; j++) {
				/* Many peers: 64 bytes (lookups weigh most) and IMIX only. */
				if (peers[i] > 1 && !custom_sizes && sizes[j] != 64 &&
						sizes[j] != SIZE_IMIX)
					continue;
				for (d = 0; d < 2; d++)
					run_case(d == 0, (uint16_t)sizes[j],
						peers[i] > 1 ? rounds / 2 : rounds);
			}
			run_walk(peers[i] > 1 ? rounds / 2 : rounds);
		}
		print_table();
	}
	if (do_flood) {
		if (tables_build(1) != 0)
			exit(1);
		run_flood(1420, quick ? 100 : 1000);
		run_flood(64, quick ? 100 : 1000);
	}
	if (do_hs)
		run_handshake(quick ? 256 : 1024, quick ? 2 : 4);

	tables_free();
	wg_worker_stop(w);
	rc = wg_dp_destroy(dp) != 0 || failed;
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	remove_dir(dir);
	huge_release();
	if (failed)
		fprintf(stderr, "bench_pipeline: FAILED (see above): the figures are not valid\n");
	return rc;
}
