/* SPDX-License-Identifier: BSD-3-Clause */
/* The ports section: wan and lan devices, addresses, gateways, static neighbors. */
#include <sys/socket.h>

#include "control/config_loader.h"
#include "control/config_value.h"

enum { DEVICE_NAME_MAX = 127 };

/* Addresses are compared without their prefix length. */
static uint64_t
hash_ip(const struct wg_prefix *p)
{
	return wg_config_hash16(p->addr, p->family);
}

static bool
equal_ip(const struct wg_prefix *a, const struct wg_prefix *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static uint64_t
hash_address(const void *base, uint32_t i)
{
	return hash_ip((const struct wg_prefix *)base + i);
}

static bool
equal_address(const void *base, uint32_t a, uint32_t b)
{
	const struct wg_prefix *p = base;

	return equal_ip(&p[a], &p[b]);
}

static uint64_t
hash_neighbor(const void *base, uint32_t i)
{
	return hash_ip(&((const struct wg_conf_neighbor *)base)[i].ip);
}

static bool
equal_neighbor(const void *base, uint32_t a, uint32_t b)
{
	const struct wg_conf_neighbor *n = base;

	return equal_ip(&n[a].ip, &n[b].ip);
}

static int
port_device(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);
	size_t i, n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			break;
	if (n == 0 || n > DEVICE_NAME_MAX || i < n)
		return wg_config_yaml_fail(y, "'%s' is not a device name", wg_config_quote(y, s));
	if (l->port == &l->conf->lan)
		l->lan_device_mark = y->ev.start_mark;
	l->port->device = wg_config_strdup(l->conf, s);
	return l->port->device == NULL ? wg_config_oom(y) : 0;
}

static int
port_address_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct wg_config_loader *l = ctx;
	struct wg_conf_port *port = l->port;
	const char *s = wg_config_yaml_scalar(y);
	uint32_t dup;

	(void)index;
	if (s == NULL)
		return -1;
	if (wg_config_grow(&port->addresses, &l->cap_addresses, port->n_addresses + 1,
			sizeof(*port->addresses)) < 0)
		return wg_config_oom(y);
	if (!wg_config_value_prefix(s, true, &port->addresses[port->n_addresses]))
		return wg_config_yaml_fail(y, "'%s' is not an IPv4 or IPv6 prefix",
			wg_config_quote(y, s));
	dup = wg_config_set_insert(&l->addresses, port->addresses, port->n_addresses);
	if (dup == WG_CONFIG_SET_NOMEM)
		return wg_config_oom(y);
	if (dup != port->n_addresses)
		return wg_config_yaml_fail(y, "'%s' is listed twice", wg_config_quote(y, s));
	port->n_addresses++;
	return 0;
}

static int
port_address(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;

	l->address_mark = y->ev.start_mark;
	return wg_config_yaml_sequence(y, port_address_item, ctx);
}

static int
port_gateway_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct wg_config_loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);
	struct wg_prefix ip, *slot;

	(void)index;
	if (s == NULL)
		return -1;
	if (!wg_config_value_ip(s, &ip))
		return wg_config_yaml_fail(y, "'%s' is not an IPv4 or IPv6 address",
			wg_config_quote(y, s));
	slot = ip.family == AF_INET ? &l->port->gateway4 : &l->port->gateway6;
	if (slot->family != 0)
		return wg_config_yaml_fail(y, "at most one gateway per address family");
	*slot = ip;
	return 0;
}

static int
port_gateway(struct wg_yaml *y, void *ctx)
{
	return wg_config_yaml_sequence(y, port_gateway_item, ctx);
}

static const struct wg_yaml_field wan_fields[] = {
	{ "device", port_device, true },
	{ "address", port_address, true },
	{ "gateway", port_gateway, false },
};

static const struct wg_yaml_field lan_fields[] = {
	{ "device", port_device, true },
	{ "address", port_address, false },
	{ "gateway", port_gateway, false },
};

