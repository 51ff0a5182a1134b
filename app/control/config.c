/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The configuration loader (docs/config.md): one small function per YAML
 * section or key, driven by the event walkers of config_yaml.c. Duplicate
 * public keys, prefixes and addresses are found with hash sets, O(1) per
 * item. Included files are read after the main file, in the order of the
 * include list and, within a pattern, in glob's sorted order.
 *
 * A peer with our own public key is ignored with a warning once the whole
 * file is read; its prefixes still count as taken while the file is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/config.h"
#include "control/config_set.h"
#include "control/config_value.h"
#include "control/config_yaml.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"
#include "messages.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum {
	ARENA_CHUNK = 64 * 1024,
	PEER_NAME_MAX = 64,
	DEVICE_NAME_MAX = 127,
	KEY_FILE_MAX = 128,
	MAX_FILES = UINT16_MAX,
};

static const char INVALID_KEY[] = "invalid key (expected the base64 of 32 bytes)";

/* s for a message, unless it looks like a key: one pasted in the wrong place may be secret. */
static const char *
quote(struct wg_yaml *y, const char *s)
{
	uint8_t key[32];

	if (wg_config_value_key(s, strlen(s), key)) {
		wg_memzero(key, sizeof(key));
		return "(a key, not shown)";
	}
	return wg_config_yaml_quote(y, s);
}

struct chunk {
	struct chunk *next;
	size_t used;
	size_t size;
	char data[];
};

struct wg_conf_mem {
	struct chunk *head;
};

struct include {
	const char *pattern;
	yaml_mark_t mark;
};

struct loader {
	struct wg_conf *conf;
	struct wg_yaml *y;		/* the file being read */
	unsigned int flags;
	uint16_t file;			/* its index in conf->files */
	char dir[PATH_MAX];		/* its directory for relative paths; "": the cwd */
	size_t cap_peers, cap_prefixes, cap_owner, cap_neighbors, cap_files, cap_eal;
	size_t cap_addresses, cap_includes;
	struct wg_config_set keys, prefixes, neighbors, addresses;
	uint32_t *owner;		/* prefix index -> peer index */
	uint32_t peer;			/* the peer being read */
	uint32_t neighbor;		/* the neighbor being read */
	struct wg_conf_port *port;	/* the port being read */
	bool have_private_key;
	yaml_mark_t address_mark;
	yaml_mark_t lan_device_mark;
	size_t own_peer;		/* SIZE_MAX: none */
	size_t n_includes;
	struct include *includes;
};

/* Memory */

static char *
arena_dup(struct wg_conf *c, const char *s)
{
	size_t len = strlen(s) + 1;
	struct chunk *k = c->mem->head;
	char *p;

	if (k == NULL || k->size - k->used < len) {
		size_t size = len > ARENA_CHUNK ? len : ARENA_CHUNK;

		k = malloc(sizeof(*k) + size);
		if (k == NULL)
			return NULL;
		k->size = size;
		k->used = 0;
		k->next = c->mem->head;
		c->mem->head = k;
	}
	p = k->data + k->used;
	memcpy(p, s, len);
	k->used += len;
	return p;
}

/* Make room for need elements of size bytes in *p (capacity *cap). */
static int
grow(void *p, size_t *cap, size_t need, size_t size)
{
	void **array = p, *q;
	size_t n = *cap > 0 ? *cap : 16;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*array, n * size);
	if (q == NULL)
		return -1;
	*array = q;
	*cap = n;
	return 0;
}

static int
oom(struct wg_yaml *y)
{
	return wg_config_yaml_fail(y, "out of memory");
}

/* Hash sets: public keys in peers[], prefixes in prefixes[], addresses ignoring their length. */

/* Hash 16 bytes at b and extra. */
static uint64_t
hash_bytes(const uint8_t *b, uint64_t extra)
{
	uint64_t a, c;

	memcpy(&a, b, 8);
	memcpy(&c, b + 8, 8);
	return wg_config_set_mix(a ^ wg_config_set_mix(c ^ extra));
}

static uint64_t
hash_key(const void *base, uint32_t i)
{
	const struct wg_conf_peer *p = base;

	return hash_bytes(p[i].public_key, 0);
}

