/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports: addresses from the configuration, queue setup (one RX and one TX
 * queue per worker), the startup checks on MTU and buffer sizes, and the
 * multicast filter that lets neighbour discovery in.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include <rte_ethdev.h>

#include "control/config.h"
#include "dataplane.h"
#include "pipeline.h"

static int
add_address(struct wg_port *p, const struct wg_prefix *a)
{
	if (a->family == AF_INET) {
		if (p->n_ip4 == WG_PORT_MAX_ADDRS)
			return -E2BIG;
		memcpy(&p->ip4[p->n_ip4].addr, a->addr, 4);
		p->ip4[p->n_ip4].mask = a->len == 0 ? 0 :
			rte_cpu_to_be_32(UINT32_MAX << (32 - a->len));
		p->n_ip4++;
		return 0;
	}
	if (a->family == AF_INET6) {
		if (p->n_ip6 == WG_PORT_MAX_ADDRS + 1)
			return -E2BIG;
		memcpy(p->ip6[p->n_ip6].addr, a->addr, 16);
		p->ip6[p->n_ip6].prefixlen = a->len;
		p->n_ip6++;
		return 0;
	}
	return -EAFNOSUPPORT;
}

/* fe80::/64 with the modified EUI-64 of the MAC (RFC 4291 2.5.1). */
static void
set_link_local(struct wg_port *p)
{
	const uint8_t *mac = p->mac.addr_bytes;
	uint8_t *a = p->ip6[0].addr;

	memset(a, 0, 16);
	a[0] = 0xfe;
	a[1] = 0x80;
	a[8] = mac[0] ^ 0x02;
	a[9] = mac[1];
	a[10] = mac[2];
	a[11] = 0xff;
	a[12] = 0xfe;
	a[13] = mac[3];
	a[14] = mac[4];
	a[15] = mac[5];
	p->ip6[0].prefixlen = 64;
}

int
wg_port_init(struct wg_port *p, uint8_t role, const struct wg_conf_port *cp)
{
	uint32_t i;
	int ret;

	memset(p, 0, sizeof(*p));
	p->role = role;
	p->name = role == WG_WAN ? "wan" : "lan";
	if (cp->device != NULL)
		snprintf(p->device, sizeof(p->device), "%s", cp->device);
	if (cp->device == NULL || rte_eth_dev_get_port_by_name(cp->device, &p->port_id) != 0) {
		fprintf(stderr, "wg-dpdk: ports.%s.device: no DPDK port named '%s' "
			"(is it in the EAL arguments?)\n", p->name,
			cp->device != NULL ? cp->device : "");
		return -ENODEV;
	}
	p->n_ip6 = 1;	/* [0]: link-local, set once the MAC is known */
	for (i = 0; i < cp->n_addresses; i++) {
		ret = add_address(p, &cp->addresses[i]);
		if (ret != 0) {
			fprintf(stderr, "wg-dpdk: ports.%s.address: at most %u addresses per "
				"family\n", p->name, WG_PORT_MAX_ADDRS);
			return ret;
		}
	}
	if (cp->gateway4.family == AF_INET) {
		p->has_gw4 = true;
		memcpy(&p->gw4, cp->gateway4.addr, 4);
	}
	if (cp->gateway6.family == AF_INET6) {
		p->has_gw6 = true;
		memcpy(p->gw6, cp->gateway6.addr, 16);
	}
	ret = rte_eth_macaddr_get(p->port_id, &p->mac);
	if (ret != 0) {
		fprintf(stderr, "wg-dpdk: port %s (%s): no MAC address: %s\n", p->name,
			p->device, rte_strerror(-ret));
		return ret;
	}
	set_link_local(p);
	return 0;
}

static void
rss_setup(struct rte_eth_conf *conf, const struct rte_eth_dev_info *info, uint16_t nq)
{
	uint64_t want = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP;

	if (nq < 2 || (info->flow_type_rss_offloads & want) == 0)
		return;
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf.rss_hf = info->flow_type_rss_offloads & want;
}

/* The startup checks: an outer packet of mtu + 80 bytes must fit the port and one mbuf. */
static int
check_sizes(const struct wg_port *p, const struct rte_eth_dev_info *info, uint16_t mtu,
	struct rte_mempool *pool)
{
	uint32_t l3 = mtu + WG_OUTER_OVERHEAD;
	uint32_t frame = l3 + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;