static int
read_port(struct wg_yaml *y, struct wg_config_loader *l, struct wg_conf_port *port,
	const struct wg_yaml_field *fields, size_t n)
{
	l->port = port;
	l->cap_addresses = 0;
	wg_config_set_free(&l->addresses);
	if (wg_config_yaml_mapping(y, fields, n, l, NULL) < 0)
		return -1;
	if (port == &l->conf->wan && port->n_addresses == 0) {
		size_t saved = wg_config_yaml_push_key(y, "address");

		wg_config_yaml_error(y, &l->address_mark, "at least one address is required");
		wg_config_yaml_pop(y, saved);
		return -1;
	}
	return 0;
}

static int
ports_wan(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;

	return read_port(y, l, &l->conf->wan, wan_fields, ARRAY_SIZE(wan_fields));
}

static int
ports_lan(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;

	return read_port(y, l, &l->conf->lan, lan_fields, ARRAY_SIZE(lan_fields));
}

static int
neighbor_ip(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;
	struct wg_conf_neighbor *n = &l->conf->neighbors[l->neighbor];
	const char *s = wg_config_yaml_scalar(y);
	uint32_t dup;

	if (s == NULL)
		return -1;
	if (!wg_config_value_ip(s, &n->ip))
		return wg_config_yaml_fail(y, "'%s' is not an IPv4 or IPv6 address",
			wg_config_quote(y, s));
	dup = wg_config_set_insert(&l->neighbors, l->conf->neighbors, l->neighbor);
	if (dup == WG_CONFIG_SET_NOMEM)
		return wg_config_oom(y);
	if (dup != l->neighbor)
		return wg_config_yaml_fail(y, "'%s' is listed twice", wg_config_quote(y, s));
	return 0;
}

static int
neighbor_mac(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);

	if (s == NULL)
		return -1;
	if (!wg_config_value_mac(s, l->conf->neighbors[l->neighbor].mac))
		return wg_config_yaml_fail(y, "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
			wg_config_quote(y, s));
	return 0;
}

static const struct wg_yaml_field neighbor_fields[] = {
	{ "ip", neighbor_ip, true },
	{ "mac", neighbor_mac, true },
};

static int
neighbor_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct wg_config_loader *l = ctx;
	struct wg_conf *c = l->conf;

	if (wg_config_grow(&c->neighbors, &l->cap_neighbors, c->n_neighbors + 1,
			sizeof(*c->neighbors)) < 0)
		return wg_config_oom(y);
	memset(&c->neighbors[index], 0, sizeof(c->neighbors[index]));
	l->neighbor = index;
	c->n_neighbors = index + 1;
	return wg_config_yaml_mapping(y, neighbor_fields, ARRAY_SIZE(neighbor_fields), l, NULL);
}

static int
ports_neighbors(struct wg_yaml *y, void *ctx)
{
	return wg_config_yaml_sequence(y, neighbor_item, ctx);
}

static const struct wg_yaml_field ports_fields[] = {
	{ "wan", ports_wan, true },
	{ "lan", ports_lan, true },
	{ "neighbors", ports_neighbors, false },
};

int
wg_config_ports_parse(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;
	size_t saved;

	if (wg_config_yaml_mapping(y, ports_fields, ARRAY_SIZE(ports_fields), l, NULL) < 0)
		return -1;
	if (strcmp(l->conf->wan.device, l->conf->lan.device) != 0)
		return 0;
	saved = wg_config_yaml_push_key(y, "lan");
	wg_config_yaml_push_key(y, "device");
	wg_config_yaml_error(y, &l->lan_device_mark, "same device as ports.wan.device");
	wg_config_yaml_pop(y, saved);
	return -1;
}

void
wg_config_ports_init(struct wg_config_loader *l)
{
	wg_config_set_init(&l->neighbors, hash_neighbor, equal_neighbor);
	wg_config_set_init(&l->addresses, hash_address, equal_address);
}
