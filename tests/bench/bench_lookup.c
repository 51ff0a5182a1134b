/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Allowed-IPs lookups per second: bulk bursts of 32 random addresses that hit,
 * for one peer (host routes, then short prefixes) and for 1,048,576 peers each
 * owning one IPv4 /32 from 10.0.0.0/8 and one IPv6 /128 from fd00::/64,
 * handed out sequentially. Also the time to insert the million-peer table.
 *
 *   bench_lookup [--quick]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "control/allowedips.h"

#define BURST 32
#define N_ADDRS (1u << 20)

static struct rte_rcu_qsbr *rcu;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd32(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static struct wg_prefix
v4(uint32_t host_order, unsigned int len)
{
	struct wg_prefix p = { .family = AF_INET, .len = len };
	uint32_t be = htonl(host_order);

	memcpy(p.addr, &be, 4);
	return p;
}

static struct wg_prefix
v6(uint32_t low, unsigned int len)
{
	struct wg_prefix p = { .family = AF_INET6, .len = len, .addr = { 0xfd } };
	uint32_t be = htonl(low);

	memcpy(p.addr + 12, &be, 4);
	return p;
}

/* Runs bursts over the address arrays for about `seconds`; prints lookups per second. */
static void
run(const char *what, const struct wg_allowedips *t, const uint32_t *a4, const uint8_t (*a6)[16],
	double seconds)
{
	uint32_t ids[BURST];
	uint64_t n = 0, c0, bad = 0;
	unsigned int i, off = 0;
	double t0, dt;
	int fam;

	for (fam = 0; fam < 2; fam++) {
		n = 0;
		bad = 0;
		t0 = now();
		c0 = rte_rdtsc();
		do {
			for (i = 0; i < 256; i++) {
				if (fam == 0)
					wg_allowedips_lookup4_bulk(t, a4 + off, ids, BURST);
				else
					wg_allowedips_lookup6_bulk(t, a6 + off, ids, BURST);
				bad += ids[0] == WG_ALLOWEDIPS_NO_PEER;
				off = (off + BURST) & (N_ADDRS - 1);
			}
			n += 256 * BURST;
			dt = now() - t0;
		} while (dt < seconds);
		printf("lookup %-28s %s: %7.2f Mlookups/s  %6.1f ns  %6.1f cycles/lookup%s\n", what,
			fam == 0 ? "ipv4" : "ipv6", n / dt / 1e6, dt * 1e9 / n,
			(double)(rte_rdtsc() - c0) / n, bad ? "  (MISSES!)" : "");
	}
}

static struct wg_allowedips *
table(const char *name, uint32_t hosts)
{
	struct wg_allowedips_params p = { .name = name, .rcu = rcu, .v4_rules = 1024,
		.v4_tbl8s = 1024, .v4_hosts = hosts, .v6_groups = 1024, .v6_hosts = hosts };
	struct wg_allowedips *t = wg_allowedips_create(&p);

	if (t == NULL) {
		fprintf(stderr, "bench_lookup: cannot create table %s\n", name);
		exit(1);
	}
	return t;
}

static void
fill_addrs(uint32_t *a4, uint8_t (*a6)[16], uint32_t n_peers, bool host)
{
	uint32_t i, k, be;

	for (i = 0; i < N_ADDRS; i++) {
		k = host ? 1 + rnd32() % n_peers : rnd32();
		be = htonl((10u << 24) | (k & 0xffffff));
		a4[i] = be;
		memset(a6[i], 0, 16);
		a6[i][0] = 0xfd;
		if (host)
			memcpy(a6[i] + 12, &(uint32_t){ htonl(k) }, 4);
		else
			memcpy(a6[i] + 8, &(uint64_t){ (uint64_t)rnd32() << 32 | rnd32() }, 8);
	}
}

static void
insert_or_die(struct wg_allowedips *t, uint32_t peer, struct wg_prefix p)
{
	if (wg_allowedips_insert(t, peer, &p) != 0) {
		fprintf(stderr, "bench_lookup: insert failed\n");
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	char prefix[64];
	char *eal[] = { "bench_lookup", "--no-huge", "-m", "2048", "--no-pci", prefix,
		"--log-level=lib.eal:error", "--no-telemetry", NULL };
	double seconds = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 0.3 : 2.0;
	uint32_t *a4, i, n_peers = 1u << 20;
	uint8_t (*a6)[16];
	struct wg_allowedips *t;
	struct rusage ru;
	double t0;

	snprintf(prefix, sizeof(prefix), "--file-prefix=bench_lookup_%d", (int)getpid());
	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	rcu = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	a4 = malloc(sizeof(*a4) * N_ADDRS);
	a6 = malloc(sizeof(*a6) * N_ADDRS);
	if (rcu == NULL || a4 == NULL || a6 == NULL || rte_rcu_qsbr_init(rcu, 1) != 0)
		return 1;
	printf("bulk bursts of %u, %u random addresses that hit, %.1f s per line, TSC %.2f GHz\n",
		BURST, N_ADDRS, seconds, rte_get_tsc_hz() / 1e9);

	t = table("b1", 1024);
	insert_or_die(t, 1, v4(10u << 24 | 1, 32));
	insert_or_die(t, 1, v6(1, 128));
	fill_addrs(a4, a6, 1, true);
	run("1 peer, /32 + /128", t, a4, a6, seconds);
	wg_allowedips_free(t);

	t = table("b2", 1024);
	insert_or_die(t, 1, v4(10u << 24, 8));
	insert_or_die(t, 1, v6(0, 64));
	fill_addrs(a4, a6, 1, false);
	run("1 peer, /8 + /64", t, a4, a6, seconds);
	wg_allowedips_free(t);

	t = table("bm", n_peers + n_peers / 4);
	t0 = now();
	for (i = 0; i < n_peers; i++) {
		insert_or_die(t, i, v4((10u << 24) + 1 + i, 32));
		insert_or_die(t, i, v6(1 + i, 128));
	}
	printf("insert %u peers x (/32 + /128): %.2f s\n", n_peers, now() - t0);
	fill_addrs(a4, a6, n_peers, true);
	run("1048576 peers, /32 + /128", t, a4, a6, seconds);
	/* The same peers with a covering /8 and /64 too, and addresses of the /8. */
	insert_or_die(t, 0, v4(10u << 24, 8));
	insert_or_die(t, 0, v6(0, 64));
	fill_addrs(a4, a6, 1u << 24, false);
	run("1048576 peers, +/8 +/64, any", t, a4, a6, seconds);
	t0 = now();
	for (i = 0; i < n_peers; i++)
		wg_allowedips_remove_peer(t, i);
	printf("remove %u peers: %.2f s\n", n_peers, now() - t0);
	wg_allowedips_free(t);

	getrusage(RUSAGE_SELF, &ru);
	printf("max RSS %.0f MiB\n", ru.ru_maxrss / 1024.0);
	free(a4);
	free(a6);
	rte_free(rcu);
	rte_eal_cleanup();
	return 0;
}
