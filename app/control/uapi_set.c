/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Set requests of the UAPI (see uapi.h): the whole request is parsed and
 * validated into an operation list first, and only then applied to the
 * engine and the tables, so a malformed request changes nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "control/allowedips.h"
#include "control/config_value.h"
#include "control/engine.h"
#include "control/tables.h"
#include "control/uapi_internal.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

enum {
	KEY_LEN = 32,
	KEY_HEX_LEN = 64,
	VALUE_MAX = 128,		/* longer values are invalid */
};

/* One set request, parsed. */
enum aip_kind { AIP_ADD, AIP_DEL, AIP_CLEAR };

struct aip_op {
	uint8_t kind;
	struct wg_prefix prefix;	/* masked */
};

struct peer_op {
	uint8_t public_key[KEY_LEN];
	uint8_t psk[KEY_LEN];
	struct wg_endpoint endpoint;
	uint16_t keepalive;
	bool remove;
	bool update_only;
	bool has_psk;
	bool has_endpoint;
	bool has_keepalive;
	size_t first_aip;
	size_t n_aip;
};

struct set_req {
	uint8_t private_key[KEY_LEN];
	bool has_private_key;
	bool has_listen_port;
	bool has_fwmark;
	bool replace_peers;
	uint16_t listen_port;
	uint32_t fwmark;
	struct peer_op *peers;
	size_t n_peers, cap_peers;
	struct aip_op *aips;
	size_t n_aips, cap_aips;
};

/* ---- allowed IPs of one peer ---- */

static bool
scratch_reserve(struct wg_uapi_dev *u, size_t n)
{
	struct wg_prefix *p;
	size_t cap;

	if (n <= u->scratch_cap)
		return true;
	cap = u->scratch_cap != 0 ? u->scratch_cap : 64;
	while (cap < n)
		cap *= 2;
	p = realloc(u->scratch, cap * sizeof(*p));
	if (p == NULL)
		return false;
	u->scratch = p;
	u->scratch_cap = cap;
	return true;
}

struct collect {
	struct wg_uapi_dev *u;
	size_t n;
};

static int
collect_cb(const struct wg_prefix *prefix, void *arg)
{
	struct collect *c = arg;

	if (!scratch_reserve(c->u, c->n + 1))
		return -ENOMEM;
	c->u->scratch[c->n++] = *prefix;
	return 0;
}

long
wg_uapi_collect_prefixes(struct wg_uapi_dev *u, uint32_t peer_id)
{
	struct collect c = { .u = u };
	int ret;

	ret = wg_allowedips_list(u->tables->allowedips, peer_id, collect_cb, &c);
	return ret != 0 ? ret : (long)c.n;
}

/* ---- set: parsing ---- */

