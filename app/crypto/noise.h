/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Noise_IKpsk2 handshake of protocol.md §4, transport keypairs and the
 * three keypair slots of §4.6, timestamp replay (§7.1) and the 20 ms
 * initiation flood limit (§7.2).
 *
 * Threading. Handshake functions and every change to a struct noise_keypairs
 * run on one thread at a time per device (the control lcore): they are the
 * only writers. Workers read the slots with atomic loads and, on a published
 * keypair, touch only the send counter (wg_noise_keypair_nonce_reserve), the
 * replay window (wg_noise_keypair_replay_check) and the valid flags. A
 * destroyed keypair is unpublished first, then handed to the retire callback,
 * which frees it once no reader can hold it (an RCU grace period).
 *
 * Receiver indices live in a table this module does not own: it calls the
 * struct noise_index_ops given to wg_noise_local_init() (index_table.h has a
 * single-threaded implementation).
 */
#ifndef WG_NOISE_H
#define WG_NOISE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "messages.h"
#include "crypto/replay.h"

enum { WG_NOISE_CACHE_LINE = 64 };

/* What a receiver index names. */
enum noise_index_type {
	NOISE_INDEX_HANDSHAKE = 1 << 0,
	NOISE_INDEX_KEYPAIR = 1 << 1,
};

/* Embedded in a handshake or a keypair; the index table stores pointers to it. */
struct noise_index_entry {
	void *owner;            /* the peer, opaque to this module */
	uint32_t index;         /* the local index, chosen by the table */
	uint8_t type;           /* enum noise_index_type */
};

/*
 * The receiver-index table, implemented by the caller. All calls come from
 * the handshake thread.
 */
struct noise_index_ops {
	/* Give e a fresh random index unused in the table, insert it: 0 or -ENOSPC. */
	int (*insert)(void *table, struct noise_index_entry *e);
	/*
	 * Insert e under the given index: 0, or -EEXIST if it is taken. Used by
	 * the deterministic test hooks only; may be NULL.
	 */
	int (*insert_at)(void *table, struct noise_index_entry *e, uint32_t index);
	/* Put new_e where old_e is, under the same index (new_e->index is set). */
	void (*replace)(void *table, struct noise_index_entry *old_e, struct noise_index_entry *new_e);
	/* Remove e if it is in the table; anything else is a no-op. */
	void (*remove)(void *table, struct noise_index_entry *e);
	/* The entry with this index whose type is in type_mask, or NULL. */
	struct noise_index_entry *(*lookup)(void *table, uint32_t index, unsigned int type_mask);
};

struct noise_keypair;
struct noise_handshake;

/* Receives each destroyed keypair, already unpublished and out of the index table. */
typedef void (*noise_retire_fn)(void *arg, struct noise_keypair *kp);
/* The configured peer with this static public key, or NULL. */
typedef struct noise_handshake *(*noise_peer_lookup_fn)(void *arg, const uint8_t pub[32]);
/*
 * Test hook: sees every chaining key, hash and key in protocol order, with
 * the labels of tests/vectors/handshake_kat.json.
 */
typedef void (*noise_trace_fn)(void *arg, const char *label, const uint8_t value[32]);

/* The device: its static identity, the index table and the callbacks. */
struct noise_local {
	uint8_t private_key[NOISE_PUBLIC_KEY_LEN];      /* clamped */
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
	bool has_identity;
	uint64_t generation;    /* changes with the private key: cached SS values go stale */
	const struct noise_index_ops *index_ops;
	void *index_table;
	noise_peer_lookup_fn lookup_peer;
	void *lookup_arg;
	noise_retire_fn retire;
	void *retire_arg;
	noise_trace_fn trace;   /* NULL unless a test sets it */
	void *trace_arg;
};

enum noise_handshake_state {
	NOISE_HANDSHAKE_ZEROED,
	NOISE_HANDSHAKE_CREATED_INITIATION,
	NOISE_HANDSHAKE_CONSUMED_INITIATION,
	NOISE_HANDSHAKE_CREATED_RESPONSE,
	NOISE_HANDSHAKE_CONSUMED_RESPONSE,
};

