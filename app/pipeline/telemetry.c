/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Read-only DPDK telemetry under /wg/ (dpdk-telemetry.py -f FILE_PREFIX).
 * Callbacks run on DPDK's telemetry thread: counters are read with relaxed
 * loads, the neighbour table through its sequence locks, and the data plane
 * is detached (and waited for) before it is freed.
 *
 * Peers are never read here: /wg/peers and /wg/peer ask the control lcore
 * (the only writer of the peer table) for copies taken between two of its
 * packets (wg_control_peers_query), so a peer's endpoint, counters and
 * handshake time belong together and a peer is never read while it is
 * being freed. The engine's counters are the copy the control lcore
 * publishes every loop (wg_control_engine_stats).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_telemetry.h>
#include <sodium.h>

#include "control/engine.h"
#include "dataplane.h"
#include "pipeline.h"

static struct wg_dp *active;
static uint32_t users;

void
wg_telemetry_attach(struct wg_dp *dp)
{
	__atomic_store_n(&active, dp, __ATOMIC_SEQ_CST);
}

void
wg_telemetry_detach(void)
{
	__atomic_store_n(&active, NULL, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&users, __ATOMIC_SEQ_CST) != 0)
		rte_pause();
}

static struct wg_dp *
dp_get(void)
{
	struct wg_dp *dp;

	__atomic_add_fetch(&users, 1, __ATOMIC_SEQ_CST);
	dp = __atomic_load_n(&active, __ATOMIC_SEQ_CST);
	if (dp == NULL)
		__atomic_sub_fetch(&users, 1, __ATOMIC_SEQ_CST);
	return dp;
}

static void
dp_put(void)
{
	__atomic_sub_fetch(&users, 1, __ATOMIC_SEQ_CST);
}

static void
add_stats(struct rte_tel_data *d, const struct wg_lcore_stats *s)
{
	char name[RTE_TEL_MAX_STRING_LEN];
	unsigned int i;

	for (i = 0; i < WG_CNT_MAX; i++)
		rte_tel_data_add_dict_u64(d, wg_stats_counter_name(i), s->cnt[i]);
	for (i = 0; i < WG_DROP_MAX; i++) {
		snprintf(name, sizeof(name), "drop_%s", wg_stats_drop_name(i));
		rte_tel_data_add_dict_u64(d, name, s->drop[i]);
	}
}

/* One array, indexed like "lcores", for a counter that moved. */
static void
add_by_lcore(struct rte_tel_data *d, const char *name, bool drop, unsigned int index)
{
	char key[RTE_TEL_MAX_STRING_LEN];
	struct rte_tel_data *a = rte_tel_data_alloc();
	const struct wg_lcore_stats *s;
	unsigned int lcore;

	if (a == NULL)
		return;
	rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
	RTE_LCORE_FOREACH(lcore) {
		s = &wg_stats[lcore];
		rte_tel_data_add_array_u64(a, __atomic_load_n(drop ? &s->drop[index] :
			&s->cnt[index], __ATOMIC_RELAXED));
	}
	snprintf(key, sizeof(key), "%s%s_by_lcore", drop ? "drop_" : "", name);
	if (rte_tel_data_add_dict_container(d, key, a, 0) != 0)
		rte_tel_data_free(a);
}

/* The engine's counters: hs_<result> per handshake message, engine_<what>. */
static void
add_engine_stats(struct rte_tel_data *d)
{
	char name[RTE_TEL_MAX_STRING_LEN];
	struct wg_engine_stats e;
	unsigned int i;

	wg_control_engine_stats(&e);
	for (i = 0; i < WG_HS_COUNT; i++) {
		snprintf(name, sizeof(name), "hs_%s", wg_engine_hs_result_name(i));
		rte_tel_data_add_dict_u64(d, name, e.hs[i]);
	}
#define ENGINE_STAT(field) rte_tel_data_add_dict_u64(d, "engine_" #field, e.field)
	ENGINE_STAT(initiations_sent);
	ENGINE_STAT(responses_sent);
	ENGINE_STAT(cookies_sent);
	ENGINE_STAT(keepalives_sent);
	ENGINE_STAT(handshakes_completed);
	ENGINE_STAT(no_endpoint);
	ENGINE_STAT(staged);
	ENGINE_STAT(staged_sent);
	ENGINE_STAT(staged_dropped);
	ENGINE_STAT(staged_over_cap);
	ENGINE_STAT(events);
	ENGINE_STAT(timers_fired);
	ENGINE_STAT(gave_up);
	ENGINE_STAT(keys_zeroed);
#undef ENGINE_STAT
}

