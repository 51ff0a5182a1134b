/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cross-platform UAPI (see uapi.h): the socket server (non-blocking,
 * budgeted), request framing and the get snapshot; set requests are
 * uapi_set.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>

#include "control/allowedips.h"
#include "control/config_value.h"
#include "control/engine.h"
#include "control/engine_uapi.h"
#include "control/engine_worker.h"
#include "control/tables.h"
#include "control/uapi.h"
#include "control/uapi_internal.h"
#include "crypto/ct.h"

enum {
	KEY_LEN = 32,
	KEY_HEX_LEN = 64,
	READ_CHUNK = 64 << 10,
	LISTEN_BACKLOG = 64,
	DEFAULT_MAX_CLIENTS = 16,
	DEFAULT_IDLE_MS = 30000,
	DEFAULT_POLL_US = 1000,
};

#define DEFAULT_MAX_REQUEST ((size_t)256 << 20)
#define DEFAULT_IO_BUDGET ((size_t)256 << 10)

/* A growable byte buffer; a copy is wiped before its memory is freed (keys pass through). */
struct buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;		/* an allocation failed: the content is incomplete */
};

struct client {
	int fd;
	struct buf in;
	size_t scan;		/* in.p[0..scan) holds no request end */
	struct buf out;
	size_t sent;		/* bytes of out already written */
	bool eof;		/* the client sends nothing more */
	bool closing;		/* close once out is written */
	uint64_t last_ms;	/* last progress */
};

struct wg_uapi {
	struct wg_uapi_dev dev;
	int fd;
	char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	dev_t sock_dev;			/* the socket file we bound */
	ino_t sock_ino;
	size_t max_request;
	size_t io_budget;
	unsigned int max_clients;
	unsigned int idle_ms;
	unsigned int poll_us;
	uint64_t last_poll_us;
	unsigned int n_clients;
	struct client *clients;
	struct pollfd *pfds;
};

/* ---- buffers ---- */

