/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * WireGuard wire structures and every protocol constant (protocol.md §2, §3,
 * §6, §7, §8). All multi-byte integers on the wire are little-endian; this
 * code assumes a little-endian host (x86_64, arm64), checked below.
 */
#ifndef WG_MESSAGES_H
#define WG_MESSAGES_H

#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "wg-dpdk assumes a little-endian host"
#endif

enum noise_lengths {
	NOISE_PUBLIC_KEY_LEN = 32,
	NOISE_SYMMETRIC_KEY_LEN = 32,
	NOISE_HASH_LEN = 32,
	NOISE_TIMESTAMP_LEN = 12,
	NOISE_AUTHTAG_LEN = 16,
	COOKIE_LEN = 16,
	COOKIE_NONCE_LEN = 24,
	WG_MAC_LEN = 16,
	WG_PADDING_MULTIPLE = 16,
};

#define NOISE_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define NOISE_IDENTIFIER "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WG_LABEL_MAC1 "mac1----"
#define WG_LABEL_COOKIE "cookie--"

/* Time constants in nanoseconds of the protocol (monotonic) clock. */
#define WG_NSEC_PER_SEC 1000000000ULL
enum wg_limits_sec {
	REKEY_AFTER_TIME = 120,
	REJECT_AFTER_TIME = 180,
	REKEY_ATTEMPT_TIME = 90,
	REKEY_TIMEOUT = 5,
	KEEPALIVE_TIMEOUT = 10,
	COOKIE_SECRET_MAX_AGE = 120,
	COOKIE_SECRET_LATENCY = 5,
	/* Receive-side rekey of the initiator (protocol.md §8.1): 165 s. */
	REKEY_AFTER_TIME_RECV = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT,
	/* Zero key material after 3 × REJECT_AFTER_TIME (540 s). */
	ZERO_KEY_MATERIAL_AFTER = REJECT_AFTER_TIME * 3,
};

enum wg_limits {
	MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT, /* 18 */
	REKEY_TIMEOUT_JITTER_MAX_MS = 333,
	INITIATIONS_PER_SECOND = 50,
	MAX_STAGED_PACKETS = 128,
	MAX_QUEUED_INCOMING_HANDSHAKES = 4096,
	MAX_PEERS = 1 << 20,
};

#define REKEY_AFTER_MESSAGES (1ULL << 60)
/* 2^64 - 2^13 - 1, wireguard-go's value (protocol.md §6.1, §12 item 2). */
#define REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13))

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

/* Byte 0 is the type, bytes 1..3 must be zero: compare the whole LE word. */
struct message_header {
	uint32_t type;
} __attribute__((packed));

struct message_macs {
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
} __attribute__((packed));

struct message_handshake_initiation {
	struct message_header header;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[NOISE_PUBLIC_KEY_LEN + NOISE_AUTHTAG_LEN];
	uint8_t encrypted_timestamp[NOISE_TIMESTAMP_LEN + NOISE_AUTHTAG_LEN];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_response {
	struct message_header header;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[NOISE_AUTHTAG_LEN];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_cookie {
	struct message_header header;
	uint32_t receiver_index;
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[COOKIE_LEN + NOISE_AUTHTAG_LEN];
} __attribute__((packed));

struct message_data {
	struct message_header header;
	uint32_t key_idx;
	uint64_t counter;
	uint8_t encrypted_data[];
} __attribute__((packed));

enum message_sizes {
	MESSAGE_INITIATION_LEN = sizeof(struct message_handshake_initiation),
	MESSAGE_RESPONSE_LEN = sizeof(struct message_handshake_response),
	MESSAGE_COOKIE_LEN = sizeof(struct message_handshake_cookie),
	MESSAGE_DATA_HEADER_LEN = sizeof(struct message_data),
	MESSAGE_MINIMUM_LENGTH = MESSAGE_DATA_HEADER_LEN + NOISE_AUTHTAG_LEN,
};

_Static_assert(sizeof(struct message_handshake_initiation) == 148, "initiation is 148 bytes");
_Static_assert(sizeof(struct message_handshake_response) == 92, "response is 92 bytes");
_Static_assert(sizeof(struct message_handshake_cookie) == 64, "cookie reply is 64 bytes");
_Static_assert(sizeof(struct message_data) == 16, "data header is 16 bytes");

#endif /* WG_MESSAGES_H */
