/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For unit tests that need EAL: no hugepages, no PCI, a file prefix unique to
 * the process, quiet logs, no telemetry socket; and an RCU variable for the
 * tables' readers.
 */
#ifndef WG_TEST_EAL_H
#define WG_TEST_EAL_H

#include <stdio.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

/* EAL with mem_mb MiB of memory, then an RCU variable for max_threads readers; NULL on failure. */
static inline struct rte_rcu_qsbr *
wg_test_eal_init(const char *name, const char *mem_mb, unsigned int max_threads)
{
	char prefix[64];
	char *argv[] = { (char *)name, "--no-huge", "-m", (char *)mem_mb, "--no-pci", prefix,
		"--log-level=lib.eal:error", "--no-telemetry", NULL };
	struct rte_rcu_qsbr *rcu;

	snprintf(prefix, sizeof(prefix), "--file-prefix=%s_%d", name, (int)getpid());
	if (rte_eal_init(RTE_DIM(argv) - 1, argv) < 0) {
		fprintf(stderr, "%s: EAL init failed\n", name);
		return NULL;
	}
	rcu = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(max_threads), RTE_CACHE_LINE_SIZE);
	if (rcu == NULL || rte_rcu_qsbr_init(rcu, max_threads) != 0) {
		fprintf(stderr, "%s: cannot create the RCU variable\n", name);
		rte_free(rcu);
		rte_eal_cleanup();
		return NULL;
	}
	return rcu;
}

static inline void
wg_test_eal_fini(struct rte_rcu_qsbr *rcu)
{
	rte_free(rcu);
	rte_eal_cleanup();
}

#endif