static bool
equal_key(const void *base, uint32_t a, uint32_t b)
{
	const struct wg_conf_peer *p = base;

	return wg_ct_equal(p[a].public_key, p[b].public_key, sizeof(p[a].public_key));
}

static uint64_t
hash_prefix(const void *base, uint32_t i)
{
	const struct wg_prefix *p = (const struct wg_prefix *)base + i;

	return hash_bytes(p->addr, (uint64_t)p->family << 8 | p->len);
}

static bool
equal_prefix(const void *base, uint32_t a, uint32_t b)
{
	const struct wg_prefix *p = base;

	return memcmp(&p[a], &p[b], sizeof(p[a])) == 0;
}

static uint64_t
hash_ip(const struct wg_prefix *p)
{
	return hash_bytes(p->addr, p->family);
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

/* Files and paths */

static int
set_dir(struct loader *l, const char *file)
{
	const char *slash = strrchr(file, '/');
	size_t n;

	if (slash == NULL) {
		l->dir[0] = '\0';
		return 0;
	}
	n = slash == file ? 1 : (size_t)(slash - file);
	if (n >= sizeof(l->dir))
		return -1;
	memcpy(l->dir, file, n);
	l->dir[n] = '\0';
	return 0;
}

/* A path as written in the file, relative to the file's directory. */
static int
resolve(const struct loader *l, const char *name, char out[PATH_MAX])
{
	int n;

	if (name[0] == '/' || l->dir[0] == '\0')
		n = snprintf(out, PATH_MAX, "%s", name);
	else
		n = snprintf(out, PATH_MAX, "%s/%s", l->dir, name);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* Open a regular file for reading; -1 with errno set otherwise. */
static int
open_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
add_file(struct loader *l, const char *name)
{
	struct wg_conf *c = l->conf;
	const char *copy;

	if (c->n_files >= MAX_FILES || grow(&c->files, &l->cap_files, c->n_files + 1,
			sizeof(*c->files)) < 0)
		return -1;
	copy = arena_dup(c, name);
	if (copy == NULL)
		return -1;
	c->files[c->n_files] = copy;
	return (int)c->n_files++;
}

/* Keys */

static size_t
read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size) {
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	return len;
}

static int
key_from_file(struct loader *l, struct wg_yaml *y, const char *name, uint8_t out[32])
{
	char path[PATH_MAX], buf[KEY_FILE_MAX + 1];
	size_t len;
	int fd, rc = -1;

	if (l->flags & WG_CONFIG_NO_FILES)
		return wg_config_yaml_fail(y, "key files are not allowed here");
	if (resolve(l, name, path) < 0)
		return wg_config_yaml_fail(y, "path is too long");
	fd = open_regular(path);
	if (fd < 0)
		return wg_config_yaml_fail(y, "cannot read '%s': %s", quote(y, name), strerror(errno));
	len = read_all(fd, buf, sizeof(buf));
	close(fd);
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	if (len > KEY_FILE_MAX || !wg_config_value_key(buf, len, out)) {
		wg_config_yaml_fail(y, "'%s' does not hold one base64 key of 32 bytes",
			quote(y, name));
		goto out;
	}
	rc = 0;
out:
	wg_memzero(buf, sizeof(buf));
	return rc;
}

/* Read a key from the current scalar (the key itself, or a file name); wipe the scalar. */
static int
read_key(struct loader *l, struct wg_yaml *y, bool file, uint8_t out[32])
{
	const char *s = wg_config_yaml_scalar(y);
	int rc;

	if (s == NULL)
		return -1;
	if (file)
		return key_from_file(l, y, s, out);
	rc = wg_config_value_key(s, wg_config_yaml_length(y), out) ? 0 :
		wg_config_yaml_fail(y, INVALID_KEY);
	wg_config_yaml_wipe(y);
	return rc;
}

static int
read_uint(struct wg_yaml *y, uint32_t lo, uint32_t hi, uint32_t *out, const char *what)
{
	const char *s = wg_config_yaml_scalar(y);

	if (s == NULL)
		return -1;
	if (!wg_config_value_uint(s, lo, hi, out))
		return wg_config_yaml_fail(y, "'%s' is %s (%u..%u)", quote(y, s), what, lo, hi);
	return 0;
}

/* version */

static int
top_version(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);

	if (s == NULL)
		return -1;
	if (strcmp(s, "1") != 0)
		return wg_config_yaml_fail(y, "unsupported version '%s' (expected 1)", quote(y, s));
	l->conf->version = 1;
	return 0;
}

