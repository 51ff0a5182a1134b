/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the data plane: the runtime port and lcore structures shared
 * by dataplane.c (setup), worker.c (the loop), control.c (the control
 * lcore), arp_nd.c, icmp.c and telemetry.c.
 */
#ifndef WG_PIPELINE_H
#define WG_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "control/tables.h"
#include "neigh.h"
#include "stats.h"

enum wg_port_role {
	WG_WAN = 0,
	WG_LAN = 1,
	WG_NB_PORTS = 2,
};

enum {
	WG_PORT_MAX_ADDRS = 8,
	WG_BURST = 32,
	WG_RX_DESC = 1024,
	WG_TX_DESC = 1024,
	WG_WORKER_RING_SIZE = 1024,	/* control <-> one worker, each way */
	WG_EVENT_RING_SIZE = 1024,
	WG_NEIGH_MAX = 4096,		/* neighbour entries, both ports */
	WG_HOLD_CAP = 1024,		/* packets waiting for ARP / ND, all next hops */
	WG_HOLD_MAX_MS = 3000,
	WG_OUTER_OVERHEAD = 80,		/* IPv6 40 + UDP 8 + WireGuard data 32 */
	WG_DRAIN_US = 100,		/* TX buffers flushed at least this often */
	WG_ENCAP_MAX = 2 * WG_BURST,	/* inner packets batched for encryption */
	WG_ICMP_ERR_PER_SEC = 1000,	/* ICMP errors per worker, token bucket */
	WG_ICMP_ERR_BURST = 50,
	WG_IP4_ICMP_QUOTE_MAX = 576,	/* RFC 1812 4.3.2.3 */
	WG_IP6_ICMP_QUOTE_MAX = 1280,	/* RFC 4443 2.4 (c) */
};

/* ICMP / ICMPv6 types and codes the router sends. */
enum {
	WG_ICMP_DEST_UNREACH = 3,
	WG_ICMP_FRAG_NEEDED = 4,	/* code of DEST_UNREACH */
	WG_ICMP_TIME_EXCEEDED = 11,
	WG_ICMP6_PACKET_TOO_BIG = 2,
	WG_ICMP6_TIME_EXCEEDED = 3,
};

struct wg_ip4 {
	rte_be32_t addr;
	rte_be32_t mask;
};

struct wg_ip6 {
	uint8_t addr[16];
	uint8_t prefixlen;
};

struct wg_port {
	const char *name;		/* "wan" or "lan" */
	/* A copy: a reload frees the configuration the name came from. */
	char device[RTE_ETH_NAME_MAX_LEN];
	uint16_t port_id;
	uint8_t role;
	struct rte_ether_addr mac;
	uint16_t n_ip4;
	uint16_t n_ip6;			/* ip6[0] is the link-local address */
	struct wg_ip4 ip4[WG_PORT_MAX_ADDRS];
	struct wg_ip6 ip6[WG_PORT_MAX_ADDRS + 1];
	bool has_gw4;
	bool has_gw6;
	rte_be32_t gw4;
	uint8_t gw6[16];
};

/* In the mbuf private area: what a packet handed between lcores is for. */
enum wg_meta_kind {
	WG_META_NONE = 0,
	WG_META_HANDSHAKE,	/* worker -> control: message types 1, 2, 3 */
	WG_META_NEIGH_WAIT,	/* worker -> control: L2 header to fill for meta.nexthop */
	WG_META_TX,		/* control -> worker: transmit as is on meta.port */
	/*
	 * worker -> control: an inner IP packet (at offset 0, TTL already
	 * decremented) for meta.peer_id, which has no usable keypair: the
	 * control lcore stages it (wg_engine_stage()).
	 */
	WG_META_STAGE,
	/* control -> worker: a staged inner packet (offset 0) to encrypt for meta.peer_id */
	WG_META_STAGED,
};

struct wg_mbuf_meta {
	uint8_t kind;
	uint8_t port;		/* enum wg_port_role */
	uint16_t l3;		/* offsets from the start of the frame */
	uint16_t l4;
	uint16_t payload;	/* HANDSHAKE: the WireGuard message */
	struct wg_neigh_key nexthop;	/* NEIGH_WAIT */
	uint32_t peer_id;	/* STAGE, STAGED */
};

static inline struct wg_mbuf_meta *
wg_meta(struct rte_mbuf *m)
{
	return rte_mbuf_to_priv(m);
}