/* Totals, then per lcore (in the order of "lcores") every counter that is not zero. */
static int
cmd_stats(const char *cmd __rte_unused, const char *params __rte_unused,
	struct rte_tel_data *d)
{
	struct rte_tel_data *lcores = rte_tel_data_alloc();
	struct wg_lcore_stats total;
	unsigned int lcore, i;

	if (lcores == NULL)
		return -ENOMEM;
	wg_stats_sum(&total);
	rte_tel_data_start_dict(d);
	add_stats(d, &total);
	add_engine_stats(d);
	rte_tel_data_start_array(lcores, RTE_TEL_INT_VAL);
	RTE_LCORE_FOREACH(lcore)
		rte_tel_data_add_array_int(lcores, (int)lcore);
	if (rte_tel_data_add_dict_container(d, "lcores", lcores, 0) != 0)
		rte_tel_data_free(lcores);
	for (i = 0; i < WG_CNT_MAX; i++)
		if (total.cnt[i] != 0)
			add_by_lcore(d, wg_stats_counter_name(i), false, i);
	for (i = 0; i < WG_DROP_MAX; i++)
		if (total.drop[i] != 0)
			add_by_lcore(d, wg_stats_drop_name(i), true, i);
	return 0;
}

static int
cmd_lcore_stats(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	struct wg_lcore_stats s;
	char *end;
	unsigned long lcore;

	if (params == NULL || *params == '\0')
		return -EINVAL;
	lcore = strtoul(params, &end, 10);
	if (*end != '\0' || lcore >= RTE_MAX_LCORE || !rte_lcore_is_enabled(lcore))
		return -EINVAL;
	wg_stats_read(lcore, &s);
	rte_tel_data_start_dict(d);
	add_stats(d, &s);
	return 0;
}

static int
cmd_drop_reasons(const char *cmd __rte_unused, const char *params __rte_unused,
	struct rte_tel_data *d)
{
	unsigned int i;

	rte_tel_data_start_dict(d);
	for (i = 0; i < WG_DROP_MAX; i++)
		rte_tel_data_add_dict_string(d, wg_stats_drop_name(i), wg_stats_drop_desc(i));
	return 0;
}

static void
addr_str(uint8_t family, const void *addr, char *buf, size_t size)
{
	if (inet_ntop(family, addr, buf, size) == NULL)
		snprintf(buf, size, "?");
}

static void
neigh_line(void *ctx, const struct wg_neigh_entry *e)
{
	struct rte_tel_data *a = ctx;
	char ip[INET6_ADDRSTRLEN], line[RTE_TEL_MAX_STRING_LEN];

	addr_str(e->key.family, e->key.addr, ip, sizeof(ip));
	snprintf(line, sizeof(line), "%s %s %02x:%02x:%02x:%02x:%02x:%02x %s",
		e->key.port == WG_WAN ? "wan" : "lan", ip, e->mac[0], e->mac[1], e->mac[2],
		e->mac[3], e->mac[4], e->mac[5], wg_neigh_state_name(e->state));
	rte_tel_data_add_array_string(a, line);
}

/* "PORT ADDRESS MAC STATE" per entry. */
static int
cmd_neigh(const char *cmd __rte_unused, const char *params __rte_unused,
	struct rte_tel_data *d)
{
	struct wg_dp *dp = dp_get();

	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	if (dp == NULL)
		return 0;
	wg_neigh_walk(dp->neigh, neigh_line, d);
	dp_put();
	return 0;
}