/* interface */

static int
iface_name(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);

	if (s == NULL)
		return -1;
	if (!wg_config_value_ifname(s))
		return wg_config_yaml_fail(y,
			"invalid interface name (1 to 15 of A-Z a-z 0-9 _ = + . -)");
	strcpy(l->conf->ifname, s);
	return 0;
}

static int
private_key(struct wg_yaml *y, struct loader *l, bool file)
{
	if (l->have_private_key)
		return wg_config_yaml_fail(y,
			"only one of private-key and private-key-file may be given");
	if (read_key(l, y, file, l->conf->private_key) < 0)
		return -1;
	if (!wg_x25519_public(l->conf->public_key, l->conf->private_key))
		return wg_config_yaml_fail(y, "invalid key (all zero)");
	l->have_private_key = true;
	return 0;
}

static int
iface_private_key(struct wg_yaml *y, void *ctx)
{
	return private_key(y, ctx, false);
}

static int
iface_private_key_file(struct wg_yaml *y, void *ctx)
{
	return private_key(y, ctx, true);
}

static int
iface_listen_port(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	uint32_t v;

	if (read_uint(y, 1, 65535, &v, "not a port number") < 0)
		return -1;
	l->conf->listen_port = (uint16_t)v;
	return 0;
}

static int
iface_mtu(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	uint32_t v;

	if (read_uint(y, WG_CONF_MTU_MIN, WG_CONF_MTU_MAX, &v, "out of range") < 0)
		return -1;
	l->conf->mtu = (uint16_t)v;
	return 0;
}

static const struct wg_yaml_field interface_fields[] = {
	{ "name", iface_name, false },
	{ "private-key", iface_private_key, false },
	{ "private-key-file", iface_private_key_file, false },
	{ "listen-port", iface_listen_port, true },
	{ "mtu", iface_mtu, false },
};

static int
top_interface(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	yaml_mark_t start = y->ev.start_mark;

	if (wg_config_yaml_mapping(y, interface_fields, ARRAY_SIZE(interface_fields), l, NULL) < 0)
		return -1;
	if (!l->have_private_key)
		return wg_config_yaml_error(y, &start,
			"missing required key 'private-key' or 'private-key-file'");
	return 0;
}

/* dpdk */

static int
eal_arg(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct loader *l = ctx;
	struct wg_conf *c = l->conf;
	const char *s = wg_config_yaml_scalar(y);

	(void)index;
	if (s == NULL)
		return -1;
	if (grow(&c->eal_argv, &l->cap_eal, (size_t)c->eal_argc + 2, sizeof(*c->eal_argv)) < 0)
		return oom(y);
	c->eal_argv[c->eal_argc] = arena_dup(c, s);
	if (c->eal_argv[c->eal_argc] == NULL)
		return oom(y);
	c->eal_argv[++c->eal_argc] = NULL;
	return 0;
}

static int
dpdk_eal_args(struct wg_yaml *y, void *ctx)
{
	return wg_config_yaml_sequence(y, eal_arg, ctx);
}

static const struct wg_yaml_field dpdk_fields[] = {
	{ "eal-args", dpdk_eal_args, false },
};

static int
top_dpdk(struct wg_yaml *y, void *ctx)
{
	return wg_config_yaml_mapping(y, dpdk_fields, ARRAY_SIZE(dpdk_fields), ctx, NULL);
}

/* ports */

static int
port_device(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);
	size_t i, n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			break;
	if (n == 0 || n > DEVICE_NAME_MAX || i < n)
		return wg_config_yaml_fail(y, "'%s' is not a device name", quote(y, s));
	if (l->port == &l->conf->lan)
		l->lan_device_mark = y->ev.start_mark;
	l->port->device = arena_dup(l->conf, s);
	return l->port->device == NULL ? oom(y) : 0;
}

