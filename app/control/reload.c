/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hot reload: diff two configurations, then apply the difference in two
 * phases (reload.h): "grow" (new peers, new allowed IPs, name copies; every
 * step journaled and undone on failure) and "commit" (removals and in-place
 * changes, which cannot fail). The diff is linear in the size of both files
 * (hash sets of public keys and prefixes); the table work is proportional to
 * the change.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "control/config_set.h"
#include "control/reload.h"
#include "crypto/ct.h"

#define NONE UINT32_MAX

/* What becomes of each peer of the new file. */
enum action {
	ACT_ADD,	/* not in the peer table: added in the grow phase */
	ACT_KEEP,	/* in the table: updated in place */
	ACT_DEFER,	/* its key is our old public key: added after the key change */
};

/* One allowed-IPs insert of the grow phase: prev is the owner before it. */
struct undo {
	const struct wg_prefix *prefix;
	uint32_t prev;
};

struct plan {
	struct wg_engine *e;
	struct wg_tables *t;
	const struct wg_conf *old;
	const struct wg_conf *cur;	/* the new configuration */
	FILE *log;
	uint32_t *old_of;		/* new peer -> its old index or NONE */
	uint8_t *act;			/* new peer -> enum action */
	struct wg_peer **live;		/* new peer -> live peer (ACT_KEEP, then ACT_ADD) */
	bool *old_kept;			/* old peer present in the new file */
	uint32_t *old_owner;		/* old prefix -> old peer index (NONE: none) */
	bool *old_prefix_kept;		/* old prefix on the same peer in the new file */
	bool *new_prefix_same;		/* new prefix on the same peer in the old file */
	char **names;			/* new peer -> name copy to install (ACT_KEEP) */
	bool *name_changes;
	bool *touched;			/* new peer (ACT_KEEP) got an allowed IP */
	bool *touched_old;		/* old peer (kept) lost an allowed IP */
	struct undo *undo;
	uint32_t n_undo;
	bool key_changed;
	struct wg_reload_stats st;
};

static volatile sig_atomic_t reload_requested;

/* ---- logging ---- */

static const char *
file_of(const struct wg_conf *c)
{
	return c->n_files > 0 ? c->files[0] : "(configuration)";
}

/* The peer's name, else its public key (never a secret). */
static const char *
peer_label(const struct wg_conf_peer *cp, char *buf, size_t size)
{
	if (cp->name != NULL)
		return cp->name;
	return sodium_bin2base64(buf, size, cp->public_key, sizeof(cp->public_key),
		sodium_base64_VARIANT_ORIGINAL);
}

static void
prefix_str(const struct wg_prefix *p, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(p->family, p->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, size, "%s/%u", a, p->len);
}

int
wg_reload_summary(const struct wg_reload_stats *s, char *buf, size_t size)
{
	return snprintf(buf, size, "%u peers added, %u removed, %u updated, %u unchanged; "
		"allowed IPs %u added (%u moved), %u removed; %u endpoints, %u preshared keys, "
		"%u keepalives, %u names set%s%s",
		s->peers_added, s->peers_removed, s->peers_updated, s->peers_unchanged,
		s->prefixes_added, s->prefixes_moved, s->prefixes_removed, s->endpoints_set,
		s->psks_set, s->keepalives_set, s->names_set,
		s->private_key_changed ? "; private key changed (sessions restart)" : "",
		s->failed != 0 ? "; SOME STEPS FAILED" : "");
}

/* ---- interface: what cannot change live ---- */

static bool
prefix_eq(const struct wg_prefix *a, const struct wg_prefix *b)
{
	return a->family == b->family && a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
port_eq(const struct wg_conf_port *a, const struct wg_conf_port *b)
{
	uint32_t i;

	if (!str_eq(a->device, b->device) || a->n_addresses != b->n_addresses ||
			!prefix_eq(&a->gateway4, &b->gateway4) ||
			!prefix_eq(&a->gateway6, &b->gateway6))
		return false;
	for (i = 0; i < a->n_addresses; i++)
		if (!prefix_eq(&a->addresses[i], &b->addresses[i]))
			return false;
	return true;
}

static bool
neighbors_eq(const struct wg_conf *a, const struct wg_conf *b)
{
	size_t i;

	if (a->n_neighbors != b->n_neighbors)
		return false;
	for (i = 0; i < a->n_neighbors; i++)
		if (!prefix_eq(&a->neighbors[i].ip, &b->neighbors[i].ip) ||
				memcmp(a->neighbors[i].mac, b->neighbors[i].mac, 6) != 0)
			return false;
	return true;
}

static bool
eal_eq(const struct wg_conf *a, const struct wg_conf *b)
{
	int i;

	if (a->eal_argc != b->eal_argc)
		return false;
	for (i = 0; i < a->eal_argc; i++)
		if (!str_eq(a->eal_argv[i], b->eal_argv[i]))
			return false;
	return true;
}

static void
add_name(char *buf, size_t size, const char *what)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len != 0 ? ", " : "", what);
}

