/* SPDX-License-Identifier: BSD-3-Clause */
/* wg-dpdk: orchestration only (arguments, EAL, configuration, lcores, signals). */
#include <stdio.h>
#include <string.h>

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: wg-dpdk --conf FILE [--check] [--log-level LEVEL]\n"
		"       wg-dpdk [EAL options] -- --conf FILE [--check] [--log-level LEVEL]\n"
		"       wg-dpdk --help | --version\n");
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("wg-dpdk %s\n", WG_DPDK_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
