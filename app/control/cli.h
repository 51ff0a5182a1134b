/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The command line (docs/config.md):
 *   wg-dpdk --conf FILE [--check] [--log-level LEVEL]
 *   wg-dpdk [EAL options] -- --conf FILE [--check] [--log-level LEVEL]
 *   wg-dpdk --help | --version
 * Without "--" the EAL options come from dpdk.eal-args; with it, from the
 * command line. No EAL here, so it is unit-tested without DPDK.
 */
#ifndef WG_CLI_H
#define WG_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum wg_exit {
	WG_EXIT_OK = 0,
	WG_EXIT_CONFIG = 1,	/* configuration error */
	WG_EXIT_USAGE = 2,	/* usage error */
	WG_EXIT_RUNTIME = 3,	/* EAL, port, memory */
};

struct wg_cli {
	const char *conf;	/* --conf FILE */
	bool check;		/* --check */
	bool help;		/* --help or -h: print usage, nothing else parsed */
	bool version;		/* --version */
	int log_level;		/* 0 unset, else 1 (emerg) .. 8 (debug), as RTE_LOG_* */
	bool eal_from_cli;	/* "--" given: the EAL options are eal_argv[1..] */
	int eal_argc;		/* with "--": argv[0] and the options before "--" */
	char **eal_argv;	/* points into the caller's argv */
};

/*
 * Parse argv. Returns WG_EXIT_OK (check help and version) or WG_EXIT_USAGE
 * after printing one line to err.
 */
int wg_cli_parse(struct wg_cli *cli, int argc, char **argv, FILE *err)
	__attribute__((warn_unused_result));

/* Print the usage text. */
void wg_cli_usage(FILE *f);

/*
 * The argument vector for rte_eal_init(): argv0, then the command line's EAL
 * options when "--" was given, else conf_argv (dpdk.eal-args). NULL-terminated,
 * malloc'd (the strings are not copied); NULL when out of memory.
 */
char **wg_cli_eal_argv(const struct wg_cli *cli, const char *argv0, int conf_argc,
	char **conf_argv, int *argc_out) __attribute__((warn_unused_result));

#endif
