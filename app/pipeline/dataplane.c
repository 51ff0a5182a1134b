/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Setup and shutdown of the data plane: EAL, the mbuf pool sized from the
 * configuration and the worker count, ports, rings, the neighbour table,
 * RCU, the protocol tables and engine, then workers on every non-main lcore
 * and the control loop on the main lcore until SIGINT / SIGTERM. Teardown
 * runs in reverse (engine, keys wiped, tables); at the end every mbuf must
 * be back in the pool, or the run failed (exit status 3: tests rely on it).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pdump.h>
#include <rte_random.h>

#include "control/config.h"
#include "control/engine.h"
#include "control/reload.h"
#include "control/tables.h"
#include "control/uapi.h"
#include "crypto/clock.h"
#include "dataplane.h"
#include "messages.h"
#include "pipeline.h"

enum {
	POOL_CACHE = 256,
	NEIGH_REACHABLE_S = 30,
	NEIGH_GC_S = 60,
	NEIGH_RETRANS_MS = 1000,
};

volatile uint32_t wg_dp_quit;

static void
on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&wg_dp_quit, 1, __ATOMIC_RELAXED);
}

static void
install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (wg_reload_sighup_install() != 0)
		fprintf(stderr, "wg-dpdk: warning: cannot handle SIGHUP: reload disabled\n");
}

static void
tx_error(struct rte_mbuf **pkts, uint16_t unsent, void *userdata)
{
	struct wg_lcore_stats *stats = userdata;
	uint16_t i;

	for (i = 0; i < unsent; i++)
		rte_pktmbuf_free(pkts[i]);
	wg_stats_drop(stats, WG_DROP_tx_full, unsent);
}

/* Every place an mbuf can wait, plus the per-lcore caches and some slack. */
static unsigned int
pool_size(unsigned int n_workers)
{
	unsigned int per_worker = WG_NB_PORTS * (WG_RX_DESC + WG_TX_DESC + WG_BURST) +
		2 * WG_WORKER_RING_SIZE;

	/* Held packets (staged + waiting for a neighbour) are capped by one budget. */
	return n_workers * per_worker + MAX_QUEUED_INCOMING_HANDSHAKES +
		RTE_MAX((unsigned int)WG_HOLD_CAP, (unsigned int)WG_DP_HOLD_BUDGET) +
		rte_lcore_count() * POOL_CACHE * 3 / 2 + 1024;
}

