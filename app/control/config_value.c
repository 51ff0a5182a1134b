/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "control/config_value.h"
#include "crypto/ct.h"

enum {
	KEY_B64_LEN = 44,		/* base64 of 32 bytes, with one '=' */
	ADDR_TEXT_MAX = 64,
};

bool
wg_config_value_key(const char *s, size_t len, uint8_t out[32])
{
	/* Room for more than 32 bytes so that longer input fails on its length. */
	uint8_t bin[48];
	size_t bin_len = 0;
	const char *end = NULL;
	bool ok;

	if (len != KEY_B64_LEN)
		return false;
	ok = sodium_base642bin(bin, sizeof(bin), s, len, NULL, &bin_len, &end,
			sodium_base64_VARIANT_ORIGINAL) == 0 &&
		end == s + len && bin_len == 32;
	if (ok)
		memcpy(out, bin, 32);
	wg_memzero(bin, sizeof(bin));
	return ok;
}

bool
wg_config_value_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool
wg_config_value_ifname(const char *s)
{
	size_t n = strlen(s);

	static const char allowed[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_=+.-";

	return n >= 1 && n <= WG_CONF_IFNAME_MAX && strspn(s, allowed) == n;
}

/* Parse the first n bytes of s as an address. */
static bool
parse_ip(const char *s, size_t n, struct wg_prefix *out)
{
	char buf[ADDR_TEXT_MAX];
	struct wg_prefix p;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(&p, 0, sizeof(p));
	if (memchr(buf, ':', n) != NULL) {
		p.family = AF_INET6;
		p.len = 128;
	} else {
		p.family = AF_INET;
		p.len = 32;
	}
	if (inet_pton(p.family, buf, p.addr) != 1)
		return false;
	*out = p;
	return true;
}

bool
wg_config_value_ip(const char *s, struct wg_prefix *out)
{
	return parse_ip(s, strlen(s), out);
}

bool
wg_config_value_prefix(const char *s, bool need_len, struct wg_prefix *out)
{
	const char *slash = strchr(s, '/');
	struct wg_prefix p;
	uint32_t len;

	if (slash == NULL) {
		if (need_len || !parse_ip(s, strlen(s), &p))
			return false;
		*out = p;
		return true;
	}
	if (!parse_ip(s, (size_t)(slash - s), &p) || slash[1] == '\0' || strlen(slash + 1) > 3 ||
			!wg_config_value_uint(slash + 1, 0, p.len, &len))
		return false;
	p.len = (uint8_t)len;
	*out = p;
	return true;
}

bool
wg_config_value_mask(struct wg_prefix *p)
{
	unsigned int bytes = p->family == AF_INET ? 4 : 16, i;
	bool changed = false;

	for (i = 0; i < bytes; i++) {
		unsigned int first = i * 8;
		uint8_t keep;

		if (first >= p->len)
			keep = 0;
		else if (first + 8 <= p->len)
			keep = 0xff;
		else
			keep = (uint8_t)(0xff << (8 - (p->len - first)));
		if (p->addr[i] & (uint8_t)~keep)
			changed = true;
		p->addr[i] &= keep;
	}
	return changed;
}

bool
wg_config_value_endpoint(const char *s, struct wg_endpoint *out)
{
	const char *host = s, *colon;
	struct wg_prefix ip;
	size_t host_len;
	uint32_t port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return false;
		host = s + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return false;
		host_len = (size_t)(colon - s);
		if (memchr(s, ':', host_len) != NULL)
			return false;	/* an IPv6 address needs brackets */
	}
	if (!parse_ip(host, host_len, &ip) || (s[0] == '[') != (ip.family == AF_INET6))
		return false;
	if (strlen(colon + 1) > 5 || !wg_config_value_uint(colon + 1, 1, 65535, &port))
		return false;
	memset(out, 0, sizeof(*out));
	out->family = ip.family;
	out->port = (uint16_t)port;
	memcpy(out->addr, ip.addr, sizeof(out->addr));
	return true;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
wg_config_value_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];
	int i, hi, lo;

	if (strlen(s) != 17)
		return false;
	for (i = 0; i < 6; i++) {
		hi = hex_digit(s[i * 3]);
		lo = hex_digit(s[i * 3 + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return false;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, sizeof(m));
	return true;
}

const char *
wg_config_value_prefix_str(const struct wg_prefix *p, char *buf)
{
	size_t n;

	if (inet_ntop(p->family, p->addr, buf, WG_CONFIG_PREFIX_STRLEN - 5) == NULL) {
		strcpy(buf, "?");
		return buf;
	}
	n = strlen(buf);
	snprintf(buf + n, WG_CONFIG_PREFIX_STRLEN - n, "/%u", p->len);
	return buf;
}
