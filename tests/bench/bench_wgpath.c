/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cycles per packet of the worker's WireGuard paths (design.md §7), driven on
 * the calling thread over net_ring ports (EAL --no-huge): a burst of 32
 * frames through wg_worker_input_burst() plus the TX flush is timed (rdtsc);
 * building the frames before and draining the other port after are not.
 * The raw AEAD batch over the same sizes is measured in the same run with the
 * worker's own context, and the ratio printed:
 *   wgpath dir=encrypt size=64 pipeline=900 aead=400 overhead=500 ratio=2.25
 * size: inner packet bytes (plaintext before padding). --quick: fewer rounds.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <x86intrin.h>

#include <rte_eal.h>
#include <rte_udp.h>

#include "control/allowedips.h"
#include "control/config.h"
#include "control/index_rcu.h"
#include "control/peers.h"
#include "crypto/aead.h"
#include "crypto/replay.h"
#include "messages.h"
#include "pipeline/pipeline.h"

enum { BURST = 32, IDX = 0x01020304, REMOTE = 0x05060708 };

static struct wg_dp *dp;
static struct wg_worker *w;
static struct wg_peers *peers;
static struct wg_allowedips *aips;
static struct wg_index_rcu *itab;
static struct noise_keypair *kp;
static const uint8_t key[32] = { 0x42 };

static const uint8_t wan_ip[4] = { 198, 51, 100, 1 }, wan_peer[4] = { 198, 51, 100, 2 };
static const uint8_t lan_ip[4] = { 192, 168, 1, 1 }, lan_host[4] = { 192, 168, 1, 7 };
static const uint8_t peer_src[4] = { 10, 0, 0, 1 }, mac[6] = { 0x02, 0, 0, 0, 0, 9 };

static void
ip4(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t proto, size_t payload)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)b;

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + payload);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	memcpy(&ip->src_addr, src, 4);
	memcpy(&ip->dst_addr, dst, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

static size_t
frame(uint8_t *b, uint8_t role, const uint8_t *src, const uint8_t *dst, uint8_t proto,
	size_t payload)
{
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)b;

	e->dst_addr = dp->port[role].mac;
	memcpy(e->src_addr.addr_bytes, mac, 6);
	e->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip4(b + 14, src, dst, proto, payload);
	return 14 + 20;
}

/* A LAN frame whose inner packet is size bytes, to the peer. */
static size_t
lan_frame(uint8_t *b, size_t size)
{
	size_t off = frame(b, WG_LAN, lan_host, (const uint8_t[]){ 10, 0, 0, 2 }, IPPROTO_UDP,
		size - 20);

	memset(b + off, 0x5a, size - 20);
	return 14 + size;
}

/* A WAN frame from the peer carrying an inner packet of size bytes, sealed with counter. */
static size_t
wan_frame(uint8_t *b, size_t size, uint64_t counter)
{
	uint8_t plain[2048];
	size_t plen = RTE_MIN((size_t)1420, RTE_ALIGN_CEIL(size, 16)), off;
	struct rte_udp_hdr *u;
	uint32_t type = MESSAGE_DATA, idx = IDX;

	off = frame(b, WG_WAN, wan_peer, wan_ip, IPPROTO_UDP, 8 + 32 + plen);
	u = (struct rte_udp_hdr *)(b + off);
	u->src_port = RTE_BE16(40000);
	u->dst_port = RTE_BE16(51820);
	u->dgram_len = rte_cpu_to_be_16(8 + 32 + plen);
	u->dgram_cksum = 0;
	memset(plain, 0, plen);
	ip4(plain, peer_src, lan_host, IPPROTO_UDP, size - 20);
	memset(plain + 20, 0x5a, size - 20);
	memcpy(b + off + 8, &type, 4);
	memcpy(b + off + 12, &idx, 4);
	memcpy(b + off + 16, &counter, 8);
	wg_aead_encrypt(b + off + 24, plain, plen, NULL, 0, counter, key);
	return off + 8 + 32 + plen;
}

