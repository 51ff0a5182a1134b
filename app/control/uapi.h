/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The WireGuard cross-platform userspace API (design.md §4): a UNIX stream
 * socket <dir>/<ifname>.sock (default dir /var/run/wireguard) that speaks the
 * text protocol of wireguard-go and boringtun, so the stock wg(8) tool
 * (`wg show`, `wg set`, `wg setconf`, `wg addconf`, `wg syncconf`,
 * `wg showconf`) manages wg-dpdk.
 *
 * Everything runs on the control lcore, the only writer of the peer table
 * and the allowed IPs: wg_uapi_poll() accepts, reads and writes without
 * blocking, a bounded number of bytes per call, and processes each complete
 * request in one go. A get reply is therefore a consistent snapshot, and a
 * set is applied whole between two polls: no other request ever sees half
 * of it.
 *
 * Set requests are parsed and validated completely before anything changes:
 * a malformed request changes nothing and is answered errno=EINVAL (bad key
 * or value) or errno=EPROTO (not key=value, truncated). A request that
 * would create more peers than the peer table has room for (ids of peers
 * removed by the same request count as taken: they come back after a grace
 * period) is answered errno=ENOSPC before anything changes. Errors that only
 * appear while applying (the allowed-IPs tables full: ENOSPC; ENOMEM) still
 * stop there, with the operations before them applied, as in the kernel and
 * wireguard-go.
 * Reply errno values are positive errno.h numbers, as the cross-platform
 * specification says (wg(8) exits 1 on any non-zero value).
 *
 * Semantics (kernel / wireguard-go):
 *   private_key    all zeros removes the identity; a peer with the new public
 *                  key is removed; a peer section naming the device's own
 *                  public key is ignored.
 *   listen_port    the same port is accepted; another port goes to the
 *                  set_listen_port hook, and without a hook is refused with
 *                  EOPNOTSUPP before anything changes.
 *   fwmark         stored and reported, no effect.
 *   replace_peers  every peer is removed first (their sessions end).
 *   allowed_ip     a prefix owned by another peer moves to this one;
 *                  "-PREFIX" removes it when this peer owns it;
 *                  replace_allowed_ips=true keeps the prefixes the request
 *                  lists again in place, so they are never unrouted.
 *   preshared_key  all zeros means none.
 * get replies list preshared_key only for peers that have one, fwmark only
 * when non-zero, the live (roamed) endpoint, and allowed IPs in insertion
 * order.
 */
#ifndef WG_UAPI_H
#define WG_UAPI_H

#include <stddef.h>
#include <stdint.h>

struct wg_engine;
struct wg_tables;
struct wg_uapi;

#define WG_UAPI_SOCK_DIR "/var/run/wireguard"

/* Optional settings; zero fields take the defaults. */
struct wg_uapi_params {
	const char *sock_dir;		/* NULL: WG_UAPI_SOCK_DIR (created 0755 if missing) */
	uint16_t listen_port;		/* the running port, reported by get */
	/*
	 * Apply a new listen port to the data path: 0 or a positive errno for the
	 * reply. NULL: a port other than the running one is refused.
	 */
	int (*set_listen_port)(void *arg, uint16_t port);
	void *hook_arg;
	size_t max_request;		/* bytes of one request (default 256 MiB) */
	size_t io_budget;		/* bytes read plus written per poll (default 256 KiB) */
	unsigned int max_clients;	/* connections served at once (default 16) */
	unsigned int idle_timeout_ms;	/* close a connection idle this long (default 30 s) */
	unsigned int poll_interval_us;	/* without clients, look at the socket this often (1 ms) */
};

/*
 * Bind <sock_dir>/<ifname>.sock (mode 0600). A stale socket file is replaced;
 * a socket a live process answers on is not: NULL with errno EADDRINUSE.
 * NULL with errno set and a one-line message in err (may be NULL) on failure.
 */
struct wg_uapi *wg_uapi_create(const char *ifname, struct wg_engine *e, struct wg_tables *t,
	const struct wg_uapi_params *params, char *err, size_t err_len);

/* Close every connection and the socket, and unlink the socket file. NULL is allowed. */
void wg_uapi_free(struct wg_uapi *u);

/*
 * Control-lcore loop: accept, read, process complete requests, write
 * replies, all non-blocking and within the per-call budget. Returns the
 * number of requests processed.
 */
unsigned int wg_uapi_poll(struct wg_uapi *u);

/*
 * Process one request (text up to and including its blank line) without a
 * socket. *reply (malloc'd and NUL-terminated, caller frees; NULL on
 * allocation failure) gets the full reply text, *reply_len its length.
 * Returns the errno value of the reply (0: success).
 */
int wg_uapi_process(struct wg_uapi *u, const char *req, size_t len, char **reply,
	size_t *reply_len);

/* The listen port get reports (the running port). */
uint16_t wg_uapi_listen_port(const struct wg_uapi *u);

/* The socket's path. */
const char *wg_uapi_path(const struct wg_uapi *u);

#endif