/* The settings that need a restart and differ, comma-separated ("" when none). */
static void
restart_changes(const struct wg_conf *a, const struct wg_conf *b, char *buf, size_t size)
{
	buf[0] = '\0';
	if (strcmp(a->ifname, b->ifname) != 0)
		add_name(buf, size, "interface.name");
	if (a->listen_port != b->listen_port)
		add_name(buf, size, "interface.listen-port");
	if (a->mtu != b->mtu)
		add_name(buf, size, "interface.mtu");
	if (!eal_eq(a, b))
		add_name(buf, size, "dpdk.eal-args");
	if (a->idle_backoff != b->idle_backoff)
		add_name(buf, size, "dpdk.idle-backoff");
	if (!port_eq(&a->wan, &b->wan))
		add_name(buf, size, "ports.wan");
	if (!port_eq(&a->lan, &b->lan))
		add_name(buf, size, "ports.lan");
	if (!neighbors_eq(a, b))
		add_name(buf, size, "ports.neighbors");
}

/* ---- diff ---- */

/* Hash-set views: index i < old count is in the old file, the rest in the new one. */
static const uint8_t *
key_at(const struct plan *p, uint32_t i)
{
	return i < p->old->n_peers ? p->old->peers[i].public_key :
		p->cur->peers[i - p->old->n_peers].public_key;
}

static uint64_t
key_hash(const void *base, uint32_t i)
{
	uint64_t w;

	memcpy(&w, key_at(base, i), sizeof(w));
	return wg_config_set_mix(w);
}

static bool
key_equal(const void *base, uint32_t a, uint32_t b)
{
	return wg_ct_equal(key_at(base, a), key_at(base, b), NOISE_PUBLIC_KEY_LEN);
}

static const struct wg_prefix *
prefix_at(const struct plan *p, uint32_t i)
{
	return i < p->old->n_prefixes ? &p->old->prefixes[i] :
		&p->cur->prefixes[i - p->old->n_prefixes];
}

static uint64_t
prefix_hash(const void *base, uint32_t i)
{
	const struct wg_prefix *x = prefix_at(base, i);
	uint64_t a, b;

	memcpy(&a, x->addr, 8);
	memcpy(&b, x->addr + 8, 8);
	return wg_config_set_mix(a ^ wg_config_set_mix(b ^ ((uint64_t)x->family << 8 | x->len)));
}

static bool
prefix_equal(const void *base, uint32_t a, uint32_t b)
{
	return prefix_eq(prefix_at(base, a), prefix_at(base, b));
}

static int
plan_alloc(struct plan *p)
{
	size_t n_new = p->cur->n_peers, n_old = p->old->n_peers;

	p->old_of = calloc(n_new + 1, sizeof(*p->old_of));
	p->act = calloc(n_new + 1, sizeof(*p->act));
	p->live = calloc(n_new + 1, sizeof(*p->live));
	p->names = calloc(n_new + 1, sizeof(*p->names));
	p->name_changes = calloc(n_new + 1, sizeof(*p->name_changes));
	p->old_kept = calloc(n_old + 1, sizeof(*p->old_kept));
	p->old_owner = calloc(p->old->n_prefixes + 1, sizeof(*p->old_owner));
	p->old_prefix_kept = calloc(p->old->n_prefixes + 1, sizeof(*p->old_prefix_kept));
	p->new_prefix_same = calloc(p->cur->n_prefixes + 1, sizeof(*p->new_prefix_same));
	p->undo = calloc(p->cur->n_prefixes + 1, sizeof(*p->undo));
	p->touched = calloc(n_new + 1, sizeof(*p->touched));
	p->touched_old = calloc(n_old + 1, sizeof(*p->touched_old));
	if (p->old_of == NULL || p->act == NULL || p->live == NULL || p->names == NULL ||
			p->name_changes == NULL || p->old_kept == NULL || p->old_owner == NULL ||
			p->old_prefix_kept == NULL || p->new_prefix_same == NULL ||
			p->undo == NULL || p->touched == NULL || p->touched_old == NULL)
		return -ENOMEM;
	return 0;
}