static int
port_address_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct loader *l = ctx;
	struct wg_conf_port *port = l->port;
	const char *s = wg_config_yaml_scalar(y);
	uint32_t dup;

	(void)index;
	if (s == NULL)
		return -1;
	if (grow(&port->addresses, &l->cap_addresses, port->n_addresses + 1,
			sizeof(*port->addresses)) < 0)
		return oom(y);
	if (!wg_config_value_prefix(s, true, &port->addresses[port->n_addresses]))
		return wg_config_yaml_fail(y, "'%s' is not an IPv4 or IPv6 prefix", quote(y, s));
	dup = wg_config_set_insert(&l->addresses, port->addresses, port->n_addresses);
	if (dup == WG_CONFIG_SET_NOMEM)
		return oom(y);
	if (dup != port->n_addresses)
		return wg_config_yaml_fail(y, "'%s' is listed twice", quote(y, s));
	port->n_addresses++;
	return 0;
}

static int
port_address(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;

	l->address_mark = y->ev.start_mark;
	return wg_config_yaml_sequence(y, port_address_item, ctx);
}

static int
port_gateway_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);
	struct wg_prefix ip, *slot;

	(void)index;
	if (s == NULL)
		return -1;
	if (!wg_config_value_ip(s, &ip))
		return wg_config_yaml_fail(y, "'%s' is not an IPv4 or IPv6 address", quote(y, s));
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
read_port(struct wg_yaml *y, struct loader *l, struct wg_conf_port *port,
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
	struct loader *l = ctx;

	return read_port(y, l, &l->conf->wan, wan_fields, ARRAY_SIZE(wan_fields));
}

static int
ports_lan(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;

	return read_port(y, l, &l->conf->lan, lan_fields, ARRAY_SIZE(lan_fields));
}

static int
neighbor_ip(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	struct wg_conf_neighbor *n = &l->conf->neighbors[l->neighbor];
	const char *s = wg_config_yaml_scalar(y);
	uint32_t dup;

	if (s == NULL)
		return -1;
	if (!wg_config_value_ip(s, &n->ip))
		return wg_config_yaml_fail(y, "'%s' is not an IPv4 or IPv6 address", quote(y, s));
	dup = wg_config_set_insert(&l->neighbors, l->conf->neighbors, l->neighbor);
	if (dup == WG_CONFIG_SET_NOMEM)
		return oom(y);
	if (dup != l->neighbor)
		return wg_config_yaml_fail(y, "'%s' is listed twice", quote(y, s));
	return 0;
}

static int
neighbor_mac(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);

	if (s == NULL)
		return -1;
	if (!wg_config_value_mac(s, l->conf->neighbors[l->neighbor].mac))
		return wg_config_yaml_fail(y, "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
			quote(y, s));
	return 0;
}

static const struct wg_yaml_field neighbor_fields[] = {
	{ "ip", neighbor_ip, true },
	{ "mac", neighbor_mac, true },
};

static int
neighbor_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct loader *l = ctx;
	struct wg_conf *c = l->conf;

	if (grow(&c->neighbors, &l->cap_neighbors, c->n_neighbors + 1, sizeof(*c->neighbors)) < 0)
		return oom(y);
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

static int
top_ports(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
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

/* peers */

static struct wg_conf_peer *
cur_peer(struct loader *l)
{
	return &l->conf->peers[l->peer];
}

static int
peer_name(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);
	size_t i, n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			break;
	if (n == 0 || n > PEER_NAME_MAX || i < n)
		return wg_config_yaml_fail(y, "a name is 1 to %d printable characters",
			PEER_NAME_MAX);
	cur_peer(l)->name = arena_dup(l->conf, s);
	return cur_peer(l)->name == NULL ? oom(y) : 0;
}

static int
peer_public_key(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	const struct wg_conf_peer *first;
	uint32_t dup;

	if (read_key(l, y, false, cur_peer(l)->public_key) < 0)
		return -1;
	dup = wg_config_set_insert(&l->keys, l->conf->peers, l->peer);
	if (dup == WG_CONFIG_SET_NOMEM)
		return oom(y);
	if (dup == l->peer)
		return 0;
	first = &l->conf->peers[dup];
	return wg_config_yaml_fail(y, "duplicate public key, first used by the peer at %s:%u:%u",
		l->conf->files[first->file], first->line, first->column);
}