static void
drain(void)
{
	struct rte_mbuf *out[BURST];
	unsigned int role, n, i;

	for (role = 0; role < WG_NB_PORTS; role++)
		while ((n = rte_eth_rx_burst(dp->port[role].port_id, 0, out, BURST)) != 0)
			for (i = 0; i < n; i++)
				rte_pktmbuf_free(out[i]);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median cycles per packet of rounds bursts. */
static uint64_t
run_path(uint8_t role, size_t size, unsigned int rounds, uint64_t *counter)
{
	static uint8_t frames[BURST][2048];
	struct rte_mbuf *pkts[BURST];
	uint64_t *samples = calloc(rounds, sizeof(*samples)), t0, med;
	size_t len[BURST];
	unsigned int r, i;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < BURST; i++) {
			len[i] = role == WG_LAN ? lan_frame(frames[i], size) :
				wan_frame(frames[i], size, (*counter)++);
			pkts[i] = rte_pktmbuf_alloc(dp->pool);
			memcpy(rte_pktmbuf_append(pkts[i], len[i]), frames[i], len[i]);
		}
		t0 = __rdtsc();
		wg_worker_input_burst(w, role, pkts, BURST);
		wg_worker_flush(w);
		samples[r] = (__rdtsc() - t0) / BURST;
		drain();
	}
	qsort(samples, rounds, sizeof(*samples), cmp_u64);
	med = samples[rounds / 2];
	free(samples);
	return med;
}

/* The AEAD alone over the same padded sizes, same context. */
static uint64_t
run_aead(bool encrypt, size_t size, unsigned int rounds)
{
	static uint8_t data[BURST][1440];
	struct wg_aead_op ops[BURST];
	uint64_t *samples = calloc(rounds, sizeof(*samples)), t0, med;
	uint32_t plen = RTE_MIN((size_t)1420, RTE_ALIGN_CEIL(size, 16));
	unsigned int r, i;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < BURST; i++) {
			memset(data[i], (int)i, plen);
			ops[i] = (struct wg_aead_op){ .key = key, .counter = r * BURST + i,
				.data = data[i], .len = plen, .tag = data[i] + plen };
			if (!encrypt)
				wg_aead_encrypt(data[i], data[i], plen, NULL, 0, ops[i].counter,
					key);
		}
		t0 = __rdtsc();
		if (encrypt)
			wg_aead_encrypt_batch(w->aead, ops, BURST);
		else
			wg_aead_decrypt_batch(w->aead, ops, BURST);
		samples[r] = (__rdtsc() - t0) / BURST;
	}
	qsort(samples, rounds, sizeof(*samples), cmp_u64);
	med = samples[rounds / 2];
	free(samples);
	return med;
}

static void
prefix(struct wg_prefix *p, uint8_t family, const uint8_t *a, uint8_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->len = len;
	memcpy(p->addr, a, family == AF_INET ? 4 : 16);
}

static int
setup_tables(void)
{
	struct wg_peers_params pp = { .name = "bwp", .rcu = dp->qsbr, .max_peers = 16 };
	struct wg_allowedips_params ap = { .name = "bwa", .rcu = dp->qsbr, .v4_rules = 64,
		.v4_tbl8s = 16, .v4_hosts = 64, .v6_groups = 64, .v6_hosts = 64 };
	struct wg_index_rcu_params ip = { .name = "bwi", .rcu = dp->qsbr, .entries = 256,
		.retire_queue = 64 };
	struct wg_peer tmpl, *peer;
	struct wg_prefix pf;

	peers = wg_peers_create(&pp);
	aips = wg_allowedips_create(&ap);
	itab = wg_index_rcu_create(&ip);
	if (peers == NULL || aips == NULL || itab == NULL)
		return -1;
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.ep.u.ep.family = AF_INET;
	tmpl.ep.u.ep.port = 40000;
	memcpy(tmpl.ep.u.ep.addr, wan_peer, 4);
	if (wg_peers_add(peers, &tmpl, &peer) != 0)
		return -1;
	prefix(&pf, AF_INET, (const uint8_t[]){ 10, 0, 0, 0 }, 24);
	if (wg_allowedips_insert(aips, peer->id, &pf) != 0)
		return -1;
	kp = aligned_alloc(64, sizeof(*kp));
	memset(kp, 0, sizeof(*kp));
	kp->entry.owner = peer;
	kp->entry.type = NOISE_INDEX_KEYPAIR;
	memcpy(kp->send_key, key, 32);
	memcpy(kp->recv_key, key, 32);
	kp->birth = UINT64_MAX;		/* never ages during the run */
	kp->remote_index = REMOTE;
	atomic_store(&kp->sending_valid, true);
	atomic_store(&kp->receiving_valid, true);
	atomic_flag_clear(&kp->replay_lock);
	wg_replay_init(&kp->replay);
	if (wg_index_rcu_ops.insert_at(itab, &kp->entry, IDX) != 0)
		return -1;
	atomic_store(&peer->keypairs.current, kp);
	dp->peers = peers;
	dp->allowedips = aips;
	dp->index = itab;
	return 0;
}

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

