/* SPDX-License-Identifier: BSD-3-Clause */
/* wg-dpdk: orchestration only (arguments, EAL, configuration, lcores, signals). */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "control/cli.h"
#include "control/config.h"
#include "pipeline/dataplane.h"

/*
 * The data plane: EAL, ports, lcores, signals. The EAL arguments are argv[0]
 * and, with "--", the command line's options before it, else dpdk.eal-args.
 */
static int
run(const struct wg_cli *cli, struct wg_conf **confp, const char *argv0)
{
	const struct wg_conf *conf = *confp;
	int eal_argc, rc;
	char **eal_argv = wg_cli_eal_argv(cli, argv0, conf->eal_argc, conf->eal_argv, &eal_argc);

	if (eal_argv == NULL) {
		fprintf(stderr, "wg-dpdk: out of memory\n");
		return WG_EXIT_RUNTIME;
	}
	/* A SIGHUP reload replaces *confp (the file is read again from cli->conf). */
	rc = wg_dataplane_run(confp, cli->conf, eal_argc, eal_argv);
	free(eal_argv);
	return rc;
}

static int
check(const struct wg_conf *conf)
{
	char line[512];

	wg_config_summary(conf, line, sizeof(line));
	printf("%s\n", line);
	return WG_EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct wg_conf *conf;
	struct wg_cli cli;
	int rc;

	/* Before any key is derived (the configuration) or generated (handshakes). */
	if (sodium_init() < 0) {
		fprintf(stderr, "wg-dpdk: libsodium initialisation failed\n");
		return WG_EXIT_RUNTIME;
	}
	rc = wg_cli_parse(&cli, argc, argv, stderr);
	if (rc != WG_EXIT_OK)
		return rc;
	if (cli.help) {
		wg_cli_usage(stdout);
		return WG_EXIT_OK;
	}
	if (cli.version) {
		printf("wg-dpdk %s\n", WG_DPDK_VERSION);
		return WG_EXIT_OK;
	}
	if (wg_config_load(cli.conf, &conf, stderr) < 0)
		return WG_EXIT_CONFIG;
	rc = cli.check ? check(conf) : run(&cli, &conf, argv[0]);
	wg_config_free(conf);
	return rc;
}