static int
preshared_key(struct wg_yaml *y, struct loader *l, bool file)
{
	struct wg_conf_peer *p = cur_peer(l);

	if (p->has_psk)
		return wg_config_yaml_fail(y,
			"only one of preshared-key and preshared-key-file may be given");
	if (read_key(l, y, file, p->psk) < 0)
		return -1;
	p->has_psk = true;
	return 0;
}

static int
peer_preshared_key(struct wg_yaml *y, void *ctx)
{
	return preshared_key(y, ctx, false);
}

static int
peer_preshared_key_file(struct wg_yaml *y, void *ctx)
{
	return preshared_key(y, ctx, true);
}

static int
peer_endpoint(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);

	if (s == NULL)
		return -1;
	if (!wg_config_value_endpoint(s, &cur_peer(l)->endpoint))
		return wg_config_yaml_fail(y,
			"'%s' is not an endpoint (a.b.c.d:port or [IPv6]:port)", quote(y, s));
	return 0;
}

static int
conflict(struct wg_yaml *y, struct loader *l, uint32_t taken, const char *s)
{
	const struct wg_conf_peer *p = &l->conf->peers[l->owner[taken]];

	if (l->owner[taken] == l->peer)
		return wg_config_yaml_fail(y, "'%s' is listed twice", quote(y, s));
	return wg_config_yaml_fail(y, "'%s' is already allowed for the peer at %s:%u:%u",
		quote(y, s), l->conf->files[p->file], p->line, p->column);
}

static int
allowed_ip_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct loader *l = ctx;
	struct wg_conf *c = l->conf;
	const char *s = wg_config_yaml_scalar(y);
	char text[WG_CONFIG_PREFIX_STRLEN];
	struct wg_prefix p;
	uint32_t i = (uint32_t)c->n_prefixes, dup;

	(void)index;
	if (s == NULL)
		return -1;
	if (!wg_config_value_prefix(s, false, &p))
		return wg_config_yaml_fail(y, "'%s' is not an IPv4 or IPv6 prefix", quote(y, s));
	if (wg_config_value_mask(&p))
		wg_config_yaml_warn(y, &y->ev.start_mark, "'%s' has host bits set, using %s",
			quote(y, s), wg_config_value_prefix_str(&p, text));
	if (c->n_prefixes >= UINT32_MAX - 2 ||
			grow(&c->prefixes, &l->cap_prefixes, c->n_prefixes + 1, sizeof(p)) < 0 ||
			grow(&l->owner, &l->cap_owner, c->n_prefixes + 1, sizeof(*l->owner)) < 0)
		return oom(y);
	c->prefixes[i] = p;
	l->owner[i] = l->peer;
	dup = wg_config_set_insert(&l->prefixes, c->prefixes, i);
	if (dup == WG_CONFIG_SET_NOMEM)
		return oom(y);
	if (dup != i)
		return conflict(y, l, dup, s);
	c->n_prefixes++;
	cur_peer(l)->n_allowed++;
	return 0;
}

static int
peer_allowed_ips(struct wg_yaml *y, void *ctx)
{
	return wg_config_yaml_sequence(y, allowed_ip_item, ctx);
}

static int
peer_keepalive(struct wg_yaml *y, void *ctx)
{
	struct loader *l = ctx;
	uint32_t v;

	if (read_uint(y, 0, 65535, &v, "out of range") < 0)
		return -1;
	cur_peer(l)->persistent_keepalive = (uint16_t)v;
	return 0;
}

static const struct wg_yaml_field peer_fields[] = {
	{ "name", peer_name, false },
	{ "public-key", peer_public_key, true },
	{ "preshared-key", peer_preshared_key, false },
	{ "preshared-key-file", peer_preshared_key_file, false },
	{ "endpoint", peer_endpoint, false },
	{ "allowed-ips", peer_allowed_ips, false },
	{ "persistent-keepalive", peer_keepalive, false },
};

