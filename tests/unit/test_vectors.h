/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Known-answer helpers shared by the unit tests: hex strings to bytes, and a
 * step of the handshake transcript (tests/vectors/handshake_kat.json) by its
 * label. Include after <cmocka.h> and "kat_vectors.h".
 */
#ifndef WG_TEST_VECTORS_H
#define WG_TEST_VECTORS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decodes pairs of hex digits into out; returns the number of bytes written. */
static inline size_t
unhex(uint8_t *out, const char *hex)
{
	size_t n = 0;
	unsigned int b;

	while (hex[0] != '\0' && hex[1] != '\0') {
		assert_int_equal(sscanf(hex, "%2x", &b), 1);
		out[n++] = (uint8_t)b;
		hex += 2;
	}
	return n;
}

/* The value of the no-PSK transcript step with this label; fails the test if absent. */
static inline const uint8_t *
kat_step(const char *label)
{
	size_t i;

	for (i = 0; i < kat_nopsk_steps_n; i++)
		if (strcmp(kat_nopsk_steps[i].label, label) == 0)
			return kat_nopsk_steps[i].v;
	fail_msg("no KAT step %s", label);
	return NULL;
}

#endif
