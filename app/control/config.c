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
#include "control/config_loader.h"
#include "control/config_value.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"
#include "messages.h"

enum {
	ARENA_CHUNK = 64 * 1024,
	KEY_FILE_MAX = 128,
	MAX_FILES = UINT16_MAX,
};

static const char INVALID_KEY[] = "invalid key (expected the base64 of 32 bytes)";

const char *
wg_config_quote(struct wg_yaml *y, const char *s)
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



/* Memory */

char *
wg_config_strdup(struct wg_conf *c, const char *s)
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
int
wg_config_grow(void *p, size_t *cap, size_t need, size_t size)
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

int
wg_config_oom(struct wg_yaml *y)
{
	return wg_config_yaml_fail(y, "out of memory");
}

/* Files and paths */

static int
set_dir(struct wg_config_loader *l, const char *file)
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
resolve(const struct wg_config_loader *l, const char *name, char out[PATH_MAX])
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
add_file(struct wg_config_loader *l, const char *name)
{
	struct wg_conf *c = l->conf;
	const char *copy;

	if (c->n_files >= MAX_FILES || wg_config_grow(&c->files, &l->cap_files, c->n_files + 1,
			sizeof(*c->files)) < 0)
		return -1;
	copy = wg_config_strdup(c, name);
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
key_from_file(struct wg_config_loader *l, struct wg_yaml *y, const char *name, uint8_t out[32])
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
		return wg_config_yaml_fail(y, "cannot read '%s': %s", wg_config_quote(y, name),
			strerror(errno));
	len = read_all(fd, buf, sizeof(buf));
	close(fd);
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	if (len > KEY_FILE_MAX || !wg_config_value_key(buf, len, out)) {
		wg_config_yaml_fail(y, "'%s' does not hold one base64 key of 32 bytes",
			wg_config_quote(y, name));
		goto out;
	}
	rc = 0;
out:
	wg_memzero(buf, sizeof(buf));
	return rc;
}

/* Read a key from the current scalar (the key itself, or a file name); wipe the scalar. */
int
wg_config_read_key(struct wg_config_loader *l, struct wg_yaml *y, bool file, uint8_t out[32])
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

int
wg_config_read_uint(struct wg_yaml *y, uint32_t lo, uint32_t hi, uint32_t *out, const char *what)
{
	const char *s = wg_config_yaml_scalar(y);

	if (s == NULL)
		return -1;
	if (!wg_config_value_uint(s, lo, hi, out))
		return wg_config_yaml_fail(y, "'%s' is %s (%u..%u)", wg_config_quote(y, s), what,
			lo, hi);
	return 0;
}

/* version */

static int
top_version(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);

	if (s == NULL)
		return -1;
	if (strcmp(s, "1") != 0)
		return wg_config_yaml_fail(y, "unsupported version '%s' (expected 1)",
			wg_config_quote(y, s));
	l->conf->version = 1;
	return 0;
}

/* interface */

static int
iface_name(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;
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
private_key(struct wg_yaml *y, struct wg_config_loader *l, bool file)
{
	if (l->have_private_key)
		return wg_config_yaml_fail(y,
			"only one of private-key and private-key-file may be given");
	if (wg_config_read_key(l, y, file, l->conf->private_key) < 0)
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
	struct wg_config_loader *l = ctx;
	uint32_t v;

	if (wg_config_read_uint(y, 1, 65535, &v, "not a port number") < 0)
		return -1;
	l->conf->listen_port = (uint16_t)v;
	return 0;
}

static int
iface_mtu(struct wg_yaml *y, void *ctx)
{
	struct wg_config_loader *l = ctx;
	uint32_t v;

	if (wg_config_read_uint(y, WG_CONF_MTU_MIN, WG_CONF_MTU_MAX, &v, "out of range") < 0)
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
	struct wg_config_loader *l = ctx;
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
	struct wg_config_loader *l = ctx;
	struct wg_conf *c = l->conf;
	const char *s = wg_config_yaml_scalar(y);

	(void)index;
	if (s == NULL)
		return -1;
	if (wg_config_grow(&c->eal_argv, &l->cap_eal, (size_t)c->eal_argc + 2,
			sizeof(*c->eal_argv)) < 0)
		return wg_config_oom(y);
	c->eal_argv[c->eal_argc] = wg_config_strdup(c, s);
	if (c->eal_argv[c->eal_argc] == NULL)
		return wg_config_oom(y);
	c->eal_argv[++c->eal_argc] = NULL;
	return 0;
}

static int
dpdk_eal_args(struct wg_yaml *y, void *ctx)
{
	return wg_config_yaml_sequence(y, eal_arg, ctx);
}

static int
dpdk_idle_backoff(struct wg_yaml *y, void *ctx)
{
	/* The YAML 1.1 / 1.2 core-schema spellings of a boolean. */
	static const struct {
		const char *text;
		bool value;
	} spellings[] = {
		{ "true", true }, { "True", true }, { "TRUE", true },
		{ "yes", true }, { "Yes", true }, { "YES", true },
		{ "on", true }, { "On", true }, { "ON", true },
		{ "false", false }, { "False", false }, { "FALSE", false },
		{ "no", false }, { "No", false }, { "NO", false },
		{ "off", false }, { "Off", false }, { "OFF", false },
	};
	struct wg_config_loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < ARRAY_SIZE(spellings); i++)
		if (strcmp(s, spellings[i].text) == 0) {
			l->conf->idle_backoff = spellings[i].value;
			return 0;
		}
	return wg_config_yaml_fail(y, "'%s' is not a boolean (true or false)",
		wg_config_quote(y, s));
}