/* Worker -> control events (fixed-size ring elements). */
enum wg_event_type {
	WG_EV_NEIGH = 1,	/* learned neighbour: key, mac, flags WG_NEIGH_F_* */
	/*
	 * A peer has events pending (engine_worker.h): the control lcore calls
	 * wg_engine_worker_event(engine, &ev->peer).
	 */
	WG_EV_PEER,
};

/* Same layout as struct wg_engine_event (control/engine_worker.h). */
struct wg_event_peer {
	uint32_t peer_id;
	uint32_t bits;
};

struct wg_event {
	uint8_t type;
	uint8_t flags;
	uint8_t mac[6];
	union {
		struct wg_neigh_key key;	/* WG_EV_NEIGH */
		struct wg_event_peer peer;	/* WG_EV_PEER */
	};
	uint8_t pad[4];
};

/* Type 4 messages of one RX burst, decrypted in one AEAD batch (decap.c). */
struct wg_decap_item {
	struct rte_mbuf *m;
	uint16_t msg;		/* offset of the WireGuard message in the frame */
	uint16_t len;		/* its length (UDP payload) */
};

/* Inner packets of one burst, encrypted in one AEAD batch (encap.c). */
struct wg_encap_item {
	struct rte_mbuf *m;
	uint32_t peer_id;	/* WG_ENCAP_LOOKUP: by the destination in allowed-IPs */
	uint16_t l3;		/* offset of the inner IP header */
	bool staged;		/* handed back by the control lcore */
};

#define WG_ENCAP_LOOKUP UINT32_MAX	/* = WG_ALLOWEDIPS_NO_PEER */

struct wg_dp;
struct wg_uapi;
struct wg_conf;
struct wg_aead_ctx;
struct wg_allowedips;
struct wg_endpoint;
struct wg_engine;
struct wg_index_rcu;
struct wg_peer;
struct wg_peers;
struct noise_keypair;

struct wg_worker {
	struct wg_dp *dp;
	struct wg_lcore_stats *stats;
	unsigned int lcore_id;
	unsigned int index;		/* queue id on both ports, RCU thread id */
	struct rte_eth_dev_tx_buffer *txb[WG_NB_PORTS];
	struct rte_ring *tx_ring;	/* control -> this worker: packets to send */
	struct rte_ring *ctrl_ring;	/* this worker -> control: packets */
	struct rte_ring *event_ring;	/* this worker -> control: struct wg_event */
	uint64_t drain_tsc;
	uint64_t last_drain;
	uint64_t icmp_tokens;		/* scaled by tsc_hz */
	uint64_t icmp_last;
	uint32_t idle_loops;
	uint32_t sleep_us;
	struct wg_aead_ctx *aead;	/* created on the worker's thread (wg_worker_start) */
	uint16_t n_decap;
	uint16_t n_encap;
	uint16_t n_hs;			/* handshake messages for the control lcore */
	struct rte_mbuf *hs[WG_BURST];	/* one ring enqueue per burst */
	struct wg_decap_item decap[WG_BURST];
	struct wg_encap_item encap[WG_ENCAP_MAX];
} __rte_cache_aligned;

struct wg_dp {
	struct wg_port port[WG_NB_PORTS];
	uint16_t listen_port;		/* host order */
	uint16_t mtu;			/* tunnel (inner) MTU */
	bool idle;			/* back off when queues stay empty */
	unsigned int n_workers;
	struct wg_worker *workers[RTE_MAX_LCORE];
	struct rte_mempool *pool;
	struct rte_ring *handshake_ring;
	struct rte_rcu_qsbr *qsbr;
	struct wg_neigh_table *neigh;
	struct wg_neigh_hold *hold;
	unsigned int next_tx_worker;
	uint64_t tsc_hz;
	bool configured[WG_NB_PORTS];	/* to close at the end */
	/*
	 * The protocol tables the workers read lock-free (the control lcore
	 * writes them; RCU on qsbr). Set by the engine glue before the workers
	 * start; NULL: type 4 messages find no keypair, LAN packets no peer.
	 */
	struct wg_peers *peers;
	struct wg_allowedips *allowedips;
	struct wg_index_rcu *index;
	struct wg_engine *engine;	/* opaque to the workers */
	/* Control lcore only: management (UAPI socket) and SIGHUP reload. */
	struct wg_tables tables;	/* the same peers and allowedips, as the loader built them */
	struct wg_uapi *uapi;
	const char *conf_path;		/* NULL: reload disabled (tests) */
	struct wg_conf **confp;		/* the running configuration, replaced by a reload */
	char ifname[16];		/* interface.name (a copy: reloads free the file) */
	uint64_t start_ns;		/* wg_control_now_ns() at creation: uptime */
	uint64_t reloads;		/* applied (telemetry reads them) */
	uint64_t reloads_refused;	/* bad file or refused: nothing changed */
};

