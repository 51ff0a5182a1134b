/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (protocol.md §4).
 * Every step works on local copies of C, H and k; the handshake is written
 * only once every check of a message has passed, and the copies are wiped at
 * the one `out:` label of each function.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/clock.h"
#include "crypto/ct.h"
#include "crypto/noise.h"
#include "crypto/tai64n.h"
#include "crypto/x25519.h"

_Static_assert(offsetof(struct noise_keypair, receiving_valid) < WG_NOISE_CACHE_LINE &&
	offsetof(struct noise_keypair, send_key) + NOISE_SYMMETRIC_KEY_LEN <=
		2 * WG_NOISE_CACHE_LINE,
	"a worker reads one line of a keypair to receive, two to send");
_Static_assert(sizeof(struct noise_keypair) % WG_NOISE_CACHE_LINE == 0,
	       "keypairs are allocated whole cache lines at a time");

/* The trace labels are those of tests/vectors/handshake_kat.json. */
#define L_C0 "C0 = HASH(CONSTRUCTION)"
#define L_H0 "H0 = HASH(C0||IDENTIFIER)"
#define L_H_SR "H = HASH(H||Sr_pub)"
#define L_C_EI "C = KDF1(C, Ei_pub)"
#define L_H_EI "H = HASH(H||Ei_pub)"
#define L_C_ES "C,k = KDF2(C, DH(Ei_priv,Sr_pub))  C"
#define L_C_SS "C,k = KDF2(C, DH(Si_priv,Sr_pub))  C"
#define L_K "  k"
#define L_H_STATIC "H = HASH(H||encrypted_static)"
#define L_H_TS "H = HASH(H||encrypted_timestamp)"
#define L_C_ER "C = KDF1(C, Er_pub)"
#define L_H_ER "H = HASH(H||Er_pub)"
#define L_C_EE "C = KDF1(C, DH(Er_priv,Ei_pub))"
#define L_C_SE "C = KDF1(C, DH(Er_priv,Si_pub))"
#define L_C_PSK "C,tau,k = KDF3(C, Q=psk)  C"
#define L_TAU "  tau"
#define L_H_TAU "H = HASH(H||tau)"
#define L_H_EMPTY "H = HASH(H||encrypted_nothing)"
#define L_T1 "T_send(initiator) = T_recv(responder)"
#define L_T2 "T_recv(initiator) = T_send(responder)"

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static uint8_t initial_chaining_key[NOISE_HASH_LEN];
static uint8_t initial_hash[NOISE_HASH_LEN];
static pthread_once_t initial_once = PTHREAD_ONCE_INIT;

/* C0 = HASH(CONSTRUCTION), H0 = HASH(C0 || IDENTIFIER). */
static void
compute_initial(void)
{
	wg_hash(initial_chaining_key, NOISE_CONSTRUCTION, strlen(NOISE_CONSTRUCTION));
	wg_hash2(initial_hash, initial_chaining_key, NOISE_HASH_LEN, NOISE_IDENTIFIER,
		 strlen(NOISE_IDENTIFIER));
}

static void
trace(const struct noise_local *local, const char *label, const uint8_t v[32])
{
	if (local->trace != NULL)
		local->trace(local->trace_arg, label, v);
}

/* C = C0, H = HASH(H0 || responder's static public key). */
static void
handshake_start(const struct noise_local *local, uint8_t c[32], uint8_t h[32],
		const uint8_t responder_static[32])
{
	memcpy(c, initial_chaining_key, NOISE_HASH_LEN);
	memcpy(h, initial_hash, NOISE_HASH_LEN);
	trace(local, L_C0, c);
	trace(local, L_H0, h);
	wg_hash2(h, h, NOISE_HASH_LEN, responder_static, NOISE_PUBLIC_KEY_LEN);
	trace(local, L_H_SR, h);
}

static void
mix_hash(const struct noise_local *local, uint8_t h[32], const void *src, size_t len,
	 const char *label)
{
	wg_hash2(h, h, NOISE_HASH_LEN, src, len);
	trace(local, label, h);
}