static void
plan_free(struct plan *p)
{
	size_t i;

	for (i = 0; p->names != NULL && i < p->cur->n_peers; i++)
		free(p->names[i]);
	free(p->old_of);
	free(p->act);
	free(p->live);
	free(p->names);
	free(p->name_changes);
	free(p->old_kept);
	free(p->old_owner);
	free(p->old_prefix_kept);
	free(p->new_prefix_same);
	free(p->undo);
	free(p->touched);
	free(p->touched_old);
}

/* Old index of every new peer, by public key. */
static int
match_peers(struct plan *p)
{
	struct wg_config_set set;
	uint32_t n_old = (uint32_t)p->old->n_peers, i, r;
	int ret = 0;

	wg_config_set_init(&set, key_hash, key_equal);
	for (i = 0; i < n_old + p->cur->n_peers && ret == 0; i++) {
		r = wg_config_set_insert(&set, p, i);
		if (r == WG_CONFIG_SET_NOMEM)
			ret = -ENOMEM;
		else if (i >= n_old)
			p->old_of[i - n_old] = r < n_old ? r : NONE;
	}
	wg_config_set_free(&set);
	for (i = 0; ret == 0 && i < p->cur->n_peers; i++)
		if (p->old_of[i] != NONE)
			p->old_kept[p->old_of[i]] = true;
	return ret;
}

/* Which prefixes stay on the same peer: the rest are inserted or removed. */
static int
match_prefixes(struct plan *p)
{
	uint32_t n_old = (uint32_t)p->old->n_prefixes, i, j, k, r, pi;
	struct wg_config_set set;
	int ret = 0;

	for (i = 0; i < n_old; i++)
		p->old_owner[i] = NONE;
	for (i = 0; i < p->old->n_peers; i++)
		for (k = 0; k < p->old->peers[i].n_allowed; k++)
			p->old_owner[p->old->peers[i].first_allowed + k] = i;
	wg_config_set_init(&set, prefix_hash, prefix_equal);
	for (i = 0; i < n_old && ret == 0; i++)
		if (wg_config_set_insert(&set, p, i) == WG_CONFIG_SET_NOMEM)
			ret = -ENOMEM;
	for (pi = 0; pi < p->cur->n_peers && ret == 0; pi++) {
		const struct wg_conf_peer *cp = &p->cur->peers[pi];

		for (k = 0; k < cp->n_allowed && ret == 0; k++) {
			j = cp->first_allowed + k;
			r = wg_config_set_insert(&set, p, n_old + j);
			if (r == WG_CONFIG_SET_NOMEM)
				ret = -ENOMEM;
			else if (r < n_old && p->old_of[pi] != NONE &&
					p->old_owner[r] == p->old_of[pi])
				p->new_prefix_same[j] = p->old_prefix_kept[r] = true;
		}
	}
	wg_config_set_free(&set);
	return ret;
}

/* ADD, KEEP or DEFER for every new peer; name copies for renamed peers. */
static int
classify(struct plan *p, const uint8_t old_pub[32])
{
	const struct wg_conf_peer *cp, *op;
	size_t i;

	for (i = 0; i < p->cur->n_peers; i++) {
		cp = &p->cur->peers[i];
		p->live[i] = wg_peers_lookup(p->t->peers, cp->public_key);
		if (p->live[i] != NULL) {
			p->act[i] = ACT_KEEP;
		} else if (p->key_changed &&
				wg_ct_equal(cp->public_key, old_pub, NOISE_PUBLIC_KEY_LEN)) {
			p->act[i] = ACT_DEFER;
			continue;
		} else {
			p->act[i] = ACT_ADD;
			continue;
		}
		op = p->old_of[i] != NONE ? &p->old->peers[p->old_of[i]] : NULL;
		if (op != NULL ? str_eq(op->name, cp->name) : str_eq(p->live[i]->name, cp->name))
			continue;
		p->name_changes[i] = true;
		if (cp->name != NULL) {
			p->names[i] = strndup(cp->name, WG_PEERS_NAME_MAX);
			if (p->names[i] == NULL)
				return -ENOMEM;
		}
	}
	return 0;
}

