/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peers section (of the main file and of included files): keys,
 * endpoints, allowed IPs. Duplicate public keys and prefixes (after masking)
 * are errors, found with hash sets.
 */
#include "control/config_loader.h"
#include "control/config_value.h"
#include "crypto/ct.h"
#include "messages.h"

enum { PEER_NAME_MAX = 64 };

static uint64_t
hash_key(const void *base, uint32_t i)
{
	const struct wg_conf_peer *p = base;

	return wg_config_hash16(p[i].public_key, 0);
}

static bool
equal_key(const void *base, uint32_t a, uint32_t b)
{
	const struct wg_conf_peer *p = base;

	return wg_ct_equal(p[a].public_key, p[b].public_key, sizeof(p[a].public_key));
}

static uint64_t
hash_prefix(const void *base, uint32_t i)
{
	const struct wg_prefix *p = (const struct wg_prefix *)base + i;

	return wg_config_hash16(p->addr, (uint64_t)p->family << 8 | p->len);
}

static bool
equal_prefix(const void *base, uint32_t a, uint32_t b)
{
	const struct wg_prefix *p = base;

	return memcmp(&p[a], &p[b], sizeof(p[a])) == 0;
}

static struct wg_conf_peer *
cur_peer(struct wg_config_loader *l)
{
	return &l->conf->peers[l->peer];
}

static int
peer_name(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);
	size_t i, n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			break;
	if (n == 0 || n > PEER_NAME_MAX || i < n)
		return wg_config_yaml_fail(y, "a name is 1 to %d printable characters",
			PEER_NAME_MAX);
	cur_peer(l)->name = wg_config_strdup(l->conf, s);
	return cur_peer(l)->name == NULL ? wg_config_oom(y) : 0;
}

static int
peer_public_key(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;
	const struct wg_conf_peer *first;
	uint32_t dup;

	if (wg_config_read_key(l, y, false, cur_peer(l)->public_key) < 0)
		return -1;
	dup = wg_config_set_insert(&l->keys, l->conf->peers, l->peer);
	if (dup == WG_CONFIG_SET_NOMEM)
		return wg_config_oom(y);
	if (dup == l->peer)
		return 0;
	first = &l->conf->peers[dup];
	return wg_config_yaml_fail(y, "duplicate public key, first used by the peer at %s:%u:%u",
		l->conf->files[first->file], first->line, first->column);
}

static int
preshared_key(struct wg_yaml *y, struct wg_config_loader *l, bool file)
{
	struct wg_conf_peer *p = cur_peer(l);

	if (p->has_psk)
		return wg_config_yaml_fail(y,
			"only one of preshared-key and preshared-key-file may be given");
	if (wg_config_read_key(l, y, file, p->psk) < 0)
		return -1;
	p->has_psk = true;
	return 0;
}

static int
peer_preshared_key(struct wg_yaml *y, void *ctx)
{
	return preshared_key(y, ctx, false);
}

static int
peer_preshared_key_file(struct wg_yaml *y, void *ctx)
{
	return preshared_key(y, ctx, true);
}

static int
peer_endpoint(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);

	if (s == NULL)
		return -1;
	if (!wg_config_value_endpoint(s, &cur_peer(l)->endpoint))
		return wg_config_yaml_fail(y,
			"'%s' is not an endpoint (a.b.c.d:port or [IPv6]:port)",
			wg_config_quote(y, s));
	return 0;
}

static int
conflict(struct wg_yaml *y, struct wg_config_loader *l, uint32_t taken, const char *s)
{
	const struct wg_conf_peer *p = &l->conf->peers[l->owner[taken]];

	if (l->owner[taken] == l->peer)
		return wg_config_yaml_fail(y, "'%s' is listed twice", wg_config_quote(y, s));
	return wg_config_yaml_fail(y, "'%s' is already allowed for the peer at %s:%u:%u",
		wg_config_quote(y, s), l->conf->files[p->file], p->line, p->column);
}

static int
allowed_ip_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct wg_config_loader *l = ctx;
	struct wg_conf *c = l->conf;
	const char *s = wg_config_yaml_scalar(y);
	char text[WG_CONFIG_PREFIX_STRLEN];
	struct wg_prefix p;
	uint32_t i = (uint32_t)c->n_prefixes, dup;

	(void)index;
	if (s == NULL)
		return -1;
	if (!wg_config_value_prefix(s, false, &p))
		return wg_config_yaml_fail(y, "'%s' is not an IPv4 or IPv6 prefix",
			wg_config_quote(y, s));
	if (wg_config_value_mask(&p))
		wg_config_yaml_warn(y, &y->ev.start_mark, "'%s' has host bits set, using %s",
			wg_config_quote(y, s), wg_config_value_prefix_str(&p, text));
	if (c->n_prefixes >= UINT32_MAX - 2 ||
			wg_config_grow(&c->prefixes, &l->cap_prefixes, c->n_prefixes + 1,
				sizeof(p)) < 0 ||
			wg_config_grow(&l->owner, &l->cap_owner, c->n_prefixes + 1,
				sizeof(*l->owner)) < 0)
		return wg_config_oom(y);
	c->prefixes[i] = p;
	l->owner[i] = l->peer;
	dup = wg_config_set_insert(&l->prefixes, c->prefixes, i);
	if (dup == WG_CONFIG_SET_NOMEM)
		return wg_config_oom(y);
	if (dup != i)
		return conflict(y, l, dup, s);
	c->n_prefixes++;
	cur_peer(l)->n_allowed++;
	return 0;
}

static int
peer_allowed_ips(struct wg_yaml *y, void *ctx)
{
	return wg_config_yaml_sequence(y, allowed_ip_item, ctx);
}

static int
peer_keepalive(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;
	uint32_t v;

	if (wg_config_read_uint(y, 0, 65535, &v, "out of range") < 0)
		return -1;
	cur_peer(l)->persistent_keepalive = (uint16_t)v;
	return 0;
}

static const struct wg_yaml_field peer_fields[] = {
	{ "name", peer_name, false },
	{ "public-key", peer_public_key, true },
	{ "preshared-key", peer_preshared_key, false },
	{ "preshared-key-file", peer_preshared_key_file, false },
	{ "endpoint", peer_endpoint, false },
	{ "allowed-ips", peer_allowed_ips, false },
	{ "persistent-keepalive", peer_keepalive, false },
};

static int
peer_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct wg_config_loader *l = ctx;
	struct wg_conf *c = l->conf;
	struct wg_conf_peer *p;

	(void)index;
	if (c->n_peers >= MAX_PEERS)
		return wg_config_yaml_fail(y, "too many peers (at most %u)", MAX_PEERS);
	if (wg_config_grow(&c->peers, &l->cap_peers, c->n_peers + 1, sizeof(*p)) < 0)
		return wg_config_oom(y);
	l->peer = (uint32_t)c->n_peers++;
	p = cur_peer(l);
	memset(p, 0, sizeof(*p));
	p->file = l->file;
	p->line = (uint32_t)y->ev.start_mark.line + 1;
	p->column = (uint32_t)y->ev.start_mark.column + 1;
	p->first_allowed = (uint32_t)c->n_prefixes;
	return wg_config_yaml_mapping(y, peer_fields, ARRAY_SIZE(peer_fields), l, NULL);
}

int
wg_config_peers_parse(struct wg_yaml *y, void *ctx)
{
	return wg_config_yaml_sequence(y, peer_item, ctx);
}

void
wg_config_peers_init(struct wg_config_loader *l)
{
	wg_config_set_init(&l->keys, hash_key, equal_key);
	wg_config_set_init(&l->prefixes, hash_prefix, equal_prefix);
}
