/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading a configuration: parse (wg_config_load) plus the peer table and
 * allowed IPs (wg_tables_build), wall time and max RSS of this process.
 *
 *   bench_load N | FILE
 *
 * N generates a configuration of N peers (scripts/gen-peers.py N --seed 1,
 * one IPv4 /32 and one IPv6 /128 each) into /tmp first; that is not timed.
 * One configuration per run, so the max RSS is this configuration's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "control/config.h"
#include "control/tables.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double
max_rss_mib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024.0;
}

/* A numeric argument names a generated file, made once. */
static const char *
config_path(const char *arg, char *buf, size_t size)
{
	char cmd[1200];
	struct stat st;
	char *end;
	unsigned long n = strtoul(arg, &end, 10);

	if (*arg == 0 || *end != 0)
		return arg;
	snprintf(buf, size, "/tmp/wg-bench-load-%lu.yaml", n);
	if (stat(buf, &st) == 0 && st.st_size > 0)
		return buf;
	snprintf(cmd, sizeof(cmd), "python3 '%s/scripts/gen-peers.py' %lu --seed 1 > '%s.tmp' && "
		"mv '%s.tmp' '%s'", WG_SOURCE_ROOT, n, buf, buf, buf);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_load: cannot generate %s\n", buf);
		exit(1);
	}
	return buf;
}

int
main(int argc, char **argv)
{
	char prefix[64], buf[256];
	char *eal[] = { "bench_load", "--no-huge", "-m", "4096", "--no-pci", prefix,
		"--log-level=lib.eal:error", "--no-telemetry", NULL };
	struct wg_tables_params tp = { .name = "bload" };
	struct wg_tables tables;
	struct wg_conf *conf;
	const char *path;
	double t0, t1, t2, rss0;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_load N|FILE\n");
		return 2;
	}
	path = config_path(argv[1], buf, sizeof(buf));
	snprintf(prefix, sizeof(prefix), "--file-prefix=bench_load_%d", (int)getpid());
	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	tp.rcu = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	if (tp.rcu == NULL || rte_rcu_qsbr_init(tp.rcu, 1) != 0)
		return 1;
	rss0 = max_rss_mib();
	t0 = now();
	if (wg_config_load(path, &conf, stderr) != 0)
		return 1;
	t1 = now();
	ret = wg_tables_build(&tables, conf, &tp);
	t2 = now();
	if (ret != 0) {
		fprintf(stderr, "bench_load: tables: %s\n", strerror(-ret));
		return 1;
	}
	printf("load %s: %zu peers, %zu prefixes: parse %.2f s + tables %.2f s = %.2f s, "
		"max RSS %.0f MiB (%.0f MiB after EAL init)\n", path, conf->n_peers,
		conf->n_prefixes, t1 - t0, t2 - t1, t2 - t0, max_rss_mib(), rss0);
	wg_tables_free(&tables);
	wg_config_free(conf);
	rte_free(tp.rcu);
	rte_eal_cleanup();
	return 0;
}