static int
peer_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct loader *l = ctx;
	struct wg_conf *c = l->conf;
	struct wg_conf_peer *p;

	(void)index;
	if (c->n_peers >= MAX_PEERS)
		return wg_config_yaml_fail(y, "too many peers (at most %u)", MAX_PEERS);
	if (grow(&c->peers, &l->cap_peers, c->n_peers + 1, sizeof(*p)) < 0)
		return oom(y);
	l->peer = (uint32_t)c->n_peers++;
	p = cur_peer(l);
	memset(p, 0, sizeof(*p));
	p->file = l->file;
	p->line = (uint32_t)y->ev.start_mark.line + 1;
	p->column = (uint32_t)y->ev.start_mark.column + 1;
	p->first_allowed = (uint32_t)c->n_prefixes;
	return wg_config_yaml_mapping(y, peer_fields, ARRAY_SIZE(peer_fields), l, NULL);
}

static int
top_peers(struct wg_yaml *y, void *ctx)
{
	return wg_config_yaml_sequence(y, peer_item, ctx);
}

/* include */

static int
include_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);
	struct include *inc;

	(void)index;
	if (s == NULL)
		return -1;
	if (l->flags & WG_CONFIG_NO_FILES)
		return wg_config_yaml_fail(y, "includes are not allowed here");
	if (grow(&l->includes, &l->cap_includes, l->n_includes + 1, sizeof(*inc)) < 0)
		return oom(y);
	inc = &l->includes[l->n_includes];
	inc->pattern = arena_dup(l->conf, s);
	inc->mark = y->ev.start_mark;
	if (inc->pattern == NULL)
		return oom(y);
	l->n_includes++;
	return 0;
}

static int
top_include(struct wg_yaml *y, void *ctx)
{
	return wg_config_yaml_sequence(y, include_item, ctx);
}

static const struct wg_yaml_field top_fields[] = {
	{ "version", top_version, true },
	{ "interface", top_interface, true },
	{ "dpdk", top_dpdk, false },
	{ "ports", top_ports, true },
	{ "peers", top_peers, false },
	{ "include", top_include, false },
};

static const struct wg_yaml_field include_fields[] = {
	{ "peers", top_peers, true },
};

/* Files */

static int
load_document(struct loader *l, const struct wg_yaml_field *fields, size_t n)
{
	struct wg_yaml *y = l->y;

	if (wg_config_yaml_next(y) < 0 || wg_config_yaml_next(y) < 0)
		return -1;
	if (y->ev.type == YAML_STREAM_END_EVENT)
		return wg_config_yaml_fail(y, "the file is empty");
	if (wg_config_yaml_next(y) < 0)
		return -1;
	if (wg_config_yaml_is_null(y))
		return wg_config_yaml_fail(y, "the file is empty");
	if (wg_config_yaml_mapping(y, fields, n, l, NULL) < 0)
		return -1;
	if (wg_config_yaml_next(y) < 0 || wg_config_yaml_next(y) < 0)
		return -1;
	if (y->ev.type != YAML_STREAM_END_EVENT)
		return wg_config_yaml_fail(y, "only one YAML document is allowed");
	return 0;
}

/* Note the peer with our own public key among peers[first..], read from the current file. */
static void
find_own_peer(struct loader *l, size_t first)
{
	const struct wg_conf *c = l->conf;
	yaml_mark_t mark = { 0 };
	size_t i, saved;

	for (i = first; i < c->n_peers && l->own_peer == SIZE_MAX; i++) {
		if (!wg_ct_equal(c->peers[i].public_key, c->public_key, sizeof(c->public_key)))
			continue;
		l->own_peer = i;
		mark.line = c->peers[i].line - 1;
		mark.column = c->peers[i].column - 1;
		saved = wg_config_yaml_push_key(l->y, "peers");
		wg_config_yaml_push_index(l->y, (uint32_t)(i - first));
		wg_config_yaml_warn(l->y, &mark, "this is our own public key, peer ignored");
		wg_config_yaml_pop(l->y, saved);
	}
}