static bool
key_is(const char *k, size_t klen, const char *name)
{
	return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

static int
hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
parse_key(const char *v, uint8_t out[KEY_LEN])
{
	int hi, lo;
	size_t i;

	if (strlen(v) != KEY_HEX_LEN)
		return false;
	for (i = 0; i < KEY_LEN; i++) {
		hi = hex_nibble(v[2 * i]);
		lo = hex_nibble(v[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool
parse_u16(const char *v, uint16_t *out)
{
	uint32_t n;

	if (strlen(v) > 5 || !wg_config_value_uint(v, 0, UINT16_MAX, &n))
		return false;
	*out = (uint16_t)n;
	return true;
}

static bool
parse_true(const char *v)
{
	return strcmp(v, "true") == 0;
}

static struct peer_op *
new_peer(struct set_req *r)
{
	struct peer_op *p;
	size_t cap;

	if (r->n_peers == r->cap_peers) {
		cap = r->cap_peers != 0 ? 2 * r->cap_peers : 16;
		p = malloc(cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		if (r->n_peers != 0)
			memcpy(p, r->peers, r->n_peers * sizeof(*p));
		if (r->peers != NULL) {
			wg_memzero(r->peers, r->cap_peers * sizeof(*p));
			free(r->peers);
		}
		r->peers = p;
		r->cap_peers = cap;
	}
	p = &r->peers[r->n_peers++];
	memset(p, 0, sizeof(*p));
	p->first_aip = r->n_aips;
	return p;
}

static int
add_aip(struct set_req *r, struct peer_op *p, uint8_t kind, const char *v)
{
	struct aip_op *a;
	size_t cap;

	if (r->n_aips == r->cap_aips) {
		cap = r->cap_aips != 0 ? 2 * r->cap_aips : 64;
		a = realloc(r->aips, cap * sizeof(*a));
		if (a == NULL)
			return ENOMEM;
		r->aips = a;
		r->cap_aips = cap;
	}
	a = &r->aips[r->n_aips];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	if (kind != AIP_CLEAR) {
		if (!wg_config_value_prefix(v, true, &a->prefix))
			return EINVAL;
		wg_config_value_mask(&a->prefix);
	}
	r->n_aips++;
	p->n_aip++;
	return 0;
}

static int
parse_device_line(struct set_req *r, const char *k, size_t klen, const char *v)
{
	uint32_t n;

	if (key_is(k, klen, "private_key")) {
		r->has_private_key = true;
		return parse_key(v, r->private_key) ? 0 : EINVAL;
	}
	if (key_is(k, klen, "listen_port")) {
		r->has_listen_port = true;
		return parse_u16(v, &r->listen_port) ? 0 : EINVAL;
	}
	if (key_is(k, klen, "fwmark")) {
		r->has_fwmark = true;
		if (strlen(v) > 10 || !wg_config_value_uint(v, 0, UINT32_MAX, &n))
			return EINVAL;
		r->fwmark = n;
		return 0;
	}
	if (key_is(k, klen, "replace_peers")) {
		r->replace_peers = true;
		return parse_true(v) ? 0 : EINVAL;
	}
	return EINVAL;
}

static int
parse_peer_line(struct set_req *r, struct peer_op *p, const char *k, size_t klen, const char *v)
{
	if (key_is(k, klen, "remove")) {
		p->remove = true;
		return parse_true(v) ? 0 : EINVAL;
	}
	if (key_is(k, klen, "update_only")) {
		p->update_only = true;
		return parse_true(v) ? 0 : EINVAL;
	}
	if (key_is(k, klen, "preshared_key")) {
		p->has_psk = true;
		return parse_key(v, p->psk) ? 0 : EINVAL;
	}
	if (key_is(k, klen, "endpoint")) {
		p->has_endpoint = true;
		return wg_config_value_endpoint(v, &p->endpoint) ? 0 : EINVAL;
	}
	if (key_is(k, klen, "persistent_keepalive_interval")) {
		p->has_keepalive = true;
		return parse_u16(v, &p->keepalive) ? 0 : EINVAL;
	}
	if (key_is(k, klen, "replace_allowed_ips"))
		return parse_true(v) ? add_aip(r, p, AIP_CLEAR, NULL) : EINVAL;
	if (key_is(k, klen, "allowed_ip"))
		return v[0] == '-' ? add_aip(r, p, AIP_DEL, v + 1) : add_aip(r, p, AIP_ADD, v);
	if (key_is(k, klen, "protocol_version"))
		return strcmp(v, "1") == 0 ? 0 : EINVAL;
	return EINVAL;
}

/* The lines of a set request's body (each ends with '\n'). 0 or an errno. */
static int
parse_set(struct set_req *r, const char *s, size_t len)
{
	const char *end = s + len, *nl, *eq;
	struct peer_op *peer = NULL;
	char v[VALUE_MAX];
	size_t vlen;
	int ret = 0;

	while (ret == 0 && s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		eq = memchr(s, '=', (size_t)(nl - s));
		if (eq == NULL || eq == s) {
			ret = EPROTO;
			break;
		}
		vlen = (size_t)(nl - eq - 1);
		if (vlen >= sizeof(v) || memchr(eq + 1, '\0', vlen) != NULL) {
			ret = EINVAL;
			break;
		}
		memcpy(v, eq + 1, vlen);
		v[vlen] = '\0';
		if (key_is(s, (size_t)(eq - s), "public_key")) {
			peer = new_peer(r);
			if (peer == NULL)
				ret = ENOMEM;
			else if (!parse_key(v, peer->public_key))
				ret = EINVAL;
		} else if (peer == NULL) {
			ret = parse_device_line(r, s, (size_t)(eq - s), v);
		} else {
			ret = parse_peer_line(r, peer, s, (size_t)(eq - s), v);
		}
		s = nl + 1;
	}
	wg_memzero(v, sizeof(v));
	return ret;
}

static void
set_req_free(struct set_req *r)
{
	if (r->peers != NULL) {
		wg_memzero(r->peers, r->cap_peers * sizeof(*r->peers));
		free(r->peers);
	}
	free(r->aips);
	wg_memzero(r, sizeof(*r));
}

/* ---- set: applying ---- */

static void
remove_peer(struct wg_uapi_dev *u, struct wg_peer *peer)
{
	/* Unrouted before it leaves the table, whether or not the engine has the allowed IPs. */
	wg_allowedips_remove_peer(u->tables->allowedips, peer->id);
	wg_engine_peer_remove(u->engine, peer);
}

static int
remove_all_peers(struct wg_uapi_dev *u)
{
	struct wg_peer **peers;
	uint32_t i, n;

	peers = wg_peers_list(u->tables->peers, &n);
	if (peers == NULL)
		return ENOMEM;
	for (i = 0; i < n; i++)
		remove_peer(u, peers[i]);
	free(peers);
	return 0;
}

static int
prefix_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct wg_prefix));
}

static bool
prefix_in(const struct wg_prefix *set, size_t n, const struct wg_prefix *p)
{
	return n != 0 && bsearch(p, set, n, sizeof(*set), prefix_cmp) != NULL;
}

/* In order, without replace_allowed_ips: moves in, and "-" removes what this peer owns. */
static int
aips_sequential(struct wg_uapi_dev *u, struct wg_peer *peer, const struct aip_op *ops, size_t n)
{
	struct wg_allowedips *t = u->tables->allowedips;
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		if (ops[i].kind == AIP_ADD) {
			ret = wg_allowedips_insert(t, peer->id, &ops[i].prefix);
			if (ret != 0)
				return -ret;
		} else if (wg_allowedips_owner(t, &ops[i].prefix) == peer->id) {
			wg_allowedips_remove(t, &ops[i].prefix);
		}
	}
	return 0;
}

/* An operation after the last replace, with its position. */
struct aip_pos {
	struct wg_prefix prefix;
	uint8_t kind;
	size_t pos;
};

static int
aip_pos_cmp(const void *a, const void *b)
{
	const struct aip_pos *x = a, *y = b;
	int c = prefix_cmp(&x->prefix, &y->prefix);

	if (c != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * With replace_allowed_ips: the same end state as replaying the operations
 * in order, reached without unrouting a prefix the peer keeps. F, the
 * prefixes the peer owns at the end, are those whose last operation after
 * the last replace is an add. Every prefix of F is inserted in request order
 * (a no-op when already there); a prefix added anywhere but not in F was
 * moved to the peer and dropped again, so it leaves the table; then the
 * peer's other prefixes go. O(n log n) in the request's prefixes.
 */
static int
aips_replace(struct wg_uapi_dev *u, struct wg_peer *peer, const struct aip_op *ops, size_t n,
	size_t last_clear, struct aip_pos *tmp, struct wg_prefix *f)
{
	struct wg_allowedips *t = u->tables->allowedips;
	size_t m = 0, nf = 0, i;
	long cur;
	int ret;

	for (i = last_clear + 1; i < n; i++)
		tmp[m++] = (struct aip_pos){
			.prefix = ops[i].prefix, .kind = ops[i].kind, .pos = i };
	qsort(tmp, m, sizeof(*tmp), aip_pos_cmp);
	for (i = 0; i < m; i++)
		if ((i + 1 == m || prefix_cmp(&tmp[i].prefix, &tmp[i + 1].prefix) != 0) &&
				tmp[i].kind == AIP_ADD)
			f[nf++] = tmp[i].prefix;	/* sorted, since tmp is */
	for (i = last_clear + 1; i < n; i++) {
		if (ops[i].kind != AIP_ADD || !prefix_in(f, nf, &ops[i].prefix))
			continue;
		ret = wg_allowedips_insert(t, peer->id, &ops[i].prefix);
		if (ret != 0)
			return -ret;
	}
	for (i = 0; i < n; i++)
		if (ops[i].kind == AIP_ADD && !prefix_in(f, nf, &ops[i].prefix))
			wg_allowedips_remove(t, &ops[i].prefix);
	cur = wg_uapi_collect_prefixes(u, peer->id);
	if (cur < 0)
		return (int)-cur;
	for (i = 0; i < (size_t)cur; i++)
		if (!prefix_in(f, nf, &u->scratch[i]))
			wg_allowedips_remove(t, &u->scratch[i]);
	return 0;
}

static int
apply_aips(struct wg_uapi_dev *u, struct wg_peer *peer, const struct aip_op *ops, size_t n)
{
	struct aip_pos *tmp;
	struct wg_prefix *f;
	size_t i, last = n;
	int ret;

	for (i = 0; i < n; i++)
		if (ops[i].kind == AIP_CLEAR)
			last = i;
	if (last == n)
		return aips_sequential(u, peer, ops, n);
	tmp = malloc((n + 1) * sizeof(*tmp));
	f = malloc((n + 1) * sizeof(*f));
	ret = tmp != NULL && f != NULL ? aips_replace(u, peer, ops, n, last, tmp, f) : ENOMEM;
	free(tmp);
	free(f);
	return ret;
}

static int
apply_peer(struct wg_uapi_dev *u, const struct set_req *r, const struct peer_op *op)
{
	struct wg_conf_peer cp;
	struct wg_peer *peer;
	uint8_t own[KEY_LEN];
	bool self;
	int ret;

	self = wg_engine_public_key(u->engine, own) &&
		wg_ct_equal(own, op->public_key, KEY_LEN);
	if (self)
		return 0;	/* the kernel silently ignores a peer with the device's own key */
	peer = wg_peers_lookup(u->tables->peers, op->public_key);
	if (op->remove) {
		if (peer != NULL)
			remove_peer(u, peer);
		return 0;
	}
	if (peer == NULL) {
		if (op->update_only)
			return 0;
		memset(&cp, 0, sizeof(cp));
		memcpy(cp.public_key, op->public_key, KEY_LEN);
		cp.has_psk = op->has_psk && !wg_ct_is_zero(op->psk, KEY_LEN);
		if (cp.has_psk)
			memcpy(cp.psk, op->psk, KEY_LEN);
		if (op->has_endpoint)
			cp.endpoint = op->endpoint;
		ret = wg_engine_peer_add(u->engine, &cp, &peer);
		wg_memzero(cp.psk, sizeof(cp.psk));
		if (ret != 0)
			return -ret;
	} else {
		if (op->has_psk)
			wg_engine_peer_set_psk(u->engine, peer,
				wg_ct_is_zero(op->psk, KEY_LEN) ? NULL : op->psk);
		if (op->has_endpoint)
			wg_engine_peer_set_endpoint(u->engine, peer, &op->endpoint);
	}
	ret = apply_aips(u, peer, r->aips + op->first_aip, op->n_aip);
	if (ret != 0)
		return ret;
	/* Last, as the kernel: turning it on sends a keepalive at once. */
	if (op->has_keepalive)
		wg_engine_peer_set_persistent_keepalive(u->engine, peer, op->keepalive);
	return 0;
}

/* ---- set: room for the request, before anything changes ---- */

static const struct set_req *sort_req;	/* qsort has no context argument */

static int
op_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = memcmp(sort_req->peers[x].public_key, sort_req->peers[y].public_key, KEY_LEN);

	if (c != 0)
		return c;
	return x < y ? -1 : x > y;
}

/* The device's public key once the request's private key applies; false: none. */
static bool
own_key_after(struct wg_uapi_dev *u, const struct set_req *r, uint8_t own[KEY_LEN])
{
	if (!r->has_private_key)
		return wg_engine_public_key(u->engine, own);
	return !wg_ct_is_zero(r->private_key, KEY_LEN) && wg_x25519_public(own, r->private_key);
}

/*
 * The peers the request creates, replayed in order per public key (a key
 * may appear more than once): an op creates a peer when the key is absent
 * at that point and the op neither removes nor is update_only. ENOSPC when
 * they do not fit the peer table, so that a request fails before its first
 * change instead of half-way (ids of removed peers come back only after a
 * grace period: they do not count).
 */
static int
check_room(struct wg_uapi_dev *u, const struct set_req *r)
{
	uint8_t own[KEY_LEN];
	bool has_own, present = false;
	size_t i, *order, adds = 0;
	const struct peer_op *op;

	if (r->n_peers == 0)
		return 0;
	order = malloc(r->n_peers * sizeof(*order));
	if (order == NULL)
		return ENOMEM;
	for (i = 0; i < r->n_peers; i++)
		order[i] = i;
	sort_req = r;
	qsort(order, r->n_peers, sizeof(*order), op_cmp);
	has_own = own_key_after(u, r, own);
	for (i = 0; i < r->n_peers; i++) {
		op = &r->peers[order[i]];
		if (i == 0 || memcmp(op->public_key, r->peers[order[i - 1]].public_key, KEY_LEN) != 0)
			present = !r->replace_peers &&
				wg_peers_lookup(u->tables->peers, op->public_key) != NULL;
		if (has_own && wg_ct_equal(own, op->public_key, KEY_LEN))
			continue;
		if (op->remove) {
			present = false;
		} else if (!present && !op->update_only) {
			present = true;
			adds++;
		}
	}
	free(order);
	wg_memzero(own, sizeof(own));
	return adds > wg_peers_room(u->tables->peers) ? ENOSPC : 0;
}

static int
apply_set(struct wg_uapi_dev *u, const struct set_req *r)
{
	size_t i;
	int ret;

	ret = check_room(u, r);
	if (ret != 0)
		return ret;

	if (r->has_listen_port && r->listen_port != u->listen_port) {
		if (u->set_listen_port == NULL)
			return EOPNOTSUPP;
		ret = u->set_listen_port(u->hook_arg, r->listen_port);
		if (ret != 0)
			return ret;
		u->listen_port = r->listen_port;
	}
	if (r->has_fwmark)
		u->fwmark = r->fwmark;
	if (r->replace_peers) {
		ret = remove_all_peers(u);
		if (ret != 0)
			return ret;
	}
	if (r->has_private_key)
		wg_engine_set_private_key(u->engine,
			wg_ct_is_zero(r->private_key, KEY_LEN) ? NULL : r->private_key);
	for (i = 0; i < r->n_peers; i++) {
		ret = apply_peer(u, r, &r->peers[i]);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int
wg_uapi_set(struct wg_uapi_dev *u, const char *body, size_t len)
{
	struct set_req r;
	int ret;

	memset(&r, 0, sizeof(r));
	ret = parse_set(&r, body, len);
	if (ret == 0)
		ret = apply_set(u, &r);
	set_req_free(&r);
	return ret;
}