/* Per peer, embedded by the caller in its peer struct. */
struct noise_handshake {
	struct noise_index_entry entry;
	struct noise_local *local;
	enum noise_handshake_state state;
	uint32_t remote_index;
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	/* DH(local static, remote static), computed at the first handshake. */
	uint8_t precomputed_ss[NOISE_PUBLIC_KEY_LEN];
	uint64_t ss_generation;
	bool ss_computed;
	/* In-flight state, zeroed once the keypair is derived. */
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	/* Kept for the peer's lifetime (§7.1, §7.2). */
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];
	uint64_t last_initiation_consumption;   /* protocol clock */
	bool has_consumed_initiation;
};

/*
 * A transport session. Everything but the send counter, the replay window and
 * the valid flags is fixed before the keypair is published.
 */
struct noise_keypair {
	/*
	 * Line 0, read by every worker and written only before publication
	 * (the valid flags: when the keypair is retired): what the receive path
	 * needs, and what the send path reads besides its own line.
	 */
	struct noise_index_entry entry;         /* entry.index: the local index */
	uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN];
	uint64_t birth;                         /* protocol clock at derivation */
	uint32_t remote_index;
	bool i_am_initiator;
	_Atomic bool sending_valid;
	_Atomic bool receiving_valid;
	/* Line 1, the sending workers': the counter each of them advances, and the key. */
	alignas(WG_NOISE_CACHE_LINE) _Atomic uint64_t send_counter;
	uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN];
	struct noise_local *local;
	alignas(WG_NOISE_CACHE_LINE) atomic_flag replay_lock;
	struct wg_replay replay;
};

struct noise_keypairs {
	_Atomic(struct noise_keypair *) previous;
	_Atomic(struct noise_keypair *) current;
	_Atomic(struct noise_keypair *) next;
};

/* The most nonces one reservation may take (bounds overshoot past the limit). */
enum { WG_NOISE_NONCE_BURST_MAX = 128 };

/* --- device --- */

/* index_ops, index_table and lookup_peer are required; no identity yet. */
void wg_noise_local_init(struct noise_local *local, const struct noise_index_ops *index_ops,
			 void *index_table, noise_peer_lookup_fn lookup_peer, void *lookup_arg);
/*
 * Set (private_key != NULL, stored clamped) or remove (NULL) the static
 * identity. Cached static-static values of every peer are recomputed at their
 * next handshake. 0, or -EINVAL for an all-zero key, which removes the
 * identity as in the kernel. The caller also clears handshakes and expires
 * keypairs (wg_noise_keypairs_expire_current) as the kernel does.
 */
int wg_noise_local_set_private_key(struct noise_local *local, const uint8_t *private_key);
/* Replace the default retire callback (wg_noise_keypair_free). */
void wg_noise_local_set_retire(struct noise_local *local, noise_retire_fn fn, void *arg);
void wg_noise_local_set_trace(struct noise_local *local, noise_trace_fn fn, void *arg);
/* Wipe the identity. */
void wg_noise_local_destroy(struct noise_local *local);

/* --- handshake --- */

/* preshared_key NULL: no psk (32 zero bytes). owner: the peer, given back by lookups. */
void wg_noise_handshake_init(struct noise_handshake *hs, struct noise_local *local,
			     const uint8_t remote_static[32], const uint8_t *preshared_key, void *owner);
void wg_noise_handshake_set_preshared_key(struct noise_handshake *hs, const uint8_t *preshared_key);
/* Forget the in-flight handshake and its index; keeps timestamps and keys. */
void wg_noise_handshake_clear(struct noise_handshake *hs);
/* Clear and wipe everything, before the peer is freed. */
void wg_noise_handshake_destroy(struct noise_handshake *hs);

/*
 * Results of the functions below: 0 on success, else
 *   -ENOKEY   no local identity,
 *   -EINVAL   an all-zero DH result (low-order key) or unusable static-static value,
 *   -EBADMSG  an AEAD tag did not verify,
 *   -ENOENT   unknown peer or receiver index,
 *   -EALREADY timestamp not newer than the last accepted one (replay),
 *   -EBUSY    initiation less than 20 ms after the last consumed one (flood),
 *   -EPROTO   the handshake is not in the state this step needs,
 *   -ENOSPC / -EEXIST  no index could be allocated,
 *   -ENOMEM.
 * Nothing in the handshake changes unless the result is 0. mac1 and mac2 are
 * left zero: cookie.h adds them.
 */