int
main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, 570, 1420 };
	char prefix_arg[64], dir[PATH_MAX];
	char *eal[] = { "bench_wgpath", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
		"--lcores=0@0,1@0", "--vdev=net_ring0", "--vdev=net_ring1",
		"--log-level=*:error", prefix_arg };
	unsigned int rounds = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 300 : 3000, i;
	struct wg_prefix wan[1], lan[1];
	struct wg_conf_neighbor nb[2];
	struct wg_conf conf = { .listen_port = 51820, .mtu = 1420 };
	uint64_t counter = 0, p, a;
	int rc = 0;

	snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=bwgpath%d", (int)getpid());
	if (rte_eal_init(RTE_DIM(eal), eal) < 0)
		return 1;
	prefix(&wan[0], AF_INET, wan_ip, 24);
	prefix(&lan[0], AF_INET, lan_ip, 24);
	prefix(&nb[0].ip, AF_INET, wan_peer, 32);
	prefix(&nb[1].ip, AF_INET, lan_host, 32);
	memcpy(nb[0].mac, mac, 6);
	memcpy(nb[1].mac, mac, 6);
	conf.wan = (struct wg_conf_port){ .device = "net_ring0", .n_addresses = 1,
		.addresses = wan };
	conf.lan = (struct wg_conf_port){ .device = "net_ring1", .n_addresses = 1,
		.addresses = lan };
	conf.neighbors = nb;
	conf.n_neighbors = 2;
	dp = wg_dp_create(&conf);
	if (dp == NULL || (w = dp->workers[0], wg_worker_start(w)) != 0 || setup_tables() != 0) {
		fprintf(stderr, "bench_wgpath: setup failed\n");
		return 1;
	}
	printf("wgpath aead=%s burst=%u rounds=%u (cycles per packet, medians)\n",
		wg_aead_ctx_arch(w->aead), BURST, rounds);
	for (i = 0; i < RTE_DIM(sizes); i++) {
		p = run_path(WG_LAN, sizes[i], rounds, &counter);
		a = run_aead(true, sizes[i], rounds);
		printf("wgpath dir=encrypt size=%zu pipeline=%" PRIu64 " aead=%" PRIu64
			" overhead=%" PRId64 " ratio=%.2f\n", sizes[i], p, a, (int64_t)(p - a),
			(double)p / (double)a);
		p = run_path(WG_WAN, sizes[i], rounds, &counter);
		a = run_aead(false, sizes[i], rounds);
		printf("wgpath dir=decrypt size=%zu pipeline=%" PRIu64 " aead=%" PRIu64
			" overhead=%" PRId64 " ratio=%.2f\n", sizes[i], p, a, (int64_t)(p - a),
			(double)p / (double)a);
	}
	/* Every packet must have gone through: a drop here means the numbers lie. */
	{
		struct wg_lcore_stats s;
		unsigned int j;

		wg_stats_read(w->lcore_id, &s);
		for (j = 0; j < WG_DROP_MAX; j++)
			if (s.drop[j] != 0) {
				fprintf(stderr, "bench_wgpath: %" PRIu64 " drops %s\n", s.drop[j],
					wg_stats_drop_name(j));
				rc = 1;
			}
	}
	wg_worker_stop(w);
	wg_index_rcu_ops.remove(itab, &kp->entry);
	free(kp);
	dp->peers = NULL;
	dp->allowedips = NULL;
	dp->index = NULL;
	wg_index_rcu_free(itab);
	wg_allowedips_free(aips);
	wg_peers_free(peers);
	if (wg_dp_destroy(dp) != 0)
		rc = 1;
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	remove_runtime_dir(dir);
	return rc;
}