static const struct wg_yaml_field dpdk_fields[] = {
	{ "eal-args", dpdk_eal_args, false },
	{ "idle-backoff", dpdk_idle_backoff, false },
};

static int
top_dpdk(struct wg_yaml *y, void *ctx)
{
	return wg_config_yaml_mapping(y, dpdk_fields, ARRAY_SIZE(dpdk_fields), ctx, NULL);
}

/* include */

static int
include_item(struct wg_yaml *y, void *ctx, uint32_t index)
{
	struct wg_config_loader *l = ctx;
	const char *s = wg_config_yaml_scalar(y);
	struct wg_config_include *inc;

	(void)index;
	if (s == NULL)
		return -1;
	if (l->flags & WG_CONFIG_NO_FILES)
		return wg_config_yaml_fail(y, "includes are not allowed here");
	if (wg_config_grow(&l->includes, &l->cap_includes, l->n_includes + 1, sizeof(*inc)) < 0)
		return wg_config_oom(y);
	inc = &l->includes[l->n_includes];
	inc->pattern = wg_config_strdup(l->conf, s);
	inc->mark = y->ev.start_mark;
	if (inc->pattern == NULL)
		return wg_config_oom(y);
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
	{ "ports", wg_config_ports_parse, true },
	{ "peers", wg_config_peers_parse, false },
	{ "include", top_include, false },
};

static const struct wg_yaml_field include_fields[] = {
	{ "peers", wg_config_peers_parse, true },
};

/* Files */

static int
load_document(struct wg_config_loader *l, const struct wg_yaml_field *fields, size_t n)
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
find_own_peer(struct wg_config_loader *l, size_t first)
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
load_include_file(struct wg_config_loader *l, struct wg_yaml *main_y,
	const struct wg_config_include *inc, const char *path)
{
	struct wg_yaml y;
	size_t first = l->conf->n_peers;
	int fd, file, rc;

	fd = open_regular(path);
	if (fd < 0)
		return wg_config_yaml_error(main_y, &inc->mark, "cannot read '%s': %s",
			wg_config_quote(main_y, path), strerror(errno));
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
load_pattern(struct wg_config_loader *l, struct wg_yaml *main_y,
	const struct wg_config_include *inc, const char *main_dir)
{
	char pattern[PATH_MAX];
	glob_t g;
	size_t i;
	int rc;

	strcpy(l->dir, main_dir);
	if (resolve(l, inc->pattern, pattern) < 0)
		return wg_config_yaml_error(main_y, &inc->mark, "path is too long");
	memset(&g, 0, sizeof(g));
	rc = glob(pattern, 0, NULL, &g);
	if (rc == GLOB_NOMATCH && strpbrk(inc->pattern, "*?[") != NULL) {
		wg_config_yaml_warn(main_y, &inc->mark, "'%s' matches no file",
			wg_config_quote(main_y, inc->pattern));
		rc = 0;
	} else if (rc != 0) {
		rc = wg_config_yaml_error(main_y, &inc->mark, "cannot read '%s': %s",
			wg_config_quote(main_y, inc->pattern),
			rc == GLOB_NOMATCH ? strerror(ENOENT) : "read error");
	} else {
		for (i = 0; i < g.gl_pathc && rc == 0; i++)
			rc = load_include_file(l, main_y, inc, g.gl_pathv[i]);
	}
	globfree(&g);
	return rc;
}

static int
load_includes(struct wg_config_loader *l, struct wg_yaml *main_y)
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
finish(struct wg_config_loader *l)
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
load(struct wg_config_loader *l, struct wg_yaml *y)
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
	c->idle_backoff = true;
	return c;
}

static void
loader_init(struct wg_config_loader *l, struct wg_conf *c, unsigned int flags)
{
	memset(l, 0, sizeof(*l));
	l->conf = c;
	l->flags = flags;
	l->own_peer = SIZE_MAX;
	wg_config_peers_init(l);
	wg_config_ports_init(l);
}

static void
loader_free(struct wg_config_loader *l)
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
	struct wg_config_loader l;
	int rc;

	*out = NULL;
	if (c == NULL) {
		wg_config_yaml_close(y);
		if (y->err != NULL)
			fprintf(y->err, "%s:1:1: (root): out of memory\n", y->file);
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
			fprintf(err, "%s:1:1: (root): cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	if (wg_config_yaml_open_fd(&y, path, fd, err) < 0)
		return -1;
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
	return snprintf(buf, size,
		"%s: %zu peer%s, %zu prefix%s (%zu IPv4, %zu IPv6), wan %s, lan %s%s", c->ifname,
		c->n_peers, c->n_peers == 1 ? "" : "s", v4 + v6, v4 + v6 == 1 ? "" : "es", v4, v6,
		c->wan.device, c->lan.device, c->idle_backoff ? "" : ", no idle back-off");
}
