/* SPDX-License-Identifier: BSD-3-Clause */
/* Engine accessors for the UAPI, kept apart from the engine's own files. */
#include <string.h>

#include "control/engine_internal.h"
#include "control/engine_uapi.h"

bool
wg_engine_private_key(const struct wg_engine *e, uint8_t out[32])
{
	if (!e->local.has_identity)
		return false;
	memcpy(out, e->local.private_key, NOISE_PUBLIC_KEY_LEN);
	return true;
}
