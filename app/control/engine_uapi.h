/* SPDX-License-Identifier: BSD-3-Clause */
/* What the UAPI (uapi.c) needs from the engine beyond engine.h. Control lcore only. */
#ifndef WG_ENGINE_UAPI_H
#define WG_ENGINE_UAPI_H

#include <stdbool.h>
#include <stdint.h>

struct wg_engine;

/* The (clamped) private key, as the kernel reports it; false when there is no identity. */
bool wg_engine_private_key(const struct wg_engine *e, uint8_t out[32])
	__attribute__((warn_unused_result));

#endif
