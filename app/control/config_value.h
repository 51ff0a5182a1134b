/* SPDX-License-Identifier: BSD-3-Clause */
/* Scalar syntaxes of the configuration file: keys, numbers, addresses, prefixes, endpoints. */
#ifndef WG_CONFIG_VALUE_H
#define WG_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/config.h"

enum {
	WG_CONFIG_PREFIX_STRLEN = 56,	/* INET6_ADDRSTRLEN, "/128", rounded up */
};

/* Standard base64 (with padding) of exactly 32 bytes; out is untouched on failure. */
bool wg_config_value_key(const char *s, size_t len, uint8_t out[32])
	__attribute__((warn_unused_result));
/* A decimal number in [lo, hi], digits only. */
bool wg_config_value_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
	__attribute__((warn_unused_result));
/* 1..15 characters of A-Z a-z 0-9 _ = + . - */
bool wg_config_value_ifname(const char *s) __attribute__((warn_unused_result));
/* A plain IPv4 or IPv6 address (no zone, no length); len is set to 32 or 128. */
bool wg_config_value_ip(const char *s, struct wg_prefix *out) __attribute__((warn_unused_result));
/*
 * ADDRESS/LEN, or a plain address when !need_len (then a host prefix). Host
 * bits are kept; see wg_config_value_mask().
 */
bool wg_config_value_prefix(const char *s, bool need_len, struct wg_prefix *out)
	__attribute__((warn_unused_result));
/* Clear the bits below p->len; true when some were set. */
bool wg_config_value_mask(struct wg_prefix *p);
/* "a.b.c.d:port" or "[IPv6]:port", port 1..65535. */
bool wg_config_value_endpoint(const char *s, struct wg_endpoint *out)
	__attribute__((warn_unused_result));
/* "xx:xx:xx:xx:xx:xx" (hex digits, either case). */
bool wg_config_value_mac(const char *s, uint8_t mac[6]) __attribute__((warn_unused_result));
/* Format a prefix as "ADDRESS/LEN" into buf (WG_CONFIG_PREFIX_STRLEN bytes). */
const char *wg_config_value_prefix_str(const struct wg_prefix *p, char *buf);

#endif
