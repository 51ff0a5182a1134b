/* SPDX-License-Identifier: BSD-3-Clause */
/* The data plane's entry point: EAL, ports, lcores, until SIGINT / SIGTERM. */
#ifndef WG_DATAPLANE_H
#define WG_DATAPLANE_H

struct wg_conf;

/* Exit statuses (config.md). */
enum {
	WG_DATAPLANE_OK = 0,
	WG_DATAPLANE_RUNTIME_ERROR = 3,	/* EAL, port, memory, or mbufs leaked at shutdown */
};

/*
 * Initialise EAL with eal_argv (eal_argv[0] is the program name, as in
 * main's argv), set up both ports of conf with one RX and one TX queue per
 * worker (every EAL lcore but the main one), run the workers and the
 * control loop (on the main lcore) until SIGINT or SIGTERM, then stop the
 * ports and check that every mbuf is back in its pool.
 *
 * Environment: WG_DPDK_IDLE=0 keeps the workers polling when idle (default 1:
 * pause, then sleep, so that a shared CPU is not starved).
 *
 * Returns WG_DATAPLANE_OK, or WG_DATAPLANE_RUNTIME_ERROR after printing the
 * reason to stderr.
 */
int wg_dataplane_run(const struct wg_conf *conf, int eal_argc, char **eal_argv);

#endif
