/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The engine itself: creation, the device identity (protocol.md §8.4 on a
 * key change) and peer management (add, remove, live changes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>

#include "control/allowedips.h"
#include "control/engine_internal.h"
#include "crypto/clock.h"
#include "crypto/ct.h"

enum {
	DEFAULT_HOLD_MAX = 1 << 16,
	MIN_INDICES = 1 << 16,
	NAME_MAX_LEN = 10,
};

bool
wg_engine_peer_is_ours(const struct wg_engine *e, const struct wg_peer *peer)
{
	return peer->handshake.local == &e->local;
}

/* Noise: the configured peer with this static key. */
static struct noise_handshake *
lookup_peer(void *arg, const uint8_t pub[32])
{
	struct wg_engine *e = arg;
	struct wg_peer *peer = wg_peers_lookup(e->peers, pub);

	return peer != NULL && wg_engine_peer_is_ours(e, peer) ? &peer->handshake : NULL;
}

/* Noise: a destroyed keypair; a pending confirmation must not name it any more. */
static void
retire_keypair(void *arg, struct noise_keypair *kp)
{
	struct wg_engine *e = arg;
	struct wg_peer *peer = kp->entry.owner;
	struct noise_keypair *expected = kp;

	__atomic_compare_exchange_n(&peer->wk.ev_keypair, &expected, NULL, false,
		__ATOMIC_RELAXED, __ATOMIC_RELAXED);
	wg_index_rcu_retire_keypair(e->index, kp);
}

void
wg_engine_set_endpoint(struct wg_peer *peer, const struct wg_endpoint *ep)
{
	struct wg_endpoint_seq *s = &peer->ep;
	uint32_t w[5];
	unsigned int i;

	memcpy(w, ep, sizeof(w));
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (i = 0; i < 5; i++)
		__atomic_store_n(&s->u.w[i], w[i], __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

struct wg_engine *
wg_engine_create(const struct wg_engine_params *params)
{
	struct wg_index_rcu_params ip = { 0 };
	struct wg_engine *e;
	char name[16];

	if (params == NULL || params->name == NULL || strlen(params->name) > NAME_MAX_LEN ||
			params->rcu == NULL || params->peers == NULL || params->ops == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	snprintf(name, sizeof(name), "%s", params->name);
	ip.name = name;
	ip.rcu = params->rcu;
	ip.entries = params->max_indices > MIN_INDICES ? params->max_indices : MIN_INDICES;
	ip.socket_id = params->socket_id;
	e->index = wg_index_rcu_create(&ip);
	if (e->index == NULL)
		goto err;
	e->rl = wg_ratelimiter_create(params->ratelimiter_entries);
	if (e->rl == NULL || wg_cookie_checker_init(&e->checker) != 0) {
		rte_errno = ENOMEM;
		goto err;
	}
	wg_noise_local_init(&e->local, &wg_index_rcu_ops, e->index, lookup_peer, e);
	wg_noise_local_set_retire(&e->local, retire_keypair, e);
	e->peers = params->peers;
	e->allowedips = params->allowedips;
	e->rcu = params->rcu;
	e->ops = params->ops;
	e->ops_arg = params->ops_arg;
	e->under_load_backlog = params->under_load_backlog != 0 ? params->under_load_backlog :
		MAX_QUEUED_INCOMING_HANDSHAKES / 8;
	e->own_budget.max = params->hold_max != 0 ? params->hold_max : DEFAULT_HOLD_MAX;
	e->budget = params->budget != NULL ? params->budget : &e->own_budget;
	engine_clock(e);
	wg_wheel_init(&e->wheel, wg_wheel_tick_floor(e->now));
	e->next_housekeeping = e->now + WG_NSEC_PER_SEC;
	return e;
err:
	wg_ratelimiter_destroy(e->rl);
	wg_index_rcu_free(e->index);
	free(e);
	return NULL;
}

/* Everything the engine holds for a peer, before it leaves the table. */
static void
peer_teardown(struct wg_engine *e, struct wg_peer *peer)
{
	wg_timers_stop(e, peer);
	wg_staged_purge(e, peer);
	wg_noise_keypairs_clear(&peer->keypairs);
	wg_noise_handshake_destroy(&peer->handshake);
	wg_cookie_destroy(&peer->cookie);
}

static int
teardown_cb(struct wg_peer *peer, void *arg)
{
	struct wg_engine *e = arg;

	if (wg_engine_peer_is_ours(e, peer))
		peer_teardown(e, peer);
	return 0;
}

void
wg_engine_free(struct wg_engine *e)
{
	if (e == NULL)
		return;
	wg_peers_foreach(e->peers, teardown_cb, e);
	wg_ratelimiter_destroy(e->rl);
	wg_cookie_checker_destroy(&e->checker);
	wg_noise_local_destroy(&e->local);
	wg_index_rcu_free(e->index);
	wg_memzero(e, sizeof(*e));
	free(e);
}

/* §8.4: the kernel's wg_noise_expire_current_peer_keypairs() for every peer. */
static int
expire_cb(struct wg_peer *peer, void *arg)
{
	struct wg_engine *e = arg;

	if (!wg_engine_peer_is_ours(e, peer))
		return 0;
	wg_noise_handshake_clear(&peer->handshake);
	peer->timers.sent_handshake = false;	/* a new initiation may go at once */
	wg_noise_keypairs_expire_current(&peer->keypairs);
	return 0;
}

int
wg_engine_set_private_key(struct wg_engine *e, const uint8_t *private_key)
{
	struct wg_peer *same;
	int ret;

	engine_clock(e);
	if (private_key != NULL && e->local.has_identity) {
		uint8_t clamped[NOISE_PUBLIC_KEY_LEN];
		bool unchanged;

		memcpy(clamped, private_key, sizeof(clamped));
		clamped[0] &= 248;
		clamped[31] = (clamped[31] & 127) | 64;
		unchanged = wg_ct_equal(clamped, e->local.private_key, sizeof(clamped));
		wg_memzero(clamped, sizeof(clamped));
		if (unchanged)
			return 0;
	}
	ret = wg_noise_local_set_private_key(&e->local, private_key);
	if (e->local.has_identity) {
		/* A peer with our own public key is removed, as the kernel does. */
		same = wg_peers_lookup(e->peers, e->local.public_key);
		if (same != NULL && wg_engine_peer_is_ours(e, same))
			wg_engine_peer_remove(e, same);
	}
	wg_cookie_checker_precompute_device_keys(&e->checker,
		e->local.has_identity ? e->local.public_key : NULL);
	wg_peers_foreach(e->peers, expire_cb, e);
	return ret;
}

bool
wg_engine_public_key(const struct wg_engine *e, uint8_t out[32])
{
	if (!e->local.has_identity)
		return false;
	memcpy(out, e->local.public_key, NOISE_PUBLIC_KEY_LEN);
	return true;
}

static void
peer_setup(struct wg_engine *e, struct wg_peer *peer, const struct wg_conf_peer *cp)
{
	wg_noise_handshake_init(&peer->handshake, &e->local, cp->public_key,
		cp->has_psk ? cp->psk : NULL, peer);
	wg_noise_keypairs_init(&peer->keypairs);
	wg_cookie_init(&peer->cookie, cp->public_key);
	memset(&peer->ep, 0, sizeof(peer->ep));
	wg_engine_set_endpoint(peer, &cp->endpoint);
	peer->last_handshake_sec = 0;
	peer->last_handshake_nsec = 0;
	memset(&peer->staged, 0, sizeof(peer->staged));
	wg_timers_init(peer);
	memset(&peer->wk, 0, sizeof(peer->wk));
}

static int
add_allowed(struct wg_engine *e, struct wg_peer *peer, const struct wg_conf_peer *cp)
{
	uint32_t i;
	int ret;

	if (e->allowedips == NULL)
		return 0;
	for (i = 0; i < cp->n_allowed; i++) {
		ret = wg_allowedips_insert(e->allowedips, peer->id, &cp->allowed[i]);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int
wg_engine_peer_add(struct wg_engine *e, const struct wg_conf_peer *cp, struct wg_peer **out)
{
	struct wg_peer *tmpl, *peer;
	int ret;

	if (e->local.has_identity &&
			wg_ct_equal(cp->public_key, e->local.public_key, NOISE_PUBLIC_KEY_LEN))
		return -EINVAL;
	tmpl = aligned_alloc(64, RTE_ALIGN_CEIL(sizeof(*tmpl), 64));
	if (tmpl == NULL)
		return -ENOMEM;
	memset(tmpl, 0, sizeof(*tmpl));
	memcpy(tmpl->public_key, cp->public_key, NOISE_PUBLIC_KEY_LEN);
	if (cp->has_psk)
		memcpy(tmpl->preshared_key, cp->psk, NOISE_SYMMETRIC_KEY_LEN);
	tmpl->has_psk = cp->has_psk;
	tmpl->endpoint = cp->endpoint;
	tmpl->persistent_keepalive = cp->persistent_keepalive;
	tmpl->name = (char *)(uintptr_t)cp->name;
	ret = wg_peers_add(e->peers, tmpl, &peer);
	wg_memzero(tmpl, sizeof(*tmpl));
	free(tmpl);
	if (ret != 0)
		return ret;
	peer_setup(e, peer, cp);
	ret = add_allowed(e, peer, cp);
	if (ret != 0) {
		wg_engine_peer_remove(e, peer);
		return ret;
	}
	if (out != NULL)
		*out = peer;
	return 0;
}

int
wg_engine_peer_adopt(struct wg_engine *e, struct wg_peer *peer)
{
	struct wg_conf_peer cp;

	if (wg_engine_peer_is_ours(e, peer))
		return -EEXIST;
	if (e->local.has_identity &&
			wg_ct_equal(peer->public_key, e->local.public_key, NOISE_PUBLIC_KEY_LEN))
		return -EINVAL;
	memset(&cp, 0, sizeof(cp));
	memcpy(cp.public_key, peer->public_key, NOISE_PUBLIC_KEY_LEN);
	cp.has_psk = peer->has_psk;
	if (peer->has_psk)
		memcpy(cp.psk, peer->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
	cp.endpoint = peer->endpoint;
	peer_setup(e, peer, &cp);
	wg_memzero(cp.psk, sizeof(cp.psk));
	return 0;
}

int
wg_engine_peer_remove(struct wg_engine *e, struct wg_peer *peer)
{
	if (peer == NULL || wg_peers_get(e->peers, peer->id) != peer)
		return -ENOENT;
	engine_clock(e);
	/* Allowed IPs first, so no reader maps an address to the id once it is reused. */
	if (e->allowedips != NULL)
		wg_allowedips_remove_peer(e->allowedips, peer->id);
	if (wg_engine_peer_is_ours(e, peer))
		peer_teardown(e, peer);
	return wg_peers_remove(e->peers, peer->id);
}

void
wg_engine_peer_set_endpoint(struct wg_engine *e, struct wg_peer *peer,
	const struct wg_endpoint *ep)
{
	(void)e;
	peer->endpoint = *ep;
	wg_engine_set_endpoint(peer, ep);
}

void
wg_engine_peer_set_psk(struct wg_engine *e, struct wg_peer *peer, const uint8_t *psk)
{
	(void)e;
	wg_noise_handshake_set_preshared_key(&peer->handshake, psk);
	peer->has_psk = psk != NULL;
	if (psk != NULL)
		memcpy(peer->preshared_key, psk, NOISE_SYMMETRIC_KEY_LEN);
	else
		wg_memzero(peer->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
}

void
wg_engine_peer_set_persistent_keepalive(struct wg_engine *e, struct wg_peer *peer,
	uint16_t seconds)
{
	bool was_off = peer->persistent_keepalive == 0;

	engine_clock(e);
	peer->persistent_keepalive = seconds;
	if (was_off && seconds != 0)
		wg_send_keepalive(e, peer);
}

void
wg_engine_stats_get(const struct wg_engine *e, struct wg_engine_stats *out)
{
	*out = e->stats;
}

struct wg_hold_budget *
wg_engine_hold_budget(struct wg_engine *e)
{
	return e->budget;
}

struct wg_index_rcu *
wg_engine_index(struct wg_engine *e)
{
	return e->index;
}
