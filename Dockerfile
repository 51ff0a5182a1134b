# syntax=docker/dockerfile:1
# SPDX-License-Identifier: BSD-3-Clause
#
# wg-dpdk in a container (README.md, "The container"; not exercised by CI):
#
#   docker build -t wg-dpdk .
#   docker run --rm -it --privileged --network host \
#       -v /dev/hugepages:/dev/hugepages -v /etc/wg-dpdk:/etc/wg-dpdk:ro \
#       -v /var/run/wireguard:/var/run/wireguard wg-dpdk
#
# Extra arguments are appended to the entry point: `docker run ... wg-dpdk --check`.
# Instead of --privileged: --cap-add NET_ADMIN --cap-add SYS_ADMIN --cap-add IPC_LOCK
# --cap-add SYS_RAWIO --device /dev/vfio/vfio --device /dev/vfio/<group> (real NICs)
# or --device /dev/net/tun (net_tap ports).

ARG DEBIAN=debian:12

# ---- build: the packages of scripts/deps.sh (build part), as a non-root user ----
FROM ${DEBIAN} AS build
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		gcc meson ninja-build pkg-config python3 \
		libdpdk-dev libipsec-mb-dev libyaml-dev libcmocka-dev libsodium-dev libb2-dev \
	&& rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --shell /usr/sbin/nologin builder
USER builder
WORKDIR /home/builder/src
COPY --chown=builder:builder . .
RUN meson setup /home/builder/build --buildtype=release -Dtests=false \
	&& ninja -C /home/builder/build app/wg-dpdk \
	&& /home/builder/build/app/wg-dpdk --version

# ---- runtime: the shared libraries wg-dpdk links, the PMD plugins, the binary ----
FROM ${DEBIAN} AS runtime
# Poll-mode drivers are plugins EAL loads from its driver directory: the virtual
# ones the tests and the demo use, and common NICs. Trim NIC_PMDS for a smaller
# image (mlx5 pulls in rdma-core); add others (apt-cache search librte-net-).
ARG NIC_PMDS="librte-net-ixgbe23 librte-net-i40e23 librte-net-ice23 librte-net-iavf23 \
	librte-net-mlx5-23 librte-net-virtio23 librte-net-vmxnet3-23 librte-net-ena23"
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		libipsec-mb1 libyaml-0-2 libsodium23 libb2-1 libnuma1 \
		librte-eal23 librte-ethdev23 librte-hash23 librte-kvargs23 librte-lpm23 \
		librte-mbuf23 librte-mempool23 librte-meter23 librte-net23 librte-rcu23 \
		librte-ring23 librte-telemetry23 librte-pdump23 \
		librte-mempool-ring23 librte-bus-pci23 librte-bus-vdev23 \
		librte-net-tap23 librte-net-af-packet23 librte-net-memif23 librte-net-ring23 \
		librte-net-null23 \
		${NIC_PMDS} \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /home/builder/build/app/wg-dpdk /usr/bin/wg-dpdk
COPY conf/peers.yaml /usr/share/doc/wg-dpdk/peers.yaml.example
COPY README.md /usr/share/doc/wg-dpdk/README.md
# The UAPI socket (wg show / wg set from the host) lives here.
VOLUME ["/var/run/wireguard"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/wg-dpdk", "--conf", "/etc/wg-dpdk/peers.yaml"]
