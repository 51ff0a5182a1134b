/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_common.h>
#include <rte_errno.h>

#include "control/tables.h"
#include "crypto/ct.h"
#include "messages.h"

struct prefix_counts {
	uint32_t host4, rules4, long4, host6, net6;
};

static void
count_prefixes(const struct wg_conf *conf, struct prefix_counts *c)
{
	const struct wg_prefix *p;
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < conf->n_prefixes; i++) {
		p = &conf->prefixes[i];
		if (p->family == AF_INET) {
			c->host4 += p->len == 32;
			c->rules4 += p->len < 32;
			c->long4 += p->len > 24 && p->len < 32;
		} else {
			c->host6 += p->len == 128;
			c->net6 += p->len < 128;
		}
	}
}

/* Room for a quarter more than configured (reloads), never below a small floor. */
static uint32_t
headroom(uint64_t n, uint32_t floor, uint32_t cap)
{
	return (uint32_t)RTE_MIN(RTE_MAX(n + n / 4, (uint64_t)floor), (uint64_t)cap);
}

static int
create(struct wg_tables *t, const struct wg_conf *conf, const struct wg_tables_params *params)
{
	struct prefix_counts c;
	struct wg_allowedips_params ap = { .rcu = params->rcu, .socket_id = params->socket_id };
	struct wg_peers_params pp = { .rcu = params->rcu, .socket_id = params->socket_id };
	char name[16];

	if (params->name == NULL || strlen(params->name) > 10 || params->rcu == NULL)
		return -EINVAL;
	count_prefixes(conf, &c);
	pp.max_peers = params->max_peers != 0 ? params->max_peers :
		(uint32_t)RTE_MIN(RTE_MAX(2 * (uint64_t)conf->n_peers, 4096ull), (uint64_t)MAX_PEERS);
	if (conf->n_peers > pp.max_peers)
		return -ENOSPC;
	ap.v4_hosts = headroom(c.host4, 4096, 1u << 24);
	ap.v4_rules = headroom(c.rules4, 4096, 1u << 24);
	/* A prefix /25../31 needs at most one tbl8 of its own. */
	ap.v4_tbl8s = headroom(c.long4, 4096, 1u << 24);
	ap.v6_hosts = headroom(c.host6, 4096, 1u << 24);
	/* Pools of sequential prefixes share groups; four each covers sparse ones. */
	ap.v6_groups = headroom(4 * (uint64_t)c.net6, 4096, 1u << 22);
	snprintf(name, sizeof(name), "%sp", params->name);
	pp.name = name;
	t->peers = wg_peers_create(&pp);
	if (t->peers == NULL)
		return -rte_errno;
	snprintf(name, sizeof(name), "%sa", params->name);
	ap.name = name;
	t->allowedips = wg_allowedips_create(&ap);
	if (t->allowedips == NULL)
		return -rte_errno;
	return 0;
}

int
wg_tables_add_peer(struct wg_tables *t, const struct wg_conf_peer *cp, struct wg_peer **out)
{
	struct wg_peer init, *peer;
	uint32_t i;
	int ret;

	memset(&init, 0, sizeof(init));
	memcpy(init.public_key, cp->public_key, sizeof(init.public_key));
	memcpy(init.preshared_key, cp->psk, sizeof(init.preshared_key));
	init.has_psk = cp->has_psk;
	init.endpoint = cp->endpoint;
	init.persistent_keepalive = cp->persistent_keepalive;
	init.name = (char *)(uintptr_t)cp->name;
	ret = wg_peers_add(t->peers, &init, &peer);
	wg_memzero(init.preshared_key, sizeof(init.preshared_key));
	if (ret != 0)
		return ret;
	for (i = 0; i < cp->n_allowed; i++) {
		ret = wg_allowedips_insert(t->allowedips, peer->id, &cp->allowed[i]);
		if (ret != 0) {
			wg_tables_remove_peer(t, peer->id);
			return ret;
		}
	}
	if (out != NULL)
		*out = peer;
	return 0;
}

int
wg_tables_remove_peer(struct wg_tables *t, uint32_t id)
{
	/* Allowed IPs first: the id is reused only after readers stop seeing it. */
	wg_allowedips_remove_peer(t->allowedips, id);
	return wg_peers_remove(t->peers, id);
}

int
wg_tables_build(struct wg_tables *t, const struct wg_conf *conf,
	const struct wg_tables_params *params)
{
	size_t i;
	int ret;

	memset(t, 0, sizeof(*t));
	ret = create(t, conf, params);
	for (i = 0; ret == 0 && i < conf->n_peers; i++) {
		if (wg_ct_equal(conf->peers[i].public_key, conf->public_key,
				sizeof(conf->public_key)))
			continue;
		ret = wg_tables_add_peer(t, &conf->peers[i], NULL);
	}
	if (ret != 0)
		wg_tables_free(t);
	return ret;
}

void
wg_tables_free(struct wg_tables *t)
{
	wg_allowedips_free(t->allowedips);
	wg_peers_free(t->peers);
	t->allowedips = NULL;
	t->peers = NULL;
}