/* ---- grow phase (journaled) ---- */

static int
insert_prefix(struct plan *p, struct wg_peer *peer, const struct wg_prefix *prefix)
{
	uint32_t prev = wg_allowedips_owner(p->t->allowedips, prefix);
	int ret;

	if (prev == peer->id)
		return 0;
	ret = wg_allowedips_insert(p->t->allowedips, peer->id, prefix);
	if (ret != 0)
		return ret;
	p->undo[p->n_undo].prefix = prefix;
	p->undo[p->n_undo++].prev = prev;
	p->st.prefixes_added++;
	p->st.prefixes_moved += prev != WG_ALLOWEDIPS_NO_PEER;
	return 0;
}

static int
insert_prefixes(struct plan *p, size_t i, bool changed_only)
{
	const struct wg_conf_peer *cp = &p->cur->peers[i];
	uint32_t k, before = p->st.prefixes_added;
	char label[64], pfx[64];
	int ret;

	for (k = 0; k < cp->n_allowed; k++) {
		if (changed_only && p->new_prefix_same[cp->first_allowed + k])
			continue;
		ret = insert_prefix(p, p->live[i], &cp->allowed[k]);
		if (ret == 0)
			continue;
		prefix_str(&cp->allowed[k], pfx, sizeof(pfx));
		if (p->log != NULL)
			fprintf(p->log, "%s:%u:%u: reload failed (nothing changed): peer %s: "
				"allowed IP %s: %s\n", p->cur->files[cp->file], cp->line,
				cp->column, peer_label(cp, label, sizeof(label)), pfx,
				ret == -ENOSPC ? "allowed-IPs table full" : strerror(-ret));
		return ret;
	}
	p->touched[i] = p->st.prefixes_added != before;
	return 0;
}

static int
add_peer(struct plan *p, size_t i)
{
	struct wg_conf_peer cp = p->cur->peers[i];
	char label[64];
	int ret;

	/* Allowed IPs go in through the journal, so a move can be undone. */
	cp.n_allowed = 0;
	cp.allowed = NULL;
	ret = wg_engine_peer_add(p->e, &cp, &p->live[i]);
	if (ret != 0) {
		p->live[i] = NULL;
		if (p->log != NULL)
			fprintf(p->log, "%s:%u:%u: reload%s: cannot add peer %s: %s\n",
				p->cur->files[cp.file], cp.line, cp.column,
				p->act[i] == ACT_DEFER ? "" : " failed (nothing changed)",
				peer_label(&cp, label, sizeof(label)),
				ret == -ENOSPC ? "peer table full" : strerror(-ret));
		return ret;
	}
	p->st.peers_added++;
	return 0;
}

/* Undo the grow phase: moved prefixes back to their owners, new peers out. */
static void
rollback(struct plan *p)
{
	struct wg_allowedips *a = p->t->allowedips;
	const struct undo *u;
	size_t i;

	while (p->n_undo > 0) {
		u = &p->undo[--p->n_undo];
		if (u->prev == WG_ALLOWEDIPS_NO_PEER)
			wg_allowedips_remove(a, u->prefix);
		else if (wg_allowedips_insert(a, u->prev, u->prefix) != 0 && p->log != NULL)
			fprintf(p->log, "%s: reload rollback: could not give an allowed IP back to "
				"peer %u\n", file_of(p->cur), u->prev);
	}
	for (i = 0; i < p->cur->n_peers; i++) {
		if (p->act[i] != ACT_ADD || p->live[i] == NULL)
			continue;
		wg_allowedips_remove_peer(a, p->live[i]->id);
		wg_engine_peer_remove(p->e, p->live[i]);
		p->live[i] = NULL;
	}
}

static int
grow(struct plan *p)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < p->cur->n_peers && ret == 0; i++)
		if (p->act[i] == ACT_ADD)
			ret = add_peer(p, i);
	for (i = 0; i < p->cur->n_peers && ret == 0; i++)
		if (p->act[i] != ACT_DEFER)
			ret = insert_prefixes(p, i, p->act[i] == ACT_KEEP);
	if (ret != 0)
		rollback(p);
	return ret;
}