/* Set by SIGINT / SIGTERM. */
extern volatile uint32_t wg_dp_quit;

static inline bool
wg_dp_quitting(void)
{
	return __atomic_load_n(&wg_dp_quit, __ATOMIC_RELAXED) != 0;
}

/* Hot-path endings: transmit on a port's queue of this worker, or drop. */
static inline void
wg_worker_tx(struct wg_worker *w, uint8_t role, struct rte_mbuf *m)
{
	uint16_t sent;

	sent = rte_eth_tx_buffer(w->dp->port[role].port_id, w->index, w->txb[role], m);
	if (sent != 0)
		wg_stats_count(w->stats, role == WG_WAN ? WG_CNT_tx_wan : WG_CNT_tx_lan, sent);
}

static inline void
wg_worker_drop(struct wg_worker *w, struct rte_mbuf *m, enum wg_drop_reason r)
{
	wg_stats_drop(w->stats, r, 1);
	rte_pktmbuf_free(m);
}

/*
 * Also in the peer's counters when r is one of WG_PEER_DROP_REASONS (peer
 * may be NULL). A relaxed add on the peer's cold drop line: drop paths only.
 */
static inline void
wg_peer_count_drop(struct wg_peer *peer, enum wg_drop_reason r, uint64_t n)
{
	int i = wg_stats_peer_index(r);

	if (peer != NULL && i >= 0)
		__atomic_fetch_add(&peer->wk.drop[i], n, __ATOMIC_RELAXED);
}

static inline void
wg_worker_drop_peer(struct wg_worker *w, struct rte_mbuf *m, enum wg_drop_reason r,
	struct wg_peer *peer)
{
	wg_peer_count_drop(peer, r, 1);
	wg_worker_drop(w, m, r);
}

/* Address helpers (addresses in network order). */
static inline int
wg_port_ip4_local(const struct wg_port *p, rte_be32_t a)
{
	unsigned int i;

	for (i = 0; i < p->n_ip4; i++)
		if (p->ip4[i].addr == a)
			return (int)i;
	return -1;
}

/* Index of our address in the same subnet as a, or -1. */
static inline int
wg_port_ip4_onlink(const struct wg_port *p, rte_be32_t a)
{
	unsigned int i;

	for (i = 0; i < p->n_ip4; i++)
		if (((p->ip4[i].addr ^ a) & p->ip4[i].mask) == 0)
			return (int)i;
	return -1;
}