static bool
buf_reserve(struct buf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->cap - b->len >= extra)
		return true;
	cap = b->cap != 0 ? b->cap : 4096;
	while (cap - b->len < extra)
		cap *= 2;
	p = malloc(cap);
	if (p == NULL) {
		b->failed = true;
		return false;
	}
	if (b->len != 0)
		memcpy(p, b->p, b->len);
	if (b->p != NULL) {
		wg_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void
buf_put(struct buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void __attribute__((format(printf, 2, 3)))
buf_printf(struct buf *b, const char *fmt, ...)
{
	char line[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_put(b, line, RTE_MIN((size_t)n, sizeof(line) - 1));
	wg_memzero(line, sizeof(line));
}

static void
buf_key(struct buf *b, const char *name, const uint8_t key[KEY_LEN])
{
	static const char hex[] = "0123456789abcdef";
	char line[KEY_HEX_LEN + 32];
	size_t n = strlen(name), i;

	memcpy(line, name, n);
	line[n++] = '=';
	for (i = 0; i < KEY_LEN; i++) {
		line[n++] = hex[key[i] >> 4];
		line[n++] = hex[key[i] & 15];
	}
	line[n++] = '\n';
	buf_put(b, line, n);
	wg_memzero(line, sizeof(line));
}

static void
buf_wipe(struct buf *b)
{
	if (b->p != NULL) {
		wg_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

/* Drop the first n bytes. */
static void
buf_consume(struct buf *b, size_t n)
{
	wg_memzero(b->p, n);
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	wg_memzero(b->p + b->len, n);
}

static void
reply_errno(struct buf *b, int err)
{
	buf_printf(b, "errno=%d\n\n", err);
}

/* ---- get ---- */

struct get_ctx {
	struct wg_uapi *u;
	struct buf *b;
};

static void
get_endpoint(struct buf *b, const struct wg_endpoint *ep)
{
	char addr[WG_CONFIG_PREFIX_STRLEN];

	if (inet_ntop(ep->family, ep->addr, addr, sizeof(addr)) == NULL)
		return;
	if (ep->family == AF_INET6)
		buf_printf(b, "endpoint=[%s]:%u\n", addr, ep->port);
	else
		buf_printf(b, "endpoint=%s:%u\n", addr, ep->port);
}

static int
get_peer(struct wg_peer *peer, void *arg)
{
	struct get_ctx *ctx = arg;
	struct wg_uapi *u = ctx->u;
	struct buf *b = ctx->b;
	char text[WG_CONFIG_PREFIX_STRLEN];
	struct wg_endpoint ep;
	long n;

	buf_key(b, "public_key", peer->public_key);
	if (peer->has_psk)
		buf_key(b, "preshared_key", peer->preshared_key);
	buf_printf(b, "protocol_version=1\n");
	if (wg_peer_endpoint_read(peer, &ep))
		get_endpoint(b, &ep);
	buf_printf(b, "last_handshake_time_sec=%" PRIu64 "\nlast_handshake_time_nsec=%u\n",
		peer->last_handshake_sec, peer->last_handshake_nsec);
	buf_printf(b, "tx_bytes=%" PRIu64 "\nrx_bytes=%" PRIu64 "\n",
		__atomic_load_n(&peer->wk.tx_bytes, __ATOMIC_RELAXED),
		__atomic_load_n(&peer->wk.rx_bytes, __ATOMIC_RELAXED));
	buf_printf(b, "persistent_keepalive_interval=%u\n", peer->persistent_keepalive);
	n = wg_uapi_collect_prefixes(&u->dev, peer->id);
	if (n < 0)
		return (int)n;
	/* Insertion order, as wireguard-go lists them. */
	while (n-- > 0)
		buf_printf(b, "allowed_ip=%s\n",
			wg_config_value_prefix_str(&u->dev.scratch[n], text));
	return b->failed ? -ENOMEM : 0;
}

static int
get_device(struct wg_uapi *u, struct buf *b)
{
	uint8_t key[KEY_LEN];
	struct get_ctx ctx = { .u = u, .b = b };
	int ret;

	if (wg_engine_private_key(u->dev.engine, key))
		buf_key(b, "private_key", key);
	wg_memzero(key, sizeof(key));
	buf_printf(b, "listen_port=%u\n", u->dev.listen_port);
	if (u->dev.fwmark != 0)
		buf_printf(b, "fwmark=%u\n", u->dev.fwmark);
	ret = wg_peers_foreach_added(u->dev.tables->peers, get_peer, &ctx);
	if (ret == 0 && b->failed)
		ret = -ENOMEM;
	if (ret == 0)
		reply_errno(b, 0);
	return -ret;
}

/* ---- requests ---- */

/* One request: its text up to and including the blank line. Reply appended to out. */
static int
process(struct wg_uapi *u, const char *req, size_t len, struct buf *out)
{
	size_t start = out->len;
	int ret;

	if (len == 7 && memcmp(req, "get=1\n\n", 7) == 0) {
		ret = get_device(u, out);
	} else if (len >= 6 && memcmp(req, "get=1\n", 6) == 0) {
		ret = EINVAL;	/* a get takes no arguments */
	} else if (len >= 7 && memcmp(req, "set=1\n", 6) == 0) {
		ret = wg_uapi_set(&u->dev, req + 6, len - 7);
	} else {
		ret = EPROTO;
	}
	if (ret != 0 || out->failed) {
		if (out->p != NULL)
			wg_memzero(out->p + start, out->len - start);
		out->len = start;
		out->failed = false;
		if (ret == 0)
			ret = ENOMEM;
		reply_errno(out, ret);
	} else if (req[0] == 's') {
		reply_errno(out, 0);
	}
	return ret;
}

/* Length of the first request in s[0..len) (through its blank line), 0 when incomplete. */
static size_t
request_end(const char *s, size_t len, size_t from)
{
	const char *p;

	if (len != 0 && s[0] == '\n')
		return 1;
	if (from == 0)
		from = 1;
	while (from < len) {
		p = memchr(s + from, '\n', len - from);
		if (p == NULL)
			return 0;
		if (p[-1] == '\n')
			return (size_t)(p - s) + 1;
		from = (size_t)(p - s) + 1;
	}
	return 0;
}

int
wg_uapi_process(struct wg_uapi *u, const char *req, size_t len, char **reply, size_t *reply_len)
{
	struct buf out = { 0 };
	size_t end = request_end(req, len, 0);
	int ret;

	if (end == 0) {
		ret = EPROTO;	/* truncated: no blank line */
		reply_errno(&out, ret);
	} else if (end != len) {
		ret = EINVAL;	/* more than one request */
		reply_errno(&out, ret);
	} else {
		ret = process(u, req, len, &out);
	}
	/* NUL-terminated for the caller's convenience, not counted. */
	if (buf_reserve(&out, 1))
		out.p[out.len] = '\0';
	if (out.failed) {
		buf_wipe(&out);
		*reply = NULL;
		*reply_len = 0;
		return ret != 0 ? ret : ENOMEM;
	}
	*reply = out.p;
	*reply_len = out.len;
	return ret;
}

/* ---- socket ---- */

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
client_close(struct client *c)
{
	close(c->fd);
	buf_wipe(&c->in);
	buf_wipe(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static bool
peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void
accept_clients(struct wg_uapi *u, uint64_t now)
{
	struct client *c;
	int fd;

	while (u->n_clients < u->max_clients) {
		fd = accept4(u->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!peer_allowed(fd)) {
			close(fd);
			continue;
		}
		c = &u->clients[u->n_clients++];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->last_ms = now / 1000;
	}
}

/* Write what is pending within the budget; false when the connection failed. */
static bool
client_flush(struct client *c, size_t *budget, uint64_t now)
{
	size_t n;
	ssize_t w;

	while (c->sent < c->out.len && *budget != 0) {
		n = RTE_MIN(c->out.len - c->sent, *budget);
		w = send(c->fd, c->out.p + c->sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0)
			return errno == EAGAIN || errno == EINTR;
		c->sent += (size_t)w;
		*budget -= (size_t)w;
		c->last_ms = now / 1000;
	}
	if (c->sent == c->out.len && c->out.len != 0) {
		wg_memzero(c->out.p, c->out.len);
		c->out.len = 0;
		c->sent = 0;
	}
	return true;
}

/* Read within the budget; false when the connection failed. */
static bool
client_read(struct wg_uapi *u, struct client *c, size_t *budget, uint64_t now)
{
	size_t room;
	ssize_t r;

	while (!c->eof && *budget != 0 && c->in.len <= u->max_request) {
		room = RTE_MIN(RTE_MIN((size_t)READ_CHUNK, *budget),
			u->max_request + 1 - c->in.len);
		if (!buf_reserve(&c->in, room))
			return false;
		r = recv(c->fd, c->in.p + c->in.len, room, MSG_DONTWAIT);
		if (r == 0) {
			c->eof = true;
		} else if (r < 0) {
			return errno == EAGAIN || errno == EINTR;
		} else {
			c->in.len += (size_t)r;
			*budget -= (size_t)r;
			c->last_ms = now / 1000;
		}
	}
	return true;
}

/* Complete requests, one reply at a time. */
static unsigned int
client_process(struct wg_uapi *u, struct client *c)
{
	unsigned int done = 0;
	size_t end;

	while (!c->closing && c->out.len == 0) {
		end = request_end(c->in.p, c->in.len, c->scan);
		if (end == 0) {
			c->scan = c->in.len;
			if (c->in.len > u->max_request) {
				reply_errno(&c->out, EMSGSIZE);
				c->closing = true;
			} else if (c->eof && c->in.len != 0) {
				reply_errno(&c->out, EPROTO);	/* truncated */
				c->closing = true;
			} else if (c->eof) {
				c->closing = true;	/* e.g. wg's probe: connect, then close */
			}
			break;
		}
		process(u, c->in.p, end, &c->out);
		buf_consume(&c->in, end);
		c->scan = 0;
		done++;
	}
	return done;
}

/* Serve one client; false when it is to be closed. */
static bool
client_serve(struct wg_uapi *u, struct client *c, short revents, size_t *budget, uint64_t now,
	unsigned int *done)
{
	if (revents & (POLLERR | POLLNVAL))
		return false;
	if (!client_flush(c, budget, now))
		return false;
	if (c->out.len == 0 && !c->closing && (revents & (POLLIN | POLLHUP)))
		if (!client_read(u, c, budget, now))
			return false;
	*done += client_process(u, c);
	if (c->out.failed)
		return false;
	if (!client_flush(c, budget, now))
		return false;
	if (c->closing && c->out.len == 0)
		return false;
	return now / 1000 - c->last_ms < u->idle_ms;
}

unsigned int
wg_uapi_poll(struct wg_uapi *u)
{
	unsigned int i, n, done = 0;
	size_t budget = u->io_budget;
	uint64_t now = now_us();

	if (u->n_clients == 0 && now - u->last_poll_us < u->poll_us)
		return 0;
	u->last_poll_us = now;
	u->pfds[0].fd = u->fd;
	u->pfds[0].events = POLLIN;
	for (i = 0; i < u->n_clients; i++) {
		u->pfds[i + 1].fd = u->clients[i].fd;
		u->pfds[i + 1].events = u->clients[i].out.len != 0 ? POLLOUT : POLLIN;
		u->pfds[i + 1].revents = 0;
	}
	u->pfds[0].revents = 0;
	if (poll(u->pfds, u->n_clients + 1, 0) < 0)
		return 0;
	n = u->n_clients;
	for (i = 0; i < n; i++) {
		struct client *c = &u->clients[i];

		if (!client_serve(u, c, u->pfds[i + 1].revents, &budget, now, &done))
			client_close(c);
	}
	/* Compact, keeping the order (first come, first served). */
	for (i = 0, n = 0; i < u->n_clients; i++)
		if (u->clients[i].fd >= 0)
			u->clients[n++] = u->clients[i];
	u->n_clients = n;
	if (u->pfds[0].revents & POLLIN)
		accept_clients(u, now);
	return done;
}

static int
fail(char *err, size_t err_len, int e, const char *fmt, const char *path)
{
	if (err != NULL && err_len != 0)
		snprintf(err, err_len, fmt, path, strerror(e));
	return e;
}

/* A live process answers on path: refuse. Nobody does: remove the stale file. */
static int
claim_path(const char *path, char *err, size_t err_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : fail(err, err_len, errno, "%s: %s", path);
	if (!S_ISSOCK(st.st_mode))
		return fail(err, err_len, EEXIST, "%s: exists and is not a socket (%s)", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, err_len, errno, "%s: socket: %s", path);
	strcpy(sa.sun_path, path);
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
	close(fd);
	if (ret == 0 || ret == EAGAIN)
		return fail(err, err_len, EADDRINUSE,
			"%s: another process serves this interface (%s)", path);
	if (ret != ECONNREFUSED)
		return fail(err, err_len, ret, "%s: %s", path);
	if (unlink(path) != 0 && errno != ENOENT)
		return fail(err, err_len, errno, "%s: removing the stale socket: %s", path);
	return 0;
}

static int
open_socket(struct wg_uapi *u, const char *dir, const char *ifname, char *err, size_t err_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int ret;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return fail(err, err_len, errno, "%s: %s", dir);
	ret = snprintf(u->path, sizeof(u->path), "%s/%s.sock", dir, ifname);
	if (ret < 0 || (size_t)ret >= sizeof(u->path))
		return fail(err, err_len, ENAMETOOLONG, "%s: socket path too long (%s)", dir);
	ret = claim_path(u->path, err, err_len);
	if (ret != 0)
		return ret;
	u->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		return fail(err, err_len, errno, "%s: socket: %s", u->path);
	strcpy(sa.sun_path, u->path);
	/* Never reachable by others, not even between bind and chmod. */
	old = umask(0177);
	ret = bind(u->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
	umask(old);
	if (ret != 0)
		return fail(err, err_len, ret, "%s: bind: %s", u->path);
	if (chmod(u->path, 0600) != 0 || listen(u->fd, LISTEN_BACKLOG) != 0 ||
			stat(u->path, &st) != 0) {
		ret = errno;
		unlink(u->path);
		return fail(err, err_len, ret, "%s: %s", u->path);
	}
	u->sock_dev = st.st_dev;
	u->sock_ino = st.st_ino;
	return 0;
}

struct wg_uapi *
wg_uapi_create(const char *ifname, struct wg_engine *e, struct wg_tables *t,
	const struct wg_uapi_params *params, char *err, size_t err_len)
{
	static const struct wg_uapi_params defaults;
	const struct wg_uapi_params *p = params != NULL ? params : &defaults;
	struct wg_uapi *u;
	int ret;

	if (ifname == NULL || !wg_config_value_ifname(ifname) || e == NULL || t == NULL ||
			t->peers == NULL || t->allowedips == NULL) {
		fail(err, err_len, EINVAL, "%s: invalid interface name or tables: %s",
			ifname != NULL ? ifname : "(null)");
		errno = EINVAL;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		goto nomem;
	u->fd = -1;
	u->dev.engine = e;
	u->dev.tables = t;
	u->dev.listen_port = p->listen_port;
	u->dev.set_listen_port = p->set_listen_port;
	u->dev.hook_arg = p->hook_arg;
	u->max_request = p->max_request != 0 ? p->max_request : DEFAULT_MAX_REQUEST;
	u->io_budget = p->io_budget != 0 ? p->io_budget : DEFAULT_IO_BUDGET;
	u->max_clients = p->max_clients != 0 ? p->max_clients : DEFAULT_MAX_CLIENTS;
	u->idle_ms = p->idle_timeout_ms != 0 ? p->idle_timeout_ms : DEFAULT_IDLE_MS;
	u->poll_us = p->poll_interval_us != 0 ? p->poll_interval_us : DEFAULT_POLL_US;
	u->clients = calloc(u->max_clients, sizeof(*u->clients));
	u->pfds = calloc(u->max_clients + 1, sizeof(*u->pfds));
	if (u->clients == NULL || u->pfds == NULL)
		goto nomem;
	ret = open_socket(u, p->sock_dir != NULL ? p->sock_dir : WG_UAPI_SOCK_DIR, ifname, err,
		err_len);
	if (ret != 0) {
		wg_uapi_free(u);
		errno = ret;
		return NULL;
	}
	return u;
nomem:
	wg_uapi_free(u);
	fail(err, err_len, ENOMEM, "%s: %s", ifname);
	errno = ENOMEM;
	return NULL;
}

void
wg_uapi_free(struct wg_uapi *u)
{
	struct stat st;
	unsigned int i;

	if (u == NULL)
		return;
	for (i = 0; i < u->n_clients; i++)
		client_close(&u->clients[i]);
	if (u->fd >= 0) {
		close(u->fd);
		/* Only our own file: a successor may have bound the path since. */
		if (stat(u->path, &st) == 0 && st.st_dev == u->sock_dev &&
				st.st_ino == u->sock_ino)
			unlink(u->path);
	}
	free(u->clients);
	free(u->pfds);
	free(u->dev.scratch);
	free(u);
}

uint16_t
wg_uapi_listen_port(const struct wg_uapi *u)
{
	return u->dev.listen_port;
}

const char *
wg_uapi_path(const struct wg_uapi *u)
{
	return u->path;
}