/* ---- commit phase (cannot fail) ---- */

/* Old prefixes of kept peers that the new file no longer gives them. */
static void
remove_old_prefixes(struct plan *p)
{
	const struct wg_prefix *prefix;
	struct wg_peer *peer;
	uint32_t i, owner;

	for (i = 0; i < p->old->n_prefixes; i++) {
		owner = p->old_owner[i];
		if (owner == NONE || p->old_prefix_kept[i] || !p->old_kept[owner])
			continue;
		p->touched_old[owner] = true;
		peer = wg_peers_lookup(p->t->peers, p->old->peers[owner].public_key);
		prefix = &p->old->prefixes[i];
		/* Moved to another peer already, or moved away live: not ours to remove. */
		if (peer == NULL || wg_allowedips_owner(p->t->allowedips, prefix) != peer->id)
			continue;
		wg_allowedips_remove(p->t->allowedips, prefix);
		p->st.prefixes_removed++;
	}
}

static void
remove_peers(struct plan *p)
{
	struct wg_peer *peer;
	size_t i;

	for (i = 0; i < p->old->n_peers; i++) {
		if (p->old_kept[i])
			continue;
		peer = wg_peers_lookup(p->t->peers, p->old->peers[i].public_key);
		if (peer == NULL)
			continue;
		wg_allowedips_remove_peer(p->t->allowedips, peer->id);
		if (wg_engine_peer_remove(p->e, peer) == 0)
			p->st.peers_removed++;
	}
}

static bool
psk_differs(const struct wg_conf_peer *a, bool b_has, const uint8_t *b_psk)
{
	if (a->has_psk != b_has)
		return true;
	return a->has_psk && !wg_ct_equal(a->psk, b_psk, NOISE_SYMMETRIC_KEY_LEN);
}

static bool
endpoint_eq(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	return a->family == b->family && a->port == b->port && memcmp(a->addr, b->addr, 16) == 0;
}

/* In-place changes of one kept peer against its old entry (or its live fields). */
static bool
commit_keep(struct plan *p, size_t i)
{
	const struct wg_conf_peer *cp = &p->cur->peers[i];
	const struct wg_conf_peer *op = p->old_of[i] != NONE ? &p->old->peers[p->old_of[i]] : NULL;
	struct wg_peer *peer = p->live[i];
	bool changed = false;

	if (op != NULL ? psk_differs(op, cp->has_psk, cp->psk) :
			psk_differs(cp, peer->has_psk, peer->preshared_key)) {
		wg_engine_peer_set_psk(p->e, peer, cp->has_psk ? cp->psk : NULL);
		p->st.psks_set++;
		changed = true;
	}
	/* The configured endpoint only: a roamed one stays unless the file changed it. */
	if (cp->endpoint.family != 0 &&
			!endpoint_eq(&cp->endpoint, op != NULL ? &op->endpoint : &peer->endpoint)) {
		wg_engine_peer_set_endpoint(p->e, peer, &cp->endpoint);
		p->st.endpoints_set++;
		changed = true;
	}
	if (cp->persistent_keepalive !=
			(op != NULL ? op->persistent_keepalive : peer->persistent_keepalive)) {
		wg_engine_peer_set_persistent_keepalive(p->e, peer, cp->persistent_keepalive);
		p->st.keepalives_set++;
		changed = true;
	}
	if (p->name_changes[i]) {
		free(wg_engine_peer_swap_name(p->e, peer, p->names[i]));
		p->names[i] = NULL;
		p->st.names_set++;
		changed = true;
	}
	return changed;
}

static void
commit_defer(struct plan *p, size_t i)
{
	const struct wg_conf_peer *cp = &p->cur->peers[i];
	uint32_t k;

	if (add_peer(p, i) != 0) {
		p->st.failed++;
		return;
	}
	for (k = 0; k < cp->n_allowed; k++) {
		if (insert_prefix(p, p->live[i], &cp->allowed[k]) == 0)
			continue;
		if (p->log != NULL)
			fprintf(p->log, "%s:%u:%u: reload: peer %u: an allowed IP could not be "
				"added\n", p->cur->files[cp->file], cp->line, cp->column,
				p->live[i]->id);
		p->st.failed++;
	}
}