static int
load_include_file(struct loader *l, struct wg_yaml *main_y, const struct include *inc,
	const char *path)
{
	struct wg_yaml y;
	size_t first = l->conf->n_peers;
	int fd, file, rc;

	fd = open_regular(path);
	if (fd < 0)
		return wg_config_yaml_error(main_y, &inc->mark, "cannot read '%s': %s",
			quote(main_y, path), strerror(errno));
	file = add_file(l, path);
	if (file < 0 || set_dir(l, path) < 0) {
		close(fd);
		return wg_config_yaml_error(main_y, &inc->mark, "too many files or out of memory");
	}
	if (wg_config_yaml_open_fd(&y, l->conf->files[file], fd, main_y->err) < 0)
		return -1;
	l->y = &y;
	l->file = (uint16_t)file;
	rc = load_document(l, include_fields, ARRAY_SIZE(include_fields));
	if (rc == 0)
		find_own_peer(l, first);
	wg_config_yaml_close(&y);
	l->y = main_y;
	return rc;
}

static int
load_pattern(struct loader *l, struct wg_yaml *main_y, const struct include *inc,
	const char *main_dir)
{
	char pattern[PATH_MAX];
	glob_t g;
	size_t i;
	int rc;

	strcpy(l->dir, main_dir);
	if (resolve(l, inc->pattern, pattern) < 0)
		return wg_config_yaml_error(main_y, &inc->mark, "path is too long");
	rc = glob(pattern, 0, NULL, &g);
	if (rc == GLOB_NOMATCH && strpbrk(inc->pattern, "*?[") != NULL) {
		wg_config_yaml_warn(main_y, &inc->mark, "'%s' matches no file",
			quote(main_y, inc->pattern));
		return 0;
	}
	if (rc != 0)
		return wg_config_yaml_error(main_y, &inc->mark, "cannot read '%s': %s",
			quote(main_y, inc->pattern),
			rc == GLOB_NOMATCH ? strerror(ENOENT) : "read error");
	for (i = 0, rc = 0; i < g.gl_pathc && rc == 0; i++)
		rc = load_include_file(l, main_y, inc, g.gl_pathv[i]);
	globfree(&g);
	return rc;
}

static int
load_includes(struct loader *l, struct wg_yaml *main_y)
{
	char main_dir[PATH_MAX];
	size_t i, saved;
	int rc = 0;

	strcpy(main_dir, l->dir);
	for (i = 0; i < l->n_includes && rc == 0; i++) {
		saved = wg_config_yaml_push_key(main_y, "include");
		wg_config_yaml_push_index(main_y, (uint32_t)i);
		rc = load_pattern(l, main_y, &l->includes[i], main_dir);
		wg_config_yaml_pop(main_y, saved);
	}
	return rc;
}

/* Drop peers[i] and its prefixes, keeping the arrays dense. */
static void
remove_peer(struct wg_conf *c, size_t i)
{
	struct wg_conf_peer *p = &c->peers[i];
	uint32_t first = p->first_allowed, n = p->n_allowed;
	size_t j;

	memmove(c->prefixes + first, c->prefixes + first + n,
		(c->n_prefixes - first - n) * sizeof(*c->prefixes));
	c->n_prefixes -= n;
	wg_memzero(p->psk, sizeof(p->psk));
	memmove(p, p + 1, (c->n_peers - i - 1) * sizeof(*p));
	c->n_peers--;
	wg_memzero(&c->peers[c->n_peers], sizeof(*p));
	for (j = i; j < c->n_peers; j++)
		c->peers[j].first_allowed -= n;
}

static void
finish(struct loader *l)
{
	struct wg_conf *c = l->conf;
	size_t i;

	if (l->own_peer != SIZE_MAX)
		remove_peer(c, l->own_peer);
	for (i = 0; i < c->n_peers; i++)
		c->peers[i].allowed = c->peers[i].n_allowed > 0 ?
			c->prefixes + c->peers[i].first_allowed : NULL;
	if (c->mtu == 0)
		c->mtu = WG_CONF_MTU_DEFAULT;
}