/* C = KDF1(C, input). */
static void
mix_key1(const struct noise_local *local, uint8_t c[32], const uint8_t input[32],
	 const char *label)
{
	wg_kdf(c, NULL, NULL, c, NOISE_HASH_LEN, input, NOISE_PUBLIC_KEY_LEN);
	trace(local, label, c);
}

/* (C, k) = KDF2(C, input). */
static void
mix_key2(const struct noise_local *local, uint8_t c[32], uint8_t k[32], const uint8_t input[32],
	 const char *label)
{
	wg_kdf(c, k, NULL, c, NOISE_HASH_LEN, input, NOISE_PUBLIC_KEY_LEN);
	trace(local, label, c);
	trace(local, L_K, k);
}

/* (C, tau, k) = KDF3(C, Q); H = HASH(H || tau). */
static void
mix_psk(const struct noise_local *local, uint8_t c[32], uint8_t h[32], uint8_t k[32],
	const uint8_t psk[32])
{
	uint8_t tau[NOISE_HASH_LEN];

	wg_kdf(c, tau, k, c, NOISE_HASH_LEN, psk, NOISE_SYMMETRIC_KEY_LEN);
	trace(local, L_C_PSK, c);
	trace(local, L_TAU, tau);
	trace(local, L_K, k);
	mix_hash(local, h, tau, sizeof(tau), L_H_TAU);
	wg_memzero(tau, sizeof(tau));
}

/*
 * The static-static DH, computed at the peer's first handshake and again
 * after the local private key changed. false when it is all zero: no
 * handshake with that peer can succeed (§1.1).
 */
static bool
static_static_ready(struct noise_handshake *hs)
{
	struct noise_local *local = hs->local;

	if (!hs->ss_computed || hs->ss_generation != local->generation) {
		/* wg_x25519 zeroes the output when it fails. */
		if (!wg_x25519(hs->precomputed_ss, local->private_key, hs->remote_static))
			wg_memzero(hs->precomputed_ss, sizeof(hs->precomputed_ss));
		hs->ss_generation = local->generation;
		hs->ss_computed = true;
	}
	return !wg_ct_is_zero(hs->precomputed_ss, sizeof(hs->precomputed_ss));
}

