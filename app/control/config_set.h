/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Open-addressing hash sets of array indices, used by the configuration
 * loader to find duplicates (public keys, prefixes, addresses) in O(1) per
 * item. The keys live in the caller's array, which may move between calls:
 * every call passes its current base.
 */
#ifndef WG_CONFIG_SET_H
#define WG_CONFIG_SET_H

#include <stdbool.h>
#include <stdint.h>

#define WG_CONFIG_SET_NOMEM UINT32_MAX

struct wg_config_set {
	uint64_t *slots;		/* hash tag << 32 | (index + 1); 0 is empty */
	uint32_t mask;
	uint32_t n;
	uint64_t (*hash)(const void *base, uint32_t i);
	bool (*equal)(const void *base, uint32_t a, uint32_t b);
};

void wg_config_set_init(struct wg_config_set *s, uint64_t (*hash)(const void *, uint32_t),
	bool (*equal)(const void *, uint32_t, uint32_t));
/*
 * Insert index i (i < UINT32_MAX - 1). Returns i when inserted, the index of
 * the equal key already present, or WG_CONFIG_SET_NOMEM.
 */
uint32_t wg_config_set_insert(struct wg_config_set *s, const void *base, uint32_t i)
	__attribute__((warn_unused_result));
void wg_config_set_free(struct wg_config_set *s);

/* A 64-bit finaliser (splitmix64) for building hash functions. */
static inline uint64_t
wg_config_set_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

#endif
