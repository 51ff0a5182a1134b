/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli.h"

static const char *const level_names[] = {
	NULL, "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void
wg_cli_usage(FILE *f)
{
	fprintf(f,
		"usage: wg-dpdk --conf FILE [--check] [--log-level LEVEL]\n"
		"       wg-dpdk [EAL options] -- --conf FILE [--check] [--log-level LEVEL]\n"
		"       wg-dpdk --help | --version\n"
		"\n"
		"  --conf FILE        the configuration (YAML, see docs/config.md)\n"
		"  --check            validate the configuration, print a summary and exit\n"
		"  --log-level LEVEL  emerg, alert, crit, err, warning, notice, info, debug\n"
		"                     or 1..8\n"
		"\n"
		"Without \"--\", the EAL options come from dpdk.eal-args in FILE.\n"
		"Exit status: 0 success, 1 configuration error, 2 usage error, 3 runtime error.\n");
}

static int
usage_error(FILE *err, const char *what, const char *arg)
{
	fprintf(err, "wg-dpdk: %s '%s' (try --help)\n", what, arg);
	return WG_EXIT_USAGE;
}

static int
parse_level(const char *s)
{
	int i;

	if (s[0] >= '1' && s[0] <= '8' && s[1] == '\0')
		return s[0] - '0';
	if (strcmp(s, "error") == 0)
		return 4;
	if (strcmp(s, "warn") == 0)
		return 5;
	for (i = 1; i <= 8; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return 0;
}

/*
 * The value of option name at argv[*i]: "--name=VALUE" or "--name VALUE".
 * NULL when argv[*i] is another option; *missing when the value is absent.
 */
static const char *
option_value(const char *name, int argc, char **argv, int *i, bool *missing)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	*missing = false;
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

static int
parse_option(struct wg_cli *cli, int argc, char **argv, int *i, FILE *err)
{
	const char *a = argv[*i], *v;
	bool missing;

	if (strcmp(a, "--check") == 0) {
		cli->check = true;
		return WG_EXIT_OK;
	}
	v = option_value("--conf", argc, argv, i, &missing);
	if (missing)
		return usage_error(err, "missing argument for", a);
	if (v != NULL) {
		if (cli->conf != NULL)
			return usage_error(err, "option given twice:", "--conf");
		cli->conf = v;
		return WG_EXIT_OK;
	}
	v = option_value("--log-level", argc, argv, i, &missing);
	if (missing)
		return usage_error(err, "missing argument for", a);
	if (v != NULL) {
		cli->log_level = parse_level(v);
		return cli->log_level == 0 ? usage_error(err, "invalid log level", v) : WG_EXIT_OK;
	}
	if (a[0] == '-')
		return usage_error(err, "unknown option", a);
	return usage_error(err, "unexpected argument", a);
}

/* Our own options are argv[first..argc-1]. */
static int
parse_own(struct wg_cli *cli, int first, int argc, char **argv, FILE *err)
{
	int i, rc;

	for (i = first; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cli->help = true;
			return WG_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			cli->version = true;
			return WG_EXIT_OK;
		}
	}
	for (i = first; i < argc; i++) {
		rc = parse_option(cli, argc, argv, &i, err);
		if (rc != WG_EXIT_OK)
			return rc;
	}
	if (cli->conf == NULL) {
		fprintf(err, "wg-dpdk: missing --conf FILE (try --help)\n");
		return WG_EXIT_USAGE;
	}
	return WG_EXIT_OK;
}

int
wg_cli_parse(struct wg_cli *cli, int argc, char **argv, FILE *err)
{
	int i;

	memset(cli, 0, sizeof(*cli));
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			break;
	if (i < argc) {
		cli->eal_from_cli = true;
		cli->eal_argc = i;
		cli->eal_argv = argv;
		return parse_own(cli, i + 1, argc, argv, err);
	}
	return parse_own(cli, 1, argc, argv, err);
}

char **
wg_cli_eal_argv(const struct wg_cli *cli, const char *argv0, int conf_argc, char **conf_argv,
	int *argc_out)
{
	int n = cli->eal_from_cli ? cli->eal_argc - 1 : conf_argc, i;
	char **const src = cli->eal_from_cli ? cli->eal_argv + 1 : conf_argv;
	char **v = calloc((size_t)n + 2, sizeof(*v));

	if (v == NULL)
		return NULL;
	v[0] = (char *)(uintptr_t)argv0;
	for (i = 0; i < n; i++)
		v[i + 1] = src[i];
	*argc_out = n + 1;
	return v;
}
