/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A stand-in for the control lcore, for the wg(8) integration test: EAL
 * (--no-huge), a peer table, allowed IPs and the protocol engine (its output
 * goes nowhere), and a loop that calls wg_uapi_poll() and the engine's timers
 * until SIGTERM or SIGINT.
 *
 *	uapi_daemon IFNAME [LISTEN_PORT [SOCK_DIR [MAX_PEERS]]]
 *
 * Prints "ready PATH" once the socket is bound. Exit status: 0 after a
 * signal, 3 when the socket cannot be claimed (another daemon serves
 * IFNAME), 1 on other errors. Listen-port changes are accepted (hook).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "control/engine.h"
#include "control/tables.h"
#include "control/uapi.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
op_send(void *arg, struct wg_peer *peer, const void *msg, size_t len)
{
	(void)arg;
	(void)peer;
	(void)msg;
	(void)len;
}

static void
op_send_to(void *arg, const struct wg_endpoint *dst, const void *msg, size_t len)
{
	(void)arg;
	(void)dst;
	(void)msg;
	(void)len;
}

static void
op_send_staged(void *arg, struct wg_peer *peer, void *pkt)
{
	(void)arg;
	(void)peer;
	free(pkt);
}

static void
op_free_pkt(void *arg, struct wg_peer *peer, void *pkt)
{
	(void)arg;
	(void)peer;
	free(pkt);
}

static const struct wg_engine_ops ops = {
	.send = op_send,
	.send_to = op_send_to,
	.send_staged = op_send_staged,
	.free_pkt = op_free_pkt,
};

static int
set_port(void *arg, uint16_t port)
{
	(void)arg;
	printf("listen port %u\n", port);
	fflush(stdout);
	return 0;
}

static int
make_tables(struct wg_tables *t, struct rte_rcu_qsbr *rcu, uint32_t max_peers)
{
	struct wg_peers_params pp = { .name = "uapidp", .rcu = rcu, .max_peers = max_peers };
	struct wg_allowedips_params ap = {
		.name = "uapida",
		.rcu = rcu,
		.v4_rules = max_peers,
		.v4_tbl8s = 4096,
		.v4_hosts = max_peers,
		.v6_groups = 4096,
		.v6_hosts = max_peers,
	};

	t->peers = wg_peers_create(&pp);
	t->allowedips = wg_allowedips_create(&ap);
	return t->peers != NULL && t->allowedips != NULL ? 0 : -1;
}

int
main(int argc, char **argv)
{
	char prefix[64], err[256];
	char *eal[] = { argv[0], "--no-huge", "-m", "1024", "--no-pci", prefix,
		"--log-level=lib.eal:error", "--no-telemetry", NULL };
	struct wg_uapi_params up = { .listen_port = 51820, .set_listen_port = set_port };
	struct wg_engine_params ep = { .name = "uapid", .ops = &ops };
	struct wg_tables t = { 0 };
	struct rte_rcu_qsbr *rcu;
	struct wg_engine *e = NULL;
	struct wg_uapi *u;
	uint32_t max_peers = 1 << 16;
	int status = 1;

	if (argc < 2 || argc > 5) {
		fprintf(stderr, "usage: %s IFNAME [LISTEN_PORT [SOCK_DIR [MAX_PEERS]]]\n", argv[0]);
		return 1;
	}
	if (argc > 2)
		up.listen_port = (uint16_t)atoi(argv[2]);
	if (argc > 3 && argv[3][0] != '\0')
		up.sock_dir = argv[3];
	if (argc > 4)
		max_peers = (uint32_t)atoi(argv[4]);
	snprintf(prefix, sizeof(prefix), "--file-prefix=uapid_%d", (int)getpid());
	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0) {
		fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	rcu = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	if (rcu == NULL || rte_rcu_qsbr_init(rcu, 1) != 0 || make_tables(&t, rcu, max_peers) != 0) {
		fprintf(stderr, "tables: %s\n", rte_strerror(rte_errno));
		goto out;
	}
	ep.rcu = rcu;
	ep.peers = t.peers;
	ep.allowedips = t.allowedips;
	e = wg_engine_create(&ep);
	if (e == NULL) {
		fprintf(stderr, "engine: %s\n", rte_strerror(rte_errno));
		goto out;
	}
	u = wg_uapi_create(argv[1], e, &t, &up, err, sizeof(err));
	if (u == NULL) {
		fprintf(stderr, "uapi: %s\n", err);
		status = errno == EADDRINUSE ? 3 : 1;
		goto out;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready %s\n", wg_uapi_path(u));
	fflush(stdout);
	while (!stop) {
		if (wg_uapi_poll(u) == 0)
			usleep(200);
		wg_engine_timers_run(e);
	}
	wg_uapi_free(u);
	status = 0;
out:
	wg_engine_free(e);
	wg_tables_free(&t);
	rte_free(rcu);
	rte_eal_cleanup();
	return status;
}