static inline bool
wg_ip6_prefix_match(const uint8_t *a, const uint8_t *b, unsigned int len)
{
	unsigned int bytes = len / 8, bits = len % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	return bits == 0 || ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

static inline int
wg_port_ip6_local(const struct wg_port *p, const uint8_t *a)
{
	unsigned int i;

	for (i = 0; i < p->n_ip6; i++)
		if (memcmp(p->ip6[i].addr, a, 16) == 0)
			return (int)i;
	return -1;
}

static inline bool
wg_ip6_is_link_local(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static inline bool
wg_ip6_is_multicast(const uint8_t *a)
{
	return a[0] == 0xff;
}

static inline bool
wg_ip6_is_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

/* ff02::1:ffXX:XXXX for the low 24 bits of a. */
static inline void
wg_ip6_solicited_node(uint8_t out[16], const uint8_t *a)
{
	static const uint8_t prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff };

	memcpy(out, prefix, sizeof(prefix));
	memcpy(out + 13, a + 13, 3);
}

static inline void
wg_ip6_mcast_mac(struct rte_ether_addr *mac, const uint8_t *a)
{
	mac->addr_bytes[0] = 0x33;
	mac->addr_bytes[1] = 0x33;
	memcpy(&mac->addr_bytes[2], a + 12, 4);
}

/* 0/8, 127/8, multicast, limited broadcast: never forwarded (a in network order). */
static inline bool
wg_ip4_martian(rte_be32_t a)
{
	uint32_t h = rte_be_to_cpu_32(a);

	return (h >> 24) == 0 || (h >> 24) == 127 || (h >> 28) == 0xe || h == UINT32_MAX;
}

static inline bool
wg_ip4_multicast(rte_be32_t a)
{
	return (rte_be_to_cpu_32(a) >> 28) == 0xe || a == UINT32_MAX;
}

/* RFC 1624: TTL is the high byte of its 16-bit word; fold the carry. */
/*
 * rte_ipv4_cksum() with a fast path for the 20-byte header of almost every
 * packet: five 32-bit words summed in 64 bits and folded (one's-complement
 * sums do not depend on the word size or the byte order they are read in).
 */
static inline uint16_t
wg_ip4_cksum(const struct rte_ipv4_hdr *ip)
{
	uint32_t w[5];
	uint64_t s;

	if (unlikely((ip->version_ihl & 0xf) != 5))
		return rte_ipv4_cksum(ip);
	memcpy(w, ip, sizeof(w));
	s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static inline void
wg_ip4_dec_ttl(struct rte_ipv4_hdr *ip)
{
	uint32_t sum = rte_be_to_cpu_16(ip->hdr_checksum) + 0x0100;

	ip->time_to_live--;
	ip->hdr_checksum = rte_cpu_to_be_16((uint16_t)(sum + (sum >> 16)));
}

/* Index of our address whose prefix contains a (link-local for fe80::/10), or -1. */
int wg_port_ip6_onlink(const struct wg_port *p, const uint8_t *a);
/* ff02::1 or the solicited-node group of one of our addresses. */
bool wg_port_ip6_our_multicast(const struct wg_port *p, const uint8_t *a);
/* Our source address for a packet to dst (same prefix, else link-local). */
const uint8_t *wg_port_ip6_source(const struct wg_port *p, const uint8_t *dst);

/* dataplane.c: everything but EAL and the lcores (tests drive a worker by hand). */
struct wg_conf;
struct wg_dp *wg_dp_create(const struct wg_conf *conf);
/* Drain, close the ports, free; 0, or 3 when mbufs are missing from the pool. */
int wg_dp_destroy(struct wg_dp *dp);

/* port.c */
struct wg_conf_port;
int wg_port_init(struct wg_port *p, uint8_t role, const struct wg_conf_port *cp);
int wg_port_configure(struct wg_port *p, uint16_t nq, uint16_t mtu, struct rte_mempool *pool);
int wg_port_start(struct wg_port *p);
void wg_port_close(struct wg_port *p);

/* worker.c */
int wg_worker_main(void *arg);
/* Per-thread state (the AEAD context), on the worker's own thread: 0 or -ENOMEM. */
int wg_worker_start(struct wg_worker *w);
void wg_worker_stop(struct wg_worker *w);
/* One received frame on port role, ended like every other (for tests). */
void wg_worker_input(struct wg_worker *w, uint8_t role, struct rte_mbuf *m);
/* A received burst: classified, then one decrypt and one encrypt batch. */
void wg_worker_input_burst(struct wg_worker *w, uint8_t role, struct rte_mbuf **pkts,
	uint16_t n);
/* What the control lcore queued for this worker (TX, staged packets); returns the count. */
unsigned int wg_worker_from_control(struct wg_worker *w);
void wg_worker_flush(struct wg_worker *w);
bool wg_worker_post(struct wg_worker *w, const struct wg_event *ev);
/*
 * The last step of both walks: m starts with an Ethernet header whose type
 * is set; mac is the next hop's (from wg_neigh_lookup), or NULL when it is
 * unresolved: then m goes to the control lcore (NEIGH_WAIT for nh).
 */
void wg_worker_send(struct wg_worker *w, uint8_t role, struct rte_mbuf *m,
	const struct wg_neigh_key *nh, const uint8_t *mac);
/*
 * Record events for a peer (engine_worker.h wg_engine_post) and queue it
 * on the event ring (WG_EV_PEER) when it was not queued already.
 */
void wg_worker_post_peer(struct wg_worker *w, struct wg_peer *peer, uint32_t bits, uint64_t now,
	const struct wg_endpoint *ep, struct noise_keypair *kp);
/* Hand m to the control lcore on this worker's ring (meta filled); drop when full. */
void wg_worker_to_control(struct wg_worker *w, struct rte_mbuf *m);
/* Next hop on port p for dst (family AF_INET / AF_INET6): on-link, else the gateway. */
bool wg_port_nexthop(const struct wg_port *p, uint8_t family, const uint8_t *dst,
	struct wg_neigh_key *nh) __attribute__((warn_unused_result));

/* decap.c: type 4 messages (the WAN -> LAN walk). */
/* Queue the message at offset msg (len bytes, >= 32, type word 4) of m. */
void wg_decap_add(struct wg_worker *w, struct rte_mbuf *m, uint16_t msg, uint16_t len);
/* Decrypt and route what was queued. */
void wg_decap_flush(struct wg_worker *w);

/* encap.c: inner packets to the peers (the LAN -> WAN walk). */
/* Queue the inner IP packet at offset l3 of m for peer_id (WG_ENCAP_LOOKUP: by destination). */
void wg_encap_add(struct wg_worker *w, struct rte_mbuf *m, uint16_t l3, uint32_t peer_id,
	bool staged);
/* Encrypt and send what was queued: one allowed-IPs lookup, one AEAD batch. */
void wg_encap_flush(struct wg_worker *w);
/*
 * Control lcore: prepend the outer UDP, IPv4 / IPv6 and Ethernet headers
 * (source MAC and type set, destination MAC left for the neighbour step) to
 * the WireGuard message that m holds from offset 0, for dst. The next hop is
 * left in wg_meta(m)->nexthop with meta.port = WG_WAN, ready for the
 * NEIGH_WAIT handling. 0, or -EAFNOSUPPORT (no WAN address of dst's family),
 * -ENETUNREACH (off-link and no gateway), -ENOSPC (headroom), -EINVAL.
 */
int wg_encap_udp(struct wg_dp *dp, struct rte_mbuf *m, const struct wg_endpoint *dst);
/*
 * Control lcore (ops->send_staged): hand a staged inner packet (offset 0) back
 * to a worker, which encrypts it for peer_id. false when the ring was full
 * (m freed, counted tx_ring_full).
 */
bool wg_encap_send_staged(struct wg_dp *dp, struct rte_mbuf *m, uint32_t peer_id);

/* arp_nd.c: worker side; each ends the mbuf (TX, event, or counted drop). */
struct wg_l3 {
	uint16_t l3;		/* offset of the IP header */
	uint16_t l4;		/* offset of the L4 header */
	uint16_t l4_len;	/* bytes of L4 header and payload */
	uint8_t proto;
};
void wg_arp_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m);
void wg_nd_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3);