static void
port_info(struct rte_tel_data *d, const struct wg_port *p)
{
	struct rte_tel_data *a = rte_tel_data_alloc();
	char key[64], buf[RTE_TEL_MAX_STRING_LEN], ip[INET6_ADDRSTRLEN];
	unsigned int i;

	snprintf(key, sizeof(key), "%s_device", p->name);
	rte_tel_data_add_dict_string(d, key, p->device);
	snprintf(key, sizeof(key), "%s_port_id", p->name);
	rte_tel_data_add_dict_int(d, key, p->port_id);
	snprintf(key, sizeof(key), "%s_mac", p->name);
	rte_ether_format_addr(buf, sizeof(buf), &p->mac);
	rte_tel_data_add_dict_string(d, key, buf);
	if (a == NULL)
		return;
	rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
	for (i = 0; i < p->n_ip4; i++) {
		addr_str(AF_INET, &p->ip4[i].addr, ip, sizeof(ip));
		snprintf(buf, sizeof(buf), "%s/%u", ip,
			(unsigned int)__builtin_popcount(p->ip4[i].mask));
		rte_tel_data_add_array_string(a, buf);
	}
	for (i = 0; i < p->n_ip6; i++) {
		addr_str(AF_INET6, p->ip6[i].addr, ip, sizeof(ip));
		snprintf(buf, sizeof(buf), "%s/%u", ip, p->ip6[i].prefixlen);
		rte_tel_data_add_array_string(a, buf);
	}
	snprintf(key, sizeof(key), "%s_addresses", p->name);
	if (rte_tel_data_add_dict_container(d, key, a, 0) != 0)
		rte_tel_data_free(a);
}

static int
cmd_ports(const char *cmd __rte_unused, const char *params __rte_unused,
	struct rte_tel_data *d)
{
	struct wg_dp *dp = dp_get();

	rte_tel_data_start_dict(d);
	if (dp == NULL)
		return 0;
	port_info(d, &dp->port[WG_WAN]);
	port_info(d, &dp->port[WG_LAN]);
	rte_tel_data_add_dict_int(d, "listen_port", dp->listen_port);
	rte_tel_data_add_dict_int(d, "mtu", dp->mtu);
	rte_tel_data_add_dict_int(d, "workers", (int)dp->n_workers);
	rte_tel_data_add_dict_int(d, "idle_backoff", dp->idle);
	dp_put();
	return 0;
}

/* ---- peers ---- */

enum { KEY_B64_LEN = 45 };	/* 44 characters and the NUL */

static void
endpoint_str(const struct wg_endpoint *ep, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (ep->family == 0) {
		snprintf(buf, size, "(none)");
		return;
	}
	addr_str(ep->family, ep->addr, ip, sizeof(ip));
	snprintf(buf, size, ep->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, ep->port);
}