	if (info->max_mtu < l3 || info->max_rx_pktlen < frame) {
		fprintf(stderr, "wg-dpdk: port %s (%s): interface.mtu %u needs a port MTU of %u "
			"(mtu + %u bytes of outer headers); the device allows at most %u\n",
			p->name, p->device, mtu, l3, WG_OUTER_OVERHEAD,
			RTE_MIN((uint32_t)info->max_mtu,
				info->max_rx_pktlen - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN));
		return -EINVAL;
	}
	if (room < frame || room < info->min_rx_bufsize) {
		fprintf(stderr, "wg-dpdk: port %s (%s): mbuf data room %u bytes is too small for "
			"%u-byte frames (device minimum %u)\n", p->name, p->device, room, frame,
			info->min_rx_bufsize);
		return -EINVAL;
	}
	return 0;
}

static int
set_port_mtu(const struct wg_port *p, uint16_t l3)
{
	uint16_t cur = 0;
	int ret;

	ret = rte_eth_dev_set_mtu(p->port_id, l3);
	if (ret == 0)
		return 0;
	if (rte_eth_dev_get_mtu(p->port_id, &cur) == 0 && cur >= l3)
		return 0;
	fprintf(stderr, "wg-dpdk: port %s (%s): cannot set MTU %u (current %u): %s\n",
		p->name, p->device, l3, cur, rte_strerror(-ret));
	return ret;
}

int
wg_port_configure(struct wg_port *p, uint16_t nq, uint16_t mtu, struct rte_mempool *pool)
{
	struct rte_eth_conf conf = { .rxmode = { .mtu = mtu + WG_OUTER_OVERHEAD } };
	uint16_t nb_rxd = WG_RX_DESC, nb_txd = WG_TX_DESC, q;
	struct rte_eth_dev_info info;
	int socket = rte_eth_dev_socket_id(p->port_id);
	int ret;

	ret = rte_eth_dev_info_get(p->port_id, &info);
	if (ret != 0)
		goto fail;
	ret = check_sizes(p, &info, mtu, pool);
	if (ret != 0)
		return ret;
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		fprintf(stderr, "wg-dpdk: port %s (%s): %u workers need %u queue pairs; the "
			"device has %u RX / %u TX (af_packet: qpairs=N in the vdev argument)\n",
			p->name, p->device, nq, nq, info.max_rx_queues, info.max_tx_queues);
		return -EINVAL;
	}
	rss_setup(&conf, &info, nq);
	ret = rte_eth_dev_configure(p->port_id, nq, nq, &conf);
	if (ret != 0)
		goto fail;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nb_rxd, &nb_txd);
	if (ret != 0)
		goto fail;
	for (q = 0; q < nq; q++) {
		ret = rte_eth_rx_queue_setup(p->port_id, q, nb_rxd, socket, NULL, pool);
		if (ret != 0)
			goto fail;
		ret = rte_eth_tx_queue_setup(p->port_id, q, nb_txd, socket, NULL);
		if (ret != 0)
			goto fail;
	}
	return set_port_mtu(p, mtu + WG_OUTER_OVERHEAD);
fail:
	fprintf(stderr, "wg-dpdk: port %s (%s): setup failed: %s\n", p->name, p->device,
		rte_strerror(-ret));
	return ret;
}

/* All-nodes and the solicited-node group of each IPv6 address; else all-multicast. */
static void
multicast_setup(const struct wg_port *p)
{
	struct rte_ether_addr mc[WG_PORT_MAX_ADDRS + 2];
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };
	uint8_t group[16];
	uint32_t n = 0, i, j;

	wg_ip6_mcast_mac(&mc[n++], all_nodes);
	for (i = 0; i < p->n_ip6; i++) {
		wg_ip6_solicited_node(group, p->ip6[i].addr);
		wg_ip6_mcast_mac(&mc[n], group);
		for (j = 0; j < n; j++)
			if (rte_is_same_ether_addr(&mc[j], &mc[n]))
				break;
		if (j == n)
			n++;
	}
	if (rte_eth_dev_set_mc_addr_list(p->port_id, mc, n) == 0)
		return;
	if (rte_eth_allmulticast_enable(p->port_id) == 0)
		return;
	if (rte_eth_promiscuous_enable(p->port_id) != 0)
		fprintf(stderr, "wg-dpdk: port %s (%s): no multicast filter, all-multicast or "
			"promiscuous mode: IPv6 neighbour discovery may not work\n", p->name,
			p->device);
}

int
wg_port_start(struct wg_port *p)
{
	int ret = rte_eth_dev_start(p->port_id);

	if (ret != 0) {
		fprintf(stderr, "wg-dpdk: port %s (%s): start failed: %s\n", p->name, p->device,
			rte_strerror(-ret));
		return ret;
	}
	multicast_setup(p);
	return 0;
}

void
wg_port_close(struct wg_port *p)
{
	rte_eth_dev_stop(p->port_id);
	rte_eth_dev_close(p->port_id);
}