static int
load(struct loader *l, struct wg_yaml *y)
{
	int rc;

	if (add_file(l, y->file) != 0 || set_dir(l, y->file) < 0)
		return wg_config_yaml_error(y, &y->parser.mark, "out of memory");
	l->y = y;
	l->file = 0;
	rc = load_document(l, top_fields, ARRAY_SIZE(top_fields));
	if (rc == 0)
		find_own_peer(l, 0);
	wg_config_yaml_close(y);
	if (rc == 0)
		rc = load_includes(l, y);
	if (rc == 0)
		finish(l);
	return rc;
}

static struct wg_conf *
conf_new(void)
{
	struct wg_conf *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->mem = calloc(1, sizeof(*c->mem));
	if (c->mem == NULL) {
		free(c);
		return NULL;
	}
	strcpy(c->ifname, "wg0");
	return c;
}

static void
loader_init(struct loader *l, struct wg_conf *c, unsigned int flags)
{
	memset(l, 0, sizeof(*l));
	l->conf = c;
	l->flags = flags;
	l->own_peer = SIZE_MAX;
	wg_config_set_init(&l->keys, hash_key, equal_key);
	wg_config_set_init(&l->prefixes, hash_prefix, equal_prefix);
	wg_config_set_init(&l->neighbors, hash_neighbor, equal_neighbor);
	wg_config_set_init(&l->addresses, hash_address, equal_address);
}

static void
loader_free(struct loader *l)
{
	wg_config_set_free(&l->keys);
	wg_config_set_free(&l->prefixes);
	wg_config_set_free(&l->neighbors);
	wg_config_set_free(&l->addresses);
	free(l->owner);
	free(l->includes);
}

/* Read y (opened by the caller; closed here) into a new configuration. */
static int
load_from(struct wg_yaml *y, unsigned int flags, struct wg_conf **out)
{
	struct wg_conf *c = conf_new();
	struct loader l;
	int rc;

	*out = NULL;
	if (c == NULL) {
		wg_config_yaml_close(y);
		if (y->err != NULL)
			fprintf(y->err, "%s: out of memory\n", y->file);
		return -1;
	}
	loader_init(&l, c, flags);
	rc = load(&l, y);
	loader_free(&l);
	if (rc < 0) {
		wg_config_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int
wg_config_load(const char *path, struct wg_conf **out, FILE *err)
{
	struct wg_yaml y;
	int fd = open_regular(path);

	*out = NULL;
	if (fd < 0) {
		if (err != NULL)
			fprintf(err, "%s: cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	if (wg_config_yaml_open_fd(&y, path, fd, err) < 0) {
		close(fd);
		return -1;
	}
	return load_from(&y, 0, out);
}

int
wg_config_load_buffer(const char *name, const void *buf, size_t len, unsigned int flags,
	struct wg_conf **out, FILE *err)
{
	struct wg_yaml y;

	*out = NULL;
	if (wg_config_yaml_open_buffer(&y, name, buf, len, err) < 0)
		return -1;
	return load_from(&y, flags, out);
}

void
wg_config_free(struct wg_conf *c)
{
	struct chunk *k, *next;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_peers; i++)
		wg_memzero(c->peers[i].psk, sizeof(c->peers[i].psk));
	free(c->peers);
	free(c->prefixes);
	free(c->neighbors);
	free(c->wan.addresses);
	free(c->lan.addresses);
	free(c->eal_argv);
	free(c->files);
	for (k = c->mem->head; k != NULL; k = next) {
		next = k->next;
		free(k);
	}
	free(c->mem);
	wg_memzero(c, sizeof(*c));
	free(c);
}

int
wg_config_summary(const struct wg_conf *c, char *buf, size_t size)
{
	size_t i, j, v4 = 0, v6 = 0;

	for (i = 0; i < c->n_peers; i++)
		for (j = 0; j < c->peers[i].n_allowed; j++) {
			if (c->peers[i].allowed[j].family == AF_INET)
				v4++;
			else
				v6++;
		}
	return snprintf(buf, size, "%s: %zu peer%s, %zu prefix%s (%zu IPv4, %zu IPv6), wan %s, lan %s",
		c->ifname, c->n_peers, c->n_peers == 1 ? "" : "s", v4 + v6,
		v4 + v6 == 1 ? "" : "es", v4, v6, c->wan.device, c->lan.device);
}