static void
key_str(const uint8_t key[32], char out[KEY_B64_LEN])
{
	sodium_bin2base64(out, KEY_B64_LEN, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

static struct rte_tel_data *
array_new(enum rte_tel_value_type type)
{
	struct rte_tel_data *a = rte_tel_data_alloc();

	if (a != NULL)
		rte_tel_data_start_array(a, type);
	return a;
}

static void
dict_add_array(struct rte_tel_data *d, const char *name, struct rte_tel_data *a)
{
	if (a != NULL && rte_tel_data_add_dict_container(d, name, a, 0) != 0)
		rte_tel_data_free(a);
}

/* "reason=count" for each of the peer's drop counters that moved, space separated. */
static void
drops_str(const struct wg_peer_info *info, char *buf, size_t size)
{
	size_t used = 0;
	unsigned int i;
	int n;

	buf[0] = '\0';
	for (i = 0; i < WG_PEER_DROP_MAX && used < size; i++) {
		if (info->drop[i] == 0)
			continue;
		n = snprintf(buf + used, size - used, "%s%s=%" PRIu64, used != 0 ? " " : "",
			wg_stats_drop_name(wg_stats_peer_reason(i)), info->drop[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Every per-peer drop reason and its count, zeros included (a stable set of keys). */
static void
dict_add_drops(struct rte_tel_data *d, const struct wg_peer_info *info)
{
	struct rte_tel_data *drops = rte_tel_data_alloc();
	unsigned int i;

	if (drops == NULL)
		return;
	rte_tel_data_start_dict(drops);
	for (i = 0; i < WG_PEER_DROP_MAX; i++)
		rte_tel_data_add_dict_u64(drops, wg_stats_drop_name(wg_stats_peer_reason(i)),
			info->drop[i]);
	if (rte_tel_data_add_dict_container(d, "drops", drops, 0) != 0)
		rte_tel_data_free(drops);
}

/*
 * "/wg/peers,START": up to 64 peers with id >= START (default 0), as
 * parallel arrays (DPDK 22.11 telemetry nests one level only): public_key,
 * endpoint, rx_bytes, tx_bytes, last_handshake (unix seconds, 0: never),
 * drops ("reason=count ..." of the per-peer drop counters that moved, ""
 * when none; the string is cut at 127 characters, /wg/peer has them all);
 * "next" is the START of the next page, -1 after the last peer.
 */
static int
cmd_peers(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	struct rte_tel_data *keys, *eps, *rx, *tx, *hs, *drops;
	struct wg_peer_info *info;
	char buf[RTE_TEL_MAX_STRING_LEN], key[KEY_B64_LEN];
	uint32_t next, total;
	unsigned long start = 0;
	struct wg_dp *dp;
	char *end;
	int n, i;

	if (params != NULL && *params != '\0') {
		start = strtoul(params, &end, 10);
		if (*end != '\0' || start > UINT32_MAX)
			return -EINVAL;
	}
	info = calloc(WG_PEER_QUERY_MAX, sizeof(*info));
	if (info == NULL)
		return -ENOMEM;
	dp = dp_get();
	if (dp == NULL) {
		free(info);
		return -ENODEV;
	}
	n = wg_control_peers_query(dp, (uint32_t)start, info, WG_PEER_QUERY_MAX, &next, &total);
	dp_put();
	if (n < 0) {
		free(info);
		return n;
	}
	keys = array_new(RTE_TEL_STRING_VAL);
	eps = array_new(RTE_TEL_STRING_VAL);
	rx = array_new(RTE_TEL_U64_VAL);
	tx = array_new(RTE_TEL_U64_VAL);
	hs = array_new(RTE_TEL_U64_VAL);
	drops = array_new(RTE_TEL_STRING_VAL);
	for (i = 0; i < n && keys != NULL && eps != NULL && rx != NULL && tx != NULL &&
			hs != NULL && drops != NULL; i++) {
		key_str(info[i].public_key, key);
		rte_tel_data_add_array_string(keys, key);
		endpoint_str(&info[i].endpoint, buf, sizeof(buf));
		rte_tel_data_add_array_string(eps, buf);
		rte_tel_data_add_array_u64(rx, info[i].rx_bytes);
		rte_tel_data_add_array_u64(tx, info[i].tx_bytes);
		rte_tel_data_add_array_u64(hs, info[i].last_handshake_sec);
		drops_str(&info[i], buf, sizeof(buf));
		rte_tel_data_add_array_string(drops, buf);
	}
	sodium_memzero(info, WG_PEER_QUERY_MAX * sizeof(*info));
	free(info);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "total", total);
	rte_tel_data_add_dict_u64(d, "start", start);
	rte_tel_data_add_dict_int(d, "next", next == UINT32_MAX ? -1 : (int)next);
	rte_tel_data_add_dict_int(d, "count", n);
	dict_add_array(d, "public_key", keys);
	dict_add_array(d, "endpoint", eps);
	dict_add_array(d, "rx_bytes", rx);
	dict_add_array(d, "tx_bytes", tx);
	dict_add_array(d, "last_handshake", hs);
	dict_add_array(d, "drops", drops);
	return 0;
}

/* "/wg/peer,PUBLIC_KEY" (base64): one peer's details. */
static int
cmd_peer(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	char buf[RTE_TEL_MAX_STRING_LEN], key[KEY_B64_LEN];
	struct wg_peer_info info;
	uint8_t pub[32];
	size_t len = 0;
	struct wg_dp *dp;
	int ret;

	if (params == NULL || sodium_base642bin(pub, sizeof(pub), params, strlen(params), NULL,
			&len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || len != sizeof(pub))
		return -EINVAL;
	dp = dp_get();
	if (dp == NULL)
		return -ENODEV;
	ret = wg_control_peer_query(dp, pub, &info);
	dp_put();
	if (ret != 0)
		return ret;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "id", info.id);
	key_str(info.public_key, key);
	rte_tel_data_add_dict_string(d, "public_key", key);
	if (info.name[0] != '\0')
		rte_tel_data_add_dict_string(d, "name", info.name);
	endpoint_str(&info.endpoint, buf, sizeof(buf));
	rte_tel_data_add_dict_string(d, "endpoint", buf);
	rte_tel_data_add_dict_u64(d, "rx_bytes", info.rx_bytes);
	rte_tel_data_add_dict_u64(d, "rx_packets", info.rx_packets);
	rte_tel_data_add_dict_u64(d, "tx_bytes", info.tx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", info.tx_packets);
	rte_tel_data_add_dict_u64(d, "last_handshake", info.last_handshake_sec);
	rte_tel_data_add_dict_u64(d, "last_handshake_nsec", info.last_handshake_nsec);
	rte_tel_data_add_dict_u64(d, "persistent_keepalive", info.persistent_keepalive);
	rte_tel_data_add_dict_u64(d, "staged", info.staged);
	rte_tel_data_add_dict_int(d, "preshared_key", info.has_psk);
	rte_tel_data_add_dict_int(d, "has_current_keypair", info.has_current_keypair);
	dict_add_drops(d, &info);
	return 0;
}

/* ---- device ---- */

/* Every lcore's drops, all reasons. */
static uint64_t
drops_total(const struct wg_lcore_stats *s)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < WG_DROP_MAX; i++)
		n += s->drop[i];
	return n;
}

/*
 * "/wg/device": what `wg show` prints for the interface, and the totals of
 * /wg/stats that say whether traffic flows.
 */
static int
cmd_device(const char *cmd __rte_unused, const char *params __rte_unused,
	struct rte_tel_data *d)
{
	struct wg_device_info info;
	struct wg_lcore_stats total;
	struct wg_engine_stats e;
	char key[KEY_B64_LEN];
	struct wg_dp *dp;
	int ret;

	dp = dp_get();
	if (dp == NULL)
		return -ENODEV;
	ret = wg_control_device_query(dp, &info);
	if (ret != 0) {
		dp_put();
		return ret;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "interface", dp->ifname);
	if (info.has_identity)
		key_str(info.public_key, key);
	else
		snprintf(key, sizeof(key), "(none)");
	rte_tel_data_add_dict_string(d, "public_key", key);
	rte_tel_data_add_dict_int(d, "listen_port", info.listen_port);
	rte_tel_data_add_dict_u64(d, "peers", info.peers);
	rte_tel_data_add_dict_int(d, "workers", (int)dp->n_workers);
	rte_tel_data_add_dict_int(d, "mtu", dp->mtu);
	rte_tel_data_add_dict_u64(d, "uptime_s", (wg_control_now_ns() - dp->start_ns) / NS_PER_S);
	rte_tel_data_add_dict_u64(d, "reloads", __atomic_load_n(&dp->reloads, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_u64(d, "reloads_refused",
		__atomic_load_n(&dp->reloads_refused, __ATOMIC_RELAXED));
	dp_put();
	wg_stats_sum(&total);
	wg_control_engine_stats(&e);
	rte_tel_data_add_dict_u64(d, "rx_packets",
		total.cnt[WG_CNT_rx_wan] + total.cnt[WG_CNT_rx_lan]);
	rte_tel_data_add_dict_u64(d, "tx_packets",
		total.cnt[WG_CNT_tx_wan] + total.cnt[WG_CNT_tx_lan]);
	rte_tel_data_add_dict_u64(d, "decrypted", total.cnt[WG_CNT_decrypted]);
	rte_tel_data_add_dict_u64(d, "encrypted", total.cnt[WG_CNT_encrypted]);
	rte_tel_data_add_dict_u64(d, "handshakes_rx", total.cnt[WG_CNT_handshakes_rx]);
	rte_tel_data_add_dict_u64(d, "handshakes_completed", e.handshakes_completed);
	rte_tel_data_add_dict_u64(d, "drops", drops_total(&total));
	return 0;
}

void
wg_telemetry_register(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	rte_telemetry_register_cmd("/wg/device", cmd_device,
		"Interface name, public key, listen port, peers, workers, uptime, reloads, totals");
	rte_telemetry_register_cmd("/wg/stats", cmd_stats,
		"Counters and drop reasons: totals, then <name>_by_lcore in the order of lcores");
	rte_telemetry_register_cmd("/wg/lcore_stats", cmd_lcore_stats,
		"Counters and drop reasons of one lcore. Parameters: int lcore_id");
	rte_telemetry_register_cmd("/wg/drop_reasons", cmd_drop_reasons,
		"What each drop reason means");
	rte_telemetry_register_cmd("/wg/neigh", cmd_neigh,
		"Neighbour table: port address mac state");
	rte_telemetry_register_cmd("/wg/ports", cmd_ports, "Ports, addresses, MTU, workers");
	rte_telemetry_register_cmd("/wg/peers", cmd_peers,
		"Up to 64 peers from an id (parallel arrays; next: the following page, -1 at the "
		"end). Parameters: int start");
	rte_telemetry_register_cmd("/wg/peer", cmd_peer,
		"One peer: endpoint, counters, drops by reason, last handshake, keypair. "
		"Parameters: string public key (base64)");
}
