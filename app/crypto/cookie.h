/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mac1, mac2 and cookie replies (protocol.md §5), kernel behaviour.
 *
 * The receiving side is a per-device struct wg_cookie_checker: it checks mac1
 * (always, in constant time) and mac2 against the cookie of the packet's
 * source, and builds cookie replies. The cookie secret is replaced lazily
 * once it is COOKIE_SECRET_MAX_AGE (120 s) old, by the protocol clock.
 *
 * The sending side is a per-peer struct wg_cookie: it adds mac1/mac2 to
 * outgoing handshake messages, remembers the last mac1 sent and takes the
 * cookie of a cookie reply, usable for mac2 for 115 s.
 *
 * The checker is thread-safe (a mutex around the secret); a peer's
 * struct wg_cookie belongs to the handshake thread.
 */
#ifndef WG_COOKIE_H
#define WG_COOKIE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"

/* The outer source of a handshake packet. */
struct wg_cookie_src {
	uint8_t family;         /* AF_INET or AF_INET6 */
	uint8_t addr[16];       /* network byte order; IPv4 uses the first 4 bytes */
	uint16_t port;          /* UDP source port, host byte order */
};

struct wg_cookie_checker {
	pthread_mutex_t lock;   /* guards secret and secret_birth */
	uint8_t secret[NOISE_HASH_LEN];
	uint64_t secret_birth;  /* protocol clock */
	uint8_t cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN];  /* HASH(LABEL_COOKIE || S_pub) */
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];       /* HASH(LABEL_MAC1 || S_pub) */
	bool has_keys;
};

struct wg_cookie {
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];       /* HASH(LABEL_MAC1 || peer S_pub) */
	uint8_t cookie_decryption_key[NOISE_SYMMETRIC_KEY_LEN];  /* HASH(LABEL_COOKIE || peer S_pub) */
	uint8_t cookie[COOKIE_LEN];
	uint64_t birth;         /* protocol clock when the cookie arrived */
	bool is_valid;
	uint8_t last_mac1_sent[WG_MAC_LEN];
	bool have_sent_mac1;
};

enum wg_cookie_mac_state {
	WG_COOKIE_INVALID_MAC,          /* bad mac1 (or length): drop silently */
	WG_COOKIE_VALID_MAC_NO_COOKIE,  /* mac1 good; mac2 unchecked, zero or wrong */
	WG_COOKIE_VALID_MAC_WITH_COOKIE, /* mac1 and mac2 good */
};

/* 0 or -errno (mutex). A random secret is drawn now. */
int wg_cookie_checker_init(struct wg_cookie_checker *checker);
void wg_cookie_checker_destroy(struct wg_cookie_checker *checker);
/* Derive the device keys from its static public key (NULL: none, every mac1 fails). */
void wg_cookie_checker_precompute_device_keys(struct wg_cookie_checker *checker,
					      const uint8_t *public_key);
/* Test hook: install a given secret born at the given protocol time. */
void wg_cookie_checker_set_secret(struct wg_cookie_checker *checker, const uint8_t secret[32],
				  uint64_t birth);

/*
 * Check a type 1 or type 2 message of exactly its length: mac1 always;
 * mac2 only when check_cookie (under load), against the cookie for src.
 */
enum wg_cookie_mac_state wg_cookie_validate_packet(struct wg_cookie_checker *checker,
						   const void *msg, size_t len,
						   const struct wg_cookie_src *src, bool check_cookie)
	__attribute__((warn_unused_result));

/*
 * The cookie reply to a type 1 or type 2 message (mac1 already checked) from
 * src: receiver_index is the message's sender index. 0, or -EINVAL for a bad
 * length or an unknown address family.
 */
int wg_cookie_message_create(struct message_handshake_cookie *dst, const void *msg, size_t len,
			     const struct wg_cookie_src *src, struct wg_cookie_checker *checker)
	__attribute__((warn_unused_result));
/* Test hook: the same with a given nonce. */
int wg_cookie_message_create_fixed(struct message_handshake_cookie *dst, const void *msg,
				   size_t len, const struct wg_cookie_src *src,
				   struct wg_cookie_checker *checker, const uint8_t nonce[24])
	__attribute__((warn_unused_result));

/* The peer's MAC keys from its static public key; no cookie yet. */
void wg_cookie_init(struct wg_cookie *cookie, const uint8_t peer_public_key[32]);
/* Wipe (peer removal). */
void wg_cookie_destroy(struct wg_cookie *cookie);
/*
 * Write mac1 and mac2 into an outgoing type 1 or type 2 message of length
 * len (mac2 zero unless a cookie younger than 115 s is held) and remember mac1.
 */
void wg_cookie_add_mac_to_packet(void *msg, size_t len, struct wg_cookie *cookie);
/*
 * Take the cookie of a reply addressed to this peer (the caller found the
 * peer by receiver index among handshake and keypair entries). 0, -EPROTO when
 * no mac1 is pending (none sent, or already answered), -EBADMSG when it does
 * not decrypt.
 */
int wg_cookie_message_consume(const struct message_handshake_cookie *src,
			      struct wg_cookie *cookie) __attribute__((warn_unused_result));

/* The source bytes the cookie MAC covers (kernel format): 6 or 18 bytes, 0 if unknown family. */
size_t wg_cookie_src_encode(uint8_t out[18], const struct wg_cookie_src *src);

#endif
