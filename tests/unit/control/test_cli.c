/* SPDX-License-Identifier: BSD-3-Clause */
/* The command-line parser: a table of argument vectors and what they must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli.h"

enum { MAX_ARGS = 12 };

struct cli_case {
	const char *argv[MAX_ARGS];	/* NULL-terminated, without argv[0] */
	int rc;
	const char *conf;
	bool check, help, version;
	int log_level;
	int eal_argc;			/* -1: no "--" */
	const char *err;		/* exact stderr */
};

#define U " (try --help)\n"

static const struct cli_case cases[] = {
	{ { "--conf", "a.yaml" }, 0, "a.yaml", false, false, false, 0, -1, "" },
	{ { "--conf=a.yaml", "--check" }, 0, "a.yaml", true, false, false, 0, -1, "" },
	{ { "--check", "--conf", "--check" }, 0, "--check", true, false, false, 0, -1, "" },
	{ { "--conf", "a", "--log-level", "debug" }, 0, "a", false, false, false, 8, -1, "" },
	{ { "--conf", "a", "--log-level=err" }, 0, "a", false, false, false, 4, -1, "" },
	{ { "--conf", "a", "--log-level", "error" }, 0, "a", false, false, false, 4, -1, "" },
	{ { "--conf", "a", "--log-level", "warn" }, 0, "a", false, false, false, 5, -1, "" },
	{ { "--conf", "a", "--log-level", "1" }, 0, "a", false, false, false, 1, -1, "" },
	{ { "--conf", "a", "--log-level", "9" }, 2, NULL, false, false, false, 0, -1,
	  "wg-dpdk: invalid log level '9'" U },
	{ { "--conf", "a", "--log-level", "" }, 2, NULL, false, false, false, 0, -1,
	  "wg-dpdk: invalid log level ''" U },
	{ { "--conf", "a", "--log-level" }, 2, NULL, false, false, false, 0, -1,
	  "wg-dpdk: missing argument for '--log-level'" U },
	{ { "--help" }, 0, NULL, false, true, false, 0, -1, "" },
	{ { "--bogus", "-h" }, 0, NULL, false, true, false, 0, -1, "" },
	{ { "--version", "--conf" }, 0, NULL, false, false, true, 0, -1, "" },
	{ { NULL }, 2, NULL, false, false, false, 0, -1, "wg-dpdk: missing --conf FILE" U },
	{ { "--check" }, 2, NULL, false, false, false, 0, -1, "wg-dpdk: missing --conf FILE" U },
	{ { "--conf" }, 2, NULL, false, false, false, 0, -1,
	  "wg-dpdk: missing argument for '--conf'" U },
	{ { "--config", "a" }, 2, NULL, false, false, false, 0, -1,
	  "wg-dpdk: unknown option '--config'" U },
	{ { "--check=yes", "--conf", "a" }, 2, NULL, false, false, false, 0, -1,
	  "wg-dpdk: unknown option '--check=yes'" U },
	{ { "--conf", "a", "b" }, 2, NULL, false, false, false, 0, -1,
	  "wg-dpdk: unexpected argument 'b'" U },
	{ { "--conf", "a", "--conf=b" }, 2, NULL, false, false, false, 0, -1,
	  "wg-dpdk: option given twice: '--conf'" U },
	{ { "-l", "0-1", "--conf", "a" }, 2, NULL, false, false, false, 0, -1,
	  "wg-dpdk: unknown option '-l'" U },
	/* the "--" form */
	{ { "-l", "0-1", "--no-huge", "--", "--conf", "a" }, 0, "a", false, false, false, 0, 4,
	  "" },
	{ { "--", "--conf", "a", "--check" }, 0, "a", true, false, false, 0, 1, "" },
	{ { "--conf", "a", "--" }, 2, NULL, false, false, false, 0, 3,
	  "wg-dpdk: missing --conf FILE" U },
	{ { "-l", "0", "--", "--conf", "a", "--", "x" }, 2, NULL, false, false, false, 0, 3,
	  "wg-dpdk: unknown option '--'" U },
	{ { "--help", "--", "--conf", "a" }, 0, "a", false, false, false, 0, 2, "" },
};

static int
parse(const struct cli_case *c, struct wg_cli *cli, char **argv, char **err_text)
{
	size_t size;
	FILE *err = open_memstream(err_text, &size);
	int argc, rc;

	assert_non_null(err);
	argv[0] = (char *)"wg-dpdk";
	for (argc = 1; c->argv[argc - 1] != NULL; argc++)
		argv[argc] = (char *)(uintptr_t)c->argv[argc - 1];
	argv[argc] = NULL;
	rc = wg_cli_parse(cli, argc, argv, err);
	fclose(err);
	return rc;
}

static void
test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cli_case *c = &cases[i];
		char *argv[MAX_ARGS + 1], *err = NULL;
		struct wg_cli cli;
		int rc = parse(c, &cli, argv, &err);

		if (rc != c->rc || strcmp(err, c->err) != 0)
			fail_msg("case %zu: rc %d, stderr '%s'", i, rc, err);
		free(err);
		if (rc != 0)
			continue;
		if ((c->conf == NULL) != (cli.conf == NULL) ||
				(c->conf != NULL && strcmp(c->conf, cli.conf) != 0) ||
				cli.check != c->check || cli.help != c->help ||
				cli.version != c->version || cli.log_level != c->log_level ||
				cli.eal_from_cli != (c->eal_argc >= 0) ||
				(c->eal_argc >= 0 && cli.eal_argc != c->eal_argc))
			fail_msg("case %zu: wrong result", i);
	}
}

static void
test_eal_argv(void **state)
{
	char *conf_args[] = { (char *)"--no-huge", (char *)"-m", (char *)"64", NULL };
	char *argv[] = { (char *)"prog", (char *)"-l", (char *)"0", (char *)"--",
		(char *)"--conf", (char *)"x", NULL };
	struct wg_cli cli;
	char **v;
	int n;

	(void)state;
	assert_int_equal(wg_cli_parse(&cli, 6, argv, stderr), 0);
	v = wg_cli_eal_argv(&cli, "wg-dpdk", 3, conf_args, &n);
	assert_non_null(v);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "wg-dpdk");
	assert_string_equal(v[1], "-l");
	assert_string_equal(v[2], "0");
	assert_null(v[3]);
	free(v);

	/* Without "--": dpdk.eal-args. */
	argv[3] = (char *)"prog";
	assert_int_equal(wg_cli_parse(&cli, 3, argv + 3, stderr), 0);
	assert_false(cli.eal_from_cli);
	v = wg_cli_eal_argv(&cli, "wg-dpdk", 3, conf_args, &n);
	assert_non_null(v);
	assert_int_equal(n, 4);
	assert_string_equal(v[1], "--no-huge");
	assert_string_equal(v[3], "64");
	assert_null(v[4]);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_eal_argv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