/* Message 1 with a fresh ephemeral, the current TAI64N time and a new index. */
int wg_noise_handshake_create_initiation(struct message_handshake_initiation *dst,
					 struct noise_handshake *hs) __attribute__((warn_unused_result));
/* Message 1 (mac1 already checked): on success *hs_out is the sending peer's handshake. */
int wg_noise_handshake_consume_initiation(struct noise_local *local,
					  const struct message_handshake_initiation *src,
					  struct noise_handshake **hs_out) __attribute__((warn_unused_result));
/* Message 2 after a consumed initiation, with a fresh ephemeral and a new index. */
int wg_noise_handshake_create_response(struct message_handshake_response *dst,
				       struct noise_handshake *hs) __attribute__((warn_unused_result));
/* Message 2 (mac1 already checked): the handshake is found by receiver index. */
int wg_noise_handshake_consume_response(struct noise_local *local,
					const struct message_handshake_response *src,
					struct noise_handshake **hs_out) __attribute__((warn_unused_result));
/*
 * After create_response or consume_response: derive the keypair (§4.5), move
 * the handshake's index to it, zero the handshake and install the keypair in
 * the slots (§4.6).
 */
int wg_noise_handshake_begin_session(struct noise_handshake *hs, struct noise_keypairs *keypairs)
	__attribute__((warn_unused_result));

/*
 * Deterministic variants for tests: the ephemeral private key, the timestamp
 * and the sender index are given instead of drawn (the index through
 * index_ops->insert_at).
 */
int wg_noise_handshake_create_initiation_fixed(struct message_handshake_initiation *dst,
					       struct noise_handshake *hs,
					       const uint8_t ephemeral_private[32],
					       const uint8_t timestamp[12], uint32_t sender_index)
	__attribute__((warn_unused_result));
int wg_noise_handshake_create_response_fixed(struct message_handshake_response *dst,
					     struct noise_handshake *hs,
					     const uint8_t ephemeral_private[32], uint32_t sender_index)
	__attribute__((warn_unused_result));

/* --- keypairs --- */

void wg_noise_keypairs_init(struct noise_keypairs *keypairs);
/*
 * First authenticated, replay-checked packet received on kp: when kp is
 * `next`, rotate it into `current` (the responder's key confirmation) and
 * return true: the handshake is complete.
 */
bool wg_noise_received_with_keypair(struct noise_keypairs *keypairs, struct noise_keypair *kp);
/* Destroy all three keypairs (key material zeroing, peer removal). */
void wg_noise_keypairs_clear(struct noise_keypairs *keypairs);
/* Stop sending on current and next (the local private key changed). */
void wg_noise_keypairs_expire_current(struct noise_keypairs *keypairs);
/* The default retire callback: wipe and free at once (no concurrent readers). */
void wg_noise_keypair_free(void *arg, struct noise_keypair *kp);

/* The keypair to send with, or NULL: only `current` is ever used. */
static inline struct noise_keypair *
wg_noise_keypairs_current(struct noise_keypairs *keypairs)
{
	return atomic_load_explicit(&keypairs->current, memory_order_acquire);
}

/*
 * Reserve n consecutive nonces (1 <= n <= WG_NOISE_NONCE_BURST_MAX) with one
 * fetch-add: *first receives the first. false, and the keypair stops sending,
 * once the last of them would reach REJECT_AFTER_MESSAGES.
 */
bool wg_noise_keypair_nonce_reserve(struct noise_keypair *kp, uint32_t n, uint64_t *first)
	__attribute__((warn_unused_result));
/*
 * Replay window (§6.2) for a counter whose packet authenticated; safe when
 * several threads receive on the keypair. Once the counter limit is reached
 * the keypair stops receiving.
 */
bool wg_noise_keypair_replay_check(struct noise_keypair *kp, uint64_t counter)
	__attribute__((warn_unused_result));
/* Valid for sending and younger than REJECT_AFTER_TIME. */
bool wg_noise_keypair_send_usable(struct noise_keypair *kp, uint64_t now)
	__attribute__((warn_unused_result));
/* Valid for receiving and younger than REJECT_AFTER_TIME. */
bool wg_noise_keypair_receive_usable(struct noise_keypair *kp, uint64_t now)
	__attribute__((warn_unused_result));

#endif