/* arp_nd.c: control side, packets the control lcore originates (NULL: no mbuf). */
struct rte_mbuf *wg_arp_request(struct wg_dp *dp, const struct wg_port *p, rte_be32_t sender,
	rte_be32_t target, const struct rte_ether_addr *unicast);
struct rte_mbuf *wg_nd_solicit(struct wg_dp *dp, const struct wg_port *p, const uint8_t *target,
	const struct rte_ether_addr *unicast);
struct rte_mbuf *wg_nd_advert_unsolicited(struct wg_dp *dp, const struct wg_port *p,
	const uint8_t *addr);

/* icmp.c */
void wg_icmp4_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3);
void wg_icmp6_input(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3);
/* Turn m (an IPv4 / IPv6 packet at l3) into an ICMP error back to its sender on p. */
/* The worker's ICMP error budget (token bucket): false when an error must not be sent. */
bool wg_icmp_error_allowed(struct wg_worker *w);
void wg_icmp4_error(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3, uint8_t type, uint8_t code, uint16_t mtu, enum wg_drop_reason r);
void wg_icmp6_error(struct wg_worker *w, const struct wg_port *p, struct rte_mbuf *m,
	const struct wg_l3 *l3, uint8_t type, uint8_t code, uint32_t mtu, enum wg_drop_reason r);

/* control.c */
void wg_control_main(struct wg_dp *dp);
/* Queue m (a complete frame) for transmission on port role by some worker. */
void wg_control_tx(struct wg_dp *dp, uint8_t role, struct rte_mbuf *m);
/* Free every mbuf still in a ring or held, counted as shutdown drops. */
void wg_control_drain(struct wg_dp *dp);
uint64_t wg_control_now_ns(void);

/* telemetry.c */
void wg_telemetry_register(void);
void wg_telemetry_attach(struct wg_dp *dp);
void wg_telemetry_detach(void);

#endif