/* Forget the in-flight state; the index-table entry is the caller's business. */
static void
handshake_zero(struct noise_handshake *hs)
{
	wg_memzero(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	wg_memzero(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	wg_memzero(hs->hash, sizeof(hs->hash));
	wg_memzero(hs->chaining_key, sizeof(hs->chaining_key));
	hs->remote_index = 0;
	hs->state = NOISE_HANDSHAKE_ZEROED;
}

/* A new index for the handshake, replacing its previous one (§9.4). */
static int
handshake_new_index(struct noise_handshake *hs, const uint32_t *fixed_index)
{
	struct noise_local *local = hs->local;

	local->index_ops->remove(local->index_table, &hs->entry);
	if (fixed_index == NULL)
		return local->index_ops->insert(local->index_table, &hs->entry);
	if (local->index_ops->insert_at == NULL)
		return -ENOSPC;
	return local->index_ops->insert_at(local->index_table, &hs->entry, *fixed_index);
}

void
wg_noise_local_init(struct noise_local *local, const struct noise_index_ops *index_ops,
		    void *index_table, noise_peer_lookup_fn lookup_peer, void *lookup_arg)
{
	pthread_once(&initial_once, compute_initial);
	memset(local, 0, sizeof(*local));
	local->index_ops = index_ops;
	local->index_table = index_table;
	local->lookup_peer = lookup_peer;
	local->lookup_arg = lookup_arg;
	local->retire = wg_noise_keypair_free;
}

int
wg_noise_local_set_private_key(struct noise_local *local, const uint8_t *private_key)
{
	uint8_t pub[NOISE_PUBLIC_KEY_LEN];

	local->generation++;
	/* As the kernel: the unclamped key decides, and all zeros means no identity. */
	if (private_key == NULL || !wg_x25519_public(pub, private_key)) {
		wg_memzero(local->private_key, sizeof(local->private_key));
		memset(local->public_key, 0, sizeof(local->public_key));
		local->has_identity = false;
		return private_key == NULL ? 0 : -EINVAL;
	}
	memcpy(local->private_key, private_key, sizeof(local->private_key));
	wg_x25519_clamp(local->private_key);
	memcpy(local->public_key, pub, sizeof(pub));
	local->has_identity = true;
	return 0;
}

void
wg_noise_local_set_retire(struct noise_local *local, noise_retire_fn fn, void *arg)
{
	local->retire = fn != NULL ? fn : wg_noise_keypair_free;
	local->retire_arg = arg;
}

void
wg_noise_local_set_trace(struct noise_local *local, noise_trace_fn fn, void *arg)
{
	local->trace = fn;
	local->trace_arg = arg;
}

void
wg_noise_local_destroy(struct noise_local *local)
{
	wg_memzero(local, sizeof(*local));
}

void
wg_noise_handshake_init(struct noise_handshake *hs, struct noise_local *local,
			const uint8_t remote_static[32], const uint8_t *preshared_key, void *owner)
{
	pthread_once(&initial_once, compute_initial);
	memset(hs, 0, sizeof(*hs));
	hs->local = local;
	hs->entry.owner = owner;
	hs->entry.type = NOISE_INDEX_HANDSHAKE;
	hs->state = NOISE_HANDSHAKE_ZEROED;
	memcpy(hs->remote_static, remote_static, NOISE_PUBLIC_KEY_LEN);
	wg_noise_handshake_set_preshared_key(hs, preshared_key);
}

void
wg_noise_handshake_set_preshared_key(struct noise_handshake *hs, const uint8_t *preshared_key)
{
	if (preshared_key != NULL)
		memcpy(hs->preshared_key, preshared_key, NOISE_SYMMETRIC_KEY_LEN);
	else
		wg_memzero(hs->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
}

void
wg_noise_handshake_clear(struct noise_handshake *hs)
{
	hs->local->index_ops->remove(hs->local->index_table, &hs->entry);
	handshake_zero(hs);
}

void
wg_noise_handshake_destroy(struct noise_handshake *hs)
{
	wg_noise_handshake_clear(hs);
	wg_memzero(hs, sizeof(*hs));
}

static int
create_initiation(struct message_handshake_initiation *dst, struct noise_handshake *hs,
		  const uint8_t ephemeral_private[32], const uint8_t timestamp[12],
		  const uint32_t *fixed_index)
{
	struct noise_local *local = hs->local;
	uint8_t c[NOISE_HASH_LEN], h[NOISE_HASH_LEN], k[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t dh[NOISE_PUBLIC_KEY_LEN];
	int ret = -ENOKEY;

	if (!local->has_identity)
		goto out;
	ret = -EINVAL;
	if (!static_static_ready(hs))
		goto out;

	memset(dst, 0, sizeof(*dst));
	dst->header.type = MESSAGE_HANDSHAKE_INITIATION;
	handshake_start(local, c, h, hs->remote_static);

	/* e */
	if (!wg_x25519_public(dst->unencrypted_ephemeral, ephemeral_private))
		goto out;
	mix_key1(local, c, dst->unencrypted_ephemeral, L_C_EI);
	mix_hash(local, h, dst->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN, L_H_EI);

	/* es */
	if (!wg_x25519(dh, ephemeral_private, hs->remote_static))
		goto out;
	mix_key2(local, c, k, dh, L_C_ES);

	/* s */
	wg_aead_encrypt(dst->encrypted_static, local->public_key, NOISE_PUBLIC_KEY_LEN, h,
			NOISE_HASH_LEN, 0, k);
	mix_hash(local, h, dst->encrypted_static, sizeof(dst->encrypted_static), L_H_STATIC);

	/* ss */
	mix_key2(local, c, k, hs->precomputed_ss, L_C_SS);

	/* {t} */
	wg_aead_encrypt(dst->encrypted_timestamp, timestamp, NOISE_TIMESTAMP_LEN, h,
			NOISE_HASH_LEN, 0, k);
	mix_hash(local, h, dst->encrypted_timestamp, sizeof(dst->encrypted_timestamp), L_H_TS);

	ret = handshake_new_index(hs, fixed_index);
	if (ret < 0) {
		/* The old index is gone: so is the handshake it named. */
		handshake_zero(hs);
		goto out;
	}
	dst->sender_index = hs->entry.index;

	memcpy(hs->chaining_key, c, sizeof(c));
	memcpy(hs->hash, h, sizeof(h));
	memcpy(hs->ephemeral_private, ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	hs->state = NOISE_HANDSHAKE_CREATED_INITIATION;
	ret = 0;
out:
	wg_memzero(c, sizeof(c));
	wg_memzero(h, sizeof(h));
	wg_memzero(k, sizeof(k));
	wg_memzero(dh, sizeof(dh));
	return ret;
}

int
wg_noise_handshake_create_initiation(struct message_handshake_initiation *dst,
				     struct noise_handshake *hs)
{
	uint8_t e[NOISE_PUBLIC_KEY_LEN], ts[NOISE_TIMESTAMP_LEN];
	int ret;

	wg_x25519_generate(e);
	wg_tai64n_now(ts);
	ret = create_initiation(dst, hs, e, ts, NULL);
	wg_memzero(e, sizeof(e));
	return ret;
}

int
wg_noise_handshake_create_initiation_fixed(struct message_handshake_initiation *dst,
					   struct noise_handshake *hs,
					   const uint8_t ephemeral_private[32],
					   const uint8_t timestamp[12], uint32_t sender_index)
{
	return create_initiation(dst, hs, ephemeral_private, timestamp, &sender_index);
}

int
wg_noise_handshake_consume_initiation(struct noise_local *local,
				      const struct message_handshake_initiation *src,
				      struct noise_handshake **hs_out)
{
	uint8_t c[NOISE_HASH_LEN], h[NOISE_HASH_LEN], k[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t dh[NOISE_PUBLIC_KEY_LEN], e[NOISE_PUBLIC_KEY_LEN], s[NOISE_PUBLIC_KEY_LEN];
	uint8_t t[NOISE_TIMESTAMP_LEN];
	struct noise_handshake *hs;
	uint64_t now;
	int ret = -ENOKEY;

	*hs_out = NULL;
	if (!local->has_identity)
		goto out;
	handshake_start(local, c, h, local->public_key);

	/* e */
	memcpy(e, src->unencrypted_ephemeral, sizeof(e));
	mix_key1(local, c, e, L_C_EI);
	mix_hash(local, h, e, sizeof(e), L_H_EI);

	/* es */
	ret = -EINVAL;
	if (!wg_x25519(dh, local->private_key, e))
		goto out;
	mix_key2(local, c, k, dh, L_C_ES);

	/* s */
	ret = -EBADMSG;
	if (!wg_aead_decrypt(s, src->encrypted_static, sizeof(src->encrypted_static), h,
			     NOISE_HASH_LEN, 0, k))
		goto out;
	mix_hash(local, h, src->encrypted_static, sizeof(src->encrypted_static), L_H_STATIC);

	ret = -ENOENT;
	hs = local->lookup_peer(local->lookup_arg, s);
	if (hs == NULL)
		goto out;

	/* ss */
	ret = -EINVAL;
	if (!static_static_ready(hs))
		goto out;
	mix_key2(local, c, k, hs->precomputed_ss, L_C_SS);

	/* {t} */
	ret = -EBADMSG;
	if (!wg_aead_decrypt(t, src->encrypted_timestamp, sizeof(src->encrypted_timestamp), h,
			     NOISE_HASH_LEN, 0, k))
		goto out;
	mix_hash(local, h, src->encrypted_timestamp, sizeof(src->encrypted_timestamp), L_H_TS);

	/* §7.1: strictly newer than every timestamp accepted from this peer. */
	ret = -EALREADY;
	if (memcmp(t, hs->latest_timestamp, sizeof(t)) <= 0)
		goto out;
	/* §7.2: at most one initiation per 20 ms. */
	ret = -EBUSY;
	now = wg_clock_now();
	if (hs->has_consumed_initiation &&
	    hs->last_initiation_consumption + WG_NSEC_PER_SEC / INITIATIONS_PER_SECOND > now)
		goto out;

	memcpy(hs->remote_ephemeral, e, sizeof(e));
	memcpy(hs->latest_timestamp, t, sizeof(t));
	memcpy(hs->chaining_key, c, sizeof(c));
	memcpy(hs->hash, h, sizeof(h));
	hs->remote_index = src->sender_index;
	hs->last_initiation_consumption = now;
	hs->has_consumed_initiation = true;
	hs->state = NOISE_HANDSHAKE_CONSUMED_INITIATION;
	*hs_out = hs;
	ret = 0;
out:
	wg_memzero(c, sizeof(c));
	wg_memzero(h, sizeof(h));
	wg_memzero(k, sizeof(k));
	wg_memzero(dh, sizeof(dh));
	wg_memzero(t, sizeof(t));
	return ret;
}

static int
create_response(struct message_handshake_response *dst, struct noise_handshake *hs,
		const uint8_t ephemeral_private[32], const uint32_t *fixed_index)
{
	struct noise_local *local = hs->local;
	uint8_t c[NOISE_HASH_LEN], h[NOISE_HASH_LEN], k[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t dh[NOISE_PUBLIC_KEY_LEN];
	int ret = -ENOKEY;

	if (!local->has_identity)
		goto out;
	ret = -EPROTO;
	if (hs->state != NOISE_HANDSHAKE_CONSUMED_INITIATION)
		goto out;

	memcpy(c, hs->chaining_key, sizeof(c));
	memcpy(h, hs->hash, sizeof(h));
	memset(dst, 0, sizeof(*dst));
	dst->header.type = MESSAGE_HANDSHAKE_RESPONSE;
	dst->receiver_index = hs->remote_index;

	/* e */
	ret = -EINVAL;
	if (!wg_x25519_public(dst->unencrypted_ephemeral, ephemeral_private))
		goto out;
	mix_key1(local, c, dst->unencrypted_ephemeral, L_C_ER);
	mix_hash(local, h, dst->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN, L_H_ER);

	/* ee */
	if (!wg_x25519(dh, ephemeral_private, hs->remote_ephemeral))
		goto out;
	mix_key1(local, c, dh, L_C_EE);

	/* se */
	if (!wg_x25519(dh, ephemeral_private, hs->remote_static))
		goto out;
	mix_key1(local, c, dh, L_C_SE);

	/* psk */
	mix_psk(local, c, h, k, hs->preshared_key);

	/* {} */
	wg_aead_encrypt(dst->encrypted_nothing, dh, 0, h, NOISE_HASH_LEN, 0, k);
	mix_hash(local, h, dst->encrypted_nothing, sizeof(dst->encrypted_nothing), L_H_EMPTY);

	ret = handshake_new_index(hs, fixed_index);
	if (ret < 0) {
		handshake_zero(hs);
		goto out;
	}
	dst->sender_index = hs->entry.index;

	memcpy(hs->chaining_key, c, sizeof(c));
	memcpy(hs->hash, h, sizeof(h));
	memcpy(hs->ephemeral_private, ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	hs->state = NOISE_HANDSHAKE_CREATED_RESPONSE;
	ret = 0;
out:
	wg_memzero(c, sizeof(c));
	wg_memzero(h, sizeof(h));
	wg_memzero(k, sizeof(k));
	wg_memzero(dh, sizeof(dh));
	return ret;
}

int
wg_noise_handshake_create_response(struct message_handshake_response *dst,
				   struct noise_handshake *hs)
{
	uint8_t e[NOISE_PUBLIC_KEY_LEN];
	int ret;

	wg_x25519_generate(e);
	ret = create_response(dst, hs, e, NULL);
	wg_memzero(e, sizeof(e));
	return ret;
}

int
wg_noise_handshake_create_response_fixed(struct message_handshake_response *dst,
					 struct noise_handshake *hs,
					 const uint8_t ephemeral_private[32], uint32_t sender_index)
{
	return create_response(dst, hs, ephemeral_private, &sender_index);
}

int
wg_noise_handshake_consume_response(struct noise_local *local,
				    const struct message_handshake_response *src,
				    struct noise_handshake **hs_out)
{
	uint8_t c[NOISE_HASH_LEN], h[NOISE_HASH_LEN], k[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t dh[NOISE_PUBLIC_KEY_LEN], e[NOISE_PUBLIC_KEY_LEN];
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	struct noise_index_entry *entry;
	struct noise_handshake *hs;
	int ret = -ENOKEY;

	*hs_out = NULL;
	if (!local->has_identity)
		goto out;
	ret = -ENOENT;
	entry = local->index_ops->lookup(local->index_table, src->receiver_index,
					 NOISE_INDEX_HANDSHAKE);
	if (entry == NULL)
		goto out;
	hs = container_of(entry, struct noise_handshake, entry);
	ret = -EPROTO;
	if (hs->state != NOISE_HANDSHAKE_CREATED_INITIATION)
		goto out;

	memcpy(c, hs->chaining_key, sizeof(c));
	memcpy(h, hs->hash, sizeof(h));
	memcpy(ephemeral_private, hs->ephemeral_private, sizeof(ephemeral_private));

	/* e */
	memcpy(e, src->unencrypted_ephemeral, sizeof(e));
	mix_key1(local, c, e, L_C_ER);
	mix_hash(local, h, e, sizeof(e), L_H_ER);

	/* ee */
	ret = -EINVAL;
	if (!wg_x25519(dh, ephemeral_private, e))
		goto out;
	mix_key1(local, c, dh, L_C_EE);

	/* se */
	if (!wg_x25519(dh, local->private_key, e))
		goto out;
	mix_key1(local, c, dh, L_C_SE);

	/* psk */
	mix_psk(local, c, h, k, hs->preshared_key);

	/* {} */
	ret = -EBADMSG;
	if (!wg_aead_decrypt(dh, src->encrypted_nothing, sizeof(src->encrypted_nothing), h,
			     NOISE_HASH_LEN, 0, k))
		goto out;
	mix_hash(local, h, src->encrypted_nothing, sizeof(src->encrypted_nothing), L_H_EMPTY);

	memcpy(hs->remote_ephemeral, e, sizeof(e));
	memcpy(hs->chaining_key, c, sizeof(c));
	memcpy(hs->hash, h, sizeof(h));
	hs->remote_index = src->sender_index;
	hs->state = NOISE_HANDSHAKE_CONSUMED_RESPONSE;
	*hs_out = hs;
	ret = 0;
out:
	wg_memzero(c, sizeof(c));
	wg_memzero(h, sizeof(h));
	wg_memzero(k, sizeof(k));
	wg_memzero(dh, sizeof(dh));
	wg_memzero(ephemeral_private, sizeof(ephemeral_private));
	return ret;
}

/* Unpublished already: stop it, drop its index, hand it to the retire callback. */
static void
keypair_destroy(struct noise_keypair *kp)
{
	struct noise_local *local;

	if (kp == NULL)
		return;
	local = kp->local;
	atomic_store_explicit(&kp->sending_valid, false, memory_order_relaxed);
	atomic_store_explicit(&kp->receiving_valid, false, memory_order_relaxed);
	local->index_ops->remove(local->index_table, &kp->entry);
	local->retire(local->retire_arg, kp);
}

void
wg_noise_keypair_free(void *arg, struct noise_keypair *kp)
{
	(void)arg;
	if (kp == NULL)
		return;
	wg_memzero(kp, sizeof(*kp));
	free(kp);
}

static struct noise_keypair *
slot_get(_Atomic(struct noise_keypair *) *slot)
{
	return atomic_load_explicit(slot, memory_order_relaxed);
}

static void
slot_set(_Atomic(struct noise_keypair *) *slot, struct noise_keypair *kp)
{
	/* Release: a reader that sees the pointer sees the whole keypair. */
	atomic_store_explicit(slot, kp, memory_order_release);
}

/* §4.6: the slot rotation of a freshly derived keypair. */
static void
add_new_keypair(struct noise_keypairs *kps, struct noise_keypair *kp)
{
	struct noise_keypair *previous = slot_get(&kps->previous);
	struct noise_keypair *current = slot_get(&kps->current);
	struct noise_keypair *next = slot_get(&kps->next);

	if (kp->i_am_initiator) {
		if (next != NULL) {
			/* We were also a responder meanwhile: its keypair stays receivable. */
			slot_set(&kps->next, NULL);
			slot_set(&kps->previous, next);
			slot_set(&kps->current, kp);
			keypair_destroy(current);
		} else {
			slot_set(&kps->previous, current);
			slot_set(&kps->current, kp);
		}
		keypair_destroy(previous);
	} else {
		/* Not used to send until the initiator confirms it. */
		slot_set(&kps->next, kp);
		slot_set(&kps->previous, NULL);
		keypair_destroy(next);
		keypair_destroy(previous);
	}
}

int
wg_noise_handshake_begin_session(struct noise_handshake *hs, struct noise_keypairs *keypairs)
{
	struct noise_local *local = hs->local;
	uint8_t t1[NOISE_SYMMETRIC_KEY_LEN], t2[NOISE_SYMMETRIC_KEY_LEN];
	struct noise_keypair *kp;
	bool initiator;
	int ret = -EPROTO;

	if (hs->state != NOISE_HANDSHAKE_CREATED_RESPONSE &&
	    hs->state != NOISE_HANDSHAKE_CONSUMED_RESPONSE)
		goto out;
	ret = -ENOMEM;
	kp = aligned_alloc(WG_NOISE_CACHE_LINE, sizeof(*kp));
	if (kp == NULL)
		goto out;
	memset(kp, 0, sizeof(*kp));
	initiator = hs->state == NOISE_HANDSHAKE_CONSUMED_RESPONSE;

	/* (T1, T2) = KDF2(C, ε): T1 protects initiator -> responder. */
	wg_kdf(t1, t2, NULL, hs->chaining_key, NOISE_HASH_LEN, NULL, 0);
	trace(local, L_T1, t1);
	trace(local, L_T2, t2);
	memcpy(kp->send_key, initiator ? t1 : t2, NOISE_SYMMETRIC_KEY_LEN);
	memcpy(kp->recv_key, initiator ? t2 : t1, NOISE_SYMMETRIC_KEY_LEN);

	kp->entry.owner = hs->entry.owner;
	kp->entry.type = NOISE_INDEX_KEYPAIR;
	kp->local = local;
	kp->birth = wg_clock_now();
	kp->remote_index = hs->remote_index;
	kp->i_am_initiator = initiator;
	atomic_init(&kp->send_counter, 0);
	atomic_flag_clear(&kp->replay_lock);
	wg_replay_init(&kp->replay);
	atomic_init(&kp->sending_valid, true);
	atomic_init(&kp->receiving_valid, true);

	/* The handshake's index now names the keypair (§4.5). */
	local->index_ops->replace(local->index_table, &hs->entry, &kp->entry);
	handshake_zero(hs);
	add_new_keypair(keypairs, kp);
	ret = 0;
out:
	wg_memzero(t1, sizeof(t1));
	wg_memzero(t2, sizeof(t2));
	return ret;
}

void
wg_noise_keypairs_init(struct noise_keypairs *keypairs)
{
	atomic_init(&keypairs->previous, NULL);
	atomic_init(&keypairs->current, NULL);
	atomic_init(&keypairs->next, NULL);
}

bool
wg_noise_received_with_keypair(struct noise_keypairs *keypairs, struct noise_keypair *kp)
{
	struct noise_keypair *previous;

	if (kp == NULL || kp != slot_get(&keypairs->next))
		return false;
	previous = slot_get(&keypairs->previous);
	slot_set(&keypairs->previous, slot_get(&keypairs->current));
	slot_set(&keypairs->current, kp);
	slot_set(&keypairs->next, NULL);
	keypair_destroy(previous);
	return true;
}

void
wg_noise_keypairs_clear(struct noise_keypairs *keypairs)
{
	struct noise_keypair *previous = slot_get(&keypairs->previous);
	struct noise_keypair *current = slot_get(&keypairs->current);
	struct noise_keypair *next = slot_get(&keypairs->next);

	slot_set(&keypairs->previous, NULL);
	slot_set(&keypairs->current, NULL);
	slot_set(&keypairs->next, NULL);
	keypair_destroy(previous);
	keypair_destroy(current);
	keypair_destroy(next);
}

void
wg_noise_keypairs_expire_current(struct noise_keypairs *keypairs)
{
	struct noise_keypair *current = slot_get(&keypairs->current);
	struct noise_keypair *next = slot_get(&keypairs->next);

	if (current != NULL)
		atomic_store_explicit(&current->sending_valid, false, memory_order_relaxed);
	if (next != NULL)
		atomic_store_explicit(&next->sending_valid, false, memory_order_relaxed);
}

bool
wg_noise_keypair_nonce_reserve(struct noise_keypair *kp, uint32_t n, uint64_t *first)
{
	uint64_t old;

	if (n == 0 || n > WG_NOISE_NONCE_BURST_MAX ||
	    !atomic_load_explicit(&kp->sending_valid, memory_order_relaxed))
		return false;
	/*
	 * A failed reservation still advances the counter; the valid flag
	 * stops further ones, so the overshoot is bounded by the number of
	 * racing senders times WG_NOISE_NONCE_BURST_MAX, far below the 2^13
	 * values between the limit and a wrap.
	 */
	old = atomic_fetch_add_explicit(&kp->send_counter, n, memory_order_relaxed);
	if (old >= REJECT_AFTER_MESSAGES || REJECT_AFTER_MESSAGES - old < n) {
		atomic_store_explicit(&kp->sending_valid, false, memory_order_relaxed);
		return false;
	}
	*first = old;
	return true;
}

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

bool
wg_noise_keypair_replay_check(struct noise_keypair *kp, uint64_t counter)
{
	bool ok;

	/* Uncontended when one worker receives the keypair: one atomic exchange. */
	while (atomic_flag_test_and_set_explicit(&kp->replay_lock, memory_order_acquire))
		cpu_relax();
	ok = wg_replay_check(&kp->replay, counter);
	atomic_flag_clear_explicit(&kp->replay_lock, memory_order_release);
	/* The last counter the window can take: nothing may follow it. */
	if (ok && counter == REJECT_AFTER_MESSAGES - 1)
		atomic_store_explicit(&kp->receiving_valid, false, memory_order_relaxed);
	return ok;
}

static bool
keypair_young(const struct noise_keypair *kp, uint64_t now)
{
	return now < kp->birth || now - kp->birth < (uint64_t)REJECT_AFTER_TIME * WG_NSEC_PER_SEC;
}

bool
wg_noise_keypair_send_usable(struct noise_keypair *kp, uint64_t now)
{
	return atomic_load_explicit(&kp->sending_valid, memory_order_relaxed) &&
	       atomic_load_explicit(&kp->send_counter, memory_order_relaxed) <
		       REJECT_AFTER_MESSAGES &&
	       keypair_young(kp, now);
}

bool
wg_noise_keypair_receive_usable(struct noise_keypair *kp, uint64_t now)
{
	return atomic_load_explicit(&kp->receiving_valid, memory_order_relaxed) &&
	       keypair_young(kp, now);
}