static void
commit(struct plan *p)
{
	size_t i;
	int ret;

	remove_old_prefixes(p);
	remove_peers(p);
	if (p->key_changed) {
		ret = wg_engine_set_private_key(p->e, p->cur->private_key);
		p->st.private_key_changed = true;
		if (ret != 0 && p->log != NULL)
			fprintf(p->log, "%s: reload: warning: interface.private-key is all zero: "
				"no handshake can complete\n", file_of(p->cur));
	}
	for (i = 0; i < p->cur->n_peers; i++) {
		if (p->act[i] == ACT_DEFER) {
			commit_defer(p, i);
		} else if (p->act[i] == ACT_KEEP) {
			bool lost = p->old_of[i] != NONE && p->touched_old[p->old_of[i]];

			if (commit_keep(p, i) || p->touched[i] || lost)
				p->st.peers_updated++;
			else
				p->st.peers_unchanged++;
		}
	}
}

/* ---- entry points ---- */

static int
plan_build(struct plan *p)
{
	uint8_t old_pub[NOISE_PUBLIC_KEY_LEN];
	int ret;

	p->key_changed = !wg_ct_equal(p->old->private_key, p->cur->private_key,
		sizeof(p->cur->private_key));
	memcpy(old_pub, p->old->public_key, sizeof(old_pub));
	ret = plan_alloc(p);
	if (ret == 0)
		ret = match_peers(p);
	if (ret == 0)
		ret = match_prefixes(p);
	if (ret == 0)
		ret = classify(p, old_pub);
	if (ret != 0 && p->log != NULL)
		fprintf(p->log, "%s: reload failed (nothing changed): %s\n", file_of(p->cur),
			strerror(-ret));
	return ret;
}

/* The refusal line, or 0. */
static int
check_interface(const struct wg_conf *old, const struct wg_conf *cur, FILE *log)
{
	char what[256];

	restart_changes(old, cur, what, sizeof(what));
	if (what[0] == '\0')
		return 0;
	if (log != NULL)
		fprintf(log, "%s: reload refused (nothing changed): %s changed; "
			"these need a restart\n", file_of(cur), what);
	return -ENOTSUP;
}

int
wg_reload_apply(struct wg_engine *e, struct wg_tables *t, const struct wg_conf *old_conf,
	const struct wg_conf *new_conf, struct wg_reload_stats *out, FILE *log)
{
	struct plan p;
	char line[512];
	int ret;

	memset(&p, 0, sizeof(p));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (e == NULL || t == NULL || t->peers == NULL || t->allowedips == NULL ||
			old_conf == NULL || new_conf == NULL)
		return -EINVAL;
	ret = check_interface(old_conf, new_conf, log);
	if (ret != 0)
		return ret;
	p.e = e;
	p.t = t;
	p.old = old_conf;
	p.cur = new_conf;
	p.log = log;
	ret = plan_build(&p);
	if (ret == 0)
		ret = grow(&p);
	if (ret == 0) {
		commit(&p);
		ret = p.st.failed != 0 ? WG_RELOAD_PARTIAL : 0;
		if (log != NULL) {
			wg_reload_summary(&p.st, line, sizeof(line));
			fprintf(log, "%s: reloaded: %s\n", file_of(new_conf), line);
		}
		if (out != NULL)
			*out = p.st;
	}
	plan_free(&p);
	return ret;
}

int
wg_reload_file(struct wg_engine *e, struct wg_tables *t, const char *path,
	struct wg_conf **cur, struct wg_reload_stats *out, FILE *log)
{
	struct wg_conf *next = NULL;
	int ret;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (cur == NULL || *cur == NULL || path == NULL)
		return -EINVAL;
	if (wg_config_load(path, &next, log) != 0)
		return -EINVAL;
	ret = wg_reload_apply(e, t, *cur, next, out, log);
	if (ret < 0) {
		wg_config_free(next);
		return ret;
	}
	wg_config_free(*cur);
	*cur = next;
	return ret;
}

/* ---- SIGHUP ---- */

void
wg_reload_request(void)
{
	reload_requested = 1;
}

bool
wg_reload_pending(void)
{
	return __atomic_exchange_n(&reload_requested, 0, __ATOMIC_ACQ_REL) != 0;
}

static void
on_sighup(int sig)
{
	(void)sig;
	wg_reload_request();
}

int
wg_reload_sighup_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sighup;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	return sigaction(SIGHUP, &sa, NULL) == 0 ? 0 : -errno;
}
