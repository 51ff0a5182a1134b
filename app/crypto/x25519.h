/* SPDX-License-Identifier: BSD-3-Clause */
/* X25519 (RFC 7748) with internal clamping and all-zero output rejection (protocol.md §1.1). */
#ifndef WG_X25519_H
#define WG_X25519_H

#include <stdbool.h>
#include <stdint.h>

enum { WG_KEY_LEN = 32 };

/* Clamp a scalar in place (RFC 7748 decodeScalar25519). */
void wg_x25519_clamp(uint8_t key[32]);
/*
 * out = X25519(clamp(priv), pub). Returns false, with out zeroed, when the
 * result is all zero (small-order peer key); the check is constant time.
 */
bool wg_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32])
	__attribute__((warn_unused_result));
/* pub = X25519(clamp(priv), 9). Returns false for an all-zero private key. */
bool wg_x25519_public(uint8_t pub[32], const uint8_t priv[32]) __attribute__((warn_unused_result));
/* A fresh random, clamped private key. */
void wg_x25519_generate(uint8_t priv[32]);

#endif