static int
pool_create(struct wg_dp *dp)
{
	uint32_t frame = dp->mtu + WG_OUTER_OVERHEAD + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN +
		RTE_ETHER_CRC_LEN;
	uint32_t room = RTE_PKTMBUF_HEADROOM +
		RTE_MAX((uint32_t)RTE_MBUF_DEFAULT_DATAROOM, RTE_ALIGN_CEIL(frame, 64));
	uint16_t priv = RTE_ALIGN(sizeof(struct wg_mbuf_meta), RTE_MBUF_PRIV_ALIGN);

	dp->pool = rte_pktmbuf_pool_create("wg_mbuf", pool_size(dp->n_workers), POOL_CACHE, priv,
		room, rte_socket_id());
	if (dp->pool == NULL) {
		fprintf(stderr, "wg-dpdk: cannot create a pool of %u mbufs of %u bytes: %s "
			"(EAL -m too small?)\n", pool_size(dp->n_workers), room,
			rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

static struct rte_ring *
ring_create(const char *what, unsigned int index, unsigned int size, unsigned int esize,
	unsigned int socket)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;

	snprintf(name, sizeof(name), "wg_%s_%u", what, index);
	r = rte_ring_create_elem(name, esize, size, socket,
		RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (r == NULL)
		fprintf(stderr, "wg-dpdk: cannot create ring %s: %s\n", name,
			rte_strerror(rte_errno));
	return r;
}

static int
worker_create(struct wg_dp *dp, unsigned int index, unsigned int lcore)
{
	unsigned int socket = rte_lcore_to_socket_id(lcore), role;
	struct wg_worker *w;

	w = rte_zmalloc_socket("wg_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, socket);
	if (w == NULL)
		return -ENOMEM;
	dp->workers[index] = w;
	w->dp = dp;
	w->stats = &wg_stats[lcore];
	w->lcore_id = lcore;
	w->index = index;
	w->drain_tsc = (dp->tsc_hz + US_PER_S - 1) / US_PER_S * WG_DRAIN_US;
	w->icmp_tokens = (uint64_t)WG_ICMP_ERR_BURST * dp->tsc_hz;
	w->icmp_last = rte_rdtsc();
	for (role = 0; role < WG_NB_PORTS; role++) {
		w->txb[role] = rte_zmalloc_socket("wg_txb", RTE_ETH_TX_BUFFER_SIZE(WG_BURST), 0,
			socket);
		if (w->txb[role] == NULL)
			return -ENOMEM;
		rte_eth_tx_buffer_init(w->txb[role], WG_BURST);
		rte_eth_tx_buffer_set_err_callback(w->txb[role], tx_error, w->stats);
	}
	w->tx_ring = ring_create("tx", index, WG_WORKER_RING_SIZE, sizeof(void *), socket);
	w->ctrl_ring = ring_create("ctrl", index, WG_WORKER_RING_SIZE, sizeof(void *), socket);
	w->event_ring = ring_create("ev", index, WG_EVENT_RING_SIZE, sizeof(struct wg_event),
		socket);
	if (w->tx_ring == NULL || w->ctrl_ring == NULL || w->event_ring == NULL)
		return -ENOMEM;
	return 0;
}

static void
worker_free(struct wg_worker *w)
{
	if (w == NULL)
		return;
	rte_ring_free(w->tx_ring);
	rte_ring_free(w->ctrl_ring);
	rte_ring_free(w->event_ring);
	rte_free(w->txb[WG_WAN]);
	rte_free(w->txb[WG_LAN]);
	rte_free(w);
}

static int
workers_create(struct wg_dp *dp)
{
	unsigned int lcore, index = 0;
	int ret;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		ret = worker_create(dp, index++, lcore);
		if (ret != 0) {
			fprintf(stderr, "wg-dpdk: cannot set up worker lcore %u: %s\n", lcore,
				rte_strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int
rcu_create(struct wg_dp *dp)
{
	size_t size = rte_rcu_qsbr_get_memsize(dp->n_workers);

	dp->qsbr = rte_zmalloc("wg_qsbr", size, RTE_CACHE_LINE_SIZE);
	if (dp->qsbr == NULL || rte_rcu_qsbr_init(dp->qsbr, dp->n_workers) != 0) {
		fprintf(stderr, "wg-dpdk: cannot set up RCU for %u workers\n", dp->n_workers);
		return -ENOMEM;
	}
	return 0;
}

/* A static entry goes on every port where its address is on-link (both if none). */
static void
add_static_neighbor(struct wg_dp *dp, const struct wg_conf_neighbor *n, uint64_t now)
{
	struct wg_neigh_key key = { .family = n->ip.family };
	bool onlink[WG_NB_PORTS];
	unsigned int role;
	rte_be32_t a4;

	memcpy(key.addr, n->ip.addr, sizeof(key.addr));
	memcpy(&a4, n->ip.addr, 4);
	for (role = 0; role < WG_NB_PORTS; role++)
		onlink[role] = n->ip.family == AF_INET ?
			wg_port_ip4_onlink(&dp->port[role], a4) >= 0 :
			wg_port_ip6_onlink(&dp->port[role], n->ip.addr) >= 0;
	for (role = 0; role < WG_NB_PORTS; role++) {
		if (!onlink[role] && (onlink[WG_WAN] || onlink[WG_LAN]))
			continue;
		key.port = role;
		if (wg_neigh_add_static(dp->neigh, &key, n->mac, now) != 0)
			fprintf(stderr, "wg-dpdk: ports.neighbors: table full\n");
	}
}

static int
neigh_create(struct wg_dp *dp, const struct wg_conf *conf)
{
	const struct wg_neigh_params params = {
		.reachable_ns = (uint64_t)NEIGH_REACHABLE_S * NS_PER_S,
		.gc_ns = (uint64_t)NEIGH_GC_S * NS_PER_S,
		.retrans_ns = (uint64_t)NEIGH_RETRANS_MS * (NS_PER_S / MS_PER_S),
	};
	uint64_t now = wg_control_now_ns();
	size_t i;

	dp->neigh = rte_zmalloc("wg_neigh", wg_neigh_table_size(WG_NEIGH_MAX),
		RTE_CACHE_LINE_SIZE);
	dp->hold = rte_zmalloc("wg_hold", wg_neigh_hold_size(WG_HOLD_CAP), RTE_CACHE_LINE_SIZE);
	if (dp->neigh == NULL || dp->hold == NULL) {
		fprintf(stderr, "wg-dpdk: cannot allocate the neighbour table\n");
		return -ENOMEM;
	}
	wg_neigh_table_init(dp->neigh, WG_NEIGH_MAX, (uint32_t)rte_rand(), &params);
	wg_neigh_hold_init(dp->hold, WG_HOLD_CAP);
	for (i = 0; i < conf->n_neighbors; i++)
		add_static_neighbor(dp, &conf->neighbors[i], now);
	return 0;
}

/* dpdk.idle-backoff, unless WG_DPDK_IDLE says otherwise ("0": off, anything else: on). */
static bool
idle_backoff(const struct wg_conf *conf)
{
	const char *v = getenv("WG_DPDK_IDLE");

	if (v == NULL || v[0] == '\0')
		return conf->idle_backoff;
	return strcmp(v, "0") != 0;
}

static int
setup(struct wg_dp *dp, const struct wg_conf *conf, bool *configured)
{
	unsigned int role;
	int ret;

	dp->listen_port = conf->listen_port;
	dp->mtu = conf->mtu != 0 ? conf->mtu : WG_CONF_MTU_DEFAULT;
	dp->idle = idle_backoff(conf);
	dp->tsc_hz = rte_get_tsc_hz();
	dp->n_workers = rte_lcore_count() - 1;
	if (dp->n_workers == 0) {
		fprintf(stderr, "wg-dpdk: need at least two EAL lcores (control + workers), "
			"e.g. -l 0-1\n");
		return -EINVAL;
	}
	if ((ret = wg_port_init(&dp->port[WG_WAN], WG_WAN, &conf->wan)) != 0 ||
			(ret = wg_port_init(&dp->port[WG_LAN], WG_LAN, &conf->lan)) != 0)
		return ret;
	if (dp->port[WG_WAN].port_id == dp->port[WG_LAN].port_id) {
		fprintf(stderr, "wg-dpdk: ports.wan and ports.lan name the same device\n");
		return -EINVAL;
	}
	if ((ret = pool_create(dp)) != 0)
		return ret;
	for (role = 0; role < WG_NB_PORTS; role++) {
		configured[role] = true;
		ret = wg_port_configure(&dp->port[role], dp->n_workers, dp->mtu, dp->pool);
		if (ret != 0)
			return ret;
	}
	dp->handshake_ring = rte_ring_create("wg_handshake", MAX_QUEUED_INCOMING_HANDSHAKES,
		rte_socket_id(), RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (dp->handshake_ring == NULL)
		return -ENOMEM;
	if ((ret = workers_create(dp)) != 0 || (ret = rcu_create(dp)) != 0 ||
			(ret = neigh_create(dp, conf)) != 0)
		return ret;
	for (role = 0; role < WG_NB_PORTS; role++)
		if ((ret = wg_port_start(&dp->port[role])) != 0)
			return ret;
	return 0;
}

static int
adopt(struct wg_peer *peer, void *arg)
{
	int ret = wg_engine_peer_adopt(arg, peer);

	if (ret != 0)
		fprintf(stderr, "wg-dpdk: peer %u: cannot set up its protocol state: %s\n",
			peer->id, strerror(-ret));
	return ret;
}

int
wg_dp_engine_create(struct wg_dp *dp, const struct wg_conf *conf, uint32_t under_load_backlog)
{
	struct wg_tables_params tp = {
		.name = "wgt",
		.rcu = dp->qsbr,
		.socket_id = (int)rte_socket_id(),
	};
	struct wg_engine_params ep = {
		.name = "wge",
		.rcu = dp->qsbr,
		.ops = &wg_control_engine_ops,
		.ops_arg = dp,
		/* A current, a previous, a next keypair and a handshake per peer. */
		.max_indices = (uint32_t)RTE_MIN(4 * (uint64_t)conf->n_peers, (uint64_t)UINT32_MAX),
		.under_load_backlog = under_load_backlog,
		.hold_max = WG_DP_HOLD_BUDGET,
		.socket_id = (int)rte_socket_id(),
	};
	struct wg_tables t;
	int ret;

	ret = wg_tables_build(&t, conf, &tp);
	if (ret != 0) {
		fprintf(stderr,
			"wg-dpdk: cannot build the peer tables (%zu peers, %zu prefixes): %s%s\n",
			conf->n_peers, conf->n_prefixes, strerror(-ret),
			ret == -ENOMEM ? " (EAL -m too small?)" : "");
		return ret;
	}
	dp->tables = t;
	dp->peers = t.peers;
	dp->allowedips = t.allowedips;
	ep.peers = dp->peers;
	ep.allowedips = dp->allowedips;
	dp->engine = wg_engine_create(&ep);
	if (dp->engine == NULL) {
		fprintf(stderr, "wg-dpdk: cannot create the protocol engine: %s\n",
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	if (wg_engine_set_private_key(dp->engine, conf->private_key) != 0)
		fprintf(stderr, "wg-dpdk: warning: interface.private-key is all zero: "
			"no handshake can complete\n");
	ret = wg_peers_foreach(dp->peers, adopt, dp->engine);
	if (ret != 0)
		return ret;
	dp->index = wg_engine_index(dp->engine);
	return 0;
}

/* Workers stopped: the engine (staged packets freed, keys wiped), then the tables. */
static void
engine_free(struct wg_dp *dp)
{
	struct wg_tables t = { .peers = dp->peers, .allowedips = dp->allowedips };

	wg_uapi_free(dp->uapi);
	dp->uapi = NULL;
	dp->index = NULL;
	wg_engine_free(dp->engine);
	dp->engine = NULL;
	wg_tables_free(&t);
	dp->peers = NULL;
	dp->allowedips = NULL;
	dp->tables = t;
}

static void
teardown(struct wg_dp *dp)
{
	unsigned int i;

	for (i = 0; i < dp->n_workers; i++)
		worker_free(dp->workers[i]);
	rte_ring_free(dp->handshake_ring);
	rte_free(dp->qsbr);
	rte_free(dp->neigh);
	rte_free(dp->hold);
	rte_mempool_free(dp->pool);
	rte_free(dp);
}

/* Every mbuf back in the pool (caches included), or report the leak. */
static int
check_pool(struct wg_dp *dp)
{
	unsigned int size = dp->pool->size, avail = rte_mempool_avail_count(dp->pool);

	if (avail == size)
		return WG_DATAPLANE_OK;
	fprintf(stderr, "wg-dpdk: %u of %u mbufs not returned to the pool at shutdown\n",
		size - avail, size);
	return WG_DATAPLANE_RUNTIME_ERROR;
}

static void
run(struct wg_dp *dp)
{
	unsigned int lcore, index = 0;

	RTE_LCORE_FOREACH_WORKER(lcore)
		rte_eal_remote_launch(wg_worker_main, dp->workers[index++], lcore);
	wg_telemetry_attach(dp);
	wg_control_main(dp);
	rte_eal_mp_wait_lcore();
	wg_telemetry_detach();
}

struct wg_dp *
wg_dp_create(const struct wg_conf *conf)
{
	struct wg_dp *dp = rte_zmalloc("wg_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);

	if (dp == NULL) {
		fprintf(stderr, "wg-dpdk: out of memory\n");
		return NULL;
	}
	snprintf(dp->ifname, sizeof(dp->ifname), "%s", conf->ifname);
	dp->start_ns = wg_control_now_ns();
	if (setup(dp, conf, dp->configured) != 0) {
		wg_dp_destroy(dp);
		return NULL;
	}
	return dp;
}

int
wg_dp_destroy(struct wg_dp *dp)
{
	int rc = WG_DATAPLANE_OK;
	unsigned int role;

	wg_control_drain(dp);
	engine_free(dp);
	for (role = 0; role < WG_NB_PORTS; role++)
		if (dp->configured[role])
			wg_port_close(&dp->port[role]);
	/* Engine and peer keys are wiped above, the configuration's by wg_config_free(). */
	if (dp->pool != NULL)
		rc = check_pool(dp);
	teardown(dp);
	return rc;
}

/* A positive integer from the environment: 0 when unset, -1 (after a message) when invalid. */
static long
env_number(const char *name, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > max) {
		fprintf(stderr, "wg-dpdk: %s=%s: expected an integer from 1 to %ld\n", name, v,
			max);
		return -1;
	}
	return n;
}

/*
 * The management socket for the stock wg tool. WG_DPDK_UAPI_DIR replaces
 * /var/run/wireguard (tests). Another live process on the socket: refuse.
 */
static int
uapi_create(struct wg_dp *dp, const struct wg_conf *conf)
{
	struct wg_uapi_params up = {
		.sock_dir = getenv("WG_DPDK_UAPI_DIR"),
		.listen_port = conf->listen_port,
	};
	char err[256];

	dp->uapi = wg_uapi_create(conf->ifname, dp->engine, &dp->tables, &up, err, sizeof(err));
	if (dp->uapi == NULL) {
		fprintf(stderr, "wg-dpdk: %s\n", err);
		return -1;
	}
	return 0;
}

/*
 * Packet capture for dpdk-dumpcap (a secondary process: it needs the
 * hugepage memory a --no-huge or --in-memory primary does not share). The
 * RX/TX callbacks it installs exist only while a capture runs.
 */
static bool
capture_init(void)
{
	if (rte_pdump_init() == 0)
		return true;
	if (rte_eal_has_hugepages() && rte_errno != ENOTSUP)
		fprintf(stderr, "wg-dpdk: packet capture (rte_pdump) unavailable: %s\n",
			rte_strerror(rte_errno));
	return false;
}

int
wg_dataplane_run(struct wg_conf **confp, const char *conf_path, int eal_argc, char **eal_argv)
{
	const struct wg_conf *conf = *confp;
	int rc = WG_DATAPLANE_RUNTIME_ERROR;
	long speedup, threshold;
	struct wg_dp *dp;
	bool pdump;

	speedup = env_number("WG_DPDK_CLOCK_SPEEDUP", 1000000);
	threshold = env_number("WG_DPDK_UNDER_LOAD_THRESHOLD", MAX_QUEUED_INCOMING_HANDSHAKES);
	if (speedup < 0 || threshold < 0)
		return WG_DATAPLANE_RUNTIME_ERROR;
	if (speedup > 1)
		wg_clock_set_speedup((uint32_t)speedup);
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "wg-dpdk: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return WG_DATAPLANE_RUNTIME_ERROR;
	}
	pdump = capture_init();
	__atomic_store_n(&wg_dp_quit, 0, __ATOMIC_RELAXED);
	install_signals();
	wg_stats_reset();
	wg_telemetry_register();
	dp = wg_dp_create(conf);
	if (dp != NULL) {
		dp->conf_path = conf_path;
		dp->confp = confp;
		if (wg_dp_engine_create(dp, conf, (uint32_t)threshold) == 0 &&
				uapi_create(dp, conf) == 0) {
			run(dp);
			rc = wg_dp_destroy(dp);
		} else {
			wg_dp_destroy(dp);
		}
	}
	if (pdump)
		rte_pdump_uninit();
	rte_eal_cleanup();
	return rc;
}
