/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Multi-buffer ChaCha20-Poly1305 (RFC 8439) with the WireGuard nonce: up to
 * sixteen independent (key, counter, buffer) messages per call, one message
 * per vector lane, no AAD. AVX-512F/BW/VL for ChaCha20, AVX-512 IFMA for
 * Poly1305. Reached through wg_aead_*_batch (aead.c), which chooses between
 * this and intel-ipsec-mb; called directly only by tests and benchmarks.
 */
#ifndef WG_CHACHAPOLY_MB_H
#define WG_CHACHAPOLY_MB_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/aead.h"

enum { WG_MB_LANES = 16 };

/* Whether this build has the code and this CPU and OS can run it. */
bool wg_mb_available(void);

/*
 * n in 1..WG_MB_LANES operations, in place, each of any length (data may be
 * NULL when len is 0). Encrypt writes each tag. Decrypt compares each tag in
 * constant time, sets ops[i]->ok, wipes the buffer of every lane whose tag
 * failed, and returns how many verified. Lanes are independent: a short
 * message next to a long one costs the long one's blocks.
 */
void wg_mb_encrypt(struct wg_aead_op *const *ops, unsigned n);
unsigned wg_mb_decrypt(struct wg_aead_op *const *ops, unsigned n);

/*
 * The same without wiping the stack afterwards (each wipe is ~170 cycles),
 * for a caller that makes several calls in a row: it must then call
 * wg_mb_wipe_stack() itself, from the function that made the calls (or one
 * of its callers, within a few hundred bytes of stack), after the last one.
 */
void wg_mb_encrypt_nowipe(struct wg_aead_op *const *ops, unsigned n);
unsigned wg_mb_decrypt_nowipe(struct wg_aead_op *const *ops, unsigned n);
void wg_mb_wipe_stack(void);

/*
 * The primitives alone, through the same lanes and arithmetic, for the RFC
 * 8439 vectors (tests only; n in 1..WG_MB_LANES):
 *  - ChaCha20 (§2.4): XOR data with the keystream of (key, 96-bit nonce)
 *    starting at block counter `counter`;
 *  - Poly1305 (§2.5): the tag of msg under the one-time key (r || s).
 */
struct wg_mb_stream {
	const uint8_t *key;     /* 32 bytes */
	const uint8_t *nonce;   /* 12 bytes */
	uint32_t counter;
	uint8_t *data;
	uint32_t len;
};
void wg_mb_chacha20(struct wg_mb_stream *const *v, unsigned n);

struct wg_mb_mac {
	const uint8_t *key;     /* 32 bytes: r || s */
	const uint8_t *msg;
	uint32_t len;
	uint8_t *tag;           /* 16 bytes, written */
};
void wg_mb_poly1305(struct wg_mb_mac *const *v, unsigned n);

#endif
